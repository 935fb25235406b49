"""Pydantic models of the REST API: what requests may carry and what responses contain.

The input models (cities, calendars, timetables, fares, services) and the time and calendar
helpers live in ``transit.schemas``, shared with the admin pages and ``transit.editing``; they
are re-exported here so the API's views and its OpenAPI document see one module. The same
models validate input and produce the OpenAPI document's schemas, so the two never drift.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from transit.models import Mode
from transit.routing.query import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_MIN_CONNECTION_MINUTES,
    MAX_TRANSFERS,
    MAX_WINDOW_HOURS,
)
from transit.schemas import (  # noqa: F401  (re-exported: the API's input models)
    MAX_ID,
    MAX_SECONDS,
    WEEKDAY_NAMES,
    CalendarCreate,
    CalendarUpdate,
    Cents,
    CityCode,
    CityCreate,
    CityRefIn,
    CityUpdate,
    Currency,
    Date,
    FareIn,
    FaresReplace,
    Latitude,
    Longitude,
    Name,
    OptionalText,
    ServiceCreate,
    ServiceCurrency,
    ServiceUpdate,
    StopIn,
    TimetableCreate,
    TimeValue,
    TimeZone,
    Weekday,
    _check_calendar,
    _refuse_nul,
    describe_calendar,
    fares_currency_problem,
    fares_without_currency,
    format_time,
    leg_fare_fields,
    parse_time,
    stop_problems,
    weekday_mask,
    weekday_names,
)


class Links(BaseModel):
    self: str


class CityRef(BaseModel):
    id: int
    name: str


class ServiceRef(BaseModel):
    id: int
    name: str = Field(description="mode, number and operator, as the pages name the service")


class CityLinks(Links):
    services: str


class CityOut(BaseModel):
    id: int
    name: str
    code: str | None
    latitude: float | None
    longitude: float | None
    timezone: str
    min_connection_seconds: int | None
    aliases: list[str] = Field(description="other names travellers type for the city")
    service_count: int = Field(description="services with a timetable calling here")
    links: CityLinks


class CalendarOut(BaseModel):
    id: int
    name: str | None
    weekdays: list[Weekday]
    start_date: dt.date | None
    end_date: dt.date | None
    added: list[dt.date]
    removed: list[dt.date]
    description: str = Field(description=(
        "the days of operation in words, as the service page sums them up: the weekdays it "
        "really runs on, from its first run to its last, and only the dates that break that "
        "pattern (lists past 10 dates end 'and N more dates'; added and removed list them all)"
    ))
    timetable_count: int = Field(description="timetable variants running on this calendar")
    links: Links


class StopOut(BaseModel):
    sequence: int
    city: CityRef
    arrival: str | None = Field(description="'HH:MM', '+N' for following days")
    departure: str | None
    arrival_seconds: int | None = Field(description="seconds after the service day's midnight")
    departure_seconds: int | None
    fare_cents: int | None
    boarding: bool
    alighting: bool


class TimetableOut(BaseModel):
    id: int
    code: str
    headsign: str | None
    calendar: CalendarOut
    stops: list[StopOut]
    links: Links


class FareOut(BaseModel):
    id: int
    origin: CityRef
    destination: CityRef
    fare_cents: int
    fare: float = Field(description="in currency units")
    currency: str


class FareList(BaseModel):
    fares: list[FareOut]


class ServiceLinks(Links):
    timetables: str
    fares: str


class ServiceSummary(BaseModel):
    id: int
    number: str
    mode: Mode
    operator: str
    route: str
    name: str | None
    currency: str
    origin: CityRef | None = Field(description="first stop of the first timetable variant")
    destination: CityRef | None = Field(description="last stop of the first timetable variant")
    timetable_count: int
    links: ServiceLinks


class ServiceDetail(ServiceSummary):
    timetables: list[TimetableOut]
    fares: list[FareOut]


# --- pages ----------------------------------------------------------------------------------


class PageLinks(BaseModel):
    self: str
    first: str
    next: str | None = Field(description="the following page; null on the last page")
    prev: str | None = Field(
        description="the page before; null on the first page, the last page when past the end"
    )


class _Page(BaseModel):
    total: int = Field(description="items matching the filters, on all pages")
    limit: int
    offset: int
    links: PageLinks


class CityPage(_Page):
    items: list[CityOut]


class ServicePage(_Page):
    items: list[ServiceSummary]


class CalendarPage(_Page):
    items: list[CalendarOut]


class TimetablePage(_Page):
    items: list[TimetableOut]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    _no_nul = model_validator(mode="before")(_refuse_nul)


class PageQuery(_Query):
    limit: int = Field(default=50, ge=1, le=500, description="items per page")
    offset: int = Field(default=0, ge=0, le=10_000_000, description="items to skip")


def _mode_in_any_case(value: object) -> object:
    """Modes are matched in any case, as the route search's `modes` are."""
    return value.strip().lower() if isinstance(value, str) else value


class CityListQuery(PageQuery):
    q: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="part of the name or code (any case), or of a Chinese name's pinyin"
    )
    mode: Mode | None = Field(default=None, description="only cities served by this mode")
    _mode_case = field_validator("mode", mode="before")(_mode_in_any_case)
    operator: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="only cities served by this operator (exact name)"
    )


class ServiceListQuery(PageQuery):
    q: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="part of the number, name or operator (any case)"
    )
    number: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="exact service number"
    )
    mode: Mode | None = None
    _mode_case = field_validator("mode", mode="before")(_mode_in_any_case)
    operator: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="exact operator name"
    )
    city: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="only services calling at this city (name, code or id)"
    )


class CalendarListQuery(PageQuery):
    pass


class TimetableListQuery(PageQuery):
    pass


class CascadeQuery(_Query):
    cascade: bool = Field(
        default=False, description="also delete the services that call at the city"
    )


# --- routes ---------------------------------------------------------------------------------

Criterion = Literal["fastest", "cheapest", "transfers", "options"]


_DATE_TIME_TEXT = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


class RouteQuery(_Query):
    """A route consultation: the same parameters as ``flask route``."""

    origin: Name = Field(alias="from", description="origin city name")
    destination: Name = Field(alias="to", description="destination city name")
    depart: dt.datetime | None = Field(
        default=None,
        description="leave at or after (ISO 8601; without offset: local time of the origin)",
    )
    arrive_by: dt.datetime | None = Field(
        default=None,
        description="arrive at or before (ISO 8601; without offset: local time of the destination)",
    )
    criterion: Criterion = "fastest"
    modes: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="comma-separated modes, e.g. 'train,flight'; default all"
    )
    min_connection: int | None = Field(
        default=None, ge=0, le=MAX_MIN_CONNECTION_MINUTES, description="minimum connection time in minutes"
    )
    window_hours: float = Field(
        default=48,
        gt=0,
        le=MAX_WINDOW_HOURS,
        allow_inf_nan=False,
        description="how far ahead (or back, with arrive_by) to search",
    )
    max_transfers: int | None = Field(default=None, ge=0, le=MAX_TRANSFERS)

    @field_validator("depart", "arrive_by", mode="before")
    @classmethod
    def _written_as_a_time(cls, value: Any) -> Any:
        # Pydantic reads a number (or text of digits) as seconds since 1970: depart=0 asked
        # for journeys on 1 Jan 1970 and answered "no service" instead of saying what is wrong.
        if value is None or isinstance(value, dt.datetime) or (
                isinstance(value, str) and _DATE_TIME_TEXT.match(value)):
            return value
        # Pydantic's own error type: the API says what a time looks like (api.problems).
        raise PydanticCustomError("datetime_parsing", "not a date and time")

    @field_validator("depart", "arrive_by")
    @classmethod
    def _years(cls, value: dt.datetime | None) -> dt.datetime | None:
        # As the router: times far outside these years have no UTC equivalent (a 500 once).
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(f"must fall in the years {FIRST_YEAR} to {LAST_YEAR}")
        return value

    @field_validator("modes")
    @classmethod
    def _modes(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [m.strip().lower() for m in value.split(",") if m.strip()]
        unknown = [m for m in names if m not in {mode.value for mode in Mode}]
        if unknown or not names:
            raise ValueError(
                f"unknown mode {', '.join(unknown) or '(empty)'}; use "
                + ", ".join(m.value for m in Mode)
            )
        return ",".join(names)

    @model_validator(mode="after")
    def _check(self) -> RouteQuery:
        if self.depart is not None and self.arrive_by is not None:
            raise ValueError("give depart or arrive_by, not both")
        # The same city under two spellings (PEK and Beijing) is the planner's to find: it
        # answers 422 on `to` for both, as for any other query it cannot answer.
        return self

    def mode_set(self) -> frozenset[str] | None:
        return frozenset(self.modes.split(",")) if self.modes else None


class LegOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    service: str
    mode: str
    origin: str = Field(alias="from")
    destination: str = Field(alias="to")
    departure: str = Field(description="ISO 8601 with UTC offset")
    arrival: str
    fare: float = Field(description="in currency units")
    currency: str | None = Field(
        default=None,
        description="ISO 4217 code of the fare; null for a walk and where the service has no "
        "fares (its fare, 0, is then not known, not free)",
    )
    route: str | None = Field(
        default=None,
        description="the line riders know the service by (GTFS route_short_name, e.g. "
        "\"2\" or \"522\"); null where the service has none",
    )
    forecast_arrival: str | None = Field(
        default=None, description="forecast arrival (ISO 8601); null without a stored forecast"
    )
    forecast_range: list[str] | None = Field(
        default=None, description="10% and 90% forecast arrivals (ISO 8601)"
    )


class ConnectionOut(BaseModel):
    at: str = Field(description="the city where the transfer is made")
    slack_minutes: int = Field(description="the wait less the minimum connection time")
    miss_probability: float | None = Field(
        default=None, ge=0, le=1,
        description="chance the incoming leg arrives more than the slack late; null without "
        "a forecast",
    )


class ItineraryOut(BaseModel):
    departure: str
    arrival: str
    duration_minutes: int
    fare: float = Field(description="in currency units, all legs together")
    currency: str | None = Field(
        default=None,
        description="ISO 4217 code of the fare: its rides' one; null where the fare is not one "
        "known amount: a ride has no fare information (counted as 0 in the fare) or the rides' "
        "currencies differ (the fare then adds amounts in different currencies)",
    )
    transfers: int
    legs: list[LegOut]
    connections: list[ConnectionOut] = Field(
        default_factory=list, description="one per transfer, in order"
    )


class RouteResultOut(BaseModel):
    itineraries: list[ItineraryOut]
    message: str = Field(description="in plain words, e.g. why there is no route")


# --- forecasts ------------------------------------------------------------------------------


class ForecastListQuery(PageQuery):
    service: int | None = Field(default=None, ge=1, le=MAX_ID, description="service id")
    date: Date | None = Field(default=None, description="service date (YYYY-MM-DD)")
    date_from: Date | None = Field(
        default=None, alias="from", description="first service date (YYYY-MM-DD)"
    )
    date_to: Date | None = Field(
        default=None, alias="to", description="last service date (YYYY-MM-DD)"
    )
    city: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="runs from or to this city (name, code or id)"
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> ForecastListQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("to: from is after to")
        return self


class ForecastRange(BaseModel):
    p10: float
    p50: float
    p90: float


class ForecastOut(BaseModel):
    id: int
    service: ServiceRef = Field(description="the service: id and name (mode, number, operator)")
    service_date: dt.date
    origin: CityRef
    destination: CityRef
    scheduled_departure: str = Field(description="ISO 8601, UTC")
    scheduled_arrival: str = Field(description="ISO 8601, UTC")
    forecast_arrival: str = Field(description="scheduled arrival plus the median delay (UTC)")
    forecast_arrival_range: list[str] = Field(description="10% and 90% arrivals (UTC)")
    travel_minutes: ForecastRange = Field(description="door-to-door minutes, 10/50/90%")
    arrival_delay_minutes: ForecastRange = Field(description="arrival delay, 10/50/90%")
    model: str
    created_at: str = Field(description="when the forecast was stored (ISO 8601, UTC)")


class ForecastPage(_Page):
    items: list[ForecastOut]


# --- imports --------------------------------------------------------------------------------

ImportFormat = Literal["gtfs", "zemdalk", "17bugs", "nenieco", "csv"]


class ImportForm(_Query):
    """Form fields sent with the uploaded file."""

    format: ImportFormat | None = Field(default=None, description="detected when left out")
    encoding: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="text encoding of the classic formats; detected when left out"
    )
    dry_run: bool = Field(default=False, description="check and report, write nothing")


class ImportResult(BaseModel):
    source: str
    format: str
    dry_run: bool
    committed: bool
    counts: dict[str, Any]
    skipped: list[str]
    conflicts: list[str]
    report: str


# --- problems -------------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="the field, parameter or file position at fault")
    location: Literal["body", "query", "path", "header", "form", "file"]
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
