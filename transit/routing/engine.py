"""The search: connection scans over a snapshot's timeline (see docs/routing.md).

Inside this module the vocabulary is the algorithm's: a *run* is one timetable on one service
date, a *connection* a ride between two consecutive stops of a run, a *label* a way of being
somewhere (ready to board at a city, or aboard a run) with its fare and number of rides.

Every scan works on a ``Direction``: forwards for "depart at", backwards (times negated, stops
read last to first) for "arrive by", so one piece of code serves both.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from transit.routing.snapshot import Direction, Snapshot, Timeline

INF = 1 << 62
_RIDE_CAP = 32
_FIRST_CHUNK = 512
_MAX_CHUNK = 16384


@dataclass(frozen=True)
class Leg:
    """One ride of a found journey, in forward time: timetable, stop rows, absolute times."""

    trip: int
    board_row: int
    alight_row: int
    departure: int
    arrival: int


@dataclass
class Search:
    """One scan's inputs, already in the direction's terms (times negated when reversed)."""

    snapshot: Snapshot
    direction: Direction
    timeline: Timeline
    origin: int
    target: int
    start: int
    end: int
    mct: list[int]
    trip_ok: list[bool] | None
    max_rides: int | None = None


def _chunks(s: Search, with_rows: bool) -> Iterator[tuple[int, list[Any]]]:
    """Yield the scanned range of the timeline as Python lists, in growing chunks."""
    tl = s.timeline
    lo = int(np.searchsorted(tl.dep, s.start, "left"))
    hi = int(np.searchsorted(tl.dep, s.end, "right"))
    d = s.direction
    size = _FIRST_CHUNK
    while lo < hi:
        top = min(hi, lo + size)
        conn = tl.conn[lo:top]
        cols = [
            tl.dep[lo:top].tolist(),
            tl.arr[lo:top].tolist(),
            tl.run[lo:top].tolist(),
            d.from_city[conn].tolist(),
            d.to_city[conn].tolist(),
            d.flags[conn].tolist(),
            s.snapshot.conn_trip[conn].tolist(),
            range(lo, top),
        ]
        if with_rows:
            cols.append(d.from_pos[conn].tolist())
            cols.append(d.to_pos[conn].tolist())
        yield lo, cols
        lo = top
        size = min(size * 2, _MAX_CHUNK)


def earliest_arrival(s: Search) -> int | None:
    """The earliest arrival at the target, or None (plain connection scan, no ride limit)."""
    ready: dict[int, int] = {s.origin: s.start}
    aboard: set[int] = set()
    best = INF
    mct, walks, target, end, trip_ok = s.mct, s.direction.walks, s.target, s.end, s.trip_ok
    for _, cols in _chunks(s, False):
        for d, a, x, fr, to, fl, trip, _k in zip(*cols, strict=True):
            if d >= best:
                return best
            if x not in aboard:
                if not fl & 1:
                    continue
                r = ready.get(fr)
                if r is None or r > d or (trip_ok is not None and not trip_ok[trip]):
                    continue
                aboard.add(x)
            if a > end or not fl & 2:
                continue
            if to == target:
                if a < best:
                    best = a
                continue
            r = a + mct[to]
            if r < ready.get(to, INF):
                ready[to] = r
            w = walks.get(to)
            if w:
                for c2, secs in w:
                    if a + secs < ready.get(c2, INF):
                        ready[c2] = a + secs
    return best if best < INF else None


# A stop label: (ready, fare, rides, parent); parent is None at the origin, else
# (trip label, timeline index of the alighting connection).
# A trip label: (value, rides as a criterion, boarding row, stop label, timeline index of
# boarding, rides counted).
# value is the fare before boarding minus the cumulative fare at the boarding row (additive
# fares, so values compare across boarding stops) or the fare before boarding (zone fares).


def pareto_scan(
    s: Search,
    key: Callable[[int, int, int], tuple[int, ...]] | None,
    use_fare: bool,
    use_rides: bool,
) -> list[tuple[int, int, int, Any]]:
    """Multi-criteria scan. Returns target labels (arrival, fare, rides, parent).

    With ``key`` (a lexicographic objective of (arrival, fare, rides)) only the best label is
    kept and returned; without it, the Pareto set over the three. Fares (rides) that are not
    a criterion are counted as 0 and left to the itinerary to compute.
    """
    snap = s.snapshot
    mct, walks, target, end, trip_ok = s.mct, s.direction.walks, s.target, s.end, s.trip_ok
    max_rides = s.max_rides
    reverse = s.direction.reverse
    cumv = snap.as_list("cum_backward" if reverse else "cum_forward") if use_fare else None
    od_of_trip = snap.as_list("trip_od") if use_fare else None
    bags: dict[int, list[tuple[int, int, int, Any]]] = {s.origin: [(s.start, 0, 0, None)]}
    trips: dict[int, list[tuple[int, int, int, Any, int, int]]] = {}
    best_key: tuple[int, ...] | None = None
    best: tuple[int, int, int, Any] | None = None
    found: list[tuple[int, int, int, Any]] = []
    stop_at = INF  # options: a found (arrival, fare 0, one ride) beats everything later

    # Options: the found labels that arrive by the scan time, as the lowest fare per number of
    # rides or fewer. Whatever is built from now on arrives later, so those labels suffice
    # to reject it (the ones still to arrive are checked when a label reaches the target).
    lowest = [INF] * (_RIDE_CAP + 1)
    arriving: list[tuple[int, int, int]] = []

    def dominated_by_found(t: int, f: int, b: int) -> bool:
        if key is not None:
            return best_key is not None and key(t, f, b) >= best_key
        return lowest[b if b < _RIDE_CAP else _RIDE_CAP] <= f

    stop_city = snap.as_list("stop_city") if use_fare else []

    def fare_of(od: dict[tuple[int, int], int], bpos: int, tpos: int) -> int:
        assert cumv is not None
        board, alight = (tpos, bpos) if reverse else (bpos, tpos)
        price = od.get((stop_city[board], stop_city[alight]))
        if price is not None:
            return price
        # Both directions: the cumulative values grow along the ride's own direction.
        return cumv[tpos] - cumv[bpos]

    for _, cols in _chunks(s, True):
        for d, a, x, fr, to, fl, trip, k, fpos, tpos in zip(*cols, strict=True):
            if key is not None:
                if best_key is not None and key(d, 0, 1) >= best_key:
                    return [best] if best is not None else []
            else:
                if d >= stop_at:
                    return found
                while arriving and arriving[0][0] <= d:
                    _, f0, b0 = heapq.heappop(arriving)
                    for i in range(min(b0, _RIDE_CAP), _RIDE_CAP + 1):
                        if lowest[i] > f0:
                            lowest[i] = f0
            tls = trips.get(x)
            if fl & 1 and (trip_ok is None or trip_ok[trip]):
                bag = bags.get(fr)
                if bag:
                    od = od_of_trip[trip] if od_of_trip is not None else None
                    for label in bag:
                        if label[0] > d:
                            continue
                        f = label[1]
                        b = label[2] + 1 if use_rides else 0
                        if max_rides is not None and label[2] + 1 > max_rides:
                            continue
                        if dominated_by_found(a, f, b):
                            continue
                        if cumv is not None and od is None:
                            v = f - cumv[fpos]
                        else:
                            v = f
                        if tls is None:
                            tls = trips[x] = []
                        skip = False
                        for t2 in tls:
                            if t2[0] <= v and t2[1] <= b and (od is None or t2[2] == fpos):
                                skip = True
                                break
                        if skip:
                            continue
                        if tls:
                            tls[:] = [
                                t2
                                for t2 in tls
                                if not (v <= t2[0] and b <= t2[1] and (od is None or t2[2] == fpos))
                            ]
                        # Rides are kept for the itinerary even when not a criterion.
                        tls.append((v, b, fpos, label, k, label[2] + 1))
            if not tls or a > end or not fl & 2:
                continue
            od = od_of_trip[trip] if od_of_trip is not None else None
            for tl_ in tls:
                v, b = tl_[0], tl_[1]
                if cumv is None:
                    f = 0
                elif od is None:
                    f = v + cumv[tpos]
                else:
                    f = v + fare_of(od, tl_[2], tpos)
                if to == target:
                    if key is not None:
                        kk = key(a, f, b)
                        if best_key is None or kk < best_key:
                            best_key = kk
                            best = (a, f, b, (tl_, k))
                        continue
                    if any(g[0] <= a and g[1] <= f and g[2] <= b for g in found):
                        continue
                    heapq.heappush(arriving, (a, f, b))
                    found[:] = [
                        g for g in found if not (a <= g[0] and f <= g[1] and b <= g[2])
                    ]
                    found.append((a, f, b, (tl_, k)))
                    if f == 0 and b <= 1 and a < stop_at:
                        stop_at = a
                    continue
                nb = tl_[5]
                if max_rides is not None and nb >= max_rides:
                    continue  # may not board again; only the target helps
                parent = (tl_, k)
                _add(bags, to, a + mct[to], f, b, parent, dominated_by_found)
                w = walks.get(to)
                if w:
                    for c2, secs in w:
                        _add(bags, c2, a + secs, f, b, parent, dominated_by_found)
    if key is not None:
        return [best] if best is not None else []
    return found


def _add(
    bags: dict[int, list[tuple[int, int, int, Any]]],
    city: int,
    ready: int,
    fare: int,
    rides: int,
    parent: Any,
    dominated_by_found: Callable[[int, int, int], bool],
) -> None:
    # Whatever boards from here arrives at or after ``ready`` and rides once more.
    if dominated_by_found(ready, fare, rides + 1 if rides else rides):
        return
    bag = bags.get(city)
    if bag is None:
        bags[city] = [(ready, fare, rides, parent)]
        return
    for r2, f2, b2, _ in bag:
        if r2 <= ready and f2 <= fare and b2 <= rides:
            return
    bag[:] = [g for g in bag if not (ready <= g[0] and fare <= g[1] and rides <= g[2])]
    bag.append((ready, fare, rides, parent))


def legs_of(s: Search, label: tuple[int, int, int, Any]) -> list[Leg]:
    """The rides of a target label, first to last in forward time."""
    snap, tl = s.snapshot, s.timeline
    out: list[Leg] = []
    parent = label[3]
    while parent is not None:
        trip_label, k_alight = parent
        k_board = trip_label[4]
        cb, ca = int(tl.conn[k_board]), int(tl.conn[k_alight])
        trip = int(snap.conn_trip[cb])
        if s.direction.reverse:
            leg = Leg(
                trip,
                int(snap.conn_from[ca]),
                int(snap.conn_to[cb]),
                -int(tl.arr[k_alight]),
                -int(tl.dep[k_board]),
            )
        else:
            leg = Leg(
                trip,
                int(snap.conn_from[cb]),
                int(snap.conn_to[ca]),
                int(tl.dep[k_board]),
                int(tl.arr[k_alight]),
            )
        out.append(leg)
        parent = trip_label[3][3]
    if not s.direction.reverse:
        out.reverse()
    return out


def leaves_origin(s: Search) -> bool:
    """Whether any usable connection leaves the search's origin within its range."""
    tl = s.timeline
    lo = int(np.searchsorted(tl.dep, s.start, "left"))
    hi = int(np.searchsorted(tl.dep, s.end, "right"))
    conn = tl.conn[lo:hi]
    d = s.direction
    mask = (d.from_city[conn] == s.origin) & ((d.flags[conn] & 1) == 1)
    if s.trip_ok is not None and mask.any():
        ok = np.array(s.trip_ok, dtype=bool)
        mask &= ok[s.snapshot.conn_trip[conn]]
    return bool(mask.any())
