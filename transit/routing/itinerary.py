"""Found journeys as travellers read them: legs, waits and totals, in local times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from transit.routing.engine import Leg
from transit.routing.snapshot import Snapshot


def local_time(seconds: int, zone: str) -> dt.datetime:
    """An absolute instant (Unix seconds) as an aware datetime in ``zone``."""
    return dt.datetime.fromtimestamp(seconds, tz=ZoneInfo(zone))


# The mode of a walk's leg: a journey may start with a walk from its origin and end with a
# walk to its destination (docs/routing.md, "A journey"); such a leg has no service
# (``service``, ``operator``, ``timetable`` and ``route`` are ""), its fare is 0, and it is
# no ride: it counts for no transfer and has no wait before or after it.
WALK = "walk"


# Legs, waits and itineraries are named tuples: immutable like frozen dataclasses, and built
# four times faster (0.4 against 1.7 microseconds a leg), which a one-leg answer notices.
class ItineraryLeg(NamedTuple):
    """One ride: a service from one city to another, with its own fare; or a walk at either
    end of the journey (``mode`` is ``WALK``)."""

    service: str
    mode: str
    operator: str
    origin: str
    destination: str
    departure: dt.datetime
    arrival: dt.datetime
    fare_cents: int
    currency: str
    timetable: str
    route: str = ""  # the line riders know (GTFS route_short_name); "" where none

    @property
    def is_walk(self) -> bool:
        return self.mode == WALK

    @property
    def duration_minutes(self) -> int:
        # Timestamps, not datetime subtraction: one zone's wall clocks skip at DST changes.
        return int(self.arrival.timestamp() - self.departure.timestamp()) // 60

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "mode": self.mode,
            "from": self.origin,
            "to": self.destination,
            "departure": self.departure.isoformat(timespec="seconds"),
            "arrival": self.arrival.isoformat(timespec="seconds"),
            "fare": self.fare_cents / 100,
            "currency": None if self.is_walk else self.currency or None,
            "route": self.route or None,
        }


class Wait(NamedTuple):
    """The time between two rides at a transfer; ``walk_to`` is set for a walking transfer.
    An itinerary has one per transfer: none before or after a walk at either end."""

    city: str
    minutes: int
    walk_to: str | None = None


class Itinerary(NamedTuple):
    """A journey with its totals (docs/routing.md, "A journey")."""

    legs: tuple[ItineraryLeg, ...]
    waits: tuple[Wait, ...]
    departure: dt.datetime
    arrival: dt.datetime
    fare_cents: int
    transfers: int

    @property
    def duration_minutes(self) -> int:
        # Timestamps, not datetime subtraction: one zone's wall clocks skip at DST changes.
        return int(self.arrival.timestamp() - self.departure.timestamp()) // 60

    @property
    def currency(self) -> str | None:
        """The currency of the fare: its rides' one. None where the fare is not one known
        amount: a ride has no fare information (the fare counts it as 0), or the rides'
        currencies differ (the fare adds amounts in different currencies); or no ride."""
        found = {leg.currency for leg in self.legs if not leg.is_walk}
        return (found.pop() or None) if len(found) == 1 else None

    @property
    def fare_parts(self) -> tuple[tuple[str, int], ...]:
        """The fare in cents per currency, in the order the rides first use each: one part
        where they share one, several where they differ (amounts in different currencies do
        not add up). Empty where a ride has no fare information, or there is no ride."""
        parts: dict[str, int] = {}
        for leg in self.legs:
            if leg.is_walk:
                continue
            if not leg.currency:
                return ()
            parts[leg.currency] = parts.get(leg.currency, 0) + leg.fare_cents
        return tuple(parts.items())

    @property
    def departure_seconds(self) -> int:
        return int(self.departure.timestamp())

    @property
    def arrival_seconds(self) -> int:
        return int(self.arrival.timestamp())

    def to_json(self) -> dict[str, Any]:
        return {
            "departure": self.departure.isoformat(timespec="seconds"),
            "arrival": self.arrival.isoformat(timespec="seconds"),
            "duration_minutes": self.duration_minutes,
            "fare": self.fare_cents / 100,
            "currency": self.currency,
            "transfers": self.transfers,
            "legs": [leg.to_json() for leg in self.legs],
        }


# Why a query found nothing: a message template with ``%(name)s`` fields, and the fields.
# ``message`` is the English text; the web pages translate the template instead.
Reason = tuple[str, dict[str, Any]]


@dataclass
class RouteResult:
    """What ``plan`` answers: journeys (best first) and, when there are none, why."""

    itineraries: list[Itinerary] = field(default_factory=list)
    reason: Reason | None = None

    @property
    def message(self) -> str:
        if self.reason is None:
            return ""
        template, values = self.reason
        return template % {
            name: ", ".join(value) if isinstance(value, tuple) else value
            for name, value in values.items()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "itineraries": [it.to_json() for it in self.itineraries],
            "message": self.message,
        }


def build_itinerary(
    snapshot: Snapshot,
    legs: list[Leg],
    origin: int | None = None,
    destination: int | None = None,
    walk_only: tuple[int, int] | None = None,
) -> Itinerary:
    """Turn the engine's rides into an itinerary; fares and transfers come from the legs.

    Where the first ride boards elsewhere than ``origin`` (a city index), the journey starts
    with the walk there, leaving the origin that walk's time before the ride departs; where
    the last ride alights elsewhere than ``destination``, it ends with the walk from there.
    With no rides, ``walk_only`` gives the (departure, arrival) of the walk from the origin
    to the destination that is the whole journey.
    """
    out: list[ItineraryLeg] = []
    names, zones = snapshot.city_names, snapshot.city_tz
    stop_city, trip_service = snapshot.stop_city, snapshot.trip_service
    local = dt.datetime.fromtimestamp
    fare = 0
    for trip, board_row, alight_row, departure, arrival in legs:
        service = trip_service.item(trip)
        start = stop_city.item(board_row)
        end = stop_city.item(alight_row)
        cents = snapshot.ride_fare(trip, board_row, alight_row)
        fare += cents
        out.append(
            ItineraryLeg(
                snapshot.service_number[service],
                snapshot.service_mode[service],
                snapshot.service_operator[service],
                names[start],
                names[end],
                local(departure, zones[start]),
                local(arrival, zones[end]),
                cents,
                snapshot.service_currency[service],
                snapshot.trip_code[trip],
                snapshot.service_route[service],
            )
        )
    # A plain loop: a generator over four zipped sequences cost twice as much here.
    waits: list[Wait] = []
    for i in range(1, len(out)):
        before, after = out[i - 1], out[i]
        waits.append(Wait(
            before.destination,
            (legs[i].departure - legs[i - 1].arrival) // 60,
            after.origin if after.origin != before.destination else None,
        ))
    transfers = max(len(out) - 1, 0)
    if not legs:
        assert origin is not None and destination is not None and walk_only is not None
        walk = _walk_leg(snapshot, origin, destination, walk_only[0], walk_only[1], "")
        return Itinerary((walk,), (), walk.departure, walk.arrival, 0, 0)
    if origin is not None and stop_city.item(legs[0].board_row) != origin:
        first = legs[0]
        to = stop_city.item(first.board_row)
        secs = walk_seconds(snapshot, origin, to)
        out.insert(0, _walk_leg(
            snapshot, origin, to, first.departure - secs, first.departure, out[0].currency
        ))
    if destination is not None and stop_city.item(legs[-1].alight_row) != destination:
        last = legs[-1]
        at = stop_city.item(last.alight_row)
        secs = walk_seconds(snapshot, at, destination)
        out.append(_walk_leg(
            snapshot, at, destination, last.arrival, last.arrival + secs, out[-1].currency
        ))
    return Itinerary(
        tuple(out), tuple(waits), out[0].departure, out[-1].arrival, fare, transfers
    )


def walk_seconds(snapshot: Snapshot, start: int, end: int) -> int:
    """The time of the (shortest) walk from city ``start`` to city ``end``."""
    return min(secs for city, secs in snapshot.walks.get(start, ()) if city == end)


def _walk_leg(
    snapshot: Snapshot, start: int, end: int, departure: int, arrival: int, currency: str
) -> ItineraryLeg:
    """A walk at either end of a journey: no service, fare 0 (in the currency of the ride
    it leads to or from, so that it does not make a priced journey's fare unknown)."""
    names, zones = snapshot.city_names, snapshot.city_tz
    return ItineraryLeg(
        "", WALK, "", names[start], names[end],
        dt.datetime.fromtimestamp(departure, zones[start]),
        dt.datetime.fromtimestamp(arrival, zones[end]),
        0, currency, "", "",
    )
