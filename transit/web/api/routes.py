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
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.utils import secure_filename

from transit import editing
from transit.db import refresh_statistics
from transit.models import (
    Calendar,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
)
from transit.names import plain
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
    check_if_match,
    commit,
    conditional_read,
    endpoint,
    get_or_404,
    json_response,
    no_content,
    page_response,
    paged,
    parse_body,
    parse_query,
    require_admin,
    service_has_fares,
    written_etag,
)
from transit.web.directory import city_directory
from transit.web.extensions import db

# --- cities ----------------------------------------------------------------------------------


def _cities_statement(query: s.CityListQuery) -> Select[Any]:
    statement = select(City)
    if query.q:
        cities = city_directory()
        statement = statement.where(
            or_(
                City.name.icontains(plain(query.q), autoescape=True),
                City.code.icontains(plain(query.q), autoescape=True),
                # A Chinese name's pinyin ("jing": 北京, 南京), as the city list's search.
                City.name.in_([cities.names[i] for i in cities.lookup.containing(query.q)]),
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
        return page_response(s.CityPage, [city_out(c, counts.get(c.id, 0)) for c in cities], total, query)

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
    writes_resource=True,
    errors=(409,),
)
def create_city() -> Response:
    user = require_admin()
    data = parse_body(s.CityCreate)
    city = editing.create_city(db.session(), data, user=user.username)
    version = commit()
    location = url_for("api.get_city", city_id=city.id)
    return json_response(
        city_out(city, 0), 201, {"Location": location, **written_etag(version, location)}
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
    writes_resource=True,
    if_match=True,
    errors=(409,),
    path_params={"city_id": "the city's id"},
)
def update_city(city_id: int) -> Response:
    user = require_admin()
    city = get_or_404(City, city_id, "city")
    check_if_match(request.path, f"city {city_id}")
    data = parse_body(s.CityUpdate)
    editing.update_city(db.session(), city, data, user=user.username)
    version = commit()
    return json_response(
        city_out(city, service_counts([city.id]).get(city.id, 0)),
        headers=written_etag(version, request.path),
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
    if_match=True,
    errors=(409,),
    path_params={"city_id": "the city's id"},
)
def delete_city(city_id: int) -> Response:
    user = require_admin()
    query = parse_query(s.CascadeQuery)
    city = get_or_404(City, city_id, "city")
    check_if_match(request.path, f"city {city_id}")
    editing.delete_city(db.session(), city, user=user.username, cascade=query.cascade)
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
        return page_response(s.CalendarPage, [calendar_out(c, counts.get(c.id, 0)) for c in calendars], total, query)

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
    writes_resource=True,
)
def create_calendar() -> Response:
    user = require_admin()
    data = parse_body(s.CalendarCreate)
    calendar = editing.create_calendar(db.session(), data, user=user.username)
    version = commit()
    location = url_for("api.get_calendar", calendar_id=calendar.id)
    return json_response(
        calendar_out(calendar, 0), 201, {"Location": location, **written_etag(version, location)}
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
    writes_resource=True,
    if_match=True,
    path_params={"calendar_id": "the calendar's id"},
)
def update_calendar(calendar_id: int) -> Response:
    user = require_admin()
    calendar = get_or_404(Calendar, calendar_id, "calendar")
    check_if_match(request.path, f"calendar {calendar_id}")
    data = parse_body(s.CalendarUpdate)
    editing.update_calendar(db.session(), calendar, data, user=user.username)
    version = commit()
    return json_response(
        calendar_out(calendar, timetable_counts([calendar.id]).get(calendar.id, 0)),
        headers=written_etag(version, request.path),
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
    if_match=True,
    errors=(409,),
    path_params={"calendar_id": "the calendar's id"},
)
def delete_calendar(calendar_id: int) -> Response:
    user = require_admin()
    calendar = get_or_404(Calendar, calendar_id, "calendar")
    check_if_match(request.path, f"calendar {calendar_id}")
    editing.delete_calendar(db.session(), calendar, user=user.username)
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
    value = plain(value)  # "ＰＥＫ", typed in full-width mode, is PEK
    city = None
    if value.isdigit() and int(value) <= s.MAX_ID:
        city = db.session.get(City, int(value))
    if city is None:
        city = db.session.scalar(select(City).where(City.name == value))
    if city is None:
        city = db.session.scalar(
            select(City).where(func.lower(City.code) == value.lower()).limit(1)
        )
    if city is None:
        city = db.session.scalar(
            select(City).where(func.lower(City.name) == value.lower()).limit(1)
        )
    if city is None:
        # An other name ("Canton"), a Chinese name's pinyin or English name ("Beijing",
        # "Urumqi"), as the routes take.
        cities = city_directory()
        found = cities.lookup.find(value)
        if found is not None:
            city = db.session.scalar(select(City).where(City.name == cities.names[found]))
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
        return page_response(s.ServicePage, service_summaries(services), total, query)

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
    writes_resource=True,
    errors=(409,),
)
def create_service() -> Response:
    user = require_admin()
    data = parse_body(s.ServiceCreate)
    service = editing.create_service(db.session(), data, user=user.username)
    version = commit()
    location = url_for("api.get_service", service_id=service.id)
    return json_response(
        service_detail(load_service(service.id)),
        201,
        {"Location": location, **written_etag(version, location)},
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
    writes_resource=True,
    if_match=True,
    errors=(409,),
    path_params={"service_id": "the service's id"},
)
def update_service(service_id: int) -> Response:
    user = require_admin()
    service = get_or_404(Service, service_id, "service")
    check_if_match(request.path, f"service {service_id}")
    data = parse_body(s.ServiceUpdate)
    if data.currency is not None:
        # The model cannot see the fares: an empty currency only for a service without any.
        problem = s.fares_currency_problem(data.currency, service_has_fares(service.id))
        if problem is not None:
            raise ApiProblem(422, "The body is invalid.", errors=[field_error("currency", problem)])
    editing.update_service(db.session(), service, data, user=user.username)
    version = commit()
    return json_response(
        service_detail(load_service(service.id)), headers=written_etag(version, request.path)
    )


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
    if_match=True,
    path_params={"service_id": "the service's id"},
)
def delete_service(service_id: int) -> Response:
    user = require_admin()
    service = get_or_404(Service, service_id, "service")
    check_if_match(request.path, f"service {service_id}")
    editing.delete_service(db.session(), service, user=user.username)
    commit()
    return no_content()


def _refuse_fares_without_currency(service: Service, fare_fields: list[str]) -> None:
    """422 naming the first fare when fares are given to a service without a currency
    (``transit.schemas.fares_without_currency``: as the admin pages refuse them)."""
    refused = s.fares_without_currency(service.currency, fare_fields)
    if refused:
        raise ApiProblem(422, "The body is invalid.",
                         errors=[field_error(field, message) for field, message in refused])


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


def _timetable_response(
    timetable: Timetable, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    timetable = _timetable_of(timetable.service_id, timetable.id)
    counts = timetable_counts([timetable.calendar_id])
    return json_response(timetable_out(timetable, counts), status, headers)


@endpoint(
    "GET",
    "/services/{service_id}/timetables",
    summary="Timetable variants of a service",
    description="The service's variants (stops with times and fares, days of operation), a page at a time.",
    tag="services",
    response=s.TimetablePage,
    query=s.TimetableListQuery,
    conditional=True,
    path_params={"service_id": "the service's id"},
)
def list_timetables(service_id: int) -> Response:
    query = parse_query(s.TimetableListQuery)

    def build() -> Response:
        get_or_404(Service, service_id, "service")
        statement = (
            select(Timetable)
            .where(Timetable.service_id == service_id)
            .options(
                selectinload(Timetable.stops).joinedload(Stop.city),
                joinedload(Timetable.calendar).selectinload(Calendar.exceptions),
            )
            .order_by(Timetable.id)
        )
        timetables, total = paged(statement, query)
        counts = timetable_counts(t.calendar_id for t in timetables)
        items = [timetable_out(t, counts) for t in timetables]
        return page_response(s.TimetablePage, items, total, query)

    return conditional_read(build)


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
    writes_resource=True,
    errors=(409,),
    path_params={"service_id": "the service's id"},
)
def create_timetable(service_id: int) -> Response:
    user = require_admin()
    service = get_or_404(Service, service_id, "service")
    data = parse_body(s.TimetableCreate)
    _refuse_fares_without_currency(service, s.leg_fare_fields(data))
    timetable = editing.add_timetable(db.session(), service, data, user=user.username)
    version = commit()
    location = url_for("api.get_timetable", service_id=service.id, timetable_id=timetable.id)
    return _timetable_response(
        timetable, 201, {"Location": location, **written_etag(version, location)}
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
    writes_resource=True,
    if_match=True,
    errors=(409,),
    path_params={"service_id": "the service's id", "timetable_id": "the variant's id"},
)
def replace_timetable(service_id: int, timetable_id: int) -> Response:
    user = require_admin()
    timetable = _timetable_of(service_id, timetable_id)
    check_if_match(request.path, f"variant {timetable_id} of service {service_id}")
    data = parse_body(s.TimetableCreate)
    _refuse_fares_without_currency(timetable.service, s.leg_fare_fields(data))
    editing.replace_timetable(db.session(), timetable, data, user=user.username)
    version = commit()
    return _timetable_response(timetable, headers=written_etag(version, request.path))


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
    if_match=True,
    errors=(409,),
    path_params={"service_id": "the service's id", "timetable_id": "the variant's id"},
)
def delete_timetable(service_id: int, timetable_id: int) -> Response:
    user = require_admin()
    timetable = _timetable_of(service_id, timetable_id)
    check_if_match(request.path, f"variant {timetable_id} of service {service_id}")
    editing.delete_timetable(db.session(), timetable, user=user.username)
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
    writes_resource=True,
    if_match=True,
    path_params={"service_id": "the service's id"},
)
def replace_fares(service_id: int) -> Response:
    user = require_admin()
    service = load_service(service_id)
    check_if_match(request.path, f"the fares of service {service_id}")
    data = parse_body(s.FaresReplace)
    _refuse_fares_without_currency(
        service, [f"fares[{index}].fare_cents" for index in range(len(data.fares))])
    editing.replace_fares(db.session(), service, data.fares, user=user.username)
    version = commit()
    return json_response(_fare_list(service), headers=written_etag(version, request.path))


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
    writes_resource=True,
    errors=(409,),
    path_params={"service_id": "the service's id"},
)
def create_fare(service_id: int) -> Response:
    user = require_admin()
    service = load_service(service_id)
    data = parse_body(s.FareIn)
    _refuse_fares_without_currency(service, ["fare_cents"])
    fare = editing.add_fare(db.session(), service, data, user=user.username)
    version = commit()
    location = url_for("api.get_fare", service_id=service_id, fare_id=fare.id)
    return json_response(
        fare_out(fare, service.currency), 201, {"Location": location, **written_etag(version, location)}
    )


def _fare_of(service_id: int, fare_id: int) -> ServiceFare:
    fare = db.session.get(ServiceFare, fare_id)
    if fare is None or fare.service_id != service_id:
        get_or_404(Service, service_id, "service")
        raise ApiProblem(404, f"Service {service_id} has no fare {fare_id}.")
    return fare


@endpoint(
    "GET",
    "/services/{service_id}/fares/{fare_id}",
    summary="One fare",
    description="One origin-destination price of a service (where a new fare's `Location` points).",
    tag="services",
    response=s.FareOut,
    conditional=True,
    path_params={"service_id": "the service's id", "fare_id": "the fare's id"},
)
def get_fare(service_id: int, fare_id: int) -> Response:
    def build() -> Response:
        fare = _fare_of(service_id, fare_id)
        return json_response(fare_out(fare, fare.service.currency))

    return conditional_read(build)


@endpoint(
    "DELETE",
    "/services/{service_id}/fares/{fare_id}",
    summary="Delete a fare",
    description=(
        "Remove one origin-destination price. `If-Match`: the ETag of the fare's GET or of "
        "the service's list of fares."
    ),
    tag="services",
    status=204,
    media_type="none",
    response_text="Deleted.",
    auth=True,
    if_match=True,
    path_params={"service_id": "the service's id", "fare_id": "the fare's id"},
)
def delete_fare(service_id: int, fare_id: int) -> Response:
    user = require_admin()
    fare = _fare_of(service_id, fare_id)
    # The client read the fare in the service's list of fares (whose ETag a 412 gives) or on
    # its own.
    check_if_match(
        url_for("api.get_fares", service_id=service_id),
        f"the fares of service {service_id}",
        request.path,
    )
    editing.delete_fare(db.session(), fare, user=user.username)
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


MAX_SHOWN_NAME = 200


def _shown_name(filename: str) -> str:
    """The upload's name as the answer and the audit log say it: without control or
    invisible characters (a NUL, which PostgreSQL cannot store, a right-to-left override),
    at most MAX_SHOWN_NAME characters."""
    name = "".join(ch for ch in filename if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()) or "upload"
    return name if len(name) <= MAX_SHOWN_NAME else name[: MAX_SHOWN_NAME - 1] + "…"


def _saved_name(filename: str) -> str:
    """A name to save the upload under in its work folder: safe, and short enough for any
    file system (a client's name of 300 characters was an OSError: a 500)."""
    name = Path(filename.replace("\\", "/")).name
    suffixes = [s for s in Path(name).suffixes if s[1:].isascii() and s[1:].isalnum()]
    suffix = "".join(suffixes)[-20:] if name.endswith("".join(suffixes)) else ""
    stem = secure_filename(name[: len(name) - len(suffix)] if suffix else name)
    return (stem[:100] or "upload") + suffix


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
    # One file and each field once: a second one was left unread without a word.
    repeated = [key for key in (*request.form, *request.files)
                if len(request.form.getlist(key)) + len(request.files.getlist(key)) > 1]
    if repeated:
        raise ApiProblem(422, "Send one file, and each form field once.", errors=[
            field_error(key, "given more than once", "form") for key in dict.fromkeys(repeated)])
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

    shown = _shown_name(upload.filename)
    name = _saved_name(upload.filename)
    work = Path(tempfile.mkdtemp(prefix="transit-import-"))
    try:
        saved = work / name
        upload.save(saved)
        if saved.stat().st_size > limit:
            raise ApiProblem(413, f"Uploads may have at most {limit} bytes.")
        try:
            outcome = editing.import_timetable(
                db.session(),
                saved,
                work,
                fmt=form.format,
                encoding=form.encoding,
                dry_run=form.dry_run,
                max_unzipped=MAX_UNZIPPED_BYTES,
            )
        except ImportFailed as error:
            db.session.rollback()
            advice = {
                "unknown_format": " Name it in the `format` field.",
                # The API has no history upload: the admin pages and the command line do.
                "trip_history": " Import trip histories on the admin's Trip history page or "
                                "with `flask history import`.",
            }.get(error.kind, "")
            raise ApiProblem(
                422,
                f"{shown} has {len(error.problems)} problem"
                f"{'s' if len(error.problems) != 1 else ''}; nothing was written.{advice}",
                slug="import-failed",
                errors=_import_errors(error.problems),
            ) from None
        except (ValueError, LookupError, UnicodeError, OSError) as error:
            db.session.rollback()
            raise ApiProblem(
                422,
                f"{shown} cannot be imported: {error}",
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
        editing.audit(
            db.session(),
            user.username,
            "import",
            "feed",
            None,
            editing.import_words(shown, outcome.format, outcome.counts),
        )
        commit()
        refresh_statistics(db.session())
    result = s.ImportResult(
        source=shown,
        format=outcome.format,
        dry_run=form.dry_run,
        committed=not form.dry_run,
        counts=outcome.counts,
        skipped=outcome.skipped,
        conflicts=outcome.conflicts,
        report=outcome.report,
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
    from transit.routing.planner import AmbiguousCity

    depart, arrive_by = query.depart, query.arrive_by
    explicit = depart is not None or arrive_by is not None
    # "Now", to the minute: the same answer (and ETag) for a minute. An arrive-by search
    # proposes nothing that has already left, so its answer moves with the clock too.
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    if not explicit:
        depart = now

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
                    not_before=now,
                ),
            )
        except AmbiguousCity as error:
            field = "to" if error.name == query.destination else "from"
            names = ", ".join(repr(name) for name in error.candidates)
            raise ApiProblem(
                422,
                f"{error.name!r} is ambiguous: several stations have that name ({names}).",
                errors=[field_error(
                    field, f"{error.name!r} is ambiguous: one of {names}", "query"
                )],
            ) from None
        except UnknownCity as error:
            field = "to" if error.name == query.destination else "from"
            raise ApiProblem(
                422,
                f"There is {error.words}" + ("" if error.close else "."),
                errors=[field_error(field, error.words, "query")],
            ) from None
        except QueryError as error:
            field = _QUERY_FIELDS.get(error.field, error.field)
            raise ApiProblem(
                422,
                f"The query cannot be answered: {error.message}.",
                errors=[field_error(field, error.message, "query")],
            ) from None
        from transit.forecast.itinerary import result_json

        body = s.RouteResultOut.model_validate(
            result_json(db.session(), result, snapshot, query.min_connection)
        )
        return json_response(body)

    from transit.forecast.store import forecasts_state

    # Stored forecasts change without a timetable change: they count in both validators.
    forecasts = forecasts_state(db.session())
    return conditional_read(
        build,
        extra=f"depart={depart}|not_before={now if arrive_by else None}"
        f"|forecasts={forecasts.fingerprint}",
        use_last_modified=explicit and arrive_by is None,
        also_changed=forecasts.latest,
    )


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
