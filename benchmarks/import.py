"""How long importing each shared GTFS feed takes: parsing, then loading into SQLite.

    .venv/bin/python benchmarks/import.py [--repeat 5] [FEED.zip ...]

For every feed (by default all of ../shared/data/gtfs/*.zip) times ``parse_gtfs`` and
``load_feed`` + commit into a new temporary SQLite file, several times, and prints the
medians. Issue 3 asks for the New York feed in at most 10 s in total.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHARED_GTFS = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtfs"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("feeds", nargs="*", type=Path, help="GTFS zips or folders (default: the shared ones)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per feed (default 5)")
    args = parser.parse_args()

    from sqlalchemy.orm import Session

    from transit.db import make_engine
    from transit.models import Base
    from transit.timetable.gtfs import parse_gtfs
    from transit.timetable.loader import load_feed

    feeds = args.feeds or sorted(SHARED_GTFS.glob("*.zip"))
    if not feeds:
        sys.exit(f"no GTFS feeds found in {SHARED_GTFS}")
    print(f"{'feed':40} {'stop times':>10} {'parse s':>8} {'load s':>8} {'total s':>8}  (median of {args.repeat})")
    for path in feeds:
        parse_times: list[float] = []
        load_times: list[float] = []
        stops = 0
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as folder:
                engine = make_engine("sqlite:///" + str(Path(folder) / "import.sqlite3"))
                Base.metadata.create_all(engine)
                started = time.perf_counter()
                feed = parse_gtfs(path)
                parsed = time.perf_counter()
                with Session(engine) as session:
                    report = load_feed(session, feed)
                    session.commit()
                loaded = time.perf_counter()
                engine.dispose()
            parse_times.append(parsed - started)
            load_times.append(loaded - parsed)
            stops = int(report.counts["stops"])
        parse_median = statistics.median(parse_times)
        load_median = statistics.median(load_times)
        print(f"{path.name:40} {stops:>10} {parse_median:>8.2f} {load_median:>8.2f} "
              f"{parse_median + load_median:>8.2f}")


if __name__ == "__main__":
    main()
