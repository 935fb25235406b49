"""Routing benchmark: the engine against the networkx reference, same queries, same run.

Feeds: the New York subway and Seattle-area GTFS feeds from ../shared/data/gtfs/, and the
synthetic national networks at 1x and 10x (about 100,000 and 1,000,000 connections a day).
For each feed: random origin/destination/departure-time queries on a weekday; per criterion
the engine's p50/p95 and the reference's p50/p95, and their ratio. The reference answers the
same queries as the engine (on national-10x, where it takes minutes a query, only the first
``--reference-queries-10x``; ``--reference-queries N`` limits it elsewhere too, for a quick
look) and its answers are checked against the engine's. The reference builds a time-expanded graph for each query (its window, origin
and destination) and then searches it: ``reference_p50_ms`` and ``ratio`` are the search
alone against the engine on those same queries; ``reference_with_build_p50_ms`` and
``ratio_with_build`` add the graph build. Also: the snapshot build time (for New York, from a
SQLite database too) and, once per process, loading the compiled scans (``kernels_load_s``).

    .venv/bin/python benchmarks/routing.py [--feeds nyc,seattle,national-1x,national-10x]
        [--queries 40] [--reference-queries N] [--queries-10x 40]
        [--reference-queries-10x 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.orm import Session  # noqa: E402

from transit.db import make_engine  # noqa: E402
from transit.models import Base  # noqa: E402
from transit.routing import CRITERIA, Query, Snapshot, plan  # noqa: E402
from transit.routing.kernels import warm_up  # noqa: E402
from transit.routing.reference import ReferenceGraph  # noqa: E402
from transit.routing.synthetic import national_feed  # noqa: E402
from transit.timetable.feed import Feed  # noqa: E402

GTFS = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtfs"
FEEDS = {
    # name: (source, weekday for the queries, window hours)
    "nyc": ("nyc_subway_gtfs_2024-12.zip", dt.date(2025, 1, 8), 48.0),
    "seattle": ("seattle_area_gtfs_2017-11-16.zip", dt.date(2017, 11, 22), 48.0),
    "national-1x": (1, dt.date(2025, 3, 5), 24.0),
    "national-10x": (10, dt.date(2025, 3, 5), 24.0),
}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(name: str) -> tuple[Feed, dict[str, float]]:
    source = FEEDS[name][0]
    started = time.perf_counter()
    if isinstance(source, int):
        feed = national_feed(source)
    else:
        from transit.timetable.gtfs import parse_gtfs

        feed = parse_gtfs(GTFS / source)
    return feed, {"parse_s": round(time.perf_counter() - started, 2)}


def snapshot_from_database(feed: Feed) -> float:
    """Seconds to build the snapshot from a SQLite database holding ``feed``."""
    from transit.timetable.loader import load_feed

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine("sqlite:///" + str(Path(folder) / "bench.sqlite3"))
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            load_feed(session, feed)
            session.commit()
            started = time.perf_counter()
            Snapshot.from_session(session, 15)
            seconds = time.perf_counter() - started
        engine.dispose()
    return seconds


def queries(snap: Snapshot, day: dt.date, window: float, count: int, seed: int) -> list[Query]:
    served = sorted({int(c) for c in snap.stop_city.tolist()})
    names = [snap.city_names[c] for c in served]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        origin, destination = rng.sample(names, 2)
        when = dt.datetime.combine(day, dt.time()) + dt.timedelta(
            minutes=rng.randrange(5 * 60, 22 * 60)
        )
        out.append(Query(origin, destination, depart=when, window_hours=window))
    return out


def _objective(criterion: str, values: list[tuple[int | None, int | None, int, int]]) -> Any:
    if criterion == "fastest":
        return values
    if criterion == "cheapest":
        return [(f, a) for _, a, f, _ in values]
    if criterion == "transfers":
        return [(t, a) for _, a, _, t in values]
    return sorted((a, f, t) for _, a, f, t in values)


def bench_feed(name: str, n_queries: int, n_reference: int, seed: int) -> dict[str, Any]:
    feed, info = load(name)
    started = time.perf_counter()
    snap = Snapshot.from_feed(feed, 15)
    info["snapshot_from_feed_s"] = round(time.perf_counter() - started, 2)
    info["connections"] = snap.connection_count
    if name == "nyc":
        info["snapshot_from_database_s"] = round(snapshot_from_database(feed), 2)
    _, day, window = FEEDS[name]
    info["connections_on_query_day"] = int(snap.running(day)[snap.conn_trip].sum())
    asked = queries(snap, day, window, n_queries, seed)
    # Warm the timelines (built once per direction and run of service dates, then shared by
    # every query on those dates) and the scans' label pools: the percentiles are per query.
    started = time.perf_counter()
    for query in asked:
        for criterion in ("fastest", "options"):
            plan(snap, Query(**{**query.__dict__, "criterion": criterion}))
    info["warm_up_s"] = round(time.perf_counter() - started, 2)
    engine_s: dict[str, list[float]] = {c: [] for c in CRITERIA}
    answers: dict[str, list[Any]] = {c: [] for c in CRITERIA}
    found = 0
    for query in asked:
        for criterion in CRITERIA:
            q = Query(**{**query.__dict__, "criterion": criterion})
            started = time.perf_counter()
            result = plan(snap, q)
            engine_s[criterion].append(time.perf_counter() - started)
            answers[criterion].append(
                [(i.departure_seconds, i.arrival_seconds, i.fare_cents, i.transfers)
                 for i in result.itineraries]
            )
            found += bool(result.itineraries) and criterion == "fastest"
    reference_s: dict[str, list[float]] = {c: [] for c in CRITERIA}
    with_build_s: dict[str, list[float]] = {c: [] for c in CRITERIA}
    mismatches = 0
    builds: list[float] = []
    for index, query in enumerate(asked[:n_reference]):
        started = time.perf_counter()
        graph = ReferenceGraph(snap, query)
        build = time.perf_counter() - started
        builds.append(build)
        # Keep the garbage collector from walking the graph's millions of objects during the
        # searches: that would time Python's memory management, not the reference's search.
        gc.collect()
        gc.freeze()
        for criterion in CRITERIA:
            started = time.perf_counter()
            method = {
                "fastest": graph.fastest,
                "cheapest": graph.cheapest,
                "transfers": graph.fewest_transfers,
                "options": graph.options,
            }[criterion]
            out = method()
            reference_s[criterion].append(time.perf_counter() - started)
            with_build_s[criterion].append(build + reference_s[criterion][-1])
            outcomes = out if isinstance(out, list) else ([out] if out is not None else [])
            mine = _objective(criterion, answers[criterion][index])
            theirs = _objective(
                criterion, [(o.departure, o.arrival, o.fare, o.transfers) for o in outcomes]
            )
            mismatches += mine != theirs
        gc.unfreeze()
        del graph
    figures: dict[str, Any] = {}
    for criterion in CRITERIA:
        e = engine_s[criterion]
        r = reference_s[criterion]
        engine_p50 = statistics.median(e)
        figures[criterion] = {
            "engine_p50_ms": _ms(engine_p50),
            "engine_p95_ms": _ms(_p(e, 0.95)),
            "reference_p50_ms": None,
            "reference_p95_ms": None,
            "ratio": None,
        }
        if r:
            # Same queries: the engine's median over the ones the reference answered.
            same = statistics.median(e[: len(r)])
            search = statistics.median(r)
            whole = statistics.median(with_build_s[criterion])
            figures[criterion].update(
                engine_p50_same_queries_ms=_ms(same),
                reference_p50_ms=_ms(search),
                reference_p95_ms=_ms(_p(r, 0.95)),
                ratio=round(search / same, 1),
                reference_with_build_p50_ms=_ms(whole),
                ratio_with_build=round(whole / same, 1),
            )
    info.update(
        queries=n_queries,
        reference_queries=min(n_reference, n_queries),
        window_hours=window,
        journeys_found=found,
        reference_mismatches=mismatches,
        # Of each reference time, this much is building the graph (the rest is the search).
        reference_graph_build_p50_ms=_ms(statistics.median(builds)) if builds else None,
    )
    figures["_info"] = info
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", default="nyc,seattle,national-1x,national-10x")
    parser.add_argument("--queries", type=int, default=40)
    # The reference answers the engine's queries (the issue asks for the same queries; the
    # first 10 alone gave New York's cheapest 30x where all 40 gave 87x: too small a sample).
    parser.add_argument("--reference-queries", type=int, default=None)
    # As many engine queries as on the other networks (a median of 10 moved by 10 % from run to
    # run); the reference, minutes a query there, answers fewer.
    parser.add_argument("--queries-10x", type=int, default=40)
    parser.add_argument("--reference-queries-10x", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    warm_up()  # once per process: numba's cached machine code (compiled on the first run)
    results["_info"] = {"kernels_load_s": round(time.perf_counter() - started, 2)}
    print(f"compiled scans loaded in {results['_info']['kernels_load_s']} s", flush=True)
    for name in args.feeds.split(","):
        big = name == "national-10x"
        n = args.queries_10x if big else args.queries
        m = args.reference_queries_10x if big else args.reference_queries
        m = n if m is None else m
        print(f"== {name}: {n} queries, reference on {min(n, m)}", flush=True)
        figures = bench_feed(name, n, m, args.seed)
        info = figures.pop("_info")
        print("   " + ", ".join(f"{k} {v}" for k, v in info.items()))
        print(
            f"   {'criterion':<10} {'engine p50':>11} {'p95':>9} {'same q p50':>11}"
            f" {'ref search p50':>15} {'p95':>9} {'ratio':>8} {'ref+build p50':>14} {'ratio':>8}"
        )
        for criterion, f in figures.items():
            def cell(key: str, unit: str, width: int, f: dict[str, Any] = f) -> str:
                value = f.get(key)
                return f"{'-' if value is None else f'{value:.1f}{unit}':>{width}}"

            print(
                f"   {criterion:<10} {cell('engine_p50_ms', 'ms', 11)}"
                f" {cell('engine_p95_ms', 'ms', 9)} {cell('engine_p50_same_queries_ms', 'ms', 11)}"
                f" {cell('reference_p50_ms', 'ms', 15)} {cell('reference_p95_ms', 'ms', 9)}"
                f" {cell('ratio', 'x', 8)}"
                f" {cell('reference_with_build_p50_ms', 'ms', 14)}"
                f" {cell('ratio_with_build', 'x', 8)}",
                flush=True,
            )
        results[name] = figures
        results["_info"][name] = info
    if "national-1x" in results and "national-10x" in results:
        scaling = {
            c: round(
                results["national-10x"][c]["engine_p50_ms"]
                / results["national-1x"][c]["engine_p50_ms"],
                1,
            )
            for c in CRITERIA
        }
        print("national 10x / 1x engine p50:", scaling)
        results["_info"]["scaling_10x_over_1x"] = scaling
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
