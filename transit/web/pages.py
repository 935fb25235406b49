"""Public pages: the route query, city list, city departure boards, service timetables.

Thin: read the request, ask ``timetable_views``/``journey_views`` and the routing engine,
render a template. Bad input gets a page that says what is wrong, never a 500.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from transit.models import MODE_VALUES, City, Service, Timetable, zone_named
from transit.names import latin_name
from transit.routing.query import FIRST_YEAR, LAST_YEAR
from transit.schemas import MAX_ID
from transit.web import journey_views as jv
from transit.web import timetable_views as tv
from transit.web.calendar_export import calendar_file, journey_key, leg_details, leg_title
from transit.web.directory import city_directory, once_per_data_version
from transit.web.extensions import db, log_schema_problem
from transit.web.i18n import (
    day_mark,
    gettext,
    mode_label,
    money,
    query_with,
    quoted_or_list,
    url_with,
)
from transit.web.ids import whole_number
from transit.web.options_chart import NARROW, WIDE, options_chart

if TYPE_CHECKING:
    from transit.routing import Query, RouteResult, Snapshot

bp = Blueprint("pages", __name__)

# Below this many cities the suggestion list is written into the page (works without
# JavaScript); above it the browser asks /cities/suggest as the traveller types.
INLINE_SUGGESTIONS = 600


def _session() -> Session:
    """The request's session itself (the view helpers take a plain ``Session``)."""
    return db.session()


def _now(zone_name: str | None) -> dt.datetime:
    zone = zone_name or tv.usual_timezone(_session())
    return dt.datetime.now(zone_named(zone)).replace(microsecond=0)


def _find_city(text: str) -> tuple[str, str] | None:
    """A city's name and zone by what a traveller typed, as ``routing.Snapshot.find_city``."""
    cities = city_directory()
    found = cities.lookup.find(text)
    return None if found is None else (cities.names[found], cities.zones[found])


def _close_cities(text: str) -> str:
    """The cities spelt much like ``text`` (by name, code or pinyin), as “A” or “B”."""
    from transit.routing.query import close_names

    cities = city_directory()
    spellings = {key: cities.names[i] for key, i in cities.lookup.spellings().items()}
    return quoted_or_list(close_names(text, spellings))


def _same_name(text: str) -> list[str]:
    """The stations called ``text`` with their stop id appended (``125 St (116)``), or the
    cities that share it as their pinyin (苏州 and 宿州: "Suzhou")."""
    from transit.routing.planner import same_name_cities

    cities = city_directory()
    return same_name_cities(cities.names, text) or [
        cities.names[i] for i in cities.lookup.spelt_alike(text)
    ]


@dataclass(frozen=True)
class NetworkFacts:
    """What every form shows about the network, read once per data version."""

    modes: list[str]
    # (name, what else it goes by: code, pinyin and other names, "PEK · Beijing · Peking"),
    # for the city boxes'
    # list; empty when too many to carry in the page
    city_names: list[tuple[str, str]]
    currency: str


def network_facts() -> NetworkFacts:
    """Modes, suggestion names and usual currency, cached until the timetable changes."""
    return once_per_data_version("facts", _read_network_facts)


def _read_network_facts() -> NetworkFacts:
    cities = city_directory()
    names = sorted(
        (name, " · ".join(part for part in (code, latin_name(name), *others) if part))
        for name, code, others in zip(cities.names, cities.codes, cities.aliases,
                                      strict=True)
    ) if len(cities.names) <= INLINE_SUGGESTIONS else []
    # Services without fares have no currency: they say nothing about the usual one.
    row = db.session.execute(
        select(Service.currency, func.count())
        .where(Service.currency != "")
        .group_by(Service.currency)
        .order_by(func.count().desc())
    ).first()
    return NetworkFacts(tv.modes_in_use(_session()), names, row[0] if row else "CNY")


def _error_text(error: jv.Message) -> str:
    msgid, params = error
    return gettext(msgid, **params)


def _parse_day(raw: str | None, zone_name: str | None) -> dt.date:
    if not raw:
        return dt.datetime.now(zone_named(zone_name)).date()
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        abort(400, description=gettext("The date must be written as YYYY-MM-DD."))
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        # As route queries: boards far out cannot even be computed (year 1 was a 500).
        abort(400, description=gettext("Enter a date in the years %(low)d to %(high)d.",
                                       low=FIRST_YEAR, high=LAST_YEAR))
    return day


def _parse_page(raw: str | None) -> int:
    if not raw:
        return 1
    try:
        page = int(raw)
    except ValueError:
        abort(400, description=gettext("The page must be a whole number."))
    if page < 1:
        abort(400, description=gettext("The page must be a whole number."))
    return page


def _parse_mode(raw: str | None) -> str | None:
    """A mode filter: any mode Transit knows (one no service here uses just finds nothing)."""
    if not raw:
        return None
    mode = raw.strip().lower()  # as the route form reads it: "TRAIN" is train
    if mode not in MODE_VALUES:
        abort(400, description=gettext("Unknown mode: %(mode)s.", mode=raw))
    return mode


# --- Route query --------------------------------------------------------------------------


def _form_context(form: jv.RouteForm, facts: NetworkFacts) -> dict[str, Any]:
    return {
        "form": form,
        "modes": facts.modes,
        "criteria": jv.CRITERIA,
        "errors": {name: _error_text(e) for name, e in form.errors.items()},
        "city_names": facts.city_names,
    }


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for this path on pages without an icon link (JSON answers, say)."""
    return current_app.send_static_file("favicon.svg")


@bp.get("/")
def index() -> str:
    facts = network_facts()
    form = jv.default_form(facts.modes)
    return render_template("index.html", **_form_context(form, facts))


def _route_form(facts: NetworkFacts) -> jv.RouteForm:
    return jv.parse_route_form(
        request.args,
        request.args.getlist,
        known_modes=facts.modes,
        find_city=_find_city,
        now=_now,
        same_name=_same_name,
        close_cities=_close_cities,
    )


@bp.get("/routes")
def routes() -> tuple[str, int] | str:
    if not request.args or set(request.args) == {"lang"}:
        return index()  # nothing asked yet: the empty form, not a page of errors
    facts = network_facts()
    form = _route_form(facts)
    context = _form_context(form, facts)
    if form.errors:
        return render_template("routes.html", **context, searched=False), 400
    answer = _plan(form, facts)
    if isinstance(answer, tuple):
        name, text = answer
        context["errors"][name] = text
        return render_template("routes.html", **context, searched=False), 400
    return render_template("routes.html", **context, searched=True, **_show(form, answer))


@dataclass
class _Answer:
    cards: list[jv.ItineraryCard]
    message: str
    snapshot: Snapshot
    query: Query
    result: RouteResult


def _plan(form: jv.RouteForm, facts: NetworkFacts) -> _Answer | tuple[str, str]:
    """Ask the routing engine: its result as cards, or its refusal as (field, error)."""
    from transit import routing
    from transit.routing.cache import snapshot_for
    from transit.routing.planner import AmbiguousCity

    default_minutes = int(current_app.config.get("TRANSIT_MIN_CONNECTION_MINUTES", 15))
    snapshot = snapshot_for(_session(), default_minutes)
    try:
        query = routing.Query(
            **form.query_kwargs(), not_before=dt.datetime.now(dt.UTC).replace(microsecond=0)
        )
        result = routing.plan(snapshot, query)
    except AmbiguousCity as error:
        field = "to" if error.name == form.destination else "from"
        return field, gettext(jv.AMBIGUOUS, name=jv.shorten(error.name),
                              names=", ".join(error.candidates))
    except routing.UnknownCity as error:
        field = "to" if error.name == form.destination else "from"
        if error.close:
            return field, gettext(jv.DID_YOU_MEAN, name=jv.shorten(error.name),
                                  names=quoted_or_list(error.close))
        return field, gettext("No city called “%(name)s”.", name=jv.shorten(error.name))
    except routing.QueryError as error:
        return _QUERY_FIELDS.get(error.field, "from"), error.message
    from transit.forecast.itinerary import result_json

    # The slack of each connection counts from what the engine required there.
    data = result_json(_session(), result, snapshot, form.min_connection_minutes)
    links = _leg_links(result.itineraries)
    assert form.when is not None
    cards = jv.itinerary_cards(
        data,
        form.when.date(),
        links=links,
        default_currency=facts.currency,
        compare=form.criterion == "options",
        arrive_by=form.time_kind == "arrive_by",
        zones={name: snapshot.city_zone[snapshot.city_index[name]]
               for it in result.itineraries for leg in it.legs
               for name in (leg.origin, leg.destination)},
    )
    return _Answer(cards, _reason_text(result.reason), snapshot, query, result)


def _show(form: jv.RouteForm, answer: _Answer) -> dict[str, Any]:
    """What the results page draws beside the cards: maps, the options chart, the links to
    earlier and later journeys and to each journey's calendar file."""
    cards = answer.cards
    places = _places({n for card in cards for leg in card.legs for n in (leg.origin, leg.destination)})
    maps = [
        tv.journey_map(
            places, [(leg.origin, leg.destination, leg.mode, leg.service) for leg in card.legs]
        )
        for card in cards
    ]
    assert form.when is not None
    charts = []
    if form.criterion == "options" and len(cards) > 1:
        currency = cards[0].currency
        charts = [
            options_chart(cards, form.when.date(), lambda v: money(v, currency, whole=True), day_mark,
                          arrive_by=form.time_kind == "arrive_by", width=width, height=height)
            for width, height in (WIDE, NARROW)
        ]
    # The calendar link asks again at the very instant this answer was asked for (a form
    # left empty meant "now"), and names the journey by its legs as well as its place.
    moment = {"arrive_by" if form.time_kind == "arrive_by" else "depart": form.when.isoformat()}
    pinned = {"date": None, "time": None, "time_kind": None, "depart": None, "arrive_by": None,
              "sort": None, **moment}
    calendar_links = [
        url_for("pages.journey_calendar") + "?"
        + query_with(**pinned, journey=str(i + 1), legs=journey_key(card))
        for i, card in enumerate(cards)
    ]
    sort = request.args.get("sort") if form.criterion == "options" else None
    return {
        "cards": cards,
        "order": jv.card_order(cards, sort),
        "sort": sort if sort in jv.SORTS else None,
        "sorts": list(jv.SORTS) if form.criterion == "options" and len(cards) > 1 else [],
        "maps": maps,
        "options_charts": charts,
        "calendar_links": calendar_links,
        "message": answer.message,
        "around": _around(answer.snapshot, answer.query, answer.result, form.time_kind),
    }


@bp.get("/routes/calendar.ics")
def journey_calendar() -> Response | tuple[str, int, dict[str, str]]:
    """One journey of a route answer as an iCalendar file: an event per leg."""
    facts = network_facts()
    form = _route_form(facts)
    plain = {"Content-Type": "text/plain; charset=utf-8"}
    if form.errors:
        return "\n".join(_error_text(e) for e in form.errors.values()) + "\n", 400, plain
    answer = _plan(form, facts)
    if isinstance(answer, tuple):
        return answer[1] + "\n", 400, plain
    number = whole_number(request.args.get("journey", ""))
    card = (answer.cards[number - 1]
            if number is not None and 1 <= number <= len(answer.cards) else None)
    if card is None or journey_key(card) != request.args.get("legs", journey_key(card)):
        return gettext("This journey is no longer among the answers: the timetable has "
                       "changed or its departure has passed. Search again.") + "\n", 404, plain
    body = calendar_file(
        card,
        title=leg_title,
        details=lambda leg: leg_details(card, leg),
        name=gettext("%(origin)s → %(destination)s", origin=form.origin,
                     destination=form.destination),
        now=dt.datetime.now(dt.UTC),
    )
    filename = f"journey-{card.departure.strftime('%Y%m%d-%H%M')}.ics"
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _around(
    snapshot: Snapshot, query: Query, result: RouteResult, time_kind: str
) -> dict[str, tuple[str, dt.datetime]]:
    """The same search for the journey before and the one after those shown: link and time
    (departure, or arrival when arriving by), for the names that have one."""
    from transit.routing.neighbours import neighbours

    links: dict[str, tuple[str, dt.datetime]] = {}
    for name, when in zip(("earlier", "later"), neighbours(snapshot, query, result), strict=True):
        if when is not None:
            links[name] = (
                url_with(depart=None, arrive_by=None, time_kind=time_kind,
                         date=when.date().isoformat(), time=when.strftime("%H:%M")),
                when,
            )
    return links


def _reason_text(reason: tuple[str, dict[str, Any]] | None) -> str:
    """Why nothing was found, in the page's language (the engine's text is English)."""
    if reason is None:
        return ""
    template, values = reason
    shown = {
        # Mid-sentence: "uses only train", not "Train" (Chinese has no case to lower).
        name: ", ".join(mode_label(mode).lower() for mode in value) if name == "modes" else value
        for name, value in values.items()
    }
    return str(gettext(template, **shown))


_QUERY_FIELDS = {
    "origin": "from",
    "destination": "to",
    "depart": "time",
    "arrive_by": "time",
    "criterion": "criterion",
    "modes": "modes",
    "min_connection_minutes": "min_connection",
    "window_hours": "window_hours",
    "max_transfers": "max_transfers",
}


def _leg_links(itineraries: list[Any]) -> list[list[jv.LegLink]]:
    """Service and timetable ids for every leg, found in one query.

    A leg names its service by operator and number and its variant by code, as travellers
    and the snapshot know them.
    """
    numbers = {leg.service for itinerary in itineraries for leg in itinerary.legs}
    found: dict[tuple[str, str, str], tuple[int | None, int | None]] = {}
    if numbers:
        rows = db.session.execute(
            select(Service.operator, Service.number, Timetable.code, Service.id, Timetable.id)
            .join(Timetable, Timetable.service_id == Service.id)
            .where(Service.number.in_(sorted(numbers)))
        )
        for operator, number, code, service_id, timetable_id in rows:
            found.setdefault((operator, number, code), (service_id, timetable_id))
    links = []
    for itinerary in itineraries:
        row = []
        for leg in itinerary.legs:
            sid, tid = found.get((leg.operator, leg.service, leg.timetable), (None, None))
            # "" for a service without fares (Snapshot.service_currency): no fare information.
            row.append(jv.LegLink(sid, tid, leg.currency))
        links.append(row)
    return links


def _places(names: set[str]) -> dict[str, tuple[float, float]]:
    places = city_directory().places
    return {name: places[name] for name in names if name in places}


# --- Cities -------------------------------------------------------------------------------


@bp.get("/cities")
def cities() -> str:
    modes = network_facts().modes
    zones = tv.timezones_in_use(_session())
    mode = _parse_mode(request.args.get("mode"))
    zone = request.args.get("timezone") or None
    if zone is not None and zone not in zones:
        abort(400, description=gettext("Unknown time zone: %(zone)s.", zone=zone))
    search = request.args.get("q", "")
    directory = city_directory()
    listing = tv.city_list(
        _session(),
        search=search,
        mode=mode,
        timezone=zone,
        page=_parse_page(request.args.get("page")),
        also_named=[directory.names[i] for i in directory.lookup.containing(search)],
    )
    return render_template(
        "cities.html", listing=listing, modes=modes, zones=zones, mode=mode, zone=zone,
        q=request.args.get("q", ""),
    )


SUGGESTIONS = 15  # names offered under a city box


@bp.get("/cities/suggest")
def suggest() -> Response:
    """City names matching what the traveller typed, for the origin/destination boxes: by
    name or code, then by pinyin ("bei" suggests 北京)."""
    typed = request.args.get("q", "")
    names = tv.suggest_cities(_session(), typed, SUGGESTIONS)
    if len(names) < SUGGESTIONS:
        cities = city_directory()
        spelt = [cities.names[i] for i in cities.lookup.starting_with(typed, SUGGESTIONS)]
        names += [name for name in spelt if name not in names][: SUGGESTIONS - len(names)]
    return jsonify(names)


@bp.get("/cities/<int:city_id>")
def city(city_id: int) -> str:
    place = db.session.get(City, city_id)
    if place is None:
        abort(404)
    day = _parse_day(request.args.get("date"), place.timezone)
    modes = tv.modes_at_city(_session(), city_id)
    mode = _parse_mode(request.args.get("mode"))
    chosen = [mode] if mode else None
    departures = tv.city_board(_session(), city_id, day, "departures", chosen)
    arrivals = tv.city_board(_session(), city_id, day, "arrivals", chosen)
    return render_template(
        "city.html",
        city=place,
        day=day,
        # No link to a day outside the years a board answers for (it would be a 400).
        previous_day=day - dt.timedelta(days=1) if day > dt.date(FIRST_YEAR, 1, 1) else None,
        next_day=day + dt.timedelta(days=1) if day < dt.date(LAST_YEAR, 12, 31) else None,
        modes=modes,
        mode=mode,
        departures=departures,
        arrivals=arrivals,
    )


# --- Services -----------------------------------------------------------------------------

VARIANTS_PER_PAGE = 20


@bp.get("/services/<int:service_id>")
def service(service_id: int) -> str:
    page = _parse_page(request.args.get("page"))
    raw = request.args.get("variant")
    focus = None
    if raw:
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        if not (raw.isascii() and raw.isdigit()):
            abort(400, description=gettext("The timetable variant must be a number."))
        # A number above the largest id (ten digits at most) names no row: 0, as in URLs.
        # The database could not even compare it (an OverflowError on SQLite), nor int()
        # read one of thousands of digits.
        focus = int(raw) if len(raw) <= 10 and int(raw) <= MAX_ID else 0
        # Open the page that holds the variant a board or a result linked to.
        before = db.session.scalar(
            select(func.count())
            .select_from(Timetable)
            .where(Timetable.service_id == service_id, Timetable.id < focus)
        ) or 0
        page = before // VARIANTS_PER_PAGE + 1
    view = tv.service_view(_session(), service_id, page=page, per_page=VARIANTS_PER_PAGE)
    if view is None:
        abort(404)
    from transit.web.forecast_views import service_chart

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    chart = service_chart(_session(), service_id, now)
    return render_template(
        "service.html", view=view, service=view.service, focus=focus, chart=chart
    )


# --- Errors -------------------------------------------------------------------------------


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response | tuple[str, int]:
    """Friendly pages for browsers; RFC 9457 problem details under /api/."""
    code = error.code or 500
    if request.path.startswith("/api/"):
        response = jsonify(
            {"type": "about:blank", "title": error.name, "status": code, "detail": error.description}
        )
        response.status_code = code
        response.content_type = "application/problem+json"
        return response
    return render_template("error.html", code=code, error=error), code


@bp.app_errorhandler(500)
def server_error(error: Exception) -> tuple[str, int]:
    db.session.rollback()
    log_schema_problem(getattr(error, "original_exception", None))
    return render_template("error.html", code=500, error=None), 500
