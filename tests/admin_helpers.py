"""Helpers for the admin tests: an administrator, logging in through the form, CSRF tokens."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from transit import auth
from transit.models import Calendar, City, Service, Stop, Timetable
from transit.web.extensions import db

PASSWORD = "correct horse battery"
H = 3600
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_admin(app: Any, name: str = "editor", *, is_admin: bool = True) -> None:
    with app.app_context():
        auth.create_user(db.session(), name, PASSWORD, is_admin=is_admin)
        db.session.commit()


def csrf_token(client: FlaskClient, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def log_in(client: FlaskClient, name: str = "editor", password: str = PASSWORD) -> Any:
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token}
    )


def post(client: FlaskClient, url: str, data: dict[str, Any] | list[tuple[str, str]], *,
         form_url: str | None = None, **kw: Any) -> Any:
    """POST a form the way a browser does: with the token its page carried."""
    token = csrf_token(client, form_url or url)
    if isinstance(data, dict):
        items: list[tuple[str, Any]] = []
        for key, value in data.items():
            if isinstance(value, list):
                items.extend((key, v) for v in value)
            else:
                items.append((key, value))
    else:
        items = list(data)
    items.append(("csrf_token", token))
    from werkzeug.datastructures import MultiDict

    return client.post(url, data=MultiDict(items), **kw)


def delete_city(client: FlaskClient, city_id: int, **kw: Any) -> Any:
    """Confirm a city's delete page as a browser does: with the services it lists."""
    url = f"/admin/cities/{city_id}/delete"
    shown = re.findall(r'name="service" value="(\d+)"', client.get(url).get_data(as_text=True))
    return post(client, url, {"service": shown}, **kw)


def add_corridor(app: Any) -> dict[str, int]:
    """Beijing, Jinan, Shanghai and one daily train G1 Beijing-Jinan-Shanghai."""
    with app.app_context():
        beijing = City(name="Beijing", code="BJP", timezone="Asia/Shanghai")
        jinan = City(name="Jinan", code="JNK", timezone="Asia/Shanghai")
        shanghai = City(name="Shanghai", code="SHH", timezone="Asia/Shanghai")
        calendar = Calendar(name="daily")
        service = Service(number="G1", mode="train", operator="CR")
        timetable = Timetable(code="1", calendar=calendar, service=service)
        timetable.stops = [
            Stop(sequence=0, city=beijing, departure=8 * H),
            Stop(sequence=1, city=jinan, arrival=9 * H + 1800, departure=9 * H + 1920, fare_cents=20000),
            Stop(sequence=2, city=shanghai, arrival=12 * H + 2400, fare_cents=35000),
        ]
        db.session.add_all([beijing, jinan, shanghai, service])
        db.session.commit()
        return {
            "beijing": beijing.id,
            "jinan": jinan.id,
            "shanghai": shanghai.id,
            "g1": service.id,
            "g1_variant": timetable.id,
        }
