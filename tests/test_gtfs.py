"""GTFS import: the three shared real feeds, and small hand-made feeds for each rule."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transit.models import (
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    Transfer,
)
from transit.timetable.feed import ImportFailed
from transit.timetable.formats import parse_timetable
from transit.timetable.gtfs import mode_for_route_type, parse_gtfs
from transit.timetable.loader import load_feed

CALTRAIN = "gtfs/caltrain_gtfs_2017-07-24.zip"
NYC = "gtfs/nyc_subway_gtfs_2024-12.zip"
SEATTLE = "gtfs/seattle_area_gtfs_2017-11-16.zip"


def hms(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def raw_rows(zip_path: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(zip_path) as archive:
        text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def timetable_rows(session: Session, code: str) -> list[tuple[str, int | None, int | None]]:
    timetable = session.scalars(select(Timetable).where(Timetable.code == code)).one()
    return [(s.city.name, s.arrival, s.departure) for s in timetable.stops]


@pytest.mark.slow
def test_caltrain(session: Session, shared_data: Path) -> None:
    feed = parse_gtfs(shared_data / CALTRAIN)
    assert feed.counts() == {
        "cities": 33,
        "services": {"bus": 22, "train": 120},  # the Tamien-San Jose shuttle is a bus route
        "timetables": 188,
        "stops": 2697,
    }
    assert len({s.number for s in feed.services}) == 142
    report = load_feed(session, feed)
    session.commit()
    assert report.counts["timetables"] == 188
    assert count(session, Timetable) == 188 and count(session, Stop) == 2697
    assert count(session, CalendarDate) == 642

    local = session.scalars(select(Service).where(Service.number == "441")).one()
    assert (local.operator, local.route, local.mode, local.currency) == ("Caltrain", "Local", "train", "USD")
    assert [t.code for t in local.timetables] == [
        "6512143-CT-17JUL-Caltrain-Sunday-01",
        "6512143-CT-17JUL-Caltrain-Saturday-03",
    ]
    sunday = local.timetables[0]
    assert sunday.headsign == "San Francisco Caltrain Station"
    rows = timetable_rows(session, "6512143-CT-17JUL-Caltrain-Sunday-01")
    assert len(rows) == 24
    assert rows[0] == ("San Jose Diridon Caltrain", None, hms("22:08:00"))
    assert rows[1] == ("Santa Clara Caltrain", hms("22:13:00"), hms("22:13:00"))
    assert rows[-1] == ("San Francisco Caltrain", hms("23:52:00"), None)
    calendar = sunday.calendar
    assert (calendar.name, calendar.weekdays, calendar.start_date, calendar.end_date) == (
        "CT-17JUL-Caltrain-Sunday-01", 0b1000000, dt.date(2017, 7, 16), dt.date(2019, 7, 14)
    )
    # Zone 4 (San Jose) to zone 1 (San Francisco) on the local: fare OW_4, $9.75.
    fare = session.scalars(
        select(ServiceFare)
        .join(City, City.id == ServiceFare.origin_id)
        .where(ServiceFare.service_id == local.id, City.name == "San Jose Diridon Caltrain")
        .where(ServiceFare.destination.has(City.name == "San Francisco Caltrain"))
    ).one()
    assert fare.fare_cents == 975
    assert session.scalar(select(func.max(Stop.arrival))) == hms("25:43:00")
    # Two names for San Jose: by the rule (identical names) they stay two stations.
    names = set(session.scalars(select(City.name)))
    assert {"San Jose Diridon Caltrain", "San Jose Caltrain Station"} <= names


@pytest.mark.slow
def test_caltrain_calendar_dates_exact(shared_data: Path) -> None:
    feed = parse_gtfs(shared_data / CALTRAIN)
    expected: dict[str, tuple[set[dt.date], set[dt.date]]] = {}
    for row in raw_rows(shared_data / CALTRAIN, "calendar_dates.txt"):
        day = dt.datetime.strptime(row["date"], "%Y%m%d").date()
        added, removed = expected.setdefault(row["service_id"], (set(), set()))
        (added if row["exception_type"] == "1" else removed).add(day)
    for service_id, (added, removed) in expected.items():
        assert feed.calendars[service_id].added == added
        assert feed.calendars[service_id].removed == removed


@pytest.mark.slow
def test_nyc_subway(session: Session, shared_data: Path) -> None:
    feed = parse_gtfs(shared_data / NYC)
    assert feed.counts() == {"cities": 91, "services": {"subway": 1990}, "timetables": 1990, "stops": 86150}
    load_feed(session, feed)
    session.commit()
    cities = {c.name: c for c in session.scalars(select(City))}
    # Two different stations called 125 St keep their identity.
    assert {"125 St (116)", "125 St (225)"} <= set(cities) and "125 St" not in cities
    assert cities["96 St"].min_connection_seconds == 180
    assert cities["34 St-Penn Station"].min_connection_seconds == 300
    assert cities["Times Sq-42 St"].min_connection_seconds == 0
    assert cities["Van Cortlandt Park-242 St"].timezone == "America/New_York"
    # Every transfers.txt row of NYC is within one station; the one walk between stations is
    # derived from their coordinates (docs/formats.md): 219 m, 5 minutes, both ways.
    name_of = {c.id: name for name, c in cities.items()}
    walks = {
        (name_of[a], name_of[b], seconds)
        for a, b, seconds in session.execute(
            select(Transfer.from_city_id, Transfer.to_city_id, Transfer.min_seconds)
        )
    }
    assert walks == {
        ("President St-Medgar Evers College", "Nostrand Av", 300),
        ("Nostrand Av", "President St-Medgar Evers College", 300),
    }
    service = session.scalars(select(Service).where(Service.number == "AFA24GEN-1038-Sunday-00_000600_1..S03R")).one()
    assert (service.operator, service.route, service.mode) == ("MTA New York City Transit", "1", "subway")

    # Every stop time, against the raw file read independently.
    stops = {r["stop_id"]: r for r in raw_rows(shared_data / NYC, "stops.txt")}
    station = {sid: r["parent_station"] or sid for sid, r in stops.items()}
    names = [r["stop_name"] for r in stops.values() if r["location_type"] == "1"]
    station_name = {
        sid: stops[station[sid]]["stop_name"]
        + (f" ({station[sid]})" if names.count(stops[station[sid]]["stop_name"]) > 1 else "")
        for sid in stops
    }
    expected: dict[str, list[tuple[int, str, int, int]]] = {}
    for row in raw_rows(shared_data / NYC, "stop_times.txt"):
        expected.setdefault(row["trip_id"], []).append(
            (int(row["stop_sequence"]), row["stop_id"], hms(row["arrival_time"]), hms(row["departure_time"]))
        )
    got: dict[str, list[tuple[str, int | None, int | None]]] = {}
    for code, name, arrival, departure in session.execute(
        select(Timetable.code, City.name, Stop.arrival, Stop.departure)
        .join(Stop, Stop.timetable_id == Timetable.id)
        .join(City, City.id == Stop.city_id)
        .order_by(Timetable.id, Stop.sequence)
    ):
        got.setdefault(code, []).append((name, arrival, departure))
    past_midnight = 0
    for trip_id, calls in expected.items():
        calls.sort()
        want = [(station_name[sid], a, d) for _, sid, a, d in calls]
        want[0] = (want[0][0], None, want[0][2])
        want[-1] = (want[-1][0], want[-1][1], None)
        assert got[trip_id] == want, trip_id
        past_midnight += sum(1 for _, _, a, _ in calls if a >= 86400)
    assert past_midnight == 3445


@pytest.mark.slow
def test_seattle_agencies_and_modes(session: Session, shared_data: Path) -> None:
    feed = parse_gtfs(shared_data / SEATTLE)
    assert feed.counts() == {
        "cities": 208,
        "services": {"bus": 9, "ferry": 2, "tram": 3},
        "timetables": 3888,
        "stops": 57205,
    }
    load_feed(session, feed)
    session.commit()
    by_operator = {
        (operator, mode): n
        for operator, mode, n in session.execute(
            select(Service.operator, Service.mode, func.count()).group_by(Service.operator, Service.mode)
        )
    }
    assert by_operator == {
        ("City of Seattle", "tram"): 2,
        ("Kingcounty Marine Divison", "ferry"): 2,
        ("Sound Transit", "bus"): 9,
        ("Sound Transit", "tram"): 1,
    }
    link = session.scalars(select(Service).where(Service.route == "Link")).all()
    assert {s.number for s in link} <= {"EXPRESS", "LOCAL"}
    rows = timetable_rows(session, "34762006")
    assert any(departure == hms("24:04:00") for _, _, departure in rows)
    assert count(session, Calendar) == 10
    assert count(session, Stop) == 57205


@pytest.mark.slow
def test_reimport_of_a_real_feed_is_skipped(session: Session, shared_data: Path) -> None:
    load_feed(session, parse_gtfs(shared_data / CALTRAIN))
    session.commit()
    report = load_feed(session, parse_gtfs(shared_data / CALTRAIN))
    assert report.counts["timetables"] == 0 and report.counts["fares"] == 0
    assert len(report.skipped) == 188 + count(session, ServiceFare) + count(session, Transfer)


# --- hand-made feeds, one rule each ----------------------------------------------------

BASE = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Alpine Rail,http://a,Europe/Zurich\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,stop_timezone,zone_id\n"
        "ZH,Zurich HB,47.378,8.540,1,,,\n"
        "ZH1,Zurich HB,47.378,8.540,0,ZH,,Z1\n"
        "ZH2,Zurich HB,47.378,8.540,0,ZH,,Z1\n"
        "BS1,Basel SBB,47.547,7.589,0,,,Z2\n"
        "BS2,Basel SBB,47.547,7.589,0,,,Z2\n"
        "LO,London St Pancras,51.53,-0.12,0,,Europe/London,Z3\n"
    ),
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\nR1,A,IC,InterCity,2\nR2,A,,Channel Express,102\n",
    "trips.txt": (
        "route_id,service_id,trip_id,trip_short_name,trip_headsign\n"
        "R1,WK,T1,IC 5,Basel\n"
        "R1,HOL,T2,IC 5,Basel\n"
        "R2,WK,T3,,London\n"
    ),
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type\n"
        "T1,08:00:00,08:02:00,ZH1,1,0,1\n"
        "T1,08:05:00,08:06:00,ZH2,2,0,1\n"
        "T1,09:00:00,09:01:00,BS1,3,1,0\n"
        "T2,23:30:00,23:30:00,ZH2,1,,\n"
        "T2,24:10:05,24:10:05,BS2,2,,\n"
        "T3,10:00:00,10:00:00,BS1,10,,\n"
        "T3,,,ZH1,20,,\n"
        "T3, 14:00:00,14:00:00,LO,30,,\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20240701,20241231\n"
    ),
    "calendar_dates.txt": "service_id,date,exception_type\nWK,20240801,2\nHOL,20240801,1\n",
    "fare_attributes.txt": "fare_id,price,currency_type,payment_method,transfers\nF1,12.50,CHF,0,\nF2,99,CHF,0,\n",
    "fare_rules.txt": "fare_id,route_id,origin_id,destination_id\nF1,R1,Z1,Z2\nF2,,Z2,Z3\n",
    "transfers.txt": "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nZH1,ZH2,2,240\nBS1,ZH1,2,600\nBS1,BS2,1,\n",
}


def write_feed(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_hand_made_feed(tmp_path: Path) -> None:
    feed = parse_gtfs(write_feed(tmp_path / "alpine", BASE))
    cities = {key: city for key, city in feed.cities.items()}
    assert {c.name for c in cities.values()} == {"Zurich HB", "Basel SBB", "London St Pancras"}
    zurich = cities["ZH"]  # grouped by parent station
    assert (zurich.timezone, zurich.min_connection_seconds, zurich.latitude) == ("Europe/Zurich", 240, 47.378)
    assert cities["name:London St Pancras"].timezone == "Europe/London"
    ic5, channel = feed.services
    assert (ic5.number, ic5.route, ic5.mode, ic5.name, ic5.currency) == ("IC 5", "IC", "train", "InterCity", "CHF")
    assert [t.code for t in ic5.timetables] == ["T1", "T2"]
    t1 = ic5.timetables[0]
    # The two Zurich platforms in a row are one call; boarding/alighting from the flags.
    assert [(s.city, s.arrival, s.departure, s.boarding, s.alighting) for s in t1.stops] == [
        ("ZH", None, 8 * 3600 + 360, True, False),
        ("name:Basel SBB", 9 * 3600, None, False, True),
    ]
    assert ic5.timetables[1].stops[1].arrival == 24 * 3600 + 10 * 60 + 5
    assert (channel.number, channel.route, channel.mode) == ("T3", "Channel Express", "train")
    t3 = channel.timetables[0]
    # Zurich (no time) interpolated halfway; London converted to its own zone (UTC+1 vs +2).
    assert [(s.city, s.arrival, s.departure) for s in t3.stops] == [
        ("name:Basel SBB", None, 10 * 3600),
        ("ZH", 12 * 3600, 12 * 3600),
        ("name:London St Pancras", 13 * 3600, None),
    ]
    assert feed.calendars["WK"].weekdays == 0b0011111
    assert feed.calendars["WK"].removed == {dt.date(2024, 8, 1)}
    holiday = feed.calendars["HOL"]
    assert (holiday.weekdays, holiday.start_date, holiday.added) == (0, None, {dt.date(2024, 8, 1)})
    assert holiday.runs_on(dt.date(2024, 8, 1)) and not holiday.runs_on(dt.date(2024, 8, 2))
    assert ic5.fares == {("ZH", "name:Basel SBB"): 1250}
    assert channel.fares == {("name:Basel SBB", "name:London St Pancras"): 9900}
    assert [(t.from_city, t.to_city, t.min_seconds) for t in feed.transfers] == [
        ("name:Basel SBB", "ZH", 600)
    ]


def test_zip_with_a_folder_inside(tmp_path: Path) -> None:
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name, text in BASE.items():
            out.writestr(f"alpine/{name}", text)
    assert parse_gtfs(archive).counts()["timetables"] == 3


@pytest.mark.parametrize(
    ("route_type", "mode"),
    [(0, "tram"), (1, "subway"), (2, "train"), (3, "bus"), (4, "ferry"), (6, "cable"),
     (11, "bus"), (12, "train"), (101, "train"), (200, "coach"), (401, "subway"),
     (700, "bus"), (900, "tram"), (1000, "ferry"), (1100, "flight"), (1300, "cable")],
)
def test_route_types(route_type: int, mode: str) -> None:
    assert mode_for_route_type(route_type) == mode


def test_unknown_route_type_is_a_problem(tmp_path: Path) -> None:
    files = dict(BASE, **{"routes.txt": BASE["routes.txt"].replace(",102\n", ",42\n")})
    with pytest.raises(ImportFailed) as failure:
        parse_gtfs(write_feed(tmp_path / "f", files))
    assert [str(p) for p in failure.value.problems] == [
        "routes.txt, line 3, field route_type: unknown route type 42"
    ]


def test_every_problem_is_listed(tmp_path: Path) -> None:
    files = dict(BASE)
    files["stop_times.txt"] = (
        BASE["stop_times.txt"]
        .replace("T1,09:00:00,09:01:00,BS1", "T1,9h00,09:01:00,BS1")
        .replace("T2,24:10:05,24:10:05,BS2", "T2,24:10:05,24:10:05,XX")
        + "T9,10:00:00,10:00:00,BS1,1,,\n"
    )
    files["calendar.txt"] = BASE["calendar.txt"].replace("20241231", "2024-12-31")
    del files["agency.txt"]
    files["routes.txt"] = "route_id,route_short_name\nR1,IC\n"
    with pytest.raises(ImportFailed) as failure:
        parse_gtfs(write_feed(tmp_path / "f", files))
    found = {(p.file, p.line, p.field) for p in failure.value.problems}
    assert {
        ("agency.txt", None, None),
        ("routes.txt", 1, "route_type"),
        ("stop_times.txt", 4, "arrival_time"),
        ("stop_times.txt", 6, "stop_id"),
        ("stop_times.txt", 10, "trip_id"),
        ("calendar.txt", 2, "end_date"),
    } <= found


def test_undecodable_bytes_name_the_line(tmp_path: Path) -> None:
    folder = write_feed(tmp_path / "f", BASE)
    data = (folder / "stops.txt").read_bytes().replace(b"Basel SBB,47.547,7.589,0,,,Z2\nBS2", b"Basel \xff,47.547,7.589,0,,,Z2\nBS2")
    (folder / "stops.txt").write_bytes(data)
    with pytest.raises(ImportFailed) as failure:
        parse_gtfs(folder)
    first = failure.value.problems[0]
    assert (first.file, first.line) == ("stops.txt", 5)
    assert "not UTF-8" in first.message


def test_an_unclosed_quote_is_one_problem_where_it_opens(tmp_path: Path) -> None:
    files = dict(BASE)
    files["trips.txt"] = BASE["trips.txt"].replace("R1,HOL,T2,IC 5,Basel", 'R1,HOL,T2,"IC 5,Basel')
    assert problems_of(write_feed(tmp_path / "f", files)) == [
        "trips.txt, line 3, field trip_short_name: a quote opened here is never closed, so the "
        "rest of the file was read as one value; the rows after it are not checked",
    ]


def test_missing_path_and_bad_zip(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="no such file"):
        parse_gtfs(tmp_path / "nothing.zip")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ImportFailed, match="not a zip file"):
        parse_gtfs(bad)


def test_a_zip_cut_short_is_said_to_be_damaged(tmp_path: Path, shared_data: Path) -> None:
    # It read "none of the timetable formats Transit reads", which sends one looking for
    # the wrong mistake.
    cut = tmp_path / "caltrain.zip"
    cut.write_bytes((shared_data / CALTRAIN).read_bytes()[:40_000])
    for fmt in (None, "gtfs"):
        with pytest.raises(ImportFailed) as failure:
            parse_timetable(cut, fmt)
        assert [str(p) for p in failure.value.problems] == [
            "caltrain.zip: this zip file is damaged or cut short (its list of contents cannot "
            "be read): send the whole file again"]


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ImportFailed) as failure:
        parse_gtfs(folder)
    return [str(p) for p in failure.value.problems]


def test_problems_in_several_files_and_rows_are_all_found_in_one_pass(tmp_path: Path) -> None:
    """QA's bad_gtfs.zip: a bad latitude and an unknown stop used to hide the time going back
    (line 3) and the arrival "xx" (line 4, the row of the unknown stop)."""
    files = dict(BASE)
    files["stops.txt"] = "stop_id,stop_name,stop_lat,stop_lon\nA,Alpha,300,110.1\nB,Beta,30.5,110.5\n"
    files["routes.txt"] = "route_id,agency_id,route_short_name,route_type\nR1,A,Q1,2\n"
    files["trips.txt"] = "route_id,service_id,trip_id\nR1,WK,T1\n"
    files["stop_times.txt"] = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,07:00:00,07:00:00,A,1\n"
        "T1,06:00:00,06:05:00,B,2\n"
        "T1,xx,10:00:00,Z,3\n"
    )
    for name in ("fare_attributes.txt", "fare_rules.txt", "transfers.txt"):
        del files[name]
    folder = write_feed(tmp_path / "f", files)
    expected = [
        "stops.txt, line 2, field stop_lat: 300.0 is out of range",
        "stop_times.txt, line 3, field arrival_time: arrives before the trip left the previous stop (trip 'T1')",
        "stop_times.txt, line 4, field stop_id: unknown stop 'Z'",
        "stop_times.txt, line 4, field arrival_time: 'xx' is not a time written H:MM:SS up to 336:00:00",
    ]
    assert problems_of(folder) == expected
    archive = tmp_path / "bad_gtfs.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name, text in files.items():
            out.writestr(name, text)
    assert problems_of(archive) == expected


def test_a_row_with_a_bad_sequence_still_has_its_times_compared(tmp_path: Path) -> None:
    """QA: on `T1,7:00:00,6:00:00,S9,x` only the unknown stop and the sequence were said; the
    departure before the arrival was said only once the stop alone was wrong."""
    files = dict(BASE)
    files["stops.txt"] = "stop_id,stop_name\nA,Alpha\nB,Beta\n"
    files["routes.txt"] = "route_id,agency_id,route_short_name,route_type\nR1,A,Q1,2\n"
    files["trips.txt"] = "route_id,service_id,trip_id\nR1,WK,T1\n"
    files["stop_times.txt"] = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,05:00:00,05:00:00,A,1\n"
        "T1,05:30:00,05:30:00,B,2\n"
        "T1,7:00:00,6:00:00,S9,x\n"
    )
    for name in ("fare_attributes.txt", "fare_rules.txt", "transfers.txt"):
        del files[name]
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name, text in files.items():
            out.writestr(name, text)
    assert problems_of(archive) == [
        "stop_times.txt, line 4, field stop_id: unknown stop 'S9'",
        "stop_times.txt, line 4, field stop_sequence: 'x' is not a whole number of zero or more",
        "stop_times.txt, line 4, field departure_time: departure before arrival",
    ]


def test_a_refused_row_is_still_checked_and_causes_nothing_more(tmp_path: Path) -> None:
    files = dict(BASE)
    # Unknown agency and a bad route type on one row; trips on R1 are not "unknown route".
    files["routes.txt"] = BASE["routes.txt"].replace("R1,A,IC,InterCity,2", "R1,X,IC,InterCity,two")
    # A bad location type and a bad latitude; its stop times are not "unknown stop".
    files["stops.txt"] = BASE["stops.txt"].replace("BS2,Basel SBB,47.547,", "BS2,Basel SBB,147.5,")
    files["stops.txt"] = files["stops.txt"].replace("BS2,Basel SBB,147.5,7.589,0", "BS2,Basel SBB,147.5,7.589,9")
    # A bad price and currency; its rules are not "unknown fare".
    files["fare_attributes.txt"] = BASE["fare_attributes.txt"].replace("F2,99,CHF", "F2,-1,SWISS")
    # An unknown service and route on one trip; its stop times are still judged as a trip.
    files["trips.txt"] = BASE["trips.txt"].replace("R2,WK,T3", "R9,NOPE,T3")
    files["stop_times.txt"] = BASE["stop_times.txt"].replace("T3, 14:00:00", "T3, 09:00:00")
    # A bad transfer type next to an unknown stop.
    files["transfers.txt"] = BASE["transfers.txt"].replace("BS1,BS2,1,", "QQ,BS2,8,")
    assert problems_of(write_feed(tmp_path / "f", files)) == [
        "stops.txt, line 6, field location_type: '9' is not 0 to 4",
        "stops.txt, line 6, field stop_lat: 147.5 is out of range",
        "routes.txt, line 2, field agency_id: unknown agency 'X'",
        "routes.txt, line 2, field route_type: 'two' is not a whole number",
        "trips.txt, line 4, field route_id: unknown route 'R9'",
        "trips.txt, line 4, field service_id: service 'NOPE' is in neither calendar.txt nor calendar_dates.txt",
        "stop_times.txt, line 9, field arrival_time: arrives before the trip left the previous stop (trip 'T3')",
        "fare_attributes.txt, line 3, field price: '-1' is not a price of zero or more",
        "fare_attributes.txt, line 3, field currency_type: 'SWISS' is not an ISO 4217 currency code (such as CNY, EUR or USD)",
        "transfers.txt, line 4, field transfer_type: '8' is not 0 to 5",
        "transfers.txt, line 4, field from_stop_id: unknown stop 'QQ'",
    ]


@pytest.mark.parametrize(
    ("file", "column"),
    [("stops.txt", "stop_name"), ("stops.txt", "stop_id"), ("agency.txt", "agency_timezone"),
     ("routes.txt", "route_id"), ("routes.txt", "route_type"), ("trips.txt", "trip_id"),
     ("trips.txt", "service_id"), ("trips.txt", "route_id"), ("stop_times.txt", "stop_sequence"),
     ("stop_times.txt", "arrival_time"), ("calendar.txt", "service_id"),
     ("calendar.txt", "start_date"), ("calendar_dates.txt", "exception_type"),
     ("fare_attributes.txt", "fare_id"), ("fare_attributes.txt", "price"),
     ("transfers.txt", "from_stop_id")],
)
def test_a_missing_required_column_is_one_problem(tmp_path: Path, file: str, column: str) -> None:
    """Not "a value is required" on every row, nor unknown stops, routes or trips after it."""
    rows = list(csv.reader(io.StringIO(BASE[file])))
    drop = rows[0].index(column)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:drop] + r[drop + 1:] for r in rows])
    files = dict(BASE, **{file: out.getvalue()})
    assert problems_of(write_feed(tmp_path / "f", files)) == [
        f"{file}, line 1, field {column}: required column is missing"
    ]


def test_a_missing_file_does_not_make_every_reference_unknown(tmp_path: Path) -> None:
    files = dict(BASE)
    del files["stops.txt"], files["trips.txt"]
    assert problems_of(write_feed(tmp_path / "f", files)) == [
        "stops.txt: required file is missing from the feed",
        "trips.txt: required file is missing from the feed",
    ]


def test_routes_need_agency_id_when_there_are_several_agencies(tmp_path: Path) -> None:
    files = dict(BASE)
    files["agency.txt"] = BASE["agency.txt"] + "B,Other Rail,http://b,Europe/Zurich\n"
    files["routes.txt"] = BASE["routes.txt"].replace("agency_id,", "").replace(",A,", ",")
    assert problems_of(write_feed(tmp_path / "f", files)) == [
        "routes.txt, line 1, field agency_id: required column is missing (the feed has several agencies)"
    ]


@pytest.mark.parametrize(
    "zone", ["Europe", "America", "Mars/Olympus", "Europe/__init__.py", "posixrules", "Factory"]
)
def test_a_zone_that_is_no_zone_is_a_problem(tmp_path: Path, zone: str) -> None:
    # "Europe" is a folder of the zone database: ZoneInfo raises an OSError there (the
    # importer fuzz test found it), not the lookup error other names give.
    files = dict(BASE, **{"agency.txt": BASE["agency.txt"].replace("Europe/Zurich", zone)})
    assert problems_of(write_feed(tmp_path / "f", files)) == [
        f"agency.txt, line 2, field agency_timezone: {zone!r} is not a known time zone"
    ]
