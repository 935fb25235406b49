"""The connection scans' inner loops, compiled with numba (see engine.py for their contract).

Plain loops over flat arrays: the timeline's records (one row of int32 per connection of a
run, in departure order: departure and arrival relative to the timeline's base, run id, from
city, to city, timetable and flags), so that a scan reads memory in order; for the
multi-criteria scan, which visits records far apart, the same records in wide rows of one
cache line that also hold what it needs about them (stop row, fares, links to the next
record of the run and the next departure of the city); per-city minimum connection times and
walks (CSR); and the zone fares as one matrix per service. Trip labels carry their
cumulative fare and zone-fare row at boarding, so that no fare needs a lookup in the
per-stop arrays (large, and read at random on a large network).

Labels live in fixed-size pools (parallel arrays; a scan that fills one is run again with a
larger one) and bags are singly linked lists through those pools: a city's bag starts at ``bag_head[city]``, a run's trip labels at
``trip_head[run]``. Dominated labels are unlinked but stay in the pool, where the parents of
the labels built on them still point.

``cache=True`` keeps the machine code beside this module, so a process pays the compilation
once per installation; ``warm_up`` loads it (or compiles it) before the first query.
"""

from __future__ import annotations

import heapq
import threading

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

INF = 1 << 62
# The fare and ride bound (Snapshot.bounds) of a city the target cannot be reached from: large,
# yet far from overflowing when added to fares and ride counts.
UNREACHABLE = 1 << 40
RIDE_CAP = 32

# Columns of a timeline record. TRIP_FLAGS is timetable << 2 | flags, where flag bit 0 means
# "may board at the from stop" and bit 1 "may alight at the to stop".
DEP, ARR, RUN, FROM_CITY, TO_CITY, TRIP_FLAGS = range(6)
RECORD_WIDTH = 6
# A wide row (``Timeline.wide``, read by the multi-criteria scan alone) is a record followed
# by: the boarding stop row (the alighting one is the next row of the timetable, the
# previous one reversed); ZONE, the timetable's service when it has zone fares, else -1;
# the cumulative leg fares at both stop rows (direction's terms); NEXT, the next record of
# the same run (-1: none); NEXT_DEP, the next record departing the same city that allows
# boarding (-1: none) and NEXT_DEP_TIME, its departure; and for zone fares the boarding and
# alighting parts of the index into ``Snapshot.zone_fares`` (their sum). Sixteen int32
# columns, 64 bytes: one cache line per record visited, where separate arrays cost four.
FROM_POS, ZONE, FROM_CUM, TO_CUM, NEXT, NEXT_DEP, NEXT_DEP_TIME, ZONE_BOARD, ZONE_ALIGHT = (
    range(RECORD_WIDTH, RECORD_WIDTH + 9)
)
WIDE_WIDTH = 16
# Ride rows (``Timeline.ride``, read by ``cheapest_first``): the records again, run by run in
# stop order, eight int32 (32 bytes) each, so that riding a run on reads memory in order:
# arrival, alighting city, cumulative fare there, RIDE_FLAGS (bit 0: may alight there, bit 1:
# the run's last record in the timeline, bit 2: may board at its departure stop), the
# alighting part of the zone-fare index, the departure and the record's index.
RIDE_ARR, RIDE_TO, RIDE_TO_CUM, RIDE_FLAGS, RIDE_ZONE_ALIGHT, RIDE_DEP, RIDE_REC = range(7)
RIDE_WIDTH = 8
# Boarding rows (``Timeline.boarding``, beside ``dep_rec``): what ``cheapest_first`` and
# ``pareto_first`` need to board each departure of a city, read in order: the record's ride
# row, run, TRIP_FLAGS, zone-fare service (-1: none), cumulative fare, boarding part of the
# zone-fare index, and BOARD_PATTERN: its run's pattern and stop (``chain_runs``; -1: none).
BOARD_RIDE, BOARD_RUN, BOARD_TRIP_FLAGS, BOARD_ZONE, BOARD_CUM, BOARD_ZONE_PART = range(6)
BOARD_PATTERN = 6
BOARD_WIDTH = 8
# At most this many patterns per shape (``chain_runs``); other runs get none.
MAX_CHAINS = 16
# How many departures ahead cheapest_first asks for the rows a boarding will read.
AHEAD = 2
# At most this many ready labels' fares and rides are kept while pareto_scan walks a bag to
# board (beyond it, fewer labels are found useless: answers do not change).
FRONT_CAP = 64
# A pair of cities with no zone fare in its service's matrix (the ride adds leg fares).
NO_ZONE_FARE = -(1 << 31)

# The plain scans read records in order and ask for the one this many rows ahead (about 3 KB):
# on a large network the timeline does not fit in the second-level cache, and the hardware's own
# prefetching alone left them waiting on memory (national-10x plain scans -19 %, national-1x -4 %).
STREAM_AHEAD = 128

# Objectives of the single-best scans (lexicographic over arrival t, fare f, rides b).
KEY_OPTIONS = 0  # no single best: the Pareto set
KEY_T = 1  # (t)
KEY_BF = 2  # (b, f)
KEY_FT = 3  # (f, t)
KEY_BT = 4  # (b, t)


@intrinsic
def _trailing_zeros(typingctx, word):  # type: ignore[no-untyped-def]
    """The number of trailing zero bits of a nonzero uint64 (one instruction)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.cttz.i64")
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 0)])

    return sig, codegen


@intrinsic
def _prefetch(typingctx, array, row):  # type: ignore[no-untyped-def]
    """Ask the processor to start loading row ``row`` of a 2-D array (a hint: no effect on
    results), so that it is in the cache when the scan gets there."""
    sig = types.void(array, row)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        index = [args[1]] + [zero] * (aryty.ndim - 1)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, index)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # read, keep in all cache levels, data
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, inline="always")
def _mark(events: np.ndarray, i: int) -> None:
    """Schedule event ``i`` in a bitset of events."""
    events[i >> 6] |= np.uint64(1) << np.uint64(i & 63)


@njit(cache=True, inline="always")
def _departure_at(
    dep_start: np.ndarray, dep_rec: np.ndarray, dep_time: np.ndarray, city: int, after: int,
    ready: int,
) -> int:
    """The position in ``dep_rec`` of the first record departing ``city`` that comes after
    record ``after`` and departs at or after ``ready`` (-1: none)."""
    lo = dep_start[city]
    hi = dep_start[city + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if dep_rec[mid] <= after or dep_time[mid] < ready:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < dep_start[city + 1] else -1


@njit(cache=True, inline="always")
def _first_departure(rec: np.ndarray, t: int) -> int:
    """The first record departing at or after ``t`` (records sorted by departure)."""
    lo = 0
    hi = rec.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if rec[mid, DEP] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _span(
    rec: np.ndarray, run_low: np.ndarray, run_high: np.ndarray, start: int, end: int
) -> tuple[int, int, int, int]:
    """The records departing in [start, end] (lo:hi), how many run ids they may hold and the
    lowest: the per-run arrays cover only those (see snapshot.Timeline)."""
    lo = _first_departure(rec, start)
    hi = _first_departure(rec, end + 1)
    if lo >= hi:
        return lo, hi, 1, 0
    low = int(run_low[lo])
    return lo, hi, int(run_high[hi - 1]) - low + 1, low


@njit(cache=True, inline="always")
def _settle(
    ready: np.ndarray,
    to: int,
    a: int,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
) -> None:
    """An alighting at ``to`` at time ``a``: the city is ready to board after its connection
    time, and the cities a walk away after the walk."""
    r = a + mct[to]
    if r < ready[to]:
        ready[to] = r
    for w in range(walk_start[to], walk_start[to + 1]):
        r = a + walk_secs[w]
        if r < ready[walk_to[w]]:
            ready[walk_to[w]] = r


@njit(cache=True, inline="always")
def _start_walks(
    ready: np.ndarray, origin: int, start: int, walk_start: np.ndarray, walk_to: np.ndarray,
    walk_secs: np.ndarray,
) -> None:
    """The journey's start: ready at the origin at ``start``, and at each city a walk from
    the origin leads to after the walk (no connection time: the walk replaces it)."""
    ready[origin] = start
    for w in range(walk_start[origin], walk_start[origin + 1]):
        r = start + walk_secs[w]
        if r < ready[walk_to[w]]:
            ready[walk_to[w]] = r


@njit(cache=True, nogil=True)
def earliest_arrival(
    rec: np.ndarray,
    run_low: np.ndarray,
    run_high: np.ndarray,
    trip_ok: np.ndarray,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
    origin: int,
    target: int,
    finish: np.ndarray,
    start: int,
    end: int,
) -> int:
    """Earliest arrival at ``target`` scanning timeline records ``lo:hi`` (INF: none).

    Times are relative to the timeline's base, like the records'.
    """
    n_cities = mct.shape[0]
    lo, hi, n_runs, run_base = _span(rec, run_low, run_high, start, end)
    ends = finish.shape[0] > 0  # walks lead to the target: journeys may end with one
    ready = np.full(n_cities, INF, dtype=np.int64)
    _start_walks(ready, origin, start, walk_start, walk_to, walk_secs)
    aboard = np.zeros(n_runs, dtype=np.bool_)
    best = INF
    for k in range(lo, hi):
        _prefetch(rec, min(k + STREAM_AHEAD, hi - 1))  # type: ignore[call-arg]
        d = int(rec[k, DEP])
        if d >= best:
            break
        x = rec[k, RUN] - run_base
        tf = rec[k, TRIP_FLAGS]
        if not aboard[x]:
            if not tf & 1:
                continue
            if ready[rec[k, FROM_CITY]] > d or not trip_ok[tf >> 2]:
                continue
            aboard[x] = True
        a = int(rec[k, ARR])
        if a > end or not tf & 2:
            continue
        to = rec[k, TO_CITY]
        if to == target:
            if a < best:
                best = a
            continue
        if ends and finish[to] >= 0 and a + finish[to] < best and a + finish[to] <= end:
            best = a + finish[to]  # a walk away from the target: the journey may end so
        _settle(ready, to, a, mct, walk_start, walk_to, walk_secs)
    return best


@njit(cache=True, nogil=True)
def earliest_journey(
    rec: np.ndarray,
    run_low: np.ndarray,
    run_high: np.ndarray,
    trip_ok: np.ndarray,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
    origin: int,
    target: int,
    finish: np.ndarray,
    start: int,
    end: int,
) -> tuple[int, np.ndarray]:
    """``earliest_arrival`` with one journey that arrives then: its rides as rows
    (boarding record, alighting record), last ride first (none when the arrival is INF).

    Each run keeps the record where it was boarded and the ride that had made the boarding
    city ready then (-1: the origin, or a walk from it); each city the ride that made it
    ready. Those rides were scanned before the boarding, so following them back always ends
    at the start.
    """
    n_cities = mct.shape[0]
    lo, hi, n_runs, run_base = _span(rec, run_low, run_high, start, end)
    ends = finish.shape[0] > 0  # walks lead to the target: journeys may end with one
    ready = np.full(n_cities, INF, dtype=np.int64)
    _start_walks(ready, origin, start, walk_start, walk_to, walk_secs)
    via = np.full(n_cities, -1, dtype=np.int64)  # the alighting record that set ``ready``
    board_k = np.full(n_runs, -1, dtype=np.int64)
    board_via = np.empty(n_runs, dtype=np.int64)
    best = INF
    best_k = -1
    for k in range(lo, hi):
        _prefetch(rec, min(k + STREAM_AHEAD, hi - 1))  # type: ignore[call-arg]
        d = int(rec[k, DEP])
        if d >= best:
            break
        x = rec[k, RUN] - run_base
        tf = rec[k, TRIP_FLAGS]
        if board_k[x] < 0:
            if not tf & 1:
                continue
            fr = rec[k, FROM_CITY]
            if ready[fr] > d or not trip_ok[tf >> 2]:
                continue
            board_k[x] = k
            board_via[x] = via[fr]
        a = int(rec[k, ARR])
        if a > end or not tf & 2:
            continue
        to = rec[k, TO_CITY]
        if to == target:
            if a < best:
                best = a
                best_k = k
            continue
        if ends and finish[to] >= 0 and a + finish[to] < best and a + finish[to] <= end:
            best = a + finish[to]  # a walk away from the target: the journey may end so
            best_k = k
        r = a + mct[to]
        if r < ready[to]:
            ready[to] = r
            via[to] = k
        for w in range(walk_start[to], walk_start[to + 1]):
            r = a + walk_secs[w]
            c = walk_to[w]
            if r < ready[c]:
                ready[c] = r
                via[c] = k
    n = 0
    k = best_k
    while k >= 0:
        n += 1
        k = board_via[rec[k, RUN] - run_base]
    rides = np.empty((n, 2), np.int64)
    n = 0
    k = best_k
    while k >= 0:
        x = rec[k, RUN] - run_base
        rides[n, 0] = board_k[x]
        rides[n, 1] = k
        n += 1
        k = board_via[x]
    return best, rides


@njit(cache=True, nogil=True)
def boarding_reach(
    rec: np.ndarray,
    run_low: np.ndarray,
    run_high: np.ndarray,
    trip_ok: np.ndarray,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
    origin: int,
    target: int,
    finish: np.ndarray,
    start: int,
    end: int,
    counted: np.ndarray,
    need: int,
) -> tuple[int, np.ndarray]:
    """The earliest arrival at ``target`` (INF: none, or no target: -1) and, per city, the
    earliest arrival by a ride that may alight there (INF: none).

    The same scan as ``earliest_arrival``, over the records of ``lo:hi`` that depart by the
    arrival at the target (all of them without a target). Run on the reversed timeline from
    a destination, the second gives each city's latest departure (negated) that still
    reaches the destination in time: a bound for the other direction.

    ``counted`` marks the cities the scan may reach: once it has reached ``need`` of them (0:
    never), it stops at the latest arrival among those reached, and every counted city's
    arrival becomes at most that time. Records departing later can only improve arrivals
    later than their departure (a ride arrives no earlier than it departs: the caller passes
    0 otherwise), so the result is still a bound, exact for the cities reached by then; the
    few cities reached last, far from the origin, no longer hold the scan to its end. Only
    without a target.
    """
    n_cities = mct.shape[0]
    lo, hi, n_runs, run_base = _span(rec, run_low, run_high, start, end)
    ends = finish.shape[0] > 0  # walks lead to the target: journeys may end with one
    ready = np.full(n_cities, INF, dtype=np.int64)
    _start_walks(ready, origin, start, walk_start, walk_to, walk_secs)
    reach = np.full(n_cities, INF, dtype=np.int64)
    aboard = np.zeros(n_runs, dtype=np.bool_)
    best = INF
    left = need if target < 0 else 0  # with a target, its arrival must be exact
    stop_at = INF
    for k in range(lo, hi):
        _prefetch(rec, min(k + STREAM_AHEAD, hi - 1))  # type: ignore[call-arg]
        d = int(rec[k, DEP])
        if d > best:
            break
        if d >= stop_at:
            # Stopped: a counted city's arrival may still fall to stop_at, not below.
            for c in range(n_cities):
                if counted[c] and reach[c] > stop_at:
                    reach[c] = stop_at
            break
        x = rec[k, RUN] - run_base
        tf = rec[k, TRIP_FLAGS]
        if not aboard[x]:
            if not tf & 1:
                continue
            if ready[rec[k, FROM_CITY]] > d or not trip_ok[tf >> 2]:
                continue
            aboard[x] = True
        a = int(rec[k, ARR])
        if a > end or not tf & 2:
            continue
        to = rec[k, TO_CITY]
        if a < reach[to]:
            if reach[to] == INF and counted[to]:
                left -= 1
                if left == 0:
                    reach[to] = a
                    stop_at = 0
                    for c in range(n_cities):
                        if counted[c] and stop_at < reach[c] < INF:
                            stop_at = reach[c]
            reach[to] = a
        if to == target:
            if a < best:
                best = a
            continue
        if ends and finish[to] >= 0 and a + finish[to] < best and a + finish[to] <= end:
            best = a + finish[to]  # a walk away from the target: the journey may end so
        _settle(ready, to, a, mct, walk_start, walk_to, walk_secs)
    return best, reach


@njit(cache=True, nogil=True)
def leaves(rec: np.ndarray, trip_ok: np.ndarray, origin: int, start: int, end: int) -> bool:
    """Whether a record departing in [start, end] may be boarded at ``origin``."""
    lo = _first_departure(rec, start)
    hi = _first_departure(rec, end + 1)
    for k in range(lo, hi):
        if rec[k, FROM_CITY] == origin:
            tf = rec[k, TRIP_FLAGS]
            if tf & 1 and trip_ok[tf >> 2]:
                return True
    return False


@njit(cache=True, inline="always")
def _key(mode: int, t: int, f: int, b: int) -> tuple[int, int]:
    if mode == KEY_T:
        return (t, 0)
    if mode == KEY_BF:
        return (b, f)
    if mode == KEY_FT:
        return (f, t)
    return (b, t)


@njit(cache=True, inline="always")
def _ge(k: tuple[int, int], best: tuple[int, int]) -> bool:
    return k[0] > best[0] or (k[0] == best[0] and k[1] >= best[1])


@njit(cache=True, inline="always")
def _beaten(s_a: np.ndarray, pref: np.ndarray, n_s: int, t: int, f: int, b: int) -> bool:
    """Whether a found journey arrives by ``t`` for at most ``f`` with at most ``b`` rides."""
    lo = 0
    hi = n_s
    while lo < hi:
        mid = (lo + hi) >> 1
        if s_a[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo > 0 and pref[b if b < RIDE_CAP else RIDE_CAP, lo - 1] <= f


@njit(cache=True, inline="always")
def _cannot_matter(
    options: bool, s_a: np.ndarray, pref: np.ndarray, n_s: int, have_best: bool, mode: int,
    best_key: tuple[int, int], t: int, f: int, b: int,
) -> bool:
    """Whether a best case (t, f, b) by the bounds is no use: a found journey beats it
    (options), or it does not beat the best key (an objective)."""
    if options:
        return _beaten(s_a, pref, n_s, t, f, b)
    return have_best and _ge(_key(mode, t, f, b), best_key)


@njit(cache=True)
def _insert_found(
    s_a: np.ndarray, s_f: np.ndarray, s_b: np.ndarray, pref: np.ndarray, n_s: int, a: int,
    f: int, b: int,
) -> int:
    """Insert a found journey (at most RIDE_CAP rides) into ``_beaten``'s table."""
    pos = n_s
    while pos > 0 and s_a[pos - 1] > a:
        s_a[pos] = s_a[pos - 1]
        s_f[pos] = s_f[pos - 1]
        s_b[pos] = s_b[pos - 1]
        pos -= 1
    s_a[pos] = a
    s_f[pos] = f
    s_b[pos] = b
    n_s += 1
    for c in range(RIDE_CAP + 1):
        running = pref[c, pos - 1] if pos > 0 else INF
        for j in range(pos, n_s):
            if s_b[j] <= c and s_f[j] < running:
                running = s_f[j]
            pref[c, j] = running
    return n_s


@njit(cache=True, nogil=True)
def pareto_scan(
    rec: np.ndarray,
    run_low: np.ndarray,
    run_high: np.ndarray,
    trip_ok: np.ndarray,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
    origin: int,
    target: int,
    finish: np.ndarray,
    start: int,
    end: int,
    wide: np.ndarray,
    dep_start: np.ndarray,
    dep_rec: np.ndarray,
    dep_time: np.ndarray,
    max_rides: int,
    mode: int,
    use_fare: bool,
    use_rides: bool,
    zone_fares: np.ndarray,
    lbf: np.ndarray,
    lbr: np.ndarray,
    latest: np.ndarray,
    lbt: np.ndarray,
    beat0: int,
    beat1: int,
    cap_l: int,
    cap_t: int,
    cap_f: int,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Multi-criteria scan (engine.pareto_scan documents the labels and the pruning).

    It visits only the records that may board (departures from a city with labels, each
    city's one after another from the first its labels can catch) or carry labels (a run's
    records one after another from its first boarding), in record order through a bitset
    of scheduled records, reading ``wide`` (its rows link each record to the next of its run
    and to the next departure of its city) and ``dep_rec[dep_start[c]:dep_start[c + 1]]``,
    the records departing city ``c`` that allow boarding, with their departures in
    ``dep_time`` (to find a label's first departure). On a large network most records of
    the day are neither, and streaming them all through the cache would push the labels
    out of it.
    ``max_rides`` < 0 means no limit. ``zone_fares`` is ``Snapshot.zone_fares``.
    ``lbf[c]`` and ``lbr[c]`` are
    lower bounds on the fare and on the rides (at least 1) still needed to reach the target
    from city ``c`` (zeros where fares or rides are not a criterion): a label whose best case cannot beat what was found is
    dropped (target pruning). ``latest[c]`` is the latest departure from city ``c`` that can
    still reach the target by ``end`` (INF: unknown): later boardings there are useless.
    ``lbt[c]`` bounds the time from a departure at ``c`` to the arrival at the target.
    With an objective, ``(beat0, beat1)`` is a key the journey must beat (INF: none): a
    bound the caller knows, which prunes labels from the start.
    The pools hold ``cap_l`` stop labels, ``cap_t`` trip labels and ``cap_f`` found
    journeys (fixed: arrays that may be replaced inside the loop cost reference counting at
    every step); when one is full the scan stops and returns its number (1, 2, 3) first,
    and the caller runs it again with more room. Otherwise it returns 0, the target labels
    as rows (arrival, fare, rides, trip
    label, alighting record index) and the pools the parents are read from: trip labels'
    boarding index and stop label, stop labels' parent trip label and alighting index.
    """
    n_cities = mct.shape[0]
    lo, hi, n_runs, run_base = _span(rec, run_low, run_high, start, end)
    ends = finish.shape[0] > 0  # walks lead to the target: journeys may end with one
    # Stop labels.
    l_ready = np.empty(cap_l, np.int64)
    l_fare = np.empty(cap_l, np.int64)
    l_rides = np.empty(cap_l, np.int64)
    l_pt = np.empty(cap_l, np.int64)
    l_pk = np.empty(cap_l, np.int64)
    l_next = np.empty(cap_l, np.int64)
    # Bags are kept latest-ready first.
    bag_head = np.full(n_cities, -1, np.int64)
    l_ready[0] = start
    l_fare[0] = 0
    l_rides[0] = 0
    l_pt[0] = -1
    l_pk[0] = -1
    l_next[0] = -1
    bag_head[origin] = 0
    # The lowest fare and rides in each bag: when a run already carries a label at least as
    # good as both, no label of the bag can improve it (bags only lose dominated labels, so
    # these never rise).
    bag_fare = np.full(n_cities, INF, np.int64)
    bag_rides = np.full(n_cities, INF, np.int64)
    bag_fare[origin] = 0
    bag_rides[origin] = 0
    n_l = 1
    # Trip labels: value (fare before boarding, minus the cumulative fare at the boarding row
    # for additive fares), rides as a criterion, boarding row, its cumulative fare and the
    # boarding part of the zone-fare index (zone fares; as cum << 32 | part, so that a fare
    # needs no lookup in the stop arrays), stop label, boarding index, rides counted.
    t_value = np.empty(cap_t, np.int64)
    t_b = np.empty(cap_t, np.int64)
    t_pos = np.empty(cap_t, np.int64)
    t_from = np.empty(cap_t, np.int64)
    t_lab = np.empty(cap_t, np.int64)
    t_k = np.empty(cap_t, np.int64)
    t_n = np.empty(cap_t, np.int64)
    t_next = np.empty(cap_t, np.int64)
    trip_head = np.full(n_runs, -1, np.int32)
    n_t = 0
    # With two criteria a bag is a staircase: latest ready first, fares (or rides) rising.
    two = not (use_fare and use_rides)
    # The fares and rides of the ready labels a boarding walk has kept (at most FRONT_CAP).
    front_f = np.empty(FRONT_CAP, np.int64)
    front_b = np.empty(FRONT_CAP, np.int64)
    # Found target labels (options) or the best one.
    full = 0  # which pool ran out of room (1, 2, 3): the caller runs the scan again
    f_a = np.empty(cap_f, np.int64)
    f_f = np.empty(cap_f, np.int64)
    f_b = np.empty(cap_f, np.int64)
    f_t = np.empty(cap_f, np.int64)
    f_k = np.empty(cap_f, np.int64)
    f_alive = np.zeros(cap_f, np.bool_)
    # Every journey found (options), sorted by arrival, with pref[c, j] the lowest fare among
    # the first j + 1 of them that ride at most c times: "is (t, f, b) beaten" is then one
    # binary search.
    s_a = np.empty(cap_f, np.int64)
    s_f = np.empty(cap_f, np.int64)
    s_b = np.empty(cap_f, np.int64)
    pref = np.empty((RIDE_CAP + 1, cap_f), np.int64)
    n_s = 0
    n_f = 0
    stop_at = INF
    # With an objective, labels must beat best_key: at first (beat0, beat1), a bound the
    # caller knows (INF: none), then the best journey found.
    have_best = beat0 < INF
    best_key = (beat0, beat1)
    found_best = False
    best_row = np.zeros(5, np.int64)
    options = mode == KEY_OPTIONS
    # Every journey from the origin costs at least this much and rides at least this often.
    f_min = lbf[origin]
    b_min = lbr[origin] if use_rides else 1

    # Scheduled records (bit k - lo) and, per city, its next scheduled departure (record,
    # -1: none) and when it leaves. A record visited for nothing is harmless: the scan was
    # once a loop over every record.
    events = np.zeros(((hi - lo) >> 6) + 1, np.uint64)
    chain = np.full(n_cities, -1, np.int64)
    chain_t = np.zeros(n_cities, np.int64)
    p = _departure_at(dep_start, dep_rec, dep_time, origin, lo - 1, start)
    if p >= 0 and dep_rec[p] < hi:
        chain[origin] = dep_rec[p]
        chain_t[origin] = dep_time[p]
        _mark(events, dep_rec[p] - lo)
    # A walk from the origin starts a journey too: a label at its end, ready after it.
    for w in range(walk_start[origin], walk_start[origin + 1]):
        city = walk_to[w]
        ready = start + walk_secs[w]
        lab = bag_head[city]
        if lab != -1:
            if ready < l_ready[lab]:
                l_ready[lab] = ready  # two walks there: the shorter one
            continue
        if n_l == cap_l:
            return 1, np.empty((0, 5), np.int64), t_k[:0], t_lab[:0], l_pt[:0], l_pk[:0]
        l_ready[n_l] = ready
        l_fare[n_l] = 0
        l_rides[n_l] = 0
        l_pt[n_l] = -1
        l_pk[n_l] = -1
        l_next[n_l] = -1
        bag_head[city] = n_l
        bag_fare[city] = 0
        bag_rides[city] = 0
        n_l += 1
    for w in range(walk_start[origin], walk_start[origin + 1]):
        city = walk_to[w]
        if chain[city] < 0:
            q = _departure_at(dep_start, dep_rec, dep_time, city, lo - 1, l_ready[bag_head[city]])
            if q >= 0 and dep_rec[q] < hi:
                chain[city] = dep_rec[q]
                chain_t[city] = dep_time[q]
                _mark(events, dep_rec[q] - lo)
    word = 0
    n_words = events.shape[0]
    while word < n_words:
        bits = events[word]
        if bits == 0:
            word += 1
            continue
        rest = bits & (bits - np.uint64(1))
        events[word] = rest
        k = lo + (word << 6) + int(_trailing_zeros(bits))  # type: ignore[call-arg]
        # The next four scheduled records (as scheduled now, in this word or the next): start
        # loading them while this one is worked on. On a large network the records visited
        # lie far apart in memory, and waiting for each would cost more than the work.
        ahead = word
        if rest == 0 and word + 1 < n_words:
            ahead = word + 1
            rest = events[ahead]
        for _ in range(4):
            if rest == 0:
                break
            kk = lo + (ahead << 6) + int(_trailing_zeros(rest))  # type: ignore[call-arg]
            _prefetch(wide, kk)  # type: ignore[call-arg]
            rest &= rest - np.uint64(1)
        d = int(wide[k, DEP])
        if not options:
            if have_best and _ge(_key(mode, d, f_min, b_min), best_key):
                break
        else:
            if d >= stop_at:
                break
        x = wide[k, RUN] - run_base
        tf = wide[k, TRIP_FLAGS]
        a = int(wide[k, ARR])
        fr = wide[k, FROM_CITY]
        if chain[fr] == k:
            # The city's next departure, while a label there may still catch one.
            q = wide[k, NEXT_DEP]
            if q >= 0 and q < hi and wide[k, NEXT_DEP_TIME] <= latest[fr]:
                chain[fr] = q
                chain_t[fr] = wide[k, NEXT_DEP_TIME]
                _mark(events, q - lo)
            else:
                chain[fr] = -1
        # Most records neither board (no label at their city, or too late) nor carry a
        # label: those are skipped on the per-city and per-run arrays alone, before any
        # per-timetable lookup (large arrays on a large network: cache misses).
        board = False
        t_board = a
        if tf & 1 and bag_head[fr] != -1 and d <= latest[fr]:
            t_board = d + lbt[fr]  # the earliest arrival a boarding here can lead to
            if t_board < a:
                t_board = a
            board = t_board <= end
        if not board and trip_head[x] == -1:
            continue
        trip = tf >> 2
        if board and not trip_ok[trip]:
            board = False
        od = wide[k, ZONE] if use_fare else -1
        if board:
            lab = bag_head[fr]
            fpos = wide[k, FROM_POS]
            if lab != -1 and trip_head[x] != -1:
                v_low = bag_fare[fr] - wide[k, FROM_CUM] if (use_fare and od < 0) else bag_fare[fr]
                if not use_fare:
                    v_low = 0
                b_low = bag_rides[fr] + 1 if use_rides else 0
                t2 = trip_head[x]
                while t2 != -1:
                    if t_value[t2] <= v_low and t_b[t2] <= b_low and (od < 0 or t_pos[t2] == fpos):
                        lab = -1
                        break
                    t2 = t_next[t2]
            prev_lab = -1
            n_front = 0
            while lab != -1:
                nxt_lab = l_next[lab]
                if l_ready[lab] > d:
                    prev_lab = lab
                    lab = nxt_lab
                    continue
                # With two criteria the first ready label is the cheapest (or has the fewest
                # rides) of those ready: if it does not board, none would; if it does, it
                # covers the rest on this run.
                if two:
                    nxt_lab = -1
                f = l_fare[lab]
                b = l_rides[lab] + 1 if use_rides else 0
                # A ready label that an earlier one of the walk (ready later, by now too)
                # beats on fare and rides is useless from now on: every later departure
                # sees both ready, and a label it would cover at a later record (ready no
                # earlier than now) is covered by the other too. It leaves the bag.
                drop = False
                for i in range(n_front):
                    if front_f[i] <= f and front_b[i] <= b:
                        drop = True
                        break
                if not drop:
                    if max_rides >= 0 and l_rides[lab] + 1 > max_rides:
                        prev_lab = lab
                        lab = nxt_lab
                        continue
                    if n_front < FRONT_CAP:
                        front_f[n_front] = f
                        front_b[n_front] = b
                        n_front += 1
                    # The best this boarding can lead to, by the bounds.
                    f_lb = f + lbf[fr]
                    b_lb = l_rides[lab] + lbr[fr] if use_rides else 0
                    if _cannot_matter(options, s_a, pref, n_s, have_best, mode, best_key,
                                      t_board, f_lb, b_lb):
                        # Beaten already when leaving now: then so at every later departure
                        # (found journeys only get better), and so is every label it would
                        # cover. It leaves the bag.
                        t_now = d + lbt[fr]
                        drop = t_now >= t_board or _cannot_matter(
                            options, s_a, pref, n_s, have_best, mode, best_key, t_now, f_lb, b_lb
                        )
                        if not drop:
                            prev_lab = lab
                            lab = nxt_lab
                            continue
                if drop:
                    if prev_lab == -1:
                        bag_head[fr] = l_next[lab]
                    else:
                        l_next[prev_lab] = l_next[lab]
                    lab = nxt_lab
                    continue
                prev_lab = lab
                v = f - wide[k, FROM_CUM] if (use_fare and od < 0) else f
                # One pass: a run's labels never cover one another, so a label that the new
                # one covers and one that covers the new one cannot both be there: until one
                # that covers it turns up, those it covers can go.
                skip = False
                prev = -1
                t2 = trip_head[x]
                while t2 != -1:
                    nxt = t_next[t2]
                    if od < 0 or t_pos[t2] == fpos:
                        if t_value[t2] <= v and t_b[t2] <= b:
                            skip = True
                            break
                        if v <= t_value[t2] and b <= t_b[t2]:
                            if prev == -1:
                                trip_head[x] = nxt
                            else:
                                t_next[prev] = nxt
                            t2 = nxt
                            continue
                    prev = t2
                    t2 = nxt
                if skip:
                    lab = nxt_lab
                    continue
                if n_t == cap_t:
                    full = 2
                    break
                t_value[n_t] = v
                t_b[n_t] = b
                t_pos[n_t] = fpos
                t_from[n_t] = (np.int64(wide[k, FROM_CUM]) << 32) | wide[k, ZONE_BOARD]
                t_lab[n_t] = lab
                t_k[n_t] = k
                t_n[n_t] = l_rides[lab] + 1
                t_next[n_t] = trip_head[x]
                trip_head[x] = n_t
                n_t += 1
                lab = nxt_lab
        if full > 0:
            break
        if trip_head[x] == -1 or a > end:
            continue
        nk = wide[k, NEXT]
        if nk >= 0 and nk < hi:
            _mark(events, nk - lo)  # the run goes on with labels (unless all go below)
        if not tf & 2:
            continue
        to = wide[k, TO_CITY]
        t2 = trip_head[x]
        prev_t = -1
        while t2 != -1:
            nxt_t = t_next[t2]
            v = t_value[t2]
            b = t_b[t2]
            if not use_fare:
                f = 0
            elif od < 0:
                f = v + wide[k, TO_CUM]
            else:
                boarded = t_from[t2]
                zone = zone_fares[(boarded & 0xFFFFFFFF) + wide[k, ZONE_ALIGHT]]
                if zone != NO_ZONE_FARE:
                    f = v + zone
                else:
                    # Both directions: the cumulative values grow along the ride's direction.
                    f = v + wide[k, TO_CUM] - (boarded >> 32)
            fin = 0 if to == target else (finish[to] if ends else -1)
            if fin >= 0 and a + fin <= end:
                # The target, or a walk away from it: a journey arriving at ``ae``.
                ae = a + fin
                if not options:
                    kk = _key(mode, ae, f, b)
                    if not have_best or not _ge(kk, best_key):
                        have_best = True
                        found_best = True
                        best_key = kk
                        best_row[0] = ae
                        best_row[1] = f
                        best_row[2] = b
                        best_row[3] = t2
                        best_row[4] = k
                else:
                    beaten = False
                    for i in range(n_f):
                        if f_alive[i] and f_a[i] <= ae and f_f[i] <= f and f_b[i] <= b:
                            beaten = True
                            break
                    if not beaten:
                        for i in range(n_f):
                            if f_alive[i] and ae <= f_a[i] and f <= f_f[i] and b <= f_b[i]:
                                f_alive[i] = False
                        if n_f == cap_f:
                            full = 3
                            break
                        f_a[n_f] = ae
                        f_f[n_f] = f
                        f_b[n_f] = b
                        f_t[n_f] = t2
                        f_k[n_f] = k
                        f_alive[n_f] = True
                        n_f += 1
                        if b <= RIDE_CAP:
                            n_s = _insert_found(s_a, s_f, s_b, pref, n_s, ae, f, b)
                        # Nothing found later can beat a journey at the lowest fare and rides.
                        if f <= f_min and b <= b_min and ae < stop_at:
                            stop_at = ae
            if to == target:
                prev_t = t2
                t2 = nxt_t
                continue
            if od < 0:
                # Staying aboard from here adds fares along the ride, so whatever this label
                # leads to costs f + lbf[to] or more and arrives after now: once a found
                # journey beats that, the label is useless on the rest of the run.
                b_rest = b + lbr[to] - 1 if use_rides else 0
                if _cannot_matter(options, s_a, pref, n_s, have_best, mode, best_key,
                                  d, f + lbf[to], b_rest):
                    if prev_t == -1:
                        trip_head[x] = nxt_t
                    else:
                        t_next[prev_t] = nxt_t
                    t2 = nxt_t
                    continue
            if max_rides >= 0 and t_n[t2] >= max_rides:
                prev_t = t2
                t2 = nxt_t
                continue  # may not board again; only the target helps
            # Ready at the alighting city after the connection time, or at each walk's end.
            for w in range(walk_start[to] - 1, walk_start[to + 1]):
                if w < walk_start[to]:
                    city = to
                    ready = a + mct[to]
                else:
                    city = walk_to[w]
                    ready = a + walk_secs[w]
                t_lb = ready + lbt[city]
                if ready > latest[city] or t_lb > end:
                    continue
                # Whatever boards from here arrives at or after ``ready`` and needs the bounds.
                f_lb = f + lbf[city]
                b_lb = b + lbr[city] if b else b
                if _cannot_matter(options, s_a, pref, n_s, have_best, mode, best_key,
                                  t_lb, f_lb, b_lb):
                    continue
                # One pass, as for the runs' labels: a bag's labels never cover one another.
                # The bag stays latest-ready first: the new label goes after the last one
                # kept that is ready later (``after``). With two criteria the first one ready
                # earlier ends the pass: the rest are ready earlier still at higher fares
                # (rides), so they neither cover the new label nor are covered by it.
                covered = False
                prev = -1
                after = -1
                lab = bag_head[city]
                while lab != -1:
                    nxt = l_next[lab]
                    lr = l_ready[lab]
                    if lr <= ready and l_fare[lab] <= f and l_rides[lab] <= b:
                        covered = True
                        break
                    if ready <= lr and f <= l_fare[lab] and b <= l_rides[lab]:
                        if prev == -1:
                            bag_head[city] = nxt
                        else:
                            l_next[prev] = nxt
                    else:
                        prev = lab
                        if lr > ready:
                            after = lab
                        elif two and lr < ready:
                            break
                    lab = nxt
                if covered:
                    continue
                if n_l == cap_l:
                    full = 1
                    break
                l_ready[n_l] = ready
                l_fare[n_l] = f
                l_rides[n_l] = b
                l_pt[n_l] = t2
                l_pk[n_l] = k
                if after == -1:
                    l_next[n_l] = bag_head[city]
                    bag_head[city] = n_l
                else:
                    l_next[n_l] = l_next[after]
                    l_next[after] = n_l
                # Its city's departures from ``ready`` on, unless already scheduled.
                q = chain[city]
                if q < 0 or chain_t[city] > ready:
                    q = _departure_at(dep_start, dep_rec, dep_time, city, k, ready)
                    if q >= 0 and dep_rec[q] < hi and dep_time[q] <= latest[city]:
                        chain[city] = dep_rec[q]
                        chain_t[city] = dep_time[q]
                        _mark(events, dep_rec[q] - lo)
                if f < bag_fare[city]:
                    bag_fare[city] = f
                if b < bag_rides[city]:
                    bag_rides[city] = b
                n_l += 1
            if full > 0:
                break
            prev_t = t2
            t2 = nxt_t
        if full > 0:
            break

    if options:
        count = 0
        for i in range(n_f):
            if f_alive[i]:
                count += 1
        rows = np.empty((count, 5), np.int64)
        j = 0
        for i in range(n_f):
            if f_alive[i]:
                rows[j, 0] = f_a[i]
                rows[j, 1] = f_f[i]
                rows[j, 2] = f_b[i]
                rows[j, 3] = f_t[i]
                rows[j, 4] = f_k[i]
                j += 1
    elif found_best:
        rows = best_row.reshape((1, 5)).copy()
    else:
        rows = np.empty((0, 5), np.int64)
    return (
        full, rows, t_k[:n_t], t_lab[:n_t], l_pt[:n_l], l_pk[:n_l],
    )

@njit(cache=True, inline="always")
def _first_from(dep_start: np.ndarray, dep_time: np.ndarray, city: int, t: int) -> int:
    """The position of ``city``'s first departure (``Timeline.dep_time``) at or after ``t``."""
    lo = dep_start[city]
    hi = dep_start[city + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if dep_time[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _heap_push(h_key: np.ndarray, h_lab: np.ndarray, n: int, key: int, lab: int) -> int:
    """Add (key, lab) to a binary min-heap on ``h_key``; returns its new size."""
    i = n
    while i > 0:
        up = (i - 1) >> 1
        if h_key[up] <= key:
            break
        h_key[i] = h_key[up]
        h_lab[i] = h_lab[up]
        i = up
    h_key[i] = key
    h_lab[i] = lab
    return n + 1


@njit(cache=True, inline="always")
def _heap_pop(h_key: np.ndarray, h_lab: np.ndarray, n: int) -> int:
    """Remove the heap's first entry (read it before); returns the new size."""
    n -= 1
    key = h_key[n]
    lab = h_lab[n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and h_key[child + 1] < h_key[child]:
            child += 1
        if h_key[child] >= key:
            break
        h_key[i] = h_key[child]
        h_lab[i] = h_lab[child]
        i = child
    h_key[i] = key
    h_lab[i] = lab
    return n


@njit(cache=True, nogil=True)
def cheapest_first(
    rec: np.ndarray,
    run_low: np.ndarray,
    run_high: np.ndarray,
    trip_ok: np.ndarray,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
    origin: int,
    target: int,
    finish: np.ndarray,
    start: int,
    end: int,
    ride: np.ndarray,
    dep_start: np.ndarray,
    dep_time: np.ndarray,
    boarding: np.ndarray,
    zone_fares: np.ndarray,
    lbf: np.ndarray,
    latest: np.ndarray,
    lbt: np.ndarray,
    run_best: np.ndarray,
    stamp: np.ndarray,
    stamp_base: int,
    city_patterns: np.ndarray,
    cap_l: int,
    cap_t: int,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cheapest journey (ties: the earliest arrival), labels taken in order of fare.

    A label-setting search (Dijkstra with the fare lower bounds ``lbf`` as A* potentials;
    fares must be >= 0, so that ``lbf`` is consistent): labels (city, ready time, fare) leave
    a heap cheapest first, so a city's labels come out in rising fare and one is useful only
    if it is ready earlier than every one before it (``board_from``). The first useful label
    boards each departure of its city from its ready time to ``latest``; the later (dearer,
    earlier-ready) ones only the departures before that, which the earlier ones could not
    catch; and of the runs of one pattern (``chain_runs``) only the first it can catch, as
    ``pareto_first`` does. A boarding rides its run on (``ride``: the run's records side by side), making a
    label at each city it may alight at (and at each walk's end) unless that city has a
    popped label ready no later: popped labels are never dearer than a new one.
    Additive-fare runs keep their best boarding (fare minus the cumulative fare at the
    boarding, and where): a ride that it covers stops. The search ends when the heap's
    least key exceeds the best fare found. Unlike a scan in time order, whose fare bound
    improves only as later journeys reach the target, it never weighs a label dearer than
    the answer (by the bounds).

    Arguments are ``pareto_scan``'s, with ``Timeline.ride`` and ``Timeline.boarding`` (a
    row per ``dep_rec``) for the wide rows; ``run_best``, a scratch array of rows (INF, -1),
    one per run, which it leaves so (filling it afresh would cost more than the search on a
    large network); ``stamp``, ``stamp_base`` and ``city_patterns`` as for
    ``pareto_first``; the stop-label pool ``cap_l`` (also the heap's
    room) and the trip-label pool ``cap_t``. So is the result (one best row, rides 0).
    """
    n_cities = mct.shape[0]
    lo, hi, n_runs, run_base = _span(rec, run_low, run_high, start, end)
    ends = finish.shape[0] > 0  # walks lead to the target: journeys may end with one
    # Stop labels: ready time, fare and city side by side (read together when one leaves
    # the heap), and apart the parents, read only to rebuild the journey.
    label = np.empty((cap_l, 4), np.int64)
    l_pt = np.empty(cap_l, np.int64)
    l_pk = np.empty(cap_l, np.int64)
    h_key = np.empty(cap_l, np.int64)
    h_lab = np.empty(cap_l, np.int64)
    t_lab = np.empty(cap_t, np.int64)
    t_k = np.empty(cap_t, np.int64)
    board_from = np.full(n_cities, INF, np.int64)
    # Per city, its cheapest label not yet taken (or taken since): a new label that it
    # covers is not worth a place in the heap.
    pend_fare = np.full(n_cities, INF, np.int64)
    pend_ready = np.full(n_cities, INF, np.int64)
    # Per run (in run_best): its best boarding so far (additive fares), as value and ride
    # row, side by side; the runs touched, to clear them at the end.
    touched = np.empty(cap_t, np.int64)
    n_touched = 0
    label[0, 0] = start
    label[0, 1] = 0
    label[0, 2] = origin
    l_pt[0] = -1
    l_pk[0] = -1
    n_l = 1
    n_h = _heap_push(h_key, h_lab, 0, lbf[origin], 0)
    n_t = 0
    full = 0
    best_f = INF
    best_a = INF
    best_row = np.zeros(5, np.int64)
    found = False
    # A walk from the origin starts a journey too: a label at its end, ready after it.
    for w in range(walk_start[origin], walk_start[origin + 1]):
        city = walk_to[w]
        if lbf[city] >= UNREACHABLE:
            continue
        if n_l == cap_l:
            full = 1
            break
        label[n_l, 0] = start + walk_secs[w]
        label[n_l, 1] = 0
        label[n_l, 2] = city
        l_pt[n_l] = -1
        l_pk[n_l] = -1
        n_h = _heap_push(h_key, h_lab, n_h, lbf[city], n_l)
        n_l += 1
    while n_h > 0 and full == 0:
        key = h_key[0]
        lab = h_lab[0]
        n_h = _heap_pop(h_key, h_lab, n_h)
        if n_h > 0:
            _prefetch(label, h_lab[0])  # type: ignore[call-arg]  # (likely the next one out)
        if key > best_f:
            break
        t = label[lab, 0]
        f = label[lab, 1]
        c = label[lab, 2]
        if t >= board_from[c]:
            continue  # a label at least as cheap, ready no later, came out before
        limit = board_from[c]
        board_from[c] = t
        if key == best_f and t + lbt[c] >= best_a:
            continue
        last = latest[c]
        if end - lbt[c] < last:
            last = end - lbt[c]
        # The city's departures from t on (binary search), up to what was boarded before.
        q = _first_from(dep_start, dep_time, c, t)
        q_end = dep_start[c + 1]
        seen = 0  # the city's pattern stops met: once all are, every later one is useless
        while q < q_end:
            d = dep_time[q]
            if d >= limit or d > last or seen == city_patterns[c]:
                break
            bq = q
            q += 1
            if q + AHEAD < q_end:
                # Start loading what boarding a later departure will read (its ride rows
                # and its run's slot lie anywhere in memory) and the boarding rows after.
                ahead = np.int64(boarding[q + AHEAD, BOARD_RIDE])
                _prefetch(ride, ahead)  # type: ignore[call-arg]
                _prefetch(ride, ahead + 2)  # type: ignore[call-arg]
                _prefetch(run_best, np.int64(boarding[q + AHEAD, BOARD_RUN]) - run_base)  # type: ignore[call-arg]
                _prefetch(boarding, min(q + 2 * AHEAD, q_end - 1))  # type: ignore[call-arg]
            pattern = boarding[bq, BOARD_PATTERN]
            if pattern >= 0:
                if stamp[pattern] == stamp_base + lab:
                    continue  # an earlier run of the pattern, met here, is better
                stamp[pattern] = stamp_base + lab
                seen += 1
            tf = boarding[bq, BOARD_TRIP_FLAGS]
            if not trip_ok[tf >> 2]:
                continue  # (nor may the pattern's other runs be used: same mode)
            if n_t == cap_t:
                full = 2
                break
            p = int(boarding[bq, BOARD_RIDE])  # d >= t >= start: in the search's range
            x = boarding[bq, BOARD_RUN] - run_base
            od = boarding[bq, BOARD_ZONE]
            v = f
            if od < 0:
                v = f - boarding[bq, BOARD_CUM]
                if run_best[x, 1] >= 0 and run_best[x, 1] <= p and run_best[x, 0] <= v:
                    continue  # a boarding of this run as good is aboard here already
                if run_best[x, 1] < 0:
                    touched[n_touched] = x
                    n_touched += 1
                if v < run_best[x, 0]:
                    run_best[x, 0] = v
                    run_best[x, 1] = p
            tl = n_t
            t_lab[tl] = lab
            t_k[tl] = ride[p, RIDE_REC]
            n_t += 1
            boarded_cum = boarding[bq, BOARD_CUM]
            boarded_zone = boarding[bq, BOARD_ZONE_PART]
            r = p
            while True:
                a = int(ride[r, RIDE_ARR])
                if a > end:
                    break
                if od < 0:
                    at = run_best[x, 1]
                    if r >= at and (run_best[x, 0] < v or (run_best[x, 0] == v and at != p)):
                        break  # from here on, a better boarding of the run covers this one
                    fa = v + ride[r, RIDE_TO_CUM]
                else:
                    zone = zone_fares[boarded_zone + ride[r, RIDE_ZONE_ALIGHT]]
                    if zone != NO_ZONE_FARE:
                        fa = f + zone
                    else:
                        fa = f + ride[r, RIDE_TO_CUM] - boarded_cum
                to = ride[r, RIDE_TO]
                flags = ride[r, RIDE_FLAGS]
                if od < 0 and (fa + lbf[to] > best_f or (fa + lbf[to] == best_f and a >= best_a)):
                    break  # fares only grow along the ride
                if flags & 1:
                    fin = 0 if to == target else (finish[to] if ends else -1)
                    if fin >= 0 and a + fin <= end:
                        # The target, or a walk away from it: a journey arriving at ``ae``.
                        ae = a + fin
                        if fa < best_f or (fa == best_f and ae < best_a):
                            best_f = fa
                            best_a = ae
                            best_row[0] = ae
                            best_row[1] = fa
                            best_row[3] = tl
                            best_row[4] = ride[r, RIDE_REC]
                            found = True
                    if to != target:
                        for w in range(walk_start[to] - 1, walk_start[to + 1]):
                            if w < walk_start[to]:
                                city = to
                                ready = a + mct[to]
                            else:
                                city = walk_to[w]
                                ready = a + walk_secs[w]
                            if ready >= board_from[city]:
                                continue  # (a walk to the target ended a journey above)
                            if pend_fare[city] <= fa and pend_ready[city] <= ready:
                                continue
                            if lbf[city] >= UNREACHABLE:
                                continue
                            if ready > latest[city] or ready + lbt[city] > end:
                                continue
                            nkey = fa + lbf[city]
                            if nkey > best_f or (nkey == best_f and ready + lbt[city] >= best_a):
                                continue
                            if n_l == cap_l:
                                full = 1
                                break
                            label[n_l, 0] = ready
                            label[n_l, 1] = fa
                            label[n_l, 2] = city
                            l_pt[n_l] = tl
                            l_pk[n_l] = ride[r, RIDE_REC]
                            n_h = _heap_push(h_key, h_lab, n_h, nkey, n_l)
                            n_l += 1
                            if fa < pend_fare[city] or (
                                fa == pend_fare[city] and ready < pend_ready[city]
                            ):
                                pend_fare[city] = fa
                                pend_ready[city] = ready
                        if full > 0:
                            break
                if flags & 2:
                    break  # the run ends
                nd = ride[r + 1, RIDE_DEP]
                if nd > end or (nd > latest[to] and ride[r + 1, RIDE_FLAGS] & 4 and to != target):
                    break  # after the search's range, or too late to reach the target
                r += 1
            if full > 0:
                break
    for i in range(n_touched):
        run_best[touched[i], 0] = INF
        run_best[touched[i], 1] = -1
    if found:
        rows = best_row.reshape((1, 5)).copy()
    else:
        rows = np.empty((0, 5), np.int64)
    return (
        full, rows, t_k[:n_t], t_lab[:n_t], l_pt[:n_l], l_pk[:n_l],
    )


# pareto_first keeps, per city, the earliest ready time of its taken labels for this many
# ride counts (int32, relative to the search's start: one cache line per city); labels with
# more rides compare with the last count.
LEVELS = 16
# pareto_first orders its heap by one int64: the fare key above the ready time (relative
# to the start, below 2**21 s: 24 days) above the rides (5 bits).
READY_BITS = 21
FARE_KEY_LIMIT = 1 << (63 - READY_BITS - 5)
INF32 = (1 << 31) - 1


@njit(cache=True, inline="always")
def _first_key(fare_key: int, ready: int, rides: int) -> int:
    return (fare_key << (READY_BITS + 5)) | (ready << 5) | min(rides, 31)


@njit(cache=True, nogil=True)
def pareto_first(
    rec: np.ndarray,
    run_low: np.ndarray,
    run_high: np.ndarray,
    trip_ok: np.ndarray,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
    origin: int,
    target: int,
    finish: np.ndarray,
    start: int,
    end: int,
    ride: np.ndarray,
    dep_start: np.ndarray,
    dep_time: np.ndarray,
    boarding: np.ndarray,
    zone_fares: np.ndarray,
    lbf: np.ndarray,
    lbr: np.ndarray,
    latest: np.ndarray,
    lbt: np.ndarray,
    max_rides: int,
    run_best: np.ndarray,
    stamp: np.ndarray,
    stamp_base: int,
    city_patterns: np.ndarray,
    cap_l: int,
    cap_t: int,
    cap_f: int,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Pareto set over (arrival, fare, rides), labels taken in order of fare.

    ``cheapest_first`` with rides as a third criterion (Martins' label-setting search, with
    the fare bounds ``lbf`` as A* potentials; fares must be >= 0): labels (city, ready time,
    fare, rides) leave the heap in the order of (fare + bound, ready time, rides), so a label
    that leaves it is never beaten by a later one, and every label taken before it at its
    city is at least as cheap. Whether one of those beats it is then a question of ready time
    and rides alone: per city, the earliest ready time taken with at most r rides (r <
    ``LEVELS``), one array read. The same holds at the target: every journey found before is
    at least as cheap as any completion of the label taken (the bound is consistent), so a
    label, a ride or a journey is useless as soon as a found journey with no more rides
    (``lbr``: the rides still needed) arrives no later than it can (``lbt``). A taken label
    boards its city's departures from its ready time up to the ready time of the earliest
    one taken before it with no more rides (that one boarded the later ones, cheaper), and
    up to ``latest``, but of the runs of one pattern (``chain_runs``: same stops and fares,
    never overtaking) only the first it can catch: every later one arrives no earlier
    everywhere, for the same fare. Additive-fare runs keep one boarding (fare minus the
    cumulative fare there, where and with how many rides): a ride that it covers stops, as
    does one where the run leaves a city (boardable there) after its ``latest`` departure.

    Its departure walk and its ride repeat ``cheapest_first``'s lines on purpose: the same
    steps as inlined helpers (the prefetches, the pattern check, the zone fare) made it 7 to
    12 % slower on the national 10x network (in-process A/B, four rounds), numba compiling
    the loops less well around them.

    Arguments are ``cheapest_first``'s, with ``lbr`` the ride bounds, ``max_rides`` (< 0: no
    limit but ``RIDE_CAP``), ``run_best`` rows of (INF, -1, 0), left so, ``stamp`` a scratch
    row per pattern stop (never cleared: a label marks the patterns it boarded with
    ``stamp_base`` plus its index, so ``stamp_base`` must exceed every mark of earlier
    searches by at least ``cap_l``), ``city_patterns`` per city the number of pattern
    stops departing it (more than any where a departure has none: a label that met them
    all stops walking the departures), and ``cap_f`` found journeys. The result is ``pareto_scan``'s (4 first: a fare key too large for the heap's
    key; the caller uses the scan instead).
    """
    n_cities = mct.shape[0]
    lo, hi, n_runs, run_base = _span(rec, run_low, run_high, start, end)
    ends = finish.shape[0] > 0  # walks lead to the target: journeys may end with one
    top = RIDE_CAP if max_rides < 0 else max_rides
    label = np.empty((cap_l, 4), np.int64)  # ready time, fare, city, rides
    l_pt = np.empty(cap_l, np.int64)
    l_pk = np.empty(cap_l, np.int64)
    h_key = np.empty(cap_l, np.int64)
    h_lab = np.empty(cap_l, np.int64)
    t_lab = np.empty(cap_t, np.int64)
    t_k = np.empty(cap_t, np.int64)
    rows = np.empty((cap_f, 5), np.int64)
    # Per city and ride count r: the earliest ready time (- start) taken with at most r rides.
    taken = np.full((n_cities, LEVELS), INF32, np.int32)
    # Per ride count r: the earliest arrival found with at most r rides; past ``top``, -1, so
    # that a label needing more rides than allowed is beaten.
    found_by = np.full(top + 2, INF, np.int64)
    found_by[top + 1] = -1
    # Per city, the cheapest label pushed there (fare, ready time, rides; then the earliest
    # ready): a new label it beats is not worth a place in the heap. Taken since, or found
    # useless, it still beats what it beat.
    pend = np.full((n_cities, 3), INF, np.int64)
    touched = np.empty(cap_t, np.int64)
    n_touched = 0
    n_l = 0
    n_h = 0
    n_t = 0
    n_f = 0
    full = 0
    for w in range(walk_start[origin] - 1, walk_start[origin + 1]):
        # The origin, and each city a walk from it (after the walk): rides 0, fare 0.
        if w < walk_start[origin]:
            city = origin
            ready = start
        else:
            city = walk_to[w]
            ready = start + walk_secs[w]
        if city == target or lbf[city] >= UNREACHABLE or ready + lbt[city] > end:
            continue  # (the walk alone to the target is the planner's)
        if lbf[city] >= FARE_KEY_LIMIT:
            full = 4
            break
        if n_l == cap_l:
            full = 1
            break
        label[n_l, 0] = ready
        label[n_l, 1] = 0
        label[n_l, 2] = city
        label[n_l, 3] = 0
        l_pt[n_l] = -1
        l_pk[n_l] = -1
        n_h = _heap_push(h_key, h_lab, n_h, _first_key(lbf[city], ready - start, 0), n_l)
        n_l += 1
    while n_h > 0 and full == 0:
        lab = h_lab[0]
        n_h = _heap_pop(h_key, h_lab, n_h)
        if n_h > 0:
            _prefetch(label, h_lab[0])  # type: ignore[call-arg]  # (likely the next one out)
        t = label[lab, 0]
        f = label[lab, 1]
        c = label[lab, 2]
        b = label[lab, 3]
        if c == target:
            # A journey: kept unless one found before (no dearer) arrives no later with no
            # more rides.
            if found_by[b] <= t:
                continue
            if n_f == cap_f:
                full = 3
                break
            rows[n_f, 0] = t
            rows[n_f, 1] = f
            rows[n_f, 2] = b
            rows[n_f, 3] = l_pt[lab]
            rows[n_f, 4] = l_pk[lab]
            n_f += 1
            for k in range(b, top + 1):
                if found_by[k] <= t:
                    break
                found_by[k] = t
            continue
        level = min(b, LEVELS - 1)
        rel = t - start
        limit_rel = taken[c, level]
        if rel >= limit_rel:
            continue  # a label at least as cheap, ready no later, with no more rides
        if found_by[min(b + lbr[c], top + 1)] <= t + lbt[c]:
            continue
        if b < LEVELS:
            for k in range(b, LEVELS):
                if taken[c, k] <= rel:
                    break
                taken[c, k] = rel
        if b >= top:
            continue
        limit = INF if limit_rel == INF32 else start + limit_rel
        last = latest[c]
        if end - lbt[c] < last:
            last = end - lbt[c]
        # A departure from which no journey can beat those found with as many rides.
        beaten = found_by[min(b + lbr[c], top + 1)] - lbt[c] - 1
        if beaten < last:
            last = beaten
        rides = b + 1
        seen = 0  # the city's pattern stops met: once all are, every later one is useless
        q = _first_from(dep_start, dep_time, c, t)
        q_end = dep_start[c + 1]
        while q < q_end:
            d = dep_time[q]
            if d >= limit or d > last or seen == city_patterns[c]:
                break
            bq = q
            q += 1
            if q + AHEAD < q_end:
                # Start loading what boarding a later departure will read (its ride rows
                # and its run's slot lie anywhere in memory) and the boarding rows after.
                ahead = np.int64(boarding[q + AHEAD, BOARD_RIDE])
                _prefetch(ride, ahead)  # type: ignore[call-arg]
                _prefetch(ride, ahead + 2)  # type: ignore[call-arg]
                _prefetch(run_best, np.int64(boarding[q + AHEAD, BOARD_RUN]) - run_base)  # type: ignore[call-arg]
                _prefetch(boarding, min(q + 2 * AHEAD, q_end - 1))  # type: ignore[call-arg]
            pattern = boarding[bq, BOARD_PATTERN]
            if pattern >= 0:
                if stamp[pattern] == stamp_base + lab:
                    continue  # an earlier run of the pattern, met here, is better
                stamp[pattern] = stamp_base + lab
                seen += 1
            tf = boarding[bq, BOARD_TRIP_FLAGS]
            if not trip_ok[tf >> 2]:
                continue  # (nor may the pattern's other runs be used: same mode)
            if n_t == cap_t:
                full = 2
                break
            p = int(boarding[bq, BOARD_RIDE])
            x = boarding[bq, BOARD_RUN] - run_base
            od = boarding[bq, BOARD_ZONE]
            v = f
            if od < 0:
                v = f - boarding[bq, BOARD_CUM]
                at = run_best[x, 1]
                if at >= 0 and at <= p and run_best[x, 0] <= v and run_best[x, 2] <= rides:
                    continue  # a boarding of this run as good is aboard here already
                if at < 0:
                    touched[n_touched] = x
                    n_touched += 1
                if at < 0 or (v < run_best[x, 0] and rides <= run_best[x, 2]):
                    run_best[x, 0] = v
                    run_best[x, 1] = p
                    run_best[x, 2] = rides
            tl = n_t
            t_lab[tl] = lab
            t_k[tl] = ride[p, RIDE_REC]
            n_t += 1
            boarded_cum = boarding[bq, BOARD_CUM]
            boarded_zone = boarding[bq, BOARD_ZONE_PART]
            beaten_at = found_by[rides]
            r = p
            while True:
                a = int(ride[r, RIDE_ARR])
                if a > end or a >= beaten_at:
                    break  # every journey from here on arrives too late
                if od < 0:
                    at = run_best[x, 1]
                    if r >= at and run_best[x, 2] <= rides and (
                        run_best[x, 0] < v
                        or (run_best[x, 0] == v and (at != p or run_best[x, 2] < rides))
                    ):
                        break  # from here on, a better boarding of the run covers this one
                    fa = v + ride[r, RIDE_TO_CUM]
                else:
                    zone = zone_fares[boarded_zone + ride[r, RIDE_ZONE_ALIGHT]]
                    if zone != NO_ZONE_FARE:
                        fa = f + zone
                    else:
                        fa = f + ride[r, RIDE_TO_CUM] - boarded_cum
                to = ride[r, RIDE_TO]
                flags = ride[r, RIDE_FLAGS]
                if flags & 1:
                    fin = 0 if to == target else (finish[to] if ends else -1)
                    for w in range(walk_start[to] - 2, walk_start[to + 1]):
                        if w == walk_start[to] - 2:
                            # The target, or a walk away from it: a journey.
                            if fin < 0:
                                continue
                            city = target
                            ready = a + fin
                            if ready > end or ready >= beaten_at:
                                continue
                            fkey = fa
                        else:
                            if to == target:
                                break
                            if w < walk_start[to]:
                                city = to
                                ready = a + mct[to]
                            else:
                                city = walk_to[w]
                                ready = a + walk_secs[w]
                                if city == target:
                                    continue  # (ended a journey above, walking there)
                            if ready > latest[city] or ready + lbt[city] > end:
                                continue
                            if lbf[city] >= UNREACHABLE:
                                continue
                            if found_by[min(rides + lbr[city], top + 1)] <= ready + lbt[city]:
                                continue
                            if taken[city, min(rides, LEVELS - 1)] <= ready - start:
                                continue
                            if pend[city, 0] <= fa and pend[city, 1] <= ready and pend[city, 2] <= rides:
                                continue  # a label in the heap beats it
                            if fa < pend[city, 0] or (fa == pend[city, 0] and ready < pend[city, 1]):
                                pend[city, 0] = fa
                                pend[city, 1] = ready
                                pend[city, 2] = rides
                            fkey = fa + lbf[city]
                        if fkey >= FARE_KEY_LIMIT:
                            full = 4
                            break
                        if n_l == cap_l:
                            full = 1
                            break
                        label[n_l, 0] = ready
                        label[n_l, 1] = fa
                        label[n_l, 2] = city
                        label[n_l, 3] = rides
                        l_pt[n_l] = tl
                        l_pk[n_l] = ride[r, RIDE_REC]
                        n_h = _heap_push(h_key, h_lab, n_h, _first_key(fkey, ready - start, rides), n_l)
                        n_l += 1
                    if full > 0:
                        break
                if flags & 2:
                    break  # the run ends
                nd = ride[r + 1, RIDE_DEP]
                if nd > end or (nd > latest[to] and ride[r + 1, RIDE_FLAGS] & 4 and to != target):
                    break  # after the search's range, or too late to reach the target
                r += 1
            if full > 0:
                break
    for i in range(n_touched):
        run_best[touched[i], 0] = INF
        run_best[touched[i], 1] = -1
        run_best[touched[i], 2] = 0
    return (
        full, rows[:n_f], t_k[:n_t], t_lab[:n_t], l_pt[:n_l], l_pk[:n_l],
    )


@njit(cache=True, nogil=True)
def chain_runs(
    order: np.ndarray,
    run_shape: np.ndarray,
    run_row: np.ndarray,
    run_rows: np.ndarray,
    run_pos: np.ndarray,
    ride: np.ndarray,
) -> np.ndarray:
    """Split the runs of each shape (timetables of one service with the same stops, fares and
    rules) into patterns whose runs never overtake one another; returns each run's pattern
    (-1: none, past ``MAX_CHAINS`` patterns of a shape).

    A run may follow another in a pattern when, at every stop position both reach in the
    timeline, it comes later in record order (departs no earlier) and arrives no earlier,
    and where only one of them is in the timeline's range, that says the same: the later
    one may be missing at the range's end, the earlier one at its start (anything else
    means overtaking there, or a time the range hides). Then it is
    later than every run before it in the pattern (the order is transitive): a label that
    can catch both catches the earlier, which is as good at every later stop.

    ``order`` lists the runs by shape, then first departure; per run its shape, first ride
    row, number of rows and the position of its first row among the shape's connections
    (direction's terms); ``ride`` the ride rows.
    """
    n_runs = run_shape.shape[0]
    chain = np.full(n_runs, -1, np.int64)
    last = np.empty(MAX_CHAINS, np.int64)
    n_chains = 0
    i = 0
    while i < order.shape[0]:
        shape = run_shape[order[i]]
        j = i
        while j < order.shape[0] and run_shape[order[j]] == shape:
            j += 1
        first_chain = n_chains
        n_here = 0
        for k in range(i, j):
            b = order[k]
            b0 = run_pos[b]
            b1 = b0 + run_rows[b]
            placed = False
            for c in range(n_here):
                a = last[c]
                a0 = run_pos[a]
                a1 = a0 + run_rows[a]
                # A later run reaches earlier positions in the range no later and leaves
                # it no later: it departs the range's start later and reaches its end sooner.
                fits = b0 <= a0 and b1 <= a1
                if fits:
                    for pos in range(a0, b1):
                        ra = run_row[a] + pos - a0
                        rb = run_row[b] + pos - b0
                        if ride[ra, RIDE_REC] >= ride[rb, RIDE_REC] or ride[ra, RIDE_ARR] > ride[rb, RIDE_ARR]:
                            fits = False
                            break
                if fits:
                    chain[b] = first_chain + c
                    last[c] = b
                    placed = True
                    break
            if not placed and n_here < MAX_CHAINS:
                last[n_here] = b
                chain[b] = first_chain + n_here
                n_here += 1
        n_chains += n_here
        i = j
    return chain


@njit(cache=True, nogil=True)
def hop_graph(
    rec: np.ndarray, n_cities: int, walk_start: np.ndarray, walk_to: np.ndarray,
    walk_secs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The reversed city graph of a timeline: an edge to -> from per connection pair with its
    shortest ride, and per walk; for lower bounds on the time still needed to reach a city.
    Also says whether every ride takes 0 seconds or more (else the bounds would be wrong)."""
    n = rec.shape[0]
    count = np.zeros(n_cities + 1, np.int64)
    for k in range(n):
        count[rec[k, TO_CITY] + 1] += 1
    for c in range(n_cities):
        for w in range(walk_start[c], walk_start[c + 1]):
            count[walk_to[w] + 1] += 1
    for c in range(n_cities):
        count[c + 1] += count[c]
    fill = count[:-1].copy()
    src = np.empty(count[n_cities], np.int64)
    dur = np.empty(count[n_cities], np.int64)
    ok = True
    for k in range(n):
        to = rec[k, TO_CITY]
        src[fill[to]] = rec[k, FROM_CITY]
        d = int(rec[k, ARR]) - int(rec[k, DEP])
        if d < 0:
            ok = False
        dur[fill[to]] = d
        fill[to] += 1
    for c in range(n_cities):
        for w in range(walk_start[c], walk_start[c + 1]):
            to = walk_to[w]
            src[fill[to]] = c
            dur[fill[to]] = walk_secs[w]
            fill[to] += 1
    # Keep the shortest edge per (to, from).
    best = np.full(n_cities, INF, np.int64)
    indptr = np.zeros(n_cities + 1, np.int64)
    indices = np.empty(count[n_cities], np.int64)
    weights = np.empty(count[n_cities], np.int64)
    m = 0
    for to in range(n_cities):
        for e in range(count[to], count[to + 1]):
            if dur[e] < best[src[e]]:
                best[src[e]] = dur[e]
        for e in range(count[to], count[to + 1]):
            u = src[e]
            if best[u] < INF:
                indices[m] = u
                weights[m] = best[u]
                best[u] = INF
                m += 1
        indptr[to + 1] = m
    return indptr, indices[:m].copy(), weights[:m].copy(), ok


@njit(cache=True, nogil=True)
def distances(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, source: int) -> np.ndarray:
    """Dijkstra from ``source`` over a CSR graph with weights >= 0 (INF: unreachable)."""
    n = indptr.shape[0] - 1
    dist = np.full(n, INF, np.int64)
    dist[source] = 0
    heap = [(np.int64(0), np.int64(source))]
    while heap:
        du, u = heapq.heappop(heap)
        if du > dist[u]:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = du + weights[e]
            if nd < dist[v]:
                dist[v] = nd
                heapq.heappush(heap, (nd, np.int64(v)))
    return dist


_warm_lock = threading.Lock()
_warm = False


def warm_up() -> None:
    """Compile (or load from the on-disk cache) the scans once per process."""
    global _warm
    with _warm_lock:
        if _warm:
            return
        i64 = np.zeros(2, np.int64)
        rec = np.zeros((2, RECORD_WIDTH), np.int32)
        ok = np.ones(2, np.bool_)
        walk_start = np.zeros(3, np.int64)
        empty = np.zeros(0, np.int64)
        runs = np.zeros(2, np.int32)
        earliest_arrival(rec, runs, runs, ok, i64, walk_start, empty, empty, 0, 1, i64, 0, 10)
        earliest_journey(rec, runs, runs, ok, i64, walk_start, empty, empty, 0, 1, i64, 0, 10)
        distances(walk_start, empty, empty, 0)
        pareto_scan(
            rec, runs, runs, ok, i64, walk_start, empty, empty, 0, 1, i64, 0, 10,
            np.zeros((2, WIDE_WIDTH), np.int32), walk_start, runs, runs, -1, KEY_OPTIONS,
            True, True, runs, i64, i64, i64, i64, INF,
            INF, 16,
            16, 4,
        )
        cheapest_first(
            rec, runs, runs, ok, i64, walk_start, empty, empty, 0, 1, i64, 0, 10,
            np.zeros((2, RIDE_WIDTH), np.int32), walk_start, runs,
            np.zeros((2, BOARD_WIDTH), np.int32), runs, i64, i64, i64,
            np.zeros((2, 2), np.int64), i64, 0, i64, 16, 16,
        )
        pareto_first(
            rec, runs, runs, ok, i64, walk_start, empty, empty, 0, 1, i64, 0, 10,
            np.zeros((2, RIDE_WIDTH), np.int32), walk_start, runs,
            np.zeros((2, BOARD_WIDTH), np.int32), runs, i64, i64, i64, i64, -1,
            np.zeros((2, 3), np.int64), i64, 0, i64, 16, 16, 4,
        )
        chain_runs(
            np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64),
            np.ones(1, np.int64), np.zeros(1, np.int64), np.zeros((2, RIDE_WIDTH), np.int32),
        )
        hop_graph(rec, 2, walk_start, empty, empty)
        leaves(rec, ok, 0, 0, 10)
        boarding_reach(rec, runs, runs, ok, i64, walk_start, empty, empty, 0, 1, i64, 0, 10, ok, 0)
        _warm = True
