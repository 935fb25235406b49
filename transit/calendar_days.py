"""A calendar's days of operation as a reader should see them: no Flask, no database.

GTFS feeds often write a Saturday service as "every day, except" some 600 dates; what it
means is "Saturdays". ``describe_calendar`` works out the weekdays a calendar really runs on,
from its first run to its last, and only the dates that break that pattern
(``CalendarSummary``). The service page says the summary in the reader's language
(``templates/service.html``); the API says it in English (``transit.schemas.describe_calendar``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class CalendarDays:
    """A calendar's days of operation, detached from the session."""

    weekdays: int
    start_date: dt.date | None
    end_date: dt.date | None
    added: tuple[dt.date, ...] = ()
    removed: tuple[dt.date, ...] = ()

    def runs_on(self, day: dt.date) -> bool:
        """Same rule as ``Calendar.runs_on``: exceptions first, then dates, then weekdays."""
        if day in self.added:
            return True
        if day in self.removed:
            return False
        if self.start_date is not None and day < self.start_date:
            return False
        if self.end_date is not None and day > self.end_date:
            return False
        return bool(self.weekdays >> day.weekday() & 1)


# Longest range of dates read one by one to describe a calendar (about 30 years).
MAX_DESCRIBED_DAYS = 11_000


def finite_range(calendar: CalendarDays) -> tuple[dt.date, dt.date] | None:
    """The first and last date a calendar can run on, when it runs on finitely many dates
    (validity dates at both ends, or no weekly pattern); None when open-ended or too long."""
    bounded = calendar.start_date is not None and calendar.end_date is not None
    if not bounded and calendar.weekdays & 0b1111111:
        return None
    ends = list(calendar.added)
    if bounded and calendar.weekdays & 0b1111111:
        assert calendar.start_date is not None and calendar.end_date is not None
        ends += [calendar.start_date, calendar.end_date]
    if not ends:
        return None
    low, high = min(ends), max(ends)
    if (high - low).days > MAX_DESCRIBED_DAYS:
        return None
    return low, high


def running_dates(calendar: CalendarDays, low: dt.date, high: dt.date) -> list[dt.date]:
    """The dates from ``low`` to ``high`` (inclusive) the calendar runs on, in order."""
    added, removed = set(calendar.added), set(calendar.removed)
    start = max(low, calendar.start_date) if calendar.start_date is not None else low
    end = min(high, calendar.end_date) if calendar.end_date is not None else high
    dates = {d for d in added if low <= d <= high}
    if calendar.weekdays & 0b1111111:
        dates.update(day for day in days_between(start, end)
                     if calendar.weekdays >> day.weekday() & 1 and day not in removed)
    return sorted(dates)


def days_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """The dates from ``first`` to ``last``, both included (none when ``last`` comes first).
    By ordinal: a date plus one day past 9999-12-31 raises, and calendars may end there."""
    return map(dt.date.fromordinal, range(first.toordinal(), last.toordinal() + 1))


@dataclass(frozen=True)
class CalendarSummary:
    """A calendar as a reader should see it: the weekdays it really runs on, the dates from
    its first run to its last, and only the dates that break that pattern.

    GTFS feeds often write a Saturday service as "daily, except" some 600 dates; what it
    means is "Saturdays". ``never``: it runs on no date at all."""

    weekdays: int
    start_date: dt.date | None
    end_date: dt.date | None
    added: tuple[dt.date, ...] = ()
    removed: tuple[dt.date, ...] = ()
    never: bool = False

    @property
    def single_day(self) -> bool:
        return self.start_date is not None and self.start_date == self.end_date


def describe_calendar(calendar: CalendarDays) -> CalendarSummary:
    """The days a calendar runs on, described by its real pattern.

    For a calendar with finitely many running dates, the weekdays are those it runs on for
    more than half of their occurrences between its first and its last running date, and the
    exceptions are the dates that differ from that pattern (fewest possible for that
    range). An open-ended calendar keeps its pattern, less the exceptions that change
    nothing (a removed date it would not run on anyway, an added one it already runs on).
    Both describe exactly the dates ``CalendarDays.runs_on`` says it runs on."""
    span = finite_range(calendar)
    if not calendar.weekdays & 0b1111111 and not calendar.added:
        return CalendarSummary(0, None, None, never=True)
    if span is None:
        def changes(day: dt.date, added: bool) -> bool:
            regular = CalendarDays(calendar.weekdays, calendar.start_date, calendar.end_date)
            return regular.runs_on(day) != added

        return CalendarSummary(
            calendar.weekdays,
            calendar.start_date,
            calendar.end_date,
            tuple(sorted(d for d in set(calendar.added) if changes(d, True))),
            tuple(sorted(d for d in set(calendar.removed) - set(calendar.added)
                         if changes(d, False))),
        )
    dates = running_dates(calendar, *span)
    if not dates:
        return CalendarSummary(0, None, None, never=True)
    first, last = dates[0], dates[-1]
    runs = set(dates)
    seen = [0] * 7
    running = [0] * 7
    for day in days_between(first, last):
        seen[day.weekday()] += 1
        running[day.weekday()] += day in runs
    weekdays = sum(1 << w for w in range(7) if running[w] * 2 > seen[w])
    added = tuple(d for d in dates if not weekdays >> d.weekday() & 1)
    removed = [day for day in days_between(first, last)
               if weekdays >> day.weekday() & 1 and day not in runs]
    return CalendarSummary(weekdays, first, last, added, tuple(removed))
