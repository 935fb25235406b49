"""Database rows into the API's response models, in few queries per page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask import url_for
from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import selectinload

from transit.models import (
    Calendar,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
)
from transit.web.api import schemas as s
from transit.web.api.problems import ApiProblem
from transit.web.extensions import db

# --- serialisation ---------------------------------------------------------------------------


def city_ref(city: City) -> s.CityRef:
    return s.CityRef(id=city.id, name=city.name)


def service_counts(city_ids: Iterable[int]) -> dict[int, int]:
    ids = list(city_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Stop.city_id, func.count(distinct(Timetable.service_id)))
        .join(Timetable, Stop.timetable_id == Timetable.id)
        .where(Stop.city_id.in_(ids))
        .group_by(Stop.city_id)
    )
    return {city_id: count for city_id, count in rows}


def city_out(city: City, service_count: int) -> s.CityOut:
    return s.CityOut(
        id=city.id,
        name=city.name,
        code=city.code,
        latitude=city.latitude,
        longitude=city.longitude,
        timezone=city.timezone,
        min_connection_seconds=city.min_connection_seconds,
        aliases=list(city.aliases or []),
        service_count=service_count,
        links=s.CityLinks(
            self=url_for("api.get_city", city_id=city.id),
            services=url_for("api.list_services", city=str(city.id)),
        ),
    )


def timetable_counts(calendar_ids: Iterable[int]) -> dict[int, int]:
    ids = list(set(calendar_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Timetable.calendar_id, func.count())
        .where(Timetable.calendar_id.in_(ids))
        .group_by(Timetable.calendar_id)
    )
    return {calendar_id: count for calendar_id, count in rows}


def calendar_out(calendar: Calendar, timetable_count: int) -> s.CalendarOut:
    added = [e.date for e in calendar.exceptions if e.added]
    removed = [e.date for e in calendar.exceptions if not e.added]
    return s.CalendarOut(
        id=calendar.id,
        name=calendar.name,
        weekdays=s.weekday_names(calendar.weekdays),  # type: ignore[arg-type]
        start_date=calendar.start_date,
        end_date=calendar.end_date,
        added=added,
        removed=removed,
        description=s.describe_calendar(
            calendar.weekdays, calendar.start_date, calendar.end_date, added, removed
        ),
        timetable_count=timetable_count,
        links=s.Links(self=url_for("api.get_calendar", calendar_id=calendar.id)),
    )


def timetable_out(timetable: Timetable, counts: dict[int, int]) -> s.TimetableOut:
    return s.TimetableOut(
        id=timetable.id,
        code=timetable.code,
        headsign=timetable.headsign,
        calendar=calendar_out(timetable.calendar, counts.get(timetable.calendar_id, 0)),
        stops=[
            s.StopOut(
                sequence=stop.sequence,
                city=city_ref(stop.city),
                arrival=s.format_time(stop.arrival),
                departure=s.format_time(stop.departure),
                arrival_seconds=stop.arrival,
                departure_seconds=stop.departure,
                fare_cents=stop.fare_cents,
                boarding=stop.boarding,
                alighting=stop.alighting,
            )
            for stop in timetable.stops
        ],
        links=s.Links(
            self=url_for(
                "api.get_timetable", service_id=timetable.service_id, timetable_id=timetable.id
            )
        ),
    )


def fare_out(fare: ServiceFare, currency: str) -> s.FareOut:
    return s.FareOut(
        id=fare.id,
        origin=city_ref(fare.origin),
        destination=city_ref(fare.destination),
        fare_cents=fare.fare_cents,
        fare=fare.fare_cents / 100,
        currency=currency,
    )


def service_links(service_id: int) -> s.ServiceLinks:
    return s.ServiceLinks(
        self=url_for("api.get_service", service_id=service_id),
        timetables=url_for("api.list_timetables", service_id=service_id),
        fares=url_for("api.get_fares", service_id=service_id),
    )


def service_summaries(services: Sequence[Service]) -> list[s.ServiceSummary]:
    """Summaries for a page of services in a few queries (ends of the first variant)."""
    ids = [service.id for service in services]
    first: dict[int, int] = {}
    counts: dict[int, int] = {}
    if ids:
        for service_id, first_id, count in db.session.execute(
            select(Timetable.service_id, func.min(Timetable.id), func.count())
            .where(Timetable.service_id.in_(ids))
            .group_by(Timetable.service_id)
        ):
            first[service_id] = first_id
            counts[service_id] = count
    ends: dict[int, tuple[s.CityRef | None, s.CityRef | None]] = {}
    if first:
        bounds = (
            select(
                Stop.timetable_id,
                func.min(Stop.sequence).label("lo"),
                func.max(Stop.sequence).label("hi"),
            )
            .where(Stop.timetable_id.in_(list(first.values())))
            .group_by(Stop.timetable_id)
            .subquery()
        )
        rows = db.session.execute(
            select(Stop.timetable_id, Stop.sequence, bounds.c.lo, City.id, City.name)
            .join(bounds, Stop.timetable_id == bounds.c.timetable_id)
            .join(City, Stop.city_id == City.id)
            .where(or_(Stop.sequence == bounds.c.lo, Stop.sequence == bounds.c.hi))
        )
        by_timetable: dict[int, dict[str, s.CityRef]] = {}
        for timetable_id, sequence, lo, city_id, name in rows:
            end = "origin" if sequence == lo else "destination"
            by_timetable.setdefault(timetable_id, {})[end] = s.CityRef(id=city_id, name=name)
        for service_id, timetable_id in first.items():
            found = by_timetable.get(timetable_id, {})
            ends[service_id] = (found.get("origin"), found.get("destination"))
    return [
        s.ServiceSummary(
            id=service.id,
            number=service.number,
            mode=service.mode,  # type: ignore[arg-type]
            operator=service.operator,
            route=service.route,
            name=service.name,
            currency=service.currency,
            origin=ends.get(service.id, (None, None))[0],
            destination=ends.get(service.id, (None, None))[1],
            timetable_count=counts.get(service.id, 0),
            links=service_links(service.id),
        )
        for service in services
    ]


def load_service(service_id: int) -> Service:
    service = db.session.scalar(
        select(Service)
        .where(Service.id == service_id)
        .options(
            selectinload(Service.timetables).selectinload(Timetable.stops).joinedload(Stop.city),
            selectinload(Service.timetables)
            .joinedload(Timetable.calendar)
            .selectinload(Calendar.exceptions),
            selectinload(Service.fares).joinedload(ServiceFare.origin),
            selectinload(Service.fares).joinedload(ServiceFare.destination),
        )
        .execution_options(populate_existing=True)
    )
    if service is None:
        raise ApiProblem(404, f"There is no service {service_id}.")
    return service


def service_detail(service: Service) -> s.ServiceDetail:
    summary = service_summaries([service])[0]
    counts = timetable_counts(t.calendar_id for t in service.timetables)
    fares = sorted(service.fares, key=lambda f: (f.origin.name, f.destination.name))
    return s.ServiceDetail(
        **summary.model_dump(),
        timetables=[timetable_out(t, counts) for t in service.timetables],
        fares=[fare_out(f, service.currency) for f in fares],
    )
