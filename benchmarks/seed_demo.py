"""How long loading the demo network takes, stage by stage, on a fresh SQLite file.

    .venv/bin/python benchmarks/seed_demo.py [--repeat 5] [--seed 2026]

Times building the feed, loading it (``load_feed``), drawing the trip history and inserting
it, each on a new empty database, and prints the medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    from sqlalchemy.orm import Session

    from transit import demo
    from transit.db import make_engine
    from transit.models import Base
    from transit.timetable.loader import load_feed

    anchor = dt.date(2026, 11, 27)
    stages: dict[str, list[float]] = {}
    rows = 0
    for n in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/bench{n}.sqlite3")
            Base.metadata.create_all(engine)
            with Session(engine) as session:
                marks = [time.perf_counter()]
                feed = demo.build_demo_feed(args.seed)
                marks.append(time.perf_counter())
                load_feed(session, feed)
                marks.append(time.perf_counter())
                runs = demo.build_demo_history(feed, args.seed, anchor)
                marks.append(time.perf_counter())
                rows = demo._insert_history(session, runs, demo.demo_source(args.seed), False)
                session.commit()
                marks.append(time.perf_counter())
            engine.dispose()
        names = ("build feed", "load feed", "draw history", "insert history + commit")
        for name, start, end in zip(names, marks, marks[1:], strict=False):
            stages.setdefault(name, []).append(end - start)
        stages.setdefault("total", []).append(marks[-1] - marks[0])
    print(f"demo seed {args.seed}: {rows:,} trip records, {args.repeat} runs, medians:")
    for name, values in stages.items():
        print(f"  {name:<26} {statistics.median(values) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
