"""Write a parsed ``Feed`` into the database, all or nothing.

Every check runs before the first write: the feed's own consistency (unknown city or
calendar keys, impossible times, negative fares, values too long for their columns) and its
agreement with what the database already holds (a timetable variant that exists with other
stops, a city name, code or other name that is already another city's name, code or other
name, in any case). Any problem raises ``ImportFailed`` with the whole
list, so a failed import writes nothing at all. Only then are the rows written with bulk
``INSERT`` statements (an 86,000-stop feed loads in well under a second on SQLite).

Matching with existing data: cities by name; services by (operator, number, route); a
timetable variant by (service, code). Identical items already present are skipped and
listed in the report. A city already present keeps its stored code and other names
(a different one is listed in the report's conflicts) and gets the feed's connection time
only where it has none.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from transit.db import lock_city_writes, mark_timetable_changed
from transit.models import (
    ALL_DAYS,
    MAX_ALIASES,
    MODE_VALUES,
    Calendar,
    CalendarDate,
    City,
    CityNames,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    Transfer,
    alias_problems,
    local_order_applies,
    time_zone,
)
from transit.timetable.feed import (
    MAX_CENTS,
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedTimetable,
    ImportFailed,
    ProblemList,
    counts_in_words,
    quantity,
)

log = logging.getLogger(__name__)

# Column widths from transit.models: SQLite does not enforce them, PostgreSQL does.
_LIMITS = {
    "city name": 200,
    "city code": 32,
    "other name": 200,  # each of a city's other names (transit.schemas.Name)
    "timezone": 64,
    "service number": 64,
    "operator": 200,
    "route": 200,
    "service name": 300,
    "currency": 3,
    "timetable code": 200,
    "headsign": 300,
    "calendar name": 200,
}
# Rows fetched per IN (...) list: well under every database's bound-parameter limit.
_CHUNK = 500

T = TypeVar("T")

# A stop as compared with what the database holds: city name, times, fare, boarding flags.
StopKey = tuple[str, int | None, int | None, int | None, bool, bool]
CalendarKey = tuple[int, dt.date | None, dt.date | None, frozenset[dt.date], frozenset[dt.date]]


@dataclass
class LoadReport:
    """What an import added (or, for a dry run, would add), skipped and noticed."""

    source: str
    counts: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    dry_run: bool = False

    def __str__(self) -> str:
        verb = "Would add" if self.dry_run else "Added"
        shown = {
            key: self.counts.get(key, 0)
            for key in ("cities", "services", "timetables", "stops", "leg_fares", "fares", "transfers")
        }
        lines = [f"{self.source}: {verb} {counts_in_words(shown)}."]
        if self.skipped:
            lines.append(f"Skipped {quantity(len(self.skipped), 'identical item', 'identical items')} already present.")
        if self.conflicts:
            lines.append(f"{quantity(len(self.conflicts), 'difference', 'differences')} kept as "
                         "they were in the database:")
            lines.extend(f"  {c}" for c in self.conflicts[:20])
            if len(self.conflicts) > 20:
                lines.append(f"  ... and {len(self.conflicts) - 20} more")
        return "\n".join(lines)


def _table(model: Any) -> Table:
    """The Core table of a model: Core INSERTs skip the ORM's per-row bookkeeping."""
    table: Table = model.__table__
    return table


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _calendar_key(calendar: FeedCalendar) -> CalendarKey:
    return (
        calendar.weekdays,
        calendar.start_date,
        calendar.end_date,
        frozenset(calendar.added),
        frozenset(calendar.removed),
    )


def _listed(names: Sequence[str]) -> str:
    """Names as a report lists them: 'Canton', 'Kwangchow'."""
    return ", ".join(repr(name) for name in names)


def _describe(service: FeedService) -> str:
    parts = [service.mode, service.number]
    if service.operator:
        parts.insert(0, service.operator)
    if service.route:
        parts.append(f"({service.route})")
    return " ".join(parts)


class _Progress:
    """A tqdm bar over the load's stages, or nothing."""

    def __init__(self, enabled: bool, total: int, source: str) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=f"Loading {source}", unit="row", leave=False)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _at(source: str, origin: tuple[str, int] | None) -> tuple[str, int | None]:
    """Where to say a record's problem is: the file and line it was read from when the
    parser gave them, else the whole input."""
    return origin if origin is not None else (source, None)


def _check_length(
    problems: ProblemList, at: tuple[str, int | None], what: str, value: str | None,
    field: str | None = None,
) -> None:
    """Report ``value`` when longer than ``what`` may be, in ``field`` (else ``what``)."""
    if value is not None and len(value) > _LIMITS[what]:
        problems.add(*at, field or what,
                     f"{what} {value[:40]!r}... is longer than {_LIMITS[what]} characters")


# --- times across time zones ----------------------------------------------------------------
#
# docs/routing.md, "Time": stop time t on service date D is the instant "D at 12:00 in the
# stop's city's zone, minus 12 hours, plus t". Within one zone instants keep the order of the
# local times (``_validate_timetable`` checks that order first); across zones they compare as t - offset, the offset being the
# zone's UTC offset at noon of D. So a stop b after a stop a in another zone comes before it,
# as an instant, on D exactly when t_b - t_a < offset_b(D) - offset_a(D): the routing snapshot
# then drops that ride, and a run refused nowhere would be missing from every answer.

# The service dates a search can ask for (transit.routing.query.FIRST_YEAR and LAST_YEAR).
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


@lru_cache(maxsize=8192)
def _year_offsets(zone: str, year: int) -> np.ndarray:
    """The UTC offset of ``zone`` (seconds) at noon of each day of ``year``: what
    ``routing.snapshot.service_day_start`` takes, since noon minus 12 hours is its midnight."""
    tz = ZoneInfo(zone)
    noon = dt.datetime(year, 1, 1, 12)
    one = dt.timedelta(days=1)
    count = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    values = []
    for _ in range(count):
        offset = tz.utcoffset(noon)
        values.append(offset.days * 86_400 + offset.seconds if offset is not None else 0)
        noon += one
    table = np.array(values, dtype=np.int32)
    table.flags.writeable = False
    return table


@dataclass(frozen=True)
class EarlyStop:
    """A stop whose time, as an instant, comes before the previous stop's on some date."""

    index: int  # the stop (0-based); the previous stop is index - 1
    time: int  # its local time (arrival, else departure), seconds after its service midnight
    previous_time: int  # the previous stop's local time (departure, else arrival)
    gap: int  # how many seconds before, on ``day``
    day: dt.date  # the first service date on which it does
    days: int  # on how many service dates it does
    running: int  # how many service dates were checked (all it runs on)
    uses_arrival: bool  # whether ``time`` is the stop's arrival (else its departure)


class ZoneClock:
    """Checks runs through several time zones on every date their calendar runs.

    Only the difference of two zones' offsets on a date matters, and only its largest value
    over the dates a calendar runs decides whether a leg is possible: offsets are read per
    zone and year once (and kept for the process), and per calendar and pair of zones the
    largest difference is worked out once, with arrays over the dates, not per stop.

    A calendar is checked from its start date to its end date (added dates too), within the
    years a search can ask for (``FIRST_DAY`` to ``LAST_DAY``). One without a start date is
    checked from ``today``, the day of the check (on its end date alone when that is past):
    the clocks of two cities may have differed otherwise in the past (Lisbon kept Central
    European time in 1992-1996), and a timetable of today refused for those years would be a
    surprise. One without an end date is checked to ``LAST_DAY``, on today's rules.
    """

    def __init__(self, today: dt.date | None = None) -> None:
        self.today = today or dt.date.today()
        # The caller's calendars by its own names, once made keys (a feed's calendar ids).
        self.keys: dict[Any, CalendarKey] = {}
        self._days: dict[CalendarKey, np.ndarray] = {}
        self._tables: dict[tuple[str, int, int], np.ndarray] = {}
        self._shifts: dict[tuple[CalendarKey, str, str], tuple[np.ndarray, np.ndarray, int] | None] = {}

    def days(self, calendar: CalendarKey) -> np.ndarray:
        """The ordinals of the service dates checked for ``calendar``, in order."""
        found = self._days.get(calendar)
        if found is not None:
            return found
        weekdays, start, end, added, removed = calendar
        last = min(end or LAST_DAY, LAST_DAY)
        first = max(start or min(self.today, last), FIRST_DAY)
        days = np.zeros(0, dtype=np.int64)
        if weekdays & ALL_DAYS and first <= last:
            days = np.arange(first.toordinal(), last.toordinal() + 1, dtype=np.int64)
            # Ordinal 1 (0001-01-01) is a Monday, bit 0 of the pattern.
            days = days[(np.right_shift(weekdays, (days - 1) % 7) & 1).astype(bool)]
        extra = [d.toordinal() for d in added if FIRST_DAY <= d <= LAST_DAY]
        if extra:
            days = np.union1d(days, np.array(extra, dtype=np.int64))
        if removed and len(days):
            days = days[~np.isin(days, np.array([d.toordinal() for d in removed], dtype=np.int64))]
        self._days[calendar] = days
        return days

    def _offsets(self, zone: str, days: np.ndarray) -> np.ndarray:
        low = dt.date.fromordinal(int(days[0])).year
        high = dt.date.fromordinal(int(days[-1])).year
        table = self._tables.get((zone, low, high))
        if table is None:
            table = np.concatenate([_year_offsets(zone, year) for year in range(low, high + 1)])
            self._tables[(zone, low, high)] = table
        return table[days - dt.date(low, 1, 1).toordinal()]

    def shifts(self, calendar: CalendarKey, zone: str, next_zone: str) -> tuple[np.ndarray, np.ndarray, int] | None:
        """The dates checked, ``next_zone``'s offset less ``zone``'s on each, and the largest
        of them; None when the calendar runs on none of them or a zone is unknown."""
        key = (calendar, zone, next_zone)
        if key in self._shifts:
            return self._shifts[key]
        days = self.days(calendar)
        found = None
        if len(days) and time_zone(zone) is not None and time_zone(next_zone) is not None:
            shift = self._offsets(next_zone, days).astype(np.int64) - self._offsets(zone, days)
            found = (days, shift, int(shift.max()))
        self._shifts[key] = found
        return found

    def early_stops(
        self, stops: Sequence[tuple[str, int | None, int | None]], calendar: CalendarKey
    ) -> list[EarlyStop]:
        """Each stop of a run (zone, arrival, departure) that comes, as an instant, before
        the previous stop on some date ``calendar`` runs. A stop in the previous stop's zone
        is not looked at: there the local times are compared on their own (where a zone is
        unknown too: ``models.local_order_applies``). From one zone to another the local time
        may go back, as instants may not (Madrid 10:00 to Lisbon 09:20 is a 20-minute ride)."""
        found: list[EarlyStop] = []
        previous: int | None = None
        previous_zone = ""
        for index, (zone, arrival, departure) in enumerate(stops):
            at = arrival if arrival is not None else departure
            if at is None:
                previous = None
                continue
            if previous is not None and zone != previous_zone:
                shifts = self.shifts(calendar, previous_zone, zone)
                if shifts is not None and at - previous < shifts[2]:
                    days, shift, _ = shifts
                    early = shift > at - previous
                    first = int(np.argmax(early))
                    found.append(EarlyStop(
                        index, at, previous, int(shift[first]) - (at - previous),
                        dt.date.fromordinal(int(days[first])), int(early.sum()), len(days),
                        arrival is not None,
                    ))
            previous = departure if departure is not None else at
            previous_zone = zone
        return found


def clock_time(seconds: int) -> str:
    """A stop time as a traveller reads it: "09:00 (+1 day)", "23:00", "07:05:30"."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
    if days:
        text += f" (+{days} day{'s' if days > 1 else ''})"
    return text


def duration_words(seconds: int) -> str:
    """ "9 hours", "1 hour 30 minutes", "45 minutes", "20 seconds" (minutes rounded up)."""
    if seconds < 60:
        return quantity(seconds, "second", "seconds")
    hours, minutes = divmod(-(-seconds // 60), 60)
    parts = [quantity(n, *unit) for n, unit in ((hours, ("hour", "hours")), (minutes, ("minute", "minutes"))) if n]
    return " ".join(parts)


def early_stop_words(early: EarlyStop, city: str, zone: str, previous_city: str, previous_zone: str) -> str:
    """What is wrong with ``early`` in plain words (the timetable named by the caller)."""
    if early.days == 1:
        when = f"on {early.day.isoformat()}"
    elif early.days == early.running:
        when = f"on every day it runs, from {early.day.isoformat()}"
    else:
        when = f"on {early.day.isoformat()} and {quantity(early.days - 1, 'other day', 'other days')}"
    return (
        f"arrives in {city} at {clock_time(early.time)} local time, {duration_words(early.gap)} "
        f"before it leaves {previous_city} at {clock_time(early.previous_time)} local time "
        f"({when}): times are local to each city ({previous_city} in {previous_zone}, "
        f"{city} in {zone})"
    )


def _check_new_city_names(session: Session, feed: Feed, problems: ProblemList) -> None:
    """A new city's name, code and other names must not be what travellers type for a city
    already in the database (cities are matched by exact name; they are few enough to read
    whole). A city already there keeps its own, so they are not checked."""
    stored = [(row.name, row.code, row.aliases or [])
              for row in session.execute(select(City.name, City.code, City.aliases))]
    known = {name for name, _, _ in stored}
    names = CityNames(stored, spellings=True)
    checked: set[str] = set()
    for city in feed.cities.values():
        if city.name in known or city.name in checked:
            continue
        checked.add(city.name)
        for field_name, words in names.clashes(city.name, city.code, city.aliases):
            problems.add(*_at(feed.source, city.origin), f"city {field_name}", f"city {city.name!r}: {words}")


def _validate_feed(feed: Feed, problems: ProblemList) -> None:
    """Checks that need nothing but the feed: everything the database would refuse."""
    src = feed.source
    seen = CityNames()
    names: dict[str, FeedCity] = {}
    for key, city in feed.cities.items():
        at = _at(src, city.origin)
        if not city.name.strip():
            problems.add(*at, "city name", f"city {key!r} has an empty name")
        _check_length(problems, at, "city name", city.name)
        _check_length(problems, at, "city code", city.code)
        _check_length(problems, at, "timezone", city.timezone)
        for alias in city.aliases:
            if not alias.strip():
                problems.add(*at, "city aliases", f"city {city.name!r}: one of its other names is empty")
            _check_length(problems, at, "other name", alias, "city aliases")
        if len(city.aliases) > MAX_ALIASES:
            problems.add(*at, "city aliases", f"city {city.name!r}: {len(city.aliases)} other "
                                              f"names, a city has at most {MAX_ALIASES}")
        if city.latitude is not None and not -90 <= city.latitude <= 90:
            problems.add(*at, "latitude", f"city {city.name!r}: latitude {city.latitude} is out of range")
        if city.longitude is not None and not -180 <= city.longitude <= 180:
            problems.add(*at, "longitude", f"city {city.name!r}: longitude {city.longitude} is out of range")
        if city.min_connection_seconds is not None and city.min_connection_seconds < 0:
            problems.add(*at, "min_connection_seconds", f"city {city.name!r}: negative connection time")
        same = names.setdefault(city.name, city)
        if same is city:
            # What a traveller types names one city (as the API and admin forms check).
            for problem in alias_problems(city.name, city.code, city.aliases):
                problems.add(*at, "city aliases", f"city {city.name!r}: {problem}")
            for field_name, words in seen.clashes(city.name, city.code, city.aliases):
                problems.add(*at, f"city {field_name}", f"city {city.name!r}: {words}")
            seen.add(city.name, city.code, city.aliases)
        if same is not city and same.timezone != city.timezone:
            problems.add(
                *at, "timezone",
                f"city {city.name!r} appears twice with time zones {same.timezone} and {city.timezone}",
            )

    for key, calendar in feed.calendars.items():
        _check_length(problems, (src, None), "calendar name", calendar.name)
        if not 0 <= calendar.weekdays <= ALL_DAYS:
            problems.add(src, None, "weekdays", f"calendar {key!r}: weekday pattern {calendar.weekdays} is invalid")
        if calendar.start_date and calendar.end_date and calendar.start_date > calendar.end_date:
            problems.add(src, None, "end_date", f"calendar {key!r} ends before it starts")
        both = calendar.added & calendar.removed
        if both:
            problems.add(src, None, "date", f"calendar {key!r}: {min(both)} is both added and removed")

    # Runs are checked across time zones only where the feed has more than one.
    clock = ZoneClock() if len({city.timezone for city in feed.cities.values()}) > 1 else None
    service_keys: set[tuple[str, str, str]] = set()
    for service in feed.services:
        name = _describe(service)
        at = _at(src, service.origin)
        if service.key in service_keys:
            problems.add(*at, "number", f"service {name} is given twice")
        service_keys.add(service.key)
        if not service.number.strip():
            problems.add(*at, "number", "a service has an empty number")
        if service.mode not in MODE_VALUES:
            problems.add(*at, "mode", f"service {name}: unknown mode {service.mode!r}")
        for what, value in (
            ("service number", service.number),
            ("operator", service.operator),
            ("route", service.route),
            ("service name", service.name),
            ("currency", service.currency),
        ):
            _check_length(problems, at, what, value)
        codes_seen: set[str] = set()
        for timetable in service.timetables:
            if timetable.code in codes_seen:
                problems.add(*_at(src, timetable.origin), "code",
                             f"service {name}: timetable {timetable.code!r} is given twice")
            codes_seen.add(timetable.code)
            _validate_timetable(feed, service, timetable, problems, clock)
        for (origin, destination), cents in service.fares.items():
            for key in (origin, destination):
                if key not in feed.cities:
                    problems.add(*at, "fare", f"service {name}: fare names unknown city {key!r}")
            if cents < 0:
                problems.add(*at, "fare", f"service {name}: negative fare {origin} -> {destination}")
            if origin == destination or (
                origin in feed.cities
                and destination in feed.cities
                and feed.cities[origin].name == feed.cities[destination].name
            ):
                problems.add(*at, "fare", f"service {name}: fare from {origin!r} to itself")

    pairs: dict[tuple[str, str], int] = {}
    for transfer in feed.transfers:
        for key in (transfer.from_city, transfer.to_city):
            if key not in feed.cities:
                problems.add(src, None, "transfer", f"transfer names unknown city {key!r}")
        if transfer.min_seconds < 0:
            problems.add(src, None, "min_seconds", f"transfer {transfer.from_city} -> {transfer.to_city}: negative time")
        if transfer.from_city in feed.cities and transfer.to_city in feed.cities:
            a, b = feed.cities[transfer.from_city].name, feed.cities[transfer.to_city].name
            if a == b:
                problems.add(src, None, "transfer", f"transfer from {a!r} to itself (use the city's connection time)")
            elif pairs.setdefault((a, b), transfer.min_seconds) != transfer.min_seconds:
                problems.add(src, None, "transfer", f"transfer {a} -> {b} is given twice with different times")


def _validate_timetable(
    feed: Feed,
    service: FeedService,
    timetable: FeedTimetable,
    problems: ProblemList,
    clock: ZoneClock | None = None,
) -> None:
    src = feed.source
    where = f"service {_describe(service)}, timetable {timetable.code!r}"
    at = _at(src, timetable.origin)
    _check_length(problems, at, "timetable code", timetable.code)
    _check_length(problems, at, "headsign", timetable.headsign)
    if timetable.calendar not in feed.calendars:
        problems.add(*at, "calendar", f"{where}: unknown calendar {timetable.calendar!r}")
    if len(timetable.stops) < 2:
        problems.add(*at, "stops", f"{where}: a timetable needs at least two stops")
    previous: int | None = None
    previous_zone: str | None = None
    for index, stop in enumerate(timetable.stops, start=1):
        known = feed.cities.get(stop.city)
        zone = known.timezone if known is not None else None
        if known is None:
            problems.add(*at, "city", f"{where}, stop {index}: unknown city {stop.city!r}")
        if stop.arrival is None and stop.departure is None:
            problems.add(*at, "time", f"{where}, stop {index}: neither arrival nor departure")
            continue
        for what, value in (("arrival", stop.arrival), ("departure", stop.departure)):
            if value is not None and value < 0:
                problems.add(*at, what, f"{where}, stop {index}: negative {what} time")
        if stop.arrival is not None and stop.departure is not None and stop.arrival > stop.departure:
            problems.add(*at, "departure", f"{where}, stop {index}: departure before arrival")
        first = stop.arrival if stop.arrival is not None else stop.departure
        # Local times go forwards within a zone; from one zone to another only the instants
        # must (below): a short westward leg arrives at an earlier local time than it left.
        if (previous is not None and first is not None and first < previous
                and local_order_applies(previous_zone, zone)):
            problems.add(*at, "arrival", f"{where}, stop {index}: arrives before the previous stop's departure")
        previous = stop.departure if stop.departure is not None else stop.arrival
        previous_zone = zone
        if stop.fare_cents is not None and stop.fare_cents < 0:
            problems.add(*at, "fare", f"{where}, stop {index}: negative fare")
    # The route search adds a run's leg fares up in 32 bits, and would refuse the whole
    # timetable over a run that passes it.
    total = sum(max(stop.fare_cents or 0, 0) for stop in timetable.stops)
    if total > MAX_CENTS:
        problems.add(*at, "fare", f"{where}: its leg fares add up to {total / 100:,.2f}, more than "
                                  f"the {MAX_CENTS / 100:,.2f} a journey may cost")
    if (clock is not None and timetable.calendar in feed.calendars
            and all(stop.city in feed.cities for stop in timetable.stops)):
        # Where the zone changes, the instants must go forwards on every date it runs.
        cities = [feed.cities[stop.city] for stop in timetable.stops]
        if len({city.timezone for city in cities}) > 1:
            days = clock.keys.get(timetable.calendar)
            if days is None:
                days = clock.keys[timetable.calendar] = _calendar_key(feed.calendars[timetable.calendar])
            runs = [(c.timezone, s.arrival, s.departure) for c, s in zip(cities, timetable.stops, strict=True)]
            for early in clock.early_stops(runs, days):
                here, left = cities[early.index], cities[early.index - 1]
                problems.add(
                    *at, "arrival" if early.uses_arrival else "departure",
                    f"{where}, stop {early.index + 1}: "
                    + early_stop_words(early, here.name, here.timezone, left.name, left.timezone),
                )


def _select_in(session: Session, columns: Sequence[Any], column: Any, values: Sequence[Any]) -> Iterable[Any]:
    for chunk in _chunks(values):
        yield from session.execute(select(*columns).where(column.in_(chunk)))


def load_feed(
    session: Session, feed: Feed, *, dry_run: bool = False, progress: bool = False
) -> LoadReport:
    """Add ``feed`` to the database in the caller's transaction and report what changed.

    Nothing is written when any problem is found (``ImportFailed`` lists them all) or when
    ``dry_run`` is set; the caller commits. Existing cities are matched by name, services by
    (operator, number, route), timetable variants by (service, code): identical ones are
    skipped, different ones are problems. Bumps the data version when anything is written.
    """
    problems = ProblemList()
    report = LoadReport(source=feed.source, dry_run=dry_run)
    _validate_feed(feed, problems)
    problems.raise_if_any()
    src = feed.source

    # --- cities, matched by name --------------------------------------------------------
    # Until the commit no other writer adds a city: what is found new here is still new when
    # written (two imports of one file at once: the second skips what the first wrote).
    lock_city_writes(session)
    _check_new_city_names(session, feed, problems)
    by_name: dict[str, FeedCity] = {}
    for city in feed.cities.values():
        by_name.setdefault(city.name, city)
    existing_cities: dict[str, Any] = {}
    for row in _select_in(
        session,
        (City.id, City.name, City.code, City.timezone, City.min_connection_seconds, City.aliases),
        City.name,
        list(by_name),
    ):
        existing_cities[row.name] = row
    for name, row in existing_cities.items():
        city = by_name[name]
        if city.timezone != row.timezone:
            problems.add(
                *_at(src, city.origin), "timezone",
                f"city {name!r} is in {row.timezone} in the database, {city.timezone} here",
            )
        if city.code and row.code and city.code != row.code:
            report.conflicts.append(f"city {name!r}: code {row.code!r} kept, not {city.code!r}")
        # Its other names likewise: the stored ones are kept (and not checked again).
        stored_aliases = list(row.aliases or ())
        if city.aliases and stored_aliases and list(city.aliases) != stored_aliases:
            report.conflicts.append(
                f"city {name!r}: other names {_listed(stored_aliases)} kept, "
                f"not {_listed(city.aliases)}"
            )
        if (
            city.min_connection_seconds is not None
            and row.min_connection_seconds is not None
            and city.min_connection_seconds != row.min_connection_seconds
        ):
            report.conflicts.append(
                f"city {name!r}: connection time {row.min_connection_seconds} s kept, "
                f"not {city.min_connection_seconds} s"
            )
    new_city_names = [n for n in by_name if n not in existing_cities]
    # A known city without a connection time takes the feed's.
    city_updates = {
        row.id: by_name[name].min_connection_seconds
        for name, row in existing_cities.items()
        if row.min_connection_seconds is None and by_name[name].min_connection_seconds is not None
    }

    # --- services, matched by (operator, number, route) ---------------------------------
    existing_services: dict[tuple[str, str, str], Any] = {}
    numbers = sorted({s.number for s in feed.services})
    for row in _select_in(
        session,
        (Service.id, Service.operator, Service.number, Service.route, Service.mode, Service.currency),
        Service.number,
        numbers,
    ):
        existing_services[(row.operator, row.number, row.route)] = row
    for service in feed.services:
        row = existing_services.get(service.key)
        if row is not None and row.mode != service.mode:
            problems.add(
                *_at(src, service.origin), "mode",
                f"service {_describe(service)} exists in the database as a {row.mode} service",
            )

    # --- timetables of existing services: identical ones are skipped ------------------
    existing_timetables: dict[tuple[int, str], tuple[int, int, str | None]] = {}
    service_ids = [row.id for row in existing_services.values()]
    for row in _select_in(
        session,
        (Timetable.id, Timetable.service_id, Timetable.code, Timetable.calendar_id, Timetable.headsign),
        Timetable.service_id,
        service_ids,
    ):
        existing_timetables[(row.service_id, row.code)] = (row.id, row.calendar_id, row.headsign)

    clashing: list[tuple[FeedService, FeedTimetable, int, int, str | None]] = []
    for service in feed.services:
        row = existing_services.get(service.key)
        if row is None:
            continue
        for timetable in service.timetables:
            found = existing_timetables.get((row.id, timetable.code))
            if found is not None:
                clashing.append((service, timetable, *found))
    skip: set[int] = set()  # id() of feed timetables already present
    if clashing:
        stops_of = _existing_stops(session, [c[2] for c in clashing])
        calendars_of = _existing_calendars(session, sorted({c[3] for c in clashing}))
        for service, timetable, timetable_id, calendar_id, headsign in clashing:
            mine = [
                (feed.cities[s.city].name, s.arrival, s.departure, s.fare_cents, s.boarding, s.alighting)
                for s in timetable.stops
            ]
            differences = _differences(
                mine, stops_of.get(timetable_id, []),
                _calendar_key(feed.calendars[timetable.calendar]) != calendars_of[calendar_id],
                (timetable.headsign or None) != (headsign or None),
            )
            what = f"service {_describe(service)}, timetable {timetable.code!r}"
            if not differences:
                skip.add(id(timetable))
                report.skipped.append(what)
            else:
                problems.add(
                    *_at(src, timetable.origin), "timetable",
                    f"{what} already exists in the database with {differences} (give this one "
                    "another code, or delete the stored one first)",
                )

    # --- fares and transfers against the database --------------------------------------
    _check_fare_stops(session, feed, existing_services, problems)
    fare_rows: list[tuple[FeedService, str, str, int]] = []
    fare_at: dict[tuple[int, str, str], tuple[str, int]] = {}  # where each was read
    for service in feed.services:
        for (origin, destination), cents in service.fares.items():
            a, b = feed.cities[origin].name, feed.cities[destination].name
            fare_rows.append((service, a, b, cents))
            if (origin, destination) in service.fare_origins:
                fare_at[(id(service), a, b)] = service.fare_origins[(origin, destination)]
    existing_fares: dict[tuple[int, str, str], int] = {}
    if service_ids and fare_rows:
        start, end = aliased(City), aliased(City)
        for chunk in _chunks(service_ids):
            for row in session.execute(
                select(ServiceFare.service_id, start.name, end.name, ServiceFare.fare_cents)
                .join(start, start.id == ServiceFare.origin_id)
                .join(end, end.id == ServiceFare.destination_id)
                .where(ServiceFare.service_id.in_(chunk))
            ):
                existing_fares[(row[0], row[1], row[2])] = row[3]
    new_fares: list[tuple[FeedService, str, str, int]] = []
    for service, a, b, cents in fare_rows:
        srow = existing_services.get(service.key)
        old = existing_fares.get((srow.id, a, b)) if srow is not None else None
        if old is None:
            new_fares.append((service, a, b, cents))
        elif old == cents:
            report.skipped.append(f"fare of {_describe(service)} from {a} to {b}")
        else:
            problems.add(
                *_at(src, fare_at.get((id(service), a, b))), "fare",
                f"service {_describe(service)}: fare {a} -> {b} is {old} cents in the database, {cents} here",
            )

    transfer_pairs: dict[tuple[str, str], int] = {}
    for transfer in feed.transfers:
        transfer_pairs[(feed.cities[transfer.from_city].name, feed.cities[transfer.to_city].name)] = (
            transfer.min_seconds
        )
    existing_transfers: dict[tuple[str, str], int] = {}
    known_ids = [row.id for row in existing_cities.values()]
    if transfer_pairs and known_ids:
        a_city, b_city = aliased(City), aliased(City)
        for chunk in _chunks(known_ids):
            for row in session.execute(
                select(a_city.name, b_city.name, Transfer.min_seconds)
                .join(a_city, a_city.id == Transfer.from_city_id)
                .join(b_city, b_city.id == Transfer.to_city_id)
                .where(Transfer.from_city_id.in_(chunk))
            ):
                existing_transfers[(row[0], row[1])] = row[2]
    new_transfers: list[tuple[str, str, int]] = []
    for (a, b), seconds in transfer_pairs.items():
        old = existing_transfers.get((a, b))
        if old is None:
            new_transfers.append((a, b, seconds))
        elif old == seconds:
            report.skipped.append(f"transfer {a} -> {b}")
        else:
            problems.add(
                src, None, "transfer",
                f"transfer {a} -> {b} takes {old} s in the database, {seconds} s here",
            )

    problems.raise_if_any()

    # --- what will be written ----------------------------------------------------------
    new_services = [s for s in feed.services if s.key not in existing_services]
    timetables = [
        (service, t) for service in feed.services for t in service.timetables if id(t) not in skip
    ]
    # In the feed's own order (a bundle's file order), never string order ("10" before "2"):
    # calendars get their ids in it, so an export of the import numbers them as the file did.
    used = {t.calendar for _, t in timetables}
    calendar_keys = [key for key in feed.calendars if key in used]
    modes: dict[str, int] = {}
    for service in new_services:
        modes[service.mode] = modes.get(service.mode, 0) + 1
    report.counts = {
        "cities": len(new_city_names),
        "services": dict(sorted(modes.items())),
        "timetables": len(timetables),
        "stops": sum(len(t.stops) for _, t in timetables),
        "calendars": len(calendar_keys),
        # A stop's price from the one before; a first stop's is never charged.
        "leg_fares": sum(
            stop.fare_cents is not None for _, t in timetables for stop in t.stops[1:]
        ),
        "fares": len(new_fares),
        "transfers": len(new_transfers),
    }
    if dry_run:
        return report

    written = (
        len(new_city_names) + len(city_updates) + len(new_services) + len(calendar_keys) + len(timetables)
        + report.counts["stops"] + len(new_fares) + len(new_transfers)
    )
    if written == 0:
        return report
    bar = _Progress(progress, written, src)
    try:
        _write(
            session, feed, by_name, existing_cities, new_city_names, city_updates, existing_services,
            new_services, calendar_keys, timetables, new_fares, new_transfers, bar,
        )
    except IntegrityError as error:
        # Validation above should leave nothing for the database to refuse; if it still
        # does (a concurrent writer), report it as a problem like any other.
        log.warning("an import was refused by the database: %s", error.orig)
        problems.add(src, None, None, "the database refused the data (a change saved at the "
                                      "same moment?): nothing was imported; try again")
        raise ImportFailed(problems.items) from error
    finally:
        bar.close()
    return report


Place = TypeVar("Place")


def rides_from(runs: Iterable[Sequence[Place]], origin: Place, destination: Place) -> bool:
    """Whether some run calls at ``origin`` before ``destination`` (a fare the search can
    charge: a run both ways, or a loop calling at a city twice, may do it one way or the other)."""
    for run in runs:
        if origin in run and destination in run[run.index(origin) + 1:]:
            return True
    return False


def _check_fare_stops(
    session: Session, feed: Feed, existing_services: dict[tuple[str, str, str], Any],
    problems: ProblemList,
) -> None:
    """An origin-destination fare is between two stops of its service, the origin before
    the destination on some variant: the rule of the admin's fare editor
    (``transit.editing.build_fares``), counting the variants in the feed and those already
    in the database. The editor refuses to save any fare of a service holding another one,
    so such a fare would freeze them all."""
    runs: dict[tuple[str, str, str], list[list[str]]] = {}
    doubtful: list[tuple[FeedService, tuple[str, str]]] = []
    for service in feed.services:
        if not service.fares:
            continue
        mine = runs[service.key] = [
            [feed.cities[stop.city].name for stop in timetable.stops]
            for timetable in service.timetables
        ]
        for keys in service.fares:
            origin, destination = (feed.cities[key].name for key in keys)
            if not rides_from(mine, origin, destination):
                doubtful.append((service, keys))
    if not doubtful:
        return
    # The variants already in the database count too (fares added to a service whose
    # timetable was imported before).
    ids = {existing_services[s.key].id: s.key for s, _ in doubtful if s.key in existing_services}
    for chunk in _chunks(sorted(ids)):
        stored: dict[int, list[str]] = {}
        for service_id, timetable_id, name in session.execute(
            select(Timetable.service_id, Timetable.id, City.name)
            .join(Stop, Stop.timetable_id == Timetable.id)
            .join(City, City.id == Stop.city_id)
            .where(Timetable.service_id.in_(chunk))
            .order_by(Timetable.id, Stop.sequence)
        ):
            if timetable_id not in stored:
                stored[timetable_id] = []
                runs[ids[service_id]].append(stored[timetable_id])
            stored[timetable_id].append(name)
    for service, keys in doubtful:
        origin, destination = (feed.cities[key].name for key in keys)
        service_runs = runs[service.key]
        if rides_from(service_runs, origin, destination):
            continue
        at = service.fare_origins.get(keys)
        served = {name for run in service_runs for name in run}
        strays = [(column, name) for column, name in
                  (("origin", origin), ("destination", destination)) if name not in served]
        for column, name in strays:
            problems.add(
                *_at(feed.source, at), column if at is not None else "fare",
                f"{name} is not a stop of service {_describe(service)}: a fare is between two "
                "cities some variant of the service calls at",
            )
        if not strays:
            problems.add(
                *_at(feed.source, at), "origin" if at is not None else "fare",
                f"{origin} comes after {destination} on every variant of service "
                f"{_describe(service)}, so this fare could never be charged",
            )


def _differences(
    mine: list[StopKey], stored: list[StopKey], other_days: bool, other_headsign: bool
) -> str:
    """What tells a timetable from the stored one of the same code, in words ("" when
    nothing does): the first stop that differs, and whether the days or headsign do."""
    words = []
    if mine != stored:
        if [s[0] for s in mine] != [s[0] for s in stored]:
            words.append(f"other stops ({len(stored)} stored, from {stored[0][0]} to "
                         f"{stored[-1][0]})" if stored else "other stops")
        else:
            index = next(i for i, (a, b) in enumerate(zip(mine, stored, strict=True)) if a != b)
            a, b = mine[index], stored[index]
            what = ("arrival" if a[1] != b[1] else "departure" if a[2] != b[2]
                    else "fare" if a[3] != b[3] else "boarding or alighting")
            words.append(f"another {what} at stop {index + 1} ({a[0]})")
    if other_days:
        words.append("other days")
    if other_headsign:
        words.append("another headsign")
    return ", ".join(words)


def _existing_stops(session: Session, timetable_ids: list[int]) -> dict[int, list[StopKey]]:
    stops: dict[int, list[StopKey]] = {}
    for row in _stops_query(session, timetable_ids):
        stops.setdefault(row[0], []).append(
            (row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]))
        )
    return stops


def _stops_query(session: Session, timetable_ids: list[int]) -> Iterator[Any]:
    for chunk in _chunks(timetable_ids):
        yield from session.execute(
            select(
                Stop.timetable_id, City.name, Stop.arrival, Stop.departure, Stop.fare_cents,
                Stop.boarding, Stop.alighting,
            )
            .join(City, City.id == Stop.city_id)
            .where(Stop.timetable_id.in_(chunk))
            .order_by(Stop.timetable_id, Stop.sequence)
        )


def _existing_calendars(session: Session, calendar_ids: list[int]) -> dict[int, CalendarKey]:
    added: dict[int, set[dt.date]] = {i: set() for i in calendar_ids}
    removed: dict[int, set[dt.date]] = {i: set() for i in calendar_ids}
    for row in _select_in(
        session, (CalendarDate.calendar_id, CalendarDate.date, CalendarDate.added),
        CalendarDate.calendar_id, calendar_ids,
    ):
        (added if row.added else removed)[row.calendar_id].add(row.date)
    result: dict[int, CalendarKey] = {}
    for row in _select_in(
        session, (Calendar.id, Calendar.weekdays, Calendar.start_date, Calendar.end_date),
        Calendar.id, calendar_ids,
    ):
        result[row.id] = (
            row.weekdays, row.start_date, row.end_date,
            frozenset(added[row.id]), frozenset(removed[row.id]),
        )
    return result


def _insert_returning_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT giving back the new primary keys in the order of ``rows``."""
    if not rows:
        return []
    result = session.scalars(
        insert(model).returning(model.id, sort_by_parameter_order=True), rows
    )
    return list(result)


def _write(
    session: Session,
    feed: Feed,
    by_name: dict[str, FeedCity],
    existing_cities: dict[str, Any],
    new_city_names: list[str],
    city_updates: dict[int, int | None],
    existing_services: dict[tuple[str, str, str], Any],
    new_services: list[FeedService],
    calendar_keys: list[str],
    timetables: list[tuple[FeedService, FeedTimetable]],
    new_fares: list[tuple[FeedService, str, str, int]],
    new_transfers: list[tuple[str, str, int]],
    bar: _Progress,
) -> None:
    mark_timetable_changed(session)
    city_id: dict[str, int] = {name: row.id for name, row in existing_cities.items()}
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "code": by_name[name].code or None,
            "latitude": by_name[name].latitude,
            "longitude": by_name[name].longitude,
            "timezone": by_name[name].timezone,
            "min_connection_seconds": by_name[name].min_connection_seconds,
            # A plain list: the column's JSON type writes it on SQLite and PostgreSQL alike.
            "aliases": list(by_name[name].aliases),
        }
        for name in new_city_names
    ]
    city_id.update(zip(new_city_names, _insert_returning_ids(session, City, rows), strict=True))
    bar.update(len(rows))
    for known_id, seconds in city_updates.items():
        session.execute(
            update(City).where(City.id == known_id).values(min_connection_seconds=seconds)
        )
    key_city = {key: city_id[city.name] for key, city in feed.cities.items()}

    service_id: dict[tuple[str, str, str], int] = {k: r.id for k, r in existing_services.items()}
    rows = [
        {
            "number": s.number, "mode": s.mode, "operator": s.operator, "route": s.route,
            "name": s.name, "currency": s.currency,
        }
        for s in new_services
    ]
    service_id.update(
        zip((s.key for s in new_services), _insert_returning_ids(session, Service, rows), strict=True)
    )
    bar.update(len(rows))

    rows = []
    for key in calendar_keys:
        calendar = feed.calendars[key]
        rows.append(
            {
                "name": calendar.name,
                "weekdays": calendar.weekdays,
                "start_date": calendar.start_date,
                "end_date": calendar.end_date,
            }
        )
    calendar_id = dict(zip(calendar_keys, _insert_returning_ids(session, Calendar, rows), strict=True))
    exceptions = [
        {"calendar_id": calendar_id[key], "date": day, "added": added}
        for key in calendar_keys
        for added, days in ((True, feed.calendars[key].added), (False, feed.calendars[key].removed))
        for day in sorted(days)
    ]
    if exceptions:
        session.execute(insert(CalendarDate), exceptions)
    bar.update(len(rows))

    rows = [
        {
            "service_id": service_id[service.key],
            "code": t.code,
            "calendar_id": calendar_id[t.calendar],
            "headsign": t.headsign,
        }
        for service, t in timetables
    ]
    timetable_ids = _insert_returning_ids(session, Timetable, rows)
    bar.update(len(rows))

    stop_rows = [
        {
            "timetable_id": tid,
            "sequence": sequence,
            "city_id": key_city[s.city],
            "arrival": s.arrival,
            "departure": s.departure,
            "fare_cents": s.fare_cents,
            "boarding": s.boarding,
            "alighting": s.alighting,
        }
        for tid, (_, t) in zip(timetable_ids, timetables, strict=True)
        for sequence, s in enumerate(t.stops)
    ]
    # Core INSERT of plain dicts: one executemany, no ORM bookkeeping per row.
    for chunk in _chunks(stop_rows, 20_000):
        session.execute(insert(_table(Stop)), list(chunk))
        bar.update(len(chunk))

    if new_fares:
        session.execute(
            insert(_table(ServiceFare)),
            [
                {
                    "service_id": service_id[service.key],
                    "origin_id": city_id[a],
                    "destination_id": city_id[b],
                    "fare_cents": cents,
                }
                for service, a, b, cents in new_fares
            ],
        )
        bar.update(len(new_fares))
    if new_transfers:
        session.execute(
            insert(_table(Transfer)),
            [
                {"from_city_id": city_id[a], "to_city_id": city_id[b], "min_seconds": seconds}
                for a, b, seconds in new_transfers
            ],
        )
        bar.update(len(new_transfers))
