"""A NUL character in a page's address or form: never a 500.

PostgreSQL refuses NUL in any text it is asked to compare, so the city search, the
suggestions, the admin lists' filters and the login form answered 500 there; the admin
city form's other names answered 500 on both databases. An address with one is now a 400
naming the field, a form says so beside the field. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.admin_helpers import csrf_token, log_in, make_admin, post
from transit.models import City, LoginAttempt
from transit.web.extensions import db


@pytest.mark.parametrize("path", [
    "/cities?q=%00", "/cities?q=a%00b", "/cities?q=%E5%8C%97%E4%BA%AC%00",
    "/cities/suggest?q=a%00b", "/?origin=%00&destination=Shanghai",
    "/cities?q%00=Bei",
])
def test_a_public_page_refuses_a_nul_in_its_address(client, path):
    reply = client.get(path)
    assert reply.status_code == 400
    text = reply.get_data(as_text=True)
    assert "NUL character" in text and "Remove it and try again" in text


@pytest.mark.parametrize("path", [
    "/admin/cities?q=%00", "/admin/services?number=%00", "/admin/services?operator=a%00",
    "/admin/services?city=%00", "/admin/services?q=%00", "/admin/audit?user=%00",
    "/admin/audit?entity=%00",
])
def test_an_admin_list_refuses_a_nul_in_its_filters(app, client, path):
    make_admin(app)
    assert log_in(client).status_code == 302
    reply = client.get(path)
    assert reply.status_code == 400
    assert "NUL character" in reply.get_data(as_text=True)


def test_a_login_with_a_nul_in_the_name_is_refused_and_recorded_nowhere(app, client):
    make_admin(app)
    token = csrf_token(client, "/login")
    for name in ("editor\x00", "\x00", "a\x00b"):
        reply = client.post("/login", data={"username": name, "password": "x", "csrf_token": token})
        assert reply.status_code == 401
        assert "The user name or the password is wrong" in reply.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    assert log_in(client).status_code == 302  # the name is not locked out by them


def test_a_city_form_with_a_nul_in_other_names_says_so_and_saves_nothing(app, client):
    make_admin(app)
    assert log_in(client).status_code == 302
    reply = post(client, "/admin/cities/new", {
        "name": "Foo", "timezone": "Asia/Shanghai", "aliases": "Foo\x00Bar",
    })
    assert reply.status_code == 422
    assert "text may not contain NUL characters" in reply.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(City)) == 0


def test_a_calendar_file_says_it_in_plain_text(client):
    reply = client.get("/routes/calendar.ics?from=%00&to=Shanghai")
    assert reply.status_code == 400 and reply.mimetype == "text/plain"
    assert "NUL character" in reply.get_data(as_text=True)


def test_the_api_keeps_its_own_answer(client):
    # The API checks its parameters itself, per field, as JSON (docs/api.md).
    reply = client.get("/api/v1/cities?q=%00")
    assert reply.status_code < 500
    assert reply.is_json
