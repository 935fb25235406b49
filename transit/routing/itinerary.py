"""Found journeys as travellers read them: legs, waits and totals, in local times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from transit.routing.engine import Leg
from transit.routing.snapshot import Snapshot


def local_time(seconds: int, zone: str) -> dt.datetime:
    """An absolute instant (Unix seconds) as an aware datetime in ``zone``."""
    return dt.datetime.fromtimestamp(seconds, tz=ZoneInfo(zone))


@dataclass(frozen=True)
class ItineraryLeg:
    """One ride: a service from one city to another, with its own fare."""

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
            "route": self.route or None,
        }


@dataclass(frozen=True)
class Wait:
    """The time between two rides at a transfer; ``walk_to`` is set for a walking transfer."""

    city: str
    minutes: int
    walk_to: str | None = None


@dataclass(frozen=True)
class Itinerary:
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


def build_itinerary(snapshot: Snapshot, legs: list[Leg]) -> Itinerary:
    """Turn the engine's rides into an itinerary; fares and transfers come from the legs."""
    out: list[ItineraryLeg] = []
    names, zones = snapshot.city_names, snapshot.city_tz
    stop_city, trip_service = snapshot.stop_city, snapshot.trip_service
    local = dt.datetime.fromtimestamp
    fare = 0
    for trip, board_row, alight_row, departure, arrival in legs:
        service = trip_service.item(trip)
        origin = stop_city.item(board_row)
        destination = stop_city.item(alight_row)
        cents = snapshot.ride_fare(trip, board_row, alight_row)
        fare += cents
        out.append(
            ItineraryLeg(  # positional: a frozen dataclass takes keywords more slowly
                snapshot.service_number[service],
                snapshot.service_mode[service],
                snapshot.service_operator[service],
                names[origin],
                names[destination],
                local(departure, zones[origin]),
                local(arrival, zones[destination]),
                cents,
                snapshot.service_currency[service],
                snapshot.trip_code[trip],
                snapshot.service_route[service],
            )
        )
    waits = () if len(out) == 1 else tuple(
        Wait(
            before.destination,
            (leg.departure - previous.arrival) // 60,
            after.origin if after.origin != before.destination else None,
        )
        for previous, leg, before, after in zip(legs, legs[1:], out, out[1:], strict=False)
    )
    return Itinerary(tuple(out), waits, out[0].departure, out[-1].arrival, fare, len(out) - 1)
