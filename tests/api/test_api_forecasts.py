"""GET /api/v1/forecasts over HTTP, and the forecast fields of GET /api/v1/routes."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from transit.forecast.predict import ServiceForecast
from transit.forecast.store import store_forecasts
from transit.web.extensions import db

MONDAY = dt.date(2026, 3, 2)


def _run(network, day: dt.date, delays=(2.0, 10.0, 30.0), travel=(295.0, 305.0, 330.0)):
    """A forecast of T1's day variant (08:00 Beijing -> 13:00 Shanghai, UTC+8) on ``day``."""
    departure = dt.datetime.combine(day, dt.time(0, 0))  # 08:00 in Beijing, naive UTC
    arrival = departure + dt.timedelta(hours=5)
    return ServiceForecast(
        operator="China Railway", number="T1", route="", origin="BJP", destination="SHH",
        service_date=day, scheduled_departure=departure, scheduled_arrival=arrival,
        travel_minutes=travel[1], travel_minutes_low=travel[0], travel_minutes_high=travel[2],
        arrival=arrival + dt.timedelta(minutes=delays[1]),
        arrival_low=arrival + dt.timedelta(minutes=delays[0]),
        arrival_high=arrival + dt.timedelta(minutes=delays[2]),
        arrival_delay_minutes=delays[1], history_trips=14,
        arrival_delay_low=delays[0], arrival_delay_high=delays[2],
        service_id=network.services["T1"], origin_id=network.cities["Beijing"],
        destination_id=network.cities["Shanghai"],
    )


def _store(app, forecasts, model="test model"):
    with app.app_context():
        count = store_forecasts(db.session(), forecasts, model)
        db.session.commit()
    return count


def _get(api, **params):
    return api.get("/api/v1/forecasts?" + urlencode(params))


def test_forecasts_list_filters_and_pages(app, api, network):
    days = [MONDAY + dt.timedelta(days=n) for n in range(5)]
    assert _store(app, [_run(network, d) for d in days]) == 5
    everything = _get(api)
    assert everything.status == 200, everything.body
    body = everything.json
    assert body["total"] == 5 and [i["service_date"] for i in body["items"]] == [
        d.isoformat() for d in days
    ]
    first = body["items"][0]
    assert first["service"]["id"] == network.services["T1"]
    assert first["origin"] == {"id": network.cities["Beijing"], "name": "Beijing"}
    assert first["destination"]["name"] == "Shanghai"
    assert first["scheduled_departure"] == "2026-03-02T00:00:00+00:00"
    assert first["forecast_arrival"] == "2026-03-02T05:10:00+00:00"
    assert first["forecast_arrival_range"] == [
        "2026-03-02T05:02:00+00:00",
        "2026-03-02T05:30:00+00:00",
    ]
    assert first["travel_minutes"] == {"p10": 295.0, "p50": 305.0, "p90": 330.0}
    assert first["arrival_delay_minutes"] == {"p10": 2.0, "p50": 10.0, "p90": 30.0}
    assert first["model"] == "test model"

    assert _get(api, date="2026-03-03").json["total"] == 1
    window = _get(api, **{"from": "2026-03-03", "to": "2026-03-05"}).json
    assert [i["service_date"] for i in window["items"]] == [
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
    ]
    assert _get(api, service=network.services["T1"]).json["total"] == 5
    assert _get(api, service=network.services["MU5101"]).json["total"] == 0
    for city in ("Shanghai", "SHH", str(network.cities["Shanghai"])):
        assert _get(api, city=city).json["total"] == 5
    assert _get(api, city="Xi'an").json["total"] == 0

    page = _get(api, limit=2, offset=2)
    assert [i["service_date"] for i in page.json["items"]] == ["2026-03-04", "2026-03-05"]
    assert page.json["links"]["next"] and page.json["links"]["prev"]
    assert 'rel="next"' in page.headers["Link"]


def test_forecasts_are_replaced_not_duplicated(app, api, network):
    _store(app, [_run(network, MONDAY)])
    _store(app, [_run(network, MONDAY, delays=(0.0, 1.0, 4.0))], model="newer")
    body = _get(api).json
    assert body["total"] == 1
    assert body["items"][0]["arrival_delay_minutes"] == {"p10": 0.0, "p50": 1.0, "p90": 4.0}
    assert body["items"][0]["model"] == "newer"


def test_forecasts_etag_follows_the_stored_forecasts(app, api, network):
    _store(app, [_run(network, MONDAY)])
    first = _get(api)
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    again = api.get("/api/v1/forecasts?", headers={"If-None-Match": etag})
    assert again.status == 304
    _store(app, [_run(network, MONDAY + dt.timedelta(days=1))])
    fresh = api.get("/api/v1/forecasts?", headers={"If-None-Match": etag})
    assert fresh.status == 200 and fresh.headers["ETag"] != etag
    assert fresh.json["total"] == 2


def test_forecasts_bad_input_answers_problems(api, network):
    for params, field in (
        ({"date": "2026-02-30"}, "date"),
        ({"from": "yesterday"}, "from"),
        ({"service": "T1"}, "service"),
        ({"service": "0"}, "service"),
        ({"limit": "0"}, "limit"),
        ({"colour": "red"}, "colour"),
    ):
        problem = _get(api, **params).problem(400)
        assert any(e["field"] == field for e in problem["errors"]), (params, problem)
    problem = _get(api, **{"from": "2026-03-05", "to": "2026-03-01"}).problem(400)
    assert "from is after to" in problem["errors"][0]["message"]
    problem = _get(api, city="Atlantis").problem(422)
    assert problem["errors"][0]["field"] == "city"


def test_route_legs_carry_the_stored_forecast(app, api, network):
    params = {"from": "Beijing", "to": "Shanghai", "depart": "2026-03-02T07:30:00"}
    before = api.get("/api/v1/routes?" + urlencode(params))
    leg = before.json["itineraries"][0]["legs"][0]
    assert leg["service"] == "T1" and leg["forecast_arrival"] is None
    assert leg["forecast_range"] is None
    _store(app, [_run(network, MONDAY)])
    after = api.get(
        "/api/v1/routes?" + urlencode(params), headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status == 200  # a stored forecast changes the answer, so its ETag
    leg = after.json["itineraries"][0]["legs"][0]
    # Everything the timetable said is unchanged; the forecast is added beside it.
    assert leg["arrival"] == "2026-03-02T13:00:00+08:00"
    assert leg["forecast_arrival"] == "2026-03-02T13:10:00+08:00"
    assert leg["forecast_range"] == ["2026-03-02T13:02:00+08:00", "2026-03-02T13:30:00+08:00"]
