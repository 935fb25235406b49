"""Broken inputs, generated and hand-made: non-zero exit, the error names the line, and the
database is exactly as it was."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CALTRAIN = "gtfs/caltrain_gtfs_2017-07-24.zip"
TIME = re.compile(r"^\d+:[0-5]\d:[0-5]\d$")

GTFS = {
    "agency.txt": "agency_name,agency_timezone\nHill Railways,Europe/Vienna\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Alm,47.1,11.1\nB,Berg,47.2,11.2\nC,Chalet,47.3,11.3\n",
    "routes.txt": "route_id,route_short_name,route_type\nR,Hill,2\n",
    "trips.txt": "route_id,service_id,trip_id,trip_short_name\nR,D,T1,101\nR,D,T2,102\n",
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "D,1,1,1,1,1,1,1,20240101,20241231\n"
    ),
}
STOP_TIMES = [
    ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"],
    ["T1", "08:00:00", "08:00:00", "A", "1"],
    ["T1", "08:30:00", "08:32:00", "B", "2"],
    ["T1", "09:00:00", "09:00:00", "C", "3"],
    ["T2", "23:00:00", "23:00:00", "C", "1"],
    ["T2", "23:40:00", "23:41:00", "B", "2"],
    ["T2", "24:15:00", "24:15:00", "A", "3"],
]
COLUMN = {"arrival_time": 1, "departure_time": 2, "stop_id": 3, "stop_sequence": 4}

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12)
bad_time = text.filter(lambda s: s.strip() != "" and not TIME.match(s.strip()))
bad_stop = text.filter(lambda s: s.strip() not in ("A", "B", "C"))
bad_sequence = text.filter(lambda s: not re.fullmatch(r"\s*\d+\s*", s))
bad_value = st.one_of(
    st.tuples(st.sampled_from(["arrival_time", "departure_time"]), bad_time),
    st.tuples(st.just("stop_id"), bad_stop),
    st.tuples(st.just("stop_sequence"), bad_sequence),
)


def stats(runner) -> dict:
    result = runner.invoke(args=["timetable", "stats", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def write_gtfs(folder: Path, stop_times: list[list[str]]) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, content in GTFS.items():
        (folder / name).write_text(content, encoding="utf-8")
    (folder / "stop_times.txt").write_text(csv_text(stop_times), encoding="utf-8")
    return folder


def physical_line(rows: list[list[str]], index: int) -> int:
    """The line where row ``index`` starts once written (quoted newlines take lines)."""
    return csv_text(rows[:index]).count("\n") + 1


def expect_failure(runner, path: Path, before: dict, *needles: str) -> str:
    result = runner.invoke(args=["timetable", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "Nothing was imported" in result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)
    assert stats(runner) == before
    return result.output


def test_the_valid_feed_imports(runner, tmp_path: Path) -> None:
    result = runner.invoke(args=["timetable", "import", str(write_gtfs(tmp_path / "ok", STOP_TIMES))])
    assert result.exit_code == 0, result.output
    assert stats(runner)["timetables"] == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(1, len(STOP_TIMES) - 1), broken=bad_value)
def test_generated_broken_gtfs_value(runner, shared_data: Path, tmp_path: Path, row: int,
                                     broken: tuple[str, str]) -> None:
    if stats(runner)["cities"] == 0:  # something to leave unchanged
        assert runner.invoke(args=["timetable", "import", str(shared_data / "classic/Nenieco-test")]).exit_code == 0
    before = stats(runner)
    field, value = broken
    rows = [list(r) for r in STOP_TIMES]
    rows[row][COLUMN[field]] = value
    folder = write_gtfs(tmp_path / "generated", rows)
    expect_failure(runner, folder, before, f"stop_times.txt, line {physical_line(rows, row)}, field {field}")


bad_money = st.one_of(
    st.decimals(max_value=Decimal("-0.01"), places=2, allow_nan=False, allow_infinity=False).map(str),
    st.decimals(min_value=Decimal(0), max_value=Decimal(1000), places=4, allow_nan=False, allow_infinity=False)
    .filter(lambda d: d != d.quantize(Decimal("0.01")))
    .map(str),
    text.filter(lambda s: not re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", s) and s.strip() != ""),
)
bundle_value = st.one_of(
    st.tuples(st.sampled_from(["arrival", "departure"]), bad_time),
    st.tuples(st.just("fare"), bad_money),
    st.tuples(st.just("city"), text.filter(lambda s: s.strip() not in ("Alm", "Berg", "Chalet"))),
    st.tuples(st.just("sequence"), bad_sequence),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(1, 6), broken=bundle_value)
def test_generated_broken_bundle_value(runner, tmp_path: Path, row: int, broken: tuple[str, str]) -> None:
    bundle = tmp_path / "bundle"
    if not bundle.exists():
        assert runner.invoke(args=["timetable", "import", str(write_gtfs(tmp_path / "ok", STOP_TIMES))]).exit_code == 0
        assert runner.invoke(args=["timetable", "export", str(bundle)]).exit_code == 0
    before = stats(runner)
    original = (bundle / "stops.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(original)))
    assert len(rows) == 7
    field, value = broken
    rows[row][rows[0].index(field)] = value
    broken_folder = tmp_path / "broken"
    if broken_folder.exists():
        shutil.rmtree(broken_folder)
    shutil.copytree(bundle, broken_folder)
    (broken_folder / "stops.csv").write_text(csv_text(rows), encoding="utf-8")
    expect_failure(runner, broken_folder, before, f"stops.csv, line {physical_line(rows, row)}, field {field}")


def test_missing_file_and_column(runner, tmp_path: Path) -> None:
    folder = write_gtfs(tmp_path / "f", STOP_TIMES)
    (folder / "routes.txt").write_text("route_id,route_short_name\nR,Hill\n")
    (folder / "stop_times.txt").unlink()
    expect_failure(
        runner, folder, stats(runner),
        "stop_times.txt: required file is missing",
        "routes.txt, line 1, field route_type: required column is missing",
    )


def test_undecodable_bytes(runner, tmp_path: Path) -> None:
    folder = write_gtfs(tmp_path / "f", STOP_TIMES)
    (folder / "stops.txt").write_bytes(GTFS["stops.txt"].replace("Berg", "北山").encode("gbk"))
    expect_failure(runner, folder, stats(runner), "stops.txt, line 3: bytes that are not UTF-8")


def test_time_going_backwards_without_24h(runner, tmp_path: Path) -> None:
    rows = [list(r) for r in STOP_TIMES]
    rows[6][1] = rows[6][2] = "00:15:00"  # should be 24:15:00: the trip crosses midnight
    folder = write_gtfs(tmp_path / "f", rows)
    expect_failure(runner, folder, stats(runner), "stop_times.txt, line 7, field arrival_time: arrives before")


def test_every_problem_in_a_file_is_listed(runner, tmp_path: Path) -> None:
    rows = [list(r) for r in STOP_TIMES]
    rows[1][1] = "8am"
    rows[3][3] = "Z"
    rows[5][4] = "two"
    output = expect_failure(
        runner, write_gtfs(tmp_path / "f", rows), stats(runner), "3 problems found",
        "line 2, field arrival_time", "line 4, field stop_id", "line 6, field stop_sequence",
    )
    assert output.count("stop_times.txt") == 3


def test_conflicting_reimport_changes_nothing(runner, shared_data: Path, tmp_path: Path) -> None:
    assert runner.invoke(args=["timetable", "import", str(shared_data / CALTRAIN)]).exit_code == 0
    before = stats(runner)
    folder = tmp_path / "caltrain"
    with zipfile.ZipFile(shared_data / CALTRAIN) as archive:
        archive.extractall(folder)
    path = folder / "stop_times.txt"
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    assert lines[1].startswith("6512143-CT-17JUL-Caltrain-Sunday-01,22:08:00")
    lines[1] = lines[1].replace("22:08:00,22:08:00", "22:06:00,22:06:00")
    path.write_text("".join(lines), encoding="utf-8")
    output = expect_failure(
        runner, folder, before,
        "timetable '6512143-CT-17JUL-Caltrain-Sunday-01' already exists in the database with "
        "another departure at stop 1 (San Jose Diridon Caltrain)",
    )
    # Located at the trip's own line, as a problem of the file itself is.
    assert "trips.txt, line 2, field timetable: service Caltrain train 441" in output


def test_broken_bundle_by_hand(runner, tmp_path: Path) -> None:
    assert runner.invoke(args=["timetable", "import", str(write_gtfs(tmp_path / "ok", STOP_TIMES))]).exit_code == 0
    bundle = tmp_path / "bundle"
    assert runner.invoke(args=["timetable", "export", str(bundle)]).exit_code == 0
    before = stats(runner)
    (bundle / "transfers.csv").write_text("from_city,to_city,min_seconds\nAlm,Berg,-5\nAlm,Atlantis,60\n")
    (bundle / "calendar_dates.csv").write_text("calendar,date,added\n1,2024-02-30,1\n")
    expect_failure(
        runner, bundle, before,
        "transfers.csv, line 2, field min_seconds",
        "transfers.csv, line 3, field to_city: unknown city 'Atlantis'",
        "calendar_dates.csv, line 2, field date",
    )


def test_values_beyond_what_the_database_holds(runner, tmp_path: Path) -> None:
    """A stop time past 14 days or a fare past 32-bit cents names its line and field, where
    PostgreSQL would refuse the whole insert with "integer out of range"."""
    before = stats(runner)
    rows = [row[:] for row in STOP_TIMES]
    rows[2][1] = "400:00:00"
    expect_failure(runner, write_gtfs(tmp_path / "late", rows), before,
                   "stop_times.txt, line 3, field arrival_time", "up to 336:00:00")
    assert runner.invoke(args=["timetable", "import", str(write_gtfs(tmp_path / "ok", STOP_TIMES))]).exit_code == 0
    bundle = tmp_path / "bundle"
    assert runner.invoke(args=["timetable", "export", str(bundle)]).exit_code == 0
    before = stats(runner)
    table = list(csv.DictReader(io.StringIO((bundle / "stops.csv").read_text())))
    table[1]["arrival"] = "9999:00:00"
    table[2]["fare"] = "99999999.99"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    (bundle / "stops.csv").write_text(out.getvalue())
    (bundle / "transfers.csv").write_text("from_city,to_city,min_seconds\nAlm,Berg,99999999999\n")
    expect_failure(
        runner, bundle, before,
        "stops.csv, line 3, field arrival", "stops.csv, line 4, field fare",
        "is more than 21,474,836.47",
        "transfers.csv, line 2, field min_seconds: 99999999999 is beyond 2,147,483,647",
    )


def test_format_messages_suit_every_door(tmp_path: Path, shared_data: Path) -> None:
    """The core's words say what is wrong and what is accepted, with no command-line option in
    them (people upload in the browser and the API too); ``kind`` lets the CLI add its hint."""
    from transit.timetable.feed import ImportFailed
    from transit.timetable.formats import parse_timetable

    def failure(path: Path, **options: str) -> ImportFailed:
        try:
            parse_timetable(path, **options)
        except ImportFailed as error:
            (problem,) = error.problems
            assert "--" not in problem.message and "give the folder" not in problem.message
            return error
        raise AssertionError(f"{path} was read")

    note = tmp_path / "note.txt"
    note.write_text("hello")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    for path in (note, empty):
        error = failure(path)
        assert error.kind == "not_a_timetable"
        assert "none of the timetable formats Transit reads: a GTFS feed, a CSV bundle" in str(error)
    (tmp_path / "nothing").mkdir()
    assert failure(tmp_path / "nothing").kind == "not_a_timetable"
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    error = failure(tmp_path / "notes")
    assert error.kind == "unknown_format" and "the format must be chosen" in str(error)
    error = failure(shared_data / CALTRAIN, encoding="gbk")
    assert error.kind == "wrong_options" and "UTF-8" in str(error)
    assert failure(note, fmt="zemdalk").kind == "wrong_options"
    assert failure(tmp_path / "absent").kind == "not_found"


FLIGHT_GTFS = {
    "agency.txt": "agency_name,agency_timezone\nSky Air,Asia/Shanghai\n",
    "stops.txt": "stop_id,stop_name\nPEK,Beijing Capital\nSHA,Shanghai Hongqiao\n",
    "routes.txt": "route_id,route_short_name,route_type\nR,MU,1100\n",
    "trips.txt": "route_id,service_id,trip_id,trip_short_name\nR,D,T1,MU5101\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,PEK,1\nT1,10:15:00,10:15:00,SHA,2\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "D,1,1,1,1,1,1,1,20260101,20261231\n"
    ),
}


def test_admin_import_pages_say_counts_in_words(app, client, tmp_path: Path) -> None:
    """The check page, the audit log and the dashboard: "1 flight", "no services", never
    "services {'flight': 1}"; a file of no format gets the page's own advice."""
    from sqlalchemy import select

    from tests.admin_helpers import log_in, make_admin, post
    from transit.models import AuditEntry
    from transit.web.extensions import db

    app.config["TRANSIT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    make_admin(app)
    assert log_in(client).status_code == 302
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in FLIGHT_GTFS.items():
            archive.writestr(name, content)

    def upload(name: str, data: bytes) -> tuple[str, str]:
        reply = post(client, "/admin/imports", {"file": (io.BytesIO(data), name)},
                     content_type="multipart/form-data")
        return reply.location, client.get(reply.location).get_data(as_text=True)

    for round_ in ("first", "again"):
        location, report = upload("flight.zip", buffer.getvalue())
        assert "{" not in report.split("<table", 1)[1].split("</table>", 1)[0]
        if round_ == "first":
            assert "<th scope=\"row\">services</th><td>1 flight</td>" in report
            assert "<th scope=\"row\">timetable variants</th><td>1</td>" in report
        else:
            assert "<th scope=\"row\">services</th><td>0</td>" in report
        assert post(client, location + "/commit", {}, form_url=location).status_code == 302
    with app.app_context():
        summaries = list(db.session.scalars(
            select(AuditEntry.summary).where(AuditEntry.action == "import").order_by(AuditEntry.id)))
    assert summaries == [
        "imported flight.zip (gtfs): 2 cities, 1 flight, 1 timetable, 2 stops, 1 calendar, "
        "no leg fares, no origin-destination fares, no transfers",
        "imported flight.zip (gtfs): no cities, no services, no timetables, no stops, "
        "no calendars, no leg fares, no origin-destination fares, no transfers",
    ]
    for page in ("/admin/", "/admin/audit"):
        html = client.get(page).get_data(as_text=True)
        assert "1 flight, 1 timetable" in html and "{&#39;" not in html and "{'" not in html

    _, report = upload("notes.txt", b"hello")
    assert "none of the timetable formats Transit reads" in report and "--" not in report
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    _, report = upload("empty.zip", empty.getvalue())
    assert "--format" not in report and "give the folder" not in report
    folder = io.BytesIO()
    with zipfile.ZipFile(folder, "w") as archive:
        archive.writestr("notes/readme.txt", "hello")
    _, report = upload("notes.zip", folder.getvalue())
    assert "the format must be chosen" in report
    assert "Choose the format in the upload form" in report and "--format" not in report
