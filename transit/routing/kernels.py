"""The connection scans' inner loops, compiled with numba (see engine.py for their contract).

Plain loops over flat arrays: the timeline (``dep``, ``arr``, ``conn``, ``run``), a
direction's connection table (one row of int32 per connection: from city, to city, flags,
timetable, boarding stop row, alighting stop row, so that one cache line holds what a scan
reads about a connection), per-city minimum connection times and walks (CSR), cumulative
fares per stop row and the zone-fare table (sorted keys).

Labels live in pools (parallel arrays that grow by doubling) and bags are singly linked
lists through those pools: a city's bag starts at ``bag_head[city]``, a run's trip labels at
``trip_head[run]``. Dominated labels are unlinked but stay in the pool, where the parents of
the labels built on them still point.

``cache=True`` keeps the machine code beside this module, so a process pays the compilation
once per installation; ``warm_up`` loads it (or compiles it) before the first query.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

INF = 1 << 62
RIDE_CAP = 32

# Columns of a direction's connection table.
FROM_CITY, TO_CITY, FLAGS, TRIP, FROM_POS, TO_POS = 0, 1, 2, 3, 4, 5
TABLE_WIDTH = 8  # padded to 32 bytes: one row never straddles two cache lines

# Objectives of the single-best scans (lexicographic over arrival t, fare f, rides b).
KEY_OPTIONS = 0  # no single best: the Pareto set
KEY_T = 1  # (t)
KEY_BF = 2  # (b, f)
KEY_FT = 3  # (f, t)
KEY_BT = 4  # (b, t)


@njit(cache=True, nogil=True)
def earliest_arrival(
    dep: np.ndarray,
    arr: np.ndarray,
    conn: np.ndarray,
    run: np.ndarray,
    lo: int,
    hi: int,
    n_runs: int,
    table: np.ndarray,
    trip_ok: np.ndarray,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
    origin: int,
    target: int,
    start: int,
    end: int,
) -> int:
    """Earliest arrival at ``target`` scanning timeline entries ``lo:hi`` (INF: none)."""
    n_cities = mct.shape[0]
    ready = np.full(n_cities, INF, dtype=np.int64)
    ready[origin] = start
    aboard = np.zeros(n_runs, dtype=np.bool_)
    best = INF
    for k in range(lo, hi):
        d = dep[k]
        if d >= best:
            break
        x = run[k]
        c = conn[k]
        fl = table[c, FLAGS]
        if not aboard[x]:
            if not fl & 1:
                continue
            if ready[table[c, FROM_CITY]] > d or not trip_ok[table[c, TRIP]]:
                continue
            aboard[x] = True
        a = arr[k]
        if a > end or not fl & 2:
            continue
        to = table[c, TO_CITY]
        if to == target:
            if a < best:
                best = a
            continue
        r = a + mct[to]
        if r < ready[to]:
            ready[to] = r
        for w in range(walk_start[to], walk_start[to + 1]):
            r = a + walk_secs[w]
            if r < ready[walk_to[w]]:
                ready[walk_to[w]] = r
    return best


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


@njit(cache=True)
def _grow(a: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(size, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


@njit(cache=True, nogil=True)
def pareto_scan(
    dep: np.ndarray,
    arr: np.ndarray,
    conn: np.ndarray,
    run: np.ndarray,
    lo: int,
    hi: int,
    n_runs: int,
    table: np.ndarray,
    trip_ok: np.ndarray,
    mct: np.ndarray,
    walk_start: np.ndarray,
    walk_to: np.ndarray,
    walk_secs: np.ndarray,
    origin: int,
    target: int,
    start: int,
    end: int,
    max_rides: int,
    mode: int,
    use_fare: bool,
    use_rides: bool,
    reverse: bool,
    cumv: np.ndarray,
    stop_city: np.ndarray,
    trip_od: np.ndarray,
    od_keys: np.ndarray,
    od_vals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Multi-criteria scan (engine.pareto_scan documents the labels and the pruning).

    ``max_rides`` < 0 means no limit. ``trip_od[trip]`` is the timetable's service index
    when it has zone fares, else -1; ``od_keys`` are ``(service * n + board city) * n +
    alight city``, sorted. Returns the target labels as rows (arrival, fare, rides, trip
    label, alighting timeline index) and the pools the parents are read from: trip labels'
    boarding index and stop label, stop labels' parent trip label and alighting index.
    """
    n_cities = mct.shape[0]
    n_c = np.int64(n_cities)
    # Stop labels.
    cap_l = 1024
    l_ready = np.empty(cap_l, np.int64)
    l_fare = np.empty(cap_l, np.int64)
    l_rides = np.empty(cap_l, np.int64)
    l_pt = np.empty(cap_l, np.int64)
    l_pk = np.empty(cap_l, np.int64)
    l_next = np.empty(cap_l, np.int64)
    bag_head = np.full(n_cities, -1, np.int64)
    l_ready[0] = start
    l_fare[0] = 0
    l_rides[0] = 0
    l_pt[0] = -1
    l_pk[0] = -1
    l_next[0] = -1
    bag_head[origin] = 0
    n_l = 1
    # Trip labels: value (fare before boarding, minus the cumulative fare at the boarding row
    # for additive fares), rides as a criterion, boarding row, stop label, boarding index,
    # rides counted.
    cap_t = 1024
    t_value = np.empty(cap_t, np.int64)
    t_b = np.empty(cap_t, np.int64)
    t_pos = np.empty(cap_t, np.int64)
    t_lab = np.empty(cap_t, np.int64)
    t_k = np.empty(cap_t, np.int64)
    t_n = np.empty(cap_t, np.int64)
    t_next = np.empty(cap_t, np.int64)
    trip_head = np.full(n_runs, -1, np.int64)
    n_t = 0
    # Found target labels (options) or the best one.
    cap_f = 64
    f_a = np.empty(cap_f, np.int64)
    f_f = np.empty(cap_f, np.int64)
    f_b = np.empty(cap_f, np.int64)
    f_t = np.empty(cap_f, np.int64)
    f_k = np.empty(cap_f, np.int64)
    f_alive = np.zeros(cap_f, np.bool_)
    f_applied = np.zeros(cap_f, np.bool_)
    n_f = 0
    pending_min = INF  # earliest arrival among found labels not yet folded into ``lowest``
    lowest = np.full(RIDE_CAP + 1, INF, np.int64)
    stop_at = INF
    have_best = False
    best_key = (INF, INF)
    best_row = np.zeros(5, np.int64)
    options = mode == KEY_OPTIONS

    for k in range(lo, hi):
        d = dep[k]
        if not options:
            if have_best and _ge(_key(mode, d, 0, 1), best_key):
                break
        else:
            if d >= stop_at:
                break
            if pending_min <= d:
                # Found labels arriving by now reject whatever is built from here on.
                pending_min = INF
                for i in range(n_f):
                    if f_applied[i]:
                        continue
                    if f_a[i] <= d:
                        f_applied[i] = True
                        lo_b = f_b[i] if f_b[i] < RIDE_CAP else RIDE_CAP
                        for j in range(lo_b, RIDE_CAP + 1):
                            if lowest[j] > f_f[i]:
                                lowest[j] = f_f[i]
                    elif f_a[i] < pending_min:
                        pending_min = f_a[i]
        x = run[k]
        c = conn[k]
        fl = table[c, FLAGS]
        trip = table[c, TRIP]
        a = arr[k]
        od = trip_od[trip] if use_fare else -1
        if fl & 1 and trip_ok[trip]:
            lab = bag_head[table[c, FROM_CITY]]
            fpos = table[c, FROM_POS]
            while lab != -1:
                if l_ready[lab] > d:
                    lab = l_next[lab]
                    continue
                f = l_fare[lab]
                b = l_rides[lab] + 1 if use_rides else 0
                if max_rides >= 0 and l_rides[lab] + 1 > max_rides:
                    lab = l_next[lab]
                    continue
                if options:
                    dominated = lowest[b if b < RIDE_CAP else RIDE_CAP] <= f
                else:
                    dominated = have_best and _ge(_key(mode, a, f, b), best_key)
                if dominated:
                    lab = l_next[lab]
                    continue
                v = f - cumv[fpos] if (use_fare and od < 0) else f
                skip = False
                t2 = trip_head[x]
                while t2 != -1:
                    if t_value[t2] <= v and t_b[t2] <= b and (od < 0 or t_pos[t2] == fpos):
                        skip = True
                        break
                    t2 = t_next[t2]
                if skip:
                    lab = l_next[lab]
                    continue
                prev = -1
                t2 = trip_head[x]
                while t2 != -1:
                    nxt = t_next[t2]
                    if v <= t_value[t2] and b <= t_b[t2] and (od < 0 or t_pos[t2] == fpos):
                        if prev == -1:
                            trip_head[x] = nxt
                        else:
                            t_next[prev] = nxt
                    else:
                        prev = t2
                    t2 = nxt
                if n_t == cap_t:
                    cap_t *= 2
                    t_value = _grow(t_value, cap_t)
                    t_b = _grow(t_b, cap_t)
                    t_pos = _grow(t_pos, cap_t)
                    t_lab = _grow(t_lab, cap_t)
                    t_k = _grow(t_k, cap_t)
                    t_n = _grow(t_n, cap_t)
                    t_next = _grow(t_next, cap_t)
                t_value[n_t] = v
                t_b[n_t] = b
                t_pos[n_t] = fpos
                t_lab[n_t] = lab
                t_k[n_t] = k
                t_n[n_t] = l_rides[lab] + 1
                t_next[n_t] = trip_head[x]
                trip_head[x] = n_t
                n_t += 1
                lab = l_next[lab]
        if trip_head[x] == -1 or a > end or not fl & 2:
            continue
        to = table[c, TO_CITY]
        tpos = table[c, TO_POS]
        t2 = trip_head[x]
        while t2 != -1:
            v = t_value[t2]
            b = t_b[t2]
            if not use_fare:
                f = 0
            elif od < 0:
                f = v + cumv[tpos]
            else:
                bpos = t_pos[t2]
                if reverse:
                    cb, ca = stop_city[tpos], stop_city[bpos]
                else:
                    cb, ca = stop_city[bpos], stop_city[tpos]
                want = (od * n_c + cb) * n_c + ca
                i = np.searchsorted(od_keys, want)
                if i < od_keys.shape[0] and od_keys[i] == want:
                    f = v + od_vals[i]
                else:
                    # Both directions: the cumulative values grow along the ride's direction.
                    f = v + cumv[tpos] - cumv[bpos]
            if to == target:
                if not options:
                    kk = _key(mode, a, f, b)
                    if not have_best or not _ge(kk, best_key):
                        have_best = True
                        best_key = kk
                        best_row[0] = a
                        best_row[1] = f
                        best_row[2] = b
                        best_row[3] = t2
                        best_row[4] = k
                    t2 = t_next[t2]
                    continue
                beaten = False
                for i in range(n_f):
                    if f_alive[i] and f_a[i] <= a and f_f[i] <= f and f_b[i] <= b:
                        beaten = True
                        break
                if not beaten:
                    for i in range(n_f):
                        if f_alive[i] and a <= f_a[i] and f <= f_f[i] and b <= f_b[i]:
                            f_alive[i] = False
                    if n_f == cap_f:
                        cap_f *= 2
                        f_a = _grow(f_a, cap_f)
                        f_f = _grow(f_f, cap_f)
                        f_b = _grow(f_b, cap_f)
                        f_t = _grow(f_t, cap_f)
                        f_k = _grow(f_k, cap_f)
                        f_alive = _grow(f_alive, cap_f)
                        f_applied = _grow(f_applied, cap_f)
                    f_a[n_f] = a
                    f_f[n_f] = f
                    f_b[n_f] = b
                    f_t[n_f] = t2
                    f_k[n_f] = k
                    f_alive[n_f] = True
                    f_applied[n_f] = False
                    n_f += 1
                    if a < pending_min:
                        pending_min = a
                    if f == 0 and b <= 1 and a < stop_at:
                        stop_at = a
                t2 = t_next[t2]
                continue
            if max_rides >= 0 and t_n[t2] >= max_rides:
                t2 = t_next[t2]
                continue  # may not board again; only the target helps
            # Ready at the alighting city after the connection time, or at each walk's end.
            for w in range(walk_start[to] - 1, walk_start[to + 1]):
                if w < walk_start[to]:
                    city = to
                    ready = a + mct[to]
                else:
                    city = walk_to[w]
                    ready = a + walk_secs[w]
                # Whatever boards from here arrives at or after ``ready`` and rides once more.
                nb = b + 1 if b else b
                if options:
                    if lowest[nb if nb < RIDE_CAP else RIDE_CAP] <= f:
                        continue
                elif have_best and _ge(_key(mode, ready, f, nb), best_key):
                    continue
                lab = bag_head[city]
                covered = False
                while lab != -1:
                    if l_ready[lab] <= ready and l_fare[lab] <= f and l_rides[lab] <= b:
                        covered = True
                        break
                    lab = l_next[lab]
                if covered:
                    continue
                prev = -1
                lab = bag_head[city]
                while lab != -1:
                    nxt = l_next[lab]
                    if ready <= l_ready[lab] and f <= l_fare[lab] and b <= l_rides[lab]:
                        if prev == -1:
                            bag_head[city] = nxt
                        else:
                            l_next[prev] = nxt
                    else:
                        prev = lab
                    lab = nxt
                if n_l == cap_l:
                    cap_l *= 2
                    l_ready = _grow(l_ready, cap_l)
                    l_fare = _grow(l_fare, cap_l)
                    l_rides = _grow(l_rides, cap_l)
                    l_pt = _grow(l_pt, cap_l)
                    l_pk = _grow(l_pk, cap_l)
                    l_next = _grow(l_next, cap_l)
                l_ready[n_l] = ready
                l_fare[n_l] = f
                l_rides[n_l] = b
                l_pt[n_l] = t2
                l_pk[n_l] = k
                l_next[n_l] = bag_head[city]
                bag_head[city] = n_l
                n_l += 1
            t2 = t_next[t2]

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
    elif have_best:
        rows = best_row.reshape((1, 5)).copy()
    else:
        rows = np.empty((0, 5), np.int64)
    return rows, t_k[:n_t].copy(), t_lab[:n_t].copy(), l_pt[:n_l].copy(), l_pk[:n_l].copy()


_warm_lock = threading.Lock()
_warm = False


def warm_up() -> None:
    """Compile (or load from the on-disk cache) both scans once per process."""
    global _warm
    with _warm_lock:
        if _warm:
            return
        i64 = np.zeros(2, np.int64)
        i32 = np.zeros(2, np.int32)
        table = np.zeros((2, TABLE_WIDTH), np.int32)
        ok = np.ones(2, np.bool_)
        walk_start = np.zeros(3, np.int64)
        empty = np.zeros(0, np.int64)
        earliest_arrival(
            i64, i64, i32, i32, 0, 2, 2, table, ok, i64, walk_start, empty, empty, 0, 1, 0, 10
        )
        pareto_scan(
            i64, i64, i32, i32, 0, 2, 2, table, ok, i64, walk_start, empty, empty, 0, 1, 0,
            10, -1, KEY_OPTIONS, True, True, False, i64, i64, i64, empty, empty,
        )
        _warm = True
