"""A journey whose rides are priced in different currencies (a train in yuan, a flight in
dollars) has no single fare: amounts in different currencies do not add up. The command line
and the route page give the amount in each currency, the API no currency for the journey (its
legs keep theirs), and no card is called the cheapest or dearer than another where the fares
cannot be compared. Real SQLite file, the pages through the Flask client."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.test_pages import MONDAY, build_network, page
from transit.commands.route import format_result
from transit.models import City, Service, Stop, Timetable
from transit.routing import Query, Snapshot, plan
from transit.web.extensions import db

H = 3600


@pytest.fixture
def network(app) -> dict[str, int]:
    """test_pages' network, its flights priced in dollars, and a dollar flight from Nanjing
    that lands in Shanghai at 02:50, before the night train (03:00)."""
    with app.app_context():
        ids = build_network(db.session)
        session = db.session
        with session.no_autoflush:
            session.get(Service, ids["flight"]).currency = "USD"
            calendar = session.get(Timetable, ids["night"]).calendar
            nanjing, shanghai = session.get(City, ids["nanjing"]), session.get(City, ids["shanghai"])
            hop = Service(number="HO1000", mode="flight", operator="Juneyao", currency="USD")
            run = Timetable(code="1", calendar=calendar, service=hop)
            run.stops = [
                Stop(sequence=0, city=nanjing, departure=26 * H),
                Stop(sequence=1, city=shanghai, arrival=26 * H + 50 * 60, fare_cents=5000),
            ]
            session.add(hop)
        session.commit()
        return ids


def _options(app) -> list:
    with app.app_context():
        snapshot = Snapshot.from_session(db.session(), 15)
    query = Query("北京", "上海", depart=dt.datetime.combine(MONDAY, dt.time(6)), criterion="options")
    return plan(snapshot, query).itineraries


def test_the_engine_and_the_command_line_give_each_currency_its_amount(app, network):
    flight, mixed, train = _options(app)
    assert [leg.service for leg in mixed.legs] == ["Z9", "HO1000"]
    assert mixed.fare_parts == (("CNY", 30000), ("USD", 5000))
    assert mixed.currency is None and mixed.to_json()["currency"] is None
    assert [leg["currency"] for leg in mixed.to_json()["legs"]] == ["CNY", "USD"]
    assert flight.fare_parts == (("USD", 120000),) and flight.currency == "USD"
    assert train.fare_parts == (("CNY", 35000),)
    from transit.routing.itinerary import RouteResult

    text = format_result(RouteResult([flight, mixed, train]), "title")
    assert "not converted" not in text
    assert format_result(RouteResult([flight, mixed, train]), "title", True).endswith(
        "Fares in different currencies are not converted: when journeys are compared by price, "
        "their amounts are added as they are.")
    assert "1 transfer, fare 300.00 CNY + 50.00 USD)" in text
    assert "0 transfers, fare 1200.00 USD)" in text and "0 transfers, fare 350.00 CNY)" in text


def test_the_route_page_gives_each_currency_its_amount_and_compares_no_fares(client, network):
    url = "/routes?from=北京&to=上海&date=2025-03-03&time=06:00&criterion=options&lang=en"
    html = page(client, url)
    totals = re.findall(r'class="total-fare">([^<]*)<', html)
    assert totals == ["US$1,200.00", "¥300.00 + US$50.00", "¥350.00"]
    # A yuan fare and a dollar fare do not compare: no cheapest, nothing dearer.
    assert "badge-cheapest" not in html and "more than the cheapest" not in html
    assert 'data-up="transfers"' in html  # the chart's height is transfers, not fare
    assert "Journey 2: leaves 22:00, arrives 02:50 +1 day, ¥300.00 + US$50.00, 1 transfer · Several modes" in (
        re.findall(r"<title>([^<]*)</title>", html))  # its dot in the chart
    # Ordered by fare, each currency's cards together; nothing fails.
    assert page(client, url + "&sort=fare").count('class="total-fare"') == 3
    chinese = page(client, url.replace("lang=en", "lang=zh"))
    assert "¥300.00 + US$50.00" in chinese
    # Compared by price, the amounts were added unconverted: the page says so.
    note = "Fares in different currencies are not converted"
    assert note in html and "各金额直接相加" in chinese
    assert note not in page(client, url.replace("options", "fastest"))


def test_the_api_leaves_the_journey_without_a_currency(client, network):
    response = client.get("/api/v1/routes?from=北京&to=上海&depart=2025-03-03T06:00&criterion=options")
    assert response.status_code == 200
    journeys = response.get_json()["itineraries"]
    assert [j["currency"] for j in journeys] == ["USD", None, "CNY"]
    assert [leg["currency"] for leg in journeys[1]["legs"]] == ["CNY", "USD"]
