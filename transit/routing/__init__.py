"""Journey planning on an immutable timetable snapshot (no Flask): see docs/routing.md."""

from transit.routing.itinerary import Itinerary, ItineraryLeg, RouteResult, Wait
from transit.routing.planner import plan
from transit.routing.query import CRITERIA, Query, QueryError, UnknownCity
from transit.routing.snapshot import Snapshot

__all__ = [
    "CRITERIA",
    "Itinerary",
    "ItineraryLeg",
    "Query",
    "QueryError",
    "RouteResult",
    "Snapshot",
    "UnknownCity",
    "Wait",
    "plan",
]
