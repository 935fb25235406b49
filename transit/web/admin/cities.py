"""Admin: the home page, and cities (list with search, create, edit, delete after confirming)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import distinct, func, or_, select
from werkzeug.wrappers import Response

from transit import editing
from transit import schemas as s
from transit.models import AuditEntry, City, Service, Stop, Timetable, TripRecord, alias_problems
from transit.web.admin.common import (
    bp,
    changed_meanwhile,
    edit_messages,
    in_reader_words,
    labelled,
    lock_row,
    merge,
    opened_at,
    paginate,
    state_version,
    text,
    user_name,
    validation_messages,
)
from transit.web.directory import city_directory
from transit.web.extensions import db
from transit.web.i18n import gettext, ngettext
from transit.web.ids import whole_number
from transit.words import Words

CITY_FIELDS = ("name", "code", "latitude", "longitude", "timezone", "min_connection", "aliases")
RENAMES = {"min_connection_seconds": "min_connection"}


@bp.get("/admin/")
def home() -> str:
    """What the database holds, and the latest changes."""
    def count(model: Any) -> int:
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)

    counts = {
        "cities": count(City),
        "services": count(Service),
        "timetables": count(Timetable),
        "trips": count(TripRecord),
    }
    recent = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(10)))
    return render_template("admin/home.html", counts=counts, recent=recent)


@bp.get("/admin/cities")
def cities() -> str:
    q = (request.args.get("q") or "").strip()[:200]
    statement = select(City)
    if q:
        # Also by other name or pinyin, as the public city list searches (transit.names).
        cities = city_directory()
        also = [cities.names[i] for i in cities.lookup.containing(q)]
        statement = statement.where(
            or_(City.name.icontains(q, autoescape=True), City.code.icontains(q, autoescape=True),
                City.name.in_(also))
        )
    listing = paginate(statement.order_by(City.name, City.id))
    ids = [c.id for c in listing.items]
    counts: dict[int, int] = {}
    if ids:
        counts = dict(
            db.session.execute(  # type: ignore[arg-type]
                select(Stop.city_id, func.count(distinct(Timetable.service_id)))
                .join(Timetable, Stop.timetable_id == Timetable.id)
                .where(Stop.city_id.in_(ids))
                .group_by(Stop.city_id)
            ).all()
        )
    return render_template("admin/cities.html", listing=listing, q=q, counts=counts)


def _city_values(city: City | None) -> dict[str, str]:
    if city is None:
        return {"timezone": "Asia/Shanghai"}
    minutes = city.min_connection_seconds
    return {
        "name": city.name,
        "code": city.code or "",
        "latitude": "" if city.latitude is None else f"{city.latitude:g}",
        "longitude": "" if city.longitude is None else f"{city.longitude:g}",
        "timezone": city.timezone,
        "min_connection": "" if minutes is None else f"{minutes / 60:g}",
        "aliases": "\n".join(city.aliases or []),
    }


def _labels() -> dict[str, str]:
    return {
        "name": gettext("Name"), "code": gettext("Code"), "latitude": gettext("Latitude"),
        "longitude": gettext("Longitude"), "timezone": gettext("Time zone"),
        "min_connection": gettext("Minimum connection (minutes)"),
        "aliases": gettext("Other names"),
    }


def _alias_lines(typed: str) -> list[tuple[int, str]]:
    """The other names typed one per line, each with its line number (from 1): blank lines
    left out, spaces around each name too. Only line feeds part them (a name may hold a
    comma); a line or paragraph separator stays in its name, for the model to refuse."""
    lines = (line.strip() for line in typed.split("\n"))
    return [(number, line) for number, line in enumerate(lines, 1) if line]


def _model_messages(error: ValidationError, values: dict[str, str]) -> dict[str, str]:
    """What the model refused, said as what each field takes, in the form's units (minutes
    rather than the model's seconds), for the errors that this describes: a name too long,
    a code too long or with a space, a latitude out of range... A character a single line
    may not hold (a tab, a control or invisible character: ``transit.schemas.text_problem``)
    keeps the model's message, which names it, as do the model's other checks of the name.
    A refused other name is said with the line it is on."""
    takes = {
        "name": gettext("at most 200 characters"),
        "code": gettext("at most 32 characters, without spaces"),
        "latitude": gettext("a number from -90 to 90"),
        "longitude": gettext("a number from -180 to 180"),
        "timezone": gettext("%(zone)s is not a time zone; write one such as Asia/Shanghai",
                            zone=values["timezone"]),
        "min_connection": gettext("a number of minutes from 0 to 1440"),
        "aliases": gettext("at most %(count)d names, one per line", count=s.MAX_ALIASES),
    }
    required = {
        "name": gettext("required"),
        "timezone": gettext("required, such as Asia/Shanghai"),
    }

    lines = _alias_lines(values.get("aliases", ""))

    def alias(detail: Any) -> str | None:
        """One other name's problem, said with its line; the list's own (too many) as
        ``takes`` says it."""
        index = detail["loc"][-1] if detail["loc"] else None  # (the list's own: no index)
        if not isinstance(index, int) or not 0 <= index < len(lines):
            return takes["aliases"] if detail["type"] == "too_long" else None
        if detail["type"] == "string_too_long":
            problem = gettext("at most 200 characters")
        else:  # the model's own check (a tab, a character it refuses): its words
            raised = (detail.get("ctx") or {}).get("error")
            words = raised.args[0] if isinstance(raised, ValueError) and raised.args else None
            if not isinstance(words, Words):
                return None
            problem = in_reader_words(words)
        return gettext("line %(line)d: %(problem)s", line=lines[index][0], problem=problem)

    def plain(key: str, detail: Any) -> str | None:
        kind = detail["type"]
        if key == "aliases":
            return alias(detail)
        if kind in ("missing", "string_too_short") and key in required:
            return required[key]
        if key == "name":  # only its length in the form's words; the rest as the model says
            return takes["name"] if kind == "string_too_long" else None
        if kind == "value_error" and s.text_problem(values.get(key, "")) is not None:
            return None  # the model's own words, naming the character
        return takes.get(key)

    return validation_messages(error, renames=RENAMES, plain=plain)


def _unique(values: dict[str, str], exclude: int | None = None) -> dict[str, str]:
    """A name, code or other name taken by another city, and other names repeating the
    city's own (``editing.create_city`` refuses both), checked also when other fields were
    refused."""
    aliases = [name for _, name in _alias_lines(values["aliases"])]
    problems = alias_problems(values["name"], values["code"] or None, aliases)
    own = {"aliases": "; ".join(map(in_reader_words, problems))} if problems else {}
    try:
        editing.check_city_unique(
            db.session(), values["name"] or None, values["code"] or None, exclude, aliases
        )
    except editing.EditError as error:
        return merge(edit_messages(error, renames=RENAMES), own)
    return own


def _city_input() -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The posted city as model input, what was typed, and errors found before the model."""
    values = {name: text(name) for name in CITY_FIELDS}
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "name": values["name"],
        "code": values["code"] or None,
        "latitude": None,
        "longitude": None,
        "timezone": values["timezone"],
        "min_connection_seconds": None,
    }
    # One name a line; the field left out of a post (not from this form) changes none.
    if "aliases" in request.form:
        data["aliases"] = [name for _, name in _alias_lines(values["aliases"])]
    # The model takes numbers only (the API refuses "30.6" as text): convert what was typed.
    for name in ("latitude", "longitude"):
        if values[name]:
            try:
                data[name] = float(values[name])
            except ValueError:
                errors[name] = gettext("Write a valid number, such as 39.90.")
    if values["min_connection"]:
        try:
            data["min_connection_seconds"] = round(float(values["min_connection"]) * 60)
        except ValueError:
            errors["min_connection"] = gettext("Write the minutes as a number, such as 15.")
        except OverflowError:  # inf, 1e400: a number, but no whole number of seconds
            errors["min_connection"] = gettext("a number of minutes from 0 to 1440")
    return data, values, errors


@bp.route("/admin/cities/new", methods=["GET", "POST"])
def city_new() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("admin/city_form.html", city=None, values=_city_values(None), errors={})
    data, values, errors = _city_input()
    try:
        model = s.CityCreate.model_validate(data)
    except ValidationError as error:
        errors = merge(_unique(values), errors, _model_messages(error, values))
        return render_template("admin/city_form.html", city=None, values=values,
                               errors=labelled(errors, _labels())), 422
    try:
        # Run even when the form had errors of its own, so a taken name or code shows too.
        city = editing.create_city(db.session(), model, user=user_name())
    except editing.EditError as error:
        errors = merge(edit_messages(error, renames=RENAMES), errors)
    if errors:
        db.session.rollback()
        return render_template("admin/city_form.html", city=None, values=values,
                               errors=labelled(errors, _labels())), 422
    db.session.commit()
    flash(gettext("City %(name)s created.", name=city.name), "info")
    return redirect(url_for("admin.cities", q=city.name))


def _city(city_id: int) -> City:
    city = db.session.get(City, city_id)
    if city is None:
        abort(404)
    return city


def _city_version(city: City) -> str:
    return state_version(
        city.name, city.code, city.latitude, city.longitude, city.timezone,
        city.min_connection_seconds, city.aliases,
    )


@bp.route("/admin/cities/<int:city_id>", methods=["GET", "POST"])
def city_edit(city_id: int) -> Response | str | tuple[str, int]:
    if request.method == "POST":
        lock_row(City, city_id)
    city = _city(city_id)
    if request.method == "GET":
        return render_template("admin/city_form.html", city=city, values=_city_values(city),
                               errors={}, version=_city_version(city))
    data, values, errors = _city_input()
    # The version the form was opened at stays in it: a second try is checked against it too.
    version = opened_at() or _city_version(city)
    if changed_meanwhile(_city_version(city)):
        conflict = gettext(
            "Someone else changed this city since you opened it, so nothing was saved. Your "
            "changes are kept in the form below; open the page again to see theirs."
        )
        return render_template("admin/city_form.html", city=city, values=values, errors={},
                               version=version, conflict=conflict), 409
    try:
        model = s.CityUpdate.model_validate(data)
    except ValidationError as error:
        errors = merge(_unique(values, city.id), errors, _model_messages(error, values))
        return render_template("admin/city_form.html", city=city, values=values,
                               errors=labelled(errors, _labels()), version=version), 422
    try:
        # Run even when the form had errors of its own, so a taken name or code shows too.
        editing.update_city(db.session(), city, model, user=user_name())
    except editing.EditError as error:
        errors = merge(edit_messages(error, renames=RENAMES), errors)
    if errors:
        db.session.rollback()
        city = _city(city_id)
        return render_template("admin/city_form.html", city=city, values=values,
                               errors=labelled(errors, _labels()), version=version), 422
    db.session.commit()
    flash(gettext("City %(name)s saved.", name=city.name), "info")
    return redirect(url_for("admin.cities", q=city.name))


@bp.route("/admin/cities/<int:city_id>/delete", methods=["GET", "POST"])
def city_delete(city_id: int) -> Response | str:
    """Show what deleting the city would remove; delete only when that is confirmed."""
    city = _city(city_id)
    if request.method == "GET":
        services = editing.services_calling_at(db.session(), city.id)
        return render_template("admin/city_delete.html", city=city, services=services)
    name = city.name
    # The services the page listed: any other calling there now would go unseen.
    shown = [whole_number(x) for x in request.form.getlist("service")]
    try:
        removed = editing.delete_city(db.session(), city, user=user_name(), cascade=True,
                                      shown=[x for x in shown if x is not None])
        db.session.commit()
    except editing.EditError as error:  # a service saved there meanwhile: say so, keep all
        db.session.rollback()
        flash(in_reader_words(error.message), "error")
        return redirect(url_for("admin.city_delete", city_id=city_id))
    flash(
        ngettext(
            "City %(name)s deleted, with %(count)d service.",
            "City %(name)s deleted, with %(count)d services.",
            len(removed), name=name, count=len(removed),
        ),
        "info",
    )
    return redirect(url_for("admin.cities"))
