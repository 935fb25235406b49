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
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        try:
            return schema_hint(empty_ok=empty_ok)
        except OperationalError as error:
            from transit.web.extensions import db

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
