"""One snapshot per process and database, rebuilt when the timetable data changes.

Every timetable write bumps ``transit.db.data_version`` (one cheap ``SELECT`` to read), so a
request compares it with the version its cached snapshot was built from (a snapshot of a
later version, taken for another request meanwhile, serves it too). That works across
processes: each gunicorn worker holds its own snapshot and sees another worker's (or the
CLI's) writes through the database. A lock makes concurrent requests in one process build at
most one snapshot at a time.

A snapshot is built from several ``SELECT``s; they run in one read transaction that sees a
single committed state (SQLite: an explicit ``BEGIN``; PostgreSQL: ``REPEATABLE READ``), and
the version stored with it is read in that same transaction. Otherwise an edit committed
between two of them would give a half-edited snapshot (or a stop of a variant not yet seen).

Sharing between workers: when ``TRANSIT_SNAPSHOT_DIR`` names a folder (``gunicorn.conf.py``
sets it), the first worker to need the snapshot of a data version builds it under an
exclusive file lock and writes it there as a pickle; the other workers wait on that lock and
load the file (milliseconds) instead of building the same snapshot again (most of a second
on the New York feed). Files are named by database, connection minutes, version and the
version's change time, so a database made again at the same address never reuses a file,
and by the routing code itself (a fingerprint of its source), so that after an upgrade no
worker loads a snapshot laid out for other code.
The folder must be writable only by the server: pickles are trusted.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pickle
import tempfile
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from transit.db import timetable_stamp
from transit.routing.kernels import warm_up
from transit.routing.snapshot import Snapshot

SHARE_DIR_VARIABLE = "TRANSIT_SNAPSHOT_DIR"
_log = logging.getLogger(__name__)
_lock = threading.Lock()
# (database URL, default connection minutes) -> (data version, its change time, snapshot)
_cache: dict[tuple[str, int], tuple[int, Any, Snapshot]] = {}
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
# The routing code's fingerprint: a snapshot pickled by other code may lack arrays this code
# reads (or lay them out otherwise).
CODE_FINGERPRINT = hashlib.sha256(
    b"".join(path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py")))
).hexdigest()[:12]


def _in_memory(engine: Engine) -> bool:
    return engine.url.database in (None, "", ":memory:")


def _version_stamp(session: Session) -> tuple[int, Any]:
    """The data version and its change time, which tells apart databases reusing a number."""
    return timetable_stamp(session)


def _fresh_enough(held: tuple[int, Any, Snapshot], version: int, changed_at: Any) -> bool:
    """Whether the held snapshot shows the state the request saw, or a later one.

    A later one (built for another request meanwhile) is fine: the request began before it
    was committed. A higher number with an older change time is another database made again
    at the same address, whose numbers started over.
    """
    if held[0] == version:
        return bool(held[1] == changed_at)
    if held[0] < version:
        return False
    try:
        return bool(held[1] > changed_at)
    except TypeError:
        return False


def _share_dir() -> Path | None:
    configured = os.environ.get(SHARE_DIR_VARIABLE)
    return Path(configured) if configured else None


def _file_stem(url: str, minutes: int, version: int, changed_at: Any) -> str:
    database = hashlib.sha256(url.encode()).hexdigest()[:16]
    stamp = hashlib.sha256(f"{changed_at}|{CODE_FINGERPRINT}".encode()).hexdigest()[:12]
    return f"snapshot-{database}-{minutes}-{version}-{stamp}"


def _dump(snapshot: Snapshot, path: Path) -> None:
    """Write the snapshot's state without its locks (they cannot be pickled), atomically."""
    state = dict(snapshot.__dict__)
    locks = [name for name, value in state.items() if isinstance(value, _LOCK_TYPES)]
    for name in locks:
        del state[name]
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump((locks, state), out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path) -> Snapshot:
    with path.open("rb") as source:
        locks, state = pickle.load(source)
    snapshot: Any = Snapshot.__new__(Snapshot)
    snapshot.__dict__.update(state)
    for name in locks:
        setattr(snapshot, name, threading.Lock())
    warm_up()  # as a built snapshot does: the compiled scans are loaded before the first query
    return snapshot


def _build_consistent(
    session: Session, engine: Engine, default_min_connection_minutes: int
) -> tuple[int, Any, Snapshot]:
    """Read the version and the whole timetable in one transaction on its own connection."""
    if _in_memory(engine):
        # One connection holds the whole database: no other writer can interleave.
        version, changed_at = _version_stamp(session)
        return version, changed_at, Snapshot.from_session(session, default_min_connection_minutes)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        elif connection.dialect.name == "sqlite":
            # pysqlite begins transactions only before writes: begin the read one by hand.
            connection.exec_driver_sql("BEGIN")
        try:
            with Session(bind=connection) as reader:
                version, changed_at = _version_stamp(reader)
                snapshot = Snapshot.from_session(reader, default_min_connection_minutes)
        finally:
            connection.rollback()
    return version, changed_at, snapshot


def _build_shared(
    session: Session, engine: Engine, url: str, minutes: int, folder: Path
) -> tuple[int, Any, Snapshot]:
    """Load the file of the current version if a worker wrote it; else build and write it."""
    folder.mkdir(parents=True, exist_ok=True)
    # The latest committed version, not the one the request's transaction may still show:
    # all the workers then wait on the same file.
    with engine.connect() as connection, Session(bind=connection) as latest:
        version, changed_at = _version_stamp(latest)
    stem = _file_stem(url, minutes, version, changed_at)
    path = folder / f"{stem}.pickle"
    with (folder / f"{stem}.lock").open("a") as lock_file:
        # Workers needing the same version queue here; the first one builds.
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            if path.exists():
                try:
                    return version, changed_at, _load(path)
                except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as error:
                    _log.warning("snapshot file %s unreadable (%s): building", path, error)
            built_version, built_changed_at, snapshot = _build_consistent(session, engine, minutes)
            # An edit committed since the version was read: the build is of a newer version.
            stem = _file_stem(url, minutes, built_version, built_changed_at)
            try:
                _dump(snapshot, folder / f"{stem}.pickle")
            except (OSError, pickle.PicklingError, TypeError, AttributeError) as error:
                _log.warning("snapshot not shared (%s)", error)
            return built_version, built_changed_at, snapshot
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _forget_older(url: str, minutes: int, keep: int, folder: Path) -> None:
    """Remove this database's files of versions older than ``keep`` (no worker needs them)."""
    prefix = _file_stem(url, minutes, 0, "").rsplit("-", 2)[0] + "-"
    for old in folder.glob(prefix + "*"):
        try:
            version = int(old.name[len(prefix):].split("-", 1)[0])
        except ValueError:
            continue
        if version < keep - 1:  # keep the one before too: a slower worker may still load it
            old.unlink(missing_ok=True)


def snapshot_for(session: Session, default_min_connection_minutes: int) -> Snapshot:
    """The current snapshot of ``session``'s database, built again only after a change."""
    engine = session.get_bind().engine
    url = engine.url.render_as_string(hide_password=False)
    if _in_memory(engine):
        url += f"#{id(engine)}"  # each in-memory database is its own
    minutes = int(default_min_connection_minutes)
    key = (url, minutes)
    version, changed_at = _version_stamp(session)
    held = _cache.get(key)
    if held is not None and _fresh_enough(held, version, changed_at):
        return held[2]
    with _lock:
        # Another thread may have taken a snapshot of this version or a later one meanwhile.
        held = _cache.get(key)
        if held is not None and _fresh_enough(held, version, changed_at):
            return held[2]
        folder = _share_dir()
        if folder is None or _in_memory(engine):
            built = _build_consistent(session, engine, minutes)
        else:
            built = _build_shared(session, engine, url, minutes, folder)
            _forget_older(url, minutes, built[0], folder)
        _cache[key] = built
        return built[2]


def _prepare_like(snapshot: Snapshot, previous: Snapshot) -> None:
    """Build in ``snapshot`` the timelines ``previous`` holds: the days being asked about."""
    for reverse, base, days in list(getattr(previous, "_timelines", {})):
        direction = snapshot.backward if reverse else snapshot.forward
        snapshot.timeline(direction, base, base + (days - 1) * 86400)


@event.listens_for(Session, "before_commit")
def _publish_before_commit(session: Session) -> None:
    """A server's timetable write shares the snapshot of the version it makes, before commit.

    Readers take a new snapshot when they see a new version, and until they have it their
    route answers wait: most of a second on the New York feed, on every edit. So when this
    process serves routes from a shared folder (a gunicorn worker) and the transaction
    changed the timetable, the snapshot of the new version is built here, from the
    transaction's own view, and written to the folder before the version becomes visible:
    every worker then finds the file ready (loading it takes milliseconds). The writer pays
    for the build instead, and holds the timetable's write lock meanwhile, so no other
    timetable write can slip in between. If the commit fails the file is never used (its
    name carries a version stamp that never became visible).
    """
    folder = _share_dir()
    if folder is None or not _cache:
        return
    try:
        session.flush()  # the last changes are only flushed after this hook
    except Exception:
        return  # the commit will fail and say why
    if not session.info.get("data_version_bumped"):
        return
    engine = session.get_bind().engine
    if _in_memory(engine):
        return
    url = engine.url.render_as_string(hide_password=False)
    held = [(key[1], entry[2]) for key, entry in list(_cache.items()) if key[0] == url]
    if not held:
        return
    published = []
    try:
        version, changed_at = _version_stamp(session)
        folder.mkdir(parents=True, exist_ok=True)
        for minutes, previous in held:
            snapshot = Snapshot.from_session(session, minutes)
            _prepare_like(snapshot, previous)
            _dump(snapshot, folder / f"{_file_stem(url, minutes, version, changed_at)}.pickle")
            published.append(((url, minutes), (version, changed_at, snapshot)))
    except Exception as error:  # a failed build must not stop the write: readers build
        _log.warning("snapshot not published before commit (%s)", error)
        return
    session.info["published_snapshots"] = published


@event.listens_for(Session, "after_commit")
def _install_published(session: Session) -> None:
    """The writer's process uses the snapshots it published, once they are committed."""
    published = session.info.pop("published_snapshots", None)
    if not published:
        return
    with _lock:
        for key, built in published:
            held = _cache.get(key)
            if held is None or _fresh_enough(built, held[0], held[1]):
                _cache[key] = built


@event.listens_for(Session, "after_rollback")
def _drop_published(session: Session) -> None:
    session.info.pop("published_snapshots", None)


def clear() -> None:
    """Forget every cached snapshot (tests, or after swapping databases)."""
    with _lock:
        _cache.clear()
