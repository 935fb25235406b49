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


def test_a_step_down_and_up_keeps_a_database_full_of_data(database_url):
    """0007 and 0006 rebuild tables (cities, services...): with foreign keys enforced,
    dropping one failed on any database with stops (and left a half-built table behind).
    Every row survives, down and up."""
    from transit import create_app
    from transit.demo import seed_demo_network
    from transit.web.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        seed_demo_network(db.session(), 2026, history_days=2)
        db.session.commit()

    def counts() -> dict[str, int]:
        with app.app_context():
            return {table: db.session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
                    for table in ("cities", "services", "timetables", "stops", "trip_records",
                                  "service_fares")}

    before = counts()
    assert before["stops"] > 1000 and before["trip_records"] > 0
    result = runner.invoke(args=["db", "downgrade", "0005"])
    assert result.exit_code == 0, result.output
    assert counts() == before
    with app.app_context():
        tables = inspect(db.engine).get_table_names()
    assert not [name for name in tables if name.startswith("_alembic")]
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert counts() == before
    with app.app_context():
        db.engine.dispose()


def test_a_deleted_rows_id_is_never_given_again(database_url):
    """SQLite gave a deleted row's id to the next row made: a link or an audit entry naming
    the deleted city led to the new one (PostgreSQL's sequences never did)."""
    from transit import create_app
    from transit.models import City
    from transit.web.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x"})
    assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        first, second = City(name="A", timezone="UTC"), City(name="B", timezone="UTC")
        db.session.add_all([first, second])
        db.session.commit()
        gone = second.id
        db.session.delete(second)
        db.session.commit()
        again = City(name="C", timezone="UTC")
        db.session.add(again)
        db.session.commit()
        assert again.id > gone
    with app.app_context():  # the request's session is closed by now: nothing left open
        db.engine.dispose()
