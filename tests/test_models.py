"""Database constraints: every rejected write raises and leaves nothing half-written."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from transit.db import data_version
from transit.models import (
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    TripRecord,
    User,
)


def _city(name: str, **kw) -> City:
    return City(name=name, latitude=30.0, longitude=120.0, timezone="Asia/Shanghai", **kw)


def _service_with_stops(session: Session, a: City, b: City, number: str = "G1") -> Service:
    service = Service(number=number, mode="train", operator="CR", route="")
    calendar = Calendar(weekdays=0b1111111)
    timetable = Timetable(code="1", calendar=calendar)
    timetable.stops = [
        Stop(sequence=0, city=a, departure=8 * 3600),
        Stop(sequence=1, city=b, arrival=25 * 3600, fare_cents=55300),
    ]
    service.timetables.append(timetable)
    session.add(service)
    return service


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (City, Service, Timetable, Stop, Calendar, ServiceFare, TripRecord)
    )


@pytest.fixture
def two_cities(session: Session) -> tuple[City, City]:
    a, b = _city("北京"), _city("上海")
    session.add_all([a, b])
    session.commit()
    return a, b


def _rejected(session: Session, build) -> None:
    """The write built by ``build`` must raise on commit and leave the counts unchanged."""
    before = _counts(session)
    with pytest.raises(IntegrityError):
        build()
        session.commit()
    session.rollback()
    assert _counts(session) == before


def test_overnight_service_round_trips(session, two_cities):
    a, b = two_cities
    _service_with_stops(session, a, b)
    session.commit()
    stops = session.scalars(select(Stop).order_by(Stop.sequence)).all()
    assert [s.arrival for s in stops] == [None, 25 * 3600]
    assert stops[1].fare_cents == 55300


@pytest.mark.parametrize(
    "field, value",
    [("fare_cents", -1), ("arrival", -5), ("sequence", -1)],
)
def test_stop_checks(session, two_cities, field, value):
    a, b = two_cities

    def build():
        service = _service_with_stops(session, a, b)
        setattr(service.timetables[0].stops[1], field, value)

    _rejected(session, build)


def test_arrival_after_departure_at_a_stop_is_rejected(session, two_cities):
    a, b = two_cities

    def build():
        service = _service_with_stops(session, a, b)
        service.timetables[0].stops[0].arrival = 9 * 3600  # after its 08:00 departure

    _rejected(session, build)


def test_stop_order_unique_per_timetable(session, two_cities):
    a, b = two_cities

    def build():
        service = _service_with_stops(session, a, b)
        service.timetables[0].stops[1].sequence = 0

    _rejected(session, build)


def test_city_name_unique(session, two_cities):
    _rejected(session, lambda: session.add(_city("北京")))


def test_city_coordinates_checked(session):
    _rejected(session, lambda: session.add(City(name="Nowhere", latitude=95.0, longitude=0.0)))


def test_service_identity_unique(session, two_cities):
    a, b = two_cities
    _service_with_stops(session, a, b)
    session.commit()
    _rejected(session, lambda: session.add(Service(number="G1", mode="train", operator="CR")))


def test_unknown_mode_rejected(session):
    _rejected(session, lambda: session.add(Service(number="X1", mode="teleport", operator="")))


def test_negative_od_fare_rejected(session, two_cities):
    a, b = two_cities
    service = _service_with_stops(session, a, b)
    session.commit()
    _rejected(
        session,
        lambda: session.add(
            ServiceFare(service=service, origin=a, destination=b, fare_cents=-100)
        ),
    )


def test_calendar_checks(session):
    _rejected(session, lambda: session.add(Calendar(weekdays=128)))
    _rejected(
        session,
        lambda: session.add(
            Calendar(weekdays=1, start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 1, 1))
        ),
    )


def test_calendar_exception_unique_per_date(session):
    calendar = Calendar(weekdays=1)
    session.add(calendar)
    session.commit()

    def build():
        calendar.exceptions.append(CalendarDate(date=dt.date(2026, 5, 1), added=False))
        calendar.exceptions.append(CalendarDate(date=dt.date(2026, 5, 1), added=True))

    _rejected(session, build)


def test_calendar_runs_on_pattern_and_exceptions(session):
    calendar = Calendar(
        weekdays=0b0011111, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    calendar.exceptions = [
        CalendarDate(date=dt.date(2026, 10, 1), added=False),  # a Thursday, holiday
        CalendarDate(date=dt.date(2026, 10, 10), added=True),  # a Saturday, make-up day
    ]
    assert calendar.runs_on(dt.date(2026, 11, 27))  # Friday
    assert not calendar.runs_on(dt.date(2026, 11, 28))  # Saturday
    assert not calendar.runs_on(dt.date(2026, 10, 1))
    assert calendar.runs_on(dt.date(2026, 10, 10))
    assert not calendar.runs_on(dt.date(2027, 1, 4))  # after validity


def test_city_in_use_cannot_be_deleted_raw(session, two_cities):
    a, b = two_cities
    _service_with_stops(session, a, b)
    session.commit()
    _rejected(session, lambda: session.execute(delete(City).where(City.id == a.id)))


def test_deleting_a_service_cascades_to_its_timetables_and_stops(session, two_cities):
    a, b = two_cities
    service = _service_with_stops(session, a, b)
    session.commit()
    session.execute(delete(Service).where(Service.id == service.id))
    session.commit()
    assert session.scalar(select(func.count()).select_from(Stop)) == 0
    assert session.scalar(select(func.count()).select_from(Timetable)) == 0


def test_trip_record_run_unique(session, two_cities):
    a, b = two_cities
    service = _service_with_stops(session, a, b)
    session.commit()

    def record() -> TripRecord:
        return TripRecord(
            service=service,
            service_date=dt.date(2026, 11, 1),
            origin=a,
            destination=b,
            scheduled_departure=dt.datetime(2026, 11, 1, 0, 0),
            scheduled_arrival=dt.datetime(2026, 11, 1, 17, 0),
        )

    session.add(record())
    session.commit()
    _rejected(session, lambda: session.add(record()))


def test_username_unique(session):
    session.add(User(username="ada", password_hash="scrypt:x"))
    session.commit()
    _rejected(session, lambda: session.add(User(username="ada", password_hash="scrypt:y")))


def test_timetable_changes_bump_the_data_version(session, two_cities):
    before = data_version(session)
    a, b = two_cities
    _service_with_stops(session, a, b)
    session.commit()
    after = data_version(session)
    assert after > before
    session.add(User(username="bob", password_hash="h"))
    session.commit()
    assert data_version(session) == after  # users are not timetable data
