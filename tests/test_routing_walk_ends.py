"""A journey may start with a walk from its origin and end with a walk to its destination
(docs/routing.md, "A journey"): each a leg of mode "walk", free, no transfer; a destination
a walk from the origin is a journey of its own. Before, walks came only between two rides,
so a query between stations a short walk apart found nothing, or something much later."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.test_pages import page
from tests.test_routing_properties import _engine_outcomes, _project
from transit.models import Calendar, City, Service, ServiceForecast, Stop, Timetable, Transfer
from transit.routing import Query, Snapshot, plan
from transit.routing.reference import reference_answer
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    FeedTransfer,
)
from transit.timetable.gtfs import parse_gtfs
from transit.timetable.loader import load_feed
from transit.web.extensions import db

H = 3600
DAY = dt.date(2025, 3, 3)  # a Monday
SEATTLE = "gtfs/seattle_area_gtfs_2017-11-16.zip"


def _service(number: str, calendar: Calendar, *calls: tuple[City, int]) -> Service:
    """A daily train calling at ``calls`` (city, local seconds), 100.00 a leg."""
    service = Service(number=number, mode="train", operator="CR", currency="CNY")
    timetable = Timetable(code="1", calendar=calendar, service=service)
    timetable.stops = [
        Stop(sequence=k, city=city, arrival=None if k == 0 else t,
             departure=None if k == len(calls) - 1 else t, fare_cents=0 if k == 0 else 10000)
        for k, (city, t) in enumerate(calls)
    ]
    return service


def _network(session: Session) -> None:
    """V - 5 min on foot - A → B (10-minute connections) → C - 4 min on foot - Z.
    S1 A 08:00 → B 10:00, S2 B 10:10 → C 12:00; V and Z have no service of their own.
    The A → B run has a forecast: median on time, 10-90 % from 1 min early to 15 late."""
    v, a, b = City(name="V"), City(name="A"), City(name="B", min_connection_seconds=600)
    c, z = City(name="C"), City(name="Z")
    daily = Calendar(name="daily")
    first = _service("S1", daily, (a, 8 * H), (b, 10 * H))
    onward = _service("S2", daily, (b, 10 * H + 600), (c, 12 * H))
    session.add_all([
        first, onward, v, z,
        Transfer(from_city=v, to_city=a, min_seconds=300),
        Transfer(from_city=a, to_city=v, min_seconds=300),
        Transfer(from_city=c, to_city=z, min_seconds=240),
    ])
    session.flush()
    departure = dt.datetime.combine(DAY, dt.time(0))  # 08:00 in Shanghai, naive UTC
    session.add(ServiceForecast(
        service=first, service_date=DAY, origin=a, destination=b,
        scheduled_departure=departure, scheduled_arrival=departure + dt.timedelta(hours=2),
        travel_p10=119, travel_p50=120, travel_p90=135,
        delay_p10=-1, delay_p50=0, delay_p90=15, model="test",
    ))
    session.commit()


@pytest.fixture
def snapshot(session: Session) -> Snapshot:
    _network(session)
    return Snapshot.from_session(session)


@pytest.fixture
def network(app) -> None:
    with app.app_context():
        _network(db.session())


def _legs(journey) -> list[tuple[str, str, str, str, str]]:
    return [
        (leg.mode, leg.origin, f"{leg.departure:%H:%M}", leg.destination, f"{leg.arrival:%H:%M}")
        for leg in journey.legs
    ]


def _agrees(snapshot: Snapshot, query: Query) -> None:
    """Engine and reference give the same values for every criterion (as the property
    tests compare them), and every itinerary is a real journey."""
    arrive_by = query.arrive_by is not None
    for criterion in ("fastest", "cheapest", "transfers", "options"):
        asked = replace(query, criterion=criterion)
        mine = _project(_engine_outcomes(snapshot, asked), criterion, arrive_by)
        assert mine == _project(reference_answer(snapshot, asked), criterion, arrive_by), criterion


def test_a_journey_starts_with_a_walk_from_the_origin(snapshot: Snapshot) -> None:
    query = Query("V", "C", depart=dt.datetime(2025, 3, 3, 7))
    (journey,) = plan(snapshot, query).itineraries
    assert _legs(journey) == [
        ("walk", "V", "07:55", "A", "08:00"),  # leaves the walk's time before the ride
        ("train", "A", "08:00", "B", "10:00"),
        ("train", "B", "10:10", "C", "12:00"),
    ]
    walk = journey.legs[0]
    assert (walk.service, walk.fare_cents, walk.duration_minutes) == ("", 0, 5)
    assert journey.transfers == 1 and journey.fare_cents == 20000
    assert f"{journey.departure:%H:%M}" == "07:55" and journey.duration_minutes == 4 * 60 + 5
    # One wait, at the one transfer: none beside the walk.
    assert [(w.city, w.minutes, w.walk_to) for w in journey.waits] == [("B", 10, None)]
    _agrees(snapshot, query)


def test_a_journey_ends_with_a_walk_to_the_destination(snapshot: Snapshot) -> None:
    query = Query("A", "Z", depart=dt.datetime(2025, 3, 3, 7))
    (journey,) = plan(snapshot, query).itineraries
    assert _legs(journey)[-1] == ("walk", "C", "12:00", "Z", "12:04")
    assert f"{journey.arrival:%H:%M}" == "12:04" and journey.transfers == 1
    _agrees(snapshot, query)
    # Both ends, and arriving by a deadline.
    query = Query("V", "Z", arrive_by=dt.datetime(2025, 3, 3, 13))
    (journey,) = plan(snapshot, query).itineraries
    assert [leg.mode for leg in journey.legs] == ["walk", "train", "train", "walk"]
    assert (f"{journey.departure:%H:%M}", f"{journey.arrival:%H:%M}") == ("07:55", "12:04")
    assert journey.fare_cents == 20000 and journey.transfers == 1
    _agrees(snapshot, query)


def test_a_destination_a_walk_away_is_a_journey_of_its_own(snapshot: Snapshot) -> None:
    query = Query("A", "V", depart=dt.datetime(2025, 3, 3, 9, 30))
    (journey,) = plan(snapshot, query).itineraries
    assert _legs(journey) == [("walk", "A", "09:30", "V", "09:35")]
    assert (journey.transfers, journey.fare_cents, journey.waits) == (0, 0, ())
    _agrees(snapshot, query)
    # Arriving by a deadline, it leaves the walk's time before it.
    query = Query("A", "V", arrive_by=dt.datetime(2025, 3, 3, 9, 30))
    (journey,) = plan(snapshot, query).itineraries
    assert _legs(journey) == [("walk", "A", "09:25", "V", "09:30")]
    _agrees(snapshot, query)
    # It counts 0 transfers, as a direct ride: "direct services only" keeps it.
    limited = Query("A", "V", depart=dt.datetime(2025, 3, 3, 9, 30), max_transfers=0,
                    criterion="options")
    assert [it.transfers for it in plan(snapshot, limited).itineraries] == [0]
    # Walks do not use a mode: a mode filter leaves them.
    moded = Query("V", "A", depart=dt.datetime(2025, 3, 3, 9), modes=frozenset({"flight"}))
    assert _legs(plan(snapshot, moded).itineraries[0]) == [("walk", "V", "09:00", "A", "09:05")]


def test_the_walk_competes_with_the_rides(snapshot: Snapshot) -> None:
    # V to A: a walk of 5 minutes, whatever the time; no ride is quicker or cheaper.
    for criterion in ("fastest", "cheapest", "transfers", "options"):
        query = Query("V", "A", depart=dt.datetime(2025, 3, 3, 7, 58), criterion=criterion)
        assert [_legs(it) for it in plan(snapshot, query).itineraries] == [
            [("walk", "V", "07:58", "A", "08:03")]
        ]
        _agrees(snapshot, query)
    # Beyond the window there is none.
    short = Query("V", "A", depart=dt.datetime(2025, 3, 3, 7), window_hours=0.05)
    result = plan(snapshot, short)
    assert result.itineraries == [] and result.message


def test_route_page_api_and_command_line_show_the_walks(app, client, runner, network) -> None:
    html = page(client, f"/routes?from=V&to=Z&date={DAY}&time=07:00")
    assert 'class="mode mode-walk"' in html
    assert html.count('class="leg-fare">Free<') == 2  # the walks; the rides have fares
    assert html.count('class="mode mode-walk"') == 2
    # The one transfer is at B, with the forecast's chance of missing it (the incoming leg
    # is the ride from A, not the walk before it); no "change" beside a walk.
    assert "Change at B" in html and "Change at A" not in html and "Change at C" not in html
    assert 'data-probability="0.5000"' in html
    api = client.get(f"/api/v1/routes?from=V&to=Z&depart={DAY}T07:00").get_json()
    (journey,) = api["itineraries"]
    assert [(leg["mode"], leg["service"], leg["from"], leg["to"], leg["fare"])
            for leg in journey["legs"]] == [
        ("walk", "", "V", "A", 0.0), ("train", "S1", "A", "B", 100.0),
        ("train", "S2", "B", "C", 100.0), ("walk", "", "C", "Z", 0.0),
    ]
    assert (journey["transfers"], journey["fare"]) == (1, 200.0)
    assert journey["departure"].startswith(f"{DAY}T07:55") and journey["arrival"].startswith(
        f"{DAY}T12:04")
    assert [c["at"] for c in journey["connections"]] == ["B"]
    assert journey["connections"][0]["miss_probability"] == 0.5
    cli = runner.invoke(args=["route", "V", "Z", "--depart", f"{DAY}T07:00", "--json"])
    assert cli.exit_code == 0, cli.output
    def plain(legs: list[dict]) -> list[dict]:
        return [{k: v for k, v in leg.items() if not k.startswith("forecast")} for leg in legs]

    assert plain(json.loads(cli.output)["itineraries"][0]["legs"]) == plain(journey["legs"])
    text = runner.invoke(args=["route", "V", "Z", "--depart", f"{DAY}T07:00"])
    assert text.exit_code == 0, text.output
    assert "walk" in text.output and "wait 10 min at B" in text.output
    # The walk alone: a page, the API.
    html = page(client, f"/routes?from=A&to=V&date={DAY}&time=09:30")
    assert 'class="mode mode-walk"' in html and "No fare information" not in html
    # A walk is free, and so is a journey that is one walk (not "¥0.00").
    assert 'class="total-fare">Free<' in html and 'class="leg-fare">Free<' in html
    assert "0.00" not in html
    api = client.get(f"/api/v1/routes?from=A&to=V&depart={DAY}T09:30").get_json()
    assert [(leg["mode"], leg["from"], leg["to"]) for leg in api["itineraries"][0]["legs"]] == [
        ("walk", "A", "V")
    ]
    # The command line says a walk is free, not "fare 0.00" without a currency.
    text = runner.invoke(args=["route", "A", "V", "--depart", f"{DAY}T09:30"])
    assert text.exit_code == 0, text.output
    assert "free: on foot" in text.output and "(5 min, free)" in text.output
    assert "0.00" not in text.output


@pytest.mark.slow
def test_seattle_stations_a_walk_apart(session: Session, shared_data: Path) -> None:
    """Bellevue Transit Center: each bay is a station of its own, 1-3 minutes' walk from
    the next. Before, a journey from or to a bay the bus does not serve had to ride to it."""
    load_feed(session, parse_gtfs(shared_data / SEATTLE))
    session.commit()
    snapshot = Snapshot.from_session(session)
    bay = "Bellevue Transit Center - Bay %s"
    at_eight = dt.datetime(2017, 11, 22, 8, 0)
    # Bus 555 to Bay 5 at 08:10, then 3 minutes on foot: at Bay 12 at 08:13 (before: two
    # buses, via Bellevue Way, at 08:23).
    query = Query("Sr 520 & Evergreen Point Rd", bay % 12, depart=at_eight, window_hours=4)
    (journey,) = plan(snapshot, query).itineraries
    assert _legs(journey) == [
        ("bus", "Sr 520 & Evergreen Point Rd", "08:00", bay % 5, "08:10"),
        ("walk", bay % 5, "08:10", bay % 12, "08:13"),
    ]
    assert journey.transfers == 0
    _agrees(snapshot, query)
    # The other way: 3 minutes from Bay 12 to Bay 8 for the 08:21 bus, at Evergreen Point
    # at 08:35 (before: three buses and two transfers, at 09:01).
    query = Query(bay % 12, "Sr 520 & Evergreen Point Rd", depart=at_eight, window_hours=4)
    (journey,) = plan(snapshot, query).itineraries
    assert _legs(journey) == [
        ("walk", bay % 12, "08:18", bay % 8, "08:21"),
        ("bus", bay % 8, "08:21", "Sr 520 & Evergreen Point Rd", "08:35"),
    ]
    _agrees(snapshot, query)
    # Bay 12 to Bay 9: 3 minutes on foot (before: two buses, at 08:26).
    query = Query(bay % 12, bay % 9, depart=at_eight, window_hours=4)
    (journey,) = plan(snapshot, query).itineraries
    assert _legs(journey) == [("walk", bay % 12, "08:00", bay % 9, "08:03")]
    _agrees(snapshot, query)



def test_fares_say_their_currency_and_a_mixed_journey_none() -> None:
    """A ride's fare carries its service's currency, a walk none; the journey's fare its
    rides' one currency, and none where they differ (the sum then mixes currencies)."""
    feed = Feed(source="test")
    for key in "VABC":
        feed.cities[key] = FeedCity(name=key, timezone="UTC")
    feed.calendars["daily"] = FeedCalendar()
    h = 3600
    for number, currency, a, b, t in (("S1", "EUR", "A", "B", 8), ("S2", "CHF", "B", "C", 10)):
        feed.services.append(FeedService(
            number=number, mode="train", currency=currency,
            timetables=[FeedTimetable(code="0", calendar="daily", stops=[
                FeedStop(a, None, t * h), FeedStop(b, (t + 1) * h, None, 100)])],
        ))
    feed.transfers.append(FeedTransfer("V", "A", 120))
    snap = Snapshot.from_feed(feed, 0)
    day = dt.datetime(2025, 3, 5, 7)
    one = plan(snap, Query("V", "B", depart=day, criterion="fastest")).to_json()
    (journey,) = one["itineraries"]
    assert [(leg["mode"], leg["currency"]) for leg in journey["legs"]] == [
        ("walk", None), ("train", "EUR")]
    assert journey["currency"] == "EUR"
    both = plan(snap, Query("A", "C", depart=day, criterion="fastest")).to_json()
    (journey,) = both["itineraries"]
    assert [leg["currency"] for leg in journey["legs"]] == ["EUR", "CHF"]
    assert journey["currency"] is None and journey["fare"] == 2.0
