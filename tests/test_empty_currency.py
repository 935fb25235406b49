"""A service without fares may keep an empty currency ("no fare information"), as a GTFS feed
without fares is imported (the New York subway); a service with prices needs its currency.
The admin service form and the JSON API give the same answers. Real SQLite file, real
import of the shared feed, the real admin form and the API over HTTP."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.admin_helpers import post
from tests.api.conftest import Api, admin_token, api  # noqa: F401  (fixtures)
from transit.models import Service, ServiceFare, Stop, Timetable
from transit.timetable.gtfs import parse_gtfs
from transit.timetable.loader import load_feed
from transit.web.extensions import db

NYC = "gtfs/nyc_subway_gtfs_2024-12.zip"
_VERSION = re.compile(r'name="version" value="([^"]+)"')


@pytest.fixture
def subway(app, shared_data: Path) -> dict[str, Any]:
    """The New York subway feed imported (no fares.txt: every service's currency is empty);
    the first of its services."""
    with app.app_context():
        load_feed(db.session(), parse_gtfs(shared_data / NYC))
        db.session.commit()
        service = db.session.scalars(select(Service).where(Service.currency == "").order_by(Service.id).limit(1)).one()
        priced = db.session.scalar(
            select(func.count()).select_from(Stop).join(Timetable)
            .where(Timetable.service_id == service.id, Stop.fare_cents.is_not(None))
        )
        od = db.session.scalar(
            select(func.count()).select_from(ServiceFare).where(ServiceFare.service_id == service.id)
        )
        assert service.currency == "" and priced == 0 and od == 0
        return {"id": service.id, "number": service.number, "operator": service.operator,
                "route": service.route, "mode": service.mode, "name": service.name or ""}


def _stored(app, service_id: int) -> Service:
    with app.app_context():
        service = db.session.get(Service, service_id)
        assert service is not None
        db.session.expunge(service)
        return service


def _form(service: dict[str, Any], **changes: Any) -> dict[str, Any]:
    form = {"number": service["number"], "mode": service["mode"],
            "operator": service["operator"], "route": service["route"],
            "name": service["name"], "currency": "", "fare_origin": [],
            "fare_destination": [], "fare_amount": []}
    form.update(changes)
    return form


def _opened(client, url: str) -> str:
    match = _VERSION.search(client.get(url).get_data(as_text=True))
    assert match, f"no version in the form of {url}"
    return match.group(1)


# --- the admin service form --------------------------------------------------------------------


def test_the_form_saves_a_fare_free_service_unchanged_and_renamed(app, client, admin, subway):
    url = f"/admin/services/{subway['id']}"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'name="currency"[^>]*value=""', page)  # shown as stored: empty
    reply = post(client, url, _form(subway, version=_opened(client, url)))
    assert reply.status_code == 302, reply.get_data(as_text=True)[-3000:]
    reply = post(client, url, _form(subway, name="Lexington local", version=_opened(client, url)))
    assert reply.status_code == 302, reply.get_data(as_text=True)[-3000:]
    stored = _stored(app, subway["id"])
    assert (stored.name, stored.currency) == ("Lexington local", "")


def test_the_form_refuses_fares_on_a_service_without_currency(app, client, admin, subway):
    url = f"/admin/services/{subway['id']}"
    with app.app_context():
        timetable = db.session.scalars(
            select(Timetable).where(Timetable.service_id == subway["id"])).first()
        assert timetable is not None
        first, last = timetable.stops[0].city.name, timetable.stops[-1].city.name
    reply = post(client, url, _form(subway, fare_origin=[first], fare_destination=[last],
                                    fare_amount=["2.90"], version=_opened(client, url)))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "Currency: required when the service has fares" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceFare)) == 0
    # With its currency it saves.
    reply = post(client, url, _form(subway, currency="usd", fare_origin=[first],
                                    fare_destination=[last], fare_amount=["2.90"],
                                    version=_opened(client, url)))
    assert reply.status_code == 302
    assert _stored(app, subway["id"]).currency == "USD"


def test_the_form_refuses_an_empty_currency_on_a_service_with_leg_fares(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    form = {"number": "G1", "mode": "train", "operator": "CR", "route": "", "name": "",
            "currency": "", "fare_origin": [], "fare_destination": [], "fare_amount": []}
    reply = post(client, url, {**form, "version": _opened(client, url)})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "Currency: required when the service has fares" in html
    assert _stored(app, admin["g1"]).currency == "CNY"
    # A code that is not one is still refused for what it is.
    reply = post(client, url, {**form, "currency": "XYZ", "version": _opened(client, url)})
    assert reply.status_code == 422
    assert "is not an ISO 4217 currency code" in reply.get_data(as_text=True)


def test_a_new_service_still_defaults_to_cny(app, client, admin):
    page = client.get("/admin/services/new").get_data(as_text=True)
    assert re.search(r'name="currency"[^>]*value="CNY"', page)


def test_a_new_service_form_without_fares_may_leave_the_currency_empty(app, client, admin):
    form = {"number": "S1", "mode": "train", "operator": "Shuttle", "route": "", "name": "",
            "currency": "", "code": "", "headsign": "",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start_date": "", "end_date": "", "added": "", "removed": "",
            "stop_city": ["Beijing", "Jinan"], "stop_arrival": ["", "09:30"],
            "stop_arrival_day": ["0", "0"], "stop_departure": ["08:00", ""],
            "stop_departure_day": ["0", "0"], "stop_fare": ["", ""],
            "stop_boarding": ["1", "1"], "stop_alighting": ["1", "1"],
            "fare_origin": [], "fare_destination": [], "fare_amount": []}
    reply = post(client, "/admin/services/new", form)
    assert reply.status_code == 302, reply.get_data(as_text=True)[-3000:]
    # The same with a leg fare: refused at the currency.
    reply = post(client, "/admin/services/new",
                 {**form, "number": "S2", "stop_fare": ["", "12"]})
    assert reply.status_code == 422
    assert "Currency: required when the service has fares" in reply.get_data(as_text=True)
    with app.app_context():
        numbers = set(db.session.scalars(select(Service.number)))
    assert "S1" in numbers and "S2" not in numbers


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def api_admin(api: Api, admin_token: str) -> Api:  # noqa: F811
    api.token = admin_token
    return api


def test_the_api_patch_keeps_a_fare_free_service_without_currency(app, api_admin, subway):
    path = f"/api/v1/services/{subway['id']}"
    body = {key: subway[key] for key in ("number", "mode", "operator", "route")}
    reply = api_admin.patch(path, {**body, "currency": ""})
    assert reply.status == 200, reply.body[:1000]
    assert reply.json["currency"] == ""
    reply = api_admin.patch(path, {"name": "Lexington local", "currency": ""})
    assert reply.status == 200, reply.body[:1000]
    stored = _stored(app, subway["id"])
    assert (stored.name, stored.currency) == ("Lexington local", "")
    # What a client reads it may send back: the service as the API shows it.
    shown = api_admin.get(path).json
    reply = api_admin.patch(path, {key: shown[key] for key in
                                   ("number", "mode", "operator", "route", "name", "currency")})
    assert reply.status == 200, reply.body[:1000]


def test_the_api_refuses_an_empty_currency_on_a_service_with_fares(app, api_admin, subway):
    with app.app_context():
        db.session.add(_priced_service())
        db.session.commit()
        priced = db.session.scalar(select(Service.id).where(Service.number == "P1"))
    reply = api_admin.patch(f"/api/v1/services/{priced}", {"currency": ""})
    problem = reply.problem(422)
    assert {"field": "currency", "message": "required when the service has fares",
            "location": "body"} in problem["errors"], problem
    assert _stored(app, priced).currency == "EUR"
    # A new service: with a leg fare it needs a currency, without it may do without.
    stops = [{"city": "Beijing", "departure": "08:00"},
             {"city": "Jinan", "arrival": "09:30", "fare_cents": 1200}]
    new = {"number": "S9", "mode": "train", "currency": "",
           "timetables": [{"calendar": {}, "stops": stops}]}
    problem = api_admin.post("/api/v1/services", new).problem(422)
    assert [e["field"] for e in problem["errors"]] == ["currency"], problem
    assert problem["errors"][0]["message"] == "required when the service has fares"
    stops[1].pop("fare_cents")
    reply = api_admin.post("/api/v1/services", new)
    assert reply.status == 201, reply.body[:1000]
    assert reply.json["currency"] == ""


def _priced_service() -> Service:
    from transit.models import Calendar, City

    beijing = db.session.scalar(select(City).where(City.name == "Beijing"))
    jinan = db.session.scalar(select(City).where(City.name == "Jinan"))
    if beijing is None:
        beijing, jinan = City(name="Beijing"), City(name="Jinan")
    service = Service(number="P1", mode="train", operator="X", currency="EUR")
    timetable = Timetable(code="1", calendar=Calendar(), service=service)
    timetable.stops = [Stop(sequence=0, city=beijing, departure=8 * 3600),
                       Stop(sequence=1, city=jinan, arrival=9 * 3600)]
    service.fares = [ServiceFare(origin=beijing, destination=jinan, fare_cents=500)]
    return service


# --- fares given to a service without currency ---------------------------------------------------


def _two_stops(app, service_id: int) -> tuple[str, str]:
    with app.app_context():
        timetable = db.session.scalars(
            select(Timetable).where(Timetable.service_id == service_id)).first()
        assert timetable is not None
        return timetable.stops[0].city.name, timetable.stops[1].city.name


def test_the_variant_form_asks_for_the_currency_before_leg_fares(app, client, admin, subway):
    first, second = _two_stops(app, subway["id"])
    url = f"/admin/services/{subway['id']}/variants/new"
    form = {"code": "X1", "headsign": "", "weekdays": ["mon"], "start_date": "", "end_date": "",
            "added": "", "removed": "", "stop_city": [first, second],
            "stop_arrival": ["", "09:30"], "stop_arrival_day": ["0", "0"],
            "stop_departure": ["09:00", ""], "stop_departure_day": ["0", "0"],
            "stop_fare": ["", "2.90"], "stop_boarding": ["1", "1"],
            "stop_alighting": ["1", "1"]}
    reply = post(client, url, form)
    assert reply.status_code == 422
    assert ("Stops, row 2, fare: the service has no currency: set its currency before giving "
            "it fares") in reply.get_data(as_text=True)
    with app.app_context():
        codes = set(db.session.scalars(
            select(Timetable.code).where(Timetable.service_id == subway["id"])))
    assert "X1" not in codes
    # Without a fare the variant is added, the service still without currency.
    assert post(client, url, {**form, "stop_fare": ["", ""]}).status_code == 302
    assert _stored(app, subway["id"]).currency == ""


def test_the_api_asks_for_the_currency_before_fares(app, api_admin, subway):
    first, second = _two_stops(app, subway["id"])
    base = f"/api/v1/services/{subway['id']}"
    problem = api_admin.post(f"{base}/fares", {"origin": first, "destination": second,
                                               "fare_cents": 290}).problem(422)
    assert problem["errors"] == [{
        "field": "fare_cents", "location": "body",
        "message": "the service has no currency: set its currency before giving it fares"}]
    problem = api_admin.put(f"{base}/fares", {"fares": [
        {"origin": first, "destination": second, "fare_cents": 290}]}).problem(422)
    assert [e["field"] for e in problem["errors"]] == ["fares[0].fare_cents"]
    assert api_admin.put(f"{base}/fares", {"fares": []}).status == 200
    stops = [{"city": first, "departure": "09:00"},
             {"city": second, "arrival": "09:30", "fare_cents": 290}]
    variant = {"code": "X1", "calendar": {"weekdays": ["mon"]}, "stops": stops}
    problem = api_admin.post(f"{base}/timetables", variant).problem(422)
    assert [e["field"] for e in problem["errors"]] == ["stops[1].fare_cents"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceFare)) == 0
        assert db.session.scalar(
            select(func.count()).select_from(Stop).where(Stop.fare_cents.is_not(None))) == 0
    # Once the service has its currency, the same fares are taken.
    assert api_admin.patch(base, {"currency": "USD"}).status == 200
    assert api_admin.post(f"{base}/timetables", variant).status == 201
    assert api_admin.post(f"{base}/fares", {"origin": first, "destination": second,
                                            "fare_cents": 290}).status == 201
    # And it can no longer drop its currency.
    assert api_admin.patch(base, {"currency": ""}).problem(422)["errors"][0]["field"] == "currency"
