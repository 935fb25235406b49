"""Optimistic concurrency: a write with a stale If-Match is refused (412) and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from transit.models import AuditEntry, Service, ServiceFare
from transit.web.extensions import db


def _audits(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def _writes(network) -> list[tuple[str, str, str, dict | None]]:
    """(method, path, path whose GET gives the ETag, body) of each write honouring If-Match."""
    city = f"/api/v1/cities/{network.cities['Nanjing']}"
    service = f"/api/v1/services/{network.services['T1']}"
    variant = f"{service}/timetables/{network.timetables['day']}"
    fares = f"{service}/fares"
    calendar = f"/api/v1/calendars/{network.calendars['unused']}"
    day = {
        "code": "day",
        "calendar_id": network.calendars["weekdays"],
        "stops": [
            {"city": "Beijing", "departure": "08:30"},
            {"city": "Shanghai", "arrival": "13:30", "fare_cents": 55000},
        ],
    }
    fare = {"origin": "Beijing", "destination": "Shanghai", "fare_cents": 1000}
    return [
        ("PATCH", city, city, {"name": "Nanking"}),
        ("DELETE", f"{city}?cascade=true", city, None),
        ("PATCH", service, service, {"name": "Renamed"}),
        ("DELETE", service, service, None),
        ("PUT", variant, variant, day),
        ("DELETE", variant, variant, None),
        ("PUT", fares, fares, {"fares": [fare]}),
        ("DELETE", f"{fares}/{{fare}}", fares, None),
        ("PATCH", calendar, calendar, {"name": "weekends"}),
        ("DELETE", calendar, calendar, None),
    ]


def _fare_id(app, network) -> int:
    with app.app_context():
        return db.session.scalar(
            select(ServiceFare.id).where(ServiceFare.service_id == network.services["T1"])
        )


@pytest.mark.parametrize("index", range(10))
def test_a_stale_if_match_is_412_and_changes_nothing(app, admin, network, index):
    method, path, read, body = _writes(network)[index]
    path = path.replace("{fare}", str(_fare_id(app, network)))
    etag = admin.get(read).headers["ETag"]
    # Someone else changes the timetable after our read.
    other = network.cities["Xi'an"]
    assert admin.patch(f"/api/v1/cities/{other}", {"name": "Xian"}).status == 200
    before = (admin.get(read).body, _audits(app))

    stale = admin.request(method, path, json_body=body, headers={"If-Match": etag})
    problem = stale.problem(412)
    assert problem["type"].endswith("#problem-precondition-failed")
    assert "changed since you read it" in problem["detail"]
    assert "nothing was changed" in problem["detail"]
    assert (admin.get(read).body, _audits(app)) == before

    # With the ETag read now, the same write goes through.
    fresh = admin.get(read).headers["ETag"]
    assert stale.headers["ETag"] == fresh
    done = admin.request(method, path, json_body=body, headers={"If-Match": fresh})
    assert done.status in (200, 204), done.body[:300]


def test_the_reported_case_patch_with_a_stale_tag(admin, network):
    path = f"/api/v1/services/{network.services['T1']}"
    admin.patch(path, {"operator": "Someone"}, headers={"If-Match": '"stale"'}).problem(412)
    assert admin.get(path).json["operator"] == "China Railway"


def test_without_if_match_or_with_star_writes_go_ahead(app, admin, network):
    path = f"/api/v1/services/{network.services['T1']}"
    assert admin.patch(path, {"name": "One"}).status == 200
    assert admin.patch(path, {"name": "Two"}, headers={"If-Match": "*"}).status == 200
    etag = admin.get(path).headers["ETag"]
    # The ETag as sent (weak) and the same value without W/ both match.
    assert admin.patch(path, {"name": "Three"}, headers={"If-Match": etag}).status == 200
    etag = admin.get(path).headers["ETag"]
    bare = etag.removeprefix("W/")
    assert admin.patch(path, {"name": "Four"}, headers={"If-Match": f'"x", {bare}'}).status == 200
    with app.app_context():
        assert db.session.get(Service, network.services["T1"]).name == "Four"


def test_an_unknown_resource_is_still_404_not_412(admin, network):
    admin.patch("/api/v1/services/9999", {"name": "x"}, headers={"If-Match": '"stale"'}).problem(404)


def test_the_document_lists_if_match_and_412_on_every_such_write(api):
    document = api.get("/api/v1/openapi.json").json
    honouring = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            names = [p["name"] for p in op.get("parameters", [])]
            if method in ("put", "patch", "delete"):
                assert "If-Match" in names and "412" in op["responses"], (method, path)
                honouring.append((method, path))
            else:
                assert "If-Match" not in names and "412" not in op["responses"], (method, path)
    assert len(honouring) == 10
    assert "precondition-failed" in api.get("/api/v1/docs").body.decode()
