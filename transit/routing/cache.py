"""One snapshot per process and database, rebuilt when the timetable data changes.

Every timetable write bumps ``transit.db.data_version`` (one cheap ``SELECT`` to read), so a
request compares it with the version its cached snapshot was built from. That works across
processes: each gunicorn worker holds its own snapshot and sees another worker's (or the
CLI's) writes through the database. A lock makes concurrent requests in one process build at
most one snapshot at a time.

A snapshot is built from several ``SELECT``s; they run in one read transaction that sees a
single committed state (SQLite: an explicit ``BEGIN``; PostgreSQL: ``REPEATABLE READ``), and
the version stored with it is read in that same transaction. Otherwise an edit committed
between two of them would give a half-edited snapshot (or a stop of a variant not yet seen).
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from transit.db import data_version
from transit.routing.snapshot import Snapshot

_lock = threading.Lock()
# (database URL, default connection minutes) -> (data version, snapshot)
_cache: dict[tuple[str, int], tuple[int, Snapshot]] = {}


def _in_memory(engine: Engine) -> bool:
    return engine.url.database in (None, "", ":memory:")


def _build_consistent(
    session: Session, engine: Engine, default_min_connection_minutes: int
) -> tuple[int, Snapshot]:
    """Read the version and the whole timetable in one transaction on its own connection."""
    if _in_memory(engine):
        # One connection holds the whole database: no other writer can interleave.
        return data_version(session), Snapshot.from_session(session, default_min_connection_minutes)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        elif connection.dialect.name == "sqlite":
            # pysqlite begins transactions only before writes: begin the read one by hand.
            connection.exec_driver_sql("BEGIN")
        try:
            with Session(bind=connection) as reader:
                version = data_version(reader)
                snapshot = Snapshot.from_session(reader, default_min_connection_minutes)
        finally:
            connection.rollback()
    return version, snapshot


def snapshot_for(session: Session, default_min_connection_minutes: int) -> Snapshot:
    """The current snapshot of ``session``'s database, built again only after a change."""
    engine = session.get_bind().engine
    url = str(engine.url)
    if _in_memory(engine):
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
        built = _build_consistent(session, engine, int(default_min_connection_minutes))
        _cache[key] = built
        return built[1]


def clear() -> None:
    """Forget every cached snapshot (tests, or after swapping databases)."""
    with _lock:
        _cache.clear()
