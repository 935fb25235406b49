"""One snapshot per process and database, rebuilt when the timetable data changes.

Every timetable write bumps ``transit.db.data_version`` (one cheap ``SELECT`` to read), so a
request compares it with the version its cached snapshot was built from. A lock makes
concurrent requests in one process build at most one snapshot at a time.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from transit.db import data_version
from transit.routing.snapshot import Snapshot

_lock = threading.Lock()
# (database URL, default connection minutes) -> (data version, snapshot)
_cache: dict[tuple[str, int], tuple[int, Snapshot]] = {}


def snapshot_for(session: Session, default_min_connection_minutes: int) -> Snapshot:
    """The current snapshot of ``session``'s database, built again only after a change."""
    engine = session.get_bind().engine
    url = str(engine.url)
    if engine.url.database in (None, "", ":memory:"):
        url += f"#{id(engine)}"  # each in-memory database is its own
    key = (url, int(default_min_connection_minutes))
    version = data_version(session)
    held = _cache.get(key)
    if held is not None and held[0] == version:
        return held[1]
    with _lock:
        held = _cache.get(key)
        if held is not None and held[0] == version:
            return held[1]
        snapshot = Snapshot.from_session(session, default_min_connection_minutes)
        _cache[key] = (version, snapshot)
        return snapshot


def clear() -> None:
    """Forget every cached snapshot (tests, or after swapping databases)."""
    with _lock:
        _cache.clear()
