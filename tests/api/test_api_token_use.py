"""A token's last use is written after a write, never by a read (real HTTP, real database).

Reads with a bearer token wrote ``last_used_at`` inside their read transaction: on SQLite
that took the write lock, so concurrent reads with a token failed with "database is locked"
(500), and on PostgreSQL a read failed when a write with the same token committed during it.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select, update

from transit.models import ApiToken
from transit.web.extensions import db


def _last_used(app) -> dt.datetime | None:
    with app.app_context():
        used = db.session.scalar(select(ApiToken.last_used_at))
        db.session.rollback()
    return used


def test_a_read_with_a_token_answers_while_a_write_holds_the_token_row(app, admin, network):
    city = f"/api/v1/cities/{network.cities['Nanjing']}"
    with app.app_context(), db.engine.connect() as writer:
        # Another request's write in progress: on SQLite it holds the write lock, on
        # PostgreSQL the token's row.
        writer.execute(update(ApiToken).values(last_used_at=dt.datetime(2026, 1, 1)))
        started = time.monotonic()
        replies = [admin.get(city) for _ in range(3)]
        waited = time.monotonic() - started
        writer.rollback()
    assert [r.status for r in replies] == [200, 200, 200], replies[0].body
    assert waited < 5  # it never waited on the lock (SQLite gives up after 10 s)


def test_a_write_records_the_use_and_a_read_does_not(app, admin, network):
    assert _last_used(app) is None
    city = f"/api/v1/cities/{network.cities['Nanjing']}"
    assert admin.get(city).status == 200
    assert admin.get("/api/v1/services").status == 200
    assert _last_used(app) is None
    reply = admin.patch(city, {"name": "Nanjing South"},
                        headers={"If-Match": admin.get(city).headers["ETag"]})
    assert reply.status == 200, reply.body
    used = _last_used(app)
    assert used is not None
    assert abs(used - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(minutes=1)
    # A refused write is no use of the token worth recording, and loses nothing else.
    refused = admin.patch(city, {"name": ""}, headers={"If-Match": admin.get(city).headers["ETag"]})
    assert refused.status == 422
    assert _last_used(app) == used
