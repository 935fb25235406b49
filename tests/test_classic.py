"""The classic course-project formats: real folders from ../shared/data/classic, broken copies."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transit.models import City, Service, Stop, Timetable
from transit.timetable.classic import (
    detect_classic,
    parse_17bugs,
    parse_nenieco,
    parse_zemdalk,
)
from transit.timetable.feed import Feed, FeedService, ImportFailed, Problem
from transit.timetable.loader import load_feed

H = 3600
M = 60
DAY = 86_400


def service(feed: Feed, number: str) -> FeedService:
    matches = [s for s in feed.services if s.number == number]
    assert len(matches) == 1, number
    return matches[0]


def times(feed: Feed, number: str) -> tuple[str, str, int | None, int | None, int | None]:
    """(from city name, to city name, departure, arrival, fare) of a one-leg service."""
    first, last = service(feed, number).timetables[0].stops
    return (
        feed.cities[first.city].name,
        feed.cities[last.city].name,
        first.departure,
        last.arrival,
        last.fare_cents,
    )


def problems_of(error: pytest.ExceptionInfo[ImportFailed]) -> list[Problem]:
    return error.value.problems


def where(problems: list[Problem]) -> set[tuple[str, int | None, str | None]]:
    return {(p.file, p.line, p.field) for p in problems}


# --- The real folders -----------------------------------------------------------------------


def test_zemdalk_counts_and_cities(shared_data: Path) -> None:
    feed = parse_zemdalk(shared_data / "classic" / "Zemdalk")
    assert feed.counts() == {
        "cities": 25,
        "services": {"flight": 384, "train": 390},
        "timetables": 774,
        "stops": 1548,
    }
    with open(shared_data / "classic" / "textbook_map_edges.tsv", encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        textbook = {name for row in rows for name in (row["city_a"], row["city_b"])}
    assert {c.name for c in feed.cities.values()} == textbook
    assert all(c.latitude is None and c.longitude is None for c in feed.cities.values())
    assert {c.timezone for c in feed.cities.values()} == {"Asia/Shanghai"}
    # Daily services: one calendar for every day, no dates.
    assert list(feed.calendars) == ["daily"]
    daily = feed.calendars["daily"]
    assert daily.weekdays == 0b1111111 and daily.start_date is None and daily.end_date is None
    assert {s.operator for s in feed.services} == {""}


def test_zemdalk_rows(shared_data: Path) -> None:
    feed = parse_zemdalk(shared_data / "classic" / "Zemdalk")
    # T000101 北京 郑州 05: 14 14: 20 546 163.00
    assert times(feed, "T000101") == ("北京", "郑州", 5 * H + 14 * M, 14 * H + 20 * M, 16300)
    assert service(feed, "T000101").mode == "train"
    assert service(feed, "F000101").mode == "flight"
    # F000108 北京 郑州 14: 16 11: 14 1258 164.00: arrives the next morning.
    assert times(feed, "F000108") == ("北京", "郑州", 14 * H + 16 * M, DAY + 11 * H + 14 * M, 16400)
    # The last train line: T211511 哈尔滨 长春 22: 50 01: 04 134 83.50
    assert times(feed, "T211511") == ("哈尔滨", "长春", 22 * H + 50 * M, DAY + 1 * H + 4 * M, 8350)
    first, last = service(feed, "T211511").timetables[0].stops
    assert first.arrival is None and first.fare_cents is None and last.departure is None


def test_17bugs_counts_and_rows(shared_data: Path) -> None:
    feed = parse_17bugs(shared_data / "classic" / "17BuGs")
    assert feed.counts() == {
        "cities": 104,
        "services": {"flight": 22, "train": 25},
        "timetables": 47,
        "stops": 94,
    }
    assert list(feed.cities)[:3] == ["上海", "北京", "深圳"]  # city.txt order
    # Every service runs on 2023-05-28 only.
    assert list(feed.calendars) == ["2023-05-28"]
    calendar = feed.calendars["2023-05-28"]
    assert calendar.runs_on(dt.date(2023, 5, 28))
    assert not calendar.runs_on(dt.date(2023, 5, 29))
    assert times(feed, "T122") == ("上海", "武汉", 10 * H + 40 * M, 15 * H + 15 * M, 31030)
    # T110 南昌 -> 上海 leaves 2023-05-28 16:59 and arrives 2023-05-29 04:55.
    assert times(feed, "T110") == ("南昌", "上海", 16 * H + 59 * M, DAY + 4 * H + 55 * M, 18400)
    overnight = [s.number for s in feed.services if (s.timetables[0].stops[1].arrival or 0) >= DAY]
    assert overnight == ["T110"]
    assert times(feed, "AF1007") == ("海口", "成都", 13 * H + 30 * M, 15 * H + 10 * M, 128000)
    assert service(feed, "AF1007").mode == "flight"


def test_nenieco_folders(shared_data: Path) -> None:
    data = parse_nenieco(shared_data / "classic" / "Nenieco-data")
    assert data.counts() == {
        "cities": 6,
        "services": {"flight": 14, "train": 18},
        "timetables": 32,
        "stops": 64,
    }
    assert times(data, "G1") == ("Beijing", "Shanghai", 420 * M, 706 * M, 55300)
    assert times(data, "CA5678") == ("Shanghai", "Beijing", 1200 * M, 1320 * M, 75000)
    assert service(data, "CA5678").mode == "flight"

    test = parse_nenieco(shared_data / "classic" / "Nenieco-test")
    assert test.counts() == {
        "cities": 5,
        "services": {"flight": 1, "train": 7},
        "timetables": 8,
        "stops": 16,
    }
    served = {stop.city for s in test.services for stop in s.timetables[0].stops}
    isolated = [c.name for key, c in test.cities.items() if key not in served]
    assert isolated == ["Island"]
    assert times(test, "G6") == ("Guangzhou", "Shenzhen", 1320 * M, 1380 * M, 10000)


@pytest.mark.parametrize(
    ("gbk", "utf8", "parse"),
    [("Zemdalk", "Zemdalk-utf8", parse_zemdalk), ("17BuGs", "17BuGs-utf8", parse_17bugs)],
)
def test_gbk_and_utf8_give_the_same_feed(shared_data: Path, gbk: str, utf8: str, parse) -> None:
    folder = shared_data / "classic"
    from_gbk = dataclasses.replace(parse(folder / gbk), source="")
    from_utf8 = dataclasses.replace(parse(folder / utf8), source="")
    assert from_gbk == from_utf8
    # Naming the encoding gives the same result as detecting it.
    assert dataclasses.replace(parse(folder / gbk, encoding="gbk"), source="") == from_gbk


def test_a_wrong_encoding_is_one_problem_per_file(shared_data: Path) -> None:
    # It was one problem per line: 774 for the two files.
    with pytest.raises(ImportFailed) as error:
        parse_zemdalk(shared_data / "classic" / "Zemdalk", encoding="utf-8")
    assert [str(p) for p in problems_of(error)] == [
        "TrainTable.txt, line 1: 390 lines, this one first, cannot be decoded as UTF-8: the "
        "file is in another text encoding (GBK and UTF-8 are read)",
        "FlightTable.txt, line 1: 384 lines, this one first, cannot be decoded as UTF-8: the "
        "file is in another text encoding (GBK and UTF-8 are read)",
    ]


def test_a_damaged_line_is_reported_as_itself(tmp_path: Path) -> None:
    good = "T000101 北京 郑州 05: 14 14: 20 546 163.00\n".encode("gbk")
    (tmp_path / "TrainTable.txt").write_bytes(good * 3 + b"T000102 \xff\xff 05: 14\n" + good)
    with pytest.raises(ImportFailed) as error:
        parse_zemdalk(tmp_path)
    assert [str(p) for p in problems_of(error) if "decoded" in p.message] == [
        "TrainTable.txt, line 4: the bytes of this line cannot be decoded as UTF-8 or GBK"]


def test_detect_classic(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "classic"
    assert detect_classic(folder / "Zemdalk") == "zemdalk"
    assert detect_classic(folder / "Zemdalk-utf8") == "zemdalk"
    assert detect_classic(folder / "17BuGs") == "17bugs"
    assert detect_classic(folder / "Nenieco-data") == "nenieco"
    assert detect_classic(folder / "Nenieco-test") == "nenieco"
    assert detect_classic(tmp_path) is None
    assert detect_classic(folder / "README.md") is None


@pytest.mark.parametrize(
    ("name", "parse", "cities", "trains", "flights"),
    [
        ("Zemdalk", parse_zemdalk, 25, 390, 384),
        ("17BuGs-utf8", parse_17bugs, 104, 25, 22),
        ("Nenieco-data", parse_nenieco, 6, 18, 14),
        ("Nenieco-test", parse_nenieco, 5, 7, 1),
    ],
)
def test_load_into_database(
    shared_data: Path, session: Session, name: str, parse, cities: int, trains: int, flights: int
) -> None:
    feed = parse(shared_data / "classic" / name)
    load_feed(session, feed)
    session.commit()
    assert session.scalar(select(func.count()).select_from(City)) == cities
    by_mode = dict(session.execute(select(Service.mode, func.count()).group_by(Service.mode)).all())
    assert by_mode == {"train": trains, "flight": flights}
    assert session.scalar(select(func.count()).select_from(Timetable)) == trains + flights
    assert session.scalar(select(func.count()).select_from(Stop)) == 2 * (trains + flights)
    # Loading the same folder again adds nothing.
    report = load_feed(session, parse(shared_data / "classic" / name))
    session.commit()
    assert session.scalar(select(func.count()).select_from(Service)) == trains + flights
    assert report.skipped


def test_zemdalk_overnight_row_in_database(shared_data: Path, session: Session) -> None:
    load_feed(session, parse_zemdalk(shared_data / "classic" / "Zemdalk-utf8"))
    session.commit()
    train = session.scalars(select(Service).where(Service.number == "T211511")).one()
    stops = train.timetables[0].stops
    assert [s.city.name for s in stops] == ["哈尔滨", "长春"]
    assert (stops[0].departure, stops[1].arrival, stops[1].fare_cents) == (82200, 90240, 8350)


# --- Broken files ---------------------------------------------------------------------------

GOOD_ZEMDALK = "T000101 北京            郑州           05: 14   14: 20   546         163.00\n"


def test_zemdalk_problems_name_every_line(tmp_path: Path) -> None:
    lines = [
        GOOD_ZEMDALK,
        "T000102 北京 郑州 25: 14 14: 20 546 163.00\n",  # 2: hour 25
        "T000103 北京 郑州 05: 14 14: 20 500 163.00\n",  # 3: duration disagrees
        "T000104 北京 郑州 05: 14 14: 20 546 -1.00\n",  # 4: negative fare
        "T000105 北京 郑州 05: 14 14: 20 546\n",  # 5: a field short
        "\n",
        "T000101 北京 郑州 06: 14 15: 20 546 163.00\n",  # 7: number again, other times
        "T000106 北京 郑州 05: 14 14: 20 546 abc\n",  # 8: fare not a number
        "T000107 北京 郑州 22:50 01:04 134 83.50\n",  # 9: fine (times in one token)
    ]
    (tmp_path / "TrainTable.txt").write_text("".join(lines), encoding="gbk")
    with pytest.raises(ImportFailed) as error:
        parse_zemdalk(tmp_path)
    problems = problems_of(error)
    assert where(problems) == {
        ("TrainTable.txt", 2, "DEPARTURE"),
        ("TrainTable.txt", 3, "DURATION_MIN"),
        ("TrainTable.txt", 4, "FARE"),
        ("TrainTable.txt", 5, None),
        ("TrainTable.txt", 7, "number"),
        ("TrainTable.txt", 8, "FARE"),
    }
    text = str(error.value)
    assert text.startswith("6 problems found:")
    assert "TrainTable.txt, line 3, field DURATION_MIN: duration 500 minutes" in text
    assert "line 1" in next(p.message for p in problems if p.line == 7)


def test_zemdalk_single_token_times_and_identical_repeats(tmp_path: Path) -> None:
    (tmp_path / "FlightTable.txt").write_text(
        "F1 A B 22:50 01:04 134 83.5\nF1 A B 22: 50 01: 04 134 83.50\n", encoding="utf-8"
    )
    feed = parse_zemdalk(tmp_path)
    assert feed.counts()["services"] == {"flight": 1}
    assert times(feed, "F1") == ("A", "B", 22 * H + 50 * M, DAY + 64 * M, 8350)


def test_damaged_gbk_byte_names_its_line(tmp_path: Path) -> None:
    good = GOOD_ZEMDALK.encode("gbk")
    damaged = "T000102 北京 郑州 06: 14 15: 20 546 163.00\n".encode("gbk").replace(
        "郑".encode("gbk"), b"\xff\xff"
    )
    (tmp_path / "TrainTable.txt").write_bytes(good + good.replace(b"T000101", b"T000103") + damaged)
    with pytest.raises(ImportFailed) as error:
        parse_zemdalk(tmp_path)
    [problem] = problems_of(error)
    assert (problem.file, problem.line) == ("TrainTable.txt", 3)
    assert "UTF-8 or GBK" in problem.message


def test_nul_byte_names_its_line(tmp_path: Path) -> None:
    """No text holds a NUL byte, and PostgreSQL cannot store one: the line is refused."""
    bad = GOOD_ZEMDALK.replace("T000101", "T000102").replace("北京", "北\x00京")
    (tmp_path / "TrainTable.txt").write_text(GOOD_ZEMDALK + bad, encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        parse_zemdalk(tmp_path)
    [problem] = problems_of(error)
    assert (problem.file, problem.line) == ("TrainTable.txt", 2)
    assert "NUL" in problem.message


def test_missing_files(tmp_path: Path) -> None:
    for parse in (parse_zemdalk, parse_17bugs, parse_nenieco):
        with pytest.raises(ImportFailed) as error:
            parse(tmp_path)
        assert all(p.line is None for p in problems_of(error))
        assert "no " in str(error.value)


def write_17bugs(folder: Path, cities: list[str], records: list[list[str]], counts: list[int]) -> None:
    (folder / "city.txt").write_text("\n".join([str(len(cities)), *cities]) + "\n", encoding="utf-8")
    lines = [str(n) for n in counts] + [field for record in records for field in record]
    (folder / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_17bugs_problems(tmp_path: Path) -> None:
    cities = ["上海", "北京", "广州"]
    good = ["T1", "上海", "北京", "2023", "5", "28", "8", "0", "2023", "5", "28", "12", "30", "100.500000"]
    unknown = ["T2", "上海", "拉萨", "2023", "5", "28", "8", "0", "2023", "5", "28", "12", "30", "100"]
    backwards = ["T3", "上海", "广州", "2023", "5", "28", "8", "0", "2023", "5", "27", "12", "30", "100"]
    bad_month = ["T4", "北京", "广州", "2023", "13", "28", "8", "0", "2023", "5", "28", "x", "30", "-5"]
    write_17bugs(tmp_path, cities, [good, unknown, backwards, bad_month], [3, 1, 0])
    with pytest.raises(ImportFailed) as error:
        parse_17bugs(tmp_path)
    # Counts take lines 1-3; record k starts on line 4 + 14 k.
    assert where(problems_of(error)) == {
        ("train.txt", 20, "TO"),  # unknown city 拉萨
        ("train.txt", 40, "arrival"),  # arrival the day before
        ("train.txt", 49, "departure"),  # month 13
        ("train.txt", 57, "arrival hour"),  # 'x'
        ("train.txt", 59, "FARE"),  # negative
    }


def test_17bugs_bad_city_count_still_checks_the_services(tmp_path: Path) -> None:
    """The names after a bad count are still the city list: the services are checked against
    them, and not reported as "the counts announce 0 services"."""
    bad_fare = ["T1", "上海", "北京", "2023", "5", "28", "8", "0", "2023", "5", "28", "12", "30", "x"]
    write_17bugs(tmp_path, ["上海", "北京"], [bad_fare], [1, 0])
    (tmp_path / "city.txt").write_text("two\n上海\n北京\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        parse_17bugs(tmp_path)
    assert where(problems_of(error)) == {("city.txt", 1, None), ("train.txt", 16, "FARE")}

    (tmp_path / "city.txt").write_text("\n", encoding="utf-8")  # no list at all: nothing to check against
    with pytest.raises(ImportFailed) as error:
        parse_17bugs(tmp_path)
    assert where(problems_of(error)) == {("city.txt", 1, None)}


def test_17bugs_record_under_the_wrong_city_and_short_file(tmp_path: Path) -> None:
    record = ["T1", "上海", "北京", "2023", "5", "28", "8", "0", "2023", "5", "28", "12", "30", "1"]
    write_17bugs(tmp_path, ["上海", "北京"], [record], [0, 1])
    with pytest.raises(ImportFailed) as error:
        parse_17bugs(tmp_path)
    assert where(problems_of(error)) == {("train.txt", 4, "FROM")}

    write_17bugs(tmp_path, ["上海", "北京"], [record[:10]], [1, 0])
    with pytest.raises(ImportFailed) as error:
        parse_17bugs(tmp_path)
    assert where(problems_of(error)) == {("train.txt", 3, None)}


def test_nenieco_problems(tmp_path: Path) -> None:
    (tmp_path / "city.dat").write_text("CITY 1 Beijing\nCITY 2 Shanghai\nCITY 2 Again\n", encoding="utf-8")
    (tmp_path / "train_schedules.dat").write_text(
        "# comment\n"
        "TRIP 1 TRAIN 1 2 420 706 553 G1   # trailing comment\n"
        "TRIP 2 TRAIN 1 9 420 706 553 G2\n"  # 3: unknown city id
        "TRIP 3 TRAIN 1 2 1500 706 553 G3\n"  # 4: minutes out of range
        "TRIP 1 TRAIN 2 1 420 706 553 G4\n"  # 5: trip id again
        "TRIP 6 BUS 2 1 420 706 553 G6\n"  # 6: unknown kind
        "TRIP 7 TRAIN 2 1 420\n"  # 7: too short
        "random text is ignored\n",
        encoding="utf-8",
    )
    (tmp_path / "flight_schedules.dat").write_text(
        "TRIP 8 PLANE 2 1 1300 60 -3 CA1\n", encoding="utf-8"  # negative price
    )
    with pytest.raises(ImportFailed) as error:
        parse_nenieco(tmp_path)
    assert where(problems_of(error)) == {
        ("city.dat", 3, "id"),
        ("train_schedules.dat", 3, "to_id"),
        ("train_schedules.dat", 4, "dep_min"),
        ("train_schedules.dat", 5, "id"),
        ("train_schedules.dat", 6, "kind"),
        ("train_schedules.dat", 7, None),
        ("flight_schedules.dat", 1, "price"),
    }


def test_nenieco_city_without_a_name_is_one_problem(tmp_path: Path) -> None:
    (tmp_path / "city.dat").write_text("CITY 1 Beijing\nCITY 2\n", encoding="utf-8")
    (tmp_path / "train_schedules.dat").write_text("TRIP 1 TRAIN 1 2 600 700 100 G1\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        parse_nenieco(tmp_path)
    assert where(problems_of(error)) == {("city.dat", 2, None)}  # not "unknown city id 2" too


def test_nenieco_overnight_and_comments(tmp_path: Path) -> None:
    (tmp_path / "city.dat").write_text("CITY 1 Beijing\nCITY 2 Ürümqi City\n", encoding="utf-8")
    (tmp_path / "flight_schedules.dat").write_text(
        "TRIP 8 PLANE 1 2 1300 60 1234.5 CA1 # late\n", encoding="utf-8"
    )
    feed = parse_nenieco(tmp_path)
    assert times(feed, "CA1") == ("Beijing", "Ürümqi City", 1300 * M, DAY + 60 * M, 123450)


# --- Property: any valid Zemdalk table reads back exactly -----------------------------------

CITY_NAMES = ["北京", "郑州", "株州", "乌鲁木齐", "上海", "A"]
row = st.tuples(
    st.sampled_from(CITY_NAMES),
    st.sampled_from(CITY_NAMES),
    st.integers(0, 1439),
    st.integers(1, 1439),
    st.integers(0, 999_999),
    st.integers(1, 8),
    st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=15), encoding=st.sampled_from(["gbk", "utf-8"]))
def test_zemdalk_reads_back_what_was_written(rows, encoding: str) -> None:
    rows = [r for r in rows if r[0] != r[1]]
    lines = []
    for index, (origin, destination, dep, travel, cents, pad, spaced) in enumerate(rows):
        arr = (dep + travel) % 1440
        sep = ": " if spaced else ":"
        lines.append(
            f"T{index:06d}{' ' * pad}{origin}{' ' * pad}{destination} "
            f"{dep // 60:02d}{sep}{dep % 60:02d}{' ' * pad}{arr // 60:02d}{sep}{arr % 60:02d} "
            f"{travel}{' ' * pad}{cents // 100}.{cents % 100:02d}"
        )
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "TrainTable.txt").write_text("\n".join(lines), encoding=encoding)
        feed = parse_zemdalk(Path(folder))
    assert len(feed.services) == len(rows)
    for index, (origin, destination, dep, travel, cents, _pad, _spaced) in enumerate(rows):
        # Independent reference: departure plus the stated travel time, in seconds.
        assert times(feed, f"T{index:06d}") == (origin, destination, dep * 60, (dep + travel) * 60, cents)


def test_17bugs_damaged_lines_keep_positions(shared_data: Path, tmp_path: Path) -> None:
    for source in (shared_data / "classic" / "17BuGs").iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    cities = (tmp_path / "city.txt").read_bytes().split(b"\n")
    cities[3] = b"\xff\xfe"  # line 4: 深圳 becomes unreadable
    (tmp_path / "city.txt").write_bytes(b"\n".join(cities))
    trains = (tmp_path / "train.txt").read_bytes().split(b"\n")
    trains[105] = b"\xff\xfe"  # line 106: the FROM of the first record
    (tmp_path / "train.txt").write_bytes(b"\n".join(trains))
    with pytest.raises(ImportFailed) as error:
        parse_17bugs(tmp_path)
    problems = problems_of(error)
    assert where(problems) == {
        ("city.txt", 4, None),
        ("train.txt", 106, None),
        # The other records still line up: the two that name 深圳 are the only others reported.
        ("train.txt", 148, "FROM"),
        ("train.txt", 177, "TO"),
    }


CORRUPTIONS = {
    "hour": lambda f: f[:3] + [f"{24 + int(f[3][:2]) % 70}:{f[3][-2:]}"] + f[4:],
    "minute": lambda f: f[:4] + [f"{f[4][:2]}:{60 + int(f[4][-2:]) % 40}"] + f[5:],
    "duration": lambda f: f[:5] + [str(int(f[5]) + 1)] + f[6:],
    "fare": lambda f: f[:6] + ["元" + f[6]],
    "negative fare": lambda f: f[:6] + ["-" + f[6]],
    "missing field": lambda f: f[:6],
}


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(row, min_size=1, max_size=12),
    pick=st.integers(0, 100),
    corruption=st.sampled_from(sorted(CORRUPTIONS)),
)
def test_a_corrupted_zemdalk_line_is_the_one_reported(rows, pick: int, corruption: str) -> None:
    rows = [r for r in rows if r[0] != r[1]] or [("北京", "郑州", 314, 546, 16300, 1, True)]
    lines = []
    for index, (origin, destination, dep, travel, cents, _pad, _spaced) in enumerate(rows):
        arr = (dep + travel) % 1440
        fields = [f"T{index:06d}", origin, destination, f"{dep // 60:02d}:{dep % 60:02d}",
                  f"{arr // 60:02d}:{arr % 60:02d}", str(travel), f"{cents / 100:.2f}"]
        lines.append(fields)
    bad = pick % len(lines)
    lines[bad] = CORRUPTIONS[corruption](lines[bad])
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "FlightTable.txt").write_text(
            "\n".join("  ".join(fields) for fields in lines) + "\n", encoding="gbk")
        with pytest.raises(ImportFailed) as error:
            parse_zemdalk(Path(folder))
    assert {(p.file, p.line) for p in error.value.problems} == {("FlightTable.txt", bad + 1)}


@pytest.mark.parametrize(("fare", "message"), [
    ("-0.00", "fare -0.00 is negative"),
    ("99999999.99", "fare 99999999.99 is more than 21,474,836.47"),
])
def test_a_zemdalk_fare_with_a_sign_or_beyond_the_database_is_refused(fare: str, message: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "FlightTable.txt").write_text(
            f"T000001  北京  郑州  05:14  14:20  546  {fare}\n", encoding="gbk")
        with pytest.raises(ImportFailed) as error:
            parse_zemdalk(Path(folder))
    assert [(p.line, p.field) for p in error.value.problems] == [(1, "FARE")]
    assert message in error.value.problems[0].message


def test_a_17bugs_arrival_centuries_after_departure_is_refused(shared_data: Path) -> None:
    """A year cut short ("2023" -> "2") once made a 2,000-year ride that PostgreSQL refused."""
    seed = shared_data / "classic" / "17BuGs-utf8"
    with tempfile.TemporaryDirectory() as folder:
        for path in seed.iterdir():
            if path.is_file():
                (Path(folder) / path.name).write_bytes(path.read_bytes())
        flight = Path(folder) / "flight.txt"
        lines = flight.read_text(encoding="utf-8").split("\n")
        lines[205] = lines[205][:1]
        flight.write_text("\n".join(lines), encoding="utf-8")
        with pytest.raises(ImportFailed) as error:
            parse_17bugs(Path(folder))
    assert any(p.field == "arrival" and "more than 14 days after the start of the departure day" in p.message
               for p in error.value.problems), error.value.problems


def test_a_conflict_with_the_database_names_the_file_and_line(shared_data: Path, session: Session) -> None:
    # It named only "nenieco:Nenieco-test", with no line: the classic readers kept no place.
    load_feed(session, parse_nenieco(shared_data / "classic" / "Nenieco-data"))
    session.commit()
    with pytest.raises(ImportFailed) as error:
        load_feed(session, parse_nenieco(shared_data / "classic" / "Nenieco-test"))
    assert where(problems_of(error)) == {("train_schedules.dat", 2, "timetable"),
                                         ("train_schedules.dat", 3, "timetable"),
                                         ("flight_schedules.dat", 2, "timetable")}
