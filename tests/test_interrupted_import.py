"""An import killed mid-way (SIGKILL, no clean-up at all) leaves no partial data.

``flask timetable import`` of the New York subway feed runs in a subprocess; once its
progress bar shows the load phase has begun, it is killed after a short delay (other
delays are tried if it finished first). The database must then hold exactly what it held
before — every table's row count and the data version — and take a normal import.
Runs on SQLite, and on PostgreSQL under ``scripts/with-postgres``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from transit.db import data_version, make_engine
from transit.models import Base

ROOT = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).parent / "flask")
# Seconds to wait after the load phase shows before killing; the next is tried when an
# import finished before its kill.
DELAYS = (0.05, 0.0, 0.2, 0.4, 0.02)


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRANSIT_DATABASE_URL": database_url,
        "TRANSIT_SECRET_KEY": "test-secret-key",
        "PYTHONUNBUFFERED": "1",
    }


def _flask(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLASK, "--app", "app", *args], cwd=ROOT, env=_env(database_url),
        capture_output=True, text=True, timeout=300,
    )


def _state(database_url: str) -> tuple[dict[str, int], int]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            counts = {
                table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables
            }
            return counts, data_version(session)
    finally:
        engine.dispose()


def _kill_during_load(database_url: str, feed: Path, delay: float) -> bool:
    """Start the import, kill it ``delay`` s into the load phase; True if it was killed."""
    process = subprocess.Popen(
        [FLASK, "--app", "app", "timetable", "import", str(feed)],
        cwd=ROOT, env=_env(database_url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    output = bytearray()
    loading = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        while chunk := process.stdout.read1(4096):
            output.extend(chunk)
            if b"Loading" in output:
                loading.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        loading.wait(timeout=240)
        assert loading.is_set() or process.poll() is not None, "no load phase shown"
        time.sleep(delay)
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        if process.stdout:
            process.stdout.close()
    if not killed:
        assert process.returncode == 0, output.decode(errors="replace")
    return killed and process.returncode == -signal.SIGKILL


def test_killed_import_leaves_nothing(database_url: str, shared_data: Path) -> None:
    feed = shared_data / "gtfs" / "nyc_subway_gtfs_2024-12.zip"
    assert _flask(database_url, "db", "upgrade").returncode == 0
    # Something already there, which must survive untouched.
    small = _flask(database_url, "timetable", "import", str(shared_data / "classic" / "Nenieco-test"))
    assert small.returncode == 0, small.stdout + small.stderr
    before = _state(database_url)

    for delay in DELAYS:
        if _kill_during_load(database_url, feed, delay):
            break
        # It finished first: back to the state before, and try a shorter or longer delay.
        for step in (("db", "downgrade", "base"), ("db", "upgrade")):
            assert _flask(database_url, *step).returncode == 0
        again = _flask(database_url, "timetable", "import", str(shared_data / "classic" / "Nenieco-test"))
        assert again.returncode == 0
        before = _state(database_url)
    else:
        raise AssertionError(f"every import finished before its kill (delays {DELAYS})")

    assert _state(database_url) == before
    if database_url.startswith("sqlite"):
        engine = make_engine(database_url)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()

    # Still usable: the same import, left alone, loads the whole feed.
    done = _flask(database_url, "timetable", "import", str(feed))
    assert done.returncode == 0, done.stdout + done.stderr
    counts, version = _state(database_url)
    assert version == before[1] + 1
    assert counts["stops"] - before[0]["stops"] == 86150
    assert counts["timetables"] - before[0]["timetables"] == 1990
