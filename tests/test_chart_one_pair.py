"""A service's chart shows runs between one origin and one destination: a partial run
recorded from a stop on the way (or to one) took another time, and on the same chart it
read as a run half an hour early."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.test_service_page_fixes import NOW, _history
from transit.forecast.store import recent_runs
from transit.models import City, TripRecord
from transit.web import forecast_views as fv
from transit.web.extensions import db


def test_partial_runs_stay_off_the_chart_of_the_full_ones(app):
    with app.test_request_context("/"):
        sid = _history(db.session, [199.0, 200.0, 201.0, 198.0, 200.0])
        session = db.session
        beijing, shanghai = (session.scalars(select(City).where(City.name == n)).one()
                             for n in ("北京", "上海"))
        # A stop on the way, and two runs recorded from it only, the latest of all.
        nanjing = City(name="南京")
        session.add(nanjing)
        session.flush()
        for k in range(2):
            day = dt.date(2025, 3, 10) + dt.timedelta(days=k)
            leaves = dt.datetime.combine(day, dt.time(2))
            session.add(TripRecord(
                service_id=sid, service_date=day, origin_id=nanjing.id,
                destination_id=shanghai.id, scheduled_departure=leaves,
                scheduled_arrival=leaves + dt.timedelta(minutes=80),
                actual_departure=leaves, actual_arrival=leaves + dt.timedelta(minutes=82),
            ))
        session.commit()
        runs = recent_runs(session, sid)
        assert [round(r.actual_minutes or 0) for r in runs] == [199, 200, 201, 198, 200]
        assert {r.origin_id for r in runs} == {beijing.id}
        partial = recent_runs(session, sid, pair=(nanjing.id, shanghai.id))
        assert [r.actual_minutes for r in partial] == [82.0, 82.0]
        chart = fv.service_chart(session, sid, NOW)
    assert chart is not None
    assert len(chart.past) == 5 and not chart.off_scale
    # The scale is the full run's (about 200 minutes), not stretched down to 80.
    assert chart.low > 150
