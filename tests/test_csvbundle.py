"""The CSV bundle: export then import gives the same timetable, field for field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from transit.db import make_engine
from transit.models import (
    MODE_VALUES,
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
from transit.timetable.csvbundle import FILES, read_bundle, read_bundle_history, write_bundle
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
                       City.min_connection_seconds, City.aliases)
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
        ("stops.csv", 3, "fare"),
        ("stops.csv", 4, "city"),
        ("stops.csv", 4, "arrival"),
        ("transfers.csv", 2, "to_city"),
    }  # and not "unknown city 'Paris'" on line 3 of stops.csv: Paris is there, refused


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
        "stops.csv": "number,code,sequence,city,arrival,departure,fare\nT1,a,0,Lyon,,10:00:00,\nT1,a,1,Lyon,11:00:00,,\n",
    })
    with pytest.raises(ImportFailed) as failure:
        read_bundle(folder)
    assert [(p.file, p.line, p.field) for p in failure.value.problems] == [
        ("calendars.csv", 2, "name")
    ]
    assert "NUL" in failure.value.problems[0].message


GOOD_BUNDLE = {
    "cities.csv": "name,code,latitude,longitude,timezone,min_connection_seconds\nLyon,LY,45.7,4.8,Europe/Paris,600\nParis,PA,48.8,2.3,Europe/Paris,\n",
    "calendars.csv": "calendar,name,weekdays,start_date,end_date\nd,daily,1111111,2024-01-01,2024-12-31\n",
    "calendar_dates.csv": "calendar,date,added\nd,2024-05-01,0\n",
    "services.csv": "operator,number,route,mode,name,currency\nSNCF,T1,,train,,EUR\n",
    "timetables.csv": "operator,number,route,code,calendar,headsign\nSNCF,T1,,a,d,\n",
    "stops.csv": (
        "operator,number,route,code,sequence,city,arrival,departure,fare,boarding,alighting\n"
        "SNCF,T1,,a,0,Lyon,,10:00:00,,1,1\n"
        "SNCF,T1,,a,1,Paris,12:00:00,,30,1,1\n"
    ),
    "fares.csv": "operator,number,route,origin,destination,fare\nSNCF,T1,,Lyon,Paris,25\n",
    "transfers.csv": "from_city,to_city,min_seconds\nLyon,Paris,600\n",
}


def test_the_bundle_of_these_tests_is_good(tmp_path: Path) -> None:
    assert read_bundle(_bundle(tmp_path, GOOD_BUNDLE)).counts()["stops"] == 2


def test_an_unclosed_quote_is_one_problem_where_it_opens(tmp_path: Path) -> None:
    # A lenient reader takes the rest of the file as one value: the report printed it (the
    # whole file) and then every row of other files naming a service after it.
    files = dict(GOOD_BUNDLE)
    files["services.csv"] = ("operator,number,route,mode,name,currency\n"
                             "SNCF,T0,,train,,EUR\nSNCF,T1,,\"train,,EUR\nSNCF,T2,,train,,EUR\n")
    files["timetables.csv"] += "SNCF,T2,,a,d,\n"
    with pytest.raises(ImportFailed) as failure:
        read_bundle(_bundle(tmp_path, files))
    assert [str(p) for p in failure.value.problems] == [
        "services.csv, line 3, field mode: a quote opened here is never closed, so the rest "
        "of the file was read as one value; the rows after it are not checked",
    ]
    # On the last line too (there the rest of the file is the rest of that line).
    files["services.csv"] = ("operator,number,route,mode,name,currency\n"
                             "SNCF,T0,,train,,EUR\n\"SNCF,T1,,train,,EUR\n")
    files["timetables.csv"] = GOOD_BUNDLE["timetables.csv"]
    (tmp_path / "last").mkdir()
    with pytest.raises(ImportFailed) as failure:
        read_bundle(_bundle(tmp_path / "last", files))
    assert [(p.file, p.line, p.field) for p in failure.value.problems] == [
        ("services.csv", 3, "operator")]
    # A quoted value over two lines, closed, is read as before.
    files["services.csv"] = ("operator,number,route,mode,name,currency\n"
                             "SNCF,T1,,train,\"The\nexpress\",EUR\n")
    files["timetables.csv"] = GOOD_BUNDLE["timetables.csv"]
    (tmp_path / "again").mkdir()
    with pytest.raises(ImportFailed) as failure:
        read_bundle(_bundle(tmp_path / "again", files))
    assert [p.field for p in failure.value.problems] == ["name"]  # one line only, as ever


def test_stops_that_cannot_all_be_read_leave_no_timetable_short_of_rows(tmp_path: Path) -> None:
    # A stops.csv cut inside a character was one problem, then one for every timetable
    # ("has fewer than two rows"): 718 of them for a real bundle.
    files = dict(GOOD_BUNDLE)
    files["timetables.csv"] += "SNCF,T1,,b,d,\n"
    folder = _bundle(tmp_path, files)
    (folder / "stops.csv").write_bytes((folder / "stops.csv").read_bytes() + b"SNCF,T1,,b,0,Ly\xc3")
    with pytest.raises(ImportFailed) as failure:
        read_bundle(folder)
    assert [str(p) for p in failure.value.problems] == [
        "stops.csv, line 4: bytes that are not UTF-8 (at byte 167)"]


def test_what_the_database_disagrees_with_is_located_by_file_and_line(
    session: Session, tmp_path: Path
) -> None:
    """A bundle at odds with the stored timetable once named only its folder ("csv2, field
    timetable: ... with other stops, times or days"): now the file, the line and what
    differs, as for the file's own mistakes."""
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = dict(GOOD_BUNDLE, **{"cities.csv": GOOD_BUNDLE["cities.csv"] + "Nice,NI,43.7,7.3,Europe/Paris,\n"})
    load_feed(session, read_bundle(_bundle(tmp_path / "first", first)))
    session.commit()
    changed = dict(GOOD_BUNDLE)
    changed["stops.csv"] = GOOD_BUNDLE["stops.csv"].replace("12:00:00,,30", "12:00:00,,31")
    changed["cities.csv"] = GOOD_BUNDLE["cities.csv"] + "Cannes,ni,43.6,7.0,Europe/Paris,\n"
    changed["services.csv"] = GOOD_BUNDLE["services.csv"].replace(",train,", ",flight,")
    with pytest.raises(ImportFailed) as failure:
        load_feed(session, read_bundle(_bundle(tmp_path / "second", changed)))
    assert sorted(str(p) for p in failure.value.problems) == [
        "cities.csv, line 4, field city code: city 'Cannes': code 'ni' belongs to Nice (as 'NI'); "
        "codes are unique whatever their case",
        "services.csv, line 2, field mode: service SNCF flight T1 exists in the database as a "
        "train service",
        "timetables.csv, line 2, field timetable: service SNCF flight T1, timetable 'a' already "
        "exists in the database with another fare at stop 2 (Paris) (give this one another "
        "code, or delete the stored one first)",
    ]


@pytest.mark.parametrize(
    ("file", "column"),
    [(name, column) for name, (_, required) in FILES.items() for column in required],
)
def test_a_missing_required_column_is_one_problem(tmp_path: Path, file: str, column: str) -> None:
    """Said once at line 1: not "a value is required" on each row, nor unknown cities,
    calendars, services or timetables in the other files."""
    lines = GOOD_BUNDLE[file].splitlines()
    drop = lines[0].split(",").index(column)
    text = "".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) + "\n" for line in lines)
    with pytest.raises(ImportFailed) as failure:
        read_bundle(_bundle(tmp_path, dict(GOOD_BUNDLE, **{file: text})))
    assert [str(p) for p in failure.value.problems] == [f"{file}, line 1, field {column}: required column is missing"]


def test_a_refused_row_is_checked_whole_and_causes_nothing_more(tmp_path: Path) -> None:
    files = dict(GOOD_BUNDLE)
    files["cities.csv"] = GOOD_BUNDLE["cities.csv"].replace("Paris,PA,48.8,2.3,Europe/Paris,", "Paris,PA,98.8,2.3,Mars/Olympus,x")
    files["calendars.csv"] = GOOD_BUNDLE["calendars.csv"].replace("1111111,2024-01-01", "11,2024-13-01")
    files["services.csv"] += "SNCF,T2,,hovercraft,,EUR\n"
    files["timetables.csv"] += "SNCF,T2,,b,d,\nSNCF,T3,,c,nope,\n"
    files["stops.csv"] += "SNCF,T2,,b,0,Lyon,,10:00:00,,1,1\nSNCF,T9,,z,x,Nice,9h,,-1,2,1\n"
    files["platforms.csv"] = "ignored\n"
    files["stops.csv"] = files["stops.csv"].replace("operator,", "platform,operator,").replace("\nSNCF", "\n,SNCF")
    with pytest.raises(ImportFailed) as failure:
        read_bundle(_bundle(tmp_path, files))
    assert [str(p) for p in failure.value.problems] == [
        "stops.csv, line 1, field platform: unknown column",
        "cities.csv, line 3, field timezone: 'Mars/Olympus' is not a known time zone",
        "cities.csv, line 3, field latitude: 98.8 is out of range",
        "cities.csv, line 3, field min_connection_seconds: 'x' is not a whole number",
        "calendars.csv, line 2, field weekdays: '11' is not seven 0/1 digits, Monday first",
        "calendars.csv, line 2, field start_date: '2024-13-01' is not a date written YYYY-MM-DD",
        "services.csv, line 3, field mode: 'hovercraft' is not one of " + ", ".join(MODE_VALUES),
        "timetables.csv, line 4, field number: unknown service SNCF T3",
        "timetables.csv, line 4, field calendar: unknown calendar 'nope'",
        "stops.csv, line 5, field code: unknown timetable 'z' of SNCF T9",
        "stops.csv, line 5, field sequence: 'x' is not a whole number",
        "stops.csv, line 5, field city: unknown city 'Nice'",
        "stops.csv, line 5, field arrival: '9h' is not a time written H:MM:SS up to 336:00:00",
        "stops.csv, line 5, field fare: a fare cannot be negative (-1)",
        "stops.csv, line 5, field boarding: '2' is neither 1 nor 0",
    ]


def test_a_zone_database_folder_is_no_time_zone(tmp_path: Path) -> None:
    # ZoneInfo("America") raises an OSError (a folder), not the lookup error of other names.
    files = dict(GOOD_BUNDLE)
    files["cities.csv"] = GOOD_BUNDLE["cities.csv"].replace("Europe/Paris", "America")
    with pytest.raises(ImportFailed) as failure:
        read_bundle(_bundle(tmp_path, files))
    assert "'America' is not a known time zone" in str(failure.value)


# --- the admin export's zip, imported through the web, the API's core and the CLI ----------

_RUN = (
    "operator,number,route,service_date,origin,destination,scheduled_departure,"
    "scheduled_arrival,actual_departure,actual_arrival,cancelled,source\n"
    "CR,G1,,2026-03-02,Beijing,Shanghai,2026-03-02T08:00:00+08:00,2026-03-02T12:40:00+08:00,"
    "2026-03-02T08:01:00+08:00,2026-03-02T12:45:00+08:00,false,test\n"
)


def _exported_zip(app: Any, tmp_path: Path) -> bytes:
    """The corridor of the admin tests with one past run, as /admin/export downloads it."""
    from tests.admin_helpers import add_corridor, log_in, make_admin
    from transit.timetable.history import read_history_csv
    from transit.web.extensions import db

    make_admin(app)
    add_corridor(app)
    (tmp_path / "run.csv").write_text(_RUN)
    with app.app_context():
        load_history(db.session(), read_history_csv(tmp_path / "run.csv"))
        db.session.commit()
    client = app.test_client()
    assert log_in(client).status_code == 302
    reply = client.get("/admin/export")
    assert reply.status_code == 200
    return reply.data


def test_the_export_zip_loads_its_trip_history_in_the_same_transaction(
    app: Any, session: Session, tmp_path: Path
) -> None:
    from transit import editing

    saved = tmp_path / "export.zip"
    saved.write_bytes(_exported_zip(app, tmp_path))
    # An empty timetable to import into (the app's database is this session's).
    for model in (TripRecordStop, TripRecord, ServiceFare, Stop, Timetable, CalendarDate,
                  Calendar, Service, Transfer, City):
        session.execute(model.__table__.delete())
    session.commit()
    (tmp_path / "work").mkdir()
    dry = editing.import_timetable(session, saved, tmp_path / "work", dry_run=True)
    assert dry.format == "csv" and dry.counts["past runs"] == 1 and dry.counts["cities"] == 3
    assert "Would add 1 past run." in dry.report
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 0
    (tmp_path / "work2").mkdir()
    done = editing.import_timetable(session, saved, tmp_path / "work2")
    session.commit()
    assert done.counts["past runs"] == 1 and "Added 1 past run." in done.report
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 1


def test_the_export_zip_through_the_admin_import_page(app: Any, tmp_path: Path) -> None:
    import io

    from tests.admin_helpers import log_in, post
    from transit.web.extensions import db

    app.config["TRANSIT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    content = _exported_zip(app, tmp_path)
    with app.app_context():
        db.session.execute(TripRecord.__table__.delete())
        db.session.commit()
    client = app.test_client()
    log_in(client)
    reply = post(client, "/admin/imports", {"file": (io.BytesIO(content), "export.zip")},
                 content_type="multipart/form-data")
    assert reply.status_code == 302
    report = client.get(reply.location).get_data(as_text=True)
    assert "Format: csv" in report and "<th scope=\"row\">past runs</th><td>1</td>" in report
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 0  # dry run
    done = post(client, f"/admin/uploads/{reply.location.rsplit('/', 1)[1]}/commit", {},
                form_url=reply.location)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 1


def test_bundle_and_history_problems_are_listed_together(session: Session, tmp_path: Path) -> None:
    from transit import editing

    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "cities.csv").write_text("name,timezone\nA,Nowhere/Zone\nB,Europe/Paris\n")
    (folder / "calendars.csv").write_text("calendar,weekdays\nc,1111111\n")
    (folder / "services.csv").write_text("number,mode\nX1,train\n")
    (folder / "timetables.csv").write_text("number,code,calendar\nX1,a,c\n")
    (folder / "stops.csv").write_text("number,code,sequence,city,arrival,departure\n"
                                      "X1,a,0,A,,08:00:00\nX1,a,1,B,09:00:00,\n")
    (folder / "trips.csv").write_text(_RUN.replace("2026-03-02,", "someday,"))
    with pytest.raises(ImportFailed) as failed:
        editing.import_timetable(session, folder, tmp_path)
    places = {(p.file, p.field) for p in failed.value.problems}
    assert ("cities.csv", "timezone") in places and ("trips.csv", "service_date") in places


def _many_calendars() -> Any:
    from transit.timetable.feed import (
        Feed,
        FeedCalendar,
        FeedCity,
        FeedService,
        FeedStop,
        FeedTimetable,
    )

    feed = Feed(source="calendars")
    for name in ("Lyon", "Paris"):
        feed.cities[name] = FeedCity(name=name, timezone="Europe/Paris")
    for n in range(1, 13):
        feed.calendars[f"c{n}"] = FeedCalendar(
            weekdays=n, start_date=dt.date(2024, 1, n), removed={dt.date(2024, 2, n)})
        feed.services.append(FeedService(number=f"TGV {n}", mode="train", timetables=[
            FeedTimetable("a", f"c{n}", [FeedStop("Lyon", None, 8 * 3600 + n * 60),
                                         FeedStop("Paris", 10 * 3600 + n * 60, None)]),
        ]))
    return feed


def test_export_import_export_is_byte_identical(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    # Two feeds (the second's calendar ids do not start at 1) and a deleted calendar (a gap
    # in the ids), with more than nine calendars: keys 10, 11... must not sort before 2.
    load_feed(session, parse_timetable(shared_data / "classic/Nenieco-test"))
    load_feed(session, parse_timetable(shared_data / "gtfs/caltrain_gtfs_2017-07-24.zip"))
    spare = Calendar(name="unused", weekdays=1)
    session.add(spare)
    session.flush()
    load_feed(session, _many_calendars())
    session.delete(spare)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Calendar)) > 12
    write_bundle(session, tmp_path / "first")
    engine = fresh_engine(tmp_path / "copy.sqlite3")
    try:
        with Session(engine) as copy:
            load_feed(copy, read_bundle(tmp_path / "first"))
            load_history(copy, read_bundle_history(tmp_path / "first"))
            copy.commit()
            write_bundle(copy, tmp_path / "second")
    finally:
        engine.dispose()
    for name in sorted(FILES):
        first = (tmp_path / "first" / name).read_bytes()
        assert (tmp_path / "second" / name).read_bytes() == first, name


# --- the cities' other names (City.aliases) ------------------------------------------------


def _cities_with_other_names(session: Session) -> None:
    session.add_all([
        City(name="Guangzhou", code="CAN", timezone="Asia/Shanghai", aliases=["Canton", "Kwangchow"]),
        City(name="Washington", timezone="America/New_York", aliases=["DC", "Washington, D.C."]),
        City(name="Lyon", timezone="Europe/Paris"),
    ])
    session.commit()


def _stored_other_names(session: Session) -> dict[str, list[str]]:
    return {name: aliases for name, aliases in session.execute(select(City.name, City.aliases))}


def test_other_names_go_out_and_come_back(session: Session, tmp_path: Path) -> None:
    """cities.csv carries each city's other names, separated by a bar (a name may hold a
    comma); an import into an empty database gives them back, in their order."""
    _cities_with_other_names(session)
    original, copy = round_trip(session, tmp_path)
    assert copy == original
    lines = (tmp_path / "bundle" / "cities.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "name,code,latitude,longitude,timezone,min_connection_seconds,aliases"
    assert lines[1:] == [
        "Guangzhou,CAN,,,Asia/Shanghai,,Canton|Kwangchow",
        "Lyon,,,,Europe/Paris,,",
        'Washington,,,,America/New_York,,"DC|Washington, D.C."',
    ]
    assert read_bundle(tmp_path / "bundle").cities["Washington"].aliases == ("DC", "Washington, D.C.")
    # Into this test's own database too, emptied (PostgreSQL under scripts/with-postgres):
    # the bulk insert writes the lists as JSON there as well.
    session.execute(City.__table__.delete())
    session.commit()
    report = load_feed(session, read_bundle(tmp_path / "bundle"))
    session.commit()
    assert report.counts["cities"] == 3
    session.expire_all()
    assert _stored_other_names(session) == {
        "Guangzhou": ["Canton", "Kwangchow"], "Washington": ["DC", "Washington, D.C."], "Lyon": [],
    }


def test_a_bundle_without_the_aliases_column_still_imports(session: Session, tmp_path: Path) -> None:
    """Bundles written before the column existed (GOOD_BUNDLE has none): cities without other
    names. An empty cell gives none too, and empty parts are left out."""
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    feed = read_bundle(_bundle(tmp_path / "old", GOOD_BUNDLE))
    assert [city.aliases for city in feed.cities.values()] == [(), ()]
    load_feed(session, feed)
    session.commit()
    assert _stored_other_names(session) == {"Lyon": [], "Paris": []}
    files = dict(GOOD_BUNDLE, **{"cities.csv": (
        "name,timezone,aliases\nLyon,Europe/Paris,\nParis,Europe/Paris, | Lutèce ||Paname |\n"
    )})
    feed = read_bundle(_bundle(tmp_path / "new", files))
    assert {name: city.aliases for name, city in feed.cities.items()} == {
        "Lyon": (), "Paris": ("Lutèce", "Paname"),
    }


def test_a_bad_aliases_cell_names_file_line_and_field_and_nothing_is_saved(
    session: Session, tmp_path: Path
) -> None:
    from transit import editing

    many = "|".join(f"N{n}" for n in range(21))
    files = dict(GOOD_BUNDLE, **{"cities.csv": (
        "name,code,timezone,aliases\n"
        "Lyon,LY,Europe/Paris,Lugdunum\n"
        f"Paris,PA,Europe/Paris,{'x' * 201}\n"
        f"Nice,NI,Europe/Paris,{many}\n"
        "Cannes,CN,Europe/Paris,Can\tnes|Cannes-la-Bocca|cannes-LA-bocca\n"
        "Antibes,AN,Europe/Paris,antibes|an|Juan\n"
    )})
    folder = _bundle(tmp_path, files)
    with pytest.raises(ImportFailed) as failure:
        editing.import_timetable(session, folder, tmp_path)
    assert [str(p) for p in failure.value.problems] == [
        f"cities.csv, line 3, field aliases: other name {'x' * 40!r}... is longer than 200 characters",
        "cities.csv, line 4, field aliases: 21 other names: a city has at most 20",
        "cities.csv, line 5, field aliases: 'Can\\tnes' may not contain a tab or line break",
        "cities.csv, line 5, field aliases: 'cannes-LA-bocca' is given twice",
        "cities.csv, line 6, field aliases: 'antibes' is already the city's name",
        "cities.csv, line 6, field aliases: 'an' is already the city's code",
    ]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(City)) == 0
    assert session.scalar(select(func.count()).select_from(Service)) == 0


def test_other_names_taken_in_the_bundle_or_the_database_are_refused(
    session: Session, tmp_path: Path
) -> None:
    """What travellers type names one city: an other name may not be another city's name,
    code or other name, in the same bundle or in the database, whatever the case."""
    _cities_with_other_names(session)
    files = dict(GOOD_BUNDLE, **{"cities.csv": (
        "name,code,timezone,aliases\n"
        "Lyon,LY,Europe/Paris,Lugdunum\n"
        "Paris,PA,Europe/Paris,lugdunum|canton|can\n"
    )})
    with pytest.raises(ImportFailed) as failure:
        load_feed(session, read_bundle(_bundle(tmp_path, files)))
    assert [str(p) for p in failure.value.problems] == [
        "cities.csv, line 3, field city aliases: city 'Paris': 'lugdunum' is another name of "
        "Lyon (other names are matched in any case)",
    ]  # the feed's own clashes first: the database is asked only about a feed without any
    files["cities.csv"] = files["cities.csv"].replace("lugdunum|", "")
    (tmp_path / "again").mkdir()
    with pytest.raises(ImportFailed) as failure:
        load_feed(session, read_bundle(_bundle(tmp_path / "again", files)))
    assert [str(p) for p in failure.value.problems] == [
        "cities.csv, line 3, field city aliases: city 'Paris': 'canton' is another name of "
        "Guangzhou (other names are matched in any case)",
        "cities.csv, line 3, field city aliases: city 'Paris': 'can' is the code of Guangzhou "
        "(codes are matched in any case)",
    ]
    session.rollback()
    assert sorted(_stored_other_names(session)) == ["Guangzhou", "Lyon", "Washington"]
