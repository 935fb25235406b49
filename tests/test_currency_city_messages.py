"""The admin city form says what is really wrong with a name or a code: a tab or another
character a single line may not hold is named as the model names it, and only a name that
is too long reads "at most 200 characters" (every error on the name did). Real SQLite file,
the real form, logged in as an administrator."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import func, select

from tests.admin_helpers import post
from transit.models import City
from transit.web.extensions import db

FORM = {"name": "Wuhan", "code": "WHN", "latitude": "30.6", "longitude": "114.3",
        "timezone": "Asia/Shanghai", "min_connection": "20"}


def _beside(page: str, field: str) -> str:
    match = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', page)
    assert match, f"no message beside {field}"
    return html_lib.unescape(match.group(1)).strip()


def _fields_in_error(page: str) -> list[str]:
    return sorted(re.findall(r'id="(err-[\w.\[\]]+)"', page))


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "A\tB"}, "name", "Name: may not contain a tab or line break"),
        ({"name": "A\u200bB"}, "name",
         "Name: may not contain the invisible character U+200B (ZERO WIDTH SPACE)"),
        ({"name": "A\x07B"}, "name", "Name: may not contain the control character U+0007"),
        ({"name": "W" * 201}, "name", "Name: at most 200 characters"),
        ({"name": ""}, "name", "Name: required"),
        ({"code": "B\tJ"}, "code", "Code: may not contain a tab or line break"),
        ({"code": "B\u202eJ"}, "code",
         "Code: may not contain the invisible character U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ({"code": "B J"}, "code", "Code: at most 32 characters, without spaces"),
        ({"code": "C" * 33}, "code", "Code: at most 32 characters, without spaces"),
        ({"timezone": "Mars/Olympus"}, "timezone",
         "Time zone: Mars/Olympus is not a time zone; write one such as Asia/Shanghai"),
        ({"timezone": ""}, "timezone", "Time zone: required, such as Asia/Shanghai"),
    ],
)
def test_a_new_city_is_refused_with_the_real_reason(app, client, admin, changes, field, words):
    reply = post(client, "/admin/cities/new", {**FORM, **changes})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert _fields_in_error(page) == [f"err-{field}"]
    assert _beside(page, field) == words
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(City).where(City.name == "Wuhan")) == 0


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "A\tB"}, "name", "Name: may not contain a tab or line break"),
        ({"name": "J" * 201}, "name", "Name: at most 200 characters"),
        ({"code": "J\nK"}, "code", "Code: may not contain a tab or line break"),
    ],
)
def test_a_city_edit_is_refused_with_the_real_reason(app, client, admin, changes, field, words):
    form = {**FORM, "name": "Jinan", "code": "JNK", **changes}
    reply = post(client, f"/admin/cities/{admin['jinan']}", form)
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert _beside(page, field) == words
    with app.app_context():
        city = db.session.get(City, admin["jinan"])
        assert (city.name, city.code) == ("Jinan", "JNK")
