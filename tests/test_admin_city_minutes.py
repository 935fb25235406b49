"""The city form's minimum connection against numbers without end (QA finding #3)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.admin_helpers import post
from tests.test_admin_pages import _summary_items
from transit.models import City
from transit.web.extensions import db


@pytest.mark.parametrize("typed", ["inf", "1e400", "-Infinity"])
def test_an_endless_minimum_connection_is_refused_in_words(app, client, admin, typed):
    form = {"name": "QA Town", "code": "", "latitude": "", "longitude": "",
            "timezone": "Asia/Shanghai", "min_connection": typed}
    for url in ("/admin/cities/new", f"/admin/cities/{admin['jinan']}"):
        reply = post(client, url, {**form, "name": "Jinan"} if "new" not in url else form)
        html = reply.get_data(as_text=True)
        assert reply.status_code == 422, url
        assert _summary_items(html) == [
            "Minimum connection (minutes): a number of minutes from 0 to 1440"]
        assert f'value="{typed}"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(City)) == 3
        assert db.session.get(City, admin["jinan"]).min_connection_seconds is None
