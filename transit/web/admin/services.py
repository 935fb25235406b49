"""Admin: services (list with filters, create, edit, duplicate, delete), their timetable
variants (stops editor, days of operation) and recording a run's actual times.

The forms are turned into the input models of ``transit.schemas`` and handed to
``transit.editing``, the same checks the REST API makes. A rejected form is shown again with
what was typed and a message beside each field at fault.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload
from werkzeug.wrappers import Response

from transit import editing
from transit import schemas as s
from transit.models import MODE_VALUES, Calendar, City, Service, ServiceFare, Stop, Timetable
from transit.web.admin.common import (
    bp,
    changed_meanwhile,
    columns,
    edit_messages,
    in_reader_words,
    labelled,
    lock_row,
    merge,
    opened_at,
    optional,
    paginate,
    state_version,
    text,
    user_name,
    validation_messages,
    whole_number,
)
from transit.web.api.support import service_has_fares
from transit.web.extensions import db
from transit.web.i18n import gettext, ngettext

SERVICE_FIELDS = ("number", "mode", "operator", "route", "name", "currency")
STOP_COLUMNS = (
    "stop_city",
    "stop_arrival",
    "stop_arrival_day",
    "stop_departure",
    "stop_departure_day",
    "stop_fare",
    "stop_boarding",
    "stop_alighting",
)
# Selects always send a value: a row with nothing typed in it is still blank.
STOP_SELECTS = ("stop_arrival_day", "stop_departure_day", "stop_boarding", "stop_alighting")
FARE_COLUMNS = ("fare_origin", "fare_destination", "fare_amount")
MAX_DAYS = s.MAX_DAYS  # the day selects offer every day a stored time may fall on
_DATES_SPLIT = re.compile(r"[\s,;]+")


# --- listing ---------------------------------------------------------------------------------


@bp.get("/admin/services")
def services() -> str:
    filters = {
        name: (request.args.get(name) or "").strip()[:200]
        for name in ("q", "mode", "operator", "city", "number")
    }
    statement = select(Service)
    if filters["q"]:
        q = filters["q"]
        statement = statement.where(
            or_(
                Service.number.icontains(q, autoescape=True),
                Service.name.icontains(q, autoescape=True),
                Service.operator.icontains(q, autoescape=True),
            )
        )
    if filters["number"]:
        statement = statement.where(Service.number.icontains(filters["number"], autoescape=True))
    if filters["mode"] in MODE_VALUES:
        statement = statement.where(Service.mode == filters["mode"])
    if filters["operator"]:
        statement = statement.where(
            Service.operator.icontains(filters["operator"], autoescape=True)
        )
    unknown_city = False
    if filters["city"]:
        # As the route search reads it: name, code, other name or pinyin, in any case.
        city = editing.CityResolver(db.session())(filters["city"], "city")
        unknown_city = city is None
        statement = statement.where(
            Service.id.in_(
                select(Timetable.service_id)
                .join(Stop, Stop.timetable_id == Timetable.id)
                .where(Stop.city_id == (city.id if city else -1))
            )
        )
    listing = paginate(
        statement.order_by(Service.mode, Service.number, Service.operator, Service.route, Service.id)
    )
    ends = _ends([service.id for service in listing.items])
    return render_template(
        "admin/services.html",
        listing=listing,
        filters=filters,
        modes=MODE_VALUES,
        ends=ends,
        unknown_city=unknown_city,
    )


def _ends(service_ids: list[int]) -> dict[int, tuple[str, str, int]]:
    """(first city, last city, variants) of each service: the ends of its first variant (by
    id) that has stops, and how many variants it has.

    Three aggregate statements whatever the number of variants: counts per service, the first
    variant of each, and the cities of that variant's first and last stops (not every stop of
    every variant, 57,000 rows for a large GTFS feed).
    """
    if not service_ids:
        return {}
    counts = dict(
        db.session.execute(
            select(Timetable.service_id, func.count(Timetable.id))
            .where(Timetable.service_id.in_(service_ids))
            .group_by(Timetable.service_id)
        ).all()
    )
    firsts = dict(
        db.session.execute(
            select(Timetable.service_id, func.min(Timetable.id))
            .where(
                Timetable.service_id.in_(service_ids),
                select(Stop.id).where(Stop.timetable_id == Timetable.id).exists(),
            )
            .group_by(Timetable.service_id)
        ).all()
    )
    if not firsts:
        return {}
    bounds = (
        select(
            Stop.timetable_id.label("timetable_id"),
            func.min(Stop.sequence).label("low"),
            func.max(Stop.sequence).label("high"),
        )
        .where(Stop.timetable_id.in_(list(firsts.values())))
        .group_by(Stop.timetable_id)
        .subquery()
    )
    first_stop, last_stop = aliased(Stop), aliased(Stop)
    first_city, last_city = aliased(City), aliased(City)
    named = db.session.execute(
        select(bounds.c.timetable_id, first_city.name, last_city.name)
        .join(first_stop, and_(first_stop.timetable_id == bounds.c.timetable_id,
                               first_stop.sequence == bounds.c.low))
        .join(first_city, first_city.id == first_stop.city_id)
        .join(last_stop, and_(last_stop.timetable_id == bounds.c.timetable_id,
                              last_stop.sequence == bounds.c.high))
        .join(last_city, last_city.id == last_stop.city_id)
    )
    cities = {timetable_id: (first, last) for timetable_id, first, last in named}
    ends: dict[int, tuple[str, str, int]] = {}
    for service_id, timetable_id in firsts.items():
        if timetable_id in cities:
            first, last = cities[timetable_id]
            ends[service_id] = (first, last, counts.get(service_id, 0))
    return ends


# --- form parsing ----------------------------------------------------------------------------


# Digits with an optional fraction after a point (a sign is the model's to refuse); commas
# only between groups of three digits ("1,250.50"). A decimal comma ("12,50") is refused,
# never guessed: read as thousands, "12,50" was stored as 1,250.00.
_AMOUNT = re.compile(r"[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)")


def _cents(raw: str) -> int:
    """Currency units as typed ("123.5", "1,200", "1,250.50") to integer cents; ValueError
    when not money (a comma anywhere but between groups of three digits included)."""
    typed = raw.replace("¥", "").strip()
    if not _AMOUNT.fullmatch(typed):
        raise ValueError(raw)
    try:
        amount = Decimal(typed.replace(",", ""))
    except InvalidOperation:
        raise ValueError(raw) from None
    cents = amount * 100
    if not amount.is_finite() or cents != cents.to_integral_value():
        raise ValueError(raw)
    return int(cents)


def _time(raw: str, day: str) -> str | None:
    if not raw:
        return None
    if "+" in raw or not s.TIME_TEXT.match(raw):
        # As typed: a message quotes what the operator wrote, never it joined to the day
        # ("00:40+1+1"); a day both typed and chosen is said apart (_stops_input).
        return raw
    # The day goes to the model as chosen: one it cannot take is refused, never moved.
    return f"{raw}+{day}" if day not in ("", "0") else raw


def _stops_input(prefix: str = "") -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, str]]:
    """The stops editor's rows as model input, as typed, and money errors found on the way."""
    rows = columns(*STOP_COLUMNS, selects=STOP_SELECTS)
    stops: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index, row in enumerate(rows):
        stop: dict[str, Any] = {
            "city": row["stop_city"],
            "arrival": _time(row["stop_arrival"], row["stop_arrival_day"]),
            "departure": _time(row["stop_departure"], row["stop_departure_day"]),
            # Allowed unless the select says no ("0"), as in the model and the imports.
            "boarding": row["stop_boarding"] != "0",
            "alighting": row["stop_alighting"] != "0",
        }
        for name in ("arrival", "departure"):
            if "+" in row[f"stop_{name}"] and row[f"stop_{name}_day"] not in ("", "0"):
                errors[f"stops[{index}].{name}"] = gettext(
                    "Give the day once: choose it in the list beside the time, or write +1 "
                    "after the time, not both."
                )
        if row["stop_fare"]:
            try:
                stop["fare_cents"] = _cents(row["stop_fare"])
            except ValueError:
                errors[f"stops[{index}].fare_cents"] = gettext(
                    "Write the fare as an amount such as 123.50."
                )
        stops.append(stop)
    return stops, rows, errors


def _calendar_input() -> tuple[dict[str, Any], dict[str, Any]]:
    added, removed = text("added"), text("removed")
    values: dict[str, Any] = {
        "weekdays": [d for d in request.form.getlist("weekdays") if d in s.WEEKDAY_NAMES],
        "start_date": text("start_date"),
        "end_date": text("end_date"),
        "added": added,
        "removed": removed,
    }
    data = {
        "weekdays": values["weekdays"],
        "start_date": values["start_date"] or None,
        "end_date": values["end_date"] or None,
        "added": [d for d in _DATES_SPLIT.split(added) if d],
        "removed": [d for d in _DATES_SPLIT.split(removed) if d],
    }
    return data, values


def _fares_input() -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, str]]:
    rows = columns(*FARE_COLUMNS)
    fares: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index, row in enumerate(rows):
        fare: dict[str, Any] = {"origin": row["fare_origin"], "destination": row["fare_destination"]}
        try:
            fare["fare_cents"] = _cents(row["fare_amount"])
        except ValueError:
            errors[f"fares[{index}].fare_cents"] = gettext(
                "Write the fare as an amount such as 123.50."
            )
            fare["fare_cents"] = 0
        fares.append(fare)
    return fares, rows, errors


def _service_input() -> tuple[dict[str, Any], dict[str, str]]:
    values = {name: text(name) for name in SERVICE_FIELDS}
    data: dict[str, Any] = {
        "number": values["number"],
        "mode": values["mode"],
        "operator": values["operator"],
        "route": values["route"],
        "name": values["name"] or None,
        "currency": values["currency"].upper(),
    }
    return data, values


def _variant_input() -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The variant part of a form (code, headsign, days, stops): model input, typed, errors."""
    stops, stop_rows, errors = _stops_input()
    calendar, calendar_values = _calendar_input()
    data = {
        "code": optional("code"),
        "headsign": optional("headsign"),
        "calendar": calendar,
        "stops": stops,
    }
    values = {
        "code": text("code"),
        "headsign": text("headsign"),
        **calendar_values,
        "stops": stop_rows,
    }
    return data, values, errors


# --- messages in the form's words ------------------------------------------------------------

_ROW_KEY = re.compile(r"^(stops|fares)\[(\d+)\](?:\.(\w+))?$")


def _labels() -> dict[str, str]:
    # The form's own labels (translated as on the page) for the fields the messages name.
    return {
        "number": gettext("Number"), "mode": gettext("Mode"), "operator": gettext("Operator"),
        "route": gettext("Route tag"), "name": gettext("Name"), "currency": gettext("Currency"),
        "code": gettext("Variant code"), "headsign": gettext("Headsign"),
        "calendar": gettext("Days of operation"), "calendar.weekdays": gettext("Days of operation"),
        "calendar.start_date": gettext("Valid from"), "calendar.end_date": gettext("Valid until"),
        "calendar.added": gettext("Also runs on"), "calendar.removed": gettext("Does not run on"),
        "stops": gettext("Stops, in travel order"), "fares": gettext("Fares between two stops"),
        "city": gettext("City"), "arrival": gettext("Arrival"), "departure": gettext("Departure"),
        "origin": gettext("From"), "destination": gettext("To"),
    }


def _in_form_words(errors: dict[str, str]) -> dict[str, str]:
    """Messages that name what the form shows: "Stops, row 2, fare: ..." (rows from 1, fares
    in currency units), not the API's ``stops[1].fare_cents``. Keys stay: they place them."""
    labels = _labels()
    plain: dict[str, str] = {}
    for key, message in errors.items():
        row = _ROW_KEY.match(key)
        if key == "_form":
            plain[key] = message
            continue
        if row is None:
            label = labels.get(key, key)
        else:
            group, index, part = row.groups()
            if group == "stops":
                label = gettext("Stops, row %(row)d", row=int(index) + 1)
            else:
                label = gettext("Fares, row %(row)d", row=int(index) + 1)
            if part:
                # A translated separator: Chinese joins them with a full-width comma.
                field = gettext("fare") if part == "fare_cents" else labels.get(part, part).lower()
                label = gettext("%(row)s, %(field)s", row=label, field=field)
        plain[key] = f"{label}: {message}"
    return plain


_DATE_FIELDS = ("start_date", "end_date", "added", "removed")


def _plain(key: str, detail: Any) -> str | None:
    """What a field takes, in the form's words (fares in currency units, not the model's
    cents), for the errors of pydantic's own types. The models' own checks (value errors)
    already say what is wrong in plain words: None keeps them."""
    kind, typed = detail["type"], detail.get("input")
    limits = detail.get("ctx") or {}
    field = key.rsplit(".", 1)[-1]
    if kind == "value_error":
        return None
    if kind == "missing" or kind == "string_too_short":
        return gettext("required")
    if kind == "too_short" and field == "stops":
        return gettext("a variant needs at least two stops")
    if kind == "string_too_long":
        most = limits.get("max_length", 0)
        return ngettext("at most %(count)d character", "at most %(count)d characters", most,
                        count=most)
    if kind == "too_long":
        return gettext("at most %(count)d", count=limits.get("max_length", 0))
    if field == "fare_cents":
        if kind == "greater_than_equal":
            return gettext("a fare cannot be negative")
        return gettext("a fare is at most %(most)s", most=f"{s.MAX_CENTS / 100:,.2f}")
    if field in _DATE_FIELDS:
        # One error per bad date of a list: each names its date.
        return gettext("%(date)s is not a date; write one such as 2026-05-01", date=typed)
    if field == "currency":
        return gettext("three letters such as CNY")
    if kind in ("literal_error", "enum"):
        return gettext("choose one from the list")
    return None


def _reviewed(model: type[Any], data: Any, strip: str = "") -> dict[str, str]:
    """What the checks after the model find in input it refused (unknown cities, stops
    out of order), as form errors: shown with the model's own, all at once."""
    issues = editing.review(db.session(), model, data)
    errors = edit_messages(editing.EditError("invalid", "", issues), strip=strip)
    errors.pop("_form")
    return errors


# --- values for the templates ----------------------------------------------------------------


def _clock(seconds: int | None) -> tuple[str, str]:
    if seconds is None:
        return "", "0"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else ""), str(days))


def _money(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents // 100}" if cents % 100 == 0 else f"{cents / 100:.2f}"


def _variant_values(timetable: Timetable | None, shift: int = 0) -> dict[str, Any]:
    """The variant form's values: blank, or ``timetable``'s (every time ``shift`` seconds
    later, for a copy)."""
    if timetable is None:
        blank = {**dict.fromkeys(STOP_COLUMNS, ""), "stop_boarding": "1", "stop_alighting": "1"}
        return {
            "code": "",
            "headsign": "",
            "weekdays": list(s.WEEKDAY_NAMES),
            "start_date": "",
            "end_date": "",
            "added": "",
            "removed": "",
            "stops": [dict(blank), dict(blank)],
        }
    calendar = timetable.calendar
    rows = []
    for stop in timetable.stops:
        arrival, arrival_day = _clock(None if stop.arrival is None else stop.arrival + shift)
        departure, departure_day = _clock(
            None if stop.departure is None else stop.departure + shift)
        rows.append(
            {
                "stop_city": stop.city.name,
                "stop_arrival": arrival,
                "stop_arrival_day": arrival_day,
                "stop_departure": departure,
                "stop_departure_day": departure_day,
                "stop_fare": _money(stop.fare_cents),
                "stop_boarding": "1" if stop.boarding else "0",
                "stop_alighting": "1" if stop.alighting else "0",
            }
        )
    return {
        "code": timetable.code,
        "headsign": timetable.headsign or "",
        "weekdays": s.weekday_names(calendar.weekdays),
        "start_date": calendar.start_date.isoformat() if calendar.start_date else "",
        "end_date": calendar.end_date.isoformat() if calendar.end_date else "",
        "added": ", ".join(e.date.isoformat() for e in calendar.exceptions if e.added),
        "removed": ", ".join(e.date.isoformat() for e in calendar.exceptions if not e.added),
        "stops": rows,
    }


def _service_values(service: Service | None) -> dict[str, Any]:
    if service is None:
        return {"number": "", "mode": "train", "operator": "", "route": "", "name": "",
                "currency": "CNY", "fares": []}
    fares = sorted(service.fares, key=lambda f: (f.origin.name, f.destination.name))
    return {
        "number": service.number,
        "mode": service.mode,
        "operator": service.operator,
        "route": service.route,
        "name": service.name or "",
        "currency": service.currency,
        "fares": [
            {"fare_origin": f.origin.name, "fare_destination": f.destination.name,
             "fare_amount": _money(f.fare_cents)}
            for f in fares
        ],
    }


def _service_version(service: Service) -> str:
    # What the service form shows: its fields and its OD fares.
    fares = sorted((f.origin_id, f.destination_id, f.fare_cents) for f in service.fares)
    return state_version(service.number, service.mode, service.operator, service.route,
                         service.name, service.currency, fares)


def _variant_version(timetable: Timetable) -> str:
    # What the variant form shows: code, headsign, days and stops (boarding/alighting too).
    calendar = timetable.calendar
    return state_version(
        timetable.code, timetable.headsign, calendar.weekdays, calendar.start_date,
        calendar.end_date, sorted((e.date, e.added) for e in calendar.exceptions),
        [(stop.city_id, stop.arrival, stop.departure, stop.fare_cents, stop.boarding,
          stop.alighting) for stop in timetable.stops],
    )


def _conflict(what: str) -> str:
    if what == "service":
        return gettext(
            "Someone else changed this service since you opened it, so nothing was saved. Your "
            "changes are kept in the form below; open the page again to see theirs."
        )
    return gettext(
        "Someone else changed this variant since you opened it, so nothing was saved. Your "
        "changes are kept in the form below; open the page again to see theirs."
    )


def _city_names() -> list[str]:
    # Suggestions for the stop inputs; a very large network gets the first 2,000.
    return list(db.session.scalars(select(City.name).order_by(City.name).limit(2000)))


def _load(service_id: int, *, variants: bool = True) -> Service:
    """The service with its fares and, unless ``variants`` is False (the service page, which
    lists its variants a page at a time), every variant with its stops and days."""
    options = [
        selectinload(Service.fares).joinedload(ServiceFare.origin),
        selectinload(Service.fares).joinedload(ServiceFare.destination),
    ]
    if variants:
        options += [
            selectinload(Service.timetables).selectinload(Timetable.stops).joinedload(Stop.city),
            selectinload(Service.timetables)
            .joinedload(Timetable.calendar)
            .selectinload(Calendar.exceptions),
        ]
    service = db.session.scalar(select(Service).where(Service.id == service_id).options(*options))
    if service is None:
        abort(404)
    return service


def _variant_page(service_id: int) -> Any:
    """One page of the service's variants (by id) with their stops: a service of a GTFS feed
    has hundreds, and the page showed every one with every stop (1.2 MB for 753)."""
    return paginate(
        select(Timetable)
        .where(Timetable.service_id == service_id)
        .order_by(Timetable.id)
        .options(
            selectinload(Timetable.stops).joinedload(Stop.city),
            joinedload(Timetable.calendar).selectinload(Calendar.exceptions),
        )
    )


def _variant(service: Service, timetable_id: int) -> Timetable:
    for timetable in service.timetables:
        if timetable.id == timetable_id:
            return timetable
    abort(404)


def _load_variant(service_id: int, timetable_id: int) -> tuple[Service, Timetable]:
    """The service (without its other variants) and one of its variants, for the pages that
    show one variant: a service of 753 variants took 0.55 s to load them all."""
    service = _load(service_id, variants=False)
    timetable = db.session.scalar(
        select(Timetable)
        .where(Timetable.id == timetable_id, Timetable.service_id == service.id)
        .options(
            selectinload(Timetable.stops).joinedload(Stop.city),
            joinedload(Timetable.calendar).selectinload(Calendar.exceptions),
        )
    )
    if timetable is None:
        abort(404)
    return service, timetable


# --- create ----------------------------------------------------------------------------------


def _render_new(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "admin/service_new.html",
            values=values,
            errors=errors,
            modes=MODE_VALUES,
            weekday_names=s.WEEKDAY_NAMES,
            city_names=_city_names(),
            max_days=MAX_DAYS,
        ),
        status,
    )


@bp.route("/admin/services/new", methods=["GET", "POST"])
def service_new() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return _render_new({**_service_values(None), **_variant_values(None)}, {})
    service_data, service_values = _service_input()
    variant_data, variant_values, errors = _variant_input()
    fares, fare_rows, fare_errors = _fares_input()
    values = {**service_values, **variant_values, "fares": fare_rows}
    errors = merge(errors, fare_errors)
    data = {**service_data, "timetables": [variant_data], "fares": fares}
    strip = "timetables[0]."
    try:
        model = s.ServiceCreate.model_validate(data)
    except ValidationError as error:
        errors = merge(errors, validation_messages(error, strip=strip, plain=_plain),
                       _reviewed(s.ServiceCreate, data, strip))
        return _render_new(values, _in_form_words(errors), 422)
    try:
        # Run even when the form had errors of its own, so the editing checks show too.
        service = editing.create_service(db.session(), model, user=user_name())
    except editing.EditError as error:
        errors = merge(edit_messages(error, strip=strip), errors)
    if errors:
        db.session.rollback()
        return _render_new(values, _in_form_words(errors), 422)
    db.session.commit()
    flash(gettext("Service %(number)s created.", number=service.number), "info")
    return redirect(url_for("admin.service_edit", service_id=service.id))


# --- edit ------------------------------------------------------------------------------------


def _render_edit(
    service: Service,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    duplicate: dict[str, str] | None = None,
    duplicate_errors: dict[str, str] | None = None,
    version: str | None = None,
    conflict: str | None = None,
) -> tuple[str, int]:
    return (
        render_template(
            "admin/service_edit.html",
            service=service,
            values=values,
            errors=errors,
            version=version or _service_version(service),
            conflict=conflict,
            modes=MODE_VALUES,
            city_names=_city_names(),
            duplicate=duplicate or {"number": f"{service.number}-2", "route": service.route},
            duplicate_errors=duplicate_errors or {},
            variants=_variant_page(service.id),
        ),
        status,
    )


@bp.route("/admin/services/<int:service_id>", methods=["GET", "POST"])
def service_edit(service_id: int) -> Response | str | tuple[str, int]:
    """The service's own fields and its origin-destination fares; links to its variants."""
    if request.method == "POST":
        lock_row(Service, service_id)
    service = _load(service_id, variants=request.method == "POST")
    if request.method == "GET":
        return _render_edit(service, _service_values(service), {})
    service_data, typed = _service_input()
    fares, fare_rows, errors = _fares_input()
    values: dict[str, Any] = {**typed, "fares": fare_rows}
    # The version the form was opened at stays in it: a second try is checked against it too.
    version = opened_at() or _service_version(service)
    if changed_meanwhile(_service_version(service)):
        return _render_edit(service, values, {}, 409, version=version,
                            conflict=_conflict("service"))
    try:
        update = s.ServiceUpdate.model_validate(service_data)
        fare_models = s.FaresReplace.model_validate({"fares": fares}).fares
    except ValidationError as error:
        errors = merge(errors, validation_messages(error, plain=_plain),
                       _reviewed(s.FaresReplace, {"fares": fares}))
        return _render_edit(service, values, _in_form_words(errors), 422, version=version)
    session = db.session()
    try:
        # Run even when the form had errors of its own (a fare's amount), so the editing
        # checks (unknown cities, stops of the service) show with them.
        editing.update_service(session, service, update, user=user_name())
        current = sorted(
            (f.origin.name, f.destination.name, f.fare_cents) for f in service.fares
        )
        wanted = sorted(
            (str(f.origin), str(f.destination), f.fare_cents) for f in fare_models
        )
        if errors or current != wanted:
            editing.replace_fares(session, service, fare_models, user=user_name())
    except editing.EditError as error:
        errors = merge(edit_messages(error), errors)
    # An empty currency ("no fare information") only for a service without fares: those of
    # the form, or the leg fares of its variants (the API's rule, transit.schemas).
    if update.currency == "":
        has_fares = bool(fare_models) or service_has_fares(service_id, od_fares=False)
        problem = s.fares_currency_problem(update.currency, has_fares)
        if problem is not None:
            errors = merge({"currency": in_reader_words(problem)}, errors)
    if errors:
        db.session.rollback()
        return _render_edit(_load(service_id), values, _in_form_words(errors), 422,
                            version=version)
    db.session.commit()
    flash(gettext("Service %(number)s saved.", number=service.number), "info")
    return redirect(url_for("admin.service_edit", service_id=service.id))


@bp.post("/admin/services/<int:service_id>/duplicate")
def service_duplicate(service_id: int) -> Response | tuple[str, int]:
    service = _load(service_id)
    wanted = {"number": text("number"), "route": text("route")}
    try:
        # The copy's number and route follow the service form's rules (NUL characters...).
        s.ServiceUpdate.model_validate(wanted)
    except ValidationError as error:
        refused = {"_form": gettext("Nothing was saved. Please correct what is marked below."),
                   **validation_messages(error, plain=_plain)}
        return _render_edit(service, _service_values(service), {}, 422, wanted, refused)
    try:
        copy = editing.duplicate_service(
            db.session(), service, number=wanted["number"], route=wanted["route"], user=user_name()
        )
        db.session.commit()
    except editing.EditError as error:
        db.session.rollback()
        service = _load(service_id)
        return _render_edit(
            service, _service_values(service), {}, 422, wanted, edit_messages(error)
        )
    flash(
        gettext("Service %(number)s is a copy of %(original)s.", number=copy.number,
                original=service.number),
        "info",
    )
    return redirect(url_for("admin.service_edit", service_id=copy.id))


@bp.route("/admin/services/<int:service_id>/delete", methods=["GET", "POST"])
def service_delete(service_id: int) -> Response | str:
    service = _load(service_id)
    if request.method == "GET":
        return render_template("admin/service_delete.html", service=service)
    number = service.number
    editing.delete_service(db.session(), service, user=user_name())
    db.session.commit()
    flash(gettext("Service %(number)s deleted.", number=number), "info")
    return redirect(url_for("admin.services"))


# --- timetable variants ----------------------------------------------------------------------


def _render_variant(
    service: Service,
    timetable: Timetable | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    version: str | None = None,
    conflict: str | None = None,
    **extra: Any,
) -> tuple[str, int]:
    if version is None and timetable is not None:
        version = _variant_version(timetable)
    return (
        render_template(
            "admin/variant_form.html",
            service=service,
            timetable=timetable,
            values=values,
            errors=errors,
            version=version,
            conflict=conflict,
            weekday_names=s.WEEKDAY_NAMES,
            city_names=_city_names(),
            max_days=MAX_DAYS,
            **extra,
        ),
        status,
    )


def _save_variant(service: Service, timetable: Timetable | None) -> Response | tuple[str, int]:
    data, values, errors = _variant_input()
    version = None
    if timetable is not None:
        # The version the form was opened at stays in it: a second try is checked against it.
        version = opened_at() or _variant_version(timetable)
        if changed_meanwhile(_variant_version(timetable)):
            return _render_variant(service, timetable, values, {}, 409, version=version,
                                   conflict=_conflict("variant"))
    try:
        model = s.TimetableCreate.model_validate(data)
    except ValidationError as error:
        errors = merge(errors, validation_messages(error, plain=_plain),
                       _reviewed(s.TimetableCreate, data))
        return _render_variant(service, timetable, values, _in_form_words(errors), 422,
                               version=version)
    # Leg fares need the service's currency (an empty one means "no fare information").
    for field, words in s.fares_without_currency(service.currency, s.leg_fare_fields(model)):
        errors = merge(errors, {field: in_reader_words(words)})
    session = db.session()
    try:
        # Run even when the form had errors of its own, so the editing checks show too.
        if timetable is None:
            saved = editing.add_timetable(session, service, model, user=user_name())
        else:
            saved = editing.replace_timetable(session, timetable, model, user=user_name())
        code = saved.code
    except editing.EditError as error:
        errors = merge(edit_messages(error), errors)
    if errors:
        db.session.rollback()
        service = _load(service.id)
        kept = _variant(service, timetable.id) if timetable is not None else None
        return _render_variant(service, kept, values, _in_form_words(errors), 422,
                               version=version)
    db.session.commit()
    flash(gettext("Variant %(code)s of %(number)s saved.", code=code, number=service.number), "info")
    return redirect(url_for("admin.service_edit", service_id=service.id))


@bp.route("/admin/services/<int:service_id>/variants/new", methods=["GET", "POST"])
def variant_new(service_id: int) -> Response | str | tuple[str, int]:
    service = _load(service_id, variants=request.method == "POST")
    if request.method == "GET":
        copy_of = whole_number(request.args.get("copy", ""))
        if copy_of is not None:
            return _variant_copy(service_id, copy_of)
        return _render_variant(service, None, _variant_values(None), {})
    return _save_variant(service, None)


# How far "Copy" may move a variant's times: a day either way.
MAX_SHIFT_MINUTES = 1440


def _variant_copy(service_id: int, timetable_id: int) -> tuple[str, int]:
    """The new-variant form filled in with a copy of a variant (its days, stops and fares),
    every time shifted by ``?shift=`` minutes: the next run of the day, typed once. Nothing
    is saved until the operator saves the form."""
    service, source = _load_variant(service_id, timetable_id)
    raw = request.args.get("shift", "").strip()
    shift, problem = 0, None
    if raw:
        sign = -1 if raw.startswith(("-", "−")) else 1
        minutes = whole_number(raw.lstrip("+-−").strip())
        times = [v for stop in source.stops for v in (stop.arrival, stop.departure) if v is not None]
        moved = [v + sign * (minutes or 0) * 60 for v in times]
        if minutes is None or minutes > MAX_SHIFT_MINUTES:
            problem = gettext("Enter a whole number of minutes from -%(most)d to %(most)d.",
                              most=MAX_SHIFT_MINUTES)
        elif moved and (min(moved) < 0 or max(moved) > MAX_DAYS * 86400):
            problem = gettext("That would move a time before the service day began or past "
                              "its last day: nothing was shifted.")
        else:
            shift = sign * minutes * 60
    values = {**_variant_values(source, shift), "code": ""}  # empty: the next free number
    return _render_variant(service, None, values, {}, 422 if problem else 200, copied=source,
                           shift_minutes=raw, shift_errors={"shift": problem} if problem else {})


@bp.route("/admin/services/<int:service_id>/variants/<int:timetable_id>", methods=["GET", "POST"])
def variant_edit(service_id: int, timetable_id: int) -> Response | str | tuple[str, int]:
    if request.method == "POST":
        lock_row(Service, service_id)  # edits of one service's variants, one after the other
    if request.method == "GET":
        service, timetable = _load_variant(service_id, timetable_id)
        return _render_variant(service, timetable, _variant_values(timetable), {})
    service = _load(service_id)
    timetable = _variant(service, timetable_id)
    return _save_variant(service, timetable)


@bp.post("/admin/services/<int:service_id>/variants/<int:timetable_id>/delete")
def variant_delete(service_id: int, timetable_id: int) -> Response:
    service = _load(service_id)
    timetable = _variant(service, timetable_id)
    code = timetable.code
    try:
        editing.delete_timetable(db.session(), timetable, user=user_name())
        db.session.commit()
    except editing.EditError as error:
        db.session.rollback()
        flash(in_reader_words(error.message), "error")
    else:
        flash(gettext("Variant %(code)s deleted.", code=code), "info")
    return redirect(url_for("admin.service_edit", service_id=service_id))


# --- recording a run -------------------------------------------------------------------------


def _trip_labels() -> dict[str, str]:
    return {
        "service_date": gettext("Day the run started"), "origin": gettext("From"),
        "destination": gettext("To"), "actual_departure": gettext("Really left (local time)"),
        "actual_arrival": gettext("Really arrived (local time)"), "cancelled": gettext("Cancelled"),
    }


def _moment(raw: str) -> dt.datetime | None:
    return dt.datetime.fromisoformat(raw) if raw else None


@bp.route(
    "/admin/services/<int:service_id>/variants/<int:timetable_id>/trips/new",
    methods=["GET", "POST"],
)
def trip_new(service_id: int, timetable_id: int) -> Response | str | tuple[str, int]:
    """Record when a run really left and arrived (scheduled times come from the variant)."""
    if request.method == "GET":
        service, timetable = _load_variant(service_id, timetable_id)
    else:
        service = _load(service_id)
        timetable = _variant(service, timetable_id)
    last = len(timetable.stops) - 1
    if request.method == "GET":
        # Today where the run starts (service dates are local), not on the server's clock.
        zone = timetable.stops[0].city.zone if timetable.stops else dt.UTC
        values = {"service_date": dt.datetime.now(zone).date().isoformat(), "origin": "0",
                  "destination": str(last), "actual_departure": "", "actual_arrival": "",
                  "cancelled": ""}
        return render_template("admin/trip_form.html", service=service, timetable=timetable,
                               values=values, errors={})
    fields = ("service_date", "origin", "destination", "actual_departure", "actual_arrival")
    values = {name: text(name) for name in fields}
    values["cancelled"] = "1" if request.form.get("cancelled") else ""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    try:
        parsed["service_date"] = dt.date.fromisoformat(values["service_date"])
    except ValueError:
        errors["service_date"] = gettext("Choose the day the run started.")
    for name in ("origin", "destination"):
        number = whole_number(values[name])
        parsed[name] = -1 if number is None else number  # -1: "choose a stop of the variant"
    for name in ("actual_departure", "actual_arrival"):
        try:
            parsed[name] = _moment(values[name])
        except ValueError:
            errors[name] = gettext("Write a date and time such as 2026-03-01 21:05.")
            parsed[name] = None
    try:
        # Run even when the form had errors of its own, so the other checks show too (what
        # could not be read stands aside: the form's own message says what is wrong with it).
        added = editing.record_trip(
            db.session(),
            timetable,
            # An unreadable day stands aside: any day, its calendar message is dropped below.
            parsed.get("service_date") or dt.date.today(),
            parsed["origin"],
            parsed["destination"],
            actual_departure=parsed["actual_departure"],
            actual_arrival=parsed["actual_arrival"],
            cancelled=bool(values["cancelled"]),
            user=user_name(),
            date_known="service_date" in parsed,
        )
    except editing.EditError as error:
        problems = {key: message for key, message in edit_messages(error).items()
                    if key not in errors}
        errors = merge(errors, problems)
    if errors:
        # In the order of the form's fields, the overall message first.
        order = ["_form", *_trip_labels()]
        errors = dict(sorted(errors.items(),
                             key=lambda item: order.index(item[0]) if item[0] in order else 0))
        db.session.rollback()
        service = _load(service_id)
        timetable = _variant(service, timetable_id)
        return render_template("admin/trip_form.html", service=service, timetable=timetable,
                               values=values, errors=labelled(errors, _trip_labels())), 422
    db.session.commit()
    flash(
        gettext("The run was recorded.") if added
        else gettext("This run was already recorded with these times."),
        "info",
    )
    return redirect(url_for("admin.service_edit", service_id=service_id))

