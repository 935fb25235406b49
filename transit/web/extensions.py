"""Flask extensions, created once and bound to the app in the factory."""

import logging

from flask import current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import OperationalError, ProgrammingError

from transit.db import schema_problem
from transit.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()

# What the commands and the operator's log say when the schema is not the code's.
UPGRADE_HINT = "run `flask --app app db upgrade` first (`make run` and `make serve` do it)"


def schema_hint(empty_ok: bool = False) -> str | None:
    """In an app context: what is wrong with the database's schema and what to run, or None
    where nothing is (transit.db.schema_problem)."""
    problem = schema_problem(db.engine, current_app.extensions["migrate"].directory,
                             empty_ok=empty_ok)
    return None if problem is None else f"{problem}: {UPGRADE_HINT}"


def log_schema_problem(error: BaseException | None) -> None:
    """After a request failed on ``error``: where it is a failed statement on a database
    without the current schema (never upgraded, or by an older version), say so in the log
    in plain words, beside the traceback."""
    if not isinstance(error, (OperationalError, ProgrammingError)):
        return
    hint = schema_hint()
    if hint is not None:
        logging.getLogger("transit").error("%s", hint)
