"""Writes that really overlap: two administrators at once, over real HTTP (or two sessions).

Each test releases its requests together (a barrier) and slows one step of the write down
(``slow``: a sleep between a check and the write it guards), so that without a lock both
requests pass the check before either writes, every time. With the locks of ``transit.db``
the second request waits at the lock and then sees the first one's change.

On SQLite one writer is let in at a time anyway; the tests run there too, except where the
race needs two writers inside the database at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.admin_helpers import log_in, make_admin, post
from tests.api.conftest import Api, _user_with_token
from tests.live import served
from tests.test_loader import small_feed
from transit import editing
from transit.db import data_version, mark_timetable_changed
from transit.models import ALL_DAYS, Calendar, City, Service, ServiceFare, Stop, Timetable
from transit.timetable import loader
from transit.timetable.feed import ImportFailed
from transit.web.api import routes
from transit.web.extensions import db

PAUSE = 0.3  # seconds between a write's check and its write: longer than a request takes


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results (or exceptions), in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # shown by the test's assertion, not lost in the thread
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def slow(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, after: bool = False) -> None:
    """Make ``owner.name`` pause before (or after) doing its work."""
    original = getattr(owner, name)

    def slowed(*args: Any, **kwargs: Any) -> Any:
        if not after:
            time.sleep(PAUSE)
        result = original(*args, **kwargs)
        if after:
            time.sleep(PAUSE)
        return result

    monkeypatch.setattr(owner, name, slowed)


def on_postgresql(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


@pytest.fixture
def two_admins(app) -> tuple[Api, Api]:
    """Two administrators, each with a token of their own, on one served app."""
    first, second = _user_with_token(app, "ada", True), _user_with_token(app, "bob", True)
    with served(app, "concurrency-server") as (host, port):
        ada, bob = Api(host, port), Api(host, port)
        ada.token, bob.token = first, second
        yield ada, bob


@pytest.fixture
def line(app) -> dict[str, int]:
    """Four cities, a daily train calling at three of them (not Tai'an), with one fare."""
    with app.app_context():
        cities = [City(name=n, code=c, timezone="Asia/Shanghai")
                  for n, c in (("Beijing", "BJP"), ("Jinan", "JNK"), ("Shanghai", "SHH"),
                               ("Tai'an", "TAI"))]
        train = Service(number="G1", mode="train", operator="CR")
        variant = Timetable(service=train, code="1", calendar=Calendar(name="daily", weekdays=ALL_DAYS))
        variant.stops = [
            Stop(sequence=0, city=cities[0], departure=8 * 3600),
            Stop(sequence=1, city=cities[1], arrival=10 * 3600, departure=10 * 3600 + 120,
                 fare_cents=100),
            Stop(sequence=2, city=cities[2], arrival=13 * 3600, fare_cents=200),
        ]
        train.fares = [ServiceFare(origin=cities[0], destination=cities[2], fare_cents=250)]
        db.session.add_all([*cities, train])
        db.session.commit()
        return {"beijing": cities[0].id, "jinan": cities[1].id, "shanghai": cities[2].id,
                "taian": cities[3].id, "g1": train.id, "variant": variant.id}


def _version(app) -> int:
    with app.app_context():
        return data_version(db.session())


# --- F1: If-Match --------------------------------------------------------------------------


def test_two_writes_with_one_etag_one_wins_the_other_is_412(app, two_admins, line, monkeypatch):
    ada, bob = two_admins
    path = f"/api/v1/cities/{line['jinan']}"
    etag = ada.get(path).headers["ETag"]
    before = _version(app)
    slow(monkeypatch, routes, "parse_body")  # after the If-Match check, before the write
    replies = at_once(
        lambda: ada.patch(path, {"latitude": 36.1}, headers={"If-Match": etag}),
        lambda: bob.patch(path, {"latitude": 36.9}, headers={"If-Match": etag}),
    )
    assert sorted(r.status for r in replies) == [200, 412], [r.body[:300] for r in replies]
    assert _version(app) == before + 1
    winner = next(r for r in replies if r.status == 200)
    assert ada.get(path).json["latitude"] == winner.json["latitude"]


# --- F2: city names and codes unique whatever their case ------------------------------------


def test_two_codes_differing_in_case_one_is_409(app, two_admins, line, monkeypatch):
    ada, bob = two_admins
    slow(monkeypatch, editing, "check_city_unique", after=True)
    replies = at_once(
        lambda: ada.post("/api/v1/cities", {"name": "Qingdao", "code": "QCR0",
                                            "timezone": "Asia/Shanghai"}),
        lambda: bob.post("/api/v1/cities", {"name": "Qufu", "code": "qcr0",
                                            "timezone": "Asia/Shanghai"}),
    )
    assert sorted(r.status for r in replies) == [201, 409], [r.body[:300] for r in replies]
    refused = next(r for r in replies if r.status == 409)
    assert "codes are unique whatever their case" in refused.body.decode()
    with app.app_context():
        codes = db.session.scalars(select(City.code).where(func.lower(City.code) == "qcr0"))
        assert len(list(codes)) == 1


def test_two_admin_forms_adding_one_name_in_two_cases(app, line, monkeypatch):
    # The admin pages send no token (whose last use is written first), so the check is the
    # first thing their request does in the database: on SQLite too it must take the lock.
    make_admin(app)
    clients: list[FlaskClient] = [app.test_client(), app.test_client()]
    for client in clients:
        assert log_in(client).status_code == 302
    slow(monkeypatch, editing, "check_city_unique", after=True)
    forms = [{"name": name, "code": "", "latitude": "", "longitude": "",
              "timezone": "Asia/Shanghai", "min_connection": ""} for name in ("Weihai", "WEIHAI")]
    replies = at_once(*(lambda c=c, f=f: post(c, "/admin/cities/new", f)
                        for c, f in zip(clients, forms, strict=True)))
    assert sorted(r.status_code for r in replies) == [302, 422], [r.status_code for r in replies]
    with app.app_context():
        names = db.session.scalars(select(City.name).where(func.lower(City.name) == "weihai"))
        assert len(list(names)) == 1


# --- F4: two imports of one file ------------------------------------------------------------


def test_two_imports_of_one_feed_the_second_skips_everything(engine, monkeypatch):
    with Session(engine) as session:
        mark_timetable_changed(session)  # the version row a migrated database has
        session.commit()
    slow(monkeypatch, loader, "_write")  # after the checks of what is new, before writing

    def load() -> Any:
        with Session(engine) as session:
            report = loader.load_feed(session, small_feed())
            session.commit()
            return report

    reports = at_once(load, load)
    assert not any(isinstance(r, ImportFailed | Exception) for r in reports), reports
    written, skipped = sorted(reports, key=lambda r: sum(_numbers(r.counts)))[::-1]
    assert sum(_numbers(written.counts)) > 0
    assert sum(_numbers(skipped.counts)) == 0 and skipped.skipped
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(City)) == 4


def _numbers(counts: dict[str, Any]) -> list[int]:
    return [sum(v.values()) if isinstance(v, dict) else v for v in counts.values()]


# --- F5: deleting a city while a service calling there is saved -----------------------------


def test_a_service_saved_while_its_city_is_deleted_waits_and_is_refused(
    app, two_admins, line, monkeypatch
):
    """The delete holds the city from listing its services to the commit: a service saved
    there meanwhile waits, then finds no such city (once it was saved in between, and the
    delete answered 409 with the database's foreign-key text)."""
    ada, bob = two_admins
    listed = threading.Event()
    services_calling_at = editing.services_calling_at

    def listed_then_pause(*args: Any, **kwargs: Any) -> Any:
        found = services_calling_at(*args, **kwargs)
        listed.set()
        time.sleep(PAUSE)  # the save arrives between the listing and the delete
        return found

    monkeypatch.setattr(editing, "services_calling_at", listed_then_pause)
    service = {"number": "K9", "mode": "train", "operator": "CR", "timetables": [{
        "calendar": {"weekdays": ["mon"]},
        "stops": [{"city": "Beijing", "departure": "08:00"},
                  {"city": "Tai'an", "arrival": "11:00", "fare_cents": 100}]}]}

    def save() -> Any:
        listed.wait(10)
        return bob.post("/api/v1/services", service)

    deleted, created = at_once(lambda: ada.delete(f"/api/v1/cities/{line['taian']}"), save)
    assert deleted.status == 204, deleted.body
    assert created.status in (409, 422) and "Tai'an" in created.body.decode(), created.body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) == 1  # G1 only


# --- F6: last write wins without If-Match ---------------------------------------------------


def test_writes_of_one_variant_and_its_fares_without_if_match_all_go_through(
    app, two_admins, line, monkeypatch
):
    ada, bob = two_admins
    sid, tid = line["g1"], line["variant"]
    slow(monkeypatch, editing, "replace_timetable")  # after the variant was read
    slow(monkeypatch, editing, "replace_fares")

    def variant(stops: list[str]) -> dict[str, Any]:
        last = len(stops) - 1
        return {"code": "1", "calendar": {"weekdays": ["mon"]}, "stops": [
            {"city": city, **({"departure": f"{8 + i:02d}:00"} if i < last else {}),
             **({"arrival": f"{7 + i:02d}:50", "fare_cents": 100} if i else {})}
            for i, city in enumerate(stops)]}

    def fares(cents: int) -> dict[str, Any]:
        return {"fares": [{"origin": "Beijing", "destination": "Shanghai", "fare_cents": cents}]}

    # One pair at a time: each admin's token row (its last use) keeps their own requests apart.
    timetable = f"/api/v1/services/{sid}/timetables/{tid}"
    replies = at_once(
        lambda: ada.put(timetable, variant(["Beijing", "Shanghai"])),
        lambda: bob.put(timetable, variant(["Beijing", "Jinan", "Shanghai"])),
    ) + at_once(
        lambda: ada.put(f"/api/v1/services/{sid}/fares", fares(300)),
        lambda: bob.put(f"/api/v1/services/{sid}/fares", fares(301)),
    )
    assert [r.status for r in replies] == [200] * 4, [r.body[:300] for r in replies]
    with app.app_context():
        stops = db.session.scalars(select(Stop.sequence).where(Stop.timetable_id == tid)).all()
        assert sorted(stops) in ([0, 1], [0, 1, 2])  # one whole list, the last one written
        prices = db.session.scalars(select(ServiceFare.fare_cents)
                                    .where(ServiceFare.service_id == sid)).all()
        assert prices in ([300], [301])



# --- Two admin forms opened at one version (QA production F2: lost on SQLite) ---------------


def test_two_admin_edits_opened_at_one_version_one_is_409(app, line, monkeypatch):
    """Both tabs opened the city before either saved: the second save must see the first
    and write nothing. On SQLite the lock on the row was a no-op, and 3-4 of 10 parallel
    saves each "succeeded", overwriting one another."""
    import re

    from transit.web.admin import cities as admin_cities

    make_admin(app)
    clients: list[FlaskClient] = [app.test_client(), app.test_client()]
    for client in clients:
        assert log_in(client).status_code == 302
    url = f"/admin/cities/{line['beijing']}"
    version = re.search(r'name="version" value="([^"]+)"', clients[0].get(url).get_data(as_text=True))
    assert version
    slow(monkeypatch, admin_cities, "changed_meanwhile", after=True)
    forms = [{"name": name, "code": "", "latitude": "", "longitude": "", "timezone": "Asia/Shanghai",
              "min_connection": "", "version": version.group(1)} for name in ("Peking", "Beiping")]
    replies = at_once(*(lambda c=c, f=f: post(c, url, f) for c, f in zip(clients, forms, strict=True)))
    assert sorted(r.status_code for r in replies) == [302, 409], [r.status_code for r in replies]
    with app.app_context():
        assert db.session.get(City, line["beijing"]).name in ("Peking", "Beiping")
