"""Engine and session helpers shared by the web layer, the CLI and the core (no Flask here)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from transit.models import (
    Calendar,
    CalendarDate,
    City,
    DataVersion,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    Transfer,
)

# Changes to these tables change what routing sees: they bump the data version.
TIMETABLE_CLASSES = (City, Transfer, Service, Calendar, CalendarDate, Timetable, Stop, ServiceFare)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite enforces foreign keys only when asked, on every connection.

    WAL lets readers (several gunicorn workers, a snapshot build) go on while one writer
    commits, instead of failing or waiting on its lock; it is kept in the file once set.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``, with the project's SQLite settings."""
    return create_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def data_version(session: Session) -> int:
    """The current timetable data version (0 on a database that never changed)."""
    value = session.scalar(select(DataVersion.version).where(DataVersion.id == 1))
    return int(value or 0)


def mark_timetable_changed(session: Session) -> None:
    """Bump the data version inside the caller's transaction (once per transaction).

    Bulk writes that bypass the ORM (importers) call this themselves; ORM writes are
    caught by the flush hook below.
    """
    if session.info.get("data_version_bumped"):
        return
    session.info["data_version_bumped"] = True
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result = session.execute(
        update(DataVersion)
        .where(DataVersion.id == 1)
        .values(version=DataVersion.version + 1, changed_at=now)
    )
    if getattr(result, "rowcount", 0) == 0:
        # Only databases made without the migrations lack the row.
        session.add(DataVersion(id=1, version=1, changed_at=now))


@event.listens_for(Session, "before_flush")
def _bump_on_timetable_change(session: Session, _ctx: Any, _instances: Any) -> None:
    if session.info.get("data_version_bumped"):
        return
    if any(isinstance(o, TIMETABLE_CLASSES) for o in chain(session.new, session.dirty, session.deleted)):
        mark_timetable_changed(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _reset_bump(session: Session) -> None:
    session.info.pop("data_version_bumped", None)
