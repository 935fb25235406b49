"""Engine and session helpers shared by the web layer, the CLI and the core (no Flask here)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, sessionmaker

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
# Tables nobody reads without logging in: their writes leave the content version alone (a
# token's last use is written on every authenticated request).
PRIVATE_TABLES = frozenset({"users", "api_tokens", "audit_log", "login_attempts", "data_version"})


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
    return timetable_stamp(session)[0]


def mark_timetable_changed(session: Session) -> None:
    """Bump the data version inside the caller's transaction (once per transaction).

    Bulk writes that bypass the ORM (importers) call this themselves; ORM writes are
    caught by the flush hook below.
    """
    if session.info.get("data_version_bumped"):
        return
    session.info["data_version_bumped"] = True
    _bump(session, version=DataVersion.version + 1, changed_at=_utcnow())
    mark_content_changed(session)


_STAMPS = select(
    DataVersion.version,
    DataVersion.changed_at,
    DataVersion.content_version,
    DataVersion.content_changed_at,
).where(DataVersion.id == 1)


def _stamps(session: Session) -> tuple[Any, ...]:
    """Both versions with their change times, read once per transaction.

    Every public request reads them (the answer cache, the API's validators, the routing
    cache): one statement built once, run on the session's connection without the ORM's
    per-statement work, and kept until the transaction ends or bumps a version itself.
    """
    if isinstance(session, scoped_session):  # Flask-SQLAlchemy's ``db.session`` proxy
        session = session()
    connection = session.connection()
    transaction = session.get_transaction()
    held = session.info.get("version_stamps")
    if held is not None and held[0] is transaction:
        return held[1]
    row = connection.execute(_STAMPS).first()
    stamps = tuple(row) if row is not None else (0, None, 0, None)
    session.info["version_stamps"] = (transaction, stamps)
    return stamps


def timetable_stamp(session: Session) -> tuple[int, dt.datetime | None]:
    """The data version and its change time (which tells apart databases made again)."""
    stamps = _stamps(session)
    return int(stamps[0] or 0), stamps[1]


def content_version(session: Session) -> tuple[int, dt.datetime | None]:
    """The content version and its change time."""
    stamps = _stamps(session)
    return int(stamps[2] or 0), stamps[3]


def mark_content_changed(session: Session) -> None:
    """Bump the content version inside the caller's transaction (once per transaction).

    Called by ``mark_timetable_changed`` and, through the hooks below, by every ORM flush
    or ``session.execute`` write to a public table.
    """
    if session.info.get("content_version_bumped"):
        return
    session.info["content_version_bumped"] = True
    _bump(
        session,
        content_version=DataVersion.content_version + 1,
        content_changed_at=_utcnow(),
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _bump(session: Session, **values: Any) -> None:
    session.info.pop("version_stamps", None)
    result = session.execute(update(DataVersion).where(DataVersion.id == 1).values(**values))
    if getattr(result, "rowcount", 0) == 0:
        # Only databases made without the migrations lack the row: add it (once), counting
        # this transaction's change.
        if not any(isinstance(o, DataVersion) for o in session.new):
            now = _utcnow()
            session.add(
                DataVersion(
                    id=1, version=1, changed_at=now, content_version=1, content_changed_at=now
                )
            )


@event.listens_for(Session, "before_flush")
def _bump_on_change(session: Session, _ctx: Any, _instances: Any) -> None:
    changed = list(chain(session.new, session.dirty, session.deleted))
    if not session.info.get("data_version_bumped") and any(
        isinstance(o, TIMETABLE_CLASSES) for o in changed
    ):
        mark_timetable_changed(session)
    if not session.info.get("content_version_bumped") and any(
        getattr(o, "__tablename__", None) not in PRIVATE_TABLES for o in changed
    ):
        mark_content_changed(session)


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk_write(state: ORMExecuteState) -> None:
    """Bulk ``insert``/``update``/``delete`` statements bypass the flush: catch them here."""
    if state.session.info.get("content_version_bumped"):
        return
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in PRIVATE_TABLES:
        mark_content_changed(state.session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _reset_bump(session: Session) -> None:
    session.info.pop("data_version_bumped", None)
    session.info.pop("content_version_bumped", None)
