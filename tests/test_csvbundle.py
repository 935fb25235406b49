"""The CSV bundle: export then import gives the same timetable, field for field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from transit.db import make_engine
from transit.models import (
    Base,
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    Transfer,
    TripRecord,
    TripRecordStop,
)
from transit.timetable.csvbundle import read_bundle, read_bundle_history, write_bundle
from transit.timetable.feed import ImportFailed
from transit.timetable.formats import detect_format, parse_timetable
from transit.timetable.history import HistoryStop, HistoryTrip, load_history
from transit.timetable.loader import load_feed

SHARED_FEEDS = [
    "gtfs/caltrain_gtfs_2017-07-24.zip",
    "gtfs/nyc_subway_gtfs_2024-12.zip",
    "gtfs/seattle_area_gtfs_2017-11-16.zip",
    "classic/Zemdalk",
    "classic/17BuGs",
    "classic/Nenieco-data",
    "classic/Nenieco-test",
]


def snapshot(session: Session) -> dict[str, Any]:
    """Everything the timetable holds, keyed by what identifies it rather than by row ids."""
    service_key = {
        sid: (op, number, route)
        for sid, op, number, route in session.execute(
            select(Service.id, Service.operator, Service.number, Service.route)
        )
    }
    city: dict[int, str] = {cid: name for cid, name in session.execute(select(City.id, City.name))}
    exceptions: dict[int, set[tuple[dt.date, bool]]] = {}
    for calendar_id, day, added in session.execute(
        select(CalendarDate.calendar_id, CalendarDate.date, CalendarDate.added)
    ):
        exceptions.setdefault(calendar_id, set()).add((day, added))
    calendars = {
        cid: (name, weekdays, start, end, frozenset(exceptions.get(cid, ())))
        for cid, name, weekdays, start, end in session.execute(
            select(Calendar.id, Calendar.name, Calendar.weekdays, Calendar.start_date, Calendar.end_date)
        )
    }
    stops: dict[int, list[tuple[Any, ...]]] = {}
    for row in session.execute(
        select(Stop.timetable_id, Stop.sequence, Stop.city_id, Stop.arrival, Stop.departure,
               Stop.fare_cents, Stop.boarding, Stop.alighting).order_by(Stop.timetable_id, Stop.sequence)
    ):
        stops.setdefault(row[0], []).append((row[1], city[row[2]], *row[3:]))
    timetables = {
        (*service_key[sid], code): (headsign, calendars[cid], tuple(stops.get(tid, [])))
        for tid, sid, code, cid, headsign in session.execute(
            select(Timetable.id, Timetable.service_id, Timetable.code, Timetable.calendar_id,
                   Timetable.headsign)
        )
    }
    origin, destination = aliased(City), aliased(City)
    trips = set()
    trip_stops: dict[int, list[tuple[Any, ...]]] = {}
    for row in session.execute(select(TripRecordStop).order_by(TripRecordStop.sequence)):
        (stop,) = row
        trip_stops.setdefault(stop.trip_id, []).append(
            (stop.sequence, city[stop.city_id], stop.scheduled_arrival, stop.scheduled_departure,
             stop.actual_arrival, stop.actual_departure)
        )
    for (record,) in session.execute(select(TripRecord)):
        trips.add((
            service_key[record.service_id], record.service_date, city[record.origin_id],
            city[record.destination_id], record.scheduled_departure, record.scheduled_arrival,
            record.actual_departure, record.actual_arrival, record.cancelled, record.source,
            tuple(trip_stops.get(record.id, [])),
        ))
    return {
        "cities": sorted(
            tuple(row) for row in session.execute(
                select(City.name, City.code, City.latitude, City.longitude, City.timezone,
                       City.min_connection_seconds)
            )
        ),
        "services": sorted(
            tuple(row) for row in session.execute(
                select(Service.operator, Service.number, Service.route, Service.mode, Service.name,
                       Service.currency)
            )
        ),
        "timetables": timetables,
        "fares": {
            (service_key[sid], a, b, cents)
            for sid, a, b, cents in session.execute(
                select(ServiceFare.service_id, origin.name, destination.name, ServiceFare.fare_cents)
                .join(origin, origin.id == ServiceFare.origin_id)
                .join(destination, destination.id == ServiceFare.destination_id)
            )
        },
        "transfers": {
            (city[a], city[b], seconds)
            for a, b, seconds in session.execute(
                select(Transfer.from_city_id, Transfer.to_city_id, Transfer.min_seconds)
            )
        },
        "trips": trips,
    }


def fresh_engine(path: Path) -> Engine:
    engine = make_engine("sqlite:///" + str(path))
    Base.metadata.create_all(engine)
    return engine


def round_trip(session: Session, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    write_bundle(session, tmp_path / "bundle")
    assert detect_format(tmp_path / "bundle") == "csv"
    engine = fresh_engine(tmp_path / "copy.sqlite3")
    try:
        with Session(engine) as copy:
            load_feed(copy, read_bundle(tmp_path / "bundle"))
            load_history(copy, read_bundle_history(tmp_path / "bundle"))
            copy.commit()
            return snapshot(session), snapshot(copy)
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("relative", SHARED_FEEDS)
def test_round_trip_of_shared_feeds(
    relative: str, session: Session, shared_data: Path, tmp_path: Path
) -> None:
    load_feed(session, parse_timetable(shared_data / relative))
    session.commit()
    original, copy = round_trip(session, tmp_path)
    assert original["timetables"] and original["cities"]
    for part in original:
        assert copy[part] == original[part], part


def test_round_trip_with_history_and_several_feeds(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    load_feed(session, parse_timetable(shared_data / "classic/Nenieco-test"))
    load_feed(session, parse_timetable(shared_data / "gtfs/caltrain_gtfs_2017-07-24.zip"))
    session.commit()
    local = session.scalars(select(Service).where(Service.number == "441")).one()
    utc = dt.datetime(2017, 7, 23, 5, 8)
    load_history(session, [
        HistoryTrip(
            local.operator, local.number, local.route, dt.date(2017, 7, 22),
            "San Jose Diridon Caltrain", "San Francisco Caltrain", utc, utc + dt.timedelta(minutes=104),
            actual_departure=utc + dt.timedelta(minutes=2), actual_arrival=None, cancelled=False,
            stops=[HistoryStop(1, "Santa Clara Caltrain", utc + dt.timedelta(minutes=5),
                               utc + dt.timedelta(minutes=5), None, utc + dt.timedelta(minutes=8))],
            source="test",
        ),
        HistoryTrip(
            local.operator, local.number, local.route, dt.date(2017, 7, 29),
            "San Jose Diridon Caltrain", "San Francisco Caltrain", utc + dt.timedelta(days=7),
            utc + dt.timedelta(days=7, minutes=104), cancelled=True,
        ),
    ])
    session.commit()
    original, copy = round_trip(session, tmp_path)
    assert len(original["trips"]) == 2
    assert copy == original


def test_bundle_files_are_readable(session: Session, shared_data: Path, tmp_path: Path) -> None:
    load_feed(session, parse_timetable(shared_data / "gtfs/caltrain_gtfs_2017-07-24.zip"))
    session.commit()
    written = write_bundle(session, tmp_path / "b")
    assert written["stops.csv"] == 2697 and written["timetables.csv"] == 188
    assert written["trips.csv"] == 0
    lines = (tmp_path / "b" / "stops.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "operator,number,route,code,sequence,city,arrival,departure,fare,boarding,alighting"
    assert "Caltrain,441,Local,6512143-CT-17JUL-Caltrain-Sunday-01,0,San Jose Diridon Caltrain,,22:08:00,,1,1" in lines
    fares = (tmp_path / "b" / "fares.csv").read_text(encoding="utf-8").splitlines()
    assert "Caltrain,441,Local,San Jose Diridon Caltrain,San Francisco Caltrain,9.75" in fares
    calendars = (tmp_path / "b" / "calendars.csv").read_text(encoding="utf-8").splitlines()
    assert any(line.endswith(",CT-17JUL-Caltrain-Sunday-01,0000001,2017-07-16,2019-07-14") for line in calendars)


def _bundle(tmp_path: Path, files: dict[str, str]) -> Path:
    """A bundle folder holding ``files`` (name: UTF-8 text)."""
    folder = tmp_path / "b"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_hand_written_bundle(tmp_path: Path) -> None:
    folder = _bundle(tmp_path, {
        "cities.csv": "name,timezone\nLyon,Europe/Paris\nParis,Europe/Paris\n",
        "calendars.csv": "calendar,weekdays,start_date\nweekdays,1111100,2024-01-01\n",
        "calendar_dates.csv": "calendar,date,added\nweekdays,2024-05-01,0\n",
        "services.csv": "number,mode,currency\nTGV 6600,train,EUR\n",
        "timetables.csv": "number,code,calendar\nTGV 6600,a,weekdays\n",
        "stops.csv": (
            "number,code,sequence,city,arrival,departure,fare\n"
            "TGV 6600,a,1,Paris,23:00:00,24:00:00,\n"
            "TGV 6600,a,0,Lyon,,22:00:00,\n"
            "TGV 6600,a,2,Lyon,25:59:59,,49.9\n"
        ),
    })
    feed = read_bundle(folder)
    (service,) = feed.services
    assert (service.operator, service.route, service.currency, service.name) == ("", "", "EUR", None)
    stops = service.timetables[0].stops
    assert [(s.city, s.arrival, s.departure, s.fare_cents) for s in stops] == [
        ("Lyon", None, 79200, None), ("Paris", 82800, 86400, None), ("Lyon", 93599, None, 4990)
    ]
    calendar = feed.calendars["weekdays"]
    assert (calendar.weekdays, calendar.end_date, calendar.removed, calendar.name) == (
        0b0011111, None, {dt.date(2024, 5, 1)}, None
    )


def test_bundle_problems_name_file_line_and_column(tmp_path: Path) -> None:
    folder = _bundle(tmp_path, {
        "cities.csv": "name,timezone\nLyon,Europe/Paris\nParis,Mars/Olympus\n",
        "calendars.csv": "calendar,weekdays\nd,1111111\nx,11\n",
        "services.csv": "number,mode\nT1,train\nT2,hovercraft\n",
        "timetables.csv": "number,code,calendar\nT1,a,d\nT1,b,nope\n",
        "stops.csv": (
            "number,code,sequence,city,arrival,departure,fare\n"
            "T1,a,0,Lyon,,10:00:00,\n"
            "T1,a,1,Paris,9:00:00,,-3\n"
            "T1,a,2,Nice,9h,,\n"
        ),
        "transfers.csv": "from_city,to_city,min_seconds\nLyon,Lyon,60\n",
    })
    with pytest.raises(ImportFailed) as failure:
        read_bundle(folder)
    found = {(p.file, p.line, p.field) for p in failure.value.problems}
    assert found == {
        ("cities.csv", 3, "timezone"),
        ("calendars.csv", 3, "weekdays"),
        ("services.csv", 3, "mode"),
        ("timetables.csv", 3, "calendar"),
        ("stops.csv", 3, "city"),  # Paris was refused for its time zone
        ("stops.csv", 3, "fare"),
        ("stops.csv", 4, "city"),
        ("stops.csv", 4, "arrival"),
        ("transfers.csv", 2, "to_city"),
    }


def test_missing_files_and_columns(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "cities.csv").write_text("name\nLyon\n", encoding="utf-8")
    (folder / "stops.csv").write_text("number,code,sequence,city,platform\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failure:
        read_bundle(folder)
    found = {(p.file, p.line, p.field) for p in failure.value.problems}
    assert found == {
        ("cities.csv", 1, "timezone"),
        ("stops.csv", 1, "platform"),
        ("calendars.csv", None, None),
        ("services.csv", None, None),
        ("timetables.csv", None, None),
    }


def test_nul_byte_in_a_field_is_a_problem_with_its_place(tmp_path: Path) -> None:
    """PostgreSQL cannot store NUL: the reader refuses it, naming file, line and column
    (hypothesis found a calendar named "\\x00" that reached the database)."""
    folder = _bundle(tmp_path, {
        "cities.csv": "name,timezone\nLyon,Europe/Paris\n",
        "calendars.csv": "calendar,name,weekdays\nd,every\x00day,1111111\n",
        "services.csv": "number,mode\nT1,train\n",
        "timetables.csv": "number,code,calendar\nT1,a,d\n",
        "stops.csv": "number,code,sequence,city,arrival,departure,fare\nT1,a,0,Lyon,,10:00:00,\n",
    })
    with pytest.raises(ImportFailed) as failure:
        read_bundle(folder)
    assert [(p.file, p.line, p.field) for p in failure.value.problems] == [
        ("calendars.csv", 2, "name")
    ]
    assert "NUL" in failure.value.problems[0].message
