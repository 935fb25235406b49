"""``flask timetable import/export/stats`` through the CLI runner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from tests.live import fresh_app
from transit.models import Service
from transit.timetable.history import HistoryTrip, load_history

CALTRAIN = "gtfs/caltrain_gtfs_2017-07-24.zip"
EMPTY = {
    "cities": 0,
    "services": {m: 0 for m in ("train", "flight", "bus", "coach", "ferry", "tram", "subway", "cable", "other")},
    "timetables": 0,
    "stops": 0,
    "trip_records": 0,
}


def stats(runner) -> dict:
    result = runner.invoke(args=["timetable", "stats", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_import_gtfs_and_stats(runner, shared_data: Path) -> None:
    assert stats(runner) == EMPTY
    result = runner.invoke(args=["timetable", "import", str(shared_data / CALTRAIN)])
    assert result.exit_code == 0, result.output
    assert "Added 33 cities, 22 buses, 120 trains, 188 timetables, 2,697 stops" in result.output
    counts = stats(runner)
    assert counts == dict(
        EMPTY, cities=33, timetables=188, stops=2697,
        services=dict(EMPTY["services"], train=120, bus=22),
    )
    again = runner.invoke(args=["timetable", "import", "--format", "gtfs", str(shared_data / CALTRAIN)])
    assert again.exit_code == 0, again.output
    assert "Added no cities, no services, no timetables" in again.output and "Skipped" in again.output
    assert stats(runner) == counts
    text = runner.invoke(args=["timetable", "stats"])
    assert "120 train" in text.output and "timetables:   188" in text.output


def test_dry_run_writes_nothing(runner, shared_data: Path) -> None:
    result = runner.invoke(args=["timetable", "import", "--dry-run", str(shared_data / CALTRAIN)])
    assert result.exit_code == 0, result.output
    assert "Would add 33 cities" in result.output and "nothing was written" in result.output
    assert stats(runner) == EMPTY


def test_classic_import_with_encoding(runner, shared_data: Path) -> None:
    result = runner.invoke(
        args=["timetable", "import", "--format", "zemdalk", "--encoding", "gbk",
              str(shared_data / "classic/Zemdalk")]
    )
    assert result.exit_code == 0, result.output
    # Every price there is a leg fare: the report counts them apart from fares between two
    # stops, so that it never says "no fares" of a priced timetable.
    assert "1,548 stops, 774 leg fares, no origin-destination fares" in result.output
    counts = stats(runner)
    assert counts["services"]["train"] == 390 and counts["services"]["flight"] == 384
    assert counts["cities"] == 25


def test_export_then_import_is_identical(runner, app, shared_data: Path, tmp_path: Path) -> None:
    assert runner.invoke(args=["timetable", "import", str(shared_data / CALTRAIN)]).exit_code == 0
    with app.app_context():
        from transit.web.extensions import db

        local = db.session.scalars(select(Service).where(Service.number == "441")).one()
        departure = dt.datetime(2017, 7, 23, 5, 8)
        load_history(db.session(), [HistoryTrip(
            local.operator, local.number, local.route, dt.date(2017, 7, 22),
            "San Jose Diridon Caltrain", "San Francisco Caltrain",
            departure, departure + dt.timedelta(minutes=104),
            actual_arrival=departure + dt.timedelta(minutes=110),
        )])
        db.session.commit()
    before = stats(runner)
    assert before["trip_records"] == 1
    result = runner.invoke(args=["timetable", "export", str(tmp_path / "out"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "stops.csv 2697 rows" in result.output and "trips.csv 1 rows" in result.output
    # Reading the bundle back into the same database finds everything already there.
    again = runner.invoke(args=["timetable", "import", str(tmp_path / "out")])
    assert again.exit_code == 0, again.output
    assert "Added no cities" in again.output and "no timetables" in again.output
    assert "Added no past runs (1 already recorded)." in again.output
    assert stats(runner) == before
    busy = runner.invoke(args=["timetable", "export", str(tmp_path / "out")])
    assert busy.exit_code != 0 and "not empty" in busy.output


def test_an_export_where_no_folder_can_be_made_says_so(runner, tmp_path: Path) -> None:
    # A traceback (FileNotFoundError, NotADirectoryError) where the folder cannot be made.
    (tmp_path / "a-file").write_text("x")
    for target in (tmp_path / "a-file" / "out", tmp_path / "a-file" / "deeper" / "out"):
        result = runner.invoke(args=["timetable", "export", str(target)])
        assert result.exit_code == 1, result.output
        assert result.output.startswith(f"Error: cannot write to {target}: ")
        assert "Nothing was exported." in result.output and "Traceback" not in result.output
        assert not isinstance(result.exception, OSError)


def test_bundle_with_history_into_a_fresh_database(runner, shared_data: Path, tmp_path: Path) -> None:
    from transit.web.extensions import db

    assert runner.invoke(args=["timetable", "import", str(shared_data / "classic/Nenieco-test")]).exit_code == 0
    assert runner.invoke(args=["timetable", "export", str(tmp_path / "b")]).exit_code == 0
    other = fresh_app(tmp_path, "other")  # a second, empty database
    try:
        other_runner = other.test_cli_runner()
        dry = other_runner.invoke(args=["timetable", "import", "--dry-run", str(tmp_path / "b")])
        assert dry.exit_code == 0, dry.output
        assert stats(other_runner)["cities"] == 0
        result = other_runner.invoke(args=["timetable", "import", "--format", "csv", str(tmp_path / "b")])
        assert result.exit_code == 0, result.output
        assert stats(other_runner) == stats(runner)
    finally:
        with other.app_context():
            db.engine.dispose()


def test_failed_import_lists_problems_and_changes_nothing(runner, shared_data: Path, tmp_path: Path) -> None:
    assert runner.invoke(args=["timetable", "import", str(shared_data / "classic/Nenieco-test")]).exit_code == 0
    before = stats(runner)
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "agency.txt").write_text("agency_name,agency_timezone\nX,Europe/Paris\n")
    (folder / "stops.txt").write_text("stop_id,stop_name\nA,Alpha\nB,Beta\n")
    (folder / "routes.txt").write_text("route_id,route_type\nR,2\n")
    (folder / "trips.txt").write_text("route_id,service_id,trip_id\nR,S,T\n")
    (folder / "calendar_dates.txt").write_text("service_id,date,exception_type\nS,20240101,1\n")
    (folder / "stop_times.txt").write_text(
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T,08:00:00,08:00:00,A,1\nT,8 o'clock,09:00:00,B,2\nT,10:00:00,10:00:00,Q,3\n"
    )
    result = runner.invoke(args=["timetable", "import", str(folder)])
    assert result.exit_code == 1
    assert "Nothing was imported: 2 problems found." in result.output
    assert "stop_times.txt, line 3, field arrival_time" in result.output
    assert "stop_times.txt, line 4, field stop_id: unknown stop 'Q'" in result.output
    assert stats(runner) == before


def test_unknown_format_and_wrong_encoding(runner, shared_data: Path, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    result = runner.invoke(args=["timetable", "import", str(tmp_path / "notes")])
    assert result.exit_code == 1 and "cannot tell the format" in result.output
    assert "Name the format with --format" in result.output  # the command line's own advice
    result = runner.invoke(args=["timetable", "import", "--encoding", "gbk", str(shared_data / CALTRAIN)])
    assert result.exit_code == 1 and "UTF-8" in result.output
    assert stats(runner) == EMPTY


def test_the_admin_export_zip_imports_with_its_history(runner, app, tmp_path: Path) -> None:
    import zipfile

    from tests.admin_helpers import add_corridor
    from transit.web.extensions import db

    add_corridor(app)
    with app.app_context():
        departure = dt.datetime(2026, 3, 2, 0, 0)
        load_history(db.session(), [HistoryTrip(
            "CR", "G1", "", dt.date(2026, 3, 2), "Beijing", "Shanghai",
            departure, departure + dt.timedelta(minutes=280),
            actual_departure=departure + dt.timedelta(minutes=1),
        )])
        db.session.commit()
    assert runner.invoke(args=["timetable", "export", str(tmp_path / "b")]).exit_code == 0
    # Zipped as /admin/export zips it: one folder inside.
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        for path in sorted((tmp_path / "b").iterdir()):
            archive.write(path, f"transit-bundle/{path.name}")
    other = fresh_app(tmp_path, "other")  # a second, empty database
    try:
        other_runner = other.test_cli_runner()
        dry = other_runner.invoke(args=["timetable", "import", "--dry-run",
                                        str(tmp_path / "export.zip")])
        assert dry.exit_code == 0, dry.output
        assert "Would add 3 cities" in dry.output and "Would add 1 past run." in dry.output
        assert stats(other_runner) == EMPTY
        result = other_runner.invoke(args=["timetable", "import", str(tmp_path / "export.zip")])
        assert result.exit_code == 0, result.output
        assert "Added 1 past run." in result.output
        assert stats(other_runner) == stats(runner)
        chosen = other_runner.invoke(args=["timetable", "import", "--format", "csv",
                                           str(tmp_path / "export.zip")])
        assert chosen.exit_code == 0, chosen.output
        assert "Added no past runs (1 already recorded)." in chosen.output
    finally:
        with other.app_context():
            db.engine.dispose()
