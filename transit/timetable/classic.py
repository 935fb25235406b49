"""The three timetable formats of the classic course-project consultation systems.

Public implementations of the "national transit consultation simulation" (全国交通咨询模拟系统)
keep their timetables in small text files. Three layouts are read here, each from a folder that
holds the files under the names its program uses:

- **Zemdalk**: ``TrainTable.txt`` and ``FlightTable.txt``, one daily service a line,
  ``NUMBER FROM TO HH: MM HH: MM DURATION_MIN FARE`` separated by runs of spaces (a time may be
  two tokens, ``05: 14``). An arrival earlier than the departure is on the next day, and
  ``DURATION_MIN`` must equal ``(arrival - departure) mod 1440``.
- **17BuGs**: ``city.txt`` (a count, then one city a line) and ``train.txt``/``flight.txt``:
  the number of services leaving each city, then 14-line records
  ``NAME FROM TO dep-Y M D H MI arr-Y M D H MI FARE``. Services run on their departure date only.
- **Nenieco**: ``city.dat``, ``train_schedules.dat``, ``flight_schedules.dat`` with
  ``CITY <id> <name>`` and ``TRIP <id> <TRAIN|PLANE> <from> <to> <dep_min> <arr_min> <price>
  <number>`` lines; everything else is ignored (``#`` starts a comment). Daily services.

Files may be in GBK (the originals) or UTF-8: each file is tried as strict UTF-8, then GBK,
unless an encoding is given. Every problem found in a folder is collected and raised together
in one :class:`~transit.timetable.feed.ImportFailed`; each names its file, line and field.

Each service becomes a one-variant :class:`FeedService` with two stops; its fare is the leg
fare of the second stop (in cents). Operators are unknown in these formats (empty), coordinates
too (None), and every city is in China (``Asia/Shanghai``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from transit.models import Mode
from transit.timetable.feed import (
    MAX_CENTS,
    MAX_STOP_SECONDS,
    NUL_IN_TEXT,
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    ProblemList,
)

DAY = 86_400
DAILY = "daily"  # the calendar key of services that run every day

ZEMDALK_FILES = ("TrainTable.txt", "FlightTable.txt")
BUGS_FILES = ("city.txt", "train.txt", "flight.txt")
NENIECO_FILES = ("city.dat", "train_schedules.dat", "flight_schedules.dat")


# --- Reading files ---------------------------------------------------------------------------


def _find(folder: Path, name: str) -> Path | None:
    """The file called ``name`` in ``folder``, matched without regard to case (Windows origins)."""
    exact = folder / name
    if exact.is_file():
        return exact
    if folder.is_dir():
        for child in folder.iterdir():
            if child.name.lower() == name.lower() and child.is_file():
                return child
    return None


def _undecodable_lines(data: bytes, encoding: str) -> list[int]:
    """1-based numbers of the lines of ``data`` that ``encoding`` cannot decode."""
    bad = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            bad.append(number)
    return bad


# Lines that cannot be decoded, each reported; more are one problem for the file.
MAX_LINES_UNDECODED = 5


def read_lines(path: Path, encoding: str | None, problems: ProblemList) -> list[str | None]:
    """The lines of a text file, decoded as ``encoding`` or detected (UTF-8, then GBK).

    A line that cannot be decoded, or that holds a NUL byte (no text does, and PostgreSQL
    cannot store one), is reported and given as None (keeping line numbers and positions),
    so the rest of the file is still checked.
    """
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    candidates = [encoding] if encoding else ["utf-8", "gbk"]
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        except LookupError:
            problems.add(path.name, None, None, f"unknown text encoding {candidate!r}")
            return []
        return _without_nul(path, [line.rstrip("\r") for line in text.split("\n")], problems)
    # Report against the encoding that reads the most lines: a GBK file with one damaged byte
    # should name that one line, not every line with Chinese in it.
    failures = {name: _undecodable_lines(data, name) for name in candidates}
    chosen = min(candidates, key=lambda name: len(failures[name]))
    tried = " or ".join(name.upper() for name in candidates)
    if len(failures[chosen]) > MAX_LINES_UNDECODED:
        # A file in another encoding fails on most lines: said once, with where it starts.
        problems.add(path.name, failures[chosen][0], None,
                     f"{len(failures[chosen])} lines, this one first, cannot be decoded as "
                     f"{tried}: the file is in another text encoding (GBK and UTF-8 are read)")
    else:
        for number in failures[chosen]:
            problems.add(path.name, number, None, f"the bytes of this line cannot be decoded as {tried}")
    bad = set(failures[chosen])
    return _without_nul(path, [
        None if number in bad else raw.decode(chosen).rstrip("\r")
        for number, raw in enumerate(data.split(b"\n"), start=1)
    ], problems)


def _without_nul(path: Path, lines: list[str | None], problems: ProblemList) -> list[str | None]:
    """``lines`` with each one that holds a NUL byte reported and given as None."""
    for index, line in enumerate(lines):
        if line is not None and "\x00" in line:
            problems.add(path.name, index + 1, None, NUL_IN_TEXT)
            lines[index] = None
    return lines


# --- Field parsers ---------------------------------------------------------------------------


def _fare_cents(text: str) -> int | None:
    """Yuan with any number of decimals (``163.00``, ``310.300000``, ``553``) to cents."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_CLOCK = re.compile(r"^(\d{1,2}):\s*(\d{1,2})$")


def _clock_minutes(text: str) -> int | None:
    """``HH:MM`` (or ``HH: MM``) to minutes after midnight; None when not a clock time."""
    match = _CLOCK.match(text)
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


@dataclass
class _Leg:
    """One service of a classic timetable before it becomes a FeedService."""

    number: str
    mode: str
    origin: str  # city key
    destination: str
    departure: int  # seconds after the service day's midnight
    arrival: int
    fare_cents: int
    calendar: str
    where: tuple[str, int]  # file and line, for duplicate reports

    def signature(self) -> tuple[object, ...]:
        return (self.mode, self.origin, self.destination, self.departure, self.arrival,
                self.fare_cents, self.calendar)


class _Builder:
    """Collects services, refusing a number given twice with different timetables."""

    def __init__(self, source: str, problems: ProblemList) -> None:
        self.feed = Feed(source=source)
        self.problems = problems
        self.legs: dict[str, _Leg] = {}

    def city(self, key: str, name: str | None = None, where: tuple[str, int] | None = None) -> None:
        """A city, first seen at ``where`` (file and line: where a conflict with the
        database is reported)."""
        if key not in self.feed.cities:
            self.feed.cities[key] = FeedCity(name=name or key, origin=where)

    def add(self, leg: _Leg) -> None:
        earlier = self.legs.get(leg.number)
        if earlier is not None:
            if earlier.signature() != leg.signature():
                file, line = earlier.where
                self.problems.add(
                    leg.where[0], leg.where[1], "number",
                    f"service {leg.number} is already given with a different timetable "
                    f"({file}, line {line}); a number may appear once",
                )
            return  # an identical repetition adds nothing
        self.legs[leg.number] = leg

    def finish(self) -> Feed:
        self.problems.raise_if_any()
        for leg in self.legs.values():
            if leg.calendar not in self.feed.calendars:
                self.feed.calendars[leg.calendar] = (
                    FeedCalendar(name="every day")
                    if leg.calendar == DAILY
                    else FeedCalendar.single_day(dt.date.fromisoformat(leg.calendar))
                )
            stops = [
                FeedStop(city=leg.origin, arrival=None, departure=leg.departure),
                FeedStop(city=leg.destination, arrival=leg.arrival, departure=None,
                         fare_cents=leg.fare_cents),
            ]
            self.feed.services.append(
                FeedService(
                    number=leg.number,
                    mode=leg.mode,
                    timetables=[FeedTimetable(code="1", calendar=leg.calendar, stops=stops,
                                              origin=leg.where)],
                    origin=leg.where,
                )
            )
        return self.feed


def _check_fare(problems: ProblemList, file: str, line: int, field: str, text: str) -> int | None:
    cents = _fare_cents(text)
    if cents is None:
        problems.add(file, line, field, f"fare {text!r} is not a number")
    elif cents < 0 or text.lstrip().startswith("-"):  # "-0.00" too: a sign is a mistake
        problems.add(file, line, field, f"fare {text} is negative")
        return None
    elif cents > MAX_CENTS:
        problems.add(file, line, field, f"fare {text} is more than {MAX_CENTS / 100:,.2f}")
        return None
    return cents


def _missing(problems: ProblemList, folder: Path, names: tuple[str, ...], need: str) -> None:
    problems.add(folder.name or str(folder), None, None,
                 f"no {need} found in this folder (expected {' and/or '.join(names)})")


# --- Zemdalk ---------------------------------------------------------------------------------

_ZEMDALK_FIELDS = ("NUMBER", "FROM", "TO", "DEPARTURE", "ARRIVAL", "DURATION_MIN", "FARE")


def _zemdalk_fields(line: str) -> list[str]:
    """Whitespace tokens with ``HH:`` ``MM`` pairs joined back into one time."""
    tokens = line.split()
    fields: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.endswith(":") and index + 1 < len(tokens):
            token += tokens[index + 1]
            index += 1
        fields.append(token)
        index += 1
    return fields


def parse_zemdalk(folder: Path, encoding: str | None = None) -> Feed:
    """Read a Zemdalk folder (``TrainTable.txt`` + ``FlightTable.txt``): daily services.

    Raises ImportFailed listing every problem (bad times, a duration that disagrees with the
    times, fares that are not numbers or negative, a number given twice).
    """
    folder = Path(folder)
    problems = ProblemList()
    builder = _Builder(f"zemdalk:{folder.name}", problems)
    found = 0
    for name, mode in zip(ZEMDALK_FILES, (Mode.TRAIN.value, Mode.FLIGHT.value), strict=True):
        path = _find(folder, name)
        if path is None:
            continue
        found += 1
        for number, line in enumerate(read_lines(path, encoding, problems), start=1):
            if line is None or not line.strip():
                continue
            _zemdalk_line(builder, path.name, number, line, mode)
    if not found:
        _missing(problems, folder, ZEMDALK_FILES, "timetable file")
    return builder.finish()


def _zemdalk_line(builder: _Builder, file: str, line_no: int, line: str, mode: str) -> None:
    problems = builder.problems
    fields = _zemdalk_fields(line)
    if len(fields) != len(_ZEMDALK_FIELDS):
        problems.add(file, line_no, None,
                     f"expected 7 fields ({' '.join(_ZEMDALK_FIELDS)}), found {len(fields)}")
        return
    number, origin, destination, dep_text, arr_text, duration_text, fare_text = fields
    departure = _clock_minutes(dep_text)
    arrival = _clock_minutes(arr_text)
    duration = _int(duration_text)
    ok = True
    if departure is None:
        problems.add(file, line_no, "DEPARTURE", f"{dep_text!r} is not a time HH:MM")
        ok = False
    if arrival is None:
        problems.add(file, line_no, "ARRIVAL", f"{arr_text!r} is not a time HH:MM")
        ok = False
    if duration is None or duration < 0:
        problems.add(file, line_no, "DURATION_MIN",
                     f"{duration_text!r} is not a whole number of minutes")
        ok = False
    fare = _check_fare(problems, file, line_no, "FARE", fare_text)
    if origin == destination:
        problems.add(file, line_no, "TO", f"the service goes from {origin} to itself")
        ok = False
    if departure is not None and arrival is not None and duration is not None:
        expected = (arrival - departure) % 1440
        if expected == 0:
            problems.add(file, line_no, "ARRIVAL",
                         "the arrival is at the departure minute: travel time unknown")
            ok = False
        elif duration != expected:
            problems.add(
                file, line_no, "DURATION_MIN",
                f"duration {duration} minutes does not agree with departure {dep_text} and "
                f"arrival {arr_text} ({expected} minutes)",
            )
            ok = False
    if not ok or fare is None or departure is None or arrival is None:
        return
    builder.city(origin, where=(file, line_no))
    builder.city(destination, where=(file, line_no))
    arrival_s = arrival * 60 + (DAY if arrival < departure else 0)  # earlier clock = next day
    builder.add(_Leg(number, mode, origin, destination, departure * 60, arrival_s, fare,
                     DAILY, (file, line_no)))


# --- 17BuGs ----------------------------------------------------------------------------------

_BUGS_RECORD = ("NAME", "FROM", "TO", "departure year", "departure month", "departure day",
                "departure hour", "departure minute", "arrival year", "arrival month",
                "arrival day", "arrival hour", "arrival minute", "FARE")


def parse_17bugs(folder: Path, encoding: str | None = None) -> Feed:
    """Read a 17BuGs folder (``city.txt`` + ``train.txt`` + ``flight.txt``): dated services.

    Each service runs on its departure date only (a single-day calendar). Raises ImportFailed
    listing every problem (unknown cities, counts that do not add up, bad dates and times,
    arrival before departure, bad fares, a name given twice).
    """
    folder = Path(folder)
    problems = ProblemList()
    builder = _Builder(f"17bugs:{folder.name}", problems)
    city_path = _find(folder, "city.txt")
    cities: list[str] | None = None
    if city_path is None:
        _missing(problems, folder, ("city.txt",), "city list")
    else:
        cities = _bugs_cities(city_path, encoding, problems)
        for index, name in enumerate(cities or ()):
            if name != _UNREADABLE:
                builder.city(name, where=(city_path.name, index + 2))  # after the count
    found = 0
    for name, mode in zip(BUGS_FILES[1:], (Mode.TRAIN.value, Mode.FLIGHT.value), strict=True):
        path = _find(folder, name)
        if path is None:
            continue
        found += 1
        # The services are counted per city: without the city list their lines cannot be told apart.
        if cities is not None:
            _bugs_services(builder, path, encoding, cities, mode)
    if not found:
        _missing(problems, folder, BUGS_FILES[1:], "timetable file")
    return builder.finish()


# Stands for a line that could not be decoded (already reported): positions matter here.
_UNREADABLE = "\x00"


def _bugs_lines(path: Path, encoding: str | None, problems: ProblemList) -> list[str]:
    lines = read_lines(path, encoding, problems)
    return [_UNREADABLE if line is None else line.strip() for line in lines]


def _bugs_cities(path: Path, encoding: str | None, problems: ProblemList) -> list[str] | None:
    """The city names in order; None when there is no list at all."""
    lines = _bugs_lines(path, encoding, problems)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        problems.add(path.name, 1, None, "the file is empty: line 1 must give the number of cities")
        return None
    names = lines[1:]
    count = _int(lines[0].strip())
    if count is None or count < 0:
        problems.add(path.name, 1, None, f"{lines[0].strip()!r} is not a number of cities")
        # The names that follow are still the list: the services are checked against them.
        count = len(names)
    elif len(names) != count:
        problems.add(path.name, 1, None,
                     f"line 1 announces {count} cities but {len(names)} follow")
    seen: dict[str, int] = {}
    for index, name in enumerate(names[:count]):
        if name == _UNREADABLE:
            continue
        if not name:
            problems.add(path.name, index + 2, None, "empty city name")
        elif name in seen:
            problems.add(path.name, index + 2, None,
                         f"city {name} is already listed on line {seen[name]}")
        else:
            seen[name] = index + 2
    return names[:count]


def _bugs_services(builder: _Builder, path: Path, encoding: str | None, cities: list[str],
                   mode: str) -> None:
    problems = builder.problems
    file = path.name
    lines = _bugs_lines(path, encoding, problems)
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < len(cities):
        problems.add(file, len(lines) + 1, None,
                     f"expected {len(cities)} lines of service counts (one per city), "
                     f"found {len(lines)}")
        return
    counts: list[int] = []
    for index in range(len(cities)):
        value = _int(lines[index])
        if lines[index] == _UNREADABLE:
            value = 0
        elif value is None or value < 0:
            problems.add(file, index + 1, None,
                         f"{lines[index]!r} is not a number of services leaving {cities[index]}")
            value = 0
        counts.append(value)
    records = lines[len(cities):]
    size = len(_BUGS_RECORD)
    expected = sum(counts)
    if len(records) != expected * size:
        problems.add(
            file, len(cities) + 1, None,
            f"the counts announce {expected} services ({expected * size} lines) but "
            f"{len(records)} lines follow",
        )
    # Records are grouped by departure city in city.txt order.
    groups = [city for city, count in zip(cities, counts, strict=True) for _ in range(count)]
    known = set(cities)
    for index in range(len(records) // size):
        start = len(cities) + index * size  # 0-based line index of the record's NAME
        record = lines[start:start + size]
        listed_under = groups[index] if index < len(groups) else None
        if _UNREADABLE in record:
            continue
        if listed_under == _UNREADABLE:
            listed_under = None
        _bugs_record(builder, file, start + 1, record, known, listed_under, mode)


def _bugs_record(builder: _Builder, file: str, first_line: int, record: list[str],
                 known: set[str], listed_under: str | None, mode: str) -> None:
    problems = builder.problems
    name, origin, destination = record[0], record[1], record[2]
    ok = True
    if not name:
        problems.add(file, first_line, "NAME", "empty service name")
        ok = False
    for offset, field, city in ((1, "FROM", origin), (2, "TO", destination)):
        if city not in known:
            problems.add(file, first_line + offset, field, f"unknown city {city!r} (not in city.txt)")
            ok = False
    if listed_under is not None and origin != listed_under:
        problems.add(file, first_line + 1, "FROM",
                     f"the service is counted under {listed_under} but departs from {origin}")
        ok = False
    if origin == destination:
        problems.add(file, first_line + 2, "TO", f"the service goes from {origin} to itself")
        ok = False
    moments: list[dt.datetime | None] = []
    for offset in (3, 8):
        numbers = [_int(text) for text in record[offset:offset + 5]]
        bad = [i for i, value in enumerate(numbers) if value is None]
        for i in bad:
            problems.add(file, first_line + offset + i, _BUGS_RECORD[offset + i],
                         f"{record[offset + i]!r} is not a whole number")
        moment = None
        if not bad:
            year, month, day, hour, minute = (int(v) for v in numbers if v is not None)
            try:
                moment = dt.datetime(year, month, day, hour, minute)
            except ValueError as error:
                problems.add(file, first_line + offset, _BUGS_RECORD[offset].split()[0],
                             f"{year}-{month}-{day} {hour}:{minute} is not a valid date and "
                             f"time ({error})")
        moments.append(moment)
    fare = _check_fare(problems, file, first_line + 13, "FARE", record[13])
    departure, arrival = moments
    if departure is not None and arrival is not None and arrival <= departure:
        problems.add(file, first_line + 8, "arrival",
                     f"arrival {arrival:%Y-%m-%d %H:%M} is not after departure "
                     f"{departure:%Y-%m-%d %H:%M}")
        ok = False
    if departure is not None and arrival is not None and arrival > departure:
        # Stop times count from the service day's midnight.
        since = arrival - dt.datetime.combine(departure.date(), dt.time())
        if since.total_seconds() > MAX_STOP_SECONDS:
            problems.add(file, first_line + 8, "arrival",
                         f"arrival {arrival:%Y-%m-%d %H:%M} is more than "
                         f"{MAX_STOP_SECONDS // DAY} days after the start of the departure "
                         f"day {departure:%Y-%m-%d}")
            ok = False
    if not ok or fare is None or departure is None or arrival is None:
        return
    service_day = departure.date()
    dep_s = departure.hour * 3600 + departure.minute * 60
    arr_s = (arrival.date() - service_day).days * DAY + arrival.hour * 3600 + arrival.minute * 60
    builder.add(_Leg(name, mode, origin, destination, dep_s, arr_s, fare,
                     service_day.isoformat(), (file, first_line)))


# --- Nenieco ---------------------------------------------------------------------------------

_NENIECO_TRIP = ("id", "kind", "from_id", "to_id", "dep_min", "arr_min", "price", "number")
_NENIECO_MODES = {"TRAIN": Mode.TRAIN.value, "PLANE": Mode.FLIGHT.value,
                  "FLIGHT": Mode.FLIGHT.value}


def parse_nenieco(folder: Path, encoding: str | None = None) -> Feed:
    """Read a Nenieco folder (``city.dat`` + ``train_schedules.dat`` + ``flight_schedules.dat``).

    Daily services, times in minutes after midnight (arrival before departure: next day).
    Raises ImportFailed listing every problem (unknown city ids, bad minutes, a city or trip id
    given twice, bad prices, a number given twice with different timetables).
    """
    folder = Path(folder)
    problems = ProblemList()
    builder = _Builder(f"nenieco:{folder.name}", problems)
    paths = [_find(folder, name) for name in NENIECO_FILES]
    if paths[0] is None:
        _missing(problems, folder, NENIECO_FILES[:1], "city list")
    if paths[1] is None and paths[2] is None:
        _missing(problems, folder, NENIECO_FILES[1:], "timetable file")
    city_lines: list[tuple[str, int, list[str]]] = []
    trip_lines: list[tuple[str, int, list[str]]] = []
    for path in paths:
        if path is None:
            continue
        for number, line in enumerate(read_lines(path, encoding, problems), start=1):
            if line is None:
                continue
            tokens = line.split("#", 1)[0].split()
            if tokens and tokens[0] == "CITY":
                city_lines.append((path.name, number, tokens[1:]))
            elif tokens and tokens[0] == "TRIP":
                trip_lines.append((path.name, number, tokens[1:]))

    city_where: dict[str, tuple[str, int]] = {}
    refused: set[str] = set()  # ids of CITY lines without a name: their trips are not "unknown"
    for file, number, tokens in city_lines:
        if len(tokens) < 2:
            problems.add(file, number, None, "a CITY line needs an id and a name")
            refused.update(tokens)
            continue
        key, name = tokens[0], " ".join(tokens[1:])
        if key in city_where:
            problems.add(file, number, "id",
                         f"city id {key} is already given ({city_where[key][0]}, line "
                         f"{city_where[key][1]})")
            continue
        city_where[key] = (file, number)
        builder.city(key, name, (file, number))

    trip_where: dict[str, tuple[str, int]] = {}
    for file, number, tokens in trip_lines:
        if len(tokens) != len(_NENIECO_TRIP):
            problems.add(file, number, None,
                         f"a TRIP line needs {len(_NENIECO_TRIP)} fields "
                         f"({' '.join(_NENIECO_TRIP)}), found {len(tokens)}")
            continue
        _nenieco_trip(builder, file, number, tokens, trip_where, refused)
    return builder.finish()


def _nenieco_trip(builder: _Builder, file: str, line_no: int, tokens: list[str],
                  trip_where: dict[str, tuple[str, int]], refused: set[str]) -> None:
    problems = builder.problems
    trip_id, kind, origin, destination, dep_text, arr_text, price, number = tokens
    ok = True
    if trip_id in trip_where:
        earlier = trip_where[trip_id]
        problems.add(file, line_no, "id",
                     f"trip id {trip_id} is already given ({earlier[0]}, line {earlier[1]})")
        ok = False
    else:
        trip_where[trip_id] = (file, line_no)
    mode = _NENIECO_MODES.get(kind.upper())
    if mode is None:
        problems.add(file, line_no, "kind", f"{kind!r} is neither TRAIN nor PLANE")
        ok = False
    for field, key in (("from_id", origin), ("to_id", destination)):
        if key not in builder.feed.cities:
            if key not in refused:
                problems.add(file, line_no, field, f"unknown city id {key} (no CITY line gives it)")
            ok = False
    if origin == destination:
        problems.add(file, line_no, "to_id", "the trip goes from a city to itself")
        ok = False
    minutes: list[int | None] = []
    for field, text in (("dep_min", dep_text), ("arr_min", arr_text)):
        value = _int(text)
        if value is None or not 0 <= value < 1440:
            problems.add(file, line_no, field,
                         f"{text!r} is not a time in minutes after midnight (0-1439)")
            value = None
        minutes.append(value)
    departure, arrival = minutes
    if departure is not None and arrival is not None and departure == arrival:
        problems.add(file, line_no, "arr_min",
                     "the arrival is at the departure minute: travel time unknown")
        ok = False
    fare = _check_fare(problems, file, line_no, "price", price)
    if not ok or fare is None or mode is None or departure is None or arrival is None:
        return
    arrival_s = arrival * 60 + (DAY if arrival < departure else 0)
    builder.add(_Leg(number, mode, origin, destination, departure * 60, arrival_s, fare, DAILY,
                     (file, line_no)))


# --- Detection -------------------------------------------------------------------------------


def detect_classic(folder: Path) -> str | None:
    """"zemdalk", "17bugs" or "nenieco" from the file names in ``folder``; None otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    if any(_find(folder, name) for name in ZEMDALK_FILES):
        return "zemdalk"
    if _find(folder, "city.txt") and any(_find(folder, name) for name in BUGS_FILES[1:]):
        return "17bugs"
    if _find(folder, "city.dat") or any(_find(folder, name) for name in NENIECO_FILES[1:]):
        return "nenieco"
    return None


PARSERS = {"zemdalk": parse_zemdalk, "17bugs": parse_17bugs, "nenieco": parse_nenieco}
