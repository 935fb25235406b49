"""A recorded run and a forecast's planned run take their instants by the engine's rule.

A stop time t of service date D is at noon of D on its city's clock, minus 12 hours, plus t
(GTFS; docs/routing.md, "Time"). On the spring night that is not local midnight plus t: a
01:30 call of 8 March 2026 in New York is at 00:30 EST, an hour before the jump, and the
planner, the boards and the service page show it there. "Record a run" and the forecast's
planned runs counted from local midnight, so the same run was 01:30 EST there: an hour
later, and a 2-hour run (01:30 to 03:30 by the timetable) one hour long.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from transit.models import Timetable, TripRecord, stop_instant
from transit.routing import Query, Snapshot, plan
from transit.web.extensions import db

SPRING = dt.date(2026, 3, 8)  # New York's clocks go from 02:00 EST to 03:00 EDT
BUNDLE = {
    "calendars.csv": "calendar,weekdays,start_date,end_date\ndaily,1111111,2026-01-01,2026-12-31\n",
    "cities.csv": ("name,code,timezone\nNew York,NYC,America/New_York\n"
                   "Boston,BOS,America/New_York\n"),
    "services.csv": "number,mode,currency\nN1,train,USD\n",
    "timetables.csv": "number,code,calendar\nN1,a,daily\n",
    "stops.csv": ("number,code,sequence,city,arrival,departure,fare\n"
                  "N1,a,0,New York,,01:30:00,\n"
                  "N1,a,1,Boston,03:30:00,,40.00\n"),
}


def _load(runner, folder: Path) -> None:
    folder.mkdir()
    for name, text in BUNDLE.items():
        (folder / name).write_text(text, encoding="utf-8")
    result = runner.invoke(args=["timetable", "import", str(folder)])
    assert result.exit_code == 0, result.output


def test_stop_instant_is_noon_minus_twelve_hours():
    utc = dt.UTC
    assert stop_instant(SPRING, 5400, "America/New_York") == dt.datetime(2026, 3, 8, 5, 30, tzinfo=utc)
    assert stop_instant(SPRING, 12600, "America/New_York") == dt.datetime(2026, 3, 8, 7, 30, tzinfo=utc)
    # Autumn: noon EST minus 12 hours is 01:00 EDT, so a 01:30 call is the second 01:30 (EST).
    assert stop_instant(dt.date(2026, 11, 1), 5400, "America/New_York") == dt.datetime(
        2026, 11, 1, 6, 30, tzinfo=utc)
    # Any other day: local midnight plus the time.
    assert stop_instant(dt.date(2026, 6, 8), 5400, "America/New_York") == dt.datetime(
        2026, 6, 8, 5, 30, tzinfo=utc)
    assert stop_instant(dt.date(2026, 6, 8), 25 * 3600, "Asia/Shanghai") == dt.datetime(
        2026, 6, 8, 17, 0, tzinfo=utc)


def test_recorded_and_planned_runs_are_the_runs_the_planner_shows(app, runner, tmp_path):
    from transit import editing
    from transit.forecast.predict import planned_trips

    _load(runner, tmp_path / "bundle")
    with app.app_context():
        session = db.session()
        snapshot = Snapshot.from_session(session)
        answer = plan(snapshot, Query(origin="New York", destination="Boston",
                                      depart=dt.datetime(2026, 3, 8, 0, 0), criterion="fastest"))
        leg = answer.itineraries[0].legs[0]
        assert (leg.departure.isoformat(), leg.arrival.isoformat()) == (
            "2026-03-08T00:30:00-05:00", "2026-03-08T03:30:00-04:00")

        timetable = session.scalar(select(Timetable))
        assert editing.record_trip(
            session, timetable, SPRING, 0, 1,
            actual_departure=dt.datetime(2026, 3, 8, 0, 35), actual_arrival=dt.datetime(2026, 3, 8, 3, 40),
            user="editor", now=dt.datetime(2026, 4, 1)) == 1
        session.commit()
        run = session.scalar(select(TripRecord))
        assert (run.scheduled_departure, run.scheduled_arrival) == (
            dt.datetime(2026, 3, 8, 5, 30), dt.datetime(2026, 3, 8, 7, 30))
        assert (run.actual_departure, run.actual_arrival) == (
            dt.datetime(2026, 3, 8, 5, 35), dt.datetime(2026, 3, 8, 7, 40))

        planned = planned_trips(session, SPRING)
        assert [(p.departure.isoformat(), p.arrival.isoformat()) for p in planned] == [
            ("2026-03-08T00:30:00-05:00", "2026-03-08T03:30:00-04:00")]
