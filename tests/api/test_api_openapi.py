"""The OpenAPI 3.1 document: valid, complete, and true to what the server answers."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from transit.web.api.openapi import OPERATIONS

PREFIX = "/api/v1"


@pytest.fixture
def document(api):
    reply = api.get(f"{PREFIX}/openapi.json")
    assert reply.status == 200 and reply.content_type == "application/json"
    return reply.json


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_route_is_described_and_every_description_routes(app, document):
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((method.lower(), path))
    described = {
        (method, path) for path, methods in document["paths"].items() for method in methods
    }
    assert routed == described
    assert len(described) == len(OPERATIONS) >= 25


def test_every_operation_is_documented_fully(document):
    security = document["components"]["securitySchemes"]["bearerAuth"]
    assert security == {**security, "type": "http", "scheme": "bearer"}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            assert op["summary"] and op["description"] and op["operationId"], (method, path)
            codes = set(op["responses"])
            assert any(code.startswith("2") for code in codes)
            if method != "get":
                assert op.get("security") == [{"bearerAuth": []}], (method, path)
                assert {"401", "403"} <= codes, (method, path)
                assert "422" in codes or method == "delete", (method, path)
            for name in re.findall(r"{(\w+)}", path):
                assert any(p["name"] == name and p["in"] == "path" for p in op["parameters"])
                assert "404" in codes
            if op["tags"][0] in ("cities", "services", "calendars", "routes") and method == "get":
                assert "304" in codes and "ETag" in op["responses"]["200"]["headers"], (
                    method,
                    path,
                )
            for param in op.get("parameters", []):
                assert "schema" in param and param["in"] in ("path", "query", "header")
    route_params = {p["name"] for p in document["paths"][f"{PREFIX}/routes"]["get"]["parameters"]}
    assert {
        "from",
        "to",
        "depart",
        "arrive_by",
        "criterion",
        "modes",
        "min_connection",
        "window_hours",
        "max_transfers",
    } <= route_params


def _template(document, path: str, method: str) -> dict:
    bare = path.split("?")[0]
    for template, methods in document["paths"].items():
        pattern = "^" + re.sub(r"{\w+}", r"[^/]+", template) + "$"
        if re.match(pattern, bare) and method.lower() in methods:
            return methods[method.lower()]
    raise AssertionError(f"{method} {bare} is not in the document")


def conforms(document, method: str, path: str, reply) -> None:
    """The reply's status is documented for the operation and its body matches the schema."""
    op = _template(document, path, method)
    status = str(reply.status)
    assert status in op["responses"], (
        f"{method} {path} answered undocumented {status}: {reply.body[:300]!r}"
    )
    content = op["responses"][status].get("content")
    if not content:
        assert reply.body == b"", (method, path, status)
        return
    assert reply.content_type in content, (method, path, reply.content_type)
    schema = content[reply.content_type]["schema"]
    if reply.content_type == "text/html":
        return
    root = {**schema, "components": document["components"]}
    errors = sorted(Draft202012Validator(root).iter_errors(reply.json), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0]}"


def test_answers_conform_to_the_document(api, document, network, admin_token, reader_token):
    """Every endpoint, called well and badly, answers as the document says."""
    sid, flight = network.services["T1"], network.services["MU5101"]
    night = network.timetables["night"]
    nanjing, beijing = network.cities["Nanjing"], network.cities["Beijing"]
    calendar = network.calendars["unused"]
    admin = {"token": admin_token}
    calls = [
        ("GET", f"{PREFIX}/cities", {}),
        ("GET", f"{PREFIX}/cities?q=ing&mode=train&limit=1&offset=1", {}),
        ("GET", f"{PREFIX}/cities?limit=x", {}),
        ("GET", f"{PREFIX}/cities/{beijing}", {}),
        ("GET", f"{PREFIX}/cities/9999", {}),
        ("GET", f"{PREFIX}/services?city=Nanjing", {}),
        ("GET", f"{PREFIX}/services?city=Atlantis", {}),
        ("GET", f"{PREFIX}/services/{sid}", {}),
        ("GET", f"{PREFIX}/services/{sid}/timetables/{night}", {}),
        ("GET", f"{PREFIX}/services/{sid}/fares", {}),
        ("GET", f"{PREFIX}/calendars", {}),
        ("GET", f"{PREFIX}/calendars/{calendar}", {}),
        ("GET", f"{PREFIX}/docs", {}),
        ("GET", f"{PREFIX}/routes?from=Beijing&to=Shanghai&depart=2026-03-02T07:30", {}),
        ("GET", f"{PREFIX}/routes?from=Beijing&to=Shanghai&criterion=options", {}),
        ("GET", f"{PREFIX}/routes?from=Beijing", {}),
        ("GET", f"{PREFIX}/routes?from=Atlantis&to=Shanghai", {}),
        ("POST", f"{PREFIX}/cities", {"json_body": {"name": "Wuhan"}}),
        ("POST", f"{PREFIX}/cities", {"json_body": {"name": "Wuhan"}, "token": reader_token}),
        ("POST", f"{PREFIX}/cities", {"json_body": {"name": "Wuhan"}, **admin}),
        ("POST", f"{PREFIX}/cities", {"json_body": {"name": "Wuhan"}, **admin}),
        ("POST", f"{PREFIX}/cities", {"json_body": {"name": 5}, **admin}),
        (
            "POST",
            f"{PREFIX}/cities",
            {"body": b"{", "headers": {"Content-Type": "application/json"}, **admin},
        ),
        (
            "POST",
            f"{PREFIX}/cities",
            {"body": b"x", "headers": {"Content-Type": "text/plain"}, **admin},
        ),
        ("PATCH", f"{PREFIX}/cities/{nanjing}", {"json_body": {"latitude": 32.05}, **admin}),
        ("DELETE", f"{PREFIX}/cities/{nanjing}", admin),
        ("POST", f"{PREFIX}/calendars", {"json_body": {"name": "c", "weekdays": ["mon"]}, **admin}),
        (
            "PATCH",
            f"{PREFIX}/calendars/{calendar}",
            {"json_body": {"removed": ["2026-01-03"]}, **admin},
        ),
        ("DELETE", f"{PREFIX}/calendars/{network.calendars['daily']}", admin),
        ("DELETE", f"{PREFIX}/calendars/{calendar}", admin),
        (
            "POST",
            f"{PREFIX}/services",
            {
                "json_body": {
                    "number": "D1",
                    "mode": "train",
                    "timetables": [
                        {
                            "calendar": {},
                            "stops": [
                                {"city": "Beijing", "departure": "07:00"},
                                {"city": "Nanjing", "arrival": "10:00", "fare_cents": 100},
                            ],
                        }
                    ],
                },
                **admin,
            },
        ),
        (
            "POST",
            f"{PREFIX}/services",
            {"json_body": {"number": "T1", "mode": "train", "operator": "China Railway"}, **admin},
        ),
        ("PATCH", f"{PREFIX}/services/{flight}", {"json_body": {"name": "Morning"}, **admin}),
        (
            "POST",
            f"{PREFIX}/services/{flight}/timetables",
            {
                "json_body": {
                    "code": "x",
                    "calendar_id": calendar,
                    "stops": [
                        {"city": "Beijing", "departure": "07:00"},
                        {"city": "Xi'an", "arrival": "9:00"},
                    ],
                },
                **admin,
            },
        ),
        (
            "PUT",
            f"{PREFIX}/services/{sid}/timetables/{network.timetables['day']}",
            {
                "json_body": {
                    "calendar_id": network.calendars["weekdays"],
                    "stops": [
                        {"city": "Beijing", "departure": "07:00"},
                        {"city": "Shanghai", "arrival": "12:00"},
                    ],
                },
                **admin,
            },
        ),
        ("DELETE", f"{PREFIX}/services/{flight}/timetables/{network.timetables['hop']}", admin),
        (
            "PUT",
            f"{PREFIX}/services/{sid}/fares",
            {
                "json_body": {
                    "fares": [{"origin": "Beijing", "destination": "Nanjing", "fare_cents": 100}]
                },
                **admin,
            },
        ),
        (
            "POST",
            f"{PREFIX}/services/{sid}/fares",
            {
                "json_body": {"origin": "Nanjing", "destination": "Shanghai", "fare_cents": 100},
                **admin,
            },
        ),
        (
            "POST",
            f"{PREFIX}/services/{sid}/fares",
            {
                "json_body": {"origin": "Nanjing", "destination": "Shanghai", "fare_cents": 100},
                **admin,
            },
        ),
        ("DELETE", f"{PREFIX}/services/{sid}/fares/9999", admin),
        ("DELETE", f"{PREFIX}/services/{flight}", admin),
        ("DELETE", f"{PREFIX}/services/{flight}", admin),
    ]
    statuses = []
    for method, path, options in calls:
        reply = api.request(method, path, **options)
        conforms(document, method, path, reply)
        statuses.append(reply.status)
    assert {200, 201, 204, 400, 401, 403, 404, 409, 415, 422} <= set(statuses)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.md", "nothing")
    for fields in ({"dry_run": "true"}, {"format": "nope"}):
        reply = api.upload(
            f"{PREFIX}/imports", "x.zip", buffer.getvalue(), fields, token=admin_token
        )
        conforms(document, "POST", f"{PREFIX}/imports", reply)

    etag = api.get(f"{PREFIX}/cities").headers["ETag"]
    reply = api.get(f"{PREFIX}/cities", headers={"If-None-Match": etag})
    assert reply.status == 304
    conforms(document, "GET", f"{PREFIX}/cities", reply)


def test_documentation_page_is_complete_and_offline(api, document):
    reply = api.get(f"{PREFIX}/docs")
    assert reply.status == 200 and reply.content_type == "text/html"
    html = reply.body.decode()
    for methods in document["paths"].values():
        for op in methods.values():
            assert f'id="op-{op["operationId"]}"' in html
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    for slug in (
        "validation-error",
        "unauthorized",
        "forbidden",
        "not-found",
        "conflict",
        "import-failed",
    ):
        assert f'id="problem-{slug}"' in html
    # Offline: every asset is served by the app itself.
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert api.get(asset).status == 200
    assert "<script" not in html  # nothing for a strict Content-Security-Policy to block


def test_a_forecast_names_its_service_as_a_service(document):
    """The forecast's ``service`` ({id, name}) was documented as a CityRef: a client
    generated from the document typed a service as a city."""
    schemas = document["components"]["schemas"]
    service = schemas["ForecastOut"]["properties"]["service"]
    ref = service.get("$ref") or next(
        part["$ref"] for part in service.get("allOf", service.get("anyOf", [])) if "$ref" in part
    )
    assert ref == "#/components/schemas/ServiceRef"
    assert set(schemas["ServiceRef"]["properties"]) == {"id", "name"}
    assert "mode, number and operator" in schemas["ServiceRef"]["properties"]["name"]["description"]
