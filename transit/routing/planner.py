"""``plan``: check a query, run the searches its criterion needs, build itineraries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import replace
from zoneinfo import ZoneInfo

import numpy as np

from transit.names import fold
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
    pareto_first,
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
from transit.routing.snapshot import UNREACHABLE, CalendarRule, Snapshot

_EPOCH = dt.datetime(1970, 1, 1)


class AmbiguousCity(UnknownCity):
    """No city has this name, but several are this name with their stop id appended (two
    stations of one name: ``125 St (116)``, ``125 St (225)``, docs/formats.md), or share
    it as their pinyin (苏州 and 宿州 are both "Suzhou")."""

    def __init__(self, name: str, candidates: list[str]) -> None:
        super().__init__(name)
        self.candidates = candidates


# A name with a stop id appended to tell two stations of one name apart.
_DISAMBIGUATED = re.compile(r"(.+) \([^()]+\)")


def same_name_cities(names: Iterable[str], text: str) -> list[str]:
    """The names that are ``text`` (in any case) with a stop id appended."""
    wanted = fold(text)
    return sorted(
        name for name in names
        if (match := _DISAMBIGUATED.fullmatch(name)) and fold(match[1]) == wanted
    )


def _find_city(snapshot: Snapshot, text: str) -> int:
    """The city ``text`` names; ``UnknownCity`` (``AmbiguousCity`` where it is a name
    several stations share) when none has it."""
    found = snapshot.find_city(text)
    if found is not None:
        return found
    candidates = same_name_cities(snapshot.city_names, text) or [
        snapshot.city_names[i] for i in snapshot.city_lookup.spelt_alike(text)
    ]
    if len(candidates) > 1:
        raise AmbiguousCity(text, candidates)
    raise UnknownCity(text, snapshot.close_cities(text))


def instant(value: dt.datetime, zone: str | dt.tzinfo) -> int:
    """Unix seconds of ``value``; a naive datetime is read as local time in ``zone``.

    A local time the clocks skip (02:30 when they jump from 02:00 to 03:00) is the moment
    they jump: the earliest instant not before it and the latest not after it, so that
    asking from an earlier time never gives a later journey. (Python alone would read it
    with the offset of before the jump: an hour late.) A repeated local time is read as
    ``fold`` says: its first occurrence unless ``fold=1``. An aware datetime in a zone of the
    zone database (the pages' times) is such a local time too.
    """
    if isinstance(value.tzinfo, ZoneInfo):
        zone = value.tzinfo
        value = value.replace(tzinfo=None)
    if value.tzinfo is None:
        # The same as value.replace(tzinfo=zone).timestamp() (the offset honours ``fold``),
        # a few times faster.
        tz = ZoneInfo(zone) if isinstance(zone, str) else zone
        before, after = tz.utcoffset(value.replace(fold=0)), tz.utcoffset(value.replace(fold=1))
        assert before is not None and after is not None
        if after > before:  # skipped: the clocks jump somewhere between these two readings
            return _jump(tz, int((value - _EPOCH - after).total_seconds()),
                         int((value - _EPOCH - before).total_seconds()), after)
        offset = tz.utcoffset(value)
        assert offset is not None
        return int((value - _EPOCH - offset).total_seconds())
    return int(value.timestamp())


def _jump(tz: dt.tzinfo, low: int, high: int, after: dt.timedelta) -> int:
    """The first second in [low, high] at which ``tz`` has the offset ``after``."""
    while low < high:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, tz).utcoffset() == after:
            high = middle
        else:
            low = middle + 1
    return low


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


def _unconnected(s: Search) -> bool:
    """Whether no sequence of rides, whenever they run, links the two cities."""
    return bool(s.snapshot.bounds(s.direction, s.target)[1][s.origin] >= UNREACHABLE)


def _search(s: Search, criterion: str) -> list[tuple[Search, Found]]:
    """Target labels for the criterion, best first, each with the search that found it."""
    if _unconnected(s):
        return []
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
    elif not use_fare:
        # Fares decide nothing: the scan in time order stops at the last useful arrival.
        found = pareto_scan(s, None, use_fare=False, use_rides=True, latest=bound)
    else:
        # With fares, the search in order of fare gets there with less work (measured).
        latest = bound()
        first = pareto_first(s, latest)
        found = (
            pareto_scan(s, None, use_fare=True, use_rides=True, latest=latest)
            if first is None else first
        )
    if criterion == "options":
        found.sort(key=lambda journey: (journey[0], journey[1], journey[2]))
    return [(s, label) for label in found]


def plan(snapshot: Snapshot, query: Query, now: dt.datetime | None = None) -> RouteResult:
    """Answer ``query`` on ``snapshot`` following docs/routing.md.

    Raises ``UnknownCity`` for a city name the snapshot does not know and ``QueryError`` for
    an unusable field. An empty result carries a message saying why.
    """
    query.check()
    origin = _find_city(snapshot, query.origin)
    destination = _find_city(snapshot, query.destination)
    if origin == destination:
        raise QueryError("destination", "the origin and the destination are the same city")
    window = int(round(query.window_hours * 3600))
    arrive_by = query.arrive_by is not None
    clipped = False  # the window starts at not_before, not a whole window before the deadline
    if query.arrive_by is not None:
        deadline = instant(query.arrive_by, snapshot.city_tz[destination])
        low, high = deadline - window, deadline
        if query.not_before is not None:
            earliest = instant(query.not_before, snapshot.city_tz[origin])
            if low < earliest < deadline:
                low, clipped = earliest, True
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
        build_itinerary(snapshot, legs_of(search, label), origin, destination)
        for search, label in found
    ]
    # A walk from the origin to the destination is a journey of its own (no ride: the
    # scans find none such), leaving at the asked time (arriving by the deadline).
    finish = snapshot.finish(view, v_target)
    walk = int(finish[v_origin]) if len(finish) else -1
    if walk >= 0 and v_start + walk <= v_end:
        times = (-v_start - walk, -v_start) if arrive_by else (v_start, v_start + walk)
        alone = build_itinerary(snapshot, [], origin, destination, times)
        itineraries = _with_walk(itineraries, alone, query.criterion, arrive_by)
    if itineraries:
        return RouteResult(itineraries)
    # The message names the cities as stored, whatever the query called them.
    named = replace(query, origin=snapshot.city_names[origin],
                    destination=snapshot.city_names[destination])
    return RouteResult([], _why_empty(snapshot, named, s, low, high, arrive_by, clipped))


def _with_walk(
    found: list[Itinerary], walk: Itinerary, criterion: str, arrive_by: bool
) -> list[Itinerary]:
    """The answer once the walk-only journey ``walk`` competes with the journeys found, by
    the criterion's own order (docs/routing.md, "Which journey is best"; it counts 0
    transfers, fare 0); on a full tie the journey found stays."""

    def when(it: Itinerary) -> int:  # the time that counts first: arrival, or departure
        return -it.departure_seconds if arrive_by else it.arrival_seconds

    def other(it: Itinerary) -> int:
        return it.arrival_seconds if arrive_by else -it.departure_seconds

    if criterion == "options":
        def triple(it: Itinerary) -> tuple[int, int, int]:
            return when(it), it.fare_cents, it.transfers

        w = triple(walk)
        if any(all(x <= y for x, y in zip(triple(it), w, strict=True)) for it in found):
            return found
        kept = [it for it in found
                if not all(y <= x for x, y in zip(triple(it), w, strict=True))]
        return sorted([*kept, walk], key=triple)
    if criterion == "fastest":
        def key(it: Itinerary) -> tuple[int, ...]:
            return when(it), other(it), it.transfers, it.fare_cents
    elif criterion == "cheapest":
        def key(it: Itinerary) -> tuple[int, ...]:
            return it.fare_cents, when(it)
    else:
        def key(it: Itinerary) -> tuple[int, ...]:
            return it.transfers, when(it)
    if found and key(found[0]) <= key(walk):
        return found
    return [walk]


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
    clipped: bool = False,
) -> Reason:
    origin_zone = snapshot.city_zone[snapshot.city_index[query.origin]]
    dest_zone = snapshot.city_zone[snapshot.city_index[query.destination]]
    fmt = "%Y-%m-%d %H:%M"
    places = {"origin": query.origin, "destination": query.destination}
    # First what no date or mode could change.
    if _unconnected(s):
        return (
            N_(
                "No service connects %(origin)s to %(destination)s at any time: no sequence "
                "of rides leads from one to the other."
            ),
            places,
        )
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
        zone = dest_zone if arrive_by else origin_zone
        span = {
            **places,
            "start": local_time(low, zone).strftime(fmt),
            "end": local_time(high, zone).strftime(fmt),
        }
        city = snapshot.city_index[query.destination if arrive_by else query.origin]
        dates = _dates_served(snapshot, city, arriving=arrive_by)
        if dates is not None and _outside(snapshot, city, dates, low, high, arrive_by):
            span.update(first=dates[0].isoformat(), last=dates[1].isoformat())
            if arrive_by:
                return (
                    N_(
                        "No service reaches %(destination)s between %(start)s and %(end)s "
                        "(local time): the timetables of the services there run from "
                        "%(first)s to %(last)s."
                    ),
                    span,
                )
            return (
                N_(
                    "No service leaves %(origin)s between %(start)s and %(end)s (local time): "
                    "the timetables of the services there run from %(first)s to %(last)s."
                ),
                span,
            )
        if arrive_by:
            return (
                N_("No service reaches %(destination)s between %(start)s and %(end)s (local time)."),
                span,
            )
        return (
            N_("No service leaves %(origin)s between %(start)s and %(end)s (local time)."),
            span,
        )
    if clipped:
        return (
            N_(
                "No journey leaving %(origin)s from now (%(start)s) reaches %(destination)s "
                "by %(end)s (local times)."
            ),
            {
                **places,
                "start": local_time(low, origin_zone).strftime(fmt),
                "end": local_time(high, dest_zone).strftime(fmt),
            },
        )
    hours = f"{round(query.window_hours, 2):g}"  # 1.33, not 1.33333
    if query.max_transfers is None:
        return (
            N_("%(destination)s cannot be reached from %(origin)s within the %(hours)s-hour window."),
            {**places, "hours": hours},
        )
    if query.max_transfers == 0:
        return (
            N_(
                "%(destination)s cannot be reached from %(origin)s within the %(hours)s-hour "
                "window without a transfer."
            ),
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


def _calls(snapshot: Snapshot, city: int, arriving: bool) -> np.ndarray:
    """The stop rows where a run may be boarded at ``city`` (``arriving``: alighted): never
    at its last stop (its first), which it does not leave (reach)."""
    allowed = snapshot.stop_alight if arriving else snapshot.stop_board
    rows = np.flatnonzero((snapshot.stop_city == city) & allowed)
    trips = snapshot.stop_trip
    # Each run's stops are consecutive rows: a last stop is followed by another run's first.
    ends = rows - 1 if arriving else rows + 1
    inside = (ends >= 0) & (ends < len(trips))
    keep = np.zeros(len(rows), dtype=bool)
    keep[inside] = trips[ends[inside]] == trips[rows[inside]]
    return rows[keep]


def _dates_served(
    snapshot: Snapshot, city: int, arriving: bool
) -> tuple[dt.date, dt.date] | None:
    """The first and last service dates of the runs that call at ``city`` (None when a
    calendar has no end, or no run calls there)."""
    trips = np.unique(snapshot.stop_trip[_calls(snapshot, city, arriving)])
    days: list[dt.date] = []
    for cal in np.unique(snapshot.trip_calendar[trips]).tolist():
        rule = snapshot.calendars[cal]
        if rule.weekdays & 0b1111111:
            if rule.start is None or rule.end is None:
                return None
            # The days it really runs: a weekday calendar from a Sunday starts on Monday.
            ran = _first_run(rule, rule.start, 1), _first_run(rule, rule.end, -1)
            days += [day for day in ran if day is not None]
        days += rule.added
    return (min(days), max(days)) if days else None


def _first_run(rule: CalendarRule, day: dt.date, step: int) -> dt.date | None:
    """The first day from ``day`` on (``step`` -1: back) that ``rule`` runs, within its dates."""
    assert rule.start is not None and rule.end is not None
    last = rule.end if step > 0 else rule.start
    # By ordinal, as calendar_days.days_between: 9999-12-31 has no day after it.
    days = map(dt.date.fromordinal, range(day.toordinal(), last.toordinal() + step, step))
    return next((d for d in days if rule.runs_on(d)), None)


def _outside(
    snapshot: Snapshot,
    city: int,
    dates: tuple[dt.date, dt.date],
    low: int,
    high: int,
    arriving: bool,
) -> bool:
    """Whether the window [low, high] lies wholly before the first service date's calls at
    ``city`` or after the last one's (times past midnight included)."""
    rows = _calls(snapshot, city, arriving)
    times = (snapshot.stop_arr if arriving else snapshot.stop_dep)[rows]
    zone = snapshot.city_tz[city]

    def start_of(day: dt.date) -> int:  # the GTFS rule: noon minus 12 hours
        return instant(dt.datetime.combine(day, dt.time(12)), zone) - 12 * 3600

    first = start_of(dates[0]) + int(times.min())
    last = start_of(dates[1]) + int(times.max())
    return high < first or low > last
