"""The search: connection scans over a snapshot's timeline (see docs/routing.md).

Inside this module the vocabulary is the algorithm's: a *run* is one timetable on one service
date, a *connection* a ride between two consecutive stops of a run, a *label* a way of being
somewhere (ready to board at a city, or aboard a run) with its fare and number of rides.

Every scan works on a ``Direction``: forwards for "depart at", backwards (times negated, stops
read last to first) for "arrive by", so one piece of code serves both.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from transit.routing import kernels
from transit.routing.snapshot import Direction, Snapshot, Timeline

INF = kernels.INF
UNREACHABLE = kernels.UNREACHABLE
DEP, ARR, TRIP_FLAGS, FROM_POS = (
    kernels.DEP, kernels.ARR, kernels.TRIP_FLAGS, kernels.FROM_POS
)  # FROM_POS: a column of Timeline.wide
# The latest-departure scan stops once it has reached this share of the cities it can reach
# (kernels.boarding_reach); the rest get the stop time as their bound. Measured on the
# national networks (docs/routing.md): cheapest at 10x is as fast from 0.8 down to 0.1, at
# 1x faster the lower the share; options is as fast down to 0.3 and slower at 0.1.
LATEST_STOP_SHARE = 0.5
# Trip labels a scan may make before it is worth bounding the departures (pareto_scan).
PROBE_TRIP_LABELS = 2048
# Objectives of the single-best scans, lexicographic over (arrival t, fare f, rides b).
BY_ARRIVAL = kernels.KEY_T
BY_RIDES_THEN_FARE = kernels.KEY_BF
BY_FARE_THEN_ARRIVAL = kernels.KEY_FT
BY_RIDES_THEN_ARRIVAL = kernels.KEY_BT


class Leg(NamedTuple):
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
    mct: np.ndarray  # int64 seconds per city
    trip_ok: np.ndarray | None  # bool per timetable (None: every mode)
    max_rides: int | None = None

    def _common(self) -> tuple[Any, ...]:
        """The scans' first arguments (they find the records departing in [start, end])."""
        tl, d = self.timeline, self.direction
        trip_ok = self.snapshot.all_trips if self.trip_ok is None else self.trip_ok
        return (
            tl.rec, tl.run_low, tl.run_high, trip_ok, self.mct, d.walk_start, d.walk_to,
            d.walk_secs, self.origin, self.target, self.snapshot.finish(d, self.target),
            self.start - tl.base, self.end - tl.base,
        )


# A found journey: (arrival, fare, rides, rides as (boarding, alighting) timeline record
# indexes, last ride first in the scan's order). Fares (rides) that were not a criterion are 0.
Found = tuple[int, int, int, tuple[tuple[int, int], ...]]


def earliest_arrival(s: Search) -> int | None:
    """The earliest arrival at the target, or None (plain connection scan, no ride limit)."""
    best = int(kernels.earliest_arrival(*s._common()))
    return best + s.timeline.base if best < INF else None


def earliest_journey(s: Search) -> Found | None:
    """A journey with the earliest arrival at the target, or None (no ride limit; its fare
    and rides are left as 0: the itinerary computes them)."""
    best, rides = kernels.earliest_journey(*s._common())
    if best >= INF:
        return None
    return (int(best) + s.timeline.base, 0, 0, tuple(map(tuple, rides.tolist())))


def latest_departures(s: Search) -> np.ndarray:
    """Per city, the latest departure (absolute, in ``s``'s terms) from which the target can
    still be reached by ``s.end`` (-INF: none), from a scan of the opposite direction."""
    snap = s.snapshot
    view = snap.forward if s.direction.reverse else snap.backward
    opposite = replace(
        s, direction=view, timeline=snap.timeline(view, -s.end, -s.start), origin=s.target,
        target=-1, start=-s.end, end=-s.start,
    )
    return arrival_and_latest(opposite)[1]


def arrival_and_latest(s: Search) -> tuple[int | None, np.ndarray]:
    """The earliest arrival at ``s.target`` (None: none; no ride limit) and the bound that
    ``latest_departures`` gives for the opposite search ending at ``s.start``, both from
    one scan of ``s`` (the records departing by that arrival; all without a target)."""
    tl, snap = s.timeline, s.snapshot
    counted, need = snap.no_cities, 0
    # Without a target, the scan may stop early (LATEST_STOP_SHARE), counting the cities it
    # can reach at all: those a sequence of rides links to its origin (cached: the searches
    # bound with the same graphs). That needs rides that arrive no earlier than they leave.
    if tl.forward_in_time and s.target < 0:
        view = snap.forward if s.direction.reverse else snap.backward
        counted = snap.bounds(view, s.origin)[1] < UNREACHABLE
        counted[s.origin] = False
        need = math.ceil(counted.sum() * LATEST_STOP_SHARE)
    scan: Any = kernels.boarding_reach  # a numba dispatcher: mypy cannot follow the splat
    best, reach = scan(*s._common(), counted, need)
    latest = np.where(reach < INF, -(reach + tl.base), -INF)
    if need:
        # A ride back to the origin may come after the stop: no bound there (a journey
        # can pass through it, walking on).
        latest[s.origin] = INF
    return (int(best) + tl.base if best < INF else None), latest


def pareto_scan(
    s: Search,
    objective: int | None,
    use_fare: bool,
    use_rides: bool,
    latest: np.ndarray | Callable[[], np.ndarray] | None = None,
    use_time: bool = True,
    cap: int | None = None,
) -> list[Found]:
    """Multi-criteria connection scan; returns the target's journeys.

    Labels carry (ready time, fare, rides) in Pareto bags per city and per run; a run's labels
    compare fares as "fare before boarding minus the cumulative fare at the boarding row"
    (additive fares) or keep one label per boarding stop (zone fares, which do not add up).
    With ``objective`` (``BY_ARRIVAL``, ``BY_RIDES_THEN_FARE``, ...: a lexicographic order of
    (arrival, fare, rides)) only the best journey is kept, and labels that cannot beat it are
    dropped; without it, the Pareto set over the three, where labels that a found journey
    already beats on fare and rides while arriving no earlier are dropped. Fares (rides) that
    are not a criterion count as 0 and are left to the itinerary to compute. ``latest``
    (from ``latest_departures``) drops boardings too late to reach the target in time; given
    as a function, it is called only when a first try without it (nor time bounds) makes
    many labels;
    ``use_time`` bounds arrivals by the shortest rides too (not worth its cost where
    ``latest`` is tight and arrival is not a criterion). ``cap`` (with an objective that
    starts with fare or rides) keeps only journeys whose first criterion is at most ``cap``:
    labels that cannot stay within it are dropped from the start.
    """
    snap = s.snapshot
    fare_bound, ride_bound = snap.bounds(s.direction, s.target)
    none = snap.no_bound
    scan: Any = kernels.pareto_scan  # a numba dispatcher: mypy cannot follow the splat
    probing = callable(latest)
    bound = snap.no_latest if latest is None or callable(latest) else latest - s.timeline.base

    def time_bound() -> np.ndarray:
        return snap.time_bounds(s.direction, s.timeline, s.target) if use_time else none

    times = none if probing else time_bound()
    # A key to beat: (cap, INF) is beaten by every journey whose first criterion is <= cap.
    beat_key = (INF, INF) if cap is None else (int(cap), INF)
    assert cap is None or objective in (BY_FARE_THEN_ARRIVAL, BY_RIDES_THEN_ARRIVAL,
                                        BY_RIDES_THEN_FARE)
    while True:
        caps = snap.pool_sizes
        if probing:
            caps = (caps[0], min(caps[1], PROBE_TRIP_LABELS), caps[2])
        full, rows, t_k, t_lab, l_pt, l_pk = scan(
            *s._common(),
            s.timeline.wide,
            s.timeline.dep_start,
            s.timeline.dep_rec,
            s.timeline.dep_time,
            -1 if s.max_rides is None else int(s.max_rides),
            kernels.KEY_OPTIONS if objective is None else int(objective),
            bool(use_fare),
            bool(use_rides),
            snap.zone_fares,
            fare_bound if use_fare else none,
            ride_bound if use_rides else none,
            bound,
            times,
            *beat_key,
            *caps,
        )
        if not full:
            break
        if probing:
            # A large search: the scan for the latest departures pays for itself.
            assert callable(latest)
            bound = latest() - s.timeline.base
            times = time_bound()
            probing = False
            continue
        # That pool was too small: scan again with it four times as large (kept for later).
        grown = list(caps)
        grown[full - 1] *= 4
        snap.pool_sizes = (grown[0], grown[1], grown[2])
    return _journeys(s, rows, t_k, t_lab, l_pt, l_pk)


def cheapest_first(s: Search, latest: np.ndarray) -> list[Found]:
    """The cheapest journey (ties: the earliest arrival), from a search that takes labels
    in order of fare (kernels.cheapest_first), or []. Fares must be >= 0 and there must be
    no ride limit; ``latest`` is ``latest_departures(s)``."""
    snap = s.snapshot
    assert s.max_rides is None and not snap.negative_fares
    fare_bound = snap.bounds(s.direction, s.target)[0]
    times = snap.time_bounds(s.direction, s.timeline, s.target)
    scan: Any = kernels.cheapest_first  # a numba dispatcher: mypy cannot follow the splat
    while True:
        caps = snap.first_pool_sizes
        full, rows, t_k, t_lab, l_pt, l_pk = scan(
            *s._common(), s.timeline.ride, s.timeline.dep_start, s.timeline.dep_time,
            s.timeline.boarding, snap.zone_fares, fare_bound, latest - s.timeline.base, times,
            _run_scratch(s.timeline.n_runs), *_stamps(s.timeline.n_patterns, caps[0]),
            s.timeline.city_patterns, caps[0], caps[1],
        )
        if not full:
            return _journeys(s, rows, t_k, t_lab, l_pt, l_pk)
        grown = list(caps)
        grown[full - 1] *= 4
        snap.first_pool_sizes = (grown[0], grown[1], grown[2])


def pareto_first(s: Search, latest: np.ndarray) -> list[Found] | None:
    """The Pareto set over (arrival, fare, rides) from a search that takes labels in order
    of fare (kernels.pareto_first), or None where it cannot answer (fares below zero, or a
    window or fare too large for its heap's key): the caller scans instead. ``latest`` is
    ``latest_departures(s)`` (worth its scan even for small searches: measured)."""
    snap, tl = s.snapshot, s.timeline
    if snap.negative_fares or s.end - s.start >= 1 << kernels.READY_BITS:
        return None
    fare_bound, ride_bound = snap.bounds(s.direction, s.target)
    times = snap.time_bounds(s.direction, tl, s.target)
    scan: Any = kernels.pareto_first  # a numba dispatcher: mypy cannot follow the splat
    while True:
        caps = snap.options_pool_sizes
        full, rows, t_k, t_lab, l_pt, l_pk = scan(
            *s._common(), tl.ride, tl.dep_start, tl.dep_time, tl.boarding, snap.zone_fares,
            fare_bound, ride_bound, latest - tl.base, times,
            -1 if s.max_rides is None else int(s.max_rides), _run_scratch(tl.n_runs, 3),
            *_stamps(tl.n_patterns, caps[0]), tl.city_patterns, *caps,
        )
        if not full:
            return _journeys(s, rows, t_k, t_lab, l_pt, l_pk)
        if full == 4:
            return None
        grown = list(caps)
        grown[full - 1] *= 4
        snap.options_pool_sizes = (grown[0], grown[1], grown[2])


_scratch = threading.local()


def _stamps(n_patterns: int, labels: int) -> tuple[np.ndarray, int]:
    """This thread's marks per pattern stop for the fare-ordered searches (at least
    ``n_patterns``), and the base above every mark made before, for a search of at most
    ``labels`` labels (marks are never cleared: each search marks above the last)."""
    stamps = getattr(_scratch, "stamps", None)
    base = getattr(_scratch, "stamp_next", 0)
    if stamps is None or len(stamps) < n_patterns or base > 1 << 60:
        stamps = np.full(max(n_patterns, 1), -1, np.int64)
        _scratch.stamps = stamps
        base = 0
    _scratch.stamp_next = base + labels
    return stamps, base


def _run_scratch(n_runs: int, width: int = 2) -> np.ndarray:
    """This thread's per-run rows for kernels.cheapest_first (``width`` 2: (INF, -1)) or
    kernels.pareto_first (3: (INF, -1, 0)), as they leave them, at least ``n_runs``."""
    name = f"runs{width}"
    rows = getattr(_scratch, name, None)
    if rows is None or len(rows) < n_runs:
        rows = np.zeros((n_runs, width), np.int64)
        rows[:, 0] = INF
        rows[:, 1] = -1
        setattr(_scratch, name, rows)
    return rows


def _journeys(
    s: Search, rows: np.ndarray, t_k: np.ndarray, t_lab: np.ndarray, l_pt: np.ndarray,
    l_pk: np.ndarray,
) -> list[Found]:
    """A scan's target rows as journeys, following the labels' parents back to the origin."""
    out: list[Found] = []
    base = s.timeline.base
    for a, f, b, trip_label, k in rows.tolist():
        chain = []
        while trip_label >= 0:
            chain.append((int(t_k[trip_label]), k))
            stop_label = int(t_lab[trip_label])
            trip_label, k = int(l_pt[stop_label]), int(l_pk[stop_label])
        out.append((a + base, f, b, tuple(chain)))
    return out


def legs_of(s: Search, found: Found) -> list[Leg]:
    """The rides of a found journey, first to last in forward time."""
    rec, wide, base = s.timeline.rec, s.timeline.wide, s.timeline.base
    step = -1 if s.direction.reverse else 1  # from a connection's boarding row to its other
    out: list[Leg] = []
    for k_board, k_alight in found[3]:
        out.append(Leg(
            rec.item(k_board, TRIP_FLAGS) >> 2, wide.item(k_board, FROM_POS),
            wide.item(k_alight, FROM_POS) + step, rec.item(k_board, DEP) + base,
            rec.item(k_alight, ARR) + base,
        ))
    if s.direction.reverse:
        # Stop rows and times seen backwards: the forward ride runs from the alighting
        # record's stop to the boarding record's one, between the negated times.
        return [Leg(leg.trip, leg.alight_row, leg.board_row, -leg.arrival, -leg.departure)
                for leg in out]
    out.reverse()
    return out


def leaves_origin(s: Search) -> bool:
    """Whether any usable connection leaves the search's origin within its range, or a city
    a walk from it after the walk."""
    tl = s.timeline
    trip_ok = s.snapshot.all_trips if s.trip_ok is None else s.trip_ok
    starts = [(s.origin, 0), *s.direction.walks.get(s.origin, ())]
    return any(
        kernels.leaves(tl.rec, trip_ok, city, s.start + secs - tl.base, s.end - tl.base)
        for city, secs in starts
    )
