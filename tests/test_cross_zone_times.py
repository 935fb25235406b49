"""Runs through several time zones go forwards in time on every date they run.

QA finding: a CSV bundle's flight from Los Angeles at 23:00 to Auckland at 33:00:00 (a
date-line mistake: 9 to 11 hours before it leaves, as instants) imported without a word; the
route search drops such a ride, so Auckland could not be reached. Each time is local to its
stop's city (docs/routing.md, "Time"), so only stops in another zone than the one before can
go back in time where the local times do not, and only on some dates where the two zones
change clocks on different days. Every door refuses such a run: the imports (the loader, for
every format), the API's writes and the admin stops editor (transit.editing), and the changes
of a city's zone or of a calendar's days that would make a stored run go back.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.admin_helpers import H
from tests.api.conftest import Api, _user_with_token
from tests.live import served
from tests.test_admin_pages import _summary_items
from tests.test_admin_stops_editor import _as_opened, _stored
from transit.models import Calendar, City, Service, Stop, Timetable
from transit.routing import Query, Snapshot, plan
from transit.routing.query import FIRST_YEAR, LAST_YEAR
from transit.routing.snapshot import service_day_start
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    ImportFailed,
)
from transit.timetable.gtfs import parse_gtfs
from transit.timetable.loader import load_feed
from transit.web.extensions import db

# The QA bundle (/tmp/qa_trav/tz): F4 is the date-line mistake, the other flights are right.
BUNDLE = {
    "calendars.csv": "calendar,weekdays,start_date,end_date\ndaily,1111111,2026-01-01,2026-12-31\n",
    "cities.csv": (
        "name,code,timezone,latitude,longitude\n"
        "New York,NYC,America/New_York,40.71,-74.0\n"
        "Los Angeles,LAX,America/Los_Angeles,34.05,-118.24\n"
        "London,LON,Europe/London,51.5,-0.12\n"
        "Beijing,BJS,Asia/Shanghai,39.9,116.4\n"
        "Newark,EWR,America/New_York,40.73,-74.17\n"
        "Auckland,AKL,Pacific/Auckland,-36.85,174.76\n"
    ),
    "services.csv": "number,mode,currency\nF1,flight,USD\nF2,flight,USD\nF3,flight,USD\nT1,train,USD\nF4,flight,USD\n",
    "stops.csv": (
        "number,code,sequence,city,arrival,departure,fare\n"
        "F1,a,0,New York,,22:00:00,\n"
        "F1,a,1,Los Angeles,24:30:00,,300.00\n"
        "F2,a,0,Los Angeles,,01:30:00,\n"
        "F2,a,1,Beijing,30:00:00,,900.00\n"
        "F3,a,0,Beijing,,10:00:00,\n"
        "F3,a,1,London,14:00:00,,500.00\n"
        "T1,a,0,New York,,01:30:00,\n"
        "T1,a,1,Newark,03:30:00,,10.00\n"
        "F4,a,0,Los Angeles,,23:00:00,\n"
        "F4,a,1,Auckland,33:00:00,,800.00\n"
    ),
    "timetables.csv": "number,code,calendar\nF1,a,daily\nF2,a,daily\nF3,a,daily\nT1,a,daily\nF4,a,daily\n",
}
F4_WORDS = (
    "timetables.csv, line 6, field arrival: service flight F4, timetable 'a', stop 2: arrives in "
    "Auckland at 09:00 (+1 day) local time, 11 hours before it leaves Los Angeles at 23:00 local "
    "time (on every day it runs, from 2026-01-01): times are local to each city (Los Angeles in "
    "America/Los_Angeles, Auckland in Pacific/Auckland)"
)
# US clocks go forward on 2026-03-08 and back on 2026-11-01; Arizona keeps standard time.
SUMMER_DAYS = (dt.date(2026, 11, 1) - dt.date(2026, 3, 8)).days  # 238


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- imports -----------------------------------------------------------------------------


def test_the_qa_bundle_is_refused_naming_file_line_and_field(app, runner, tmp_path):
    result = runner.invoke(args=["timetable", "import", str(_write(tmp_path / "tz", BUNDLE))])
    assert result.exit_code == 1, result.output
    assert "Nothing was imported: 1 problem found." in result.output
    assert F4_WORDS in result.output
    # The whole import is rolled back: the right flights are not in either.
    assert _count(app, City) == _count(app, Service) == _count(app, Stop) == 0


def test_the_corrected_flight_imports_and_is_found_by_the_route_search(app, runner, tmp_path):
    # 23:00 in Los Angeles, 09:00 two days later in Auckland: 13 hours in January.
    files = dict(BUNDLE, **{"stops.csv": BUNDLE["stops.csv"].replace(
        "F4,a,1,Auckland,33:00:00", "F4,a,1,Auckland,57:00:00")})
    result = runner.invoke(args=["timetable", "import", str(_write(tmp_path / "tz", files))])
    assert result.exit_code == 0, result.output
    with served(app, "cross-zone-routes") as (host, port):
        reply = Api(host, port).get("/api/v1/routes?from=LAX&to=AKL&depart=2026-06-01T20:00")
    assert reply.status == 200, reply.body
    leg = reply.json["itineraries"][0]["legs"][0]
    assert (leg["service"], leg["departure"], leg["arrival"]) == (
        "F4", "2026-06-01T23:00:00-07:00", "2026-06-03T09:00:00+12:00")


def _feed(days: FeedCalendar, arrival: int = 10 * H + 50 * 60) -> Feed:
    """A flight from Los Angeles to Phoenix (no summer time), 10:00 to 10:50 local, written
    as if Arizona kept summer time: 50 minutes while California does, 10 minutes before it
    leaves in winter."""
    return Feed(
        source="lax",
        cities={
            "LAX": FeedCity("Los Angeles", "LAX", timezone="America/Los_Angeles"),
            "PHX": FeedCity("Phoenix", "PHX", timezone="America/Phoenix"),
        },
        calendars={"days": days},
        services=[FeedService("F7", "flight", timetables=[FeedTimetable("a", "days", [
            FeedStop("LAX", None, 10 * H), FeedStop("PHX", arrival, None, 5000)])])],
    )


def _problems(session: Session, feed: Feed) -> list[str]:
    with pytest.raises(ImportFailed) as failed:
        load_feed(session, feed)
    session.rollback()
    return [str(p) for p in failed.value.problems]


def test_a_run_wrong_only_while_the_zones_keep_winter_time_is_refused(session):
    year = FeedCalendar(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))
    assert _problems(session, _feed(year)) == [
        "lax, field arrival: service flight F7, timetable 'a', stop 2: arrives in Phoenix at "
        "10:50 local time, 10 minutes before it leaves Los Angeles at 10:00 local time (on 2026-01-01 "
        f"and {365 - SUMMER_DAYS - 1} other days): times are local to each city (Los Angeles in "
        "America/Los_Angeles, Phoenix in America/Phoenix)"
    ]
    # A date added to a summer calendar is a date it runs too; a removed one is not.
    summer = FeedCalendar(start_date=dt.date(2026, 4, 1), end_date=dt.date(2026, 9, 30),
                          added={dt.date(2026, 12, 24)})
    assert "(on 2026-12-24):" in _problems(session, _feed(summer))[0]
    mondays = FeedCalendar(weekdays=0b0000001, start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 3, 31),
                           removed={dt.date(2026, 2, 2), dt.date(2026, 2, 9), dt.date(2026, 2, 16)})
    assert "(on 2026-02-23 and 1 other day):" in _problems(session, _feed(mondays))[0]
    # In summer alone, or given the hour California is behind in winter, it loads.
    summer.added = set()
    assert load_feed(session, _feed(summer)).counts["stops"] == 2
    session.rollback()
    assert load_feed(session, _feed(year, arrival=11 * H)).counts["stops"] == 2


def test_a_calendar_without_dates_is_checked_from_today():
    from transit.timetable.loader import ZoneClock

    clock = ZoneClock(today=dt.date(2026, 5, 4))
    daily = FeedCalendar()
    key = (daily.weekdays, None, None, frozenset(), frozenset())
    early = clock.early_stops([("America/Los_Angeles", None, 23 * H), ("Pacific/Auckland", 33 * H, None)], key)
    assert [(e.index, e.day, e.gap, e.days == e.running) for e in early] == [
        (1, dt.date(2026, 5, 4), 9 * H, True)]
    # London to Lisbon, 10:00 to 10:30 on the clocks of both since 1996; Lisbon kept Central
    # European time from 1992 to 1996, an hour ahead: checked from 1993, it goes back.
    border = [("Europe/London", None, 10 * H), ("Europe/Lisbon", 10 * H + 30 * 60, None)]
    assert ZoneClock(today=dt.date(2026, 1, 1)).early_stops(border, key) == []
    (early_1993,) = ZoneClock(today=dt.date(1993, 1, 1)).early_stops(border, key)
    assert (early_1993.day, early_1993.gap) == (dt.date(1993, 1, 1), 30 * 60)


def test_the_offsets_are_the_route_searchs_on_every_kind_of_day():
    from transit.timetable.loader import FIRST_DAY, LAST_DAY, ZoneClock

    assert (FIRST_DAY, LAST_DAY) == (dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31))
    clock = ZoneClock()
    days = [dt.date(1900, 1, 1), dt.date(1941, 6, 30), dt.date(1993, 7, 1), dt.date(2011, 12, 29),
            dt.date(2011, 12, 31), dt.date(2026, 3, 8), dt.date(2026, 3, 29), dt.date(2026, 4, 5),
            dt.date(2026, 10, 4), dt.date(2026, 11, 1), dt.date(2999, 12, 31)]
    for zone in ("America/Los_Angeles", "Pacific/Auckland", "Europe/Lisbon", "Asia/Kolkata",
                 "Australia/Lord_Howe", "America/St_Johns", "Pacific/Apia", "Asia/Kathmandu"):
        for day in days:
            key = (0, None, None, frozenset({day}), frozenset())
            shifts = clock.shifts(key, "UTC", zone)
            assert shifts is not None
            midnight = (day - dt.date(1970, 1, 1)).days * 86400
            assert midnight - int(shifts[1][0]) == service_day_start(day, zone), (zone, day)


def test_a_gtfs_stop_in_another_zone_keeps_its_instant_on_every_date(session, tmp_path):
    """GTFS times are the agency's (Phoenix, which keeps standard time): a stop with its own
    zone (Los Angeles) gets them moved by the two zones' difference on each date, none in
    summer and an hour in winter. Each period of one difference is a variant of the trip on
    a calendar of its own, so the 10-minute flight takes 10 minutes on every date; with the
    first day's difference alone it went back in time all winter and the feed was refused."""
    folder = _write(tmp_path / "desert", {
        "agency.txt": "agency_name,agency_url,agency_timezone\nDesert Air,http://d,America/Phoenix\n",
        "stops.txt": "stop_id,stop_name,stop_timezone\nL,Los Angeles,America/Los_Angeles\nP,Phoenix,\n",
        "routes.txt": "route_id,route_short_name,route_type\nR,DA,1100\n",
        "trips.txt": "route_id,service_id,trip_id,trip_short_name\nR,Y,T9,DA 9\n",
        "calendar.txt": ("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
                         "end_date\nY,1,1,1,1,1,1,1,20260401,20270331\n"),
        "calendar_dates.txt": "service_id,date,exception_type\nY,20261225,2\nY,20270601,1\n",
        "stop_times.txt": ("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                           "T9,10:00:00,10:00:00,L,1\nT9,10:10:00,10:10:00,P,2\n"),
    })
    feed = parse_gtfs(folder)
    (service,) = feed.services
    # US clocks go back on 2026-11-01 and forward on 2027-03-14.
    variants = [
        (t.code, feed.calendars[t.calendar].name, [(s.arrival, s.departure) for s in t.stops])
        for t in service.timetables
    ]
    assert variants == [
        ("T9", "Y, 2026-04-01 to 2026-10-31", [(None, 10 * H), (10 * H + 10 * 60, None)]),
        ("T9 2026-11-01", "Y, 2026-11-01 to 2027-03-13", [(None, 9 * H), (10 * H + 10 * 60, None)]),
        # The date added after the calendar's end has the summer's difference again.
        ("T9 2027-03-14", "Y, 2027-03-14 to 2027-06-01", [(None, 10 * H), (10 * H + 10 * 60, None)]),
    ]
    # Together the variants run on the trip's dates, each date once.
    original = FeedCalendar(start_date=dt.date(2026, 4, 1), end_date=dt.date(2027, 3, 31),
                            added={dt.date(2027, 6, 1)}, removed={dt.date(2026, 12, 25)})
    day = dt.date(2026, 3, 1)
    while day < dt.date(2027, 7, 1):
        running = [t.code for t in service.timetables if feed.calendars[t.calendar].runs_on(day)]
        assert len(running) == original.runs_on(day), (day, running)
        day += dt.timedelta(days=1)
    assert load_feed(session, feed).counts["timetables"] == 3
    session.rollback()
    snap = Snapshot.from_feed(feed, 0)
    for when, departure in ((dt.datetime(2026, 6, 1, 8), "2026-06-01T10:00:00-07:00"),
                            (dt.datetime(2026, 12, 1, 8), "2026-12-01T09:00:00-08:00")):
        (itinerary,) = plan(snap, Query("Los Angeles", "Phoenix", depart=when)).itineraries
        (leg,) = itinerary.legs
        assert (leg.departure.isoformat(), leg.duration_minutes) == (departure, 10)


def test_the_shared_feeds_lose_no_time(session, shared_data):
    """The real feeds have one zone each: the check costs them nothing measurable."""
    feed = parse_gtfs(shared_data / "gtfs/caltrain_gtfs_2017-07-24.zip")
    started = time.perf_counter()
    load_feed(session, feed, dry_run=True)
    assert time.perf_counter() - started < 5


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def cities(app) -> dict[str, int]:
    with app.app_context():
        made = {name: City(name=name, code=code, timezone=zone) for name, code, zone in [
            ("Los Angeles", "LAX", "America/Los_Angeles"), ("Auckland", "AKL", "Pacific/Auckland"),
            ("Phoenix", "PHX", "America/Phoenix")]}
        db.session.add_all(made.values())
        db.session.commit()
        return {name: city.id for name, city in made.items()}


@pytest.fixture
def api(app) -> Iterator[Api]:
    with served(app, "cross-zone-api") as (host, port):
        client = Api(host, port)
        client.token = _user_with_token(app, "zones-admin", True)
        yield client


YEAR_2026 = {"start_date": "2026-01-01", "end_date": "2026-12-31"}
F4_API = ("arrives in Auckland at 09:00 (+1 day) local time, 11 hours before it leaves Los Angeles "
          "at 23:00 local time (on every day it runs, from 2026-01-01): times are local to each city "
          "(Los Angeles in America/Los_Angeles, Auckland in Pacific/Auckland)")


def _errors(problem: dict) -> list[tuple[str, str]]:
    return [(error["field"], error["message"]) for error in problem["errors"]]


def _f4(arrival: str = "09:00+1", **timetable) -> dict:
    return {"number": "F4", "mode": "flight", "timetables": [{
        "code": "a", "calendar": YEAR_2026, **timetable,
        "stops": [{"city": "Los Angeles", "departure": "23:00"},
                  {"city": "Auckland", "arrival": arrival, "fare_cents": 80000}]}]}


def test_the_api_refuses_the_run_naming_the_field(app, api, cities):
    body = api.post("/api/v1/services", _f4()).problem(422)
    assert _errors(body) == [("timetables[0].stops[1].arrival", F4_API)]
    assert F4_API in body["detail"]
    # With a mistake the models refuse, the run's own is listed too (one answer, every problem).
    body = api.post("/api/v1/services", _f4(headsign="x" * 301)).problem(422)
    assert {e["field"] for e in body["errors"]} == {"timetables[0].headsign", "timetables[0].stops[1].arrival"}
    assert _count(app, Service) == 0
    service = api.post("/api/v1/services", _f4("09:00+2")).json
    variant = f"/api/v1/services/{service['id']}/timetables"
    timetable_id = service["timetables"][0]["id"]
    new = _f4()["timetables"][0] | {"code": "b"}
    assert _errors(api.post(variant, new).problem(422)) == [("stops[1].arrival", F4_API)]
    assert api.put(f"{variant}/{timetable_id}", new).problem(422)["errors"][0]["field"] == "stops[1].arrival"
    with app.app_context():
        assert [s.arrival for s in db.session.get(Timetable, timetable_id).stops] == [None, 57 * H]


def test_a_zone_or_days_that_would_send_a_stored_run_back_are_refused(app, api, cities):
    # Phoenix 10:00 to Los Angeles 10:20: 20 minutes in summer, 80 in winter.
    winter = {"start_date": "2026-01-01", "end_date": "2026-02-28"}
    service = api.post("/api/v1/services", {"number": "F7", "mode": "flight", "timetables": [{
        "code": "a", "calendar": winter,
        "stops": [{"city": "Phoenix", "departure": "10:00"},
                  {"city": "Los Angeles", "arrival": "10:20", "fare_cents": 5000}]}]}).json
    # Los Angeles on Denver's clocks: an hour ahead of Phoenix in summer.
    body = api.patch(f"/api/v1/cities/{cities['Los Angeles']}", {"timezone": "America/Denver"}).json
    assert body["timezone"] == "America/Denver"  # no summer date: nothing goes back
    calendar_id = service["timetables"][0]["calendar"]["id"]
    body = api.patch(f"/api/v1/calendars/{calendar_id}", {"end_date": "2026-12-31"}).problem(422)
    assert _errors(body) == [("end_date", (
        "flight F7 variant a, stop 2: arrives in Los Angeles at 10:20 local time, 40 minutes before it "
        f"leaves Phoenix at 10:00 local time (on 2026-03-08 and {SUMMER_DAYS - 1} other days): times "
        "are local to each city (Phoenix in America/Phoenix, Los Angeles in America/Denver)"))]
    with app.app_context():
        assert db.session.get(Calendar, calendar_id).end_date == dt.date(2026, 2, 28)
    # November and December: winter again, and it saves.
    reply = api.patch(f"/api/v1/calendars/{calendar_id}", {"start_date": "2026-11-01", "end_date": "2026-12-31"})
    assert reply.status == 200, reply.body
    # Phoenix on Honolulu's clocks: three hours behind Denver's.
    body = api.patch(f"/api/v1/cities/{cities['Phoenix']}", {"timezone": "Pacific/Honolulu"}).problem(422)
    assert [e["field"] for e in body["errors"]] == ["timezone"]
    assert body["errors"][0]["message"].startswith(
        "flight F7 variant a, stop 2: arrives in Los Angeles at 10:20 local time, 2 hours 40 minutes "
        "before it leaves Phoenix at 10:00 local time (on every day it runs, from 2026-11-01)")
    with app.app_context():
        assert db.session.get(City, cities["Phoenix"]).timezone == "America/Phoenix"


# --- the admin stops editor ------------------------------------------------------------------


def test_the_stops_editor_refuses_the_run_beside_its_row(app, client, admin, cities):
    with app.app_context():
        found = {c.name: c for c in db.session.scalars(select(City))}
        service = Service(number="F4", mode="flight", operator="QA")
        timetable = Timetable(code="a", service=service, calendar=Calendar(
            weekdays=0b1111111, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)))
        timetable.stops = [Stop(sequence=0, city=found["Los Angeles"], departure=23 * H),
                           Stop(sequence=1, city=found["Auckland"], arrival=57 * H, fare_cents=80000)]
        db.session.add(service)
        db.session.commit()
        service_id, variant_id = service.id, timetable.id
    url = f"/admin/services/{service_id}/variants/{variant_id}"
    before = _stored(app, variant_id)
    form = _as_opened(client, url)
    assert form.getlist("stop_arrival_day") == ["0", "2"]
    form.setlist("stop_arrival_day", ["0", "1"])
    reply = client.post(url, data=form)
    assert reply.status_code == 422
    assert f"Stops, row 2, arrival: {F4_API}" in _summary_items(reply.get_data(as_text=True))
    assert _stored(app, variant_id) == before
