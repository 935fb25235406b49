"""The in-memory timetable every importer produces and every exporter reads.

Parsers (GTFS, the classic formats, the CSV bundle, the demo generator) build a ``Feed``;
``transit.timetable.loader`` writes one into the database in a single transaction, and the
routing snapshot can be built from one directly. Plain dataclasses, no database, no Flask.

Times follow the database conventions: seconds after the service day's midnight, local to
the stop's city, possibly past 86,400. Fares are integer cents.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.numbers import list_currencies

from transit.models import ALL_DAYS

# Limits the database (32-bit integers) and the search can hold. A stop time is seconds after
# the start of its service day: past 14 days (the longest search window) it is a data error.
MAX_CENTS = 2**31 - 1
MAX_INTEGER = 2**31 - 1
MAX_STOP_SECONDS = 14 * 86_400


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    """The ISO 4217 currency codes a service's currency may be (Babel's list: current and
    historical codes, and the X codes such as XXX, "no currency"); an empty currency is a
    service without fares (a GTFS feed without fares)."""
    return frozenset(code for code in list_currencies() if re.fullmatch(r"[A-Z]{3}", code))


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, located precisely enough to fix it."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


class ImportFailed(Exception):
    """Raised with every problem found; nothing has been written.

    ``kind`` says what went wrong as a whole, so that each door (command line, admin page,
    API) can add its own advice to the plain messages: ``problems`` (what the file says is
    wrong), ``not_found`` (no such file or folder), ``not_a_timetable`` (a file of none of
    the formats), ``trip_history`` (a trip-history CSV, which has its own import),
    ``unknown_format`` (a folder whose format cannot be told: choosing the
    format would say what it lacks), ``wrong_options`` (a format or encoding that cannot
    apply).
    """

    def __init__(self, problems: list[Problem], kind: str = "problems"):
        self.problems = problems
        self.kind = kind
        count = len(problems)
        head = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {count - 20} more" if count > 20 else ""
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found:\n{head}{more}")


# The problem a reader reports for text with a NUL byte: PostgreSQL cannot store (nor look
# up) one, and no name or code holds one.
NUL_IN_TEXT = "a NUL byte: not text"


class ProblemList:
    """Collects problems while a parser goes on, so a file's errors are all reported."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        # (file, column) of required columns a header lacks: said once, not again on each row.
        self.absent: set[tuple[str, str]] = set()
        # (file, line, field, name) of cities named on rows refused for another problem:
        # whoever checks names against the database checks these too, so that one run reports
        # an unknown city beside the row's other problems.
        self.unchecked_cities: list[tuple[str, int, str, str]] = []

    def add(self, file: str, line: int | None, field: str | None, message: str) -> None:
        if field is not None and (file, field) in self.absent:
            return
        self.items.append(Problem(file, line, field, message))

    def missing_column(self, file: str, column: str, message: str = "required column is missing") -> None:
        """Report a required column missing from a header (line 1), and none of the problems
        its empty cells would cause in each row."""
        self.add(file, 1, column, message)
        self.absent.add((file, column))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportFailed(self.items)


def unclosed_quote(text: str, line: int) -> bool:
    """Whether the CSV row that starts on ``line`` (1-based) of ``text`` opens a quote that
    never closes. A lenient reader takes the rest of the file as one value then: the caller
    says so once, rather than the value (the whole file) or what the missing rows cause."""
    rest = "".join(text.splitlines(keepends=True)[line - 1:])
    try:
        for _ in csv.reader(io.StringIO(rest, newline=""), strict=True):
            pass
    except csv.Error as error:
        return "end of data" in str(error)  # not another slip a lenient reader lets by
    return False


def damaged_zip(path: Path) -> bool:
    """Whether ``path`` starts as a zip file does but cannot be read as one (cut short in
    an upload or a download: its table of contents, at the end, is missing)."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(4)
    except OSError:
        return False
    return start == b"PK\x03\x04" and not zipfile.is_zipfile(path)


DAMAGED_ZIP = ("this zip file is damaged or cut short (its list of contents cannot be read): "
               "send the whole file again")
UNCLOSED_QUOTE = ("a quote opened here is never closed, so the rest of the file was read as "
                  "one value; the rows after it are not checked")


@dataclass
class FeedCity:
    name: str
    code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    timezone: str = "Asia/Shanghai"
    min_connection_seconds: int | None = None
    aliases: tuple[str, ...] = ()  # other names travellers type for it (City.aliases)
    # The file and line it was read from, so that what the database disagrees with is
    # located as precisely as what the file itself gets wrong (None: not known).
    origin: tuple[str, int] | None = field(default=None, compare=False, repr=False)


@dataclass
class FeedCalendar:
    """Weekly pattern (bit 0 = Monday) within optional dates, plus exceptions."""

    weekdays: int = ALL_DAYS
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    added: set[dt.date] = field(default_factory=set)
    removed: set[dt.date] = field(default_factory=set)
    name: str | None = None

    @classmethod
    def single_day(cls, day: dt.date) -> FeedCalendar:
        return cls(weekdays=ALL_DAYS, start_date=day, end_date=day, name=day.isoformat())

    def runs_on(self, day: dt.date) -> bool:
        if day in self.removed:
            return False
        if day in self.added:
            return True
        if self.start_date is not None and day < self.start_date:
            return False
        if self.end_date is not None and day > self.end_date:
            return False
        return bool(self.weekdays >> day.weekday() & 1)


@dataclass
class FeedStop:
    city: str  # key into Feed.cities
    arrival: int | None
    departure: int | None
    fare_cents: int | None = None  # price of the leg from the previous stop
    boarding: bool = True
    alighting: bool = True


@dataclass
class FeedTimetable:
    code: str
    calendar: str  # key into Feed.calendars
    stops: list[FeedStop]
    headsign: str | None = None
    origin: tuple[str, int] | None = field(default=None, compare=False, repr=False)  # as FeedCity's


@dataclass
class FeedService:
    number: str
    mode: str
    operator: str = ""
    route: str = ""
    name: str | None = None
    currency: str = "CNY"
    timetables: list[FeedTimetable] = field(default_factory=list)
    # Origin-destination prices (city keys) overriding the additive leg fares.
    fares: dict[tuple[str, str], int] = field(default_factory=dict)
    origin: tuple[str, int] | None = field(default=None, compare=False, repr=False)  # as FeedCity's
    # Where each of ``fares`` was read (file, line), when the parser knows: the loader's
    # problems with a fare point there.
    fare_origins: dict[tuple[str, str], tuple[str, int]] = field(
        default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.operator, self.number, self.route)


@dataclass
class FeedTransfer:
    from_city: str
    to_city: str
    min_seconds: int


@dataclass
class Feed:
    """A whole timetable. City and calendar keys are the source's own identifiers."""

    source: str
    cities: dict[str, FeedCity] = field(default_factory=dict)
    calendars: dict[str, FeedCalendar] = field(default_factory=dict)
    services: list[FeedService] = field(default_factory=list)
    transfers: list[FeedTransfer] = field(default_factory=list)

    def counts(self) -> dict[str, object]:
        modes: dict[str, int] = {}
        for service in self.services:
            modes[service.mode] = modes.get(service.mode, 0) + 1
        timetables = sum(len(s.timetables) for s in self.services)
        stops = sum(len(t.stops) for s in self.services for t in s.timetables)
        return {
            "cities": len(self.cities),
            "services": dict(sorted(modes.items())),
            "timetables": timetables,
            "stops": stops,
        }


# --- counts in words --------------------------------------------------------------------------

# The counts of Feed.counts, LoadReport.counts and the history import, by their keys.
COUNT_NOUNS: dict[str, tuple[str, str]] = {
    "cities": ("city", "cities"),
    "services": ("service", "services"),
    "timetables": ("timetable", "timetables"),
    "stops": ("stop", "stops"),
    "calendars": ("calendar", "calendars"),
    "leg_fares": ("leg fare", "leg fares"),
    "fares": ("origin-destination fare", "origin-destination fares"),
    "transfers": ("transfer", "transfers"),
    "trip_records": ("past run", "past runs"),
    "past runs": ("past run", "past runs"),
}
# A service counted by its mode: "2 flights, 3 trains".
MODE_NOUNS: dict[str, tuple[str, str]] = {
    "train": ("train", "trains"),
    "flight": ("flight", "flights"),
    "bus": ("bus", "buses"),
    "coach": ("coach", "coaches"),
    "ferry": ("ferry", "ferries"),
    "tram": ("tram", "trams"),
    "subway": ("subway train", "subway trains"),
    "cable": ("cable car", "cable cars"),
    "other": ("other service", "other services"),
}


def quantity(count: int, singular: str, plural: str) -> str:
    """ "no stops", "1 stop", "2,697 stops"."""
    if count == 0:
        return f"no {plural}"
    return f"{count:,} {singular if count == 1 else plural}"


def counts_in_words(counts: dict[str, Any]) -> str:
    """Import counts as plain English: "3 cities, 2 flights, 1 train, 1 timetable, no fares".

    ``services`` is counted by mode (a dict) or as a number; unknown keys keep their name.
    One place for the admin pages, the API's audit text and the command line (the pages
    translate the same counts themselves). No Flask here.
    """
    parts: list[str] = []
    for key, value in counts.items():
        if isinstance(value, dict):
            by_mode = [(mode, int(n)) for mode, n in value.items() if n]
            if not by_mode:
                parts.append(quantity(0, *COUNT_NOUNS.get(key, (key, key))))
            for mode, n in by_mode:
                parts.append(quantity(n, *MODE_NOUNS.get(mode, (f"{mode} service", f"{mode} services"))))
        else:
            parts.append(quantity(int(value), *COUNT_NOUNS.get(key, (key, key))))
    return ", ".join(parts) if parts else "nothing"
