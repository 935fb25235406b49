"""QA findings on the import doors: a CSV bundle's fares and currencies held to the rules of
the admin's editor and service form, and trip-history service dates and conflicts said as
the recorder knows the run (its day, its local time)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.test_history import run_row, small_feed, utc, write_csv
from transit import editing
from transit import schemas as s
from transit.models import Service, ServiceFare, Timetable, TripRecord
from transit.timetable.csvbundle import read_bundle
from transit.timetable.feed import ImportFailed, currency_codes
from transit.timetable.history import load_history, read_history_csv
from transit.timetable.loader import load_feed

# 北京 - 上海 on QAX2; 广州 is a city of the bundle, but no stop of QAX2.
BUNDLE = {
    "cities.csv": "name,timezone\n北京,Asia/Shanghai\n上海,Asia/Shanghai\n广州,Asia/Shanghai\n",
    "calendars.csv": "calendar,weekdays\nd,1111111\n",
    "services.csv": "operator,number,route,mode,name,currency\n,QAX2,,train,,CNY\n",
    "timetables.csv": "operator,number,route,code,calendar,headsign\n,QAX2,,a,d,\n",
    "stops.csv": (
        "operator,number,route,code,sequence,city,arrival,departure,fare\n"
        ",QAX2,,a,0,北京,,08:00:00,\n"
        ",QAX2,,a,1,上海,13:00:00,,500\n"
    ),
}


def _bundle(folder: Path, **files: str) -> Path:
    folder.mkdir()
    for name, text in {**BUNDLE, **files}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _fares(*rows: str) -> str:
    return "operator,number,route,origin,destination,fare\n" + "".join(f"{r}\n" for r in rows)


def _places(error: pytest.ExceptionInfo[ImportFailed]) -> list[tuple[str, int | None, str | None]]:
    return [(p.file, p.line, p.field) for p in error.value.problems]


# --- 1. origin-destination fares between stops of their service ------------------------------


def test_a_fare_to_a_city_the_service_does_not_call_at_is_refused_at_its_line(
    session: Session, tmp_path: Path
) -> None:
    """QA: ``QAX2,北京,广州,50`` was committed (the dry run said "No problems found"), and the
    admin then refused every fare change of QAX2 ("to: 广州 is not a stop of this service")."""
    folder = _bundle(tmp_path / "b", **{"fares.csv": _fares(",QAX2,,北京,上海,450",
                                                            ",QAX2,,北京,广州,50",
                                                            ",QAX2,,广州,上海,50")})
    for dry_run in (True, False):
        with pytest.raises(ImportFailed) as error:
            load_feed(session, read_bundle(folder), dry_run=dry_run)
        assert _places(error) == [("fares.csv", 3, "destination"), ("fares.csv", 4, "origin")]
        assert error.value.problems[0].message == (
            "广州 is not a stop of service train QAX2: a fare is between two cities some "
            "variant of the service calls at")
        session.rollback()
    assert session.scalar(select(func.count()).select_from(Service)) == 0
    assert session.scalar(select(func.count()).select_from(ServiceFare)) == 0


def test_the_fares_an_import_takes_are_fares_the_editor_saves_unchanged(
    session: Session, tmp_path: Path
) -> None:
    """The editor's rule, exactly (transit.editing.build_fares): both cities are stops of
    some variant, the origin before the destination on one of them. A fare from 上海 back to
    北京 on a service that only runs 北京 - 上海 could never be charged: refused at its line,
    nothing written; with a variant running back, both fares are taken and the editor saves
    them unchanged."""
    reversed_fare = _bundle(tmp_path / "one-way",
                            **{"fares.csv": _fares(",QAX2,,北京,上海,450", ",QAX2,,上海,北京,440")})
    with pytest.raises(ImportFailed) as error:
        load_feed(session, read_bundle(reversed_fare))
    assert _places(error) == [("fares.csv", 3, "origin")]
    assert error.value.problems[0].message == (
        "上海 comes after 北京 on every variant of service train QAX2, so this fare could "
        "never be charged")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Service)) == 0

    both_ways = _bundle(
        tmp_path / "both-ways",
        **{"fares.csv": _fares(",QAX2,,北京,上海,450", ",QAX2,,上海,北京,440"),
           "timetables.csv": "operator,number,route,code,calendar,headsign\n,QAX2,,a,d,\n"
                             ",QAX2,,b,d,\n",
           "stops.csv": BUNDLE["stops.csv"] + ",QAX2,,b,0,上海,,15:00:00,\n"
                                               ",QAX2,,b,1,北京,20:00:00,,500\n"},
    )
    load_feed(session, read_bundle(both_ways))
    session.commit()
    service = session.scalars(select(Service)).one()
    fares = [s.FareIn(origin=f.origin.name, destination=f.destination.name,
                      fare_cents=f.fare_cents) for f in service.fares]
    assert len(editing.replace_fares(session, service, fares, user="test")) == 2
    session.commit()
    assert sorted((f.origin.name, f.destination.name, f.fare_cents) for f in service.fares) == [
        ("上海", "北京", 44000), ("北京", "上海", 45000)]


def test_a_fare_running_back_on_a_stored_variant_is_taken(session: Session, tmp_path: Path) -> None:
    """The direction counts the variants already in the database: a return variant imported
    before makes a 上海 - 北京 fare chargeable."""
    back = _bundle(
        tmp_path / "back",
        **{"timetables.csv": "operator,number,route,code,calendar,headsign\n,QAX2,,b,d,\n",
           "stops.csv": "operator,number,route,code,sequence,city,arrival,departure,fare\n"
                        ",QAX2,,b,0,上海,,15:00:00,\n,QAX2,,b,1,北京,20:00:00,,500\n"},
    )
    load_feed(session, read_bundle(back))
    session.commit()
    fare_only = _bundle(
        tmp_path / "fare",
        **{"timetables.csv": "operator,number,route,code,calendar,headsign\n",
           "stops.csv": "operator,number,route,code,sequence,city,arrival,departure,fare\n",
           "fares.csv": _fares(",QAX2,,上海,北京,440")},
    )
    assert load_feed(session, read_bundle(fare_only)).counts["fares"] == 1


def test_a_fare_between_stops_of_variants_already_in_the_database_is_taken(
    session: Session, tmp_path: Path
) -> None:
    """A bundle adding fares to a service whose timetable was imported before: the stops of
    the stored variants count, as they do in the editor."""
    load_feed(session, read_bundle(_bundle(tmp_path / "first")))
    session.commit()
    second = _bundle(
        tmp_path / "second",
        **{"timetables.csv": "operator,number,route,code,calendar,headsign\n",
           "stops.csv": "operator,number,route,code,sequence,city,arrival,departure,fare\n",
           "fares.csv": _fares(",QAX2,,北京,上海,450")},
    )
    report = load_feed(session, read_bundle(second))
    session.commit()
    assert report.counts["fares"] == 1
    third = _bundle(
        tmp_path / "third",
        **{"timetables.csv": "operator,number,route,code,calendar,headsign\n",
           "stops.csv": "operator,number,route,code,sequence,city,arrival,departure,fare\n",
           "fares.csv": _fares(",QAX2,,上海,广州,50")},
    )
    with pytest.raises(ImportFailed) as error:
        load_feed(session, read_bundle(third))
    assert _places(error) == [("fares.csv", 2, "destination")]


def test_a_fare_at_odds_with_the_stored_one_names_its_line(session: Session, tmp_path: Path) -> None:
    load_feed(session, read_bundle(_bundle(tmp_path / "first",
                                           **{"fares.csv": _fares(",QAX2,,北京,上海,450")})))
    session.commit()
    with pytest.raises(ImportFailed) as error:
        load_feed(session, read_bundle(_bundle(tmp_path / "second",
                                               **{"fares.csv": _fares(",QAX2,,北京,上海,460")})))
    assert _places(error) == [("fares.csv", 2, "fare")]


# --- 2. currencies: ISO 4217 codes, as the service form needs ---------------------------------


@pytest.mark.parametrize("currency", ["C1Y", "EURO", "eur", "ABC", "€"])
def test_a_currency_that_is_no_iso_code_is_refused_at_its_line(
    tmp_path: Path, currency: str
) -> None:
    folder = _bundle(tmp_path / "b", **{
        "services.csv": f"operator,number,route,mode,name,currency\n,QAX2,,train,,{currency}\n"})
    with pytest.raises(ImportFailed) as error:
        read_bundle(folder)
    assert _places(error) == [("services.csv", 2, "currency")]
    assert f"{currency!r} is not an ISO 4217 currency code" in error.value.problems[0].message


@pytest.mark.parametrize("currency", ["CNY", "EUR", "GBP", "XXX", ""])
def test_an_iso_currency_or_none_is_taken(tmp_path: Path, currency: str) -> None:
    # No currency means no fares: the bundle's one leg fare goes too.
    folder = _bundle(tmp_path / "b", **{
        "services.csv": f"operator,number,route,mode,name,currency\n,QAX2,,train,,{currency}\n",
        "stops.csv": BUNDLE["stops.csv"] if currency else BUNDLE["stops.csv"].replace(",500\n", ",\n")})
    (service,) = read_bundle(folder).services
    assert service.currency == currency


def test_every_currency_an_import_takes_the_service_form_saves() -> None:
    assert {"CNY", "EUR", "USD", "GBP", "JPY"} <= currency_codes()
    for code in currency_codes():
        assert re.fullmatch(r"[A-Z]{3}", code)
        assert s.ServiceUpdate(currency=code).currency == code


# --- 3. trip-history service dates in the years of the timetable ------------------------------


@pytest.mark.parametrize("day", ["0001-11-01", "1000-11-01", "1800-11-01", "3000-01-01"])
def test_a_service_date_outside_the_routing_years_is_refused(tmp_path: Path, day: str) -> None:
    """QA: years 0001, 1000 and 1800 were taken (and came back with LMT offsets such as
    +08:05:43); "Record a run" refuses days outside 1900-2999."""
    year = day[:4]
    row = run_row(service_date=day, scheduled_departure=f"{year}-11-01T09:00:00+00:00",
                  scheduled_arrival=f"{year}-11-01T12:00:00-04:00",
                  actual_departure="", actual_arrival="")
    with pytest.raises(ImportFailed) as error:
        read_history_csv(write_csv(tmp_path / "t.csv", [row]), now=utc(2026, 1, 1))
    places = _places(error)
    assert ("t.csv", 2, "service_date") in places
    assert {field for _, _, field in places} <= {"service_date", "scheduled_departure",
                                                 "scheduled_arrival"}
    problem = next(p for p in error.value.problems if p.field == "service_date")
    assert "outside the years 1900 to 2999" in problem.message


def test_a_time_in_year_one_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """0001-01-01T00:30+08:00 is in year 0 UTC: Python could not even convert it."""
    row = run_row(service_date="2024-03-30", scheduled_departure="0001-01-01T00:30:00+08:00",
                  actual_departure="", actual_arrival="")
    with pytest.raises(ImportFailed) as error:
        read_history_csv(write_csv(tmp_path / "t.csv", [row]), now=utc(2026, 1, 1))
    assert ("t.csv", 2, "scheduled_departure") in _places(error)


def test_a_scheduled_departure_far_from_the_service_date_is_refused(tmp_path: Path) -> None:
    rows = [run_row(service_date="2024-03-30", actual_departure="", actual_arrival="",
                    scheduled_departure="2025-03-30T09:00:00+00:00",
                    scheduled_arrival="2025-03-30T12:00:00-04:00"),
            # Within the day's reach: a run leaving 13 days after its service day starts.
            run_row(service_date="2024-03-17", actual_departure="", actual_arrival="")]
    with pytest.raises(ImportFailed) as error:
        read_history_csv(write_csv(tmp_path / "t.csv", rows), now=utc(2026, 1, 1))
    assert _places(error) == [("t.csv", 2, "service_date")]
    assert "2024-03-30 is 365 days before the scheduled departure" in error.value.problems[0].message


def test_runs_made_otherwise_meet_the_service_date_rule_on_loading(session: Session) -> None:
    from transit.timetable.history import HistoryTrip

    load_feed(session, small_feed())
    trip = HistoryTrip(operator="BA", number="BA1", route="LHR-JFK",
                       service_date=dt.date(1800, 3, 30), origin="London",
                       destination="New York", scheduled_departure=utc(2024, 3, 30, 9),
                       scheduled_arrival=utc(2024, 3, 30, 16), file="made", line=1)
    with pytest.raises(ImportFailed) as error:
        load_history(session, [trip])
    assert _places(error) == [("made", 1, "service_date")]


def test_a_future_run_without_actual_times_is_taken_as_record_a_run_takes_it(
    session: Session, tmp_path: Path
) -> None:
    """Record a run takes a day after today with no actual time when the run is cancelled
    (it refuses only actual times in the future; a run neither cancelled nor timed says
    nothing there, and could not be corrected once recorded): the file reader takes such
    runs, whose outcome a source may not know."""
    from transit import editing

    load_feed(session, small_feed())
    session.commit()
    timetable = session.scalars(select(Timetable).join(Service).where(Service.number == "G1")).one()
    assert editing.record_trip(session, timetable, dt.date(2027, 2, 6), 0, 2,
                               actual_departure=None, actual_arrival=None, cancelled=True,
                               user="test", now=utc(2026, 11, 1)) == 1
    row = run_row(service_date="2027-02-06", scheduled_departure="2027-02-06T09:00:00+00:00",
                  scheduled_arrival="2027-02-06T12:00:00-05:00", actual_departure="",
                  actual_arrival="")
    assert len(read_history_csv(write_csv(tmp_path / "t.csv", [row]), now=utc(2026, 11, 1))) == 1


# --- 4. a run recorded with other values, said as the recorder knows it ------------------------


def test_a_file_run_at_odds_with_the_recorded_one_names_the_field_that_differs(
    session: Session, tmp_path: Path
) -> None:
    load_feed(session, small_feed())
    rows = [run_row(), run_row(operator="CR", number="G1", route="", origin="Beijing",
                               destination="London", service_date="2024-03-30",
                               scheduled_departure="2024-03-30T08:00:00+08:00",
                               scheduled_arrival="2024-03-31T16:00:00+01:00",
                               actual_departure="", actual_arrival="")]
    assert load_history(session, read_history_csv(write_csv(tmp_path / "a.csv", rows))) == 2
    session.commit()
    again = [run_row(actual_arrival="2024-03-30T12:25:00-04:00", cancelled=""),
             run_row(operator="CR", number="G1", route="", origin="Beijing",
                     destination="Urumqi", service_date="2024-03-30",
                     scheduled_departure="2024-03-30T08:00:00+08:00",
                     scheduled_arrival="2024-03-30T20:00:00+06:00",
                     actual_departure="", actual_arrival="", cancelled="true")]
    with pytest.raises(ImportFailed) as error:
        load_history(session, read_history_csv(write_csv(tmp_path / "b.csv", again)))
    assert _places(error) == [("b.csv", 2, "actual_arrival"), ("b.csv", 3, "destination")]
    first, second = (p.message for p in error.value.problems)
    assert first.startswith(
        "the run of 2024-03-30, BA BA1 (LHR-JFK) from London at 09:00, is already recorded with "
        "other values (actual arrival: 12:05 recorded, 12:25 here)")
    assert second.startswith(
        "the run of 2024-03-30, CR G1 from Beijing at 08:00, is already recorded with other "
        "values (destination: London recorded, Urumqi here; scheduled arrival: 2024-03-31 "
        "16:00 recorded, 20:00 here; cancelled: no recorded, yes here)")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 2

