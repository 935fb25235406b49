"""Registers the ``flask`` commands of every concern on the app."""

from __future__ import annotations

import functools
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy.exc import OperationalError, ProgrammingError

from transit.web.extensions import schema_hint


def register_commands(app: Flask) -> None:
    from transit.commands import demo

    # Flask-Migrate's own group (db upgrade, the first command on a new machine): a database
    # that cannot be opened is said in words there too.
    migrations = app.cli.commands.get("db")
    if isinstance(migrations, click.Group):
        for sub in migrations.commands.values():
            _explain_unopenable(sub)

    for command in (
        demo.seed_demo,
        __import__("transit.commands.users", fromlist=["users"]).users,
        __import__("transit.commands.history", fromlist=["history"]).history,
        __import__("transit.commands.timetable", fromlist=["timetable"]).timetable,
        __import__("transit.commands.forecast", fromlist=["forecast"]).forecast,
        __import__("transit.commands.route", fromlist=["route"]).route,
    ):
        _explain_schema_errors(command)
        app.cli.add_command(command)


def _hint(empty_ok: bool = False) -> str | None:
    """What is wrong with the database and what to do, or None; a database that cannot even
    be opened (a file in a folder that does not exist) says so."""
    unopenable = _unopenable()
    if unopenable is not None:
        return unopenable
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        return schema_hint(empty_ok=empty_ok)


def _explain_unopenable(command: click.Command) -> None:
    """Make ``command`` say, rather than show in a traceback, that its database cannot be
    opened; any other error stays as it is."""
    callback = command.callback
    if callback is None:
        return

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except OperationalError as error:
            problem = _unopenable()
            if problem is None:
                raise
            raise click.ClickException(problem) from error

    command.callback = run


def _unopenable() -> str | None:
    """Why the app's database cannot be opened, or None when it can."""
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        from transit.web.extensions import db

        try:
            with db.engine.connect():
                return None
        except OperationalError as error:
            where = db.engine.url.render_as_string(hide_password=True)
            return f"cannot open the database {where}: {error.orig}"


def _explain_schema_errors(command: click.Command) -> None:
    """Make a failed statement on a database without the current schema (never upgraded, or
    upgraded by an older version) a message saying what to run, in ``command`` and each
    of its subcommands; any other database error stays as it is."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _explain_schema_errors(sub)
        return
    callback = command.callback
    if callback is None or getattr(callback, "explains_schema", False):
        return

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        # First a schema some other version left (older, or tables missing): a command may
        # run on one without failing and still be wrong. A database with no tables at all
        # is for the statements to find (some commands need none).
        hint = _hint(empty_ok=True)
        if hint is not None:
            raise click.ClickException(hint)
        try:
            return callback(*args, **kwargs)
        except (OperationalError, ProgrammingError) as error:
            hint = _hint()
            if hint is None:
                raise
            raise click.ClickException(hint) from error

    run.explains_schema = True  # type: ignore[attr-defined]
    command.callback = run
