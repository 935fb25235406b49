"""The search: connection scans over a snapshot's timeline (see docs/routing.md).

Inside this module the vocabulary is the algorithm's: a *run* is one timetable on one service
date, a *connection* a ride between two consecutive stops of a run, a *label* a way of being
somewhere (ready to board at a city, or aboard a run) with its fare and number of rides.

Every scan works on a ``Direction``: forwards for "depart at", backwards (times negated, stops
read last to first) for "arrive by", so one piece of code serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from transit.routing import kernels
from transit.routing.snapshot import Direction, Snapshot, Timeline

INF = kernels.INF
# Objectives of the single-best scans, lexicographic over (arrival t, fare f, rides b).
BY_ARRIVAL = kernels.KEY_T
BY_RIDES_THEN_FARE = kernels.KEY_BF
BY_FARE_THEN_ARRIVAL = kernels.KEY_FT
BY_RIDES_THEN_ARRIVAL = kernels.KEY_BT


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
    mct: np.ndarray  # int64 seconds per city
    trip_ok: np.ndarray | None  # bool per timetable (None: every mode)
    max_rides: int | None = None

    def scanned(self) -> tuple[int, int]:
        """The timeline's index range whose departures lie in [start, end]."""
        dep = self.timeline.dep
        return (
            int(np.searchsorted(dep, self.start, "left")),
            int(np.searchsorted(dep, self.end, "right")),
        )

    def _common(self) -> tuple[Any, ...]:
        tl, d = self.timeline, self.direction
        lo, hi = self.scanned()
        trip_ok = self.snapshot.all_trips if self.trip_ok is None else self.trip_ok
        return (
            tl.dep, tl.arr, tl.conn, tl.run, lo, hi, tl.n_runs, d.table, trip_ok, self.mct,
            d.walk_start, d.walk_to, d.walk_secs, self.origin, self.target, self.start,
            self.end,
        )


# A found journey: (arrival, fare, rides, rides as (boarding, alighting) timeline indexes,
# last ride first in the scan's order). Fares (rides) that were not a criterion are 0.
Found = tuple[int, int, int, tuple[tuple[int, int], ...]]


def earliest_arrival(s: Search) -> int | None:
    """The earliest arrival at the target, or None (plain connection scan, no ride limit)."""
    best = int(kernels.earliest_arrival(*s._common()))
    return best if best < INF else None


def pareto_scan(s: Search, objective: int | None, use_fare: bool, use_rides: bool) -> list[Found]:
    """Multi-criteria connection scan; returns the target's journeys.

    Labels carry (ready time, fare, rides) in Pareto bags per city and per run; a run's labels
    compare fares as "fare before boarding minus the cumulative fare at the boarding row"
    (additive fares) or keep one label per boarding stop (zone fares, which do not add up).
    With ``objective`` (``BY_ARRIVAL``, ``BY_RIDES_THEN_FARE``, ...: a lexicographic order of
    (arrival, fare, rides)) only the best journey is kept, and labels that cannot beat it are
    dropped; without it, the Pareto set over the three, where labels that a found journey
    already beats on fare and rides while arriving no earlier are dropped. Fares (rides) that
    are not a criterion count as 0 and are left to the itinerary to compute.
    """
    snap = s.snapshot
    scan: Any = kernels.pareto_scan  # a numba dispatcher: mypy cannot follow the splat
    rows, t_k, t_lab, l_pt, l_pk = scan(
        *s._common(),
        -1 if s.max_rides is None else int(s.max_rides),
        kernels.KEY_OPTIONS if objective is None else int(objective),
        bool(use_fare),
        bool(use_rides),
        s.direction.reverse,
        s.direction.cum,
        snap.stop_city,
        snap.trip_od,
        snap.od_keys,
        snap.od_values,
    )
    out: list[Found] = []
    for a, f, b, trip_label, k in rows.tolist():
        chain = []
        while trip_label >= 0:
            chain.append((int(t_k[trip_label]), k))
            stop_label = int(t_lab[trip_label])
            trip_label, k = int(l_pt[stop_label]), int(l_pk[stop_label])
        out.append((a, f, b, tuple(chain)))
    return out


def legs_of(s: Search, found: Found) -> list[Leg]:
    """The rides of a found journey, first to last in forward time."""
    snap, tl = s.snapshot, s.timeline
    out: list[Leg] = []
    for k_board, k_alight in found[3]:
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
    if not s.direction.reverse:
        out.reverse()
    return out


def leaves_origin(s: Search) -> bool:
    """Whether any usable connection leaves the search's origin within its range."""
    lo, hi = s.scanned()
    conn = s.timeline.conn[lo:hi]
    d = s.direction
    mask = (d.from_city[conn] == s.origin) & ((d.flags[conn] & 1) == 1)
    if s.trip_ok is not None and mask.any():
        mask &= s.trip_ok[s.snapshot.conn_trip[conn]]
    return bool(mask.any())


