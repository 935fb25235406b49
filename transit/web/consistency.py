"""Every read request sees one committed state of the database.

A page or an API answer is put together from several ``SELECT``s. Without a transaction
around them (pysqlite sends no ``BEGIN`` before a read; PostgreSQL's default ``READ
COMMITTED`` takes a fresh view per statement), an edit committed by another worker between
two of them gives an answer that is half before and half after it: a service with its
timetables already deleted, say. So every ``GET``/``HEAD`` request, with or without
credentials, reads in one transaction: SQLite ``BEGIN`` (deferred: the view is taken at the
first read, after the request began, so it is never stale), PostgreSQL ``REPEATABLE READ``.
That holds because no ``GET`` writes: API tokens are only checked (and their last use
written) on writes, login attempts are recorded on ``POST``, and admin pages change data
only on ``POST`` (``tests/test_security.py`` walks the URL map).
"""

from __future__ import annotations

from flask import Flask, request

from transit.web.extensions import db


def _begin_read() -> None:
    if request.method not in ("GET", "HEAD"):
        return
    session = db.session()
    if session.in_transaction():
        return
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif dialect == "sqlite":
        connection = session.connection()
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            connection.exec_driver_sql("BEGIN")


def init_app(app: Flask) -> None:
    """Open the read transaction before every read request."""
    app.before_request(_begin_read)
