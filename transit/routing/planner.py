"""``plan``: check a query, run the searches its criterion needs, build itineraries."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import numpy as np

from transit.routing.engine import (
    BY_ARRIVAL,
    BY_FARE_THEN_ARRIVAL,
    BY_RIDES_THEN_ARRIVAL,
    BY_RIDES_THEN_FARE,
    Found,
    Search,
    arrival_and_latest,
    cheapest_first,
    earliest_arrival,
    earliest_journey,
    latest_departures,
    leaves_origin,
    legs_of,
    pareto_scan,
)
from transit.routing.itinerary import (
    Itinerary,
    Reason,
    RouteResult,
    build_itinerary,
    local_time,
)
from transit.routing.query import Query, QueryError, UnknownCity
from transit.routing.snapshot import UNREACHABLE, Snapshot

_EPOCH = dt.datetime(1970, 1, 1)


def instant(value: dt.datetime, zone: str | dt.tzinfo) -> int:
    """Unix seconds of ``value``; a naive datetime is read as local time in ``zone``."""
    if value.tzinfo is None:
        # The same as value.replace(tzinfo=zone).timestamp() (the offset honours ``fold``),
        # a few times faster.
        offset = (ZoneInfo(zone) if isinstance(zone, str) else zone).utcoffset(value)
        assert offset is not None
        return int((value - _EPOCH - offset).total_seconds())
    return int(value.timestamp())


def _lowest_arrival(s: Search) -> int | None:
    if s.max_rides is None:
        return earliest_arrival(s)
    found = pareto_scan(s, BY_ARRIVAL, use_fare=False, use_rides=True)
    return found[0][0] if found else None


def _opposite(s: Search, start: int, end: int) -> Search:
    """The same journeys seen from the other end: the opposite direction, over [start, end]."""
    snap = s.snapshot
    view = snap.forward if s.direction.reverse else snap.backward
    return replace(
        s,
        direction=view,
        timeline=snap.timeline(view, start, end),
        origin=s.target,
        target=s.origin,
        start=start,
        end=end,
    )


def _search(s: Search, criterion: str) -> list[tuple[Search, Found]]:
    """Target labels for the criterion, best first, each with the search that found it."""
    if s.snapshot.bounds(s.direction, s.target)[1][s.origin] >= UNREACHABLE:
        return []  # no sequence of rides, whenever they run, links the two cities
    # Where no fare is set, every journey costs 0 and fares decide nothing.
    use_fare = not s.snapshot.fare_free
    if criterion == "cheapest" and not use_fare and s.max_rides is None:
        journey = earliest_journey(s)  # the cheapest is then the earliest arrival
        return [] if journey is None else [(s, journey)]
    if criterion == "fastest":
        arrival = _lowest_arrival(s)
        if arrival is None:
            return []
        # The latest departure that still arrives then: the same scan, backwards in time;
        # without a ride limit, that scan also bounds the departures of the next one.
        backwards = _opposite(s, -arrival, -s.start)
        if s.max_rides is None:
            back, latest = arrival_and_latest(backwards)
        else:
            back = _lowest_arrival(backwards)
            latest = None
        assert back is not None, "a journey found forwards exists backwards"
        narrow = replace(s, start=-back, end=arrival)
        found = pareto_scan(
            narrow, BY_RIDES_THEN_FARE, use_fare=use_fare, use_rides=True,
            latest=latest_departures(narrow) if latest is None else latest, use_time=False,
        )
        return [(narrow, label) for label in found]
    # Boardings too late to reach the destination within the window are useless: worth a
    # scan to find them when the search is large.
    def bound() -> np.ndarray:
        return latest_departures(s)

    if criterion == "cheapest" and s.max_rides is None and not s.snapshot.negative_fares:
        found = cheapest_first(s, bound())
    elif criterion == "cheapest":
        found = pareto_scan(
            s, BY_FARE_THEN_ARRIVAL, use_fare=use_fare, use_rides=s.max_rides is not None,
            latest=bound,
        )
    elif criterion == "transfers":
        # The ride bound leaves few labels: the latest departures would not pay for their scan.
        # Most journeys need no more rides than the static bound says: a scan that keeps
        # only those (then one more) prunes far more, and what it finds is the optimum.
        least = int(s.snapshot.bounds(s.direction, s.target)[1][s.origin])
        caps: list[int | None] = [
            cap for cap in (least, least + 1) if s.max_rides is None or cap < s.max_rides
        ]
        for cap in [*caps, None]:
            found = pareto_scan(s, BY_RIDES_THEN_ARRIVAL, use_fare=False, use_rides=True, cap=cap)
            if found:
                break
    else:
        found = pareto_scan(s, None, use_fare=use_fare, use_rides=True, latest=bound)
        found.sort(key=lambda journey: (journey[0], journey[1], journey[2]))
    return [(s, label) for label in found]


def plan(snapshot: Snapshot, query: Query, now: dt.datetime | None = None) -> RouteResult:
    """Answer ``query`` on ``snapshot`` following docs/routing.md.

    Raises ``UnknownCity`` for a city name the snapshot does not know and ``QueryError`` for
    an unusable field. An empty result carries a message saying why.
    """
    query.check()
    origin = snapshot.find_city(query.origin)
    if origin is None:
        raise UnknownCity(query.origin)
    destination = snapshot.find_city(query.destination)
    if destination is None:
        raise UnknownCity(query.destination)
    if origin == destination:
        raise QueryError("destination", "the destination is the origin")
    # From here on the cities go by their stored names (messages, itineraries).
    query = replace(query, origin=snapshot.city_names[origin],
                    destination=snapshot.city_names[destination])
    window = int(round(query.window_hours * 3600))
    arrive_by = query.arrive_by is not None
    if query.arrive_by is not None:
        deadline = instant(query.arrive_by, snapshot.city_tz[destination])
        low, high = deadline - window, deadline
        view = snapshot.backward
        v_origin, v_target, v_start, v_end = destination, origin, -deadline, -low
    else:
        when = query.depart or now or dt.datetime.now(dt.UTC)
        start = instant(when, snapshot.city_tz[origin])
        low, high = start, start + window
        view = snapshot.forward
        v_origin, v_target, v_start, v_end = origin, destination, start, high
    mct = snapshot.min_connection(query.min_connection_minutes)
    trip_ok = snapshot.trip_modes(query.modes)
    max_rides = None if query.max_transfers is None else query.max_transfers + 1
    s = Search(
        snapshot, view, snapshot.timeline(view, v_start, v_end), v_origin, v_target, v_start,
        v_end, mct, trip_ok, max_rides,
    )
    found = _search(s, query.criterion)
    itineraries: list[Itinerary] = [
        build_itinerary(snapshot, legs_of(search, label)) for search, label in found
    ]
    if itineraries:
        return RouteResult(itineraries)
    return RouteResult([], _why_empty(snapshot, query, s, low, high, arrive_by))


def N_(msgid: str) -> str:
    """Marks a message for extraction (``babel.cfg``): the web pages translate it."""
    return msgid


def _why_empty(
    snapshot: Snapshot,
    query: Query,
    s: Search,
    low: int,
    high: int,
    arrive_by: bool,
) -> Reason:
    origin_zone = snapshot.city_zone[snapshot.city_index[query.origin]]
    dest_zone = snapshot.city_zone[snapshot.city_index[query.destination]]
    fmt = "%Y-%m-%d %H:%M"
    places = {"origin": query.origin, "destination": query.destination}
    if s.trip_ok is not None:
        unfiltered = replace(s, trip_ok=None)
        if _search(unfiltered, query.criterion):
            return (
                N_(
                    "No journey from %(origin)s to %(destination)s uses only %(modes)s: "
                    "the mode filter removed every journey."
                ),
                {**places, "modes": tuple(sorted(query.modes or ()))},
            )
    plain = replace(s, trip_ok=None)
    if not leaves_origin(plain):
        if arrive_by:
            return (
                N_("No service reaches %(destination)s between %(start)s and %(end)s (local time)."),
                {
                    **places,
                    "start": local_time(low, dest_zone).strftime(fmt),
                    "end": local_time(high, dest_zone).strftime(fmt),
                },
            )
        return (
            N_("No service leaves %(origin)s between %(start)s and %(end)s (local time)."),
            {
                **places,
                "start": local_time(low, origin_zone).strftime(fmt),
                "end": local_time(high, origin_zone).strftime(fmt),
            },
        )
    hours = f"{query.window_hours:g}"
    if query.max_transfers is None:
        return (
            N_("%(destination)s cannot be reached from %(origin)s within the %(hours)s-hour window."),
            {**places, "hours": hours},
        )
    if query.max_transfers == 1:
        return (
            N_(
                "%(destination)s cannot be reached from %(origin)s within the %(hours)s-hour "
                "window with at most 1 transfer."
            ),
            {**places, "hours": hours},
        )
    return (
        N_(
            "%(destination)s cannot be reached from %(origin)s within the %(hours)s-hour "
            "window with at most %(transfers)s transfers."
        ),
        {**places, "hours": hours, "transfers": query.max_transfers},
    )
