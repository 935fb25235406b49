"""Public answers kept per content version: never stale, never private."""

from __future__ import annotations

import datetime as dt
import random
import time
import types

import pytest
from sqlalchemy import delete, insert, select, update

from transit.db import content_version, data_version
from transit.models import (
    Calendar,
    CalendarDate,
    City,
    LoginAttempt,
    Service,
    Stop,
    Timetable,
    TripRecord,
    User,
)
from transit.web.extensions import db


def _cache(app):
    return app.extensions["transit_response_cache"]


@pytest.fixture(autouse=True)
def _still_clock(monkeypatch):
    """Answers of pages that read the clock are kept for its minute (or quarter hour): a
    test that crossed a minute would see service pages dropped for that alone, as one
    did on a slow run. Here the cache's clock stands still."""
    from transit.web import response_cache

    now = time.time()
    monkeypatch.setattr(response_cache, "time", types.SimpleNamespace(time=lambda: now))


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
    cache.catch_up(new, lambda after, upto: None)
    cache.put(new, ("a",), Response(b"new"))
    cache.catch_up(old, lambda after, upto: None)  # a request that began before the change
    cache.put(old, ("a",), Response(b"old"))
    kept = cache.get(new, ("a",))
    assert kept is not None and kept.get_data() == b"new"
    assert cache.get(old, ("a",)) is None
    # A database made again at the same address counts from the start, later in time.
    again = (1, dt.datetime(2026, 2, 1))
    cache.catch_up(again, lambda after, upto: {"service:1"})
    assert cache.get(again, ("a",)) is None
    cache.put(again, ("a",), Response(b"again"))
    kept = cache.get(again, ("a",))
    assert kept is not None and kept.get_data() == b"again"


# --- answers that outlive changes elsewhere ---------------------------------------------------

H = 3600


def _network(app) -> dict[str, int]:
    """Cities A to D; S1 runs A-B and S2 runs C-D, daily."""
    with app.app_context():
        daily = Calendar(name="daily")
        cities = {name: City(name=name, timezone="Asia/Shanghai") for name in "ABCD"}
        services = {}
        for number, (first, last) in {"S1": "AB", "S2": "CD"}.items():
            service = Service(number=number, mode="train", operator="CR")
            timetable = Timetable(code="1", calendar=daily, service=service)
            timetable.stops = [
                Stop(sequence=0, city=cities[first], departure=8 * H),
                Stop(sequence=1, city=cities[last], arrival=10 * H, fare_cents=5000),
            ]
            services[number] = service
        db.session.add_all([*cities.values(), *services.values()])
        db.session.commit()
        ids = {name: city.id for name, city in cities.items()}
        ids.update({number: service.id for number, service in services.items()})
        return ids


def _pages(ids: dict[str, int]) -> dict[str, str]:
    pages = {name: f"/cities/{ids[name]}?date=2025-03-03" for name in "ABCD"}
    pages.update({number: f"/services/{ids[number]}" for number in ("S1", "S2")})
    return pages


def _kept(app, client, path: str) -> bool:
    """Whether the answer came from memory, after checking it equals a fresh one."""
    cache = _cache(app)
    hits = cache.hits
    answer = client.get(path)
    fresh = client.get(path, headers={"If-None-Match": '"none"'})  # never answered from memory
    assert answer.status_code == fresh.status_code == 200, path
    assert answer.data == fresh.data, path
    return cache.hits == hits + 1


def _edit(app, change) -> None:
    with app.app_context():
        change(db.session)
        db.session.commit()


def test_a_change_to_one_service_keeps_the_pages_it_cannot_touch(app, client):
    ids = _network(app)
    pages = _pages(ids)
    for path in pages.values():
        client.get(path)
    assert all(_kept(app, client, path) for path in pages.values())

    def later_departure(session):
        stop = session.scalars(
            select(Stop).join(Timetable).where(Timetable.service_id == ids["S1"], Stop.sequence == 0)
        ).one()
        stop.departure = 9 * H

    _edit(app, later_departure)
    kept = {name: _kept(app, client, path) for name, path in pages.items()}
    assert kept == {"A": False, "B": False, "C": True, "D": True, "S1": False, "S2": True}

    def to_d_instead_of_b(session):
        stop = session.scalars(
            select(Stop).join(Timetable).where(Timetable.service_id == ids["S1"], Stop.sequence == 1)
        ).one()
        stop.city_id = ids["D"]

    _edit(app, to_d_instead_of_b)
    kept = {name: _kept(app, client, path) for name, path in pages.items()}
    # B lost a call and D gained one; C and S2 are untouched.
    assert kept == {"A": False, "B": False, "C": True, "D": False, "S1": False, "S2": True}

    _edit(app, lambda session: session.delete(session.get(Service, ids["S2"])))
    kept = {name: _kept(app, client, path) for name, path in pages.items() if name != "S2"}
    assert kept == {"A": True, "B": True, "C": False, "D": False, "S1": True}

    # A city's name shows on other pages: renaming it drops everything.
    _edit(app, lambda session: setattr(session.get(City, ids["C"]), "name", "C2"))
    assert not any(_kept(app, client, pages[name]) for name in "ABCD")
    assert not _kept(app, client, pages["S1"])


def test_trip_history_of_a_service_drops_its_pages_and_bulk_writes_drop_all(app, client):
    ids = _network(app)
    pages = _pages(ids)
    for path in pages.values():
        client.get(path)

    def a_run_of_s1(session):
        session.add(
            TripRecord(
                service_id=ids["S1"], service_date=dt.date(2025, 3, 3), origin_id=ids["A"],
                destination_id=ids["B"], scheduled_departure=dt.datetime(2025, 3, 3, 0),
                scheduled_arrival=dt.datetime(2025, 3, 3, 2),
                actual_arrival=dt.datetime(2025, 3, 3, 2, 7),
            )
        )

    _edit(app, a_run_of_s1)
    assert not _kept(app, client, pages["S1"])
    assert _kept(app, client, pages["S2"]) and _kept(app, client, pages["C"])

    _edit(app, lambda session: session.execute(update(Service).values(name="renamed")))
    assert not any(_kept(app, client, path) for path in pages.values())


def test_kept_answers_always_equal_fresh_ones_through_random_edits(app, client):
    """Random edits of every kind, each followed by reading every page from memory (where
    kept) and fresh: the two always agree."""
    ids = _network(app)
    pages = _pages(ids)
    rng = random.Random(7)

    def move_time(session):
        stop = rng.choice(session.scalars(select(Stop)).all())
        if stop.departure is not None:
            stop.departure += 60 * rng.randint(1, 30)
        else:
            stop.arrival += 60 * rng.randint(1, 30)

    def move_city(session):
        stop = rng.choice(session.scalars(select(Stop)).all())
        timetable = session.get(Timetable, stop.timetable_id)
        used = {s.city_id for s in timetable.stops}
        free = [ids[name] for name in "ABCD" if ids[name] not in used]
        if free:
            stop.city_id = rng.choice(free)

    def add_service(session):
        first, last = rng.sample("ABCD", 2)
        service = Service(number=f"X{rng.randint(0, 10**6)}", mode="train", operator="CR")
        timetable = Timetable(code="1", calendar=session.scalars(select(Calendar)).first(),
                              service=service)
        timetable.stops = [
            Stop(sequence=0, city_id=ids[first], departure=7 * H),
            Stop(sequence=1, city_id=ids[last], arrival=8 * H),
        ]
        session.add(service)

    def delete_service(session):
        extra = session.scalars(select(Service).where(Service.number.like("X%"))).all()
        if extra:
            session.delete(rng.choice(extra))

    def rename_service(session):
        service = session.get(Service, ids[rng.choice(["S1", "S2"])])
        service.name = f"name {rng.randint(0, 1000)}"

    def calendar_exception(session):
        calendar = session.scalars(select(Calendar)).first()
        session.add(CalendarDate(calendar=calendar, date=dt.date(2025, 3, 3),
                                 added=False))

    edits = [move_time, move_city, add_service, delete_service, rename_service]
    for step in range(30):
        edit = calendar_exception if step == 20 else rng.choice(edits)
        _edit(app, edit)
        for path in rng.sample(list(pages.values()), len(pages)):
            _kept(app, client, path)  # asserts kept == fresh


def test_a_service_added_and_removed_through_the_api_keeps_the_other_pages(app, client):
    from transit import auth

    ids = _network(app)
    pages = _pages(ids)
    with app.app_context():
        auth.create_user(db.session(), "ada", "a long test password", is_admin=True)
        token = auth.issue_token(db.session(), "ada")
        db.session.commit()
        calendar_id = db.session.scalars(select(Calendar.id)).one()
    headers = {"Authorization": f"Bearer {token}"}
    for path in pages.values():
        client.get(path)
    # (A timetable with a new calendar would change calendars: everything.)
    body = {
        "number": "S3", "mode": "train", "operator": "CR",
        "timetables": [{"calendar_id": calendar_id, "stops": [
            {"city": "A", "departure": "07:00"}, {"city": "B", "arrival": "07:40"}]}],
    }
    reply = client.post("/api/v1/services", json=body, headers=headers)
    assert reply.status_code == 201, reply.data
    kept = {name: _kept(app, client, path) for name, path in pages.items()}
    assert kept == {"A": False, "B": False, "C": True, "D": True, "S1": True, "S2": True}
    reply = client.delete(f"/api/v1/services/{reply.get_json()['id']}", headers=headers)
    assert reply.status_code == 204
    kept = {name: _kept(app, client, path) for name, path in pages.items()}
    assert kept == {"A": False, "B": False, "C": True, "D": True, "S1": True, "S2": True}


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    from tests.live import fresh_app

    monkeypatch.setenv("TRANSIT_ANSWER_CACHE_MB", "0")
    app = fresh_app(tmp_path, "off")
    assert app.config["TRANSIT_ANSWER_CACHE_BYTES"] == 0
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/cities").status_code == 200
    assert _cache(app).hits == 0 and _cache(app).misses == 0
