"""A command run on a database without the current schema says what to run, not a traceback.

QA finding: ``flask --app app route Beijing Shanghai`` before ``make run`` (nothing had created
the tables) printed a 40-line traceback ending in "no such table: data_version".
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from transit.db import schema_problem
from transit.models import Base

HINT = "run `flask --app app db upgrade` first (`make run` and `make serve` do it)"


def _fresh(url: str, testing: bool = True):  # type: ignore[no-untyped-def]
    from transit import create_app

    return create_app({"TESTING": testing, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})


def _dispose(app) -> None:  # type: ignore[no-untyped-def]
    from transit.web.extensions import db

    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "args",
    [["route", "Beijing", "Shanghai"], ["route", "Beijing", "Shanghai", "--json"],
     ["timetable", "stats"], ["seed-demo", "--if-empty"]],
)
def test_a_database_never_upgraded_gets_the_command_to_run(database_url, args):
    app = _fresh(database_url)
    result = app.test_cli_runner().invoke(args=args)
    _dispose(app)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not an error escaping
    assert "has no tables yet: " + HINT in result.output
    assert "Traceback" not in result.output


def test_once_upgraded_the_same_command_answers(database_url):
    app = _fresh(database_url)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["route", "Beijing", "Shanghai"])
    _dispose(app)
    assert result.exit_code == 2, result.output  # an empty timetable: no such city
    assert "no city called 'Beijing'" in result.output


def test_the_problem_is_named(database_url):
    app = _fresh(database_url)
    migrations = app.extensions["migrate"].directory
    engine = create_engine(database_url)
    try:
        assert "has no tables yet" in (schema_problem(engine, migrations) or "")
        # An older revision than the code's (upgraded by an earlier version of Transit).
        assert app.test_cli_runner().invoke(args=["db", "upgrade", "0005"]).exit_code == 0
        problem = schema_problem(engine, migrations) or ""
        assert problem.endswith("has the schema of revision 0005, this version needs 0007"), problem
        assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
        assert schema_problem(engine, migrations) is None
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE login_attempts"))
        assert (schema_problem(engine, migrations) or "").endswith("lacks the tables login_attempts")
    finally:
        engine.dispose()
        _dispose(app)


def test_tables_made_without_alembic_are_no_problem(engine, database_url):
    """The tests' databases come from ``create_all``: no revision to compare, nothing said."""
    assert set(Base.metadata.tables)
    assert schema_problem(engine, "migrations") is None


def test_a_page_or_api_request_on_it_logs_what_to_run(database_url, caplog):
    """Visitors get the usual error page or problem (they cannot fix it); the operator's log
    says what to run, beside the traceback."""
    app = _fresh(database_url, testing=False)  # (testing lets errors escape the handlers)
    client = app.test_client()
    for path, kind in (("/", "text/html"), ("/api/v1/cities", "application/problem+json")):
        caplog.clear()
        reply = client.get(path)
        assert reply.status_code == 500
        assert reply.content_type.startswith(kind)
        assert any(
            record.levelname == "ERROR" and record.getMessage().endswith("has no tables yet: " + HINT)
            for record in caplog.records
        ), path
    _dispose(app)


@pytest.mark.parametrize("args", [["timetable", "stats", "--json"], ["users", "list"]])
def test_a_database_of_an_older_version_is_said_before_the_command_runs(database_url, args):
    # These ran on the schema a step down (0005) as if nothing were wrong: exit 0.
    app = _fresh(database_url)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["db", "downgrade", "0005"]).exit_code == 0
    result = runner.invoke(args=args)
    _dispose(app)
    assert result.exit_code == 1, result.output
    assert "has the schema of revision 0005, this version needs 0007: " + HINT in result.output


def test_a_database_that_cannot_be_opened_is_said_in_words(tmp_path):
    # A file in a folder that does not exist: a traceback ("unable to open database file").
    url = f"sqlite:///{tmp_path}/no/such/folder/transit.sqlite3"
    app = _fresh(url)
    for args in (["timetable", "stats", "--json"], ["db", "upgrade"]):  # the first one run
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 1, result.output
        assert result.output.strip().endswith(
            f"Error: cannot open the database {url}: unable to open database file")
        assert "Traceback" not in result.output
    _dispose(app)
