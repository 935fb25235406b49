"""Walks the GTFS import derives between nearby stations (docs/formats.md, "GTFS"): a feed
without ``transfers.txt`` (Seattle) makes every stop name its own station, and a traveller
who alights at one bay of a transit centre can walk to the next one."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from transit.models import City, Transfer
from transit.routing.planner import plan
from transit.routing.query import Query
from transit.routing.reference import Outcome, reference_answer
from transit.routing.snapshot import Snapshot
from transit.timetable.gtfs import distance_m, nearby_stations, parse_gtfs, walk_seconds
from transit.timetable.loader import load_feed

SEATTLE = "gtfs/seattle_area_gtfs_2017-11-16.zip"

# Three stops on one meridian: North is 90 m from Centre, Far 2 km from both.
FEED = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Town Bus,http://a,Europe/Zurich\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon\n"
        "C,Centre,47.000000,8.000000\n"
        "N,North,47.000810,8.000000\n"  # 0.00081 degrees: 90.07 m
        "F,Far,47.018000,8.000000\n"  # 2,001 m
    ),
    "routes.txt": "route_id,agency_id,route_short_name,route_type\nR1,A,1,3\nR2,A,2,3\n",
    "trips.txt": "route_id,service_id,trip_id,trip_short_name\nR1,D,T1,1\nR2,D,T2,2\n",
    # Line 1 from Far to Centre, line 2 from North back to Far four minutes later.
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,F,1\n"
        "T1,08:10:00,08:10:00,C,2\n"
        "T2,08:14:00,08:14:00,N,1\n"
        "T2,08:24:00,08:24:00,F,2\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "D,1,1,1,1,1,1,1,20240101,20241231\n"
    ),
}


def write_feed(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def walks_of(folder: Path) -> dict[tuple[str, str], int]:
    feed = parse_gtfs(folder)
    return {
        (feed.cities[t.from_city].name, feed.cities[t.to_city].name): t.min_seconds
        for t in feed.transfers
    }


def test_the_walking_time_rule() -> None:
    # Straight line x 1.3 at 1 m/s, rounded up to whole minutes, at least one.
    assert [walk_seconds(m) for m in (0, 10, 46, 46.2, 90, 138, 250)] == [60, 60, 60, 120, 120, 180, 360]
    assert round(distance_m((47.0, 8.0), (47.00081, 8.0)), 2) == 90.07


def test_a_walk_is_derived_between_close_stations_only(tmp_path: Path, session: Session) -> None:
    folder = write_feed(tmp_path / "town", FEED)
    assert walks_of(folder) == {("Centre", "North"): 120, ("North", "Centre"): 120}
    # Written to the database as they are.
    load_feed(session, parse_gtfs(folder))
    session.commit()
    start, end = aliased(City), aliased(City)
    rows = session.execute(
        select(start.name, end.name, Transfer.min_seconds)
        .join(start, start.id == Transfer.from_city_id)
        .join(end, end.id == Transfer.to_city_id)
    ).all()
    assert sorted(rows) == [("Centre", "North", 120), ("North", "Centre", 120)]


def test_a_journey_walks_between_two_rides(tmp_path: Path, session: Session) -> None:
    feed = dict(FEED)
    # A third line from Far's neighbourhood: line 1 to Centre, walk to North, line 2 on.
    feed["stops.txt"] += "G,Gate,47.030000,8.000000\n"
    feed["routes.txt"] += "R3,A,3,3\n"
    feed["trips.txt"] += "R3,D,T3,3\n"
    feed["stop_times.txt"] = feed["stop_times.txt"].replace(
        "T2,08:24:00,08:24:00,F,2\n", "T2,08:24:00,08:24:00,G,2\n"
    )
    feed["stop_times.txt"] += "T3,07:40:00,07:40:00,F,1\nT3,07:50:00,07:50:00,G,2\n"
    load_feed(session, parse_gtfs(write_feed(tmp_path / "town", feed)))
    session.commit()
    snapshot = Snapshot.from_session(session)
    query = Query("Far", "Gate", depart=dt.datetime(2024, 3, 5, 7, 55))
    (journey,) = plan(snapshot, query).itineraries
    assert [(leg.origin, leg.destination) for leg in journey.legs] == [("Far", "Centre"), ("North", "Gate")]
    assert journey.waits[0].walk_to == "North" and journey.arrival.time() == dt.time(8, 24)
    assert [(o.departure, o.arrival) for o in reference_answer(snapshot, query)] == [
        (journey.departure_seconds, journey.arrival_seconds)
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # Not possible from Centre to North: the other way is still derived.
        ("C,N,3,\n", {("North", "Centre"): 120}),
        ("C,N,3,\nN,C,3,\n", {}),
        # A time of the feed's own wins over the derived one, in its direction only.
        ("C,N,2,600\n", {("Centre", "North"): 600, ("North", "Centre"): 120}),
        # A recommended transfer point (type 0, 1) gives no time: the derived one stands.
        ("C,N,0,\n", {("Centre", "North"): 120, ("North", "Centre"): 120}),
        # Far away, the feed's walk is the only one.
        ("C,F,2,900\n", {("Centre", "Far"): 900, ("Centre", "North"): 120, ("North", "Centre"): 120}),
    ],
)
def test_transfers_txt_stays_the_authority(tmp_path: Path, rows: str, expected: dict[tuple[str, str], int]) -> None:
    files = dict(FEED, **{"transfers.txt": "from_stop_id,to_stop_id,transfer_type,min_transfer_time\n" + rows})
    assert walks_of(write_feed(tmp_path / "town", files)) == expected


def test_a_station_is_as_close_as_its_closest_stop(tmp_path: Path) -> None:
    # Two stops named Centre (one station): the second is 90 m from North, the first
    # 180 m; a parent station's platforms count as well as the station's own point.
    files = dict(FEED)
    files["stops.txt"] = (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        "C,Centre,46.999190,8.000000,0,\n"
        "C2,Centre,47.000000,8.000000,0,\n"
        "NS,North,47.005000,8.000000,1,\n"
        "N,North platform,47.000810,8.000000,0,NS\n"
        "F,Far,47.018000,8.000000,0,\n"
    )
    assert walks_of(write_feed(tmp_path / "town", files)) == {("Centre", "North"): 120, ("North", "Centre"): 120}


@pytest.mark.parametrize("latitude", [0.0, 47.6, 69.9, -78.0])
def test_the_grid_finds_every_close_pair(latitude: float) -> None:
    """The neighbour search against comparing every pair, with points closer than a cell
    at every latitude (the columns narrow towards the poles)."""
    rng = random.Random(latitude)
    spread = 0.02
    points = {
        f"s{i}": [(latitude + rng.uniform(-spread, spread),
                   8.0 + rng.uniform(-spread, spread) / math.cos(math.radians(latitude)))]
        for i in range(400)
    }
    expected = {}
    keys = sorted(points)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            metres = distance_m(points[a][0], points[b][0])
            if metres <= 250:
                expected[(a, b)] = metres
    assert len(expected) > 50
    found = nearby_stations(points, 250)
    assert found.keys() == expected.keys()
    assert all(found[pair] == pytest.approx(metres) for pair, metres in expected.items())


@pytest.mark.slow
def test_seattle_bays_of_one_transit_center_are_a_walk_apart(session: Session, shared_data: Path) -> None:
    """QA: at Bellevue Transit Center bus 550 leaves for Seattle from Bay 9, 110 m from
    Bay 12 where it leaves the other way, and buses 555/556 stop at Bays 5 and 8; the feed
    has no parent stations and no transfers.txt, so each bay is a station of its own."""
    load_feed(session, parse_gtfs(shared_data / SEATTLE))
    session.commit()
    start, end = aliased(City), aliased(City)
    walks = {
        (a, b): seconds
        for a, b, seconds in session.execute(
            select(start.name, end.name, Transfer.min_seconds)
            .join(start, start.id == Transfer.from_city_id)
            .join(end, end.id == Transfer.to_city_id)
        )
    }
    assert len(walks) == 490
    bay = "Bellevue Transit Center - Bay %s"
    assert walks[(bay % 12, bay % 9)] == walks[(bay % 9, bay % 12)] == 180
    assert walks[(bay % 5, bay % 12)] == 180 and walks[(bay % 8, bay % 9)] == 60

    snapshot = Snapshot.from_session(session)
    # Bus 555 to Bay 5 at 08:10, 3 minutes on foot, bus 550 from Bay 12 at 08:13: at
    # 08:16 instead of 08:36 (two changes of 15 minutes at one stop, before).
    query = Query("Sr 520 & Evergreen Point Rd", "110th Ave NE & NE 10th St",
                  depart=dt.datetime(2017, 11, 22, 8, 0), window_hours=4)
    journey = plan(snapshot, query).itineraries[0]
    assert [(leg.origin, leg.departure.time(), leg.destination, leg.arrival.time()) for leg in journey.legs] == [
        ("Sr 520 & Evergreen Point Rd", dt.time(8, 0), bay % 5, dt.time(8, 10)),
        (bay % 12, dt.time(8, 13), "110th Ave NE & NE 10th St", dt.time(8, 16)),
    ]
    assert journey.waits[0].walk_to == bay % 12

    # The engine and the networkx reference agree on the feed with its walks, for every
    # criterion, on the QA's journey and this one.
    qa = Query("Bellevue Transit Center - Bay 12", "Capitol Hill Link Station",
               depart=dt.datetime(2017, 11, 22, 8, 0), window_hours=4)
    for asked in (query, qa):
        for criterion in ("fastest", "cheapest", "transfers", "options"):
            q = Query(**{**asked.__dict__, "criterion": criterion})
            ours = [Outcome(it.departure_seconds, it.arrival_seconds, it.fare_cents, it.transfers)
                    for it in plan(snapshot, q).itineraries]
            assert ours, (asked.origin, criterion)
            assert project(ours, criterion) == project(reference_answer(snapshot, q), criterion)


def project(outcomes: list[Outcome], criterion: str) -> object:
    """What each criterion decides on (the reference leaves the rest unset)."""
    if criterion == "fastest":
        return [(o.departure, o.arrival, o.transfers, o.fare) for o in outcomes]
    if criterion == "cheapest":
        return [(o.fare, o.arrival) for o in outcomes]
    if criterion == "transfers":
        return [(o.transfers, o.arrival) for o in outcomes]
    return sorted((o.arrival, o.fare, o.transfers) for o in outcomes)
