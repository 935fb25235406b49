"""Trip history: the CSV format in and out, the bhmtrains data set, and ``flask history``."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from transit.commands.history import DEFAULT_BHMTRAINS
from transit.models import City, Service, Timetable, TripRecord, TripRecordStop
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    ImportFailed,
)
from transit.timetable.history import (
    COLUMNS,
    HistoryStop,
    HistoryTrip,
    load_history,
    read_bhmtrains,
    read_history_csv,
    write_history_csv,
)
from transit.timetable.loader import load_feed

ZONES = {"Beijing": "Asia/Shanghai", "Urumqi": "Asia/Urumqi", "New York": "America/New_York",
         "London": "Europe/London"}


def small_feed() -> Feed:
    """Two services over four cities in four time zones."""
    feed = Feed(source="test")
    for name, zone in ZONES.items():
        feed.cities[name] = FeedCity(name=name, timezone=zone)
    feed.calendars["daily"] = FeedCalendar()
    feed.services.append(FeedService(
        number="G1", mode="train", operator="CR",
        timetables=[FeedTimetable("1", "daily", [
            FeedStop("Beijing", None, 8 * 3600),
            FeedStop("Urumqi", 20 * 3600, 20 * 3600 + 600),
            FeedStop("London", 40 * 3600, None),
        ])],
    ))
    feed.services.append(FeedService(
        number="BA1", mode="flight", operator="BA", route="LHR-JFK",
        timetables=[FeedTimetable("1", "daily", [
            FeedStop("London", None, 9 * 3600), FeedStop("New York", 12 * 3600, None),
        ])],
    ))
    return feed


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_row(**values: str) -> dict[str, str]:
    row = {
        "operator": "BA", "number": "BA1", "route": "LHR-JFK", "service_date": "2024-03-30",
        "origin": "London", "destination": "New York",
        "scheduled_departure": "2024-03-30T09:00:00+00:00",
        "scheduled_arrival": "2024-03-30T12:00:00-04:00",
        "actual_departure": "2024-03-30T09:10:00Z", "actual_arrival": "2024-03-30T12:05:00-04:00",
        "cancelled": "false",
    }
    row.update(values)
    return row


def stop_row(**values: str) -> dict[str, str]:
    row = {
        "operator": "CR", "number": "G1", "origin": "Beijing",
        "scheduled_departure": "2024-03-30T08:00:00+08:00",
        "stop_sequence": "1", "stop_city": "Urumqi",
        "stop_scheduled_arrival": "2024-03-30T20:00:00+06:00",
        "stop_scheduled_departure": "2024-03-30T20:10:00+06:00",
    }
    row.update(values)
    return row


def problem_places(error: pytest.ExceptionInfo[ImportFailed]) -> set[tuple[int | None, str | None]]:
    return {(p.line, p.field) for p in error.value.problems}


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args)  # noqa: DTZ001 - the database's naive UTC


# --- Reading the CSV ------------------------------------------------------------------------


def test_read_converts_offsets_to_utc_and_attaches_stops(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "trips.csv", [
        stop_row(stop_actual_arrival="2024-03-30T20:20:00+06:00"),  # before its run: allowed
        run_row(),
        run_row(operator="CR", number="G1", route="", origin="Beijing", destination="London",
                scheduled_departure="2024-03-30T08:00:00+08:00",
                scheduled_arrival="2024-03-31T16:00:00+01:00",  # after the clocks went forward
                actual_departure="", actual_arrival="", cancelled="TRUE", source="manual"),
    ])
    flight, train = read_history_csv(path)
    assert flight == HistoryTrip(
        operator="BA", number="BA1", route="LHR-JFK", service_date=dt.date(2024, 3, 30),
        origin="London", destination="New York",
        scheduled_departure=utc(2024, 3, 30, 9), scheduled_arrival=utc(2024, 3, 30, 16),
        actual_departure=utc(2024, 3, 30, 9, 10), actual_arrival=utc(2024, 3, 30, 16, 5),
    )
    assert (flight.file, flight.line) == ("trips.csv", 3)
    assert train.cancelled and train.source == "manual"
    assert (train.scheduled_departure, train.scheduled_arrival) == (
        utc(2024, 3, 30, 0), utc(2024, 3, 31, 15))
    assert train.actual_departure is None and train.actual_arrival is None
    assert train.stops == [HistoryStop(
        sequence=1, city="Urumqi", scheduled_arrival=utc(2024, 3, 30, 14),
        scheduled_departure=utc(2024, 3, 30, 14, 10), actual_arrival=utc(2024, 3, 30, 14, 20),
    )]


def test_minimal_columns(tmp_path: Path) -> None:
    columns = ("number", "service_date", "origin", "destination", "scheduled_departure",
               "scheduled_arrival")
    row = {k: v for k, v in run_row().items() if k in columns}
    [trip] = read_history_csv(write_csv(tmp_path / "t.csv", [row], columns))
    assert (trip.operator, trip.route, trip.cancelled, trip.actual_arrival) == ("", "", False, None)


def test_every_problem_is_named_by_line_and_column(tmp_path: Path) -> None:
    rows = [
        run_row(),  # line 2: fine
        run_row(scheduled_departure="2024-03-30 09:00"),  # 3: no offset
        run_row(scheduled_arrival="2024-03-30T08:00:00+00:00",  # 4: arrival before departure
                actual_departure="2024-03-30T10:00:00+00:00",
                actual_arrival="2024-03-30T09:59:00+00:00"),  # and the actual ones too
        run_row(),  # 5: the run of line 2 again
        run_row(service_date="30/03/2024", cancelled="maybe", number=""),  # 6: three problems
        run_row(actual_departure="yesterday"),  # 7
        stop_row(number="G9"),  # 8: no run G9 in the file
        run_row(operator="CR", number="G1", route="", origin="Beijing", destination="London",
                scheduled_departure="2024-03-30T08:00:00+08:00",
                scheduled_arrival="2024-03-31T16:00:00+01:00"),  # 9: fine
        stop_row(),  # 10: fine
        stop_row(stop_city="Urumqi"),  # 11: stop 1 again
        stop_row(stop_sequence="0", stop_scheduled_departure="2024-03-30T19:00:00+06:00"),  # 12
    ]
    with pytest.raises(ImportFailed) as error:
        read_history_csv(write_csv(tmp_path / "bad.csv", rows))
    assert problem_places(error) == {
        (3, "scheduled_departure"),
        (4, "scheduled_arrival"),
        (4, "actual_arrival"),
        (5, "scheduled_departure"),
        (6, "service_date"),
        (6, "cancelled"),
        (6, "number"),
        (7, "actual_departure"),
        (8, "stop_sequence"),
        (11, "stop_sequence"),
        (12, "stop_sequence"),
        (12, "stop_scheduled_departure"),
    }
    messages = {(p.line, p.field): p.message for p in error.value.problems}
    assert "no UTC offset" in messages[(3, "scheduled_departure")]
    assert "already given on line 2" in messages[(5, "scheduled_departure")]
    assert "already given on line 10" in messages[(11, "stop_sequence")]
    assert "bad.csv, line 4, field scheduled_arrival: scheduled arrival" in str(error.value)


def test_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("number,origin,destination,departure\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        read_history_csv(path)
    assert problem_places(error) == {
        (1, "service_date"), (1, "scheduled_departure"), (1, "scheduled_arrival"),
        (1, "departure"),
    }
    path.write_bytes(b"")
    with pytest.raises(ImportFailed):
        read_history_csv(path)
    path.write_bytes(",".join(COLUMNS).encode() + b"\nBA,\xff\n")
    with pytest.raises(ImportFailed) as error:
        read_history_csv(path)
    assert problem_places(error) == {(2, None)}


# --- Loading --------------------------------------------------------------------------------


def test_load_checks_services_and_cities_and_writes_nothing_on_failure(
    tmp_path: Path, session: Session
) -> None:
    load_feed(session, small_feed())
    session.commit()
    rows = [
        run_row(),
        run_row(number="BA9"),  # 3: unknown service
        run_row(destination="Paris", scheduled_departure="2024-03-30T08:00:00+00:00"),  # 4
        run_row(operator="CR", number="G1", route="", origin="Beijing", destination="London",
                scheduled_departure="2024-03-30T08:00:00+08:00",
                scheduled_arrival="2024-03-31T16:00:00+01:00"),
        stop_row(stop_city="Kashgar"),  # 6: unknown stop city
    ]
    trips = read_history_csv(write_csv(tmp_path / "t.csv", rows))
    with pytest.raises(ImportFailed) as error:
        load_history(session, trips)
    assert problem_places(error) == {(3, "number"), (4, "destination"), (6, "stop_city")}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 0


def _lookups_and_format_problems(tmp_path: Path) -> Path:
    """Line 2 reads but names an unknown service and city; line 3 has a bad date; line 4's
    stop belongs to the run of line 3 (not reported again as an orphan)."""
    return write_csv(tmp_path / "mixed.csv", [
        run_row(operator="", number="G99999", route="", destination="Nowhere"),
        run_row(service_date="2024-02-30", scheduled_departure="2024-03-31T09:00:00+00:00",
                scheduled_arrival="2024-03-31T12:00:00-04:00"),
        stop_row(operator="BA", number="BA1", route="LHR-JFK", origin="London",
                 scheduled_departure="2024-03-31T09:00:00+00:00", stop_city="Paris"),
    ])


def test_lookups_are_reported_with_the_format_problems(tmp_path: Path, session: Session) -> None:
    from transit import editing

    load_feed(session, small_feed())
    session.commit()
    path = _lookups_and_format_problems(tmp_path)
    with pytest.raises(ImportFailed) as error:
        editing.import_history(session, path, user="test", dry_run=True)
    assert [(p.line, p.field) for p in error.value.problems] == [
        (2, "number"), (2, "destination"), (3, "service_date"), (4, "stop_city"),
    ]
    assert error.value.problems[3].message == "unknown city 'Paris'"
    assert "unknown service G99999" in error.value.problems[0].message
    assert "unknown city 'Nowhere'" in error.value.problems[1].message
    session.rollback()
    # Read on its own, the file still raises its own problems.
    with pytest.raises(ImportFailed) as error:
        read_history_csv(path)
    assert problem_places(error) == {(3, "service_date")}


def test_unknown_cities_are_reported_on_rows_refused_for_other_problems(
    tmp_path: Path, session: Session
) -> None:
    # A row with a bad time and an unknown city gets both problems in one import, not the
    # city's only once the time is mended.
    from transit import editing

    load_feed(session, small_feed())
    session.commit()
    path = write_csv(tmp_path / "both.csv", [
        run_row(destination="Nowhere", scheduled_arrival="noon"),
        run_row(origin="Atlantis", service_date="2024-03-31", cancelled="maybe"),
        stop_row(stop_city="Shangri-La", stop_scheduled_arrival="2024-03-30T25:00"),
        stop_row(stop_city="Urumqi", stop_sequence="x"),
    ])
    with pytest.raises(ImportFailed) as error:
        editing.import_history(session, path, user="test", dry_run=True)
    places = [(p.line, p.field, p.message) for p in error.value.problems]
    assert (2, "destination", "unknown city 'Nowhere'") in places
    assert (3, "origin", "unknown city 'Atlantis'") in places
    assert (4, "stop_city", "unknown city 'Shangri-La'") in places
    assert not [p for p in places if "Urumqi" in p[2] or "New York" in p[2]]
    assert [p[0] for p in places] == sorted(p[0] for p in places)
    assert {p[0] for p in places} == {2, 3, 4, 5}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 0


def test_cli_dry_run_reports_lookups_and_format_problems_at_once(app, runner, tmp_path: Path) -> None:
    from transit.web.extensions import db

    with app.app_context():
        load_feed(db.session, small_feed())
        db.session.commit()
    path = _lookups_and_format_problems(tmp_path)
    result = runner.invoke(args=["history", "import", "--dry-run", str(path)])
    assert result.exit_code == 1
    assert "Nothing was imported: 4 problems found." in result.output
    assert "mixed.csv, line 2, field number: unknown service G99999" in result.output
    assert "mixed.csv, line 2, field destination: unknown city 'Nowhere'" in result.output
    assert "mixed.csv, line 3, field service_date" in result.output


def test_actual_times_in_the_future_are_refused(tmp_path: Path) -> None:
    now = utc(2024, 3, 30, 18, 0)
    rows = [
        run_row(),  # 2: happened
        run_row(scheduled_departure="2024-03-30T19:00:00+00:00",  # 3: left in the future
                scheduled_arrival="2024-03-30T22:00:00-04:00",
                actual_departure="2024-03-30T19:00:00Z", actual_arrival=""),
        run_row(scheduled_departure="2024-04-02T09:00:00+00:00",  # 4: cancelled ahead: fine
                scheduled_arrival="2024-04-02T12:00:00-04:00", service_date="2024-04-02",
                actual_departure="", actual_arrival="", cancelled="true"),
        run_row(scheduled_departure="2024-03-30T17:00:00+00:00",  # 5: 4 minutes ahead: slack
                scheduled_arrival="2024-03-30T20:00:00-04:00",
                actual_departure="2024-03-30T18:04:00Z", actual_arrival=""),
        run_row(operator="CR", number="G1", route="", origin="Beijing", destination="London",
                scheduled_departure="2024-03-30T08:00:00+08:00",
                scheduled_arrival="2024-03-31T16:00:00+01:00", actual_departure="",
                actual_arrival="2024-03-31T16:00:00+01:00"),  # 6: arrives tomorrow
        stop_row(stop_actual_departure="2024-03-31T02:15:00+06:00"),  # 7: 20:15 UTC
    ]
    with pytest.raises(ImportFailed) as error:
        read_history_csv(write_csv(tmp_path / "f.csv", rows), now=now)
    assert problem_places(error) == {
        (3, "actual_departure"), (6, "actual_arrival"), (7, "stop_actual_departure"),
    }
    assert "is in the future" in str(error.value)
    assert "f.csv, line 3, field actual_departure: 2024-03-30T19:00:00Z is in the future" in str(
        error.value)
    good = [rows[0], rows[2], rows[3]]  # lines 2, 4 and 5
    assert len(read_history_csv(write_csv(tmp_path / "g.csv", good), now=now)) == 3
    # Without ``now``, the clock's time: a far-future actual time is refused.
    far = [run_row(service_date="2099-01-01", scheduled_departure="2099-01-01T09:00:00+00:00",
                   scheduled_arrival="2099-01-01T12:00:00-05:00",
                   actual_departure="2099-01-01T09:00:00Z", actual_arrival="")]
    with pytest.raises(ImportFailed):
        read_history_csv(write_csv(tmp_path / "far.csv", far))


def test_record_trip_refuses_actual_times_in_the_future(session: Session) -> None:
    from transit import editing

    load_feed(session, small_feed())
    session.commit()
    timetable = session.scalars(
        select(Timetable).join(Service).where(Service.number == "G1")).one()
    with pytest.raises(editing.EditError) as error:
        editing.record_trip(session, timetable, dt.date(2027, 2, 6), 0, 2,
                            actual_departure=dt.datetime(2027, 2, 6, 8, 1),  # noqa: DTZ001
                            actual_arrival=dt.datetime(2027, 2, 7, 16, 0),  # noqa: DTZ001
                            user="test", now=utc(2026, 11, 1))
    assert {issue.field for issue in error.value.issues} == {"actual_departure",
                                                              "actual_arrival"}
    assert "in the future" in error.value.issues[0].message
    # A run cancelled ahead of time has no actual times: recorded.
    assert editing.record_trip(session, timetable, dt.date(2027, 2, 6), 0, 2,
                               actual_departure=None, actual_arrival=None, cancelled=True,
                               user="test", now=utc(2026, 11, 1)) == 1
    # A run that happened is recorded as before.
    assert editing.record_trip(session, timetable, dt.date(2026, 10, 6), 0, 2,
                               actual_departure=dt.datetime(2026, 10, 6, 8, 1),  # noqa: DTZ001
                               actual_arrival=None, user="test", now=utc(2026, 11, 1)) == 1


def test_record_trip_names_the_field_of_a_time_days_from_the_timetable(session: Session) -> None:
    # QA: a run recorded 30 days late was refused by the history loader in one English line
    # at the top of the form; it is now a field error the pages translate.
    from transit import editing
    from transit.words import Words

    load_feed(session, small_feed())
    session.commit()
    timetable = session.scalars(
        select(Timetable).join(Service).where(Service.number == "G1")).one()
    with pytest.raises(editing.EditError) as error:
        editing.record_trip(session, timetable, dt.date(2026, 10, 6), 0, 1,
                            actual_departure=dt.datetime(2026, 10, 6, 8, 1),  # noqa: DTZ001
                            actual_arrival=dt.datetime(2026, 11, 5, 20, 0),  # noqa: DTZ001
                            user="test", now=utc(2026, 11, 28))
    assert error.value.kind == "invalid"
    [issue] = error.value.issues
    assert issue.field == "actual_arrival"
    assert isinstance(issue.message, Words)
    assert issue.message == "more than 72 hours from the timetable's time: check the date"


def test_load_then_reload(tmp_path: Path, session: Session) -> None:
    load_feed(session, small_feed())
    rows = [
        run_row(),
        run_row(operator="CR", number="G1", route="", origin="Beijing", destination="London",
                scheduled_departure="2024-03-30T08:00:00+08:00",
                scheduled_arrival="2024-03-31T16:00:00+01:00"),
        stop_row(),
    ]
    trips = read_history_csv(write_csv(tmp_path / "t.csv", rows))
    assert load_history(session, trips) == 2
    session.commit()
    record = session.scalars(select(TripRecord).join(Service).where(Service.number == "G1")).one()
    assert (record.origin.name, record.destination.name) == ("Beijing", "London")
    assert record.scheduled_departure == utc(2024, 3, 30, 0)
    assert [(s.sequence, s.city.name, s.scheduled_arrival) for s in record.stops] == [
        (1, "Urumqi", utc(2024, 3, 30, 14))]
    # The same runs again: nothing added. Other values for a recorded run: a problem.
    assert load_history(session, read_history_csv(tmp_path / "t.csv")) == 0
    changed = read_history_csv(write_csv(tmp_path / "t2.csv", [run_row(cancelled="true")]))
    with pytest.raises(ImportFailed) as error:
        load_history(session, changed)
    assert "already recorded with other values" in str(error.value)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 2
    assert session.scalar(select(func.count()).select_from(TripRecordStop)) == 1


def test_export_writes_local_times_that_read_back(tmp_path: Path, session: Session) -> None:
    load_feed(session, small_feed())
    rows = [
        run_row(),
        run_row(operator="CR", number="G1", route="", origin="Beijing", destination="London",
                scheduled_departure="2024-03-30T08:00:00+08:00",
                scheduled_arrival="2024-03-31T16:00:00+01:00", cancelled="yes"),
        stop_row(stop_actual_departure="2024-03-30T20:15:00+06:00"),
    ]
    trips = read_history_csv(write_csv(tmp_path / "in.csv", rows))
    load_history(session, trips)
    session.commit()
    assert write_history_csv(session, tmp_path / "out.csv") == 2
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [r["number"] for r in written] == ["BA1", "G1", "G1"]
    assert written[0]["scheduled_arrival"] == "2024-03-30T12:00:00-04:00"  # New York time
    assert written[1]["scheduled_departure"] == "2024-03-30T08:00:00+08:00"  # Beijing time
    assert written[1]["scheduled_arrival"] == "2024-03-31T16:00:00+01:00"  # London summer time
    assert written[1]["cancelled"] == "true"
    assert written[2]["stop_actual_departure"] == "2024-03-30T20:15:00+06:00"  # Urumqi time
    assert read_history_csv(tmp_path / "out.csv") == trips


minutes = st.integers(0, 3 * 24 * 60)
delays = st.integers(0, 36 * 60)  # two add up to the 72 hours an actual time may be late


@st.composite
def history_trips(draw: st.DrawFn) -> list[HistoryTrip]:
    """Runs of the two services of small_feed() with arbitrary (ordered, plausible) times."""
    trips = []
    departures = draw(st.lists(st.integers(0, 400 * 24 * 60), min_size=1, max_size=8, unique=True))
    for start in departures:
        flight = draw(st.booleans())
        departure = dt.datetime(2024, 1, 1) + dt.timedelta(minutes=start)  # noqa: DTZ001
        arrival = departure + dt.timedelta(minutes=draw(minutes))
        actual = draw(st.none() | st.tuples(delays, delays))
        trip = HistoryTrip(
            operator="BA" if flight else "CR", number="BA1" if flight else "G1",
            route="LHR-JFK" if flight else "", service_date=departure.date(),
            origin="London" if flight else "Beijing",
            destination="New York" if flight else "London",
            scheduled_departure=departure, scheduled_arrival=arrival,
            actual_departure=None if actual is None else departure + dt.timedelta(minutes=actual[0]),
            actual_arrival=None if actual is None
            else arrival + dt.timedelta(minutes=actual[0] + actual[1]),
            cancelled=draw(st.booleans()), source=draw(st.sampled_from(["", "manual", "été"])),
        )
        if not flight and draw(st.booleans()):
            trip.stops.append(HistoryStop(1, "Urumqi", scheduled_arrival=departure,
                                          actual_departure=arrival))
        trips.append(trip)
    return trips


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trips=history_trips())
def test_export_import_round_trip(engine: Engine, trips: list[HistoryTrip]) -> None:
    with Session(engine) as session:
        if not session.scalar(select(func.count()).select_from(City)):
            load_feed(session, small_feed())
            session.commit()
        session.execute(TripRecord.__table__.delete())
        assert load_history(session, trips) == len(trips)
        session.commit()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "history.csv"
            write_history_csv(session, path)
            back = read_history_csv(path)
    key = lambda trip: trip.key  # noqa: E731
    assert sorted(back, key=key) == sorted(trips, key=key)


# --- bhmtrains ------------------------------------------------------------------------------

BHM = "Birmingham New Street"


@pytest.mark.slow
def test_bhmtrains_whole_file(shared_data: Path, session: Session) -> None:
    notes: list[str] = []
    feed, trips = read_bhmtrains(shared_data / "history" / "bhmtrains.csv.gz", notes)
    # 83,710 rows; 11 departures listed twice keep one run each.
    assert len(trips) == 83_699
    assert sum(t.cancelled for t in trips) == 2_112
    assert notes == [
        "111 runs had scheduled times dated a day late (after the run's next scheduled time): "
        "moved back to the day before",
        "11 departures were listed twice (a cancelled schedule and its replacement): kept the run "
        "with the most actual times",
    ]
    counts = feed.counts()
    assert counts["cities"] == 85 and counts["services"] == {"train": 2904}
    assert all(c.timezone == "Europe/London" and c.latitude is None for c in feed.cities.values())
    assert BHM in feed.cities and "EUS" in feed.cities and "BHM" not in feed.cities
    by_line = {t.line: t for t in trips}

    # Line 2: London Midland EUS 21:49 -> BHM 00:04 (UK winter: UTC = local).
    first = by_line[2]
    assert (first.operator, first.number, first.origin, first.destination) == (
        "London Midland", "London Midland EUS-BHM 2149", "EUS", BHM)
    assert (first.service_date, first.scheduled_departure, first.scheduled_arrival) == (
        dt.date(2016, 11, 30), utc(2016, 11, 30, 21, 49), utc(2016, 12, 1, 0, 4))
    assert first.stops == [] and not first.cancelled and first.source == "bhmtrains"

    # A cancelled run through Birmingham: SHR 05:18 -> BHI, left on time, never arrived.
    [through] = [t for t in trips if t.number == "Arriva Trains Wales SHR-BHI 0518"
                 and t.service_date == dt.date(2016, 12, 1)]
    assert through.cancelled and through.actual_departure == utc(2016, 12, 1, 5, 18)
    assert through.actual_arrival is None
    assert through.stops == [HistoryStop(1, BHM, utc(2016, 12, 1, 6, 15), utc(2016, 12, 1, 6, 36),
                                         utc(2016, 12, 1, 6, 18), None)]

    # The origin of 33968392 is dated 2016-12-02 07:42 in the source, after its 08:02 arrival
    # at Birmingham on 2016-12-01: moved back a day.
    [repaired] = [t for t in trips if t.number == "London Midland LOB-LTV 0742"
                  and t.service_date == dt.date(2016, 12, 1)]
    assert repaired.scheduled_departure == utc(2016, 12, 1, 7, 42)
    assert repaired.actual_arrival == utc(2016, 12, 1, 8, 48)

    # 35737636 (ran) and 35737554 (cancelled) are both BHM 18:49 -> NOT on 2017-01-24.
    assert 49800 in by_line and 49802 not in by_line
    assert by_line[49800].actual_departure == utc(2017, 1, 24, 18, 48)

    # The timetable of the SHR-BHI 05:18: origin, Birmingham, destination, local seconds.
    service = next(s for s in feed.services if s.number == "Arriva Trains Wales SHR-BHI 0518")
    assert service.operator == "Arriva Trains Wales" and service.currency == "GBP"
    timetable = service.timetables[0]
    assert [(s.city, s.arrival, s.departure) for s in timetable.stops] == [
        ("SHR", None, 5 * 3600 + 18 * 60), (BHM, 6 * 3600 + 15 * 60, 6 * 3600 + 36 * 60),
        ("BHI", 6 * 3600 + 49 * 60, None)]
    # Each service's calendars hold exactly the days a run of it was scheduled.
    scheduled: dict[str, set[dt.date]] = {}
    for trip in trips:
        scheduled.setdefault(trip.number, set()).add(trip.service_date)
    for service in feed.services[::10]:
        days = scheduled[service.number]
        covered: set[dt.date] = set()
        for variant in service.timetables:
            calendar = feed.calendars[variant.calendar]
            span = [dt.date(2016, 11, 30) + dt.timedelta(days=n) for n in range(91)]
            covered |= {day for day in span if calendar.runs_on(day)}
        assert covered == days, service.number

    report = load_feed(session, feed)
    assert report.counts["services"] == {"train": 2904}
    assert load_history(session, trips) == 83_699
    session.commit()
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 83_699
    assert session.scalar(select(func.count()).select_from(TripRecordStop)) == 37_079
    assert session.scalar(select(func.count()).select_from(Timetable)) == counts["timetables"]
    assert session.scalar(
        select(func.count()).select_from(TripRecord).where(TripRecord.cancelled)) == 2_112


def test_bhmtrains_overnight_times_are_past_midnight(tmp_path: Path, shared_data: Path) -> None:
    excerpt = tmp_path / "excerpt.csv"
    with gzip.open(shared_data / "history" / "bhmtrains.csv.gz", "rt", encoding="utf-8") as src:
        excerpt.write_text("".join(next(src) for _ in range(6)), encoding="utf-8")
    feed, trips = read_bhmtrains(excerpt)
    assert len(trips) == 5
    service = next(s for s in feed.services if s.number == "Virgin Trains EUS-BHM 2230")
    assert [(s.city, s.arrival, s.departure) for s in service.timetables[0].stops] == [
        ("EUS", None, 22 * 3600 + 30 * 60), (BHM, 24 * 3600 + 40 * 60, None)]
    calendar = feed.calendars[service.timetables[0].calendar]
    assert calendar.runs_on(dt.date(2016, 11, 30)) and not calendar.runs_on(dt.date(2016, 12, 1))


def test_bhmtrains_in_summer_time_is_converted_to_utc(tmp_path: Path) -> None:
    header = ("ServiceId,Status,TOC,TrainCategory,PowerType,SchedSpeedMPH,Origin,"
              "OriginGbttDeparture,OriginActualDeparture,GbttArrival,ActualArrival,GbttDeparture,"
              "ActualDeparture,Destination,DestinationGbttArrival,DestinationActualArrival\n")
    path = tmp_path / "summer.csv"
    path.write_text(header + "1,A,CrossCountry,,,,BRI,2017-06-01 10:00:00,2017-06-01 10:01:00,"
                    "2017-06-01 11:30:00,,2017-06-01 11:40:00,,NCL,2017-06-01 15:00:00,\n",
                    encoding="utf-8")
    _feed, [trip] = read_bhmtrains(path)
    assert trip.scheduled_departure == utc(2017, 6, 1, 9) and trip.actual_arrival is None
    assert trip.stops[0].scheduled_departure == utc(2017, 6, 1, 10, 40)
    london = ZoneInfo("Europe/London")
    assert trip.scheduled_arrival == dt.datetime(2017, 6, 1, 15, tzinfo=london).astimezone(
        dt.UTC).replace(tzinfo=None)


def test_bhmtrains_bad_rows(tmp_path: Path) -> None:
    header = ("ServiceId,Status,TOC,TrainCategory,PowerType,SchedSpeedMPH,Origin,"
              "OriginGbttDeparture,OriginActualDeparture,GbttArrival,ActualArrival,GbttDeparture,"
              "ActualDeparture,Destination,DestinationGbttArrival,DestinationActualArrival\n")
    path = tmp_path / "bad.csv"
    path.write_text(header
                    + "1,X,CrossCountry,,,,BRI,2017-06-01 10:00:00,,,,,,BHM,2017-06-01 11:00:00,\n"
                    + "2,A,CrossCountry,,,,BRI,soon,,,,,,BHM,2017-06-01 11:00:00,\n",
                    encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        read_bhmtrains(path)
    assert problem_places(error) == {(2, "Status"), (3, "OriginGbttDeparture")}
    path.write_text("ServiceId,Status\n1,A\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        read_bhmtrains(path)
    assert problem_places(error) == {(1, None)}


# --- flask history --------------------------------------------------------------------------


def test_cli_import_csv(app, runner, tmp_path: Path) -> None:
    from transit.web.extensions import db

    with app.app_context():
        load_feed(db.session, small_feed())
        db.session.commit()
    good = write_csv(tmp_path / "good.csv", [run_row()])
    result = runner.invoke(args=["history", "import", str(good), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "good.csv: 1 valid run; would add 1 past run (dry run" in result.output
    result = runner.invoke(args=["history", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "good.csv: added 1 past run in" in result.output
    result = runner.invoke(args=["history", "import", str(good)])
    assert "added no past runs, skipped 1 already recorded" in result.output

    bad = write_csv(tmp_path / "bad.csv", [
        run_row(scheduled_departure="2024-04-01T09:00:00+00:00",
                scheduled_arrival="2024-04-01T12:00:00-04:00"),
        run_row(number="BA404", scheduled_departure="2024-04-02T09:00:00+00:00",
                scheduled_arrival="2024-04-02T12:00:00-04:00"),
    ])
    result = runner.invoke(args=["history", "import", str(bad)])
    assert result.exit_code == 1
    assert "Nothing was imported: 1 problem found." in result.output
    assert "bad.csv, line 3, field number: unknown service BA BA404" in result.output
    with app.app_context():
        # The valid first row was not kept either.
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 1


def test_cli_import_bhmtrains(app, runner, tmp_path: Path, shared_data: Path) -> None:
    from transit.web.extensions import db

    assert DEFAULT_BHMTRAINS == shared_data / "history" / "bhmtrains.csv.gz"
    excerpt = tmp_path / "bhm.csv.gz"
    with gzip.open(shared_data / "history" / "bhmtrains.csv.gz", "rt", encoding="utf-8") as src:
        lines = [next(src) for _ in range(201)]
    with gzip.open(excerpt, "wt", encoding="utf-8") as out:
        out.write("".join(lines))
    result = runner.invoke(args=["history", "import-bhmtrains", str(excerpt), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would add 200 past runs of the 200 read" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) == 0
    result = runner.invoke(args=["history", "import-bhmtrains", str(excerpt)])
    assert result.exit_code == 0, result.output
    assert "Added 200 past runs of the 200 read" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 200
    # Again: the services are skipped as identical, the runs as already recorded.
    result = runner.invoke(args=["history", "import-bhmtrains", str(excerpt)])
    assert result.exit_code == 0, result.output
    assert "Added no past runs of the 200 read" in result.output

    broken = tmp_path / "broken.csv"
    broken.write_text(lines[0] + lines[1].replace(",A,", ",Q,", 1), encoding="utf-8")
    result = runner.invoke(args=["history", "import-bhmtrains", str(broken)])
    assert result.exit_code == 1
    assert "broken.csv, line 2, field Status" in result.output
    result = runner.invoke(args=["history", "import-bhmtrains", str(tmp_path / "missing.csv")])
    assert result.exit_code != 0
    assert "is not a file" in result.output


def test_the_documented_example_reads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "history-format.md").read_text("utf-8")
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.csv").write_text(example, encoding="utf-8")
    [trip] = read_history_csv(tmp_path / "example.csv")
    assert trip.cancelled and trip.actual_arrival is None
    assert [(s.sequence, s.city, s.actual_arrival) for s in trip.stops] == [
        (1, BHM, utc(2016, 12, 1, 6, 18))]


def test_nul_byte_is_a_problem_with_its_place(tmp_path: Path) -> None:
    """PostgreSQL can neither store nor look up text with NUL: the reader refuses it."""
    rows = [run_row(), run_row(number="G\x001", origin="Bei\x00jing")]
    with pytest.raises(ImportFailed) as error:
        read_history_csv(write_csv(tmp_path / "nul.csv", rows))
    assert problem_places(error) == {(3, "number"), (3, "origin")}
    assert all("NUL" in p.message for p in error.value.problems)


# --- the admin pages ----------------------------------------------------------------------------


def test_admin_pages_speak_of_trip_history(app, client, runner, tmp_path: Path) -> None:
    import io

    from tests.admin_helpers import log_in, make_admin, post
    from transit.timetable.formats import detect_format
    from transit.web.extensions import db

    app.config["TRANSIT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    make_admin(app)
    with app.app_context():
        load_feed(db.session, small_feed())
        db.session.commit()
    log_in(client)
    page = client.get("/admin/history").get_data(as_text=True)
    assert "a long trip history takes a minute" in page and "large timetables" not in page
    # A trip-history CSV sent as a timetable: said so, with the way to the right page.
    path = write_csv(tmp_path / "runs.csv", [run_row()])
    with pytest.raises(ImportFailed) as error:
        detect_format(path)
    assert error.value.kind == "trip_history" and "trip-history CSV" in str(error.value)
    reply = post(client, "/admin/imports", {"file": (io.BytesIO(path.read_bytes()), "runs.csv")},
                 content_type="multipart/form-data")
    report = client.get(reply.location).get_data(as_text=True)
    assert "this is a trip-history CSV" in report and "none of the timetable formats" not in report
    assert 'href="/admin/history"' in report
    history = post(client, "/admin/history", {"file": (io.BytesIO(path.read_bytes()), "runs.csv")},
                   content_type="multipart/form-data")
    report = client.get(history.location).get_data(as_text=True)
    assert "a long trip history takes a minute" in report and "large timetables" not in report
    result = runner.invoke(args=["timetable", "import", str(path)])
    assert result.exit_code == 1 and "history import FILE.csv" in result.output
