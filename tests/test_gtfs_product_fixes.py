"""What riders read on the real GTFS feeds (QA findings on Caltrain, NYC subway, Seattle):
unknown fares, "now" on the origin's clock, unconnected stations, the line, station names
two stations share, dates outside a timetable, and the board's "left the day before" mark.

Caltrain is imported once for the module (0.4 s), Seattle once for the stations no ride
links (1.7 s); the rest are small networks built in
each test with the shapes of the NYC and Seattle feeds (no fares, a route short name apart
from the trip's number, ``125 St (116)`` and ``125 St (225)``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from html import escape
from pathlib import Path
from urllib.parse import quote, quote_plus
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from transit.models import Calendar, City, Service, Stop, Timetable
from transit.web import timetable_views as tv
from transit.web.extensions import db

H = 3600
MONDAY = dt.date(2024, 12, 16)
CALTRAIN = "gtfs/caltrain_gtfs_2017-07-24.zip"
SEATTLE = "gtfs/seattle_area_gtfs_2017-11-16.zip"


def text_of(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def cards_of(html: str) -> list[str]:
    return re.findall(r'<article class="card itinerary".*?</article>', html, re.S)


@pytest.fixture(scope="module")
def caltrain(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """An app whose database holds the Caltrain feed (2017-07-15 to 2019-07-20)."""
    yield from app_with_feed(tmp_path_factory, CALTRAIN)


@pytest.fixture(scope="module")
def seattle(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """An app whose database holds the Seattle feed (November 2017)."""
    yield from app_with_feed(tmp_path_factory, SEATTLE)


def app_with_feed(tmp_path_factory: pytest.TempPathFactory, feed: str) -> Iterator:
    from tests.conftest import SHARED_DATA
    from transit import create_app
    from transit.timetable.gtfs import parse_gtfs
    from transit.timetable.loader import load_feed

    folder = tmp_path_factory.mktemp(Path(feed).stem)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(folder / "t.sqlite3"),
            "TRANSIT_MODEL_DIR": str(folder / "models"),
            "SECRET_KEY": "test-secret-key",
        }
    )
    with app.app_context():
        db.create_all()
        load_feed(db.session, parse_gtfs(SHARED_DATA / feed))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def subway(session: Session) -> dict[str, int]:
    """New York's shape: no fares (empty currency), the line as route, trip ids as numbers,
    two stations called 125 St. Weekday runs from 2024-12-15 to 2025-01-17."""
    ny = "America/New_York"
    times_sq = City(name="Times Sq-42 St", timezone=ny)
    wall = City(name="Wall St", timezone=ny)
    north = City(name="125 St (116)", timezone=ny)
    east = City(name="125 St (225)", timezone=ny)
    weekdays = Calendar(name="Weekday", weekdays=0b0011111, start_date=dt.date(2024, 12, 15),
                        end_date=dt.date(2025, 1, 17))
    two = Service(number="AFA24GEN-2099-Weekday-00_042250_2..S06R", route="2", mode="subway",
                  operator="MTA New York City Transit", currency="")
    run = Timetable(code="AFA24GEN-2099-Weekday-00_042250_2..S06R", calendar=weekdays,
                    service=two)
    run.stops = [
        Stop(sequence=0, city=east, departure=7 * H + 40 * 60),
        Stop(sequence=1, city=times_sq, arrival=8 * H + 5 * 60, departure=8 * H + 6 * 60),
        Stop(sequence=2, city=wall, arrival=8 * H + 20 * 60),
    ]
    session.add_all([times_sq, wall, north, east, two])
    session.commit()
    return {"times_sq": times_sq.id, "two": two.id}


@pytest.fixture
def nyc(app) -> dict[str, int]:
    with app.app_context():
        return subway(db.session)


# --- 1. A journey without fare information says so, in no currency ---------------------------


def test_a_network_without_fares_says_there_is_no_fare_information(client, nyc):
    url = "/routes?from=Times+Sq-42+St&to=Wall+St&date=2024-12-16&time=08:00"
    (card,) = cards_of(text_of(client, url))
    assert "¥" not in card and "0.00" not in card
    assert re.search(r'class="total-fare">No fare information<', card)
    assert re.search(r'class="leg-fare">No fare information<', card)
    (chinese,) = cards_of(text_of(client, url + "&lang=zh"))
    assert "¥" not in chinese and "0.00" not in chinese


def test_money_without_a_currency_is_no_currency(app):
    from transit.web.i18n import money

    with app.test_request_context("/?lang=en"):
        assert money(2.5, "") == "2.50"
        assert money(2.5, "USD") == "US$2.50"


def test_the_caltrain_shuttle_without_a_matching_fare_is_not_free(caltrain):
    client = caltrain.test_client()
    url = ("/routes?from=Tamien+Caltrain+Station&to=San+Jose+Caltrain+Station"
           "&date=2017-09-10&time=18:00")
    cards = cards_of(text_of(client, url))
    assert cards and "US$0.00" not in cards[0] and "No fare information" in cards[0]
    priced = ("/routes?from=San+Francisco+Caltrain&to=San+Jose+Diridon+Caltrain"
              "&date=2017-09-05&time=08:00")
    assert "US$9.75" in cards_of(text_of(client, priced))[0]


def test_a_walk_to_the_train_is_free_and_the_shuttle_has_no_fare(caltrain):
    client = caltrain.test_client()
    url = ("/routes?from=Tamien+Caltrain+Station&to=San+Francisco+Caltrain"
           "&date=2017-07-30&time=04:00&criterion=options")
    cards = cards_of(text_of(client, url))
    by_shuttle = [card for card in cards if "TaSJ-Shuttle" in card]
    walking = [card for card in cards if "TaSJ-Shuttle" not in card]
    assert by_shuttle and walking
    for card in by_shuttle:  # one leg of unknown price: the journey's is unknown too
        assert re.search(r'class="total-fare">No fare information<', card)
    for card in walking:  # a walk to Tamien's platform, then the train
        assert re.search(r'class="leg-fare">Free<', card)
        assert re.search(r'class="total-fare">US\$9.75<', card)
    assert not any("US$0.00" in card for card in cards)
    chinese = cards_of(text_of(client, url + "&lang=zh"))
    assert any('class="leg-fare">免费<' in card for card in chinese)


# --- 2. "Leave now" is now at the origin, not in the zone most stations are in ---------------


def test_leave_now_is_read_on_the_origins_clock(app, client, nyc):
    with app.app_context():
        # Most stations are on Los Angeles' clock: the zone the form used to prefill.
        db.session.add_all(City(name=f"LA {n}", timezone="America/Los_Angeles") for n in range(5))
        db.session.commit()
    home = text_of(client, "/")
    assert 'name="date" type="date" value=""' in home
    assert 'name="time" type="time" value=""' in home
    before = dt.datetime.now(ZoneInfo("America/New_York")).replace(second=0, microsecond=0)
    html = text_of(client, "/routes?from=Times+Sq-42+St&to=Wall+St&date=&time=")
    after = dt.datetime.now(ZoneInfo("America/New_York"))
    start = re.search(r"No service leaves Times Sq-42 St between (\S+ \S+)", html)
    assert start is not None, html
    searched = dt.datetime.fromisoformat(start[1]).replace(tzinfo=ZoneInfo("America/New_York"))
    assert before <= searched <= after
    # Sent again (a shared link), the empty fields still mean "now".
    assert 'name="time" type="time" value=""' in html
    # Arriving by now would only find journeys already made: the time must be given.
    html = text_of(client, "/routes?from=Times+Sq-42+St&to=Wall+St&date=&time=&time_kind=arrive_by", 400)
    assert "Give the time you want to arrive by." in html


# --- 4. Stations no ride links, at any time --------------------------------------------------


def test_stations_no_service_connects_are_said_so(seattle):
    # The water taxis of Seattle's Colman Dock: no bus stop or train station lies within
    # a walk of their piers (Caltrain's Tamien shuttle stop, once the example, is a walk
    # from Tamien station: docs/formats.md, walks between nearby stations).
    client = seattle.test_client()
    dock = "Vashon Island Water Taxi & Colman Dock"
    reply = client.get(f"/api/v1/routes?from={quote(dock)}&to=Capitol%20Hill%20Link%20Station"
                       "&depart=2017-11-22T08:00&window_hours=336")
    assert reply.get_json()["message"] == (
        f"No service connects {dock} to Capitol Hill Link Station at any time: "
        "no sequence of rides leads from one to the other."
    )
    html = text_of(client, f"/routes?from={quote_plus(dock)}&to=Capitol+Hill+Link+Station"
                           "&date=2017-11-22&time=08:00")
    assert f"No service connects {escape(dock)} to Capitol Hill Link Station" in html
    assert "window" not in re.search(r'<p class="reason">([^<]+)</p>', html)[1]
    # On a date before the timetables there run, that no date would help is said first.
    vashon = "Vashon Passenger Ferry & Vashon Ferry Dock"
    early = client.get(f"/api/v1/routes?from={quote(vashon)}&to=Westlake%20Station%20-%20Bay%20D"
                       "&depart=2017-11-16T05:00").get_json()["message"]
    assert early.startswith(f"No service connects {vashon} to Westlake Station - Bay D at any"), early


# --- 5. The line riders know is shown -----------------------------------------------------


def test_the_line_is_on_cards_boards_and_leg_json(app, client, runner, nyc):
    url = "/routes?from=Times+Sq-42+St&to=Wall+St&date=2024-12-16&time=08:00"
    (card,) = cards_of(text_of(client, url))
    assert re.search(r'<span class="service-number line" title="Transit line">2</span>', card)
    board = text_of(client, f"/cities/{nyc['times_sq']}?date=2024-12-16")
    assert re.search(r'<span class="service-number line" title="Transit line">2</span>', board)
    reply = client.get("/api/v1/routes?from=Times%20Sq-42%20St&to=Wall%20St"
                       "&depart=2024-12-16T08:00")
    (leg,) = reply.get_json()["itineraries"][0]["legs"]
    assert leg["route"] == "2"
    assert leg["service"] == "AFA24GEN-2099-Weekday-00_042250_2..S06R"  # unchanged
    cli = runner.invoke(args=["route", "Times Sq-42 St", "Wall St", "--depart",
                              "2024-12-16T08:00", "--json"])
    assert json.loads(cli.output)["itineraries"][0]["legs"][0]["route"] == "2"
    text = runner.invoke(args=["route", "Times Sq-42 St", "Wall St", "--depart",
                               "2024-12-16T08:00"])
    assert "2 AFA24GEN" in text.output and "no fare information" in text.output


def test_the_openapi_schema_describes_the_route_of_a_leg(client):
    document = client.get("/api/v1/openapi.json").get_json()
    leg = document["components"]["schemas"]["LegOut"]["properties"]
    assert "route" in leg and "fare" in leg and "service" in leg


# --- 6. A name two stations share is ambiguous, not unknown --------------------------------


def test_a_name_two_stations_share_lists_them(client, runner, nyc):
    html = text_of(client, "/routes?from=125+St&to=Wall+St&date=2024-12-16&time=08:00", 400)
    assert "Several stations are called “125 St”: 125 St (116), 125 St (225). Choose one." in html
    assert "No city called" not in html
    reply = client.get("/api/v1/routes?from=125%20St&to=Wall%20St&depart=2024-12-16T08:00")
    assert reply.status_code == 422
    problem = reply.get_json()
    assert "ambiguous" in problem["detail"] and "'125 St (225)'" in problem["detail"]
    assert problem["errors"][0]["field"] == "from"
    cli = runner.invoke(args=["route", "125 st", "Wall St", "--depart", "2024-12-16T08:00"])
    assert cli.exit_code == 2
    assert "ambiguous" in cli.output and "'125 St (116)', '125 St (225)'" in cli.output
    # A name no station has is still unknown.
    unknown = text_of(client, "/routes?from=126+St&to=Wall+St", 400)
    assert "No city called “126 St”." in unknown


# --- 7. A date outside the timetable says when it runs ---------------------------------------


def test_a_date_outside_the_timetable_says_when_it_runs(caltrain, client, nyc):
    reply = caltrain.test_client().get(
        "/api/v1/routes?from=San%20Francisco%20Caltrain&to=San%20Jose%20Diridon%20Caltrain"
        "&depart=2019-08-01T08:00"
    )
    assert reply.get_json()["message"] == (
        "No service leaves San Francisco Caltrain between 2019-08-01 08:00 and 2019-08-03 08:00 "
        "(local time): the timetables of the services there run from 2017-07-15 to 2019-07-20."
    )
    # The last train leaves at 24:05 on 2019-07-20; the 24:12 ends at San Francisco.
    late = caltrain.test_client().get(
        "/api/v1/routes?from=San%20Francisco%20Caltrain&to=San%20Jose%20Diridon%20Caltrain"
        "&depart=2019-07-21T00:06"
    ).get_json()["message"]
    assert late.endswith("run from 2017-07-15 to 2019-07-20."), late
    before = client.get("/api/v1/routes?from=Times%20Sq-42%20St&to=Wall%20St"
                        "&arrive_by=2024-12-10T08:00").get_json()["message"]
    assert before.startswith("No service reaches Wall St between")
    # The weekday calendar's dates start on Sunday 2024-12-15: its first run is on Monday.
    assert before.endswith("run from 2024-12-16 to 2025-01-17.")
    # Within the dates (a Saturday), the dates explain nothing and are not said.
    saturday = client.get("/api/v1/routes?from=Times%20Sq-42%20St&to=Wall%20St"
                          "&depart=2024-12-21T08:00&window_hours=24").get_json()["message"]
    assert saturday == ("No service leaves Times Sq-42 St between 2024-12-21 08:00 and "
                        "2024-12-22 08:00 (local time).")


# --- 8. The board's "left the day before" follows the run, not its service day ---------------


def test_a_run_that_starts_here_after_midnight_left_today(caltrain):
    with caltrain.app_context():
        sf = db.session.query(City).filter_by(name="San Francisco Caltrain").one()
        departures = tv.city_board(db.session, sf.id, dt.date(2017, 9, 6), "departures")
        arrivals = tv.city_board(db.session, sf.id, dt.date(2017, 9, 6), "arrivals")
    train_198 = [r for r in departures if r.number == "198" and r.time == 5 * 60]
    assert train_198 and train_198[0].started_days_before == 0
    # Train 199 left San Jose Diridon at 22:30 the evening before: still marked.
    train_199 = [r for r in arrivals if r.number == "199" and r.time == 5 * 60]
    assert train_199 and train_199[0].started_days_before == 1
    html = text_of(caltrain.test_client(), f"/cities/{sf.id}?date=2017-09-06")
    row = re.search(r"<tr>\s*<td class=\"time\">00:05[^\n]*\n[^\n]*>198<", html)
    assert row is not None and "left 1 day before" not in row[0]


def test_a_price_comparison_says_how_it_counted_unknown_fares(caltrain):
    """Asked for the cheapest, the page may answer with the weekend shuttle, whose price is
    not known: it says that an unknown fare counts as free in the comparison."""
    client = caltrain.test_client()
    url = ("/routes?from=Tamien+Caltrain+Station&to=San+Francisco+Caltrain"
           "&date=2017-07-30&time=04:00&criterion=")
    note = "the unknown part counts as free"
    cheapest = text_of(client, url + "cheapest")
    assert "No fare information" in cards_of(cheapest)[0] and note in cheapest
    assert note in text_of(client, url + "options")
    assert note not in text_of(client, url + "fastest")  # no price was compared
    priced = ("/routes?from=San+Francisco+Caltrain&to=San+Jose+Diridon+Caltrain"
              "&date=2017-09-05&time=08:00&criterion=cheapest")
    assert note not in text_of(client, priced)
    assert "未知部分按免费计算" in text_of(client, url + "cheapest&lang=zh")
