"""Lag features with a strict cut-off: nothing known later than the cut-off is ever read.

For a trip scheduled to leave at ``d``, the cut-off is ``d - lead`` (one hour by default). What
is known then:

- the service's own past trips whose outcome was known by the cut-off: a completed trip once
  it arrived, a cancelled one at its scheduled departure, any other at its scheduled arrival
  plus three hours (a diversion);
- the timetable (scheduled times are published in advance);
- with ``context=True`` (the "one hour before" option): departures and cancellations at the
  origin up to the cut-off, arrivals known by then from the origin and on the same route, and
  the latest weather observed at the origin at or before the cut-off.

``build_features`` computes everything from those sets only; tests/test_forecast_features.py
rewrites every fact known after the cut-off at random and checks the features do not move.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from transit.forecast.data import TripTable

HOUR = 3600
DIVERSION_KNOWN_AFTER = 3 * HOUR  # an unknown arrival is taken as known 3 h after schedule
CLIP = (-120.0, 600.0)  # minutes; a few delays of 20 h would dominate squared losses

STEP_NAMES = (
    "tt_resid",
    "arr_delay",
    "dep_delay",
    "unknown",
    "cancelled",
    "log_age_h",
    "sched_diff_h",
    "minute_diff_h",
    "dow_sin",
    "dow_cos",
)


@dataclass(frozen=True)
class FeatureConfig:
    """How features are built: history length, cut-off lead and the one-hour-before option."""

    history: int = 14
    lead_minutes: int = 60
    context: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Features:
    """Features of some target trips (``rows`` index the trip table)."""

    rows: np.ndarray  # int64 indices of the target trips in the table
    seq: np.ndarray  # float32 (n, history, len(STEP_NAMES)); oldest first, zero padding
    seq_mask: np.ndarray  # bool (n, history): True where a past trip fills the step
    ctx: np.ndarray  # float32 (n, len(ctx_names)), no NaN
    ctx_names: list[str]
    flat: np.ndarray  # float32 (n, len(flat_names)): ctx + recent raw lags, for ridge/GBM
    flat_names: list[str]
    origin: np.ndarray  # int32
    dest: np.ndarray  # int32
    sched_minutes: np.ndarray  # float64 timetabled travel time
    tt_resid: np.ndarray  # float64 target: actual minus timetabled travel time (NaN unknown)
    arr_delay: np.ndarray  # float64 target: arrival delay (NaN unknown)
    hist_tt: np.ndarray  # float64 (n, history) raw residuals of past trips, NaN where none
    hist_arr: np.ndarray  # float64 (n, history) raw arrival delays, NaN where none

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def has_target(self) -> np.ndarray:
        return ~np.isnan(self.tt_resid) & ~np.isnan(self.arr_delay)


def known_times(table: TripTable) -> np.ndarray:
    """When each trip's outcome became known (epoch seconds, int64)."""
    known = np.where(
        table.cancelled,
        table.sched_dep,
        table.sched_arr + DIVERSION_KNOWN_AFTER,
    ).astype(np.float64)
    arrived = ~np.isnan(table.act_arr) & ~table.cancelled
    known[arrived] = table.act_arr[arrived]
    return np.ceil(known).astype(np.int64)


class _Grouped:
    """Events sorted by (group, time) with a searchable combined key."""

    def __init__(self, group: np.ndarray, time: np.ndarray, t0: int, span: int) -> None:
        self.order = np.lexsort((time, group))
        self.group = group[self.order]
        self.time = time[self.order]
        self.t0 = t0
        self.span = span
        self.keys = self.group.astype(np.int64) * span + (self.time - t0)

    def search(
        self, group: np.ndarray, time: np.ndarray, side: Literal["left", "right"]
    ) -> np.ndarray:
        """Position in sorted order of ``time`` within ``group`` (side as np.searchsorted)."""
        clipped = np.clip(time - self.t0, -1, self.span - 2)
        return np.searchsorted(self.keys, group.astype(np.int64) * self.span + clipped, side=side)

    def group_start(self, group: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.group, group, side="left")


def _clip(values: np.ndarray) -> np.ndarray:
    return np.clip(values, *CLIP)


def _window_sum(
    grouped: _Grouped, values: np.ndarray, group: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Count and sum of ``values`` (NaN skipped) of events with time in (start, end]."""
    ordered = values[grouped.order]
    valid = ~np.isnan(ordered)
    cs = np.concatenate([[0.0], np.cumsum(np.where(valid, ordered, 0.0))])
    cn = np.concatenate([[0], np.cumsum(valid)])
    lo = grouped.search(group, start, "right")
    hi = grouped.search(group, end, "right")
    return (cn[hi] - cn[lo]).astype(np.float64), cs[hi] - cs[lo]


def _safe_mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def build_features(
    table: TripTable,
    rows: np.ndarray | None = None,
    config: FeatureConfig | None = None,
    pending: np.ndarray | None = None,
) -> Features:
    """Features of the trips ``rows`` (default: all) from what was known at their cut-offs.

    ``pending`` (bool per trip) marks runs still to come, such as the planned runs being
    forecast: they are never any trip's history, however early they are scheduled.
    """
    config = config or FeatureConfig()
    rows = np.arange(len(table)) if rows is None else np.asarray(rows, dtype=np.int64)
    k = config.history
    cutoff = table.sched_dep[rows] - config.lead_minutes * 60

    sched_min_all = table.scheduled_minutes()
    tt_all = table.travel_minutes() - sched_min_all
    arr_all = table.arrival_delay_minutes()
    dep_all = table.departure_delay_minutes()
    cancelled = table.cancelled
    known = known_times(table)
    if pending is not None:
        # Known after every cut-off: with no arrival recorded, a planned run would otherwise
        # read as a past diversion three hours after its scheduled arrival.
        known = np.where(pending, int(cutoff.max(initial=0)) + 1, known)

    t0 = int(min(known.min(initial=0), table.sched_dep.min(initial=0), cutoff.min(initial=0))) - 2 * 86400
    t1 = int(max(known.max(initial=0), table.sched_arr.max(initial=0))) + 2 * 86400
    span = t1 - t0 + 4

    # --- the service's own history, in order of when it became known --------------------
    by_service = _Grouped(table.service, known, t0, span)
    svc = table.service[rows]
    end = by_service.search(svc, cutoff, "right")
    first = by_service.group_start(svc)
    idx = end[:, None] - k + np.arange(k)[None, :]  # oldest first
    mask = idx >= first[:, None]
    hist = by_service.order[np.where(mask, idx, 0)]

    def lag(values: np.ndarray) -> np.ndarray:
        out = values[hist].astype(np.float64)
        out[~mask] = np.nan
        return out

    h_tt = lag(tt_all)
    h_arr = lag(arr_all)
    h_dep = lag(dep_all)
    h_cancel = lag(cancelled.astype(np.float64))
    h_unknown = np.where(mask, np.isnan(h_tt) | np.isnan(h_arr), False)
    age_h = (cutoff[:, None] - table.sched_dep[hist]) / HOUR
    sched_i = sched_min_all[rows]
    sched_diff = (sched_min_all[hist] - sched_i[:, None]) / 60.0
    minute_i = table.local_minute[rows].astype(np.float64)
    minute_diff = (table.local_minute[hist].astype(np.float64) - minute_i[:, None]) / 60.0
    dow_h = table.local_dow[hist].astype(np.float64) * (2 * np.pi / 7)

    seq = np.stack(
        [
            np.nan_to_num(_clip(h_tt)),
            np.nan_to_num(_clip(h_arr)),
            np.nan_to_num(_clip(h_dep)),
            h_unknown.astype(np.float64),
            np.nan_to_num(h_cancel),
            np.log1p(np.maximum(age_h, 0.0)),
            sched_diff,
            minute_diff,
            np.sin(dow_h),
            np.cos(dow_h),
        ],
        axis=-1,
    )
    seq[~mask] = 0.0

    # --- the target trip and aggregates of its history --------------------------------
    ctx: dict[str, np.ndarray] = {}
    ctx["sched_minutes"] = sched_i
    angle = minute_i * (2 * np.pi / 1440)
    ctx["tod_sin"], ctx["tod_cos"] = np.sin(angle), np.cos(angle)
    dow = table.local_dow[rows].astype(np.int64)
    for day in range(7):
        ctx[f"dow_{day}"] = (dow == day).astype(np.float64)
    count = mask.sum(axis=1).astype(np.float64)
    ctx["history_count"] = count
    ctx["history_unknown"] = h_unknown.sum(axis=1).astype(np.float64)
    ctx["gap_h"] = np.where(mask[:, -1], np.log1p(np.maximum(age_h[:, -1], 0.0)), 0.0)
    for name, values in (("tt", _clip(h_tt)), ("arr", _clip(h_arr)), ("dep", _clip(h_dep))):
        present = ~np.isnan(values)
        n_present = present.sum(axis=1)
        zeroed = np.where(present, values, 0.0)
        mean = zeroed.sum(axis=1) / np.maximum(n_present, 1)
        ctx[f"{name}_mean"] = mean
        ctx[f"{name}_median"] = _nan_median(values)
        spread = np.where(present, (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
        ctx[f"{name}_std"] = np.sqrt(spread / np.maximum(n_present, 1))
        recent = present[:, -3:]
        ctx[f"{name}_recent3"] = zeroed[:, -3:].sum(axis=1) / np.maximum(recent.sum(axis=1), 1)
    ctx = {key: np.nan_to_num(value) for key, value in ctx.items()}

    # --- timetable congestion at the origin (published in advance) --------------------
    by_origin_sched = _Grouped(table.origin, table.sched_dep, t0, span)
    org = table.origin[rows]
    sd = table.sched_dep[rows]
    ones = np.ones(len(table))
    ctx["origin_sched_1h"] = _window_sum(by_origin_sched, ones, org, sd - 1800, sd + 1800)[0]

    if config.context:
        ctx.update(_context_features(table, rows, cutoff, by_origin_sched, known, tt_all, arr_all, t0, span))

    ctx_names = list(ctx)
    ctx_matrix = np.stack([ctx[name] for name in ctx_names], axis=1).astype(np.float32)
    lag_names = []
    lag_cols = []
    for back in range(1, 4):
        for name, values in (("tt", h_tt), ("arr", h_arr), ("dep", h_dep)):
            lag_names.append(f"{name}_lag{back}")
            lag_cols.append(np.nan_to_num(_clip(values[:, -back])))
    flat = np.concatenate([ctx_matrix, np.stack(lag_cols, axis=1).astype(np.float32)], axis=1)

    return Features(
        rows=rows,
        seq=seq.astype(np.float32),
        seq_mask=mask,
        ctx=ctx_matrix,
        ctx_names=ctx_names,
        flat=flat,
        flat_names=ctx_names + lag_names,
        origin=table.origin[rows],
        dest=table.dest[rows],
        sched_minutes=sched_i,
        tt_resid=tt_all[rows],
        arr_delay=arr_all[rows],
        hist_tt=h_tt,
        hist_arr=h_arr,
    )


def _context_features(
    table: TripTable,
    rows: np.ndarray,
    cutoff: np.ndarray,
    by_origin_sched: _Grouped,
    known: np.ndarray,
    tt_all: np.ndarray,
    arr_all: np.ndarray,
    t0: int,
    span: int,
) -> dict[str, np.ndarray]:
    """The one-hour-before features: origin operations, route arrivals, origin weather."""
    out: dict[str, np.ndarray] = {}
    org = table.origin[rows]
    window = 3 * HOUR

    # Flights scheduled at the origin in the 3 h before the cut-off: which had left by then
    # (and how late), which were cancelled, which were still waiting (and for how long).
    lo = by_origin_sched.search(org, cutoff - window, "right")
    hi = by_origin_sched.search(org, cutoff, "right")
    width = int((hi - lo).max(initial=0))
    n = rows.shape[0]
    departed = np.zeros(n)
    dep_delay_sum = np.zeros(n)
    cancelled = np.zeros(n)
    waiting = np.zeros(n)
    waiting_sum = np.zeros(n)
    if width:
        chunk = max(1, 2_000_000 // width)
        steps = np.arange(width)
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            pos = lo[a:b, None] + steps[None, :]
            inside = pos < hi[a:b, None]
            ev = by_origin_sched.order[np.where(inside, pos, 0)]
            c = cutoff[a:b, None]
            act = table.act_dep[ev]
            left = inside & ~np.isnan(act) & (act <= c)
            gone = inside & table.cancelled[ev] & ~left
            wait = inside & ~left & ~gone
            delay = np.where(left, (act - table.sched_dep[ev]) / 60.0, 0.0)
            departed[a:b] = left.sum(axis=1)
            dep_delay_sum[a:b] = np.clip(delay, *CLIP).sum(axis=1)
            cancelled[a:b] = gone.sum(axis=1)
            waiting[a:b] = wait.sum(axis=1)
            waiting_sum[a:b] = np.where(wait, (c - table.sched_dep[ev]) / 60.0, 0.0).sum(axis=1)
    out["origin_departed_3h"] = departed
    out["origin_dep_delay_3h"] = _safe_mean(dep_delay_sum, departed)
    out["origin_cancelled_3h"] = cancelled
    out["origin_waiting"] = waiting
    out["origin_waiting_min"] = _safe_mean(waiting_sum, waiting)

    # Arrivals known by the cut-off: from the same origin (3 h) and on the same route (24 h).
    by_origin_known = _Grouped(table.origin, known, t0, span)
    for name, values in (("tt", np.clip(tt_all, *CLIP)), ("arr", np.clip(arr_all, *CLIP))):
        cnt, tot = _window_sum(by_origin_known, values, org, cutoff - window, cutoff)
        out[f"origin_{name}_3h"] = _safe_mean(tot, cnt)
    out["origin_arrived_3h"] = cnt
    route = table.origin.astype(np.int64) * (len(table.places) + 1) + table.dest
    by_route_known = _Grouped(route, known, t0, span)
    r = route[rows]
    for hours in (6, 24):
        for name, values in (("tt", np.clip(tt_all, *CLIP)), ("arr", np.clip(arr_all, *CLIP))):
            cnt, tot = _window_sum(by_route_known, values, r, cutoff - hours * HOUR, cutoff)
            out[f"route_{name}_{hours}h"] = _safe_mean(tot, cnt)
        out[f"route_count_{hours}h"] = cnt

    # The latest weather observed at the origin at or before the cut-off.
    weather = table.weather
    if weather is not None and len(weather.time):
        grouped = _Grouped(weather.place, weather.time, t0, span)
        filled = _forward_fill(weather.values[grouped.order], grouped.group)
        pos = grouped.search(org, cutoff, "right") - 1
        start = grouped.group_start(org)
        have = (pos >= start) & (pos >= 0)
        safe = np.where(have, pos, 0)
        raw = weather.values[grouped.order]
        gust = weather.fields.index("wind_gust")
        speed = weather.fields.index("wind_speed")
        # A missing gust means no gust worth reporting: the wind speed, not an older gust.
        filled[:, gust] = np.where(np.isnan(raw[:, gust]), filled[:, speed], raw[:, gust])
        for j, name in enumerate(weather.fields):
            column = np.where(have, filled[safe, j], np.nan)
            out[f"wx_{name}"] = np.nan_to_num(column, nan=WEATHER_DEFAULTS.get(name, 0.0))
        out["wx_age_h"] = np.where(have, (cutoff - grouped.time[safe]) / HOUR, 24.0)
        # Precipitation over the last three observations (all at or before the cut-off).
        precip = weather.fields.index("precip")
        total = np.zeros(rows.shape[0])
        for back in range(3):
            p = pos - back
            ok = have & (p >= start)
            total += np.where(ok, np.nan_to_num(filled[np.where(ok, p, 0), precip]), 0.0)
        out["wx_precip_3"] = total
    return out


# Values for a weather field never observed before the cut-off: calm, dry, clear, standard.
WEATHER_DEFAULTS = {"wind_gust": 0.0, "wind_speed": 0.0, "precip": 0.0, "pressure": 1013.25,
                    "visib": 10.0, "temp": 55.0, "dewp": 40.0, "humid": 60.0}


def _nan_median(values: np.ndarray) -> np.ndarray:
    """Row medians ignoring NaN; 0 for rows with no value (without numpy's warnings)."""
    present = ~np.isnan(values)
    count = present.sum(axis=1)
    ordered = np.sort(np.where(present, values, np.inf), axis=1)  # NaN-as-inf sort last
    low = np.maximum((count - 1) // 2, 0)
    high = np.maximum(count // 2, 0)
    rows = np.arange(values.shape[0])
    median = (ordered[rows, low] + ordered[rows, high]) / 2.0
    return np.where(count > 0, median, 0.0)


def _forward_fill(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Fill NaN with the last earlier value of the same group (never a later one)."""
    out = values.astype(np.float64).copy()
    for j in range(out.shape[1]):
        column = out[:, j]
        valid = ~np.isnan(column)
        index = np.where(valid, np.arange(column.shape[0]), -1)
        np.maximum.accumulate(index, out=index)
        same = index >= 0
        same[same] = group[index[same]] == group[same]
        column[:] = np.where(same, column[np.maximum(index, 0)], np.nan)
    return out
