"""Public answers kept per content version: never stale, never private."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, update

from transit.db import content_version, data_version
from transit.models import City, LoginAttempt, User
from transit.web.extensions import db


def _cache(app):
    return app.extensions["transit_response_cache"]


def test_content_version_counts_every_public_write_and_no_private_one(session):
    start = content_version(session)[0]
    session.add(City(name="Lyon", timezone="Europe/Paris"))
    session.commit()
    after_city = content_version(session)[0]
    assert after_city > start

    # Bulk statements bypass the flush: they count too.
    session.execute(update(City).values(min_connection_seconds=300))
    session.commit()
    after_bulk = content_version(session)[0]
    assert after_bulk > after_city
    session.execute(insert(City).values(name="Nice", timezone="Europe/Paris"))
    session.commit()
    assert content_version(session)[0] > after_bulk

    # Users, tokens and login attempts are not shown to anyone without logging in.
    before_private = content_version(session)
    timetable_before = data_version(session)
    session.add(User(username="ada", password_hash="scrypt:x"))
    session.commit()
    session.add(
        LoginAttempt(at=dt.datetime(2026, 1, 1), username="ada", remote_addr="::1", success=False)
    )
    session.commit()
    session.execute(delete(LoginAttempt))
    session.commit()
    assert content_version(session) == before_private
    assert data_version(session) == timetable_before


def test_a_repeated_public_read_is_answered_from_memory_until_the_data_changes(app, client):
    with app.app_context():
        db.session.add(City(name="Lyon", timezone="Europe/Paris"))
        db.session.commit()
    cache = _cache(app)
    first = client.get("/api/v1/cities")
    hits = cache.hits
    second = client.get("/api/v1/cities")
    assert cache.hits == hits + 1
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]
    # Security headers are added to a kept answer as to any other.
    assert "Content-Security-Policy" in second.headers

    with app.app_context():
        db.session.execute(update(City).where(City.name == "Lyon").values(name="Lyon Part-Dieu"))
        db.session.commit()
    third = client.get("/api/v1/cities")
    assert [c["name"] for c in third.get_json()["items"]] == ["Lyon Part-Dieu"]

    # The page, in each language, is kept apart.
    english = client.get("/cities?lang=en")
    chinese = client.get("/cities?lang=zh")
    assert english.data != chinese.data
    assert client.get("/cities?lang=zh").data == chinese.data


def test_private_and_time_dependent_requests_are_not_kept(app, client):
    with app.app_context():
        db.session.add(City(name="Lyon", timezone="Europe/Paris"))
        db.session.add(City(name="Nice", timezone="Europe/Paris"))
        db.session.commit()
    cache = _cache(app)
    client.get("/api/v1/cities")
    hits = cache.hits
    client.get("/api/v1/cities", headers={"Authorization": "Bearer nonsense"})
    client.get("/api/v1/cities", headers={"If-None-Match": 'W/"x"'})
    client.set_cookie("session", "anything")
    client.get("/api/v1/cities")
    client.delete_cookie("session")
    # A search leaving "now" is never kept; one at a given time is.
    client.get("/api/v1/routes?from=Lyon&to=Nice")
    client.get("/api/v1/routes?from=Lyon&to=Nice")
    assert cache.hits == hits
    assert client.get("/api/v1/routes?from=Lyon&to=Nice").status_code == 200
    client.get("/api/v1/routes?from=Lyon&to=Nice&depart=2025-01-08T08:00")
    client.get("/api/v1/routes?from=Lyon&to=Nice&depart=2025-01-08T08:00")
    assert cache.hits == hits + 1


def test_an_answer_of_an_older_version_never_replaces_newer_ones(app):
    from flask import Response

    cache = _cache(app)
    new, old = (5, dt.datetime(2026, 1, 2)), (4, dt.datetime(2026, 1, 1))
    cache.put(new, ("a",), Response(b"new"))
    cache.put(old, ("a",), Response(b"old"))  # a request that began before the change
    kept = cache.get(new, ("a",))
    assert kept is not None and kept.get_data() == b"new"
    assert cache.get(old, ("a",)) is None
    # A database made again at the same address counts from the start, later in time.
    again = (1, dt.datetime(2026, 2, 1))
    cache.put(again, ("a",), Response(b"again"))
    kept = cache.get(again, ("a",))
    assert kept is not None and kept.get_data() == b"again"
