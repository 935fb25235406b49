"""Hostile and random input never makes the API fail: always a 4xx problem, never a 500."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from transit.models import City
from transit.web.extensions import db

FIELDS = [
    "name",
    "code",
    "latitude",
    "longitude",
    "timezone",
    "min_connection_seconds",
    "number",
    "mode",
    "operator",
    "route",
    "currency",
    "timetables",
    "fares",
    "stops",
    "city",
    "arrival",
    "departure",
    "fare_cents",
    "boarding",
    "alighting",
    "calendar",
    "calendar_id",
    "weekdays",
    "start_date",
    "end_date",
    "added",
    "removed",
    "origin",
    "destination",
    "code",
    "headsign",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["Beijing", "08:00", "25:61+1", "2026-02-30", "train", "mon", "' OR 1=1 --", "\x00"]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=20,
)
BODIES = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=8) | JSON
WRITES = st.sampled_from(
    [
        ("POST", "/api/v1/cities"),
        ("PATCH", "/api/v1/cities/1"),
        ("POST", "/api/v1/services"),
        ("PATCH", "/api/v1/services/1"),
        ("POST", "/api/v1/services/1/timetables"),
        ("PUT", "/api/v1/services/1/timetables/1"),
        ("PUT", "/api/v1/services/1/fares"),
        ("POST", "/api/v1/services/1/fares"),
        ("POST", "/api/v1/calendars"),
        ("PATCH", "/api/v1/calendars/1"),
    ]
)
READS = st.sampled_from(
    ["/api/v1/cities", "/api/v1/services", "/api/v1/calendars", "/api/v1/routes"]
)
PARAMS = st.dictionaries(
    st.sampled_from(
        [
            "q",
            "mode",
            "operator",
            "city",
            "number",
            "limit",
            "offset",
            "from",
            "to",
            "depart",
            "arrive_by",
            "criterion",
            "modes",
            "min_connection",
            "window_hours",
            "max_transfers",
            "x",
        ]
    ),
    st.text(max_size=25) | st.integers(min_value=-(2**70), max_value=2**70).map(str),
    max_size=5,
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(target=WRITES, body=BODIES)
def test_random_bodies_answer_4xx_problems(api, network, admin_token, target, body):
    method, path = target
    reply = api.request(method, path, json_body=body, token=admin_token)
    assert reply.status < 500, reply.body
    if reply.status >= 400:
        reply.problem(reply.status)


@FUZZ
@given(path=READS, params=PARAMS)
def test_random_query_strings_answer_without_error(api, network, path, params):
    reply = api.get(path + "?" + urlencode(params))
    assert reply.status < 500, reply.body
    if reply.status >= 400:
        reply.problem(reply.status)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segment=st.text(min_size=1, max_size=30) | st.integers(min_value=0, max_value=2**80).map(str)
)
def test_random_paths_answer_problems(api, admin_token, segment):
    for path in (
        f"/api/v1/cities/{quote(segment, safe='')}",
        f"/api/v1/services/{quote(segment, safe='')}/fares",
    ):
        reply = api.get(path)
        assert reply.status in (200, 404), (path, reply.status)
        if reply.status == 404:
            reply.problem(404)
    reply = api.delete(f"/api/v1/cities/{quote(segment, safe='')}")
    assert reply.status == 401 or reply.status == 404


def test_sql_injection_strings_change_nothing(app, api, network, admin_token):
    attacks = ["'; DROP TABLE cities; --", '" OR "1"="1', "Beijing' --", "%' OR '1'='1"]
    for attack in attacks:
        assert api.get("/api/v1/cities?" + urlencode({"q": attack})).json["total"] == 0
        api.get("/api/v1/services?" + urlencode({"city": attack})).problem(422)
        api.get("/api/v1/routes?" + urlencode({"from": attack, "to": "Shanghai"})).problem(422)
        reply = api.post("/api/v1/cities", {"name": "Beijing", "code": attack}, token=admin_token)
        reply.problem(409 if " " not in attack else 422)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(City)) == 4


def test_nul_characters_are_refused_by_name(api, network, admin_token):
    """PostgreSQL cannot store NUL; the API refuses it as input, naming the field."""
    problem = api.post("/api/v1/cities", {"name": "Wu\x00han"}, token=admin_token).problem(422)
    assert problem["errors"][0]["field"] == "name" and "NUL" in problem["errors"][0]["message"]
    problem = api.get("/api/v1/cities?" + urlencode({"q": "a\x00"})).problem(400)
    assert problem["errors"][0]["field"] == "q"
    body = {
        "number": "X1",
        "mode": "train",
        "timetables": [
            {
                "calendar": {},
                "stops": [
                    {"city": "Beijing", "departure": "08:00"},
                    {"city": "Shang\x00hai", "arrival": "09:00"},
                ],
            }
        ],
    }
    problem = api.post("/api/v1/services", body, token=admin_token).problem(422)
    assert problem["errors"][0]["field"] == "timetables[0].stops[1].city"
    # The checks after the model (editing.review) never look such a name up: PostgreSQL
    # refused the query (a 500 there), and it is not reported again as an unknown city.
    assert not any("no city" in e["message"] for e in problem["errors"]), problem
