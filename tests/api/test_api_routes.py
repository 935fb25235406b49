"""GET /api/v1/routes over HTTP: the engine's answer, its errors, and caching."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from transit.routing import Query, Snapshot, plan
from transit.web.extensions import db

MONDAY_MORNING = "2026-03-02T07:30:00"


def _routes(api, **params):
    return api.get("/api/v1/routes?" + urlencode(params))


def _engine_answer(app, **query):
    with app.app_context():
        snapshot = Snapshot.from_session(db.session, app.config["TRANSIT_MIN_CONNECTION_MINUTES"])
        # What the API adds beside the engine's answer: forecasts (none stored here).
        from transit.forecast.itinerary import result_json

        return result_json(
            db.session, plan(snapshot, Query(**query)), snapshot, query.get("min_connection_minutes")
        )


def _cli_answer(runner, *args):
    result = runner.invoke(args=["route", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("criterion", ["fastest", "cheapest", "transfers", "options"])
def test_route_is_what_flask_route_json_prints(api, runner, network, criterion):
    reply = _routes(
        api,
        **{"from": "Beijing", "to": "Shanghai", "depart": MONDAY_MORNING, "criterion": criterion},
    )
    assert reply.status == 200, reply.body
    assert reply.content_type == "application/json"
    body = reply.json
    cli = _cli_answer(
        runner, "Beijing", "Shanghai", "--depart", MONDAY_MORNING, "--criterion", criterion
    )
    assert body == cli
    assert set(body) == {"itineraries", "message"}
    first = body["itineraries"][0]
    assert set(first) == {"departure", "arrival", "duration_minutes", "fare", "currency",
                          "transfers", "legs", "connections"}
    assert len(first["connections"]) == first["transfers"]
    leg = first["legs"][0]
    assert set(leg) == {"service", "mode", "from", "to", "departure", "arrival", "fare",
                        "currency", "route", "forecast_arrival", "forecast_range"}
    # Each fare says its currency, the journey's too where its rides share one.
    assert {leg["currency"] for leg in first["legs"]} == {first["currency"]} != {None}
    assert leg["forecast_arrival"] is None  # no forecast stored: the timetable only
    assert leg["from"] == "Beijing" and leg["service"] == "T1"
    assert first["departure"].startswith("2026-03-02T08:00:00+08:00")


def test_route_parameters_reach_the_engine(app, api, runner, network):
    import datetime as dt

    params = {
        "from": "Beijing",
        "to": "Shanghai",
        "arrive_by": "2026-03-03T08:00:00+08:00",
        "modes": "train",
        "min_connection": "20",
        "window_hours": "24",
        "max_transfers": "0",
    }
    reply = _routes(api, **params)
    assert reply.status == 200, reply.body
    expected = _engine_answer(
        app,
        origin="Beijing",
        destination="Shanghai",
        arrive_by=dt.datetime.fromisoformat(params["arrive_by"]),
        modes=frozenset({"train"}),
        min_connection_minutes=20,
        window_hours=24,
        max_transfers=0,
    )
    assert reply.json == expected
    cli = _cli_answer(
        runner,
        "Beijing",
        "Shanghai",
        "--arrive-by",
        params["arrive_by"],
        "--modes",
        "train",
        "--min-connection",
        "20",
        "--window-hours",
        "24",
        "--max-transfers",
        "0",
    )
    assert reply.json == cli
    flights_only = _routes(
        api, **{"from": "Beijing", "to": "Shanghai", "depart": MONDAY_MORNING, "modes": "flight"}
    )
    assert flights_only.status == 200
    assert flights_only.json["itineraries"] == [] and flights_only.json["message"]


def test_route_without_time_leaves_now(api, network):
    reply = _routes(api, **{"from": "Beijing", "to": "Xi'an"})
    assert reply.status == 200, reply.body
    assert reply.json["itineraries"][0]["legs"][0]["service"] == "MU5101"
    assert "ETag" in reply.headers and "Last-Modified" not in reply.headers


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "Shanghai"}, "from"),
        ({"from": "Beijing"}, "to"),
        ({"from": "Beijing", "to": "Shanghai", "depart": "tomorrow"}, "depart"),
        ({"from": "Beijing", "to": "Shanghai", "depart": "2026-02-30T10:00"}, "depart"),
        ({"from": "Beijing", "to": "Shanghai", "arrive_by": "25:00"}, "arrive_by"),
        # Years without a UTC equivalent were a 500.
        ({"from": "Beijing", "to": "Shanghai", "depart": "0001-01-01T00:00"}, "depart"),
        ({"from": "Beijing", "to": "Shanghai", "arrive_by": "9999-12-31T23:00"}, "arrive_by"),
        ({"from": "Beijing", "to": "Shanghai", "criterion": "best"}, "criterion"),
        ({"from": "Beijing", "to": "Shanghai", "modes": "boat"}, "modes"),
        ({"from": "Beijing", "to": "Shanghai", "modes": ","}, "modes"),
        ({"from": "Beijing", "to": "Shanghai", "min_connection": "-1"}, "min_connection"),
        ({"from": "Beijing", "to": "Shanghai", "min_connection": "soon"}, "min_connection"),
        ({"from": "Beijing", "to": "Shanghai", "window_hours": "0"}, "window_hours"),
        ({"from": "Beijing", "to": "Shanghai", "window_hours": "nan"}, "window_hours"),
        ({"from": "Beijing", "to": "Shanghai", "max_transfers": "-1"}, "max_transfers"),
        ({"from": "Beijing", "to": "Shanghai", "via": "Nanjing"}, "via"),
    ],
)
def test_bad_route_parameters_are_400(api, network, params, field):
    problem = _routes(api, **params).problem(400)
    assert field in [e["field"] for e in problem["errors"]], problem["errors"]


@pytest.mark.parametrize("to", ["beijing", "BJP", "bjp", "Beijing"])
def test_same_city_is_422_on_to_however_it_is_spelled(api, network, to):
    # QA: Beijing to beijing was a 400 on "(request)", Beijing to its code a 422 on "to".
    problem = _routes(api, **{"from": "Beijing", "to": to}).problem(422)
    assert problem["errors"] == [
        {"field": "to", "location": "query", "message": "the origin and the destination are the same city"}
    ]


@pytest.mark.parametrize("when", ["2026-12-01T24:30", "tomorrow", "2026-02-30T10:00"])
def test_a_bad_time_is_told_what_a_time_looks_like(api, network, when):
    problem = _routes(api, **{"from": "Beijing", "to": "Shanghai", "depart": when}).problem(400)
    assert problem["errors"] == [{
        "field": "depart", "location": "query",
        "message": f"{when!r} is not a date and time: use YYYY-MM-DDTHH:MM, with hours 00 to "
                   "23, seconds and a UTC offset if you like (2026-03-02T07:30, "
                   "2026-03-02T07:30:00+08:00)",
    }]


def test_both_times_are_400(api, network):
    both = {
        "from": "Beijing",
        "to": "Shanghai",
        "depart": MONDAY_MORNING,
        "arrive_by": MONDAY_MORNING,
    }
    assert "not both" in _routes(api, **both).problem(400)["errors"][0]["message"]


def test_unknown_city_is_422_naming_the_parameter(api, network):
    problem = _routes(api, **{"from": "Atlantis", "to": "Shanghai"}).problem(422)
    assert problem["errors"] == [
        {"field": "from", "location": "query", "message": "no city called 'Atlantis'"}
    ]
    problem = _routes(api, **{"from": "Beijing", "to": "El Dorado"}).problem(422)
    assert problem["errors"][0]["field"] == "to"
    # A slip of the keyboard gets the city it most likely meant.
    problem = _routes(api, **{"from": "Beijign", "to": "Shanghai"}).problem(422)
    assert problem["detail"] == "There is no city called 'Beijign'. Did you mean 'Beijing'?"
    assert problem["errors"] == [{
        "field": "from", "location": "query",
        "message": "no city called 'Beijign'. Did you mean 'Beijing'?",
    }]


def test_route_caching_follows_the_timetable(api, network, admin_token):
    params = {"from": "Beijing", "to": "Shanghai", "depart": MONDAY_MORNING}
    first = _routes(api, **params)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    path = "/api/v1/routes?" + urlencode(params)
    assert api.get(path, headers={"If-None-Match": etag}).status == 304
    assert api.get(path, headers={"If-Modified-Since": modified}).status == 304
    # A faster train added through the API is used by the very next query.
    sleeper = {
        "number": "G7",
        "mode": "train",
        "timetables": [
            {
                "calendar": {},
                "stops": [
                    {"city": "Beijing", "departure": "08:10"},
                    {"city": "Shanghai", "arrival": "12:40", "fare_cents": 60000},
                ],
            }
        ],
    }
    assert api.post("/api/v1/services", sleeper, token=admin_token).status == 201
    fresh = api.get(path, headers={"If-None-Match": etag})
    assert fresh.status == 200 and fresh.headers["ETag"] != etag
    assert fresh.json["itineraries"][0]["legs"][0]["service"] == "G7"
