"""A run may cross into a zone whose clocks are behind, its local time going back.

A bus from Madrid (Europe/Madrid) at 10:00 to Lisbon (Europe/Lisbon, an hour behind) at
09:20 is a 20-minute ride, as are the Badajoz - Elvas train and Tornio - Haparanda. Every
door refused it, since each compared local times even between zones; only the instants
must go forwards there (docs/formats.md, "Times across time zones"). Within one zone the
local times still may not go back, and between zones an instant that goes back (Madrid 10:00
to Lisbon 08:30 is 30 minutes before it left) is still refused. Every reader of stop times
copes: the route search and its reference, the itinerary, the pages, the CSV bundle's round
trip, the forecast's scheduled travel time and the recorded runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.admin_helpers import H
from tests.api.conftest import Api, _user_with_token
from tests.live import served
from tests.test_admin_pages import _summary_items
from tests.test_admin_stops_editor import _as_opened, _stored
from tests.test_routing_properties import _engine_outcomes, _project
from transit.db import make_engine
from transit.models import Base, Calendar, City, Service, Stop, Timetable, TripRecord
from transit.routing import CRITERIA, Query, Snapshot, plan
from transit.routing.reference import reference_answer
from transit.timetable.csvbundle import read_bundle, write_bundle
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

M = 60
CITIES = (
    "name,code,timezone\nMadrid,MAD,Europe/Madrid\nLisbon,LIS,Europe/Lisbon\n"
    "Barcelona,BCN,Europe/Madrid\n"
)
BUNDLE = {
    "calendars.csv": "calendar,weekdays,start_date,end_date\ndaily,1111111,2026-01-01,2026-12-31\n",
    "cities.csv": CITIES,
    "services.csv": "number,mode,currency\nB1,bus,EUR\n",
    "timetables.csv": "number,code,calendar\nB1,a,daily\n",
    "stops.csv": (
        "number,code,sequence,city,arrival,departure,fare\n"
        "B1,a,0,Madrid,,10:00:00,\n"
        "B1,a,1,Lisbon,09:20:00,,25.00\n"
    ),
}
# 30 minutes before it left, as an instant: refused with the words of the instant rule.
INSTANT_WORDS = (
    "timetables.csv, line 2, field arrival: service bus B1, timetable 'a', stop 2: arrives in "
    "Lisbon at 08:30 local time, 30 minutes before it leaves Madrid at 10:00 local time (on every "
    "day it runs, from 2026-01-01): times are local to each city (Madrid in Europe/Madrid, Lisbon "
    "in Europe/Lisbon)"
)
INSTANT_API = INSTANT_WORDS.split("stop 2: ", 1)[1]
SAME_ZONE_API = ("arrival 09:20 is before the previous departure 10:00 (stops out of order, or a "
                 "time after midnight not marked as the next day?)")


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _with_arrival(city: str, arrival: str) -> dict[str, str]:
    return dict(BUNDLE, **{"stops.csv": BUNDLE["stops.csv"].replace("Lisbon,09:20:00", f"{city},{arrival}")})


def _import(runner, folder: Path):
    return runner.invoke(args=["timetable", "import", str(folder)])


def _legs(api: Api, query: str) -> list[dict]:
    reply = api.get("/api/v1/routes?" + query)
    assert reply.status == 200, reply.body
    return reply.json["itineraries"]


# --- the CSV bundle, the search, the pages --------------------------------------------------------


def test_the_bundle_imports_and_every_search_finds_the_20_minute_ride(app, runner, client, tmp_path):
    result = _import(runner, _write(tmp_path / "b", BUNDLE))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert [(s.arrival, s.departure) for s in db.session.scalars(select(Stop).order_by(Stop.sequence))] == [
            (None, 10 * H), (9 * H + 20 * M, None)]
    with served(app, "westward-routes") as (host, port):
        api = Api(host, port)
        for criterion in CRITERIA:
            for when in ("depart=2026-06-01T08:00", "arrive_by=2026-06-01T12:00"):
                [journey] = _legs(api, f"from=MAD&to=LIS&{when}&criterion={criterion}")
                assert journey["duration_minutes"] == 20, (criterion, when)
                [leg] = journey["legs"]
                assert (leg["service"], leg["departure"], leg["arrival"]) == (
                    "B1", "2026-06-01T10:00:00+02:00", "2026-06-01T09:20:00+01:00")
        # In winter both clocks are an hour earlier: 20 minutes still.
        [journey] = _legs(api, "from=MAD&to=LIS&depart=2026-12-01T08:00")
        assert journey["duration_minutes"] == 20
        assert journey["arrival"] == "2026-12-01T09:20:00+00:00"
    # The results page: a 20-minute journey and a 20-minute leg.
    html = client.get("/routes?from=Madrid&to=Lisbon&date=2026-06-01&time=08:00").get_data(as_text=True)
    assert '<dd class="total-duration">20 min</dd>' in html
    assert "<span>20 min</span>" in html
    # The service page's journey time; the boards list the calls at their local times.
    with app.app_context():
        service_id = db.session.scalar(select(Service.id))
        madrid, lisbon = (db.session.scalar(select(City.id).where(City.name == n)) for n in ("Madrid", "Lisbon"))
    html = client.get(f"/services/{service_id}").get_data(as_text=True)
    assert "Journey time: 20 min" in html
    assert "09:20" in client.get(f"/cities/{lisbon}?date=2026-06-01").get_data(as_text=True)
    assert "10:00" in client.get(f"/cities/{madrid}?date=2026-06-01").get_data(as_text=True)


def test_a_same_zone_stop_going_back_is_still_refused_with_the_old_words(app, runner, tmp_path):
    result = _import(runner, _write(tmp_path / "b", _with_arrival("Barcelona", "09:20:00")))
    assert result.exit_code == 1, result.output
    assert ("stops.csv, line 3, field arrival: arrives before the previous stop's departure "
            "(add 24:00:00 past midnight)") in result.output
    assert "1 problem found" in result.output


def test_a_stop_going_back_as_an_instant_is_still_refused(app, runner, tmp_path):
    result = _import(runner, _write(tmp_path / "b", _with_arrival("Lisbon", "08:30:00")))
    assert result.exit_code == 1, result.output
    assert INSTANT_WORDS in result.output
    assert "1 problem found" in result.output
    # Beside another problem of the timetable, it is found in the same pass.
    files = _with_arrival("Lisbon", "08:30:00")
    files["timetables.csv"] = "number,code,calendar,headsign\nB1,a,daily," + "x" * 301 + "\n"
    result = _import(runner, _write(tmp_path / "c", files))
    assert INSTANT_WORDS in result.output, result.output
    assert "2 problems found" in result.output


def test_the_export_reads_back_to_the_same_westward_run(app, runner, tmp_path):
    assert _import(runner, _write(tmp_path / "b", BUNDLE)).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(args=["timetable", "export", str(out), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert ",Lisbon,9:20:00," in (out / "stops.csv").read_text(encoding="utf-8")
    other = make_engine("sqlite:///" + str(tmp_path / "other.sqlite3"))
    Base.metadata.create_all(other)
    with Session(other) as session:
        load_feed(session, read_bundle(out))
        session.commit()
        again = tmp_path / "again"
        write_bundle(session, again)
    other.dispose()
    for name in ("cities.csv", "stops.csv", "timetables.csv", "calendars.csv"):
        assert (again / name).read_text(encoding="utf-8") == (out / name).read_text(encoding="utf-8")


# --- GTFS -------------------------------------------------------------------------------------


def _gtfs(tmp_path: Path, arrival: str) -> Path:
    """An agency on Madrid's clock; its Lisbon stop on Lisbon's (stop_timezone)."""
    return _write(tmp_path / "gtfs", {
        "agency.txt": "agency_name,agency_url,agency_timezone\nIberia Bus,http://i,Europe/Madrid\n",
        "stops.txt": "stop_id,stop_name,stop_timezone\nM,Madrid,\nL,Lisbon,Europe/Lisbon\n",
        "routes.txt": "route_id,route_short_name,route_type\nR,IB,3\n",
        "trips.txt": "route_id,service_id,trip_id,trip_short_name\nR,Y,T1,IB 1\n",
        "calendar.txt": ("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                         "start_date,end_date\nY,1,1,1,1,1,1,1,20260101,20261231\n"),
        "stop_times.txt": ("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                           f"T1,10:00:00,10:00:00,M,1\nT1,{arrival},{arrival},L,2\n"),
    })


def test_a_gtfs_stop_with_its_own_zone_may_go_back_locally(session, tmp_path):
    # 10:20 on the agency's (Madrid's) clock is 09:20 in Lisbon.
    feed = parse_gtfs(_gtfs(tmp_path, "10:20:00"))
    assert [(s.arrival, s.departure) for s in feed.services[0].timetables[0].stops] == [
        (None, 10 * H), (9 * H + 20 * M, None)]
    assert load_feed(session, feed).counts["stops"] == 2
    session.commit()
    snap = Snapshot.from_session(session, 15)
    [journey] = plan(snap, Query("Madrid", "Lisbon", depart=dt.datetime(2026, 6, 1, 8))).itineraries
    assert journey.duration_minutes == 20


def test_a_gtfs_stop_back_in_time_in_the_agencys_zone_is_refused(tmp_path):
    with pytest.raises(ImportFailed) as failed:
        parse_gtfs(_gtfs(tmp_path, "09:50:00"))
    assert [str(p) for p in failed.value.problems] == [
        "stop_times.txt, line 3, field arrival_time: arrives before the trip left the previous stop (trip 'T1')"]


# --- the engine and its reference ------------------------------------------------------------------


def _feed() -> Feed:
    """Madrid - Lisbon at 10:00 (09:20 there), and a slower, cheaper one at 10:00 with a
    change at Badajoz (Madrid's zone) and on to Elvas (Lisbon's zone, 10 minutes on)."""
    return Feed(
        source="iberia",
        cities={
            "MAD": FeedCity("Madrid", "MAD", timezone="Europe/Madrid"),
            "LIS": FeedCity("Lisbon", "LIS", timezone="Europe/Lisbon"),
            "BJZ": FeedCity("Badajoz", "BJZ", timezone="Europe/Madrid", min_connection_seconds=0),
            "ELV": FeedCity("Elvas", "ELV", timezone="Europe/Lisbon"),
        },
        calendars={"daily": FeedCalendar(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))},
        services=[
            FeedService("B1", "bus", timetables=[FeedTimetable("a", "daily", [
                FeedStop("MAD", None, 10 * H), FeedStop("LIS", 9 * H + 20 * M, None, 2500)])]),
            FeedService("R1", "train", timetables=[FeedTimetable("a", "daily", [
                FeedStop("MAD", None, 7 * H), FeedStop("BJZ", 9 * H, None, 800)])]),
            # Badajoz 09:30 to Elvas 08:40 local: a 10-minute westward hop, then on to Lisbon.
            FeedService("R2", "train", timetables=[FeedTimetable("a", "daily", [
                FeedStop("BJZ", None, 9 * H + 30 * M), FeedStop("ELV", 8 * H + 40 * M, 8 * H + 45 * M, 100),
                FeedStop("LIS", 11 * H, None, 900)])]),
        ],
    )


def test_the_feed_loads_as_every_door_would_take_it(session):
    assert load_feed(session, _feed(), dry_run=True).counts["stops"] == 7


@pytest.mark.parametrize("arrive_by", [False, True])
@pytest.mark.parametrize("criterion", CRITERIA)
def test_the_engine_and_the_reference_agree_on_westward_legs(criterion: str, arrive_by: bool):
    snap = Snapshot.from_feed(_feed(), 15)
    day = dt.datetime(2026, 6, 1)
    for origin, destination in (("Madrid", "Lisbon"), ("Badajoz", "Elvas"), ("Madrid", "Elvas")):
        query = Query(origin, destination, criterion=criterion, window_hours=24,
                      depart=None if arrive_by else day + dt.timedelta(hours=6),
                      arrive_by=day + dt.timedelta(hours=13) if arrive_by else None)
        result = plan(snap, query)
        assert result.itineraries, (origin, destination)
        # The objectives the criterion ranks by, as the random-timetable test compares them.
        ours = _project(_engine_outcomes(snap, query), criterion, arrive_by)
        theirs = _project(reference_answer(snap, query), criterion, arrive_by)
        assert ours == theirs, (origin, destination)
        for it in result.itineraries:
            assert all(leg.arrival.timestamp() > leg.departure.timestamp() for leg in it.legs)
    fastest = plan(snap, Query("Madrid", "Lisbon", depart=day + dt.timedelta(hours=6)))
    assert [it.duration_minutes for it in fastest.itineraries] == [20]
    hop = plan(snap, Query("Badajoz", "Elvas", depart=day + dt.timedelta(hours=6)))
    assert [it.duration_minutes for it in hop.itineraries] == [10]
    assert hop.itineraries[0].to_json()["duration_minutes"] == 10


# --- the API's writes, the stops editor and a change of zone ---------------------------------------


@pytest.fixture
def cities(app) -> dict[str, int]:
    with app.app_context():
        made = {name: City(name=name, code=code, timezone=zone) for name, code, zone in [
            ("Madrid", "MAD", "Europe/Madrid"), ("Lisbon", "LIS", "Europe/Lisbon"),
            ("Barcelona", "BCN", "Europe/Madrid")]}
        db.session.add_all(made.values())
        db.session.commit()
        return {name: city.id for name, city in made.items()}


@pytest.fixture
def api(app) -> Iterator[Api]:
    with served(app, "westward-api") as (host, port):
        client = Api(host, port)
        client.token = _user_with_token(app, "westward-admin", True)
        yield client


def _bus(arrival: str = "09:20", city: str = "Lisbon") -> dict:
    return {"number": "B1", "mode": "bus", "currency": "EUR", "timetables": [{
        "code": "a", "calendar": {"start_date": "2026-01-01", "end_date": "2026-12-31"},
        "stops": [{"city": "Madrid", "departure": "10:00"},
                  {"city": city, "arrival": arrival, "fare_cents": 2500}]}]}


def _errors(problem: dict) -> list[tuple[str, str]]:
    return [(error["field"], error["message"]) for error in problem["errors"]]


def test_the_api_takes_the_westward_run_and_refuses_what_goes_back(app, api, cities):
    assert _errors(api.post("/api/v1/services", _bus("08:30")).problem(422)) == [
        ("timetables[0].stops[1].arrival", INSTANT_API)]
    assert _errors(api.post("/api/v1/services", _bus(city="Barcelona")).problem(422)) == [
        ("timetables[0].stops[1]", SAME_ZONE_API)]
    # A same-city mistake beside it: both are listed in one answer.
    body = api.post("/api/v1/services", {**_bus("08:30"), "timetables": [{
        **_bus("08:30")["timetables"][0], "stops": [*_bus("08:30")["timetables"][0]["stops"],
                                                    {"city": "Lisbon", "arrival": "09:00"}]}]})
    assert set(_errors(body.problem(422))) >= {
        ("timetables[0].stops[1].arrival", INSTANT_API),
        ("timetables[0].stops[2].city", "the same city twice in a row")}
    reply = api.post("/api/v1/services", _bus())
    assert reply.status == 201, reply.body
    service = reply.json
    assert service["timetables"][0]["stops"][1]["arrival"] == "09:20"
    variant = f"/api/v1/services/{service['id']}/timetables"
    timetable = service["timetables"][0]
    new = _bus("09:30")["timetables"][0] | {"code": "b"}
    assert api.post(variant, new).status == 201
    assert _errors(api.put(f"{variant}/{timetable['id']}", _bus("08:30")["timetables"][0]).problem(422)) == [
        ("stops[1].arrival", INSTANT_API)]
    # Lisbon put on Madrid's clock: the stored runs would go back on one clock.
    body = api.patch(f"/api/v1/cities/{cities['Lisbon']}", {"timezone": "Europe/Madrid"}).problem(422)
    assert _errors(body) == [
        ("timezone", "bus B1 variant a, stop 2: arrives in Lisbon at 09:20 local time, before it leaves "
                     "Madrid at 10:00 local time, and both are in Europe/Madrid"),
        ("timezone", "bus B1 variant b, stop 2: arrives in Lisbon at 09:30 local time, before it leaves "
                     "Madrid at 10:00 local time, and both are in Europe/Madrid")]
    with app.app_context():
        assert db.session.get(City, cities["Lisbon"]).timezone == "Europe/Lisbon"
    # On the Azores' clock (an hour behind Lisbon's) it still goes forwards.
    assert api.patch(f"/api/v1/cities/{cities['Lisbon']}", {"timezone": "Atlantic/Azores"}).status == 200


def test_the_stops_editor_saves_the_westward_run(app, client, admin, cities):
    with app.app_context():
        found = {c.name: c for c in db.session.scalars(select(City))}
        service = Service(number="B1", mode="bus", operator="QA", currency="EUR")
        timetable = Timetable(code="a", service=service, calendar=Calendar(
            weekdays=0b1111111, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)))
        timetable.stops = [Stop(sequence=0, city=found["Madrid"], departure=10 * H),
                           Stop(sequence=1, city=found["Lisbon"], arrival=12 * H, fare_cents=2500)]
        db.session.add(service)
        db.session.commit()
        service_id, variant_id, lisbon = service.id, timetable.id, found["Lisbon"].id
    url = f"/admin/services/{service_id}/variants/{variant_id}"
    form = _as_opened(client, url)
    form.setlist("stop_arrival", ["", "08:30"])
    reply = client.post(url, data=form)
    assert reply.status_code == 422
    assert f"Stops, row 2, arrival: {INSTANT_API}" in _summary_items(reply.get_data(as_text=True))
    form = _as_opened(client, url)
    form.setlist("stop_arrival", ["", "09:20"])
    reply = client.post(url, data=form)
    assert reply.status_code == 302, reply.get_data(as_text=True)
    madrid = _stored(app, variant_id)[0][0]
    assert _stored(app, variant_id) == [(madrid, None, 10 * H, None, True, True),
                                        (lisbon, 9 * H + 20 * M, None, 2500, True, True)]
    # The editor shows what it stored, as typed.
    assert _as_opened(client, url).getlist("stop_arrival") == ["", "09:20"]


# --- what was recorded, and the forecast's scheduled travel time ----------------------------------


def test_recorded_runs_and_forecast_features_take_20_minutes(app, runner, tmp_path):
    from transit import editing
    from transit.forecast.data import load_trip_records
    from transit.forecast.features import build_features
    from transit.forecast.predict import planned_trips, with_planned
    from transit.timetable.history import load_history, read_history_csv

    assert _import(runner, _write(tmp_path / "b", BUNDLE)).exit_code == 0
    history = tmp_path / "history.csv"
    history.write_text(
        "number,service_date,origin,destination,scheduled_departure,scheduled_arrival,"
        "actual_departure,actual_arrival\n"
        "B1,2026-06-01,Madrid,Lisbon,2026-06-01T10:00:00+02:00,2026-06-01T09:20:00+01:00,"
        "2026-06-01T10:05:00+02:00,2026-06-01T09:31:00+01:00\n", encoding="utf-8")
    with app.app_context():
        session = db.session()
        assert load_history(session, read_history_csv(history)) == 1
        timetable = session.scalar(select(Timetable))
        # Record a run: local actual times of each end's city.
        assert editing.record_trip(
            session, timetable, dt.date(2026, 6, 2), 0, 1,
            actual_departure=dt.datetime(2026, 6, 2, 10, 2), actual_arrival=dt.datetime(2026, 6, 2, 9, 25),
            user="editor", now=dt.datetime(2026, 7, 1)) == 1
        session.commit()
        runs = [(r.scheduled_departure, r.scheduled_arrival, r.actual_departure, r.actual_arrival)
                for r in session.scalars(select(TripRecord).order_by(TripRecord.service_date))]
        assert runs == [
            (dt.datetime(2026, 6, 1, 8), dt.datetime(2026, 6, 1, 8, 20),
             dt.datetime(2026, 6, 1, 8, 5), dt.datetime(2026, 6, 1, 8, 31)),
            (dt.datetime(2026, 6, 2, 8), dt.datetime(2026, 6, 2, 8, 20),
             dt.datetime(2026, 6, 2, 8, 2), dt.datetime(2026, 6, 2, 8, 25)),
        ]
        table = load_trip_records(session)
        assert table.scheduled_minutes().tolist() == [20.0, 20.0]
        assert table.arrival_delay_minutes().tolist() == [11.0, 5.0]
        planned = planned_trips(session, dt.date(2026, 6, 3))
        assert [(p.departure.isoformat(), p.arrival.isoformat()) for p in planned] == [
            ("2026-06-03T10:00:00+02:00", "2026-06-03T09:20:00+01:00")]
        combined, rows = with_planned(table, planned)
        features = build_features(combined, rows, pending=np.isin(np.arange(len(combined)), rows))
        assert features.sched_minutes.tolist() == [20.0]


def test_record_a_run_page_takes_a_westward_arrival_earlier_on_the_clock(app, client, admin, tmp_path):
    from tests.admin_helpers import post

    with app.app_context():
        found = {c.name: c for c in db.session.scalars(select(City))}
        for name, zone in (("Madrid", "Europe/Madrid"), ("Lisbon", "Europe/Lisbon")):
            found[name] = City(name=name, timezone=zone)
            db.session.add(found[name])
        service = Service(number="B1", mode="bus", operator="QA", currency="EUR")
        timetable = Timetable(code="a", service=service, calendar=Calendar(
            weekdays=0b1111111, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)))
        timetable.stops = [Stop(sequence=0, city=found["Madrid"], departure=10 * H),
                           Stop(sequence=1, city=found["Lisbon"], arrival=9 * H + 20 * M, fare_cents=2500)]
        db.session.add(service)
        db.session.commit()
        service_id, variant_id = service.id, timetable.id
    url = f"/admin/services/{service_id}/variants/{variant_id}/trips/new"
    reply = post(client, url, {"service_date": "2026-06-02", "origin": "0", "destination": "1",
                               "actual_departure": "2026-06-02T10:02",
                               "actual_arrival": "2026-06-02T09:25"})
    assert reply.status_code == 302, reply.get_data(as_text=True)
    with app.app_context():
        [run] = db.session.scalars(select(TripRecord))
        assert (run.scheduled_departure, run.scheduled_arrival, run.actual_departure, run.actual_arrival) == (
            dt.datetime(2026, 6, 2, 8), dt.datetime(2026, 6, 2, 8, 20),
            dt.datetime(2026, 6, 2, 8, 2), dt.datetime(2026, 6, 2, 8, 25))
