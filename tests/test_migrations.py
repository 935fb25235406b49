"""Alembic migrations: upgrade an empty database, match the models, downgrade cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from transit.models import Base


def test_upgrade_and_downgrade_on_an_empty_database(database_url):
    """On SQLite or, under scripts/with-postgres, on PostgreSQL."""
    from transit import create_app

    url = database_url

    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    result = fresh.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        assert connection.execute(text("SELECT version FROM data_version")).scalar() == 0
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

    result = fresh.test_cli_runner().invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    from transit.web.extensions import db

    with fresh.app_context():
        db.engine.dispose()
