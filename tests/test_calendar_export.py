"""A journey as an iCalendar file: the file itself (transit/web/calendar_export.py) and the
route page's link to it (GET /routes/calendar.ics), read back with the icalendar parser."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from icalendar import Calendar

from tests.test_pages import build_network, page
from transit.web.calendar_export import calendar_file, journey_key
from transit.web.extensions import db
from transit.web.journey_views import ItineraryCard, LegCard

CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def network(app) -> dict[str, int]:
    with app.app_context():
        return build_network(db.session)


def leg(service: str, mode: str, origin: str, destination: str, start: dt.datetime,
        minutes: int, fare: float | None = 10.0) -> LegCard:
    return LegCard(service=service, service_id=None, timetable_id=None, mode=mode,
                   origin=origin, destination=destination, departure=start,
                   arrival=start + dt.timedelta(minutes=minutes), departure_days=0,
                   arrival_days=0, fare=fare, currency="CNY")


def journey(*legs: LegCard) -> ItineraryCard:
    return ItineraryCard(departure=legs[0].departure, arrival=legs[-1].arrival, departure_days=0,
                         arrival_days=0, duration_minutes=0, fare=None, currency="CNY",
                         transfers=sum(1 for x in legs if x.mode != "walk") - 1, legs=list(legs),
                         waits=[])


def read(body: bytes) -> list:
    return [c for c in Calendar.from_ical(body).walk() if c.name == "VEVENT"]


def test_an_event_per_leg_at_its_instants():
    start = dt.datetime(2026, 12, 1, 23, 30, tzinfo=CST)
    card = journey(leg("", "walk", "A", "B", start, 10, None),
                   leg("Z9", "train", "B", "C, south", start + dt.timedelta(minutes=20), 600),
                   leg("MU1", "flight", "C, south", "D", start + dt.timedelta(hours=11), 90))
    body = calendar_file(card, title=lambda x: f"{x.service}; {x.origin} → {x.destination}",
                         details=lambda x: "line one\nline two", name="A → D",
                         now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    events = read(body)
    assert len(events) == 3
    for event, x in zip(events, card.legs, strict=True):
        assert event.decoded("dtstart") == x.departure  # the same instant, written in UTC
        assert event.decoded("dtend") == x.arrival
        assert event.decoded("dtstart").utcoffset() == dt.timedelta(0)
        assert str(event["summary"]) == f"{x.service}; {x.origin} → {x.destination}"
        assert str(event["location"]) == x.origin
        assert str(event["description"]) == "line one\nline two"
    # Commas, semicolons and new lines are escaped in the file, not lost.
    assert b"C\\, south" in body and b"line one\\nline two" in body
    assert [str(e["transp"]) for e in events] == ["TRANSPARENT", "OPAQUE", "OPAQUE"]
    # Saving the same journey again updates its events: the same UIDs.
    again = read(calendar_file(card, title=str, details=str, name="x",
                               now=dt.datetime(2026, 12, 25, tzinfo=dt.UTC)))
    assert [str(e["uid"]) for e in again] == [str(e["uid"]) for e in events]
    assert len({str(e["uid"]) for e in events}) == 3


def test_the_journey_key_changes_with_any_leg():
    start = dt.datetime(2026, 12, 1, 8, 0, tzinfo=CST)
    one = journey(leg("G1", "train", "A", "B", start, 60))
    assert journey_key(one) == journey_key(journey(leg("G1", "train", "A", "B", start, 60)))
    assert journey_key(one) != journey_key(journey(leg("G1", "train", "A", "B",
                                                       start + dt.timedelta(minutes=5), 60)))
    assert journey_key(one) != journey_key(journey(leg("G3", "train", "A", "B", start, 60)))


def links(html_text: str) -> list[str]:
    return [html.unescape(u) for u in
            re.findall(r'<p class="calendar-link"><a href="([^"]+)" download>', html_text)]


def test_each_card_links_to_its_journey_calendar(client, network):
    answer = page(client, "/routes?from=北京&to=上海&date=2025-03-03&time=06:30"
                          "&criterion=options&lang=en")
    cards = answer.count('<article class="card itinerary"')
    found = links(answer)
    assert cards >= 2 and len(found) == cards
    services = re.findall(r'<article class="card itinerary".*?</article>', answer, re.S)
    for url, card_html in zip(found, services, strict=True):
        assert "depart=2025-03-03T06%3A30%3A00%2B08%3A00" in url
        response = client.get(url)
        assert response.status_code == 200
        assert response.mimetype == "text/calendar"
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        events = read(response.data)
        legs = re.findall(r'class="service-link"[^>]*>([^<]+)</a>', card_html)
        assert [str(e["summary"]).split(":")[0].split()[-1] for e in events] == legs
        first = re.search(r'<time datetime="([^"]+)"', card_html)
        assert first and events[0].decoded("dtstart") == dt.datetime.fromisoformat(first.group(1))
        assert "Part of the journey 北京 → 上海" in str(events[0]["description"])


def test_a_journey_no_longer_in_the_answer_is_a_404_in_words(client, network):
    answer = page(client, "/routes?from=北京&to=上海&date=2025-03-03&time=06:30&lang=en")
    url = links(answer)[0]
    for changed in (re.sub(r"legs=\w+", "legs=000000000000", url),
                    url.replace("journey=1", "journey=9"), url.replace("journey=1", "journey=x"),
                    # "²" passes str.isdigit(), but int() refuses it: that was a 500
                    url.replace("journey=1", "journey=%C2%B2")):
        response = client.get(changed)
        assert response.status_code == 404
        assert response.mimetype == "text/plain"
        assert "no longer among the answers" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "words"),
    [("from=北京", "Enter a city."),
     ("from=北京&to=Atlantis&depart=2025-03-03T06:30", "No city called “Atlantis”."),
     ("from=北京&to=上海&depart=soon", "YYYY-MM-DDTHH:MM")],
)
def test_a_bad_calendar_query_is_a_400_in_words(client, network, query, words):
    response = client.get("/routes/calendar.ics?" + query + "&journey=1&lang=en")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert words in response.get_data(as_text=True)


def test_the_calendar_speaks_the_page_s_language(client, network):
    answer = page(client, "/routes?from=北京&to=上海&date=2025-03-03&time=06:30&lang=zh")
    url = links(answer)[0]
    assert "lang=zh" in url
    events = read(client.get(url).data)
    summary, details = str(events[0]["summary"]), str(events[0]["description"])
    assert re.fullmatch(r"(火车|航班) \S+：北京 → \S+", summary), summary
    assert "票价：" in details and "属于行程 北京 → 上海" in details


def test_options_in_another_order_keep_their_numbers_and_links(client, network):
    base = "/routes?from=北京&to=上海&date=2025-03-03&time=06:30&criterion=options&lang=en"
    plain, by_fare = page(client, base), page(client, base + "&sort=fare")

    def shown(html_text: str) -> list[tuple[str, float, str]]:
        cards = re.findall(r'<article class="card itinerary" id="itinerary-(\d+)".*?</article>',
                           html_text, re.S)
        fares = [float(f.replace(",", "")) for f in
                 re.findall(r'class="total-fare">¥([\d,.]+)<', html_text)]
        return list(zip(cards, fares, links(html_text), strict=True))

    first, second = shown(plain), shown(by_fare)
    assert sorted(first) == sorted(second)  # the same cards, numbers and calendar links
    assert [fare for _, fare, _ in second] == sorted(fare for _, fare, _ in first)
    assert [n for n, _, _ in first] == [str(i) for i in range(1, len(first) + 1)]
    assert 'aria-current="true">Fare</a>' in by_fare and 'aria-current="true">Arrival</a>' in plain
    # An order nobody offers is the engine's, and only options answers offer any.
    assert shown(page(client, base + "&sort=scenic")) == first
    assert "sort-by" not in page(client, base.replace("options", "fastest"))
