"""The REST API under ``/api/v1``: thin views that validate, call the core and serialise.

Reads are public and conditional (ETag/Last-Modified from the timetable data version).
Writes need an administrator's bearer token, run in one transaction each, are checked
before they touch the database (so a conflict answers 409/422, never 500) and leave an
audit entry.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.utils import secure_filename

from transit.models import (
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
)
from transit.web.api import openapi
from transit.web.api import schemas as s
from transit.web.api.problems import ApiProblem, field_error, validation_errors
from transit.web.api.serialize import (
    calendar_out,
    city_out,
    fare_out,
    load_service,
    service_counts,
    service_detail,
    service_summaries,
    timetable_counts,
    timetable_out,
)
from transit.web.api.support import (
    DEFAULT_MAX_UPLOAD_BYTES,
    MAX_UNZIPPED_BYTES,
    CityResolver,
    audit,
    commit,
    conditional_read,
    endpoint,
    flush,
    get_or_404,
    json_response,
    link_headers,
    name_list,
    no_content,
    page_links,
    paged,
    parse_body,
    parse_query,
    require_admin,
    service_label,
)
from transit.web.extensions import db

# --- cities ----------------------------------------------------------------------------------


def _cities_statement(query: s.CityListQuery) -> Select[Any]:
    statement = select(City)
    if query.q:
        statement = statement.where(
            or_(
                City.name.icontains(query.q, autoescape=True),
                City.code.icontains(query.q, autoescape=True),
            )
        )
    if query.mode is not None or query.operator is not None:
        served = (
            select(Stop.city_id)
            .join(Timetable, Stop.timetable_id == Timetable.id)
            .join(Service, Timetable.service_id == Service.id)
        )
        if query.mode is not None:
            served = served.where(Service.mode == query.mode.value)
        if query.operator is not None:
            served = served.where(Service.operator == query.operator)
        statement = statement.where(City.id.in_(served))
    return statement.order_by(City.name, City.id)


@endpoint(
    "GET",
    "/cities",
    summary="List cities",
    description="Cities, stations and airports by name, with search and filters.",
    tag="cities",
    response=s.CityPage,
    query=s.CityListQuery,
    conditional=True,
)
def list_cities() -> Response:
    query = parse_query(s.CityListQuery)

    def build() -> Response:
        cities, total = paged(_cities_statement(query), query)
        counts = service_counts(c.id for c in cities)
        links = page_links(query, total)
        page = s.CityPage(
            items=[city_out(c, counts.get(c.id, 0)) for c in cities],
            total=total,
            limit=query.limit,
            offset=query.offset,
            links=links,
        )
        return json_response(page, headers=link_headers(links))

    return conditional_read(build)


@endpoint(
    "GET",
    "/cities/{city_id}",
    summary="One city",
    description="A city with the number of services calling at it.",
    tag="cities",
    response=s.CityOut,
    conditional=True,
    path_params={"city_id": "the city's id"},
)
def get_city(city_id: int) -> Response:
    def build() -> Response:
        city = get_or_404(City, city_id, "city")
        return json_response(city_out(city, service_counts([city.id]).get(city.id, 0)))

    return conditional_read(build)


def _check_city_unique(name: str | None, code: str | None, exclude: int | None = None) -> None:
    errors = []
    if name is not None:
        other = db.session.scalar(select(City).where(City.name == name, City.id != (exclude or 0)))
        if other is not None:
            errors.append(
                field_error("name", f"a city called {name!r} already exists (id {other.id})")
            )
    if code is not None:
        other = db.session.scalar(select(City).where(City.code == code, City.id != (exclude or 0)))
        if other is not None:
            errors.append(
                field_error("code", f"code {code!r} belongs to {other.name} (id {other.id})")
            )
    if errors:
        raise ApiProblem(409, "Names and codes of cities are unique.", errors=errors)


@endpoint(
    "POST",
    "/cities",
    summary="Create a city",
    description="Add a city, station or airport.",
    tag="cities",
    status=201,
    response=s.CityOut,
    body=s.CityCreate,
    auth=True,
    errors=(409,),
)
def create_city() -> Response:
    user = require_admin()
    data = parse_body(s.CityCreate)
    _check_city_unique(data.name, data.code)
    city = City(**data.model_dump())
    db.session.add(city)
    flush()
    audit(user, "create", "city", city.id, f"created city {city.name}")
    commit()
    return json_response(
        city_out(city, 0), 201, {"Location": url_for("api.get_city", city_id=city.id)}
    )


@endpoint(
    "PATCH",
    "/cities/{city_id}",
    summary="Change a city",
    description="Change the fields given; the others keep their value.",
    tag="cities",
    response=s.CityOut,
    body=s.CityUpdate,
    auth=True,
    errors=(409,),
    path_params={"city_id": "the city's id"},
)
def update_city(city_id: int) -> Response:
    user = require_admin()
    city = get_or_404(City, city_id, "city")
    data = parse_body(s.CityUpdate)
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    _check_city_unique(changes.get("name"), changes.get("code"), exclude=city.id)
    for name, value in changes.items():
        setattr(city, name, value)
    flush()
    audit(
        user,
        "update",
        "city",
        city.id,
        f"changed {', '.join(sorted(changes)) or 'nothing'} of {city.name}",
    )
    commit()
    return json_response(city_out(city, service_counts([city.id]).get(city.id, 0)))


def _services_calling_at(city_id: int) -> list[Service]:
    return list(
        db.session.scalars(
            select(Service)
            .where(
                Service.id.in_(
                    select(Timetable.service_id)
                    .join(Stop, Stop.timetable_id == Timetable.id)
                    .where(Stop.city_id == city_id)
                )
            )
            .order_by(Service.mode, Service.number, Service.id)
        )
    )


@endpoint(
    "DELETE",
    "/cities/{city_id}",
    summary="Delete a city",
    description=(
        "Delete a city. When services call at it the answer is 409 naming them, unless "
        "`cascade=true`, which deletes those services too."
    ),
    tag="cities",
    status=204,
    media_type="none",
    response_text="Deleted.",
    query=s.CascadeQuery,
    auth=True,
    errors=(409,),
    path_params={"city_id": "the city's id"},
)
def delete_city(city_id: int) -> Response:
    user = require_admin()
    query = parse_query(s.CascadeQuery)
    city = get_or_404(City, city_id, "city")
    services = _services_calling_at(city.id)
    if services and not query.cascade:
        labels = [service_label(x) for x in services]
        raise ApiProblem(
            409,
            f"{city.name} is still called at by {len(services)} service"
            f"{'s' if len(services) != 1 else ''}: {name_list(labels)}. Delete or change them "
            "first, or repeat with cascade=true to delete them too.",
            extra={"services": [{"id": x.id, "label": service_label(x)} for x in services]},
        )
    for service in services:
        db.session.delete(service)
    flush()
    name = city.name
    db.session.delete(city)
    flush()
    summary = f"deleted city {name}"
    if services:
        summary += " and services " + name_list([service_label(x) for x in services], 50)
    audit(user, "delete", "city", city_id, summary)
    commit()
    return no_content()


# --- calendars -------------------------------------------------------------------------------


def _calendar_options() -> Any:
    return selectinload(Calendar.exceptions)


@endpoint(
    "GET",
    "/calendars",
    summary="List calendars",
    description="Days of operation, each with the number of timetable variants using it.",
    tag="calendars",
    response=s.CalendarPage,
    query=s.CalendarListQuery,
    conditional=True,
)
def list_calendars() -> Response:
    query = parse_query(s.CalendarListQuery)

    def build() -> Response:
        statement = select(Calendar).options(_calendar_options()).order_by(Calendar.id)
        calendars, total = paged(statement, query)
        counts = timetable_counts(c.id for c in calendars)
        links = page_links(query, total)
        page = s.CalendarPage(
            items=[calendar_out(c, counts.get(c.id, 0)) for c in calendars],
            total=total,
            limit=query.limit,
            offset=query.offset,
            links=links,
        )
        return json_response(page, headers=link_headers(links))

    return conditional_read(build)


@endpoint(
    "GET",
    "/calendars/{calendar_id}",
    summary="One calendar",
    description="Days of operation as data and in words.",
    tag="calendars",
    response=s.CalendarOut,
    conditional=True,
    path_params={"calendar_id": "the calendar's id"},
)
def get_calendar(calendar_id: int) -> Response:
    def build() -> Response:
        calendar = get_or_404(Calendar, calendar_id, "calendar")
        return json_response(
            calendar_out(calendar, timetable_counts([calendar.id]).get(calendar.id, 0))
        )

    return conditional_read(build)


def _set_exceptions(
    calendar: Calendar, added: Iterable[dt.date], removed: Iterable[dt.date]
) -> None:
    calendar.exceptions.clear()
    flush()  # the old rows go first: (calendar, date) is unique
    for day in sorted(set(added)):
        calendar.exceptions.append(CalendarDate(date=day, added=True))
    for day in sorted(set(removed)):
        calendar.exceptions.append(CalendarDate(date=day, added=False))


def new_calendar(data: s.CalendarCreate) -> Calendar:
    calendar = Calendar(
        name=data.name,
        weekdays=s.weekday_mask(list(data.weekdays)),
        start_date=data.start_date,
        end_date=data.end_date,
    )
    db.session.add(calendar)
    calendar.exceptions = [CalendarDate(date=d, added=True) for d in sorted(set(data.added))] + [
        CalendarDate(date=d, added=False) for d in sorted(set(data.removed))
    ]
    return calendar


@endpoint(
    "POST",
    "/calendars",
    summary="Create a calendar",
    description="Days of operation that timetable variants can then use by id.",
    tag="calendars",
    status=201,
    response=s.CalendarOut,
    body=s.CalendarCreate,
    auth=True,
)
def create_calendar() -> Response:
    user = require_admin()
    data = parse_body(s.CalendarCreate)
    calendar = new_calendar(data)
    flush()
    audit(
        user, "create", "calendar", calendar.id, f"created calendar {calendar.name or calendar.id}"
    )
    commit()
    return json_response(
        calendar_out(calendar, 0),
        201,
        {"Location": url_for("api.get_calendar", calendar_id=calendar.id)},
    )


@endpoint(
    "PATCH",
    "/calendars/{calendar_id}",
    summary="Change a calendar",
    description=(
        "Change the fields given; `added` and `removed`, when given, replace the lists. "
        "Every timetable variant using the calendar changes with it."
    ),
    tag="calendars",
    response=s.CalendarOut,
    body=s.CalendarUpdate,
    auth=True,
    path_params={"calendar_id": "the calendar's id"},
)
def update_calendar(calendar_id: int) -> Response:
    user = require_admin()
    calendar = get_or_404(Calendar, calendar_id, "calendar")
    data = parse_body(s.CalendarUpdate)
    fields = data.model_fields_set
    start = data.start_date if "start_date" in fields else calendar.start_date
    end = data.end_date if "end_date" in fields else calendar.end_date
    added = (
        data.added if data.added is not None else [e.date for e in calendar.exceptions if e.added]
    )
    removed = (
        data.removed
        if data.removed is not None
        else [e.date for e in calendar.exceptions if not e.added]
    )
    try:
        s._check_calendar(start, end, added, removed)
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        raise ApiProblem(
            422, "The calendar would be inconsistent.", errors=[field_error(field, message)]
        ) from None
    if "name" in fields:
        calendar.name = data.name
    if data.weekdays is not None:
        calendar.weekdays = s.weekday_mask(list(data.weekdays))
    calendar.start_date, calendar.end_date = start, end
    if data.added is not None or data.removed is not None:
        _set_exceptions(calendar, added, removed)
    flush()
    audit(
        user, "update", "calendar", calendar.id, f"changed {', '.join(sorted(fields)) or 'nothing'}"
    )
    commit()
    return json_response(
        calendar_out(calendar, timetable_counts([calendar.id]).get(calendar.id, 0))
    )


@endpoint(
    "DELETE",
    "/calendars/{calendar_id}",
    summary="Delete a calendar",
    description="Delete a calendar that no timetable variant uses (409 naming them otherwise).",
    tag="calendars",
    status=204,
    media_type="none",
    response_text="Deleted.",
    auth=True,
    errors=(409,),
    path_params={"calendar_id": "the calendar's id"},
)
def delete_calendar(calendar_id: int) -> Response:
    user = require_admin()
    calendar = get_or_404(Calendar, calendar_id, "calendar")
    users = list(
        db.session.execute(
            select(Service, Timetable.code)
            .join(Timetable, Timetable.service_id == Service.id)
            .where(Timetable.calendar_id == calendar.id)
            .order_by(Service.number, Timetable.code)
        )
    )
    if users:
        labels = [f"{service_label(service)} variant {code}" for service, code in users]
        raise ApiProblem(
            409,
            f"Calendar {calendar.id} is used by {name_list(labels)}; give them another calendar first.",
        )
    db.session.delete(calendar)
    flush()
    audit(user, "delete", "calendar", calendar_id, f"deleted calendar {calendar_id}")
    commit()
    return no_content()


# --- services --------------------------------------------------------------------------------


def _services_statement(query: s.ServiceListQuery) -> Select[Any]:
    statement = select(Service)
    if query.q:
        statement = statement.where(
            or_(
                Service.number.icontains(query.q, autoescape=True),
                Service.name.icontains(query.q, autoescape=True),
                Service.operator.icontains(query.q, autoescape=True),
            )
        )
    if query.number is not None:
        statement = statement.where(Service.number == query.number)
    if query.mode is not None:
        statement = statement.where(Service.mode == query.mode.value)
    if query.operator is not None:
        statement = statement.where(Service.operator == query.operator)
    if query.city is not None:
        city = _find_city_param(query.city)
        statement = statement.where(
            Service.id.in_(
                select(Timetable.service_id)
                .join(Stop, Stop.timetable_id == Timetable.id)
                .where(Stop.city_id == city.id)
            )
        )
    return statement.order_by(
        Service.mode, Service.number, Service.operator, Service.route, Service.id
    )


def _find_city_param(value: str) -> City:
    city = None
    if value.isdigit() and int(value) <= s.MAX_ID:
        city = db.session.get(City, int(value))
    if city is None:
        city = db.session.scalar(select(City).where(City.name == value))
    if city is None:
        city = db.session.scalar(select(City).where(City.code == value))
    if city is None:
        city = db.session.scalar(
            select(City).where(func.lower(City.name) == value.lower()).limit(1)
        )
    if city is None:
        raise ApiProblem(
            422,
            f"There is no city {value!r}.",
            errors=[field_error("city", f"no city with id, name or code {value!r}", "query")],
        )
    return city


@endpoint(
    "GET",
    "/services",
    summary="List services",
    description="Services with search and filters by number, mode, operator and city.",
    tag="services",
    response=s.ServicePage,
    query=s.ServiceListQuery,
    conditional=True,
    errors=(422,),
)
def list_services() -> Response:
    query = parse_query(s.ServiceListQuery)

    def build() -> Response:
        services, total = paged(_services_statement(query), query)
        links = page_links(query, total)
        page = s.ServicePage(
            items=service_summaries(services),
            total=total,
            limit=query.limit,
            offset=query.offset,
            links=links,
        )
        return json_response(page, headers=link_headers(links))

    return conditional_read(build)


@endpoint(
    "GET",
    "/services/{service_id}",
    summary="One service",
    description=(
        "A service with its timetable variants (stops, times, days of operation as data and in "
        "words) and its origin-destination fares."
    ),
    tag="services",
    response=s.ServiceDetail,
    conditional=True,
    path_params={"service_id": "the service's id"},
)
def get_service(service_id: int) -> Response:
    return conditional_read(lambda: json_response(service_detail(load_service(service_id))))


def _check_service_unique(
    operator: str, number: str, route: str, exclude: int | None = None
) -> None:
    other = db.session.scalar(
        select(Service).where(
            Service.operator == operator,
            Service.number == number,
            Service.route == route,
            Service.id != (exclude or 0),
        )
    )
    if other is not None:
        raise ApiProblem(
            409,
            f"Service {service_label(other)} already exists (id {other.id}); operator, number "
            "and route together are unique (set route to tell two products apart).",
            errors=[field_error("number", f"already used by service {other.id}")],
        )


def _next_code(taken: set[str]) -> str:
    number = len(taken) + 1
    while str(number) in taken:
        number += 1
    return str(number)


def build_timetable(
    service: Service,
    data: s.TimetableCreate,
    where: str,
    resolve: CityResolver,
    taken_codes: set[str],
    timetable: Timetable | None = None,
) -> Timetable:
    """A timetable variant from its description (a new one, or ``timetable`` refilled)."""
    errors: list[dict[str, str]] = []
    if data.calendar_id is not None:
        calendar = db.session.get(Calendar, data.calendar_id)
        if calendar is None:
            errors.append(field_error(f"{where}calendar_id", f"no calendar {data.calendar_id}"))
    else:
        assert data.calendar is not None
        calendar = new_calendar(data.calendar)
    code = data.code or (timetable.code if timetable is not None else _next_code(taken_codes))
    if code in taken_codes and (timetable is None or code != timetable.code):
        errors.append(field_error(f"{where}code", f"the service already has a variant {code!r}"))
    cities = [resolve(stop.city, f"{where}stops[{i}].city") for i, stop in enumerate(data.stops)]
    for i in range(1, len(cities)):
        if cities[i] is not None and cities[i] is cities[i - 1]:
            errors.append(field_error(f"{where}stops[{i}].city", "the same city twice in a row"))
    if errors:
        resolve.errors.extend(errors)
    if resolve.errors:
        resolve.raise_if_any()
    taken_codes.add(code)
    if timetable is None:
        timetable = Timetable(service=service, code=code)
        db.session.add(timetable)
    else:
        timetable.stops.clear()
        flush()  # old stops go first: (timetable, sequence) is unique
        timetable.code = code
    assert calendar is not None  # an unknown calendar_id was raised above
    timetable.headsign = data.headsign
    timetable.calendar = calendar
    timetable.stops = [
        Stop(
            sequence=i,
            city=city,
            arrival=stop.arrival if i > 0 else None,
            departure=stop.departure if i < len(data.stops) - 1 else None,
            fare_cents=stop.fare_cents if i > 0 else None,
            boarding=stop.boarding,
            alighting=stop.alighting,
        )
        for i, (stop, city) in enumerate(zip(data.stops, cities, strict=True))
    ]
    return timetable


def _served_city_ids(service: Service) -> set[int]:
    return {stop.city.id for timetable in service.timetables for stop in timetable.stops}


def build_fares(
    service: Service, fares: Sequence[s.FareIn], where: str, resolve: CityResolver
) -> list[ServiceFare]:
    """Origin-destination fares, checked: known cities called at by the service, no repeats."""
    served = _served_city_ids(service)
    seen: set[tuple[int, int]] = set()
    errors: list[dict[str, str]] = []
    built = []
    for i, fare in enumerate(fares):
        origin = resolve(fare.origin, f"{where}[{i}].origin")
        destination = resolve(fare.destination, f"{where}[{i}].destination")
        if origin is None or destination is None:
            continue
        if origin is destination:
            errors.append(field_error(f"{where}[{i}]", "origin and destination are the same city"))
            continue
        for end, city in (("origin", origin), ("destination", destination)):
            if city.id not in served:
                errors.append(
                    field_error(f"{where}[{i}].{end}", f"{city.name} is not a stop of this service")
                )
        if (origin.id, destination.id) in seen:
            errors.append(
                field_error(
                    f"{where}[{i}]", f"a second fare from {origin.name} to {destination.name}"
                )
            )
        seen.add((origin.id, destination.id))
        # Not attached yet: the caller adds them once the old fares are gone.
        built.append(
            ServiceFare(origin=origin, destination=destination, fare_cents=fare.fare_cents)
        )
    resolve.errors.extend(errors)
    resolve.raise_if_any()
    return built


@endpoint(
    "POST",
    "/services",
    summary="Create a service",
    description=(
        "Add a service, optionally with its timetable variants (stops with times, days of "
        "operation) and origin-destination fares, all in one transaction."
    ),
    tag="services",
    status=201,
    response=s.ServiceDetail,
    body=s.ServiceCreate,
    auth=True,
    errors=(409,),
)
def create_service() -> Response:
    user = require_admin()
    data = parse_body(s.ServiceCreate)
    _check_service_unique(data.operator, data.number, data.route)
    service = Service(
        number=data.number,
        mode=data.mode.value,
        operator=data.operator,
        route=data.route,
        name=data.name,
        currency=data.currency,
    )
    db.session.add(service)
    resolve = CityResolver()
    codes: set[str] = set()
    for i, timetable in enumerate(data.timetables):
        build_timetable(service, timetable, f"timetables[{i}].", resolve, codes)
    service.fares = build_fares(service, data.fares, "fares", resolve)
    flush()
    audit(user, "create", "service", service.id, f"created service {service_label(service)}")
    commit()
    return json_response(
        service_detail(load_service(service.id)),
        201,
        {"Location": url_for("api.get_service", service_id=service.id)},
    )


@endpoint(
    "PATCH",
    "/services/{service_id}",
    summary="Change a service",
    description="Change number, mode, operator, route, name or currency.",
    tag="services",
    response=s.ServiceDetail,
    body=s.ServiceUpdate,
    auth=True,
    errors=(409,),
    path_params={"service_id": "the service's id"},
)
def update_service(service_id: int) -> Response:
    user = require_admin()
    service = get_or_404(Service, service_id, "service")
    data = parse_body(s.ServiceUpdate)
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    if "mode" in changes:
        changes["mode"] = changes["mode"].value
    _check_service_unique(
        changes.get("operator", service.operator),
        changes.get("number", service.number),
        changes.get("route", service.route),
        exclude=service.id,
    )
    for name, value in changes.items():
        setattr(service, name, value)
    flush()
    audit(
        user,
        "update",
        "service",
        service.id,
        f"changed {', '.join(sorted(changes)) or 'nothing'} of {service_label(service)}",
    )
    commit()
    return json_response(service_detail(load_service(service.id)))


@endpoint(
    "DELETE",
    "/services/{service_id}",
    summary="Delete a service",
    description="Delete a service with its timetable variants, fares and trip history.",
    tag="services",
    status=204,
    media_type="none",
    response_text="Deleted.",
    auth=True,
    path_params={"service_id": "the service's id"},
)
def delete_service(service_id: int) -> Response:
    user = require_admin()
    service = get_or_404(Service, service_id, "service")
    label = service_label(service)
    db.session.delete(service)
    flush()
    audit(user, "delete", "service", service_id, f"deleted service {label}")
    commit()
    return no_content()


# --- timetable variants ----------------------------------------------------------------------


def _timetable_of(service_id: int, timetable_id: int) -> Timetable:
    timetable = db.session.scalar(
        select(Timetable)
        .where(Timetable.id == timetable_id, Timetable.service_id == service_id)
        .options(
            selectinload(Timetable.stops).joinedload(Stop.city),
            joinedload(Timetable.calendar).selectinload(Calendar.exceptions),
        )
    )
    if timetable is None:
        get_or_404(Service, service_id, "service")
        raise ApiProblem(404, f"Service {service_id} has no timetable variant {timetable_id}.")
    return timetable


def _codes(service: Service) -> set[str]:
    return set(db.session.scalars(select(Timetable.code).where(Timetable.service_id == service.id)))


def _timetable_response(
    timetable: Timetable, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    timetable = _timetable_of(timetable.service_id, timetable.id)
    counts = timetable_counts([timetable.calendar_id])
    return json_response(timetable_out(timetable, counts), status, headers)


@endpoint(
    "GET",
    "/services/{service_id}/timetables/{timetable_id}",
    summary="One timetable variant",
    description="Stops with times and fares, and the days of operation.",
    tag="services",
    response=s.TimetableOut,
    conditional=True,
    path_params={"service_id": "the service's id", "timetable_id": "the variant's id"},
)
def get_timetable(service_id: int, timetable_id: int) -> Response:
    return conditional_read(lambda: _timetable_response(_timetable_of(service_id, timetable_id)))


@endpoint(
    "POST",
    "/services/{service_id}/timetables",
    summary="Add a timetable variant",
    description=(
        "Add a variant with its stops (in travel order, times never going back: write '+1' "
        "after midnight) and its days: an existing `calendar_id` or a new `calendar`."
    ),
    tag="services",
    status=201,
    response=s.TimetableOut,
    body=s.TimetableCreate,
    auth=True,
    errors=(409,),
    path_params={"service_id": "the service's id"},
)
def create_timetable(service_id: int) -> Response:
    user = require_admin()
    service = get_or_404(Service, service_id, "service")
    data = parse_body(s.TimetableCreate)
    codes = _codes(service)
    if data.code is not None and data.code in codes:
        raise ApiProblem(
            409,
            f"Service {service_label(service)} already has a variant {data.code!r}.",
            errors=[field_error("code", "already used in this service")],
        )
    timetable = build_timetable(service, data, "", CityResolver(), codes)
    flush()
    audit(
        user,
        "create",
        "timetable",
        timetable.id,
        f"added variant {timetable.code} to {service_label(service)}",
    )
    commit()
    return _timetable_response(
        timetable,
        201,
        {
            "Location": url_for(
                "api.get_timetable", service_id=service.id, timetable_id=timetable.id
            )
        },
    )


@endpoint(
    "PUT",
    "/services/{service_id}/timetables/{timetable_id}",
    summary="Replace a timetable variant",
    description="Replace the variant's stops, days and headsign (and code, when given).",
    tag="services",
    response=s.TimetableOut,
    body=s.TimetableCreate,
    auth=True,
    errors=(409,),
    path_params={"service_id": "the service's id", "timetable_id": "the variant's id"},
)
def replace_timetable(service_id: int, timetable_id: int) -> Response:
    user = require_admin()
    timetable = _timetable_of(service_id, timetable_id)
    data = parse_body(s.TimetableCreate)
    service = timetable.service
    codes = _codes(service)
    if data.code is not None and data.code != timetable.code and data.code in codes:
        raise ApiProblem(
            409,
            f"Service {service_label(service)} already has a variant {data.code!r}.",
            errors=[field_error("code", "already used in this service")],
        )
    build_timetable(service, data, "", CityResolver(), codes, timetable)
    flush()
    _check_fares_still_served(service)
    audit(
        user,
        "update",
        "timetable",
        timetable.id,
        f"replaced variant {timetable.code} of {service_label(service)}",
    )
    commit()
    return _timetable_response(timetable)


def _check_fares_still_served(service: Service) -> None:
    db.session.refresh(service)
    served = _served_city_ids(service)
    orphans = [
        f for f in service.fares if f.origin_id not in served or f.destination_id not in served
    ]
    if orphans:
        labels = [f"{f.origin.name}-{f.destination.name}" for f in orphans]
        db.session.rollback()
        raise ApiProblem(
            409,
            f"The service would no longer call where its fares {name_list(labels)} apply; "
            "change or delete those fares first.",
        )


@endpoint(
    "DELETE",
    "/services/{service_id}/timetables/{timetable_id}",
    summary="Delete a timetable variant",
    description="Delete one variant (its calendar stays, for other variants to use).",
    tag="services",
    status=204,
    media_type="none",
    response_text="Deleted.",
    auth=True,
    errors=(409,),
    path_params={"service_id": "the service's id", "timetable_id": "the variant's id"},
)
def delete_timetable(service_id: int, timetable_id: int) -> Response:
    user = require_admin()
    timetable = _timetable_of(service_id, timetable_id)
    service = timetable.service
    code = timetable.code
    db.session.delete(timetable)
    flush()
    _check_fares_still_served(service)
    audit(
        user,
        "delete",
        "timetable",
        timetable_id,
        f"deleted variant {code} of {service_label(service)}",
    )
    commit()
    return no_content()


# --- fares -----------------------------------------------------------------------------------


def _fare_list(service: Service) -> s.FareList:
    service = load_service(service.id)
    fares = sorted(service.fares, key=lambda f: (f.origin.name, f.destination.name))
    return s.FareList(fares=[fare_out(f, service.currency) for f in fares])


@endpoint(
    "GET",
    "/services/{service_id}/fares",
    summary="Fares of a service",
    description="The origin-destination prices that override the leg fares.",
    tag="services",
    response=s.FareList,
    conditional=True,
    path_params={"service_id": "the service's id"},
)
def get_fares(service_id: int) -> Response:
    return conditional_read(lambda: json_response(_fare_list(load_service(service_id))))


@endpoint(
    "PUT",
    "/services/{service_id}/fares",
    summary="Replace the fares of a service",
    description="The list given becomes the service's whole list of origin-destination prices.",
    tag="services",
    response=s.FareList,
    body=s.FaresReplace,
    auth=True,
    path_params={"service_id": "the service's id"},
)
def replace_fares(service_id: int) -> Response:
    user = require_admin()
    service = load_service(service_id)
    data = parse_body(s.FaresReplace)
    built = build_fares(service, data.fares, "fares", CityResolver())
    service.fares.clear()
    flush()
    service.fares.extend(built)
    flush()
    audit(
        user,
        "update",
        "fares",
        service.id,
        f"replaced fares of {service_label(service)} ({len(built)})",
    )
    commit()
    return json_response(_fare_list(service))


@endpoint(
    "POST",
    "/services/{service_id}/fares",
    summary="Add a fare",
    description="Add one origin-destination price (409 when the pair has one already).",
    tag="services",
    status=201,
    response=s.FareOut,
    body=s.FareIn,
    auth=True,
    errors=(409,),
    path_params={"service_id": "the service's id"},
)
def create_fare(service_id: int) -> Response:
    user = require_admin()
    service = load_service(service_id)
    data = parse_body(s.FareIn)
    resolve = CityResolver()
    (fare,) = build_fares(service, [data], "", resolve)
    existing = next(
        (
            f
            for f in service.fares
            if f.origin_id == fare.origin.id and f.destination_id == fare.destination.id
        ),
        None,
    )
    if existing is not None:
        raise ApiProblem(
            409,
            f"There is already a fare from {fare.origin.name} to {fare.destination.name} "
            f"(id {existing.id}); change it with PUT on the fares list.",
        )
    service.fares.append(fare)
    flush()
    audit(
        user,
        "create",
        "fare",
        fare.id,
        f"fare {fare.origin.name}-{fare.destination.name} on {service_label(service)}",
    )
    commit()
    return json_response(fare_out(fare, service.currency), 201)


@endpoint(
    "DELETE",
    "/services/{service_id}/fares/{fare_id}",
    summary="Delete a fare",
    description="Remove one origin-destination price.",
    tag="services",
    status=204,
    media_type="none",
    response_text="Deleted.",
    auth=True,
    path_params={"service_id": "the service's id", "fare_id": "the fare's id"},
)
def delete_fare(service_id: int, fare_id: int) -> Response:
    user = require_admin()
    fare = db.session.get(ServiceFare, fare_id)
    if fare is None or fare.service_id != service_id:
        get_or_404(Service, service_id, "service")
        raise ApiProblem(404, f"Service {service_id} has no fare {fare_id}.")
    db.session.delete(fare)
    flush()
    audit(user, "delete", "fare", fare_id, f"deleted fare {fare_id} of service {service_id}")
    commit()
    return no_content()


# --- imports ---------------------------------------------------------------------------------


def _import_errors(problems_found: Sequence[Any]) -> list[dict[str, str]]:
    items = []
    for problem in problems_found[:1000]:
        where = str(problem.file)
        if problem.line is not None:
            where += f", line {problem.line}"
        if problem.field:
            where += f", field {problem.field}"
        items.append(field_error(where, problem.message, "file"))
    return items


def _safe_extract(archive: zipfile.ZipFile, folder: Path) -> None:
    total = 0
    for member in archive.infolist():
        target = (folder / member.filename).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise ApiProblem(422, f"The archive has an unsafe path: {member.filename!r}.")
        total += member.file_size
        if total > MAX_UNZIPPED_BYTES:
            raise ApiProblem(413, "The archive unpacks to more than the server accepts.")
    archive.extractall(folder)


def _unpacked_root(folder: Path) -> Path:
    # A zip of a folder holds that folder: look inside it.
    entries = [p for p in folder.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def _prepare_upload(saved: Path, work: Path, fmt: str | None) -> Path:
    """The path to parse: the file itself, or the folder a zip of a folder unpacks to."""
    from transit.timetable.feed import ImportFailed
    from transit.timetable.formats import detect_format

    if not zipfile.is_zipfile(saved):
        return saved
    if fmt == "gtfs":
        return saved
    if fmt is None:
        try:
            if detect_format(saved) == "gtfs":
                return saved
        except (ImportFailed, ValueError, OSError):
            pass  # not GTFS: perhaps a zip of a classic or CSV folder
    folder = work / "unpacked"
    folder.mkdir()
    try:
        with zipfile.ZipFile(saved) as archive:
            _safe_extract(archive, folder)
    except zipfile.BadZipFile as error:
        raise ApiProblem(422, f"The archive cannot be read: {error}.") from None
    return _unpacked_root(folder)


@endpoint(
    "POST",
    "/imports",
    summary="Import a timetable file",
    description=(
        "Upload a timetable as `multipart/form-data`: a GTFS zip, or a zip of a classic "
        "(Zemdalk, 17BuGs, Nenieco) or CSV bundle folder. With `dry_run=true` nothing is "
        "written and the report tells what would be. A file with problems writes nothing and "
        "answers 422 listing every problem by file, line and field."
    ),
    tag="imports",
    response=s.ImportResult,
    upload=s.ImportForm,
    auth=True,
    errors=(411,),
)
def import_file() -> Response:
    user = require_admin()
    limit = int(current_app.config.get("TRANSIT_API_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))
    if request.content_length is None:
        # Bounded before any parsing: a stream of unknown length is never read.
        raise ApiProblem(411, "Send the upload with a Content-Length header.")
    if request.content_length > limit:
        raise ApiProblem(413, f"Uploads may have at most {limit} bytes.")
    if not request.mimetype == "multipart/form-data":
        raise ApiProblem(415, "Upload the file as multipart/form-data in a field called 'file'.")
    fields = {k: v for k, v in request.form.items()}
    try:
        form = s.ImportForm.model_validate(fields)
    except ValidationError as error:
        raise ApiProblem(
            422, "Some form fields are invalid.", errors=validation_errors(error, "form")
        ) from None
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiProblem(
            422, "No file was uploaded.", errors=[field_error("file", "a file is required", "form")]
        )
    from transit.timetable.feed import ImportFailed
    from transit.timetable.formats import detect_format, parse_timetable
    from transit.timetable.loader import load_feed

    name = secure_filename(upload.filename) or "upload"
    work = Path(tempfile.mkdtemp(prefix="transit-import-"))
    try:
        saved = work / name
        upload.save(saved)
        if saved.stat().st_size > limit:
            raise ApiProblem(413, f"Uploads may have at most {limit} bytes.")
        path = _prepare_upload(saved, work, form.format)
        try:
            fmt = form.format or detect_format(path)
            feed = parse_timetable(path, fmt, form.encoding)
            report = load_feed(db.session(), feed, dry_run=form.dry_run)
        except ImportFailed as error:
            db.session.rollback()
            raise ApiProblem(
                422,
                f"{upload.filename} has {len(error.problems)} problem"
                f"{'s' if len(error.problems) != 1 else ''}; nothing was written.",
                slug="import-failed",
                errors=_import_errors(error.problems),
            ) from None
        except (ValueError, LookupError, UnicodeError, OSError) as error:
            db.session.rollback()
            raise ApiProblem(
                422,
                f"{upload.filename} cannot be imported: {error}",
                slug="import-failed",
                errors=[field_error("file", str(error), "form")],
            ) from None
        except SQLAlchemyError:
            db.session.rollback()
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if form.dry_run:
        db.session.rollback()
    else:
        audit(user, "import", "feed", None, f"imported {upload.filename} ({fmt}): {report.counts}")
        commit()
    result = s.ImportResult(
        source=upload.filename,
        format=fmt,
        dry_run=form.dry_run,
        committed=not form.dry_run,
        counts=dict(report.counts),
        skipped=list(report.skipped),
        conflicts=list(report.conflicts),
        report=str(report),
    )
    return json_response(result)


# --- routes ----------------------------------------------------------------------------------


# Query fields of transit.routing named as the API's parameters.
_QUERY_FIELDS = {
    "origin": "from",
    "destination": "to",
    "min_connection_minutes": "min_connection",
}


@endpoint(
    "GET",
    "/routes",
    summary="Find routes",
    description=(
        "Itineraries from one city to another, the same as `flask route --json`. Without "
        "`depart` or `arrive_by` the search leaves now. `criterion`: fastest, cheapest, "
        "transfers (fewest), options (the best of each, side by side)."
    ),
    tag="routes",
    response=s.RouteResultOut,
    query=s.RouteQuery,
    conditional=True,
    errors=(422,),
)
def find_routes() -> Response:
    query = parse_query(s.RouteQuery)
    from transit.routing import Query, QueryError, UnknownCity, plan
    from transit.routing.cache import snapshot_for

    depart, arrive_by = query.depart, query.arrive_by
    explicit = depart is not None or arrive_by is not None
    if not explicit:
        # "Now", to the minute: the same answer (and ETag) for a minute.
        depart = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)

    def build() -> Response:
        default_minutes = int(current_app.config.get("TRANSIT_MIN_CONNECTION_MINUTES", 15))
        snapshot = snapshot_for(db.session(), default_minutes)
        try:
            result = plan(
                snapshot,
                Query(
                    origin=query.origin,
                    destination=query.destination,
                    depart=depart,
                    arrive_by=arrive_by,
                    criterion=query.criterion,
                    modes=query.mode_set(),
                    min_connection_minutes=query.min_connection,
                    window_hours=query.window_hours,
                    max_transfers=query.max_transfers,
                ),
            )
        except UnknownCity as error:
            field = "to" if error.name == query.destination else "from"
            raise ApiProblem(
                422,
                f"There is no city called {error.name!r}.",
                errors=[field_error(field, f"no city called {error.name!r}", "query")],
            ) from None
        except QueryError as error:
            field = _QUERY_FIELDS.get(error.field, error.field)
            raise ApiProblem(
                422,
                f"The query cannot be answered: {error.message}.",
                errors=[field_error(field, error.message, "query")],
            ) from None
        body = s.RouteResultOut.model_validate(result.to_json())
        return json_response(body)

    return conditional_read(build, extra=f"depart={depart}", use_last_modified=explicit)


# --- documentation ---------------------------------------------------------------------------


@endpoint(
    "GET",
    "/openapi.json",
    summary="OpenAPI document",
    description="This API described in OpenAPI 3.1.",
    tag="documentation",
    response_text="The OpenAPI 3.1 document.",
)
def openapi_document() -> Response:
    document = openapi.build_document()
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=1), mimetype="application/json"
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@endpoint(
    "GET",
    "/docs",
    summary="API documentation",
    description="A readable page made from the OpenAPI document; works offline.",
    tag="documentation",
    media_type="text/html",
    response_text="The documentation page.",
)
def docs() -> Response:
    html = render_template("api_docs.html", **openapi.docs_context(openapi.build_document()))
    return Response(html, mimetype="text/html")
