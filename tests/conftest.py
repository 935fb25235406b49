"""Shared fixtures: a real SQLite file per test, the app, its client and CLI runner."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from transit.db import make_engine
from transit.models import Base

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED_DATA.exists():  # a clone next to the shared folder, whatever its name
    SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TRANSIT_SECRET_KEY", "test-secret-key")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.fail(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# Set by scripts/with-postgres: the suite then runs on a fresh PostgreSQL database per test.
POSTGRES_ADMIN_URL = os.environ.get("TRANSIT_TEST_POSTGRES_URL")
# Set (to anything) to run on PostgreSQL the tests that never touch it too.
EVERY_TEST_ON_POSTGRES = bool(os.environ.get("TRANSIT_TEST_EVERY_TEST_ON_POSTGRES"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL (``make test``'s second pass), keep only the tests that use the
    ``database_url`` fixture (directly or through ``engine``, ``session``, ``app``...): the
    others (the engine on feeds, the forecast models, the browser pages on their own SQLite
    file) never reach PostgreSQL, so they would only repeat the first pass, minutes of it."""
    if not POSTGRES_ADMIN_URL or EVERY_TEST_ON_POSTGRES:
        return
    kept, dropped = [], []
    for item in items:
        (kept if "database_url" in getattr(item, "fixturenames", ()) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not POSTGRES_ADMIN_URL:
        yield "sqlite:///" + str(tmp_path / "test.sqlite3")
        return
    name = "test_" + uuid.uuid4().hex[:16]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    from transit import create_app
    from transit.web.extensions import db

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TRANSIT_MODEL_DIR": str(tmp_path / "models"),
            "SECRET_KEY": "test-secret-key",
            "WTF_CSRF_ENABLED": True,
        }
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin(app, client, tmp_path):
    """An administrator logged in on ``client``, with the Beijing-Shanghai corridor of
    ``tests.admin_helpers.add_corridor`` (its ids) and uploads kept in ``tmp_path``."""
    from tests.admin_helpers import add_corridor, log_in, make_admin

    app.config["TRANSIT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    make_admin(app)
    ids = add_corridor(app)
    assert log_in(client).status_code == 302
    return ids
