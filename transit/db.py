"""Engine and session helpers shared by the web layer, the CLI and the core (no Flask here)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, sessionmaker

from transit.models import (
    Calendar,
    CalendarDate,
    City,
    ContentChange,
    DataVersion,
    Service,
    ServiceFare,
    ServiceForecast,
    Stop,
    Timetable,
    Transfer,
    TripRecord,
    TripRecordStop,
)

# Changes to these tables change what routing sees: they bump the data version.
TIMETABLE_CLASSES = (City, Transfer, Service, Calendar, CalendarDate, Timetable, Stop, ServiceFare)
# Tables nobody reads without logging in: their writes leave the content version alone (a
# token's last use is written on every authenticated request).
PRIVATE_TABLES = frozenset(
    {"users", "api_tokens", "audit_log", "login_attempts", "data_version", "content_changes"}
)


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


def schema_problem(engine: Engine, migrations: str, *, empty_ok: bool = False) -> str | None:
    """What keeps the database at ``engine`` from having the schema the code needs, in plain
    words (None: nothing known): no tables at all (unless ``empty_ok``), some missing, or an
    older Alembic revision than the newest in the ``migrations`` folder. Asked when a
    statement fails, so that a database nobody has upgraded gets a hint rather than a
    traceback, and before a command runs (``empty_ok``: a command that needs no database
    may run without one)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from transit.models import Base

    where = engine.url.render_as_string(hide_password=True)
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        current: set[str] = set()
        if "alembic_version" in present:  # (db.create_all makes none: tests)
            current = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    missing = sorted(set(Base.metadata.tables) - present)
    if len(missing) == len(Base.metadata.tables):
        return None if empty_ok else f"the database {where} has no tables yet"
    if missing:
        return f"the database {where} lacks the tables {', '.join(missing)}"
    config = Config()
    config.set_main_option("script_location", migrations)
    heads = set(ScriptDirectory.from_config(config).get_heads())
    if current and current != heads:
        return (
            f"the database {where} has the schema of revision {', '.join(sorted(current))}, "
            f"this version needs {', '.join(sorted(heads))}"
        )
    return None


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


def refresh_statistics(session: Session) -> None:
    """Tell the database's query planner about tables a bulk import just filled (``ANALYZE``),
    and commit. Until autovacuum gets round to it, PostgreSQL plans joins on freshly filled
    tables as if they were nearly empty; SQLite has no statistics at all until asked."""
    session.connection().exec_driver_sql("ANALYZE")
    session.commit()


def data_version(session: Session) -> int:
    """The current timetable data version (0 on a database that never changed)."""
    return timetable_stamp(session)[0]


# --- write locks -----------------------------------------------------------------------------
# Every public write updates the one ``data_version`` row at its first flush, so writers
# already queue there; these helpers take that place in the queue before the checks a write
# depends on (an If-Match, a unique name, the rows to replace), so the checks still hold
# when it commits. The data version is always locked first, as the flush would: all writers
# then lock in one order and never deadlock.


def _sqlite_write_lock(session: Session) -> None:
    # pysqlite sends BEGIN only before the first write, so the reads before it run outside
    # any transaction; BEGIN IMMEDIATE takes SQLite's single write lock now.
    connection = session.connection()
    dbapi = connection.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_data_version(session: Session) -> int:
    """The data version, read afresh and held until the transaction ends.

    PostgreSQL: ``SELECT ... FOR UPDATE`` of its row (waits for a write in progress, keeps
    the next ones out). SQLite: its write lock (one writer at a time anyway). A database
    made without the migrations has no row until its first write: nothing to hold then.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.get_bind().dialect.name == "sqlite":
        _sqlite_write_lock(session)
    session.info.pop("version_stamps", None)  # read before the lock: maybe stale
    version = session.scalar(
        select(DataVersion.version).where(DataVersion.id == 1).with_for_update()
    )
    return int(version or 0)


def lock_row(session: Session, model: Any, ident: int) -> None:
    """Hold one row (after the data version) until the transaction ends, so two saves of the
    same thing run one after the other and the second reads what the first wrote."""
    lock_data_version(session)
    session.execute(select(model.id).where(model.id == ident).with_for_update())


def lock_city_writes(session: Session) -> None:
    """Make the other writers of cities wait until this transaction ends: call it before
    checking that a name or code is free (``models.CityNames``), so that two writers cannot
    both find it free and both take it (the database's own unique indexes are case-sensitive).

    PostgreSQL: the data version, then ``LOCK TABLE cities IN SHARE ROW EXCLUSIVE MODE``
    (which also stops a city write that would not bump the version). SQLite: its write lock,
    taken by ``lock_data_version``; SQLite lets one writer in at a time.
    """
    lock_data_version(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE cities IN SHARE ROW EXCLUSIVE MODE"))


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
    session.info.pop("content_changes", None)


# --- what a content version changed ---------------------------------------------------------
# Each transaction that bumps the content version also writes what it changed, so that a
# worker's kept answers survive the changes that cannot affect them: ``service:ID`` for a
# service whose own rows changed (the service, its timetables, stops, fares, trip records,
# forecasts), ``city:ID`` for every city such a service calls at before or after the change,
# and ``all`` for anything else (cities, calendars, transfers, bulk statements, or too much).
ALL_CHANGED = "all"
MAX_SCOPES = 500  # past this many, a change is logged as ``all``
KEEP_CHANGE_VERSIONS = 1000  # log rows of versions this far back are removed
_SERVICE_ROWS = (Timetable, ServiceFare, TripRecord, ServiceForecast)


@dataclass
class _Changes:
    everything: bool = False
    services: set[int] = field(default_factory=set)
    cities: set[int] = field(default_factory=set)
    pending: list[Any] = field(default_factory=list)  # new rows whose ids come with the flush
    # Parents whose service is still to be looked up (one query per flush, not per row).
    timetables: set[int] = field(default_factory=set)
    trips: set[int] = field(default_factory=set)


def _changes(session: Session) -> _Changes:
    changes = session.info.get("content_changes")
    if changes is None:
        changes = session.info["content_changes"] = _Changes()
    return changes


def _earlier_values(obj: Any, name: str) -> list[Any]:
    """The values an attribute had before this flush's changes (a moved row: both ends)."""
    history = inspect(obj).attrs[name].history
    return [value for value in history.deleted or () if value is not None]


def _note(session: Session, changes: _Changes, obj: Any) -> None:
    """Add what ``obj``'s change touches to ``changes``; rows not yet numbered wait."""
    if isinstance(obj, Service):
        if obj.id is None:
            changes.pending.append(obj)
        else:
            changes.services.add(obj.id)
    elif isinstance(obj, _SERVICE_ROWS):
        sid = obj.service_id if obj.service_id is not None else getattr(obj.service, "id", None)
        if sid is None:
            changes.pending.append(obj)
        else:
            changes.services.add(sid)
        changes.services.update(_earlier_values(obj, "service_id"))
    elif isinstance(obj, Stop | TripRecordStop):
        parent_name = "timetable" if isinstance(obj, Stop) else "trip"
        parent_id = getattr(obj, f"{parent_name}_id")
        if parent_id is None:
            parent_id = getattr(getattr(obj, parent_name), "id", None)
        if parent_id is None:
            changes.pending.append(obj)
        else:
            parents = changes.timetables if isinstance(obj, Stop) else changes.trips
            parents.update({parent_id, *_earlier_values(obj, f"{parent_name}_id")})
        if isinstance(obj, Stop):
            changes.cities.update(
                c for c in (obj.city_id, *_earlier_values(obj, "city_id")) if c is not None
            )
    elif getattr(obj, "__tablename__", None) not in PRIVATE_TABLES:
        changes.everything = True


def _resolve_parents(session: Session, changes: _Changes) -> None:
    """The services of the timetables and trip records noted so far."""
    for model, ids in ((Timetable, changes.timetables), (TripRecord, changes.trips)):
        if ids:
            changes.services.update(
                session.connection().scalars(
                    select(model.service_id).where(model.id.in_(sorted(ids)))
                )
            )
            ids.clear()


def _cities_of(session: Session, services: set[int]) -> set[int]:
    """The cities the services call at, as the transaction sees them now."""
    if not services:
        return set()
    return set(
        session.connection().scalars(
            select(Stop.city_id)
            .distinct()
            .join(Timetable, Timetable.id == Stop.timetable_id)
            .where(Timetable.service_id.in_(sorted(services)))
        )
    )


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    changes = _changes(session)
    if changes.everything:
        return
    known = set(changes.services)
    # A row whose only change is a collection (a city gaining a stop through the backref)
    # did not change: the rows added to the collection are noted themselves.
    dirty = [o for o in session.dirty if session.is_modified(o, include_collections=False)]
    for obj in chain(dirty, session.deleted, session.new):
        _note(session, changes, obj)
        if changes.everything:
            return
    _resolve_parents(session, changes)
    if len(changes.services) > MAX_SCOPES:
        changes.everything = True
        return
    # The cities of these services before this flush (deleted stops are gone after it).
    changes.cities.update(_cities_of(session, changes.services - known))


@event.listens_for(Session, "after_flush")
def _note_numbered(session: Session, _ctx: Any) -> None:
    changes = _changes(session)
    pending, changes.pending = changes.pending, []
    for obj in pending:
        if changes.everything:
            return
        _note(session, changes, obj)
    _resolve_parents(session, changes)
    if changes.pending:  # still without a parent: count everything
        changes.everything = True
        changes.pending = []


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_write(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in PRIVATE_TABLES:
        _changes(state.session).everything = True


@event.listens_for(Session, "before_commit")
def _log_changes(session: Session) -> None:
    """Write what this transaction changed under the content version it made."""
    session.flush()
    if not session.info.get("content_version_bumped"):
        return
    changes = _changes(session)
    scopes: set[str] = set()
    if not changes.everything:
        cities = changes.cities | _cities_of(session, changes.services)  # and after it
        scopes = {f"service:{sid}" for sid in changes.services}
        scopes |= {f"city:{cid}" for cid in cities}
    if not scopes or len(scopes) > MAX_SCOPES:
        scopes = {ALL_CHANGED}
    version = content_version(session)[0]
    connection = session.connection()
    connection.execute(
        insert(ContentChange),
        [{"content_version": version, "scope": scope} for scope in sorted(scopes)],
    )
    if version % 100 == 0:
        connection.execute(
            delete(ContentChange).where(
                ContentChange.content_version < version - KEEP_CHANGE_VERSIONS
            )
        )


def latest_content_version(connection: Connection) -> tuple[int, dt.datetime | None]:
    """The content version last committed, read on ``connection`` (outside a transaction:
    one statement sees one committed state)."""
    row = connection.execute(_STAMPS).first()
    return (int(row[2] or 0), row[3]) if row is not None else (0, None)


def changes_between(connection: Connection, after: int, upto: int) -> set[str] | None:
    """The scopes content versions ``after + 1`` to ``upto`` changed; None when some version
    left no record (written by older code, or removed since): then anything may have."""
    if upto - after > KEEP_CHANGE_VERSIONS:
        return None
    rows = connection.execute(
        select(ContentChange.content_version, ContentChange.scope).where(
            ContentChange.content_version > after, ContentChange.content_version <= upto
        )
    ).all()
    if len({version for version, _ in rows}) < upto - after:
        return None
    return {scope for _, scope in rows}
