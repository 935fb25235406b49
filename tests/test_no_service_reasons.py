""""No service" messages name the days a run really calls there (QA findings, routing pass).

A stop served only by a weekday calendar whose dates start on a Sunday was said to be
served "from" that Sunday; and a run's last stop, which it never leaves, counted as a
departure when deciding whether the window lies after the last service.
"""

from __future__ import annotations

import datetime as dt

from transit.routing import Query, Snapshot, plan
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
)

WEEKDAYS = 0b0011111


def _feed() -> Feed:
    """A to B on weekdays at 07:35, from Sunday 2024-12-15 to Saturday 2025-01-18 (so
    Monday 12-16 to Friday 01-17), and B back to A arriving 23:50 on those days."""
    feed = Feed(source="weekday line")
    for key in "AB":
        feed.cities[key] = FeedCity(name=key, timezone="America/New_York")
    feed.calendars["weekday"] = FeedCalendar(weekdays=WEEKDAYS, start_date=dt.date(2024, 12, 15),
                                             end_date=dt.date(2025, 1, 18))
    feed.services.append(FeedService(number="1", mode="subway", timetables=[
        FeedTimetable(code="out", calendar="weekday", stops=[
            FeedStop("A", None, 7 * 3600 + 2100), FeedStop("B", 8 * 3600, None)]),
        FeedTimetable(code="back", calendar="weekday", stops=[
            FeedStop("B", None, 23 * 3600), FeedStop("A", 23 * 3600 + 3000, None)]),
    ]))
    return feed


def test_the_dates_said_are_the_first_and_last_days_it_runs():
    snap = Snapshot.from_feed(_feed(), 0)
    before = plan(snap, Query("A", "B", depart=dt.datetime(2024, 12, 13, 8), window_hours=24))
    assert before.message.endswith("run from 2024-12-16 to 2025-01-17."), before.message
    # Saturday 08:00 for 24 hours lies wholly before Monday's first run: said, with dates.
    saturday = plan(snap, Query("A", "B", depart=dt.datetime(2024, 12, 14, 8), window_hours=24))
    assert saturday.message.endswith("run from 2024-12-16 to 2025-01-17."), saturday.message
    after = plan(snap, Query("A", "B", arrive_by=dt.datetime(2025, 1, 19, 12), window_hours=24))
    assert after.message.endswith("run from 2024-12-16 to 2025-01-17."), after.message


def test_a_runs_last_stop_is_no_departure():
    # The last departure from A is 07:35 on Friday 2025-01-17; the run arriving at A at
    # 23:50 ends there. From 08:00 that Friday on, the window lies after the last service.
    snap = Snapshot.from_feed(_feed(), 0)
    result = plan(snap, Query("A", "B", depart=dt.datetime(2025, 1, 17, 8), window_hours=24))
    assert result.message == (
        "No service leaves A between 2025-01-17 08:00 and 2025-01-18 08:00 (local time): the "
        "timetables of the services there run from 2024-12-16 to 2025-01-17.")


def test_a_window_of_a_fraction_of_an_hour_is_said_in_two_decimals():
    # B to A leaves at 23:00 and arrives at 23:50: a window of 40 minutes (2/3 of an hour)
    # from 22:50 ends before it arrives. The message said "the 0.666667-hour window".
    snap = Snapshot.from_feed(_feed(), 0)
    result = plan(snap, Query("B", "A", depart=dt.datetime(2024, 12, 16, 22, 50),
                              window_hours=2 / 3))
    assert "within the 0.67-hour window" in result.message, result.message


def test_a_calendar_that_never_runs_within_its_dates_gives_no_dates():
    # Mondays only, from Tuesday 9999-12-28 to Friday 9999-12-31: no running day, and no
    # day after the last one to step to.
    from transit.routing.planner import _first_run
    from transit.routing.snapshot import CalendarRule

    rule = CalendarRule(0b0000001, dt.date(9999, 12, 28), dt.date(9999, 12, 31),
                        frozenset(), frozenset())
    assert _first_run(rule, rule.start, 1) is None
    assert _first_run(rule, rule.end, -1) is None
