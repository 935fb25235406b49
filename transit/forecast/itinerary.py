"""Forecasts beside the timetable in found journeys: arrival per leg, chance of missing a connection.

The routing core knows nothing of forecasts; this module reads the stored forecasts
(``service_forecasts``) of every leg of a route result in one query and adds to its JSON:

- per leg ``forecast_arrival`` (ISO 8601, the leg's destination zone) and ``forecast_range``
  (the 10% and 90% arrival), or ``null`` where the run has no forecast;
- per itinerary ``connections``: one entry per transfer with the ``slack_minutes`` (the wait
  less the time the transfer needed when the journey was planned: docs/routing.md, "A
  transfer") and ``miss_probability`` (0..1, ``null`` without a forecast of the incoming
  leg).

A leg is matched to the stored run of its service (operator and number) that had left its
first stop by the leg's departure and reaches its last stop no earlier than the leg's
arrival. A forecast is of the run's arrival at its last stop; a leg that alights earlier
takes the same arrival delay (the forecast knows nothing finer).

The chance of missing a connection is the probability that the incoming leg arrives more
than the slack late: the forecast delay's 10/50/90% quantiles define its distribution
function, linear between the quantiles and with exponential tails beyond them
(docs/forecast.md, "Missing a connection").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from transit.forecast.store import forecasts_state
from transit.models import Service
from transit.models import ServiceForecast as StoredForecast

if TYPE_CHECKING:
    from transit.routing.itinerary import Itinerary, ItineraryLeg, RouteResult, Wait
    from transit.routing.snapshot import Snapshot

MIN_SCALE_MINUTES = 0.5  # a quantile gap this small still gives a smooth, monotone curve
LOOKBACK = dt.timedelta(days=3)  # the longest run a leg may be part of


def delay_cdf(x: float, q10: float, q50: float, q90: float) -> float:
    """P(delay <= x) from the 10/50/90% quantiles (minutes).

    Linear between the quantiles (through (q10, 0.1), (q50, 0.5), (q90, 0.9)); beyond them an
    exponential tail whose scale keeps the same halving rate as the nearest segment, so the
    function rises from 0 to 1, never falls, and passes exactly through the three quantiles.
    """
    q10, q50, q90 = sorted((q10, q50, q90))
    low_gap = max(q50 - q10, MIN_SCALE_MINUTES)
    high_gap = max(q90 - q50, MIN_SCALE_MINUTES)
    if x <= q10:
        return 0.1 * math.exp((x - q10) * math.log(5) / low_gap)
    if x >= q90:
        return 1.0 - 0.1 * math.exp(-(x - q90) * math.log(5) / high_gap)
    # The fraction of the segment first: 0.4 * (x - q10) would underflow to 0 for subnormal gaps.
    if x <= q50:
        return 0.1 + 0.4 * ((x - q10) / (q50 - q10)) if q50 > q10 else 0.5
    return 0.5 + 0.4 * ((x - q50) / (q90 - q50)) if q90 > q50 else 0.9


def miss_probability(slack_minutes: float, q10: float, q50: float, q90: float) -> float:
    """The chance that a leg with these delay quantiles arrives more than ``slack`` late."""
    return min(1.0, max(0.0, 1.0 - delay_cdf(slack_minutes, q10, q50, q90)))


@dataclass(frozen=True)
class LegForecast:
    """The forecast arrival of one leg (aware, the leg's destination zone)."""

    arrival: dt.datetime
    arrival_low: dt.datetime
    arrival_high: dt.datetime
    delay_p10: float
    delay_p50: float
    delay_p90: float

    def to_json(self) -> dict[str, Any]:
        return {
            "forecast_arrival": self.arrival.isoformat(timespec="seconds"),
            "forecast_range": [
                self.arrival_low.isoformat(timespec="seconds"),
                self.arrival_high.isoformat(timespec="seconds"),
            ],
        }


@dataclass(frozen=True)
class Connection:
    """A transfer between two legs: its slack and the chance of missing it."""

    city: str
    slack_minutes: int
    miss_probability: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.city,
            "slack_minutes": self.slack_minutes,
            "miss_probability": (
                None if self.miss_probability is None else round(self.miss_probability, 4)
            ),
        }


@dataclass(frozen=True)
class ItineraryForecast:
    """Forecasts of one itinerary: one per leg (None where unknown), one per transfer."""

    legs: tuple[LegForecast | None, ...]
    connections: tuple[Connection, ...]

    @property
    def arrival(self) -> LegForecast | None:
        """The forecast of the final arrival."""
        return self.legs[-1] if self.legs else None


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _load(session: Session, legs: list[ItineraryLeg]) -> dict[tuple[str, str], list[StoredForecast]]:
    """Stored runs of the legs' services around their times, in one query."""
    if not legs:
        return {}
    keys = sorted({(leg.operator, leg.service) for leg in legs})
    earliest = min(_utc(leg.departure) for leg in legs) - LOOKBACK
    latest = max(_utc(leg.departure) for leg in legs)
    rows = session.execute(
        select(StoredForecast, Service.operator, Service.number)
        .join(Service, StoredForecast.service_id == Service.id)
        .where(tuple_(Service.operator, Service.number).in_(keys))
        .where(StoredForecast.scheduled_departure >= earliest)
        .where(StoredForecast.scheduled_departure <= latest)
    ).all()
    found: dict[tuple[str, str], list[StoredForecast]] = {}
    for forecast, operator, number in rows:
        found.setdefault((operator, number), []).append(forecast)
    for runs in found.values():
        runs.sort(key=lambda f: f.scheduled_departure)
    return found


def _leg_forecast(leg: ItineraryLeg, runs: list[StoredForecast]) -> LegForecast | None:
    departure, arrival = _utc(leg.departure), _utc(leg.arrival)
    match = None
    for run in runs:  # the latest run that had left by the leg's departure and covers it
        if run.scheduled_departure <= departure and run.scheduled_arrival >= arrival:
            match = run
    if match is None:
        return None
    return _delayed(leg, match.delay_p10, match.delay_p50, match.delay_p90)


def _delayed(leg: ItineraryLeg, p10: float, p50: float, p90: float) -> LegForecast:
    """``leg``'s arrival moved by the delay quantiles (minutes), on its destination's clock."""
    zone = leg.arrival.tzinfo

    def at(minutes: float) -> dt.datetime:
        moment = leg.arrival.astimezone(dt.UTC) + dt.timedelta(minutes=round(minutes))
        return moment.astimezone(zone)

    return LegForecast(arrival=at(p50), arrival_low=at(p10), arrival_high=at(p90),
                       delay_p10=p10, delay_p50=p50, delay_p90=p90)


def _with_final_walk(
    legs: tuple[LegForecast | None, ...], itinerary: Itinerary
) -> tuple[LegForecast | None, ...]:
    """A walk ending the journey starts when the last ride arrives, so it arrives as late as
    that ride: the forecast of the journey's arrival is the ride's delay after the walk."""
    if len(legs) < 2 or not itinerary.legs[-1].is_walk or legs[-2] is None:
        return legs
    ride = legs[-2]
    return (*legs[:-1], _delayed(itinerary.legs[-1], ride.delay_p10, ride.delay_p50,
                                 ride.delay_p90))


def needed_seconds(
    snapshot: Snapshot, min_connection_minutes: int | None
) -> Callable[[Wait], int]:
    """The seconds each transfer needed when the engine planned on ``snapshot`` with this
    override (docs/routing.md, "A transfer"): a walk its own time (the override leaves walks
    alone); a change at a city the override, else the city's own time, else the default."""
    per_city = snapshot.min_connection(min_connection_minutes)

    def needed(wait: Wait) -> int:
        city = snapshot.city_index[wait.city]
        if wait.walk_to is not None:
            to = snapshot.city_index[wait.walk_to]
            return min(secs for c, secs in snapshot.walks.get(city, ()) if c == to)
        return int(per_city[city])

    return needed


def forecast_itineraries(
    session: Session,
    itineraries: list[Itinerary],
    snapshot: Snapshot,
    min_connection_minutes: int | None,
) -> list[ItineraryForecast]:
    """Forecasts for every leg and transfer of ``itineraries`` (one database query).

    The slack of a connection is its wait less the time the transfer needed: what the
    engine applied there, planning on ``snapshot`` for a query with
    ``min_connection_minutes`` (None: no override). The outgoing leg is taken to leave on
    time.
    """
    needed = needed_seconds(snapshot, min_connection_minutes)
    every_leg = [leg for itinerary in itineraries for leg in itinerary.legs]
    # With no forecast stored (known once per content version), no query to ask.
    runs = _load(session, every_leg) if forecasts_state(session).count else {}
    out = []
    for itinerary in itineraries:
        legs = _with_final_walk(tuple(
            None if leg.is_walk else _leg_forecast(leg, runs.get((leg.operator, leg.service), []))
            for leg in itinerary.legs
        ), itinerary)
        connections = []
        # One wait per transfer, between two rides (a walk at either end is no ride).
        rides = [f for f, leg in zip(legs, itinerary.legs, strict=True) if not leg.is_walk]
        for i, wait in enumerate(itinerary.waits):
            # Whole minutes rounded down on both sides: never below 0 for a transfer the
            # engine accepted (the wait is at least what it needed).
            slack = wait.minutes - needed(wait) // 60
            incoming = rides[i]
            chance = None
            if incoming is not None:
                chance = miss_probability(
                    slack, incoming.delay_p10, incoming.delay_p50, incoming.delay_p90
                )
            connections.append(Connection(wait.city, slack, chance))
        out.append(ItineraryForecast(legs, tuple(connections)))
    return out


def result_json(
    session: Session,
    result: RouteResult,
    snapshot: Snapshot,
    min_connection_minutes: int | None,
) -> dict[str, Any]:
    """``result.to_json()`` with the forecast fields added (existing fields unchanged).

    ``snapshot`` is the one the result was planned on and ``min_connection_minutes`` the
    query's own (None without an override), so that each connection's slack counts from
    what the engine required there (see ``forecast_itineraries``).
    """
    body = result.to_json()
    forecasts = forecast_itineraries(session, result.itineraries, snapshot, min_connection_minutes)
    for itinerary, forecast in zip(body["itineraries"], forecasts, strict=True):
        for leg, leg_forecast in zip(itinerary["legs"], forecast.legs, strict=True):
            if leg_forecast is None:
                leg["forecast_arrival"] = None
                leg["forecast_range"] = None
            else:
                leg.update(leg_forecast.to_json())
        itinerary["connections"] = [c.to_json() for c in forecast.connections]
    return body
