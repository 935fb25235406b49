"""Writes over HTTP: authentication, validation, conflicts, transactions, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from transit.models import AuditEntry, Calendar, City, Service, ServiceFare, Stop, Timetable
from transit.web.extensions import db


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


OVERNIGHT = {
    "number": "Z9",
    "mode": "train",
    "operator": "China Railway",
    "name": "Sleeper",
    "timetables": [
        {
            "code": "A",
            "calendar": {"weekdays": ["fri", "sat"], "removed": ["2026-05-01"]},
            "stops": [
                {"city": "Beijing", "departure": "22:30"},
                {
                    "city": "Nanjing",
                    "arrival": "05:10+1",
                    "departure": "05:20+1",
                    "fare_cents": 25000,
                },
                {"city": "Shanghai", "arrival": 30 * 3600, "fare_cents": 9000},
            ],
        }
    ],
    "fares": [{"origin": "Beijing", "destination": "Shanghai", "fare_cents": 31000}],
}


# --- authentication ------------------------------------------------------------------------


WRITES = [
    ("POST", "/api/v1/cities"),
    ("PATCH", "/api/v1/cities/1"),
    ("DELETE", "/api/v1/cities/1"),
    ("POST", "/api/v1/services"),
    ("PATCH", "/api/v1/services/1"),
    ("DELETE", "/api/v1/services/1"),
    ("POST", "/api/v1/services/1/timetables"),
    ("PUT", "/api/v1/services/1/timetables/1"),
    ("DELETE", "/api/v1/services/1/timetables/1"),
    ("PUT", "/api/v1/services/1/fares"),
    ("POST", "/api/v1/services/1/fares"),
    ("DELETE", "/api/v1/services/1/fares/1"),
    ("POST", "/api/v1/calendars"),
    ("PATCH", "/api/v1/calendars/1"),
    ("DELETE", "/api/v1/calendars/1"),
    ("POST", "/api/v1/imports"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_every_write_needs_a_token(api, network, reader_token, method, path):
    reply = api.request(method, path, json_body={})
    reply.problem(401)
    assert reply.headers["WWW-Authenticate"].startswith('Bearer realm="transit"')
    bad = api.request(method, path, json_body={}, token="trt_not-a-real-token")
    bad.problem(401)
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    api.request(
        method, path, json_body={}, headers={"Authorization": "Basic YWRtaW46eA=="}
    ).problem(401)
    api.request(method, path, json_body={}, token=reader_token).problem(403)


READS = ["/api/v1/cities", "/api/v1/services/1", "/api/v1/routes?from=Beijing&to=Shanghai"]


@pytest.mark.parametrize("path", READS)
def test_reads_refuse_a_bad_token_they_were_sent(api, network, reader_token, path):
    # Reads need no token, but a revoked or mistyped one is refused rather than ignored, so
    # a client learns of it before its first write.
    assert api.get(path).status == 200
    assert api.get(path, token=reader_token).status == 200
    bad = api.get(path, token="trt_not-a-real-token")
    bad.problem(401)
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    api.get(path, headers={"Authorization": "Basic YWRtaW46eA=="}).problem(401)


def test_nothing_changes_without_admin(app, api, network, reader_token):
    before = _count(app, City)
    api.post("/api/v1/cities", {"name": "Wuhan"}).problem(401)
    api.post("/api/v1/cities", {"name": "Wuhan"}, token=reader_token).problem(403)
    api.delete(
        f"/api/v1/cities/{network.cities['Nanjing']}?cascade=true", token=reader_token
    ).problem(403)
    assert _count(app, City) == before


# --- cities ---------------------------------------------------------------------------------


def test_city_lifecycle(app, admin):
    created = admin.post(
        "/api/v1/cities",
        {
            "name": " Wuhan ",
            "code": "WHN",
            "latitude": 30.6,
            "longitude": 114.3,
            "timezone": "Asia/Shanghai",
        },
    )
    assert created.status == 201, created.body
    city = created.json
    assert city["name"] == "Wuhan" and city["service_count"] == 0
    assert created.headers["Location"] == f"/api/v1/cities/{city['id']}"
    assert admin.get(created.headers["Location"]).json["code"] == "WHN"

    changed = admin.patch(
        f"/api/v1/cities/{city['id']}", {"min_connection_seconds": 1200, "code": None}
    )
    assert changed.status == 200, changed.body
    assert changed.json["min_connection_seconds"] == 1200 and changed.json["code"] is None
    assert changed.json["latitude"] == 30.6  # untouched

    assert admin.delete(f"/api/v1/cities/{city['id']}").status == 204
    admin.get(f"/api/v1/cities/{city['id']}").problem(404)
    admin.delete(f"/api/v1/cities/{city['id']}").problem(404)
    with app.app_context():
        actions = [
            (a.action, a.entity, a.username)
            for a in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    assert actions == [
        ("create", "city", "admin"),
        ("update", "city", "admin"),
        ("delete", "city", "admin"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Wuhan", "latitude": 91}, "latitude"),
        ({"name": "Wuhan", "longitude": "east"}, "longitude"),
        ({"name": "Wuhan", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "Wuhan", "timezone": "Europe"}, "timezone"),  # a folder of zones: was a 500
        ({"name": "Wuhan", "timezone": "posixrules"}, "timezone"),  # a file of zones, no place
        ({"name": "Wuhan", "min_connection_seconds": -5}, "min_connection_seconds"),
        ({"name": "Wuhan", "code": "W H"}, "code"),
        ({"name": "Wuhan", "population": 11}, "population"),
    ],
)
def test_invalid_city_is_422_naming_the_field(app, admin, body, field):
    problem = admin.post("/api/v1/cities", body).problem(422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert all(e["location"] == "body" and e["message"] for e in problem["errors"])
    assert _count(app, City) == 0


def test_duplicate_city_is_409(admin, network):
    problem = admin.post("/api/v1/cities", {"name": "Beijing"}).problem(409)
    assert (
        problem["errors"][0]["field"] == "name"
        and "already exists" in problem["errors"][0]["message"]
    )
    problem = admin.post("/api/v1/cities", {"name": "Peking", "code": "BJP"}).problem(409)
    assert problem["errors"][0]["field"] == "code" and "Beijing" in problem["errors"][0]["message"]
    rename = admin.patch(f"/api/v1/cities/{network.cities['Nanjing']}", {"name": "Shanghai"})
    assert rename.problem(409)["errors"][0]["field"] == "name"
    same = admin.patch(
        f"/api/v1/cities/{network.cities['Nanjing']}", {"name": "Nanjing", "code": "NJH"}
    )
    assert same.status == 200
    admin.patch(f"/api/v1/cities/{network.cities['Nanjing']}", {"name": None}).problem(422)


def test_a_city_may_not_take_what_travellers_type_for_another(app, admin, network):
    """Routes take a city's name or code in any case: a new city called "pek" once took
    over Beijing's code in every route query. Names and codes clash whatever the case."""
    admin.patch(f"/api/v1/cities/{network.cities['Beijing']}", {"code": "PEK"})
    before = _count(app, City)
    for body, field, words in [
        ({"name": "pek"}, "name", "is the code of Beijing"),
        ({"name": "BEIJING"}, "name", "a city called 'Beijing' already exists"),
        ({"name": "Wuhan", "code": "shanghai"}, "code", "is the name of another city, 'Shanghai'"),
    ]:
        problem = admin.post("/api/v1/cities", body).problem(409)
        assert [(e["field"], words in e["message"]) for e in problem["errors"]] == [(field, True)]
    rename = admin.patch(f"/api/v1/cities/{network.cities['Nanjing']}", {"name": "Pek"})
    assert "is the code of Beijing" in rename.problem(409)["errors"][0]["message"]
    assert _count(app, City) == before
    # A city's own code may be its name in another case.
    assert admin.patch(f"/api/v1/cities/{network.cities['Beijing']}", {"name": "pek"}).status == 200


def test_body_must_be_json(admin):
    reply = admin.request(
        "POST",
        "/api/v1/cities",
        body=b"name=Wuhan",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    reply.problem(415)
    admin.request(
        "POST", "/api/v1/cities", body=b"{not json", headers={"Content-Type": "application/json"}
    ).problem(400)
    admin.request(
        "POST", "/api/v1/cities", body=b"", headers={"Content-Type": "application/json"}
    ).problem(400)
    admin.post("/api/v1/cities", ["a", "list"]).problem(422)


def test_city_in_use_is_409_naming_services_then_cascade(app, admin, network):
    nanjing = network.cities["Nanjing"]
    problem = admin.delete(f"/api/v1/cities/{nanjing}").problem(409)
    assert "train T1 (China Railway)" in problem["detail"] and "cascade=true" in problem["detail"]
    assert problem["services"] == [
        {"id": network.services["T1"], "label": "train T1 (China Railway)"}
    ]
    assert _count(app, City) == 4
    admin.delete(f"/api/v1/cities/{nanjing}?cascade=maybe").problem(400)
    assert admin.delete(f"/api/v1/cities/{nanjing}?cascade=true").status == 204
    with app.app_context():
        assert db.session.get(City, nanjing) is None
        assert db.session.get(Service, network.services["T1"]) is None
        assert db.session.get(Service, network.services["MU5101"]) is not None
        assert db.session.scalar(select(func.count()).select_from(ServiceFare)) == 0
        assert db.session.scalar(select(func.count()).select_from(Timetable)) == 1


# --- services -------------------------------------------------------------------------------


def test_create_overnight_service_with_variants_and_fares(app, admin, network):
    created = admin.post("/api/v1/services", OVERNIGHT)
    assert created.status == 201, created.body
    service = created.json
    assert created.headers["Location"] == f"/api/v1/services/{service['id']}"
    (variant,) = service["timetables"]
    assert variant["code"] == "A"
    assert [s["arrival_seconds"] for s in variant["stops"]] == [None, 29 * 3600 + 600, 30 * 3600]
    assert variant["stops"][2]["arrival"] == "06:00+1"
    assert variant["calendar"]["description"] == "Fridays and Saturdays; not on 1 May 2026"
    assert service["fares"][0]["fare_cents"] == 31000
    assert service["origin"]["name"] == "Beijing" and service["destination"]["name"] == "Shanghai"
    listed = admin.get("/api/v1/services?city=Nanjing").json
    assert sorted(s["number"] for s in listed["items"]) == ["T1", "Z9"]


def test_service_without_variants_and_defaults(admin):
    created = admin.post("/api/v1/services", {"number": "G1", "mode": "train"})
    assert created.status == 201, created.body
    service = created.json
    assert (
        service["timetables"] == [] and service["currency"] == "CNY" and service["operator"] == ""
    )
    assert service["origin"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mode": "rocket"}, "mode"),
        ({"currency": "yuan"}, "currency"),
        ({"number": ""}, "number"),
        (
            {
                "timetables": [
                    {"calendar_id": 1, "stops": [{"city": "Beijing", "departure": "10:00"}]}
                ]
            },
            "timetables[0].stops",
        ),
    ],
)
def test_invalid_service_is_422(app, admin, network, change, field):
    problem = admin.post("/api/v1/services", {**OVERNIGHT, **change}).problem(422)
    assert field in [e["field"] for e in problem["errors"]], problem["errors"]
    assert _count(app, Service) == 2


@pytest.mark.parametrize("value", [1, 0, "yes", "on", "true", None])
@pytest.mark.parametrize("flag", ["boarding", "alighting"])
def test_stop_flags_take_json_booleans_only(app, admin, network, flag, value):
    stops = [dict(stop) for stop in OVERNIGHT["timetables"][0]["stops"]]
    stops[1][flag] = value
    body = {**OVERNIGHT, "timetables": [{**OVERNIGHT["timetables"][0], "stops": stops}]}
    problem = admin.post("/api/v1/services", body).problem(422)
    assert f"timetables[0].stops[1].{flag}" in [e["field"] for e in problem["errors"]], problem
    assert _count(app, Service) == 2
    stops[1][flag] = False
    created = admin.post("/api/v1/services", body)
    assert created.status == 201, created.body
    assert created.json["timetables"][0]["stops"][1][flag] is False


def _with_stops(stops, **extra):
    timetable = {**OVERNIGHT["timetables"][0], "stops": stops, **extra}
    return {**OVERNIGHT, "timetables": [timetable], "fares": []}


@pytest.mark.parametrize(
    ("stops", "message"),
    [
        (
            [{"city": "Beijing", "departure": "22:30"}, {"city": "Shanghai", "arrival": "06:00"}],
            "before the previous departure",
        ),
        (
            [
                {"city": "Beijing", "departure": "08:00"},
                {"city": "Nanjing", "arrival": "10:00", "departure": "09:50"},
                {"city": "Shanghai", "arrival": "12:00"},
            ],
            "after departure",
        ),
        (
            [{"city": "Beijing", "arrival": "08:00"}, {"city": "Shanghai", "arrival": "09:00"}],
            "first stop needs a departure",
        ),
        (
            [{"city": "Beijing", "departure": "08:00"}, {"city": "Shanghai", "departure": "09:00"}],
            "last stop needs an arrival",
        ),
        (
            [{"city": "Beijing", "departure": "8h"}, {"city": "Shanghai", "arrival": "09:00"}],
            "not a time",
        ),
        (
            [{"city": "Beijing", "departure": "08:61"}, {"city": "Shanghai", "arrival": "09:00"}],
            "not a time",
        ),
        (
            [{"city": "Beijing", "departure": -60}, {"city": "Shanghai", "arrival": "09:00"}],
            "negative",
        ),
        (
            [
                {"city": "Beijing", "departure": "08:00"},
                {"city": "Shanghai", "arrival": "09:00", "fare_cents": -1},
            ],
            "greater than or equal to 0",
        ),
        (
            [{"city": "Beijing", "departure": "08:00"}, {"city": "Beijing", "arrival": "09:00"}],
            "same city twice",
        ),
        (
            [{"city": "Beijing"}, {"city": "Shanghai", "arrival": "09:00"}],
            "needs an arrival or a departure",
        ),
        (
            [{"city": "Beijing", "departure": "08:00"}, {"city": True, "arrival": "09:00"}],
            "a city is its id",
        ),
    ],
)
def test_bad_stops_are_422(app, admin, network, stops, message):
    problem = admin.post("/api/v1/services", _with_stops(stops)).problem(422)
    assert any(message in e["message"] for e in problem["errors"]), problem["errors"]
    assert all(e["field"].startswith("timetables[0]") for e in problem["errors"]), problem["errors"]
    assert _count(app, Service) == 2 and _count(app, Calendar) == 3


def test_unknown_cities_are_422_and_nothing_is_written(app, admin, network):
    body = {
        **OVERNIGHT,
        "timetables": [
            OVERNIGHT["timetables"][0],
            {
                "calendar_id": network.calendars["daily"],
                "stops": [
                    {"city": "Atlantis", "departure": "08:00"},
                    {"city": 99999, "arrival": "09:00"},
                ],
            },
        ],
    }
    problem = admin.post("/api/v1/services", body).problem(422)
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert fields == {
        "timetables[1].stops[0].city": "no city with name 'Atlantis'",
        "timetables[1].stops[1].city": "no city with id 99999",
    }
    assert _count(app, Service) == 2 and _count(app, Timetable) == 3 and _count(app, Calendar) == 3
    bad_calendar = _with_stops(OVERNIGHT["timetables"][0]["stops"], calendar=None, calendar_id=4242)
    problem = admin.post("/api/v1/services", bad_calendar).problem(422)
    assert problem["errors"][0]["field"] == "timetables[0].calendar_id"
    both = _with_stops(OVERNIGHT["timetables"][0]["stops"], calendar_id=1)
    admin.post("/api/v1/services", both).problem(422)


def test_fares_must_be_between_stops_of_the_service(app, admin, network):
    body = {
        **OVERNIGHT,
        "fares": [{"origin": "Beijing", "destination": "Xi'an", "fare_cents": 100}],
    }
    problem = admin.post("/api/v1/services", body).problem(422)
    assert problem["errors"] == [
        {
            "field": "fares[0].destination",
            "location": "body",
            "message": "Xi'an is not a stop of this service",
        }
    ]
    twice = {**OVERNIGHT, "fares": OVERNIGHT["fares"] * 2}
    assert (
        "second fare" in admin.post("/api/v1/services", twice).problem(422)["errors"][0]["message"]
    )
    same = {
        **OVERNIGHT,
        "fares": [{"origin": "Beijing", "destination": "Beijing", "fare_cents": 1}],
    }
    admin.post("/api/v1/services", same).problem(422)
    assert _count(app, Service) == 2


def test_duplicate_service_is_409(admin, network):
    problem = admin.post(
        "/api/v1/services", {"number": "T1", "mode": "train", "operator": "China Railway"}
    ).problem(409)
    assert "already exists" in problem["detail"]
    other_route = admin.post(
        "/api/v1/services",
        {"number": "T1", "mode": "train", "operator": "China Railway", "route": "south"},
    )
    assert other_route.status == 201
    clash = admin.patch(f"/api/v1/services/{other_route.json['id']}", {"route": ""})
    clash.problem(409)


def test_update_and_delete_service(app, admin, network):
    sid = network.services["MU5101"]
    changed = admin.patch(
        f"/api/v1/services/{sid}", {"number": "MU5102", "mode": "flight", "name": "Morning"}
    )
    assert changed.status == 200, changed.body
    assert changed.json["number"] == "MU5102" and changed.json["name"] == "Morning"
    assert changed.json["timetables"][0]["code"] == "1"
    admin.patch(f"/api/v1/services/{sid}", {"mode": None}).problem(422)
    admin.patch("/api/v1/services/4242", {"name": "x"}).problem(404)
    assert admin.delete(f"/api/v1/services/{sid}").status == 204
    admin.get(f"/api/v1/services/{sid}").problem(404)
    assert _count(app, Timetable) == 2  # its variant went with it
    assert _count(app, Calendar) == 3  # calendars stay for others


# --- timetable variants ----------------------------------------------------------------------


def test_timetable_variant_lifecycle(app, admin, network):
    sid = network.services["MU5101"]
    body = {
        "calendar_id": network.calendars["weekdays"],
        "headsign": "Xi'an",
        "stops": [
            {"city": "Beijing", "departure": "18:00"},
            {"city": network.cities["Xi'an"], "arrival": "20:05"},
        ],
    }
    created = admin.post(f"/api/v1/services/{sid}/timetables", body)
    assert created.status == 201, created.body
    variant = created.json
    assert variant["code"] == "2" and variant["calendar"]["name"] == "weekdays"
    assert created.headers["Location"] == variant["links"]["self"]
    admin.post(f"/api/v1/services/{sid}/timetables", {**body, "code": "1"}).problem(409)

    replaced = admin.put(
        variant["links"]["self"],
        {
            "calendar": {"weekdays": ["sun"], "start_date": "2026-03-01"},
            "stops": [
                {"city": "Beijing", "departure": "23:50"},
                {"city": "Xi'an", "arrival": "01:55+1", "fare_cents": 70000},
            ],
        },
    )
    assert replaced.status == 200, replaced.body
    assert replaced.json["code"] == "2"
    assert replaced.json["stops"][1]["arrival"] == "01:55+1"
    assert replaced.json["calendar"]["description"] == "Sundays from 1 Mar 2026"
    admin.put(variant["links"]["self"], {**body, "code": "1"}).problem(409)
    admin.put(f"/api/v1/services/{sid}/timetables/999", body).problem(404)

    assert admin.delete(variant["links"]["self"]).status == 204
    admin.get(variant["links"]["self"]).problem(404)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Stop).where(Stop.timetable_id == variant["id"])
            )
            == 0
        )


def test_removing_a_stop_that_fares_use_is_409(app, admin, network):
    sid, tid = network.services["T1"], network.timetables["day"]
    night = network.timetables["night"]
    # Shanghai is still reached by the night variant: fine.
    ok = admin.put(
        f"/api/v1/services/{sid}/timetables/{tid}",
        {
            "calendar_id": network.calendars["daily"],
            "stops": [
                {"city": "Beijing", "departure": "08:00"},
                {"city": "Nanjing", "arrival": "11:00"},
            ],
        },
    )
    assert ok.status == 200, ok.body
    problem = admin.delete(f"/api/v1/services/{sid}/timetables/{night}").problem(409)
    assert "Beijing-Shanghai" in problem["detail"]
    assert admin.get(f"/api/v1/services/{sid}/timetables/{night}").status == 200


# --- fares ----------------------------------------------------------------------------------


def test_fares(app, admin, network):
    sid = network.services["T1"]
    replaced = admin.put(
        f"/api/v1/services/{sid}/fares",
        {
            "fares": [
                {"origin": "Beijing", "destination": "Nanjing", "fare_cents": 20000},
                {
                    "origin": network.cities["Nanjing"],
                    "destination": "Shanghai",
                    "fare_cents": 8000,
                },
            ]
        },
    )
    assert replaced.status == 200, replaced.body
    assert [(f["origin"]["name"], f["destination"]["name"]) for f in replaced.json["fares"]] == [
        ("Beijing", "Nanjing"),
        ("Nanjing", "Shanghai"),
    ]
    added = admin.post(
        f"/api/v1/services/{sid}/fares",
        {"origin": "Beijing", "destination": "Shanghai", "fare_cents": 39900},
    )
    assert added.status == 201, added.body
    assert added.json["fare"] == 399.0
    admin.post(
        f"/api/v1/services/{sid}/fares",
        {"origin": "Beijing", "destination": "Shanghai", "fare_cents": 1},
    ).problem(409)
    admin.post(
        f"/api/v1/services/{sid}/fares",
        {"origin": "Beijing", "destination": "Shanghai", "fare_cents": -1},
    ).problem(422)
    admin.post(
        f"/api/v1/services/{sid}/fares",
        {"origin": "Shanghai", "destination": "Xi'an", "fare_cents": 1},
    ).problem(422)
    # Both variants run Beijing to Shanghai: a fare the other way could never be charged.
    assert "comes after Beijing on every variant" in admin.post(
        f"/api/v1/services/{sid}/fares",
        {"origin": "Shanghai", "destination": "Beijing", "fare_cents": 1},
    ).problem(422)["errors"][0]["message"]
    assert admin.delete(f"/api/v1/services/{sid}/fares/{added.json['id']}").status == 204
    admin.delete(f"/api/v1/services/{sid}/fares/{added.json['id']}").problem(404)
    admin.delete(
        f"/api/v1/services/{network.services['MU5101']}/fares/{replaced.json['fares'][0]['id']}"
    ).problem(404)
    assert len(admin.get(f"/api/v1/services/{sid}/fares").json["fares"]) == 2
    assert admin.put(f"/api/v1/services/{sid}/fares", {"fares": []}).json == {"fares": []}
    assert _count(app, ServiceFare) == 0


# --- calendars ------------------------------------------------------------------------------


def test_calendar_lifecycle(app, admin, network):
    created = admin.post(
        "/api/v1/calendars",
        {
            "name": "summer",
            "weekdays": ["sat", "sun"],
            "start_date": "2026-06-01",
            "end_date": "2026-08-31",
            "added": ["2026-06-03"],
        },
    )
    assert created.status == 201, created.body
    calendar = created.json
    assert (
        calendar["description"]
        # As the service page sums it up: from its first run (the added Wednesday) to its last.
        == "Saturdays and Sundays from 3 Jun 2026 to 30 Aug 2026; also on 3 Jun 2026"
    )
    changed = admin.patch(
        calendar["links"]["self"],
        {"end_date": "2026-09-30", "added": [], "removed": ["2026-07-04"]},
    )
    assert changed.status == 200, changed.body
    assert changed.json["added"] == [] and changed.json["removed"] == ["2026-07-04"]
    assert changed.json["start_date"] == "2026-06-01"
    problem = admin.patch(calendar["links"]["self"], {"end_date": "2026-01-01"}).problem(422)
    assert problem["errors"][0]["field"] == "end_date"
    problem = admin.patch(calendar["links"]["self"], {"added": ["2026-07-04"]}).problem(422)
    assert (
        problem["errors"][0]["field"] == "removed"
        and "2026-07-04" in problem["errors"][0]["message"]
    )
    admin.patch(calendar["links"]["self"], {"weekdays": ["someday"]}).problem(422)
    backwards = {"start_date": "2026-02-01", "end_date": "2026-01-01"}
    problem = admin.post("/api/v1/calendars", backwards).problem(422)
    assert problem["errors"][0]["field"] == "end_date"
    admin.post("/api/v1/calendars", {"start_date": "2026-02-30"}).problem(422)
    assert admin.delete(calendar["links"]["self"]).status == 204
    admin.delete(calendar["links"]["self"]).problem(404)


def test_a_calendar_name_is_at_most_200_characters_as_its_column(app, admin, network):
    # The schema once allowed 300: PostgreSQL then answered 500 (SQLite kept the whole name).
    unused = f"/api/v1/calendars/{network.calendars['unused']}"
    assert admin.post("/api/v1/calendars", {"name": "c" * 200}).status == 201
    day = [{"city": "Beijing", "departure": "08:00"},
           {"city": "Shanghai", "arrival": "13:00", "fare_cents": 100}]
    service = {"number": "C1", "mode": "train",
               "timetables": [{"calendar": {"name": "c" * 300}, "stops": day}]}
    variant = {"calendar": {"name": "c" * 201}, "stops": day}
    for reply, field in [
        (admin.post("/api/v1/calendars", {"name": "c" * 201}), "name"),
        (admin.patch(unused, {"name": "c" * 250}), "name"),
        (admin.post("/api/v1/services", service), "timetables[0].calendar.name"),
        (admin.post(f"/api/v1/services/{network.services['T1']}/timetables", variant),
         "calendar.name"),
    ]:
        errors = reply.problem(422)["errors"]
        assert [(e["field"], e["message"]) for e in errors] == [
            (field, "String should have at most 200 characters")], errors
    assert _count(app, Calendar) == 4
    with app.app_context():
        assert db.session.get(Calendar, network.calendars["unused"]).name == "unused"


def test_calendar_in_use_is_409(app, admin, network):
    problem = admin.delete(f"/api/v1/calendars/{network.calendars['daily']}").problem(409)
    assert "T1" in problem["detail"] and "MU5101" in problem["detail"]
    assert _count(app, Calendar) == 3


def test_data_version_moves_with_writes(app, admin, network):
    from transit.db import data_version

    with app.app_context():
        before = data_version(db.session)
    admin.patch(f"/api/v1/cities/{network.cities['Nanjing']}", {"latitude": 32.0})
    with app.app_context():
        assert data_version(db.session) > before


def test_bearer_writes_need_no_csrf_token(app, admin_token):
    """Page forms carry CSRF tokens; API writes, authenticated by bearer tokens only, do not."""
    from flask_wtf.csrf import CSRFProtect

    from transit import create_app
    from transit.web.extensions import db as database

    config = {**app.config, "WTF_CSRF_ENABLED": True}
    fresh = create_app(config)
    if "csrf" not in fresh.extensions:
        CSRFProtect(fresh)
    assert fresh.extensions["csrf"] is not None
    client = fresh.test_client()
    headers = {"Authorization": f"Bearer {admin_token}"}
    reply = client.post("/api/v1/cities", json={"name": "Wuhan"}, headers=headers)
    assert reply.status_code == 201, reply.data
    with fresh.app_context():
        database.engine.dispose()


# --- every problem at once, in words that fit, with strict numbers --------------------------


def test_every_problem_of_a_service_is_reported_at_once(app, admin, network):
    stops = [
        {"city": "Beijing", "departure": "10:00"},
        {"city": "Atlantis", "arrival": "09:00", "fare_cents": -5},
    ]
    problem = admin.post("/api/v1/services", _with_stops(stops)).problem(422)
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert "greater than or equal to 0" in fields["timetables[0].stops[1].fare_cents"]
    assert fields["timetables[0].stops[1].city"] == "no city with name 'Atlantis'"
    assert "before the previous departure" in fields["timetables[0].stops[1]"]
    assert _count(app, Service) == 2
    # Without the bad fare the model accepts it: the editing checks still report both others.
    stops[1]["fare_cents"] = 5
    problem = admin.post("/api/v1/services", _with_stops(stops)).problem(422)
    assert {e["field"] for e in problem["errors"]} == {
        "timetables[0].stops[1].city", "timetables[0].stops[1]"
    }
    assert "no city with name 'Atlantis'" in problem["detail"]
    assert "before the previous departure" in problem["detail"]


def test_problem_detail_says_what_is_wrong_not_unknown_cities(admin, network):
    bad_calendar = _with_stops(OVERNIGHT["timetables"][0]["stops"], calendar=None,
                               calendar_id=999999)
    problem = admin.post("/api/v1/services", bad_calendar).problem(422)
    assert "no calendar 999999" in problem["detail"] and "cities" not in problem["detail"]
    twice = {**OVERNIGHT, "fares": OVERNIGHT["fares"] * 2}
    problem = admin.post("/api/v1/services", twice).problem(422)
    assert "a second fare from Beijing to Shanghai" in problem["detail"]
    assert "cities" not in problem["detail"]
    variant = OVERNIGHT["timetables"][0]
    same_code = {**OVERNIGHT, "timetables": [variant, variant], "fares": []}
    problem = admin.post("/api/v1/services", same_code).problem(422)
    assert "already has a variant 'A'" in problem["detail"] and "cities" not in problem["detail"]
    assert problem["errors"][0]["field"] == "timetables[1].code"
    unknown = _with_stops([{"city": "Atlantis", "departure": "08:00"},
                           {"city": "Shanghai", "arrival": "09:00"}])
    problem = admin.post("/api/v1/services", unknown).problem(422)
    assert problem["detail"] == "Some cities are unknown: no city with name 'Atlantis'."


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/cities/{nanjing}", {"min_connection_seconds": True}, "min_connection_seconds"),
        ("/cities/{nanjing}", {"min_connection_seconds": "10"}, "min_connection_seconds"),
        ("/cities/{nanjing}", {"latitude": True}, "latitude"),
        ("/cities/{nanjing}", {"longitude": "114.3"}, "longitude"),
        ("/services/{t1}/fares", {"fares": [{"origin": "Beijing", "destination": "Shanghai",
                                             "fare_cents": "100"}]}, "fares[0].fare_cents"),
        ("/services/{t1}/fares", {"fares": [{"origin": "Beijing", "destination": "Shanghai",
                                             "fare_cents": False}]}, "fares[0].fare_cents"),
        ("/services/{t1}/timetables/{day}", {"calendar_id": True, "stops": [
            {"city": "Beijing", "departure": "08:00"},
            {"city": "Shanghai", "arrival": "13:00", "fare_cents": "1"}]},
         "stops[1].fare_cents"),
        ("/services/{t1}/timetables/{day}", {"calendar_id": "1", "stops": [
            {"city": "Beijing", "departure": "08:00"},
            {"city": "Shanghai", "arrival": "13:00"}]}, "calendar_id"),
    ],
)
def test_numbers_must_be_numbers_not_booleans_or_text(app, admin, network, path, body, field):
    url = "/api/v1" + path.format(nanjing=network.cities["Nanjing"], t1=network.services["T1"],
                                  day=network.timetables["day"])
    method = admin.patch if "cities" in path else admin.put
    problem = method(url, body).problem(422)
    assert field in [e["field"] for e in problem["errors"]], problem["errors"]
    with app.app_context():
        nanjing = db.session.get(City, network.cities["Nanjing"])
        assert nanjing.min_connection_seconds is None and nanjing.latitude == 32.1


def test_city_codes_are_unique_whatever_their_case(admin, network):
    problem = admin.post("/api/v1/cities", {"name": "QA dupcode2", "code": "bjp"}).problem(409)
    (error,) = problem["errors"]
    assert error["field"] == "code" and "Beijing" in error["message"] and "'BJP'" in error["message"]
    nanjing = f"/api/v1/cities/{network.cities['Nanjing']}"
    admin.patch(nanjing, {"code": "Shh"}).problem(409)
    recased = admin.patch(nanjing, {"code": "njh"})  # its own code in another case is fine
    assert recased.status == 200 and recased.json["code"] == "njh"


def test_the_days_given_with_a_variant_go_when_nothing_uses_them(app, admin, network):
    """A variant's days given inline are an unnamed calendar of its own: replaced or deleted,
    the variant no longer leaves it behind (they piled up: 42 in one QA session). A named
    calendar stays for the variants to come."""
    from transit.models import Calendar

    sid = network.services["MU5101"]
    stops = [{"city": "Beijing", "departure": "18:00"}, {"city": "Xi'an", "arrival": "20:05"}]
    before = _count(app, Calendar)
    variant = admin.post(f"/api/v1/services/{sid}/timetables",
                         {"calendar": {"weekdays": ["mon"]}, "stops": stops}).json
    assert _count(app, Calendar) == before + 1
    replaced = admin.put(variant["links"]["self"], {"calendar": {"weekdays": ["tue"]}, "stops": stops})
    assert replaced.status == 200 and _count(app, Calendar) == before + 1  # Mondays went
    assert admin.put(variant["links"]["self"], {"calendar_id": network.calendars["weekdays"],
                                                "stops": stops}).status == 200
    assert _count(app, Calendar) == before  # Tuesdays went
    assert admin.delete(variant["links"]["self"]).status == 204
    assert _count(app, Calendar) == before  # "weekdays" is named: it stays, unused or not
    service = admin.post("/api/v1/services", {"number": "K7", "mode": "train", "timetables": [
        {"calendar": {"weekdays": ["sat"]}, "stops": stops}]}).json
    assert _count(app, Calendar) == before + 1
    assert admin.delete(f"/api/v1/services/{service['id']}").status == 204
    assert _count(app, Calendar) == before


def test_stops_and_fares_name_cities_as_travellers_type_them(app, admin, network):
    # Only the exact name or the id was taken ("no city with name 'beijing'"), where the
    # route search and the service filter take codes, any case and other names.
    assert admin.post("/api/v1/cities", {"name": "广州", "code": "CAN",
                                         "aliases": ["Canton"]}).status == 201
    body = {"number": "K7", "mode": "train", "timetables": [{"calendar_id": network.calendars["daily"], "stops": [
        {"city": "beijing", "departure": "08:00"},
        {"city": "njh", "arrival": "10:00", "departure": "10:05"},
        {"city": "canton", "arrival": "20:00"}]}],
        "fares": [{"origin": "BJP", "destination": "Guangzhou", "fare_cents": 100}]}
    created = admin.post("/api/v1/services", body)
    assert created.status == 201, created.body
    stops = created.json["timetables"][0]["stops"]
    assert [s["city"]["name"] for s in stops] == ["Beijing", "Nanjing", "广州"]
    assert created.json["fares"][0]["destination"]["name"] == "广州"
    # A name no city has, or a pinyin two cities share, still names none, and says why.
    assert admin.post("/api/v1/cities", {"name": "宿州"}).status == 201
    assert admin.post("/api/v1/cities", {"name": "苏州"}).status == 201
    body["timetables"][0]["stops"][2]["city"] = "Suzhou"
    body["fares"] = []
    problem = admin.post("/api/v1/services", {**body, "number": "K8"}).problem(422)
    assert problem["errors"][0]["field"] == "timetables[0].stops[2].city"
    assert "'Suzhou' names several cities: 宿州, 苏州" in problem["errors"][0]["message"]


def test_a_time_zone_in_another_case_is_stored_as_the_zone_database_spells_it(admin):
    # "asia/tokyo" was refused as "not an IANA time zone" for its case alone.
    created = admin.post("/api/v1/cities", {"name": "Osaka", "timezone": "asia/tokyo"})
    assert created.status == 201, created.body
    assert created.json["timezone"] == "Asia/Tokyo"
    assert admin.post("/api/v1/cities", {"name": "Nowhere", "timezone": "asia/nowhere"}
                      ).problem(422)["errors"][0]["field"] == "timezone"
