"""Where the engine's time goes as the network grows: national-1x against national-10x.

The routing target "10x the network costs at most 10x the time" compares the engine's p50 on
the two synthetic national networks (benchmarks/routing.py). This script explains that
ratio. On the same random queries as routing.py, per criterion and per network, it prints:

- ``p50_ms``: the engine's median, as in routing.py (each query's four criteria in turn);
- the work behind it, from a second, untimed pass: the labels the label searches made per
  query (the multi-criteria scans and, for *cheapest*, the fare-ordered search;
  ``trip_labels``: boardings of a run; ``stop_labels``: ways of being ready at a city), the
  journeys returned (``answers``), and the milliseconds spent in each kind of search
  (``multi_ms``: label searches; ``plain_ms``: earliest-arrival scans, among them the one
  that bounds the latest useful departures);
- for *cheapest*, ``perfect_bound_p50_ms``: the multi-criteria connection scan (what
  *cheapest* used before the fare-ordered search) told the optimal fare in advance (the
  latest-departure scan, then one scan that drops every label that cannot stay within that
  fare): the least that a connection scan pays for that answer, for comparison;
- ``cold_p50_ms``: the median again, each query asked right after reading a buffer larger
  than the processor's caches, so that it starts with none of the timeline or the scans'
  pools in them. Back to back, the 1x network's timelines and pools stay in the caches
  from one query to the next and the 10x network's do not; cold, both pay for memory.

And the 10x / 1x ratio of each figure.

``--growth frequent`` asks the same of national networks that grow the other way
(transit/routing/synthetic.py): the same cities, lines and flight routes at both sizes, each
run ten times as often at 10x, against routing.py's, ten times denser (``denser``, the default).

    .venv/bin/python benchmarks/routing_scaling.py [--queries 40] [--seed 7]
        [--growth denser|frequent] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing import FEEDS, load, queries  # noqa: E402

from transit.routing import CRITERIA, Query, Snapshot, kernels, plan, planner  # noqa: E402
from transit.routing.engine import (  # noqa: E402
    BY_FARE_THEN_ARRIVAL,
    Search,
    latest_departures,
    pareto_scan,
)
from transit.routing.synthetic import GROWTHS, national_feed  # noqa: E402

NETWORKS = ("national-1x", "national-10x")
PLAIN_SCANS = ("earliest_arrival", "earliest_journey", "boarding_reach")
LABEL_SEARCHES = ("pareto_scan", "cheapest_first", "pareto_first")


class Work:
    """Counts what the scans do while installed (it wraps the kernels the engine calls)."""

    def __init__(self) -> None:
        self.trip_labels = 0
        self.stop_labels = 0
        self.multi_s = 0.0
        self.plain_s = 0.0
        self._saved: dict[str, Callable[..., Any]] = {}

    def _wrap(self, name: str) -> None:
        inner = getattr(kernels, name)
        self._saved[name] = inner

        def counted(*args: Any) -> Any:
            started = time.perf_counter()
            out = inner(*args)
            elapsed = time.perf_counter() - started
            if name in LABEL_SEARCHES:
                self.multi_s += elapsed
                self.trip_labels += len(out[2])
                self.stop_labels += len(out[4])
            else:
                self.plain_s += elapsed
            return out

        setattr(kernels, name, counted)

    def __enter__(self) -> Work:
        for name in (*LABEL_SEARCHES, *PLAIN_SCANS):
            self._wrap(name)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, inner in self._saved.items():
            setattr(kernels, name, inner)


def perfect_bound_ms(snap: Snapshot, query: Query, fare: int) -> float:
    """Milliseconds for a cheapest search told the optimal ``fare`` in advance."""
    timed: list[float] = []

    def search(s: Search, criterion: str) -> list[Any]:
        started = time.perf_counter()
        found = pareto_scan(
            s, BY_FARE_THEN_ARRIVAL, use_fare=True, use_rides=False,
            latest=latest_departures(s), cap=fare,
        )
        timed.append(time.perf_counter() - started)
        return [(s, label) for label in found]

    real = planner._search
    planner._search = search
    try:
        result = plan(snap, query)
    finally:
        planner._search = real
    assert result.itineraries and result.itineraries[0].fare_cents == fare
    return timed[0] * 1000


EVICT = np.ones(512 << 20, dtype=np.uint8)  # larger than the caches (L3 here: 480 MiB)


def cold_ms(snap: Snapshot, query: Query) -> float:
    """Milliseconds for ``query`` asked with nothing of it in the processor's caches."""
    EVICT.sum()
    started = time.perf_counter()
    plan(snap, query)
    return (time.perf_counter() - started) * 1000


def measure(name: str, n_queries: int, seed: int, growth: str) -> dict[str, dict[str, float]]:
    if growth == "denser":
        feed, _ = load(name)  # routing.py's network
    else:
        scale = FEEDS[name][0]
        assert isinstance(scale, int)
        feed = national_feed(scale, growth=growth)
    snap = Snapshot.from_feed(feed, 15)
    _, day, window = FEEDS[name]
    asked = queries(snap, day, window, n_queries, seed)
    for query in asked:  # timelines and label pools, as routing.py warms them
        for criterion in ("fastest", "options"):
            plan(snap, Query(**{**query.__dict__, "criterion": criterion}))
    times: dict[str, list[float]] = {c: [] for c in CRITERIA}
    for query in asked:
        for criterion in CRITERIA:
            q = Query(**{**query.__dict__, "criterion": criterion})
            started = time.perf_counter()
            plan(snap, q)
            times[criterion].append((time.perf_counter() - started) * 1000)
    out: dict[str, dict[str, float]] = {}
    for criterion in CRITERIA:
        rows: dict[str, list[float]] = {
            k: [] for k in ("trip_labels", "stop_labels", "answers", "multi_ms", "plain_ms")
        }
        bounded: list[float] = []
        cold: list[float] = []
        for query in asked:
            q = Query(**{**query.__dict__, "criterion": criterion})
            with Work() as work:
                result = plan(snap, q)
            rows["trip_labels"].append(work.trip_labels)
            rows["stop_labels"].append(work.stop_labels)
            rows["answers"].append(len(result.itineraries))
            rows["multi_ms"].append(work.multi_s * 1000)
            rows["plain_ms"].append(work.plain_s * 1000)
            if criterion == "cheapest" and result.itineraries:
                bounded.append(perfect_bound_ms(snap, q, result.itineraries[0].fare_cents))
            cold.append(cold_ms(snap, q))
        figures = {"p50_ms": statistics.median(times[criterion]), "cold_p50_ms": statistics.median(cold)}
        figures.update({k: statistics.median(v) for k, v in rows.items()})
        if bounded:
            figures["perfect_bound_p50_ms"] = statistics.median(bounded)
        out[criterion] = figures
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--growth", choices=GROWTHS, default="denser")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    kernels.warm_up()
    results: dict[str, Any] = {"growth": args.growth}
    for name in NETWORKS:
        print(f"measuring {name}, {args.growth} ({args.queries} queries)...", flush=True)
        results[name] = measure(name, args.queries, args.seed, args.growth)
    small, large = (results[n] for n in NETWORKS)
    results["ratio_10x_over_1x"] = {
        c: {k: round(large[c][k] / small[c][k], 1) for k in small[c] if small[c][k]}
        for c in CRITERIA
    }
    keys = ("p50_ms", "cold_p50_ms", "trip_labels", "stop_labels", "answers", "multi_ms",
            "plain_ms", "perfect_bound_p50_ms")
    print(f"{'criterion':<10} {'figure':<21} {'1x':>10} {'10x':>10} {'10x/1x':>7}")
    for c in CRITERIA:
        for k in keys:
            if k not in small[c]:
                continue
            ratio = results["ratio_10x_over_1x"][c].get(k)
            print(
                f"{c:<10} {k:<21} {small[c][k]:>10.2f} {large[c][k]:>10.2f}"
                f" {'-' if ratio is None else f'{ratio:.1f}x':>7}"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
