"""The CSV bundle: the project's own exchange format, a folder of UTF-8 CSV files.

``write_bundle`` writes the whole timetable database (and its trip history) into a folder;
``read_bundle`` reads one back into a ``Feed`` that loads to the same timetable, field for
field. The files and their columns are documented in docs/formats.md and in ``FILES`` below.

Conventions: times are ``H:MM:SS`` after the service day's midnight, local to the stop's
city, hours past 24 allowed; fares are amounts in the service's currency with at most two
decimals; dates are ``YYYY-MM-DD``; weekdays are seven 0/1 digits from Monday to Sunday;
booleans are ``1``/``0``. Cities are named, services identified by (operator, number,
route), timetables by their service and code, calendars by the ``calendar`` key of
calendars.csv. Names and codes are single lines the admin's forms save unchanged
(``transit.schemas.text_problem``: no tab, line break, control or invisible character).
A city's other names (``City.aliases``) share one cell, separated by ``|``
(``ALIAS_SEPARATOR``): names may hold commas, and the csv module quotes those.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from transit.models import (
    MAX_ALIASES,
    MODE_VALUES,
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    Transfer,
    alias_problems,
    local_order_applies,
    time_zone,
)
from transit.schemas import text_problem
from transit.timetable.feed import (
    MAX_CENTS,
    MAX_INTEGER,
    MAX_STOP_SECONDS,
    NUL_IN_TEXT,
    UNCLOSED_QUOTE,
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    FeedTransfer,
    ImportFailed,
    Problem,
    ProblemList,
    currency_codes,
    unclosed_quote,
)
from transit.timetable.history import HistoryTrip, read_history_csv, write_history_csv

SERVICE = ("operator", "number", "route")
# file -> (columns, required columns). Optional columns may be left out of the header.
FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cities.csv": (
        ("name", "code", "latitude", "longitude", "timezone", "min_connection_seconds", "aliases"),
        ("name", "timezone"),
    ),
    "calendars.csv": (
        ("calendar", "name", "weekdays", "start_date", "end_date"),
        ("calendar", "weekdays"),
    ),
    "calendar_dates.csv": (("calendar", "date", "added"), ("calendar", "date", "added")),
    "services.csv": (
        (*SERVICE, "mode", "name", "currency"),
        ("number", "mode"),
    ),
    "timetables.csv": (
        (*SERVICE, "code", "calendar", "headsign"),
        ("number", "code", "calendar"),
    ),
    "stops.csv": (
        (*SERVICE, "code", "sequence", "city", "arrival", "departure", "fare", "boarding", "alighting"),
        ("number", "code", "sequence", "city"),
    ),
    "fares.csv": ((*SERVICE, "origin", "destination", "fare"), ("number", "origin", "destination", "fare")),
    "transfers.csv": (("from_city", "to_city", "min_seconds"), ("from_city", "to_city", "min_seconds")),
}
REQUIRED_FILES = ("cities.csv", "calendars.csv", "services.csv", "timetables.csv", "stops.csv")
# The columns other files refer to a row by. Without them (or the file) references into the
# file cannot be checked, and are not reported as unknown.
KEY_COLUMNS = {
    "cities.csv": ("name",),
    "calendars.csv": ("calendar",),
    "services.csv": ("number",),
    "timetables.csv": ("number", "code"),
}
HISTORY_FILE = "trips.csv"
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
DAYS = "weekdays"
# Between a city's other names in the ``aliases`` cell of cities.csv ("Canton|Kwangchow").
ALIAS_SEPARATOR = "|"
# The longest other name, as the longest city name (``transit.schemas.Name``).
MAX_ALIAS_LENGTH = 200


def is_bundle(folder: Path) -> bool:
    """True when ``folder`` looks like a CSV bundle (it has the bundle's stop file)."""
    folder = Path(folder)
    return folder.is_dir() and (folder / "stops.csv").is_file() and (folder / "cities.csv").is_file()


# --- writing --------------------------------------------------------------------------------


def _time(value: int | None) -> str:
    if value is None:
        return ""
    return f"{value // 3600}:{value // 60 % 60:02d}:{value % 60:02d}"


def _money(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents // 100}.{cents % 100:02d}"


def _number(value: float | int | None) -> str:
    return "" if value is None else repr(value)


class _Writer:
    def __init__(self, folder: Path, name: str) -> None:
        self.handle = open(folder / name, "w", encoding="utf-8", newline="")
        self.csv = csv.writer(self.handle, lineterminator="\n")
        self.csv.writerow(FILES[name][0])

    def __enter__(self) -> Any:  # the csv writer type has no public name
        return self.csv

    def __exit__(self, *_exc: object) -> None:
        self.handle.close()


def write_bundle(session: Session, folder: Path) -> dict[str, int]:
    """Write the database's timetable and trip history as a CSV bundle into ``folder``.

    Returns the number of rows written per file. ``read_bundle`` reads it back.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}

    with _Writer(folder, "cities.csv") as out:
        rows = session.execute(
            select(City.name, City.code, City.latitude, City.longitude, City.timezone,
                   City.min_connection_seconds, City.aliases).order_by(City.name)
        ).all()
        for name, code, lat, lon, zone, connection, aliases in rows:
            out.writerow([name, code or "", _number(lat), _number(lon), zone, _number(connection),
                          ALIAS_SEPARATOR.join(aliases or ())])
        written["cities.csv"] = len(rows)

    with _Writer(folder, "calendars.csv") as out:
        calendars = session.execute(
            select(Calendar.id, Calendar.name, Calendar.weekdays, Calendar.start_date, Calendar.end_date)
            .order_by(Calendar.id)
        ).all()
        # Keys numbered in id order, not the ids themselves: the import creates calendars in
        # file order, so an export of the import numbers them alike, byte for byte.
        key = {row[0]: str(n) for n, row in enumerate(calendars, start=1)}
        for calendar_id, label, weekdays, first, last in calendars:
            pattern = "".join("1" if weekdays >> bit & 1 else "0" for bit in range(7))
            out.writerow([key[calendar_id], label if label is not None else "", pattern,
                          first.isoformat() if first else "", last.isoformat() if last else ""])
        written["calendars.csv"] = len(calendars)

    with _Writer(folder, "calendar_dates.csv") as out:
        dates = session.execute(
            select(CalendarDate.calendar_id, CalendarDate.date, CalendarDate.added)
            .order_by(CalendarDate.calendar_id, CalendarDate.date)
        ).all()
        for calendar_id, day, added in dates:
            out.writerow([key[calendar_id], day.isoformat(), "1" if added else "0"])
        written["calendar_dates.csv"] = len(dates)

    order = (Service.operator, Service.number, Service.route)
    with _Writer(folder, "services.csv") as out:
        services = session.execute(
            select(Service.operator, Service.number, Service.route, Service.mode, Service.name,
                   Service.currency).order_by(*order)
        ).all()
        for operator, number, route, mode, title, currency in services:
            out.writerow([operator, number, route, mode, title if title is not None else "", currency])
        written["services.csv"] = len(services)

    with _Writer(folder, "timetables.csv") as out:
        timetables = session.execute(
            select(Service.operator, Service.number, Service.route, Timetable.code,
                   Timetable.calendar_id, Timetable.headsign)
            .join(Service, Service.id == Timetable.service_id)
            .order_by(*order, Timetable.id)
        ).all()
        for operator, number, route, code, calendar_id, headsign in timetables:
            out.writerow([operator, number, route, code, key[calendar_id],
                          headsign if headsign is not None else ""])
        written["timetables.csv"] = len(timetables)

    with _Writer(folder, "stops.csv") as out:
        count = 0
        for row in session.execute(
            select(Service.operator, Service.number, Service.route, Timetable.code, Stop.sequence,
                   City.name, Stop.arrival, Stop.departure, Stop.fare_cents, Stop.boarding,
                   Stop.alighting)
            .join(Timetable, Timetable.id == Stop.timetable_id)
            .join(Service, Service.id == Timetable.service_id)
            .join(City, City.id == Stop.city_id)
            .order_by(*order, Timetable.id, Stop.sequence)
        ):
            operator, number, route, code, sequence, city, arrival, departure, fare, board, alight = row
            out.writerow([operator, number, route, code, sequence, city, _time(arrival),
                          _time(departure), _money(fare), "1" if board else "0", "1" if alight else "0"])
            count += 1
        written["stops.csv"] = count

    with _Writer(folder, "fares.csv") as out:
        origin, destination = aliased(City), aliased(City)
        fares = session.execute(
            select(Service.operator, Service.number, Service.route, origin.name, destination.name,
                   ServiceFare.fare_cents)
            .join(Service, Service.id == ServiceFare.service_id)
            .join(origin, origin.id == ServiceFare.origin_id)
            .join(destination, destination.id == ServiceFare.destination_id)
            .order_by(*order, origin.name, destination.name)
        ).all()
        for operator, number, route, a, b, cents in fares:
            out.writerow([operator, number, route, a, b, _money(cents)])
        written["fares.csv"] = len(fares)

    with _Writer(folder, "transfers.csv") as out:
        walk_from, walk_to = aliased(City), aliased(City)
        transfers = session.execute(
            select(walk_from.name, walk_to.name, Transfer.min_seconds)
            .join(walk_from, walk_from.id == Transfer.from_city_id)
            .join(walk_to, walk_to.id == Transfer.to_city_id)
            .order_by(walk_from.name, walk_to.name)
        ).all()
        for a, b, seconds in transfers:
            out.writerow([a, b, seconds])
        written["transfers.csv"] = len(transfers)

    written[HISTORY_FILE] = write_history_csv(session, folder / HISTORY_FILE)
    return written


# --- reading --------------------------------------------------------------------------------


class _Rows:
    """The rows of one bundle file as dicts, each with its line number."""

    def __init__(self, folder: Path, name: str, problems: ProblemList) -> None:
        self.name = name
        self.problems = problems
        # False when the rows other files refer to cannot be known (file or key column missing).
        self.known = True
        self.missing: set[str] = set()  # required columns the header lacks
        self.rows: list[tuple[int, dict[str, str]]] = []
        path = folder / name
        if not path.is_file():
            if name in REQUIRED_FILES:
                problems.add(name, None, None, "required file is missing from the bundle")
                self.known = False
            return
        self.known = False
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            problems.add(name, line, None, f"bytes that are not UTF-8 (at byte {error.start})")
            return
        reader = csv.reader(io.StringIO(text, newline=""))
        lines = text.count("\n") + (not text.endswith("\n"))  # the last row ends on this one
        try:
            header = [column.strip() for column in next(reader, [])]
        except csv.Error as error:
            problems.add(name, 1, None, f"unreadable header: {error}")
            return
        columns, required = FILES[name]
        missing = [c for c in required if c not in header]
        for column in missing:
            problems.missing_column(name, column)
        self.missing = set(missing)
        for column in header:
            if column not in columns:
                problems.add(name, 1, column, "unknown column")  # its values are left aside
        self.known = not set(missing) & set(KEY_COLUMNS.get(name, ()))
        line = 2
        try:
            for row in reader:
                if reader.line_num >= lines and unclosed_quote(text, line):  # the last row
                    # The last row, holding the rest of the file: said once, and the rows
                    # other files refer to are unknown (no problem for each missing one).
                    problems.add(name, line, header[min(len(row), len(header)) - 1] if header
                                 else None, UNCLOSED_QUOTE)
                    self.known = False
                    break
                if any(cell.strip() for cell in row):
                    if len(row) > len(header):
                        problems.add(name, line, None, f"{len(row)} values for {len(header)} columns")
                    values = dict(zip(header, row, strict=False))
                    for column, cell in values.items():
                        if "\x00" in cell:
                            problems.add(name, line, column, NUL_IN_TEXT)
                    self.rows.append((line, {c: values.get(c, "") for c in columns}))
                line = reader.line_num + 1
        except csv.Error as error:
            problems.add(name, reader.line_num, None, f"malformed CSV: {error}")
            self.known = False  # the rows after it are unread

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        return iter(self.rows)


class _Reader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems = ProblemList()
        self.feed = Feed(source=folder.name)

    def add(self, file: str, line: int, field: str, message: str) -> None:
        self.problems.add(file, line, field, message)

    def text(self, file: str, line: int, field: str, text: str | None) -> None:
        """Report ``text``, a name or code the import stores, where the admin's forms would
        not save it unchanged (``transit.schemas.text_problem``: a tab or line break, a
        control or invisible character). A NUL is reported as such when the file is read."""
        if not text or "\x00" in text:
            return
        problem = text_problem(text)
        if problem is not None:
            self.add(file, line, field, f"{text!r} {problem}")

    def integer(self, file: str, line: int, field: str, text: str, *, minimum: int | None = 0) -> int | None:
        text = text.strip()
        digits = text[1:] if text.startswith("-") else text
        if not digits.isdecimal():
            self.add(file, line, field, f"{text!r} is not a whole number")
            return None
        value = int(text)
        if minimum is not None and value < minimum:
            self.add(file, line, field, f"{value} is below {minimum}")
            return None
        if abs(value) > MAX_INTEGER:
            self.add(file, line, field, f"{value} is beyond {MAX_INTEGER:,} (the database's limit)")
            return None
        return value

    def real(self, file: str, line: int, field: str, text: str, bound: float) -> float | None:
        if not text.strip():
            return None
        try:
            value = float(text)
        except ValueError:
            self.add(file, line, field, f"{text.strip()!r} is not a number")
            return None
        if not -bound <= value <= bound:
            self.add(file, line, field, f"{value} is out of range")
            return None
        return value

    def date(self, file: str, line: int, field: str, text: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            self.add(file, line, field, f"{text.strip()!r} is not a date written YYYY-MM-DD")
            return None

    def time(self, file: str, line: int, field: str, text: str) -> tuple[bool, int | None]:
        text = text.strip()
        if not text:
            return True, None
        parts = text.split(":")
        if len(parts) == 3 and all(p.isdecimal() for p in parts):
            hours, minutes, seconds = (int(p) for p in parts)
            value = hours * 3600 + minutes * 60 + seconds
            if minutes < 60 and seconds < 60 and value <= MAX_STOP_SECONDS:
                return True, value
        self.add(file, line, field, f"{text!r} is not a time written H:MM:SS up to "
                 f"{MAX_STOP_SECONDS // 3600}:00:00")
        return False, None

    def money(self, file: str, line: int, field: str, text: str) -> tuple[bool, int | None]:
        text = text.strip()
        if not text:
            return True, None
        # Plain decimals only: Decimal() alone would also take "1_000", "1e3" or "Infinity".
        amount = Decimal(text) if _AMOUNT.fullmatch(text) else None
        if amount is None:
            self.add(file, line, field, f"{text!r} is not an amount")
            return False, None
        if amount < 0:
            self.add(file, line, field, f"a fare cannot be negative ({text})")
            return False, None
        cents = amount * 100
        if cents != cents.to_integral_value():
            self.add(file, line, field, f"{text} has more than two decimals")
            return False, None
        if cents > MAX_CENTS:
            self.add(file, line, field, f"{text} is more than {MAX_CENTS / 100:,.2f}")
            return False, None
        return True, int(cents)

    def flag(self, file: str, line: int, field: str, text: str, default: bool) -> bool:
        text = text.strip().lower()
        if not text:
            return default
        if text in ("1", "true", "yes"):
            return True
        if text in ("0", "false", "no"):
            return False
        self.add(file, line, field, f"{text!r} is neither 1 nor 0")
        return default

    def read(self) -> Feed:
        folder = self.folder
        if not folder.is_dir():
            raise ImportFailed([Problem(folder.name, None, None, "a CSV bundle is a folder")])
        files = {name: _Rows(folder, name, self.problems) for name in FILES}
        # What the rows of each file may refer to, and whether a reference can be judged.
        self.cities_known = files["cities.csv"].known
        self.calendars_known = files["calendars.csv"].known
        self.services_known = files["services.csv"].known
        self.timetables_known = files["timetables.csv"].known
        # Keys of rows refused for another reason (reported): not reported again as unknown.
        self.refused_cities: set[str] = set()
        self.refused_calendars: set[str] = set()
        self.refused_services: set[tuple[str, str, str]] = set()
        self.refused_timetables: set[tuple[tuple[str, str, str], str]] = set()
        self.cities(files["cities.csv"])
        self.calendars(files["calendars.csv"], files["calendar_dates.csv"])
        services = self.services(files["services.csv"])
        timetables = self.timetables(files["timetables.csv"], services)
        damaged = self.stops(files["stops.csv"], timetables)
        # Without the columns that name a stop row's timetable, or rows that could not all
        # be read (reported), no timetable's rows can be counted.
        counted = files["stops.csv"].known and not {"number", "code"} & files["stops.csv"].missing
        self.fares(files["fares.csv"], services)
        self.transfers(files["transfers.csv"])
        self.priced_without_currency(services)
        for (key, code), timetable in timetables.items():
            # A timetable with a refused stop row is not counted: its rows were reported.
            if counted and (key, code) not in damaged and len(timetable.stops) < 2:
                self.add("timetables.csv", self.timetable_lines[(key, code)], "code",
                         f"timetable {code!r} has fewer than two rows in stops.csv")
        self.problems.raise_if_any()
        return self.feed

    def priced_without_currency(self, services: dict[tuple[str, str, str], FeedService]) -> None:
        """A service with prices needs their currency: the admin's service form and the API
        refuse an empty one there ("required when the service has fares")."""
        for service in services.values():
            if service.currency or service.origin is None:
                continue
            priced = service.fares or any(
                stop.fare_cents is not None
                for timetable in service.timetables for stop in timetable.stops)
            if priced:
                self.add(*service.origin, "currency",
                         "a currency is required when the service has fares (in stops.csv "
                         "or fares.csv): write its ISO 4217 code, such as CNY or EUR")

    def city(self, file: str, line: int, field: str, name: str) -> bool:
        """Whether ``name`` is a city of the bundle; an unknown one is reported."""
        if name in self.feed.cities:
            return True
        if name not in self.refused_cities and self.cities_known:
            self.add(file, line, field, f"unknown city {name!r}")
        return False

    def service(
        self, services: dict[tuple[str, str, str], FeedService], file: str, line: int, key: tuple[str, str, str]
    ) -> FeedService | None:
        """The service of ``key``; an unknown one is reported."""
        service = services.get(key)
        if service is None and key not in self.refused_services and self.services_known:
            self.add(file, line, "number", f"unknown service {_describe(key)}")
        return service

    def calendar(self, file: str, line: int, key: str) -> FeedCalendar | None:
        calendar = self.feed.calendars.get(key)
        if calendar is None and key not in self.refused_calendars and self.calendars_known:
            self.add(file, line, "calendar", f"unknown calendar {key!r}")
        return calendar

    def cities(self, rows: _Rows) -> None:
        for line, row in rows:
            name = row["name"].strip()
            if not name:
                self.add(rows.name, line, "name", "a value is required")
            elif name in self.feed.cities or name in self.refused_cities:
                self.add(rows.name, line, "name", f"city {name!r} is given twice")
                continue
            zone = row["timezone"].strip()
            good = time_zone(zone) is not None
            if not good:
                self.add(rows.name, line, "timezone", f"{zone!r} is not a known time zone")
            connection = row["min_connection_seconds"].strip()
            self.text(rows.name, line, "name", name)
            self.text(rows.name, line, "code", row["code"].strip())
            aliases = self.aliases(rows.name, line, name, row["code"].strip() or None, row["aliases"])
            city = FeedCity(
                name=name,
                code=row["code"].strip() or None,
                latitude=self.real(rows.name, line, "latitude", row["latitude"], 90),
                longitude=self.real(rows.name, line, "longitude", row["longitude"], 180),
                timezone=zone,
                min_connection_seconds=(
                    self.integer(rows.name, line, "min_connection_seconds", connection) if connection else None
                ),
                aliases=aliases,
                origin=(rows.name, line),
            )
            if good and name:
                self.feed.cities[name] = city
            elif name:
                self.refused_cities.add(name)

    def aliases(self, file: str, line: int, name: str, code: str | None, text: str) -> tuple[str, ...]:
        """The other names of an ``aliases`` cell ("Canton|Kwangchow"), each stripped, empty
        parts left out; what the API and the admin's city form would refuse is reported in
        field ``aliases``: more than ``MAX_ALIASES`` names, one too long or not a single
        line, one given twice or that is the city's own name or code (in any case)."""
        aliases = tuple(part.strip() for part in text.split(ALIAS_SEPARATOR) if part.strip())
        if len(aliases) > MAX_ALIASES:
            self.add(file, line, "aliases",
                     f"{len(aliases)} other names: a city has at most {MAX_ALIASES}")
        for alias in aliases:
            if len(alias) > MAX_ALIAS_LENGTH:
                self.add(file, line, "aliases",
                         f"other name {alias[:40]!r}... is longer than {MAX_ALIAS_LENGTH} characters")
            self.text(file, line, "aliases", alias)
        if name:
            for words in alias_problems(name, code, aliases):
                self.add(file, line, "aliases", words)
        return aliases

    def calendars(self, rows: _Rows, dates: _Rows) -> None:
        for line, row in rows:
            key = row["calendar"].strip()
            if not key:
                self.add(rows.name, line, "calendar", "a value is required")
            elif key in self.feed.calendars or key in self.refused_calendars:
                self.add(rows.name, line, "calendar", f"calendar {key!r} is given twice")
                continue
            pattern = row["weekdays"].strip()
            good = len(pattern) == 7 and not set(pattern) - {"0", "1"}
            if not good:
                self.add(rows.name, line, "weekdays", f"{pattern!r} is not seven 0/1 digits, Monday first")
            weekdays = sum(1 << bit for bit, c in enumerate(pattern) if c == "1")
            start = self.date(rows.name, line, "start_date", row["start_date"]) if row["start_date"].strip() else None
            end = self.date(rows.name, line, "end_date", row["end_date"]) if row["end_date"].strip() else None
            if start and end and end < start:
                self.add(rows.name, line, "end_date", "the calendar ends before it starts")
            self.text(rows.name, line, "name", row["name"])
            if good and key:
                self.feed.calendars[key] = FeedCalendar(weekdays, start, end, name=row["name"] or None)
            elif key:
                self.refused_calendars.add(key)
        seen: set[tuple[str, dt.date]] = set()
        for line, row in dates:
            key = row["calendar"].strip()
            calendar = self.calendar(dates.name, line, key)
            day = self.date(dates.name, line, "date", row["date"])
            added = self.flag(dates.name, line, "added", row["added"], True)
            if day is None or calendar is None:
                continue
            if (key, day) in seen:
                self.add(dates.name, line, "date", f"{day} is given twice for calendar {key!r}")
                continue
            seen.add((key, day))
            (calendar.added if added else calendar.removed).add(day)

    def services(self, rows: _Rows) -> dict[tuple[str, str, str], FeedService]:
        services: dict[tuple[str, str, str], FeedService] = {}
        for line, row in rows:
            key = (row["operator"], row["number"], row["route"])
            if not key[1].strip():
                self.add(rows.name, line, "number", "a value is required")
            elif key in services or key in self.refused_services:
                self.add(rows.name, line, "number", f"service {key[1]!r} is given twice")
                continue
            mode = row["mode"].strip()
            if mode not in MODE_VALUES:
                self.add(rows.name, line, "mode", f"{mode!r} is not one of {', '.join(MODE_VALUES)}")
                self.refused_services.add(key)
                continue
            currency = row["currency"].strip()
            if currency and currency not in currency_codes():
                # The admin's service form and the API take three capital letters only: a
                # service imported with anything else could not be saved unchanged there.
                self.add(rows.name, line, "currency",
                         f"{currency!r} is not an ISO 4217 currency code (three capital letters "
                         "such as CNY or EUR; empty for a service without fares)")
            for field, text in (*zip(SERVICE, key, strict=True), ("name", row["name"])):
                self.text(rows.name, line, field, text)
            if not key[1].strip():
                continue
            services[key] = FeedService(
                number=key[1], mode=mode, operator=key[0], route=key[2],
                name=row["name"] or None, currency=currency, origin=(rows.name, line),
            )
        self.feed.services = list(services.values())
        return services

    def timetables(
        self, rows: _Rows, services: dict[tuple[str, str, str], FeedService]
    ) -> dict[tuple[tuple[str, str, str], str], FeedTimetable]:
        timetables: dict[tuple[tuple[str, str, str], str], FeedTimetable] = {}
        self.timetable_lines: dict[tuple[tuple[str, str, str], str], int] = {}
        for line, row in rows:
            key = (row["operator"], row["number"], row["route"])
            code = row["code"]
            if (key, code) in timetables or (key, code) in self.refused_timetables:
                self.add(rows.name, line, "code", f"timetable {code!r} of {_describe(key)} is given twice")
                continue
            service = self.service(services, rows.name, line, key)
            self.text(rows.name, line, "code", code)
            self.text(rows.name, line, "headsign", row["headsign"])
            calendar = row["calendar"].strip()
            known_calendar = self.calendar(rows.name, line, calendar) is not None
            if service is None or not known_calendar:
                self.refused_timetables.add((key, code))
                continue
            timetable = FeedTimetable(code, calendar, [], row["headsign"] or None, (rows.name, line))
            service.timetables.append(timetable)
            timetables[(key, code)] = timetable
            self.timetable_lines[(key, code)] = line
        return timetables

    def stops(
        self, rows: _Rows, timetables: dict[tuple[tuple[str, str, str], str], FeedTimetable]
    ) -> set[tuple[tuple[str, str, str], str]]:
        """Read the stop rows into their timetables; the timetables with a refused row."""
        name = rows.name
        counted = not {"number", "code"} & rows.missing
        calls: dict[tuple[tuple[str, str, str], str], list[tuple[int, int, FeedStop]]] = {}
        damaged: set[tuple[tuple[str, str, str], str]] = set()
        for line, row in rows:
            # Every column of every row is checked, whatever else is wrong with it.
            key = ((row["operator"], row["number"], row["route"]), row["code"])
            if key not in timetables and key not in self.refused_timetables and self.timetables_known and counted:
                self.add(name, line, "code", f"unknown timetable {key[1]!r} of {_describe(key[0])}")
            sequence = self.integer(name, line, "sequence", row["sequence"])
            city = row["city"].strip()
            ok_c = self.city(name, line, "city", city)
            ok_a, arrival = self.time(name, line, "arrival", row["arrival"])
            ok_d, departure = self.time(name, line, "departure", row["departure"])
            ok_f, fare = self.money(name, line, "fare", row["fare"])
            timed = True
            if ok_a and ok_d and arrival is None and departure is None:
                self.add(name, line, "arrival", "a stop needs an arrival or a departure time")
                timed = False
            if arrival is not None and departure is not None and departure < arrival:
                self.add(name, line, "departure", "departure before arrival (add 24:00:00 past midnight)")
            boarding = self.flag(name, line, "boarding", row["boarding"], True)
            alighting = self.flag(name, line, "alighting", row["alighting"], True)
            if sequence is None or not (ok_a and ok_d and ok_f and timed):
                damaged.add(key)
                continue
            if not ok_c:
                damaged.add(key)  # its times still count for the order of the others
            stop = FeedStop(city, arrival, departure, fare, boarding, alighting)
            calls.setdefault(key, []).append((sequence, line, stop))
        for key, entries in calls.items():
            entries.sort(key=lambda entry: entry[0])
            previous: int | None = None
            previous_zone: str | None = None
            last_sequence: int | None = None
            for sequence, line, stop in entries:
                if sequence == last_sequence:
                    self.add(name, line, "sequence", f"sequence {sequence} is given twice in timetable {key[1]!r}")
                last_sequence = sequence
                place = self.feed.cities.get(stop.city)
                zone = place.timezone if place is not None else None
                first = stop.arrival if stop.arrival is not None else stop.departure
                # Into another zone the local time may go back (Madrid 10:00 to Lisbon 09:20):
                # the loader checks the instants there, on every date the calendar runs.
                if (previous is not None and first is not None and first < previous
                        and local_order_applies(previous_zone, zone)):
                    self.add(name, line, "arrival", "arrives before the previous stop's departure (add 24:00:00 past midnight)")
                previous = stop.departure if stop.departure is not None else stop.arrival
                previous_zone = zone
                if key in timetables:
                    timetables[key].stops.append(stop)
        return damaged

    def fares(self, rows: _Rows, services: dict[tuple[str, str, str], FeedService]) -> None:
        for line, row in rows:
            key = (row["operator"], row["number"], row["route"])
            service = self.service(services, rows.name, line, key)
            ends = (row["origin"].strip(), row["destination"].strip())
            known = [self.city(rows.name, line, field, city)
                     for field, city in zip(("origin", "destination"), ends, strict=True)]
            ok, cents = self.money(rows.name, line, "fare", row["fare"])
            if ok and cents is None:
                self.add(rows.name, line, "fare", "a value is required")
            if ends[0] == ends[1]:
                self.add(rows.name, line, "destination", "a fare needs two different cities")
            elif service is not None and all(known) and cents is not None:
                if ends in service.fares:
                    self.add(rows.name, line, "origin", f"fare {ends[0]} -> {ends[1]} is given twice")
                else:
                    # Whether both cities are stops of the service is checked on loading,
                    # where the variants already in the database count too.
                    service.fares[ends] = cents
                    service.fare_origins[ends] = (rows.name, line)

    def transfers(self, rows: _Rows) -> None:
        seen: set[tuple[str, str]] = set()
        for line, row in rows:
            ends = (row["from_city"].strip(), row["to_city"].strip())
            known = [self.city(rows.name, line, field, city)
                     for field, city in zip(("from_city", "to_city"), ends, strict=True)]
            seconds = self.integer(rows.name, line, "min_seconds", row["min_seconds"])
            if ends[0] == ends[1]:
                self.add(rows.name, line, "to_city", "a transfer needs two different cities")
            elif ends in seen:
                self.add(rows.name, line, "from_city", f"transfer {ends[0]} -> {ends[1]} is given twice")
            elif all(known) and seconds is not None:
                seen.add(ends)
                self.feed.transfers.append(FeedTransfer(ends[0], ends[1], seconds))


def _describe(key: tuple[str, str, str]) -> str:
    operator, number, route = key
    text = f"{operator} {number}".strip()
    return f"{text} ({route})" if route else text


def read_bundle(folder: Path) -> Feed:
    """Read a CSV bundle folder into a ``Feed`` (its trip history aside: see ``read_bundle_history``).

    Raises ``ImportFailed`` listing every problem, each with file, line and column.
    """
    return _Reader(Path(folder)).read()


def read_bundle_history(folder: Path) -> list[HistoryTrip]:
    """The past trips of a bundle's trips.csv (an empty list when the bundle has none)."""
    path = Path(folder) / HISTORY_FILE
    if not path.is_file():
        return []
    return read_history_csv(path)
