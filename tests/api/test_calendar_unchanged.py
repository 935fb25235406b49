"""A calendar sent as it is changes nothing: no data version bump (every client's ETag would
go stale and every cached answer be dropped), as for cities, services and variants."""

from __future__ import annotations

from sqlalchemy import select

from transit.db import data_version
from transit.models import AuditEntry
from transit.web.extensions import db


def _version(app) -> int:
    with app.app_context():
        return data_version(db.session)


def test_a_calendar_patched_with_its_own_values_writes_nothing(app, admin, network):
    url = f"/api/v1/calendars/{network.calendars['daily']}"
    calendar = admin.get(url).json
    etag = admin.get(url).headers["ETag"]
    before = _version(app)
    same = {key: calendar[key] for key in ("name", "weekdays", "start_date", "end_date",
                                           "added", "removed")}
    for body in ({}, same, {"name": calendar["name"]}, {"added": calendar["added"]}):
        reply = admin.patch(url, body, headers={"If-Match": etag})
        assert reply.status == 200, reply.body
        assert _version(app) == before, body
    with app.app_context():
        summaries = db.session.scalars(
            select(AuditEntry.summary).where(AuditEntry.entity == "calendar")).all()
    assert summaries and set(summaries) == {"changed nothing"}
    # A real change still counts, and names only what changed.
    reply = admin.patch(url, {**same, "end_date": "2030-12-31"}, headers={"If-Match": etag})
    assert reply.status == 200, reply.body
    assert _version(app) > before
    with app.app_context():
        last = db.session.scalars(select(AuditEntry.summary).order_by(AuditEntry.id.desc())).first()
    assert last == "changed last day"


def test_a_calendar_that_runs_until_the_last_date_python_knows_reads_back(admin, network):
    # 9999-12-31, a common "no end" in other systems: describing it stepped a day past the
    # last date there is, a 500 on every read after the write was kept.
    for body in ({"weekdays": [], "added": ["9999-12-31"]},
                 {"weekdays": ["fri"], "start_date": "9999-12-25", "end_date": "9999-12-31"},
                 {"start_date": "2026-01-01", "end_date": "9999-12-31"}):
        created = admin.post("/api/v1/calendars", body)
        assert created.status == 201, created.body
        url = f"/api/v1/calendars/{created.json['id']}"
        assert admin.get(url).status == 200
    assert admin.get("/api/v1/calendars").status == 200
    assert admin.get(url).json["end_date"] == "9999-12-31"
