"""A journey ending with a walk: the forecast of its arrival is the last ride's delay after
the walk (the walk starts when the ride arrives), not nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.test_routing_walk_ends import DAY, _network
from transit.forecast.itinerary import forecast_itineraries
from transit.models import City, Service, ServiceForecast
from transit.routing import Query, Snapshot, plan


def test_the_final_walk_arrives_as_late_as_the_ride_before_it(session: Session) -> None:
    _network(session)
    onward = session.scalars(select(Service).where(Service.number == "S2")).one()
    b, c = (session.scalars(select(City).where(City.name == name)).one() for name in "BC")
    departure = dt.datetime.combine(DAY, dt.time(2, 10))  # 10:10 in Shanghai, naive UTC
    session.add(ServiceForecast(
        service=onward, service_date=DAY, origin=b, destination=c,
        scheduled_departure=departure, scheduled_arrival=departure + dt.timedelta(minutes=110),
        travel_p10=108, travel_p50=117, travel_p90=140,
        delay_p10=-2, delay_p50=7, delay_p90=30, model="test",
    ))
    session.commit()
    snapshot = Snapshot.from_session(session)
    (journey,) = plan(snapshot, Query("A", "Z", depart=dt.datetime(2025, 3, 3, 7))).itineraries
    assert [leg.mode for leg in journey.legs] == ["train", "train", "walk"]
    (forecast,) = forecast_itineraries(session, [journey], snapshot, None)
    ride, walk = forecast.legs[-2], forecast.legs[-1]
    assert ride is not None and f"{ride.arrival:%H:%M}" == "12:07"
    # C 12:00 + 4 minutes on foot = 12:04 on the timetable; the ride's 7 minutes late on top.
    assert walk is not None and forecast.arrival is walk
    assert [f"{m:%H:%M}" for m in (walk.arrival, walk.arrival_low, walk.arrival_high)] == [
        "12:11", "12:02", "12:34"]
    assert walk.arrival.utcoffset() == dt.timedelta(hours=8)
