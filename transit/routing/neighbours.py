"""The journeys just before and just after an answer: what "Earlier" and "Later" ask for.

A traveller who sees the 08:00 journey asks for the one before or after it. Each is found
by the fastest search (a few milliseconds), and given back as the time to ask again with:
a departure time at the origin for a "leave at" query, a deadline at the destination for
an "arrive by" one, to the minute, so that asking again with it finds that journey.

Asked by another criterion, the answer at that time may be the one shown (the cheapest
journey leaving after 09:00 may be the 13:30 shown for 12:00: it leaves after both). Then
the journey before (or after) that one is tried, up to ``MAX_STEPS`` of them: a link leads
to another answer, or there is none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from transit.routing.itinerary import Itinerary, RouteResult
from transit.routing.planner import plan
from transit.routing.query import Query
from transit.routing.snapshot import Snapshot

MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)
# Journeys tried, one before another, for an "Earlier" (or "Later") that changes the answer.
MAX_STEPS = 4


def neighbours(
    snapshot: Snapshot, query: Query, result: RouteResult
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(earlier, later): the times to ask ``query`` again with for the journey before the
    answer's and the one after it, local to the city the query's time is read in; None
    where there is none (within the query's window, and for "arrive by" not before its
    ``not_before``)."""
    if not result.itineraries:
        return None, None
    journeys = result.itineraries
    if query.arrive_by is None:
        # Later: the first journey leaving after the earliest departure shown.
        start = min(journey.departure for journey in journeys)
        after = _fastest(snapshot, query, depart=_floor(start) + MINUTE)
        # Earlier: every journey leaving at or after the asked time arrives no earlier than
        # the fastest one, so the latest departure arriving before it leaves before that time.
        fastest = journeys[0] if query.criterion == "fastest" else _fastest(snapshot, query)
        before = None
        if fastest is not None:
            before = _fastest(snapshot, query, depart=None, arrive_by=fastest.arrival - SECOND)
        for _ in range(MAX_STEPS):
            if before is None or _changes(snapshot, query, result, depart=_floor(before.departure)):
                break
            before = _fastest(snapshot, query, depart=None, arrive_by=before.arrival - SECOND)
        else:
            before = None  # the same answer as far back as was tried
        return (
            _floor(before.departure) if before else None,
            _floor(after.departure) if after else None,
        )
    # Arriving by a deadline, the same seen from the other end.
    end = max(journey.arrival for journey in journeys)
    before = _fastest(snapshot, query, arrive_by=_ceil(end) - MINUTE)
    latest = journeys[0] if query.criterion == "fastest" else _fastest(snapshot, query)
    after = None
    if latest is not None:
        after = _fastest(snapshot, query, arrive_by=None, depart=latest.departure + SECOND)
    for _ in range(MAX_STEPS):
        if after is None or _changes(snapshot, query, result, arrive_by=_ceil(after.arrival)):
            break
        after = _fastest(snapshot, query, arrive_by=None, depart=after.departure + SECOND)
    else:
        after = None
    return (
        _ceil(before.arrival) if before else None,
        _ceil(after.arrival) if after else None,
    )


def _changes(snapshot: Snapshot, query: Query, result: RouteResult, **changes: object) -> bool:
    """Whether ``query`` asked again with ``changes`` gives journeys other than
    ``result``'s (always, by the fastest criterion: the neighbours are found by it)."""
    if query.criterion == "fastest":
        return True
    again = plan(snapshot, replace(query, **changes))  # type: ignore[arg-type]
    return _shown(again) != _shown(result)


def _shown(result: RouteResult) -> list[tuple[object, ...]]:
    return [(j.departure, j.arrival, j.fare_cents, [(leg.service, leg.departure) for leg in j.legs])
            for j in result.itineraries]


def _fastest(snapshot: Snapshot, query: Query, **changes: object) -> Itinerary | None:
    found = plan(snapshot, replace(query, criterion="fastest", **changes)).itineraries  # type: ignore[arg-type]
    return found[0] if found else None


def _floor(when: dt.datetime) -> dt.datetime:
    return when.replace(second=0, microsecond=0)


def _ceil(when: dt.datetime) -> dt.datetime:
    floor = _floor(when)
    return floor if floor == when else floor + MINUTE
