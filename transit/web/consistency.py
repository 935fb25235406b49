"""Every anonymous read request sees one committed state of the database.

A page or an API answer is put together from several ``SELECT``s. Without a transaction
around them (pysqlite sends no ``BEGIN`` before a read; PostgreSQL's default ``READ
COMMITTED`` takes a fresh view per statement), an edit committed by another worker between
two of them gives an answer that is half before and half after it: a service with its
timetables already deleted, say. So a ``GET``/``HEAD`` request without credentials reads in
one transaction: SQLite ``BEGIN`` (deferred: the view is taken at the first read, after the
request began, so it is never stale), PostgreSQL ``REPEATABLE READ``. Requests with an
``Authorization`` header are left alone, because checking a token writes its last use and a
write in a read snapshot can fail when another writer committed meanwhile.
"""

from __future__ import annotations

from flask import Flask, request

from transit.web.extensions import db


def _begin_read() -> None:
    if request.method not in ("GET", "HEAD") or "Authorization" in request.headers:
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
    """Open the read transaction before every anonymous read request."""
    app.before_request(_begin_read)
