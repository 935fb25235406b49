"""Hypothesis mutates valid inputs of every importer at the byte and line level.

tests/test_import_errors.py breaks single GTFS and CSV-bundle values; here whole lines of
every format (GTFS, Zemdalk, 17bugs, Nenieco, CSV bundle, trip-history CSV) are dropped,
repeated, swapped, cut short or overwritten with random text or bytes. Each mutated input must
either load cleanly or raise ImportFailed whose problems all name their file; no other
exception, and after a failure the database is exactly as before (row counts of every table
and the data version).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from transit.db import data_version
from transit.models import Base
from transit.timetable.classic import parse_17bugs, parse_nenieco, parse_zemdalk
from transit.timetable.csvbundle import read_bundle, write_bundle
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    ImportFailed,
)
from transit.timetable.gtfs import parse_gtfs
from transit.timetable.history import load_history, read_history_csv
from transit.timetable.loader import load_feed

CLASSIC = Path(__file__).resolve().parents[2] / "shared" / "data" / "classic"
if not CLASSIC.exists():
    CLASSIC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "classic"

GTFS = {
    "agency.txt": "agency_name,agency_timezone\nValley Trains,Europe/Zurich\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Au,47.1,8.1\nB,Brig,47.2,8.2\nC,Chur,47.3,8.3\n",
    "routes.txt": "route_id,route_short_name,route_type\nR,Valley,2\n",
    "trips.txt": "route_id,service_id,trip_id,trip_short_name\nR,D,T1,201\nR,D,T2,202\n",
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "D,1,1,1,1,1,0,0,20250101,20251231\n"
    ),
    "calendar_dates.txt": "service_id,date,exception_type\nD,20250104,1\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,07:00:00,07:00:00,A,1\nT1,07:40:00,07:42:00,B,2\nT1,08:30:00,08:30:00,C,3\n"
        "T2,23:10:00,23:10:00,C,1\nT2,24:05:00,24:05:00,A,2\n"
    ),
}

HISTORY = (
    "operator,number,route,service_date,origin,destination,scheduled_departure,"
    "scheduled_arrival,actual_departure,actual_arrival,cancelled,source,stop_sequence,"
    "stop_city,stop_scheduled_arrival,stop_scheduled_departure,stop_actual_arrival,"
    "stop_actual_departure\n"
    "VT,201,,2025-03-03,Au,Chur,2025-03-03T07:00:00+01:00,2025-03-03T08:30:00+01:00,"
    "2025-03-03T07:02:00+01:00,2025-03-03T08:35:00+01:00,false,test,,,,,,\n"
    "VT,201,,,Au,,2025-03-03T07:00:00+01:00,,,,,,1,Brig,2025-03-03T07:40:00+01:00,"
    "2025-03-03T07:42:00+01:00,2025-03-03T07:41:00+01:00,2025-03-03T07:44:00+01:00\n"
    "VT,202,,2025-03-04,Chur,Au,2025-03-04T23:10:00+01:00,2025-03-05T00:05:00+01:00,"
    ",,true,test,,,,,,\n"
)


def history_feed() -> Feed:
    """The services and cities the history seed refers to."""
    feed = Feed(source="fuzz")
    for name in ("Au", "Brig", "Chur"):
        feed.cities[name] = FeedCity(name=name, timezone="Europe/Zurich")
    feed.calendars["daily"] = FeedCalendar()
    feed.services.append(FeedService(number="201", mode="train", operator="VT", timetables=[
        FeedTimetable("1", "daily", [FeedStop("Au", None, 7 * 3600),
                                     FeedStop("Brig", 7 * 3600 + 2400, 7 * 3600 + 2520),
                                     FeedStop("Chur", 8 * 3600 + 1800, None)]),
    ]))
    feed.services.append(FeedService(number="202", mode="train", operator="VT", timetables=[
        FeedTimetable("1", "daily", [FeedStop("Chur", None, 23 * 3600 + 600),
                                     FeedStop("Au", 24 * 3600 + 300, None)]),
    ]))
    return feed


# --- mutations -------------------------------------------------------------------------------

junk_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
junk_bytes = st.binary(max_size=24)


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, int, int, bytes]:
    """(kind, line index, second index, payload); indexes are reduced modulo the line count."""
    kind = draw(st.sampled_from(
        ["drop", "repeat", "swap", "cut", "replace-text", "replace-bytes", "insert", "field",
         "empty-file", "truncate"]
    ))
    payload = draw(junk_bytes) if kind == "replace-bytes" else draw(junk_text).encode()
    return kind, draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000)), payload


def mutate(data: bytes, change: tuple[str, int, int, bytes]) -> bytes:
    kind, i, j, payload = change
    if kind == "empty-file":
        return b""
    if kind == "truncate":
        return data[: i % (len(data) + 1)]
    lines = data.split(b"\n")
    i, j = i % len(lines), j % len(lines)
    if kind == "drop":
        del lines[i]
    elif kind == "repeat":
        lines.insert(i, lines[i])
    elif kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "cut":
        lines[i] = lines[i][: j % (len(lines[i]) + 1)]
    elif kind in ("replace-text", "replace-bytes"):
        lines[i] = payload
    elif kind == "insert":
        lines.insert(i, payload)
    elif kind == "field":
        # One field (comma, tab or space separated) of the line replaced.
        for separator in (b",", b"\t", b" "):
            fields = lines[i].split(separator)
            if len(fields) > 1:
                fields[j % len(fields)] = payload
                lines[i] = separator.join(fields)
                break
        else:
            lines[i] = payload
    return b"\n".join(lines)


# --- the database ----------------------------------------------------------------------------


def table_counts(session: Session) -> dict[str, int]:
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }


def state(session: Session) -> tuple[dict[str, int], int]:
    return table_counts(session), data_version(session)


def check_outcome(engine: Engine, load: Callable[[Session], object]) -> None:
    """Run ``load`` in one transaction: a clean load, or ImportFailed and nothing changed."""
    with Session(engine) as session:
        before = state(session)
        try:
            load(session)
        except ImportFailed as error:
            session.rollback()
            assert error.problems, "ImportFailed without problems"
            for problem in error.problems:
                assert problem.file, f"problem without a file: {problem}"
                assert problem.message.strip(), f"problem without words: {problem!r}"
            assert state(session) == before
        else:
            session.rollback()  # the next example starts from the same database


# --- one test per importer -------------------------------------------------------------------

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def folder_of(files: dict[str, bytes], into: Path) -> Path:
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    for name, content in files.items():
        (into / name).write_bytes(content)
    return into


def read_folder(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def fuzz_folder(
    engine: Engine, seed: dict[str, bytes], parse: Callable[[Path], Feed], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(seed)), label="file")
    change = data.draw(mutation(), label="mutation")
    files = {**seed, name: mutate(seed[name], change)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = folder_of(files, Path(tmp) / "input")
        check_outcome(engine, lambda session: load_feed(session, parse(folder)))


CLASSIC_SEEDS = {
    "zemdalk": ("Zemdalk-utf8", parse_zemdalk),
    "17bugs": ("17BuGs-utf8", parse_17bugs),
    "nenieco": ("Nenieco-test", parse_nenieco),
}


@pytest.mark.parametrize("fmt", sorted(CLASSIC_SEEDS))
@FUZZ
@given(data=st.data())
def test_classic_formats(engine: Engine, fmt: str, data: st.DataObject) -> None:
    folder, parse = CLASSIC_SEEDS[fmt]
    fuzz_folder(engine, read_folder(CLASSIC / folder), parse, data)


@FUZZ
@given(data=st.data())
def test_gtfs(engine: Engine, data: st.DataObject) -> None:
    seed = {name: text.encode() for name, text in GTFS.items()}
    fuzz_folder(engine, seed, parse_gtfs, data)


@pytest.fixture
def bundle_seed(tmp_path: Path) -> dict[str, bytes]:
    """A CSV bundle written from the Nenieco test timetable."""
    from transit.db import make_engine

    source = make_engine("sqlite:///" + str(tmp_path / "source.sqlite3"))
    Base.metadata.create_all(source)
    with Session(source) as session:
        load_feed(session, parse_nenieco(CLASSIC / "Nenieco-test"))
        session.commit()
        write_bundle(session, tmp_path / "bundle")
    source.dispose()
    return read_folder(tmp_path / "bundle")


@FUZZ
@given(data=st.data())
def test_csv_bundle(engine: Engine, bundle_seed: dict[str, bytes], data: st.DataObject) -> None:
    fuzz_folder(engine, bundle_seed, read_bundle, data)


@FUZZ
@given(change=mutation())
def test_history_csv(engine: Engine, change: tuple[str, int, int, bytes]) -> None:
    with Session(engine) as session:
        if not session.scalar(select(func.count()).select_from(Base.metadata.tables["services"])):
            load_feed(session, history_feed())
            session.commit()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.csv"
        path.write_bytes(mutate(HISTORY.encode(), change))
        check_outcome(engine, lambda session: load_history(session, read_history_csv(path)))


def test_the_seeds_are_valid(engine: Engine, tmp_path: Path, bundle_seed: dict[str, bytes]) -> None:
    """Unmutated, every seed loads: the mutations start from valid input."""
    with Session(engine) as session:
        gtfs = folder_of({n: t.encode() for n, t in GTFS.items()}, tmp_path / "gtfs")
        assert load_feed(session, parse_gtfs(gtfs)).counts["services"] == {"train": 2}
        session.rollback()
        for folder, parse in CLASSIC_SEEDS.values():
            assert load_feed(session, parse(CLASSIC / folder)).counts["timetables"] > 0
            session.rollback()
        bundle = folder_of(bundle_seed, tmp_path / "bundle")
        assert load_feed(session, read_bundle(bundle)).counts["timetables"] > 0
        session.rollback()
        load_feed(session, history_feed())
        session.flush()
        path = tmp_path / "history.csv"
        path.write_text(HISTORY, encoding="utf-8")
        assert load_history(session, read_history_csv(path)) == 2
        session.rollback()
