"""``GET /api/v1/forecasts``: the stored travel-time and arrival forecasts, per run.

Forecasts are written by ``flask forecast predict`` (transit.forecast.store); this view only
filters and pages them. They change without a timetable change, so the ETag covers them and
Last-Modified is the later of the timetable's change and the newest forecast.
"""

from __future__ import annotations

import datetime as dt

from flask import Response
from sqlalchemy.orm import joinedload

from transit.editing import service_label
from transit.forecast.store import forecasts_state, forecasts_statement, without_stale
from transit.models import Service, ServiceForecast
from transit.web.api import schemas as s
from transit.web.api.problems import ApiProblem, field_error
from transit.web.api.routes import _find_city_param
from transit.web.api.support import (
    conditional_read,
    endpoint,
    page_response,
    paged,
    parse_query,
)
from transit.web.extensions import db


def _iso(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=dt.UTC).isoformat(timespec="seconds")


def forecast_out(row: ServiceForecast) -> s.ForecastOut:
    """One stored forecast as the API shows it."""

    def arrival(minutes: float) -> str:
        return _iso(row.scheduled_arrival + dt.timedelta(minutes=round(minutes)))

    return s.ForecastOut(
        id=row.id,
        service=s.ServiceRef(id=row.service_id, name=service_label(row.service)),
        service_date=row.service_date,
        origin=s.CityRef(id=row.origin.id, name=row.origin.name),
        destination=s.CityRef(id=row.destination.id, name=row.destination.name),
        scheduled_departure=_iso(row.scheduled_departure),
        scheduled_arrival=_iso(row.scheduled_arrival),
        forecast_arrival=arrival(row.delay_p50),
        forecast_arrival_range=[arrival(row.delay_p10), arrival(row.delay_p90)],
        travel_minutes=s.ForecastRange(
            p10=round(row.travel_p10, 1), p50=round(row.travel_p50, 1), p90=round(row.travel_p90, 1)
        ),
        arrival_delay_minutes=s.ForecastRange(
            p10=round(row.delay_p10, 1), p50=round(row.delay_p50, 1), p90=round(row.delay_p90, 1)
        ),
        model=row.model,
        created_at=_iso(row.created_at),
    )


@endpoint(
    "GET",
    "/forecasts",
    summary="List forecasts",
    description=(
        "Forecast travel time and arrival of each run of a service, with its 10-90% range, "
        "as stored by `flask forecast predict`. Filter by `service` (id), `date`, `from`/`to` "
        "(service dates, inclusive) and `city` (runs from or to it); an unknown service or "
        "city is a 422. Empty when no model has been trained: journeys then show the "
        "timetable only. A run whose service has no recorded run before it is not forecast, "
        "and a forecast whose run the timetable no longer has (edited since the forecasts "
        "were made) is left out."
    ),
    tag="forecasts",
    response=s.ForecastPage,
    query=s.ForecastListQuery,
    conditional=True,
    errors=(422,),
)
def list_forecasts() -> Response:
    query = parse_query(s.ForecastListQuery)

    def build() -> Response:
        city_id = _find_city_param(query.city).id if query.city is not None else None
        # An id that names no service is a mistake, not a service without forecasts (an
        # empty list read as "no forecast yet"), as an unknown city is.
        if query.service is not None and db.session.get(Service, query.service) is None:
            raise ApiProblem(
                422, f"There is no service {query.service}.",
                errors=[field_error("service", f"no service with id {query.service}", "query")],
            )
        # Forecasts of runs the timetable no longer has (edited since predict) are left out.
        statement = without_stale(db.session(), forecasts_statement(
            query.service, query.date, query.date_from, query.date_to, city_id
        )).options(
            joinedload(ServiceForecast.service),
            joinedload(ServiceForecast.origin),
            joinedload(ServiceForecast.destination),
        )
        rows, total = paged(statement, query)
        return page_response(s.ForecastPage, [forecast_out(row) for row in rows], total, query)

    forecasts = forecasts_state(db.session())
    return conditional_read(
        build, extra=f"forecasts={forecasts.fingerprint}", also_changed=forecasts.latest
    )
