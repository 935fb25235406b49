"""Workers share each data version's routing snapshot through a folder of pickles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from transit.models import Base, City
from transit.routing import Query, Snapshot, cache, plan
from transit.timetable.classic import parse_nenieco
from transit.timetable.loader import load_feed

QUERIES = [
    Query("Beijing", "Shenzhen", depart=dt.datetime(2025, 3, 3, 6), criterion=criterion)
    for criterion in ("fastest", "cheapest", "transfers", "options")
]


def _load_nenieco(session: Session, shared_data: Path) -> None:
    load_feed(session, parse_nenieco(shared_data / "classic" / "Nenieco-test"))
    session.commit()


@pytest.fixture
def share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "snapshots"
    monkeypatch.setenv(cache.SHARE_DIR_VARIABLE, str(folder))
    cache.clear()
    yield folder
    cache.clear()


def test_a_second_worker_loads_the_snapshot_instead_of_building(
    session: Session, shared_data: Path, share: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_nenieco(session, shared_data)
    built = cache.snapshot_for(session, 15)
    assert len(list(share.glob("*.pickle"))) == 1

    cache.clear()  # as if another process: nothing in memory, and building is not allowed

    def no_build(*args: object, **kwargs: object) -> Snapshot:
        raise AssertionError("built again instead of loading the shared file")

    with monkeypatch.context() as patch:
        patch.setattr(Snapshot, "from_session", no_build)
        loaded = cache.snapshot_for(session, 15)
    assert loaded is not built
    fresh = Snapshot.from_session(session, 15)
    for query in QUERIES:
        assert plan(loaded, query).to_json() == plan(fresh, query).to_json()


def test_a_snapshot_shared_by_other_routing_code_is_not_loaded(
    session: Session, shared_data: Path, share: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade, a file the old code wrote for the same data version may still be
    in the folder: the new code builds its own rather than load arrays laid out otherwise."""
    _load_nenieco(session, shared_data)
    monkeypatch.setattr(cache, "CODE_FINGERPRINT", "older-code")
    old = cache.snapshot_for(session, 15)
    (old_file,) = share.glob("*.pickle")
    monkeypatch.undo()
    monkeypatch.setenv(cache.SHARE_DIR_VARIABLE, str(share))
    cache.clear()
    built: list[Snapshot] = []
    real = Snapshot.from_session

    def counted(*args: object, **kwargs: object) -> Snapshot:
        built.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return built[-1]

    monkeypatch.setattr(Snapshot, "from_session", counted)
    new = cache.snapshot_for(session, 15)
    assert new is not old and built == [new]
    assert len(list(share.glob("*.pickle"))) == 2 and old_file.exists()


def test_an_edit_gives_a_new_shared_snapshot(
    session: Session, shared_data: Path, share: Path
) -> None:
    _load_nenieco(session, shared_data)
    first = cache.snapshot_for(session, 15)
    for name in ("Xi'an", "Lhasa", "Harbin"):
        session.add(City(name=name, timezone="Asia/Shanghai"))
        session.commit()
        cache.clear()
        snapshot = cache.snapshot_for(session, 15)
        assert snapshot is not first
        assert name in snapshot.city_index
    # Files of versions no worker can still need are removed.
    assert len(list(share.glob("*.pickle"))) <= 2


def test_a_database_made_again_at_the_same_address_is_not_served_the_old_snapshot(
    engine: Engine, shared_data: Path, share: Path
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        _load_nenieco(session, shared_data)
        for name in ("Xi'an", "Lhasa", "Harbin"):
            session.add(City(name=name, timezone="Asia/Shanghai"))
            session.commit()
        old = cache.snapshot_for(session, 15)
        assert "Harbin" in old.city_index
    # Made again: its version numbers start over, below the held snapshot's.
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        session.add(City(name="Urumqi", timezone="Asia/Shanghai"))
        session.commit()
        again = cache.snapshot_for(session, 15)
    assert "Urumqi" in again.city_index
    assert "Harbin" not in again.city_index


def _forbid_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_build(*args: object, **kwargs: object) -> Snapshot:
        raise AssertionError("built again instead of using the published snapshot")

    monkeypatch.setattr(Snapshot, "from_session", no_build)


def test_a_server_write_publishes_the_snapshot_of_its_version_before_commit(
    session: Session, shared_data: Path, share: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_nenieco(session, shared_data)
    first = cache.snapshot_for(session, 15)
    first.timeline(first.forward, 1_740_960_000, 1_740_960_000 + 86400)  # a day being asked

    session.add(City(name="Xi'an", timezone="Asia/Shanghai"))
    session.commit()  # builds and writes the new version's snapshot, then commits

    with monkeypatch.context() as patch:
        _forbid_builds(patch)
        # The writer's process already holds it...
        mine = cache.snapshot_for(session, 15)
        assert mine is not first and "Xi'an" in mine.city_index
        # ...with the timelines of the days the old one was asked about.
        assert set(mine._timelines) == set(first._timelines)
        # ...and another worker finds its file ready.
        cache.clear()
        other = cache.snapshot_for(session, 15)
    assert "Xi'an" in other.city_index
    fresh = Snapshot.from_session(session, 15)
    for query in QUERIES:
        assert plan(other, query).to_json() == plan(fresh, query).to_json()


def test_a_rolled_back_write_leaves_the_held_snapshot(
    session: Session, shared_data: Path, share: Path
) -> None:
    _load_nenieco(session, shared_data)
    first = cache.snapshot_for(session, 15)
    session.add(City(name="Xi'an", timezone="Asia/Shanghai"))
    session.flush()
    session.rollback()
    assert cache.snapshot_for(session, 15) is first


def test_a_failed_publication_does_not_stop_the_write(
    session: Session, shared_data: Path, share: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_nenieco(session, shared_data)
    cache.snapshot_for(session, 15)
    with monkeypatch.context() as patch:
        _forbid_builds(patch)
        session.add(City(name="Xi'an", timezone="Asia/Shanghai"))
        session.commit()  # the build fails inside the hook: logged, the commit goes on
    assert session.query(City).filter_by(name="Xi'an").count() == 1
    assert "Xi'an" in cache.snapshot_for(session, 15).city_index  # readers build it
