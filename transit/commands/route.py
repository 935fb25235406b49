"""``flask route FROM TO``: plan a journey on the loaded timetable, as text or JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from transit.clocks import wall_clock
from transit.web.extensions import db

NO_FARE = "no fare information"


def _parse_time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{option}: {value!r} is not an ISO 8601 date and time (e.g. 2025-03-01T08:30)")
    return None


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(2)


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _clock(moment: dt.datetime, first_day: dt.date) -> str:
    """HH:MM, with a "+N day" mark when the date is after the journey's first day."""
    days = (moment.date() - first_day).days
    mark = f" +{days} day{'s' if days != 1 else ''}" if days > 0 else ""
    return wall_clock(moment) + mark


def format_result(result: Any, title: str, compared_by_price: bool = False) -> str:
    """The readable text form of a ``RouteResult``; ``compared_by_price`` (*cheapest*,
    *options*) adds how unknown fares and fares in several currencies were compared."""
    lines = [title]
    if not result.itineraries:
        lines.append(result.message)
        return "\n".join(lines)
    for number, it in enumerate(result.itineraries, 1):
        first_day = it.departure.date()
        transfers = f"{it.transfers} transfer{'s' if it.transfers != 1 else ''}"
        # A service without a currency has no fare: its price is unknown, not 0. Rides in
        # different currencies: the amount in each. A walk at either end of the journey is
        # free and no ride: no transfer beside it.
        parts = it.fare_parts
        fare = ("fare " + " + ".join(f"{cents / 100:.2f} {currency}" for currency, cents in parts)
                if parts else "free: on foot" if all(leg.is_walk for leg in it.legs)
                else NO_FARE)
        waits = iter(it.waits)
        lines.append("")
        lines.append(
            f"{number}. {it.departure:%Y-%m-%d} {wall_clock(it.departure)} → "
            f"{_clock(it.arrival, first_day)}"
            f"  ({_duration(it.duration_minutes)}, {transfers}, {fare})"
        )
        for index, leg in enumerate(it.legs):
            if index and not leg.is_walk and not it.legs[index - 1].is_walk:
                wait = next(waits)
                where = f"walk to {wait.walk_to}, " if wait.walk_to else ""
                lines.append(f"     {where}wait {_duration(wait.minutes)} at {wait.city}")
            service = f"{leg.route} {leg.service}" if leg.route not in ("", leg.service) else leg.service
            leg_fare = ("free" if leg.is_walk else f"{leg.fare_cents / 100:.2f}" if leg.currency
                        else NO_FARE)
            lines.append(
                f"   {leg.mode:<7} {service:<10} {leg.origin} {_clock(leg.departure, first_day)}"
                f" → {leg.destination} {_clock(leg.arrival, first_day)}"
                f"  ({_duration(leg.duration_minutes)}, {leg_fare})"
            )
    if compared_by_price:
        priced = [it.fare_parts for it in result.itineraries
                  if not all(leg.is_walk for leg in it.legs)]
        if any(not parts for parts in priced):
            lines += ["", f"Where it says {NO_FARE}, the fare is not known: when journeys are "
                          "compared by price, the unknown part counts as free."]
        if any(len(parts) > 1 for parts in priced):
            lines += ["", "Fares in different currencies are not converted: when journeys are "
                          "compared by price, their amounts are added as they are."]
    return "\n".join(lines)


@click.command("route")
@click.argument("origin")
@click.argument("destination")
@click.option("--depart", help="Depart at or after (ISO 8601, origin's local time). Default: now.")
@click.option("--arrive-by", help="Arrive at or before (ISO 8601, destination's local time).")
@click.option(
    "--criterion",
    type=click.Choice(["fastest", "cheapest", "transfers", "options"]),
    default="fastest",
    show_default=True,
)
@click.option("--modes", help="Comma-separated modes allowed, e.g. train,flight (default: all).")
@click.option("--min-connection", type=int, help="Minimum connection minutes in every city.")
@click.option("--window-hours", type=float, default=48, show_default=True,
              help="How long after the departure (before the deadline) a journey may end (start).")
@click.option("--max-transfers", type=int, help="At most this many transfers.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@with_appcontext
def route(
    origin: str,
    destination: str,
    depart: str | None,
    arrive_by: str | None,
    criterion: str,
    modes: str | None,
    min_connection: int | None,
    window_hours: float,
    max_transfers: int | None,
    as_json: bool,
) -> None:
    """Plan a journey from ORIGIN to DESTINATION (city names)."""
    from transit.routing import Query, QueryError, UnknownCity, plan
    from transit.routing.cache import snapshot_for
    from transit.routing.planner import AmbiguousCity

    if depart is not None and arrive_by is not None:
        _fail("give --depart or --arrive-by, not both")
    mode_set = None
    if modes is not None:
        mode_set = frozenset(m.strip().lower() for m in modes.split(",") if m.strip())
    query = Query(
        origin=origin,
        destination=destination,
        depart=_parse_time(depart, "--depart"),
        arrive_by=_parse_time(arrive_by, "--arrive-by"),
        criterion=criterion,
        modes=mode_set,
        min_connection_minutes=min_connection,
        window_hours=window_hours,
        max_transfers=max_transfers,
        not_before=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    default_minutes = int(current_app.config["TRANSIT_MIN_CONNECTION_MINUTES"])
    snapshot = snapshot_for(db.session(), default_minutes)
    try:
        result = plan(snapshot, query)
    except AmbiguousCity as error:
        names = ", ".join(repr(name) for name in error.candidates)
        _fail(f"{error.name!r} is ambiguous: several stations go by that name ({names})")
        return
    except UnknownCity as error:
        _fail(error.words)
        return
    except QueryError as error:
        option = {"min_connection_minutes": "min-connection", "arrive_by": "arrive-by"}.get(
            error.field, error.field.replace("_", "-")
        )
        _fail(f"{option}: {error.message}")
        return
    if as_json:
        from transit.forecast.itinerary import result_json

        # Forecast arrivals and the chance of missing each connection join the timetable's.
        body = result_json(db.session(), result, snapshot, min_connection)
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    when = f"arriving by {arrive_by}" if arrive_by else f"departing {depart or 'now'}"
    # The cities by their stored names, whatever was typed for them ("beijing", "PEK").
    typed = (origin, destination)
    found = [snapshot.find_city(text) for text in typed]
    shown = [text if i is None else snapshot.city_names[i] for text, i in zip(typed, found, strict=True)]
    click.echo(format_result(result, f"{shown[0]} → {shown[1]}, {criterion}, {when}",
                             compared_by_price=criterion in ("cheapest", "options")))
