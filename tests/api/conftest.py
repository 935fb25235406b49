"""The API served over real HTTP: werkzeug's server on 127.0.0.1 in a thread, http.client calls."""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.live import served
from transit import auth
from transit.models import ALL_DAYS, Calendar, City, Service, ServiceFare, Stop, Timetable, User
from transit.web.extensions import db

PROBLEM = "application/problem+json"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    def problem(self, status: int) -> dict[str, Any]:
        """The problem document, after checking it is one with this status."""
        assert self.status == status, (self.status, self.body[:500])
        assert self.content_type == PROBLEM, self.content_type
        body = self.json
        assert body["status"] == status
        assert body["type"].startswith("/api/v1/docs#problem-")
        assert body["title"] and body["detail"]
        return body


class Api:
    """A small HTTP client for the server under test."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        auth_header: bool = True,
    ) -> Reply:
        sent = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        chosen = token if token is not None else self.token
        if auth_header and chosen:
            sent.setdefault("Authorization", f"Bearer {chosen}")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> Reply:
        return self.request("PATCH", path, json_body=json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> Reply:
        return self.request("PUT", path, json_body=json_body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)

    def upload(
        self, path: str, filename: str, content: bytes, fields: dict[str, str], **kw: Any
    ) -> Reply:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST",
            path,
            body=b"".join(parts),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            **kw,
        )


@pytest.fixture
def api(app) -> Iterator[Api]:
    with served(app, "api-test-server") as (host, port):
        yield Api(host, port)


@functools.cache
def _password_hash() -> str:
    # scrypt is slow on purpose: hash once for every test's users (auth is tested elsewhere).
    return auth.hash_password("a test password")


def _user_with_token(app, name: str, is_admin: bool) -> str:
    with app.app_context():
        db.session.add(User(username=name, password_hash=_password_hash(), is_admin=is_admin))
        db.session.flush()
        token = auth.issue_token(db.session(), name)
        db.session.commit()
    return token


@pytest.fixture
def admin_token(app) -> str:
    return _user_with_token(app, "admin", True)


@pytest.fixture
def reader_token(app) -> str:
    return _user_with_token(app, "reader", False)


@pytest.fixture
def admin(api: Api, admin_token: str) -> Api:
    api.token = admin_token
    return api


@dataclass
class Network:
    """Ids of the small network ``network`` puts in the database."""

    cities: dict[str, int]
    services: dict[str, int]
    timetables: dict[str, int]
    calendars: dict[str, int]


@pytest.fixture
def network(app) -> Network:
    """Four cities, an overnight train with two variants, a flight, an OD fare."""
    with app.app_context():
        cities = {
            name: City(name=name, code=code, latitude=lat, longitude=lon, timezone="Asia/Shanghai")
            for name, code, lat, lon in [
                ("Beijing", "BJP", 39.9, 116.4),
                ("Shanghai", "SHH", 31.2, 121.5),
                ("Nanjing", "NJH", 32.1, 118.8),
                ("Xi'an", "XAY", 34.3, 108.9),
            ]
        }
        db.session.add_all(cities.values())
        daily = Calendar(name="daily", weekdays=ALL_DAYS)
        weekdays = Calendar(
            name="weekdays",
            weekdays=0b0011111,
            start_date=dt.date(2026, 1, 1),
            end_date=dt.date(2026, 12, 31),
        )
        unused = Calendar(name="unused", weekdays=0b1100000)
        db.session.add_all([daily, weekdays, unused])
        train = Service(number="T1", mode="train", operator="China Railway", name="Night express")
        night = Timetable(service=train, code="night", calendar=daily, headsign="Shanghai")
        night.stops = [
            Stop(sequence=0, city=cities["Beijing"], departure=21 * 3600),
            Stop(
                sequence=1,
                city=cities["Nanjing"],
                arrival=29 * 3600,
                departure=29 * 3600 + 300,
                fare_cents=30000,
            ),
            Stop(sequence=2, city=cities["Shanghai"], arrival=31 * 3600 + 1800, fare_cents=10000),
        ]
        day = Timetable(service=train, code="day", calendar=weekdays)
        day.stops = [
            Stop(sequence=0, city=cities["Beijing"], departure=8 * 3600),
            Stop(sequence=1, city=cities["Shanghai"], arrival=13 * 3600, fare_cents=55000),
        ]
        train.fares = [
            ServiceFare(origin=cities["Beijing"], destination=cities["Shanghai"], fare_cents=38000)
        ]
        flight = Service(number="MU5101", mode="flight", operator="China Eastern", currency="CNY")
        hop = Timetable(service=flight, code="1", calendar=daily)
        hop.stops = [
            Stop(sequence=0, city=cities["Beijing"], departure=9 * 3600),
            Stop(sequence=1, city=cities["Xi'an"], arrival=11 * 3600, fare_cents=90000),
        ]
        db.session.add_all([train, flight])
        db.session.commit()
        return Network(
            cities={name: c.id for name, c in cities.items()},
            services={"T1": train.id, "MU5101": flight.id},
            timetables={"night": night.id, "day": day.id, "hop": hop.id},
            calendars={"daily": daily.id, "weekdays": weekdays.id, "unused": unused.id},
        )
