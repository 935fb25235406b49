"""Public pages through the Flask test client, on small networks built in each test."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.orm import Session

from transit.models import (
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
)
from transit.web import journey_views as jv
from transit.web import timetable_views as tv
from transit.web.extensions import db

H = 3600
MONDAY = dt.date(2025, 3, 3)


def build_network(session: Session) -> dict[str, int]:
    """Three cities, a weekday overnight train with exceptions, a daily flight, a zone fare."""
    beijing = City(name="北京", code="BJP", latitude=39.9, longitude=116.4)
    nanjing = City(name="南京", code="NJH", latitude=32.06, longitude=118.8)
    shanghai = City(name="上海", code="SHH", latitude=31.23, longitude=121.47)
    lonely = City(name="Nowhere", timezone="Europe/Paris")
    weekdays = Calendar(
        name="weekdays",
        weekdays=0b0011111,
        start_date=dt.date(2025, 1, 1),
        end_date=dt.date(2025, 12, 31),
    )
    weekdays.exceptions = [
        CalendarDate(date=dt.date(2025, 3, 4), added=False),  # a Tuesday off
        CalendarDate(date=dt.date(2025, 3, 8), added=True),  # a Saturday on
    ]
    daily = Calendar(name="daily")
    train = Service(number="Z9", mode="train", operator="CR", name="Night train")
    night = Timetable(code="1", calendar=weekdays, service=train, headsign="上海")
    night.stops = [
        Stop(sequence=0, city=beijing, departure=22 * H),
        Stop(sequence=1, city=nanjing, arrival=25 * H, departure=25 * H + 120, fare_cents=30000),
        Stop(sequence=2, city=shanghai, arrival=27 * H, fare_cents=10050),
    ]
    flight = Service(number="MU5101", mode="flight", operator="China Eastern")
    hop = Timetable(code="1", calendar=daily, service=flight)
    hop.stops = [
        Stop(sequence=0, city=beijing, departure=8 * H),
        Stop(sequence=1, city=shanghai, arrival=10 * H + 15 * 60, fare_cents=120000),
    ]
    train.fares = [ServiceFare(origin=beijing, destination=shanghai, fare_cents=35000)]
    session.add_all([beijing, nanjing, shanghai, lonely, train, flight])
    session.commit()
    return {
        "beijing": beijing.id,
        "nanjing": nanjing.id,
        "shanghai": shanghai.id,
        "lonely": lonely.id,
        "train": train.id,
        "flight": flight.id,
        "night": night.id,
    }


@pytest.fixture
def network(app) -> dict[str, int]:
    with app.app_context():
        return build_network(db.session)


def page(client, url: str, status: int = 200, **kwargs) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


class Controls(HTMLParser):
    """Collects form controls and the labels that name them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if attributes.get("for"):
                self.label_for.add(str(attributes["for"]))
        elif tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            attributes["wrapped"] = "yes" if self.in_label else None
            self.controls.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1


def assert_every_control_labelled(html: str) -> None:
    parser = Controls()
    parser.feed(html)
    assert parser.controls
    for control in parser.controls:
        labelled = control.get("wrapped") or control.get("id") in parser.label_for
        assert labelled or control.get("aria-label"), control


# --- Layout, language ---------------------------------------------------------------------


def test_home_form_defaults_and_labels(client, network):
    html = page(client, "/")
    assert 'name="from"' in html and 'name="to"' in html
    # No clock fits every origin: empty date and time mean "now" on the origin's clock.
    assert 'name="date" type="date" value=""' in html
    assert 'name="time" type="time" value=""' in html
    # Modes present in the data, all ticked by default; the four criteria.
    assert 'value="train" checked' in html and 'value="flight" checked' in html
    for criterion in ("fastest", "cheapest", "transfers", "options"):
        assert f'<option value="{criterion}"' in html
    assert 'id="swap"' in html
    # Small networks carry their city list for suggestions.
    assert '<option value="上海" label="SHH · Shanghai">' in html  # code and pinyin too
    assert_every_control_labelled(html)


def test_language_from_browser_then_switch_remembered(client, network):
    assert "查询路线" in page(client, "/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "Find a route" in page(client, "/", headers={"Accept-Language": "en-US"})
    html = page(client, "/cities?lang=zh", headers={"Accept-Language": "en-US"})
    assert 'lang="zh-Hans"' in html and "城市" in html
    # The cookie keeps the choice on the next page, whatever the browser prefers.
    assert "出发" in page(client, f"/cities/{network['beijing']}", headers={"Accept-Language": "en"})
    assert "Departures" in page(client, f"/cities/{network['beijing']}?lang=en")
    # City names stay as stored in both languages.
    assert "北京" in page(client, "/cities?lang=en")


@pytest.mark.parametrize("url", ["/", "/cities", "/routes?from=Beijing&to=Shanghai&date=2025-03-03&time=06:30"])
def test_pages_say_they_vary_by_language(client, network, url):
    # A page's language follows Accept-Language: a shared cache that keyed it on the URL
    # alone would hand one reader's language to the next.
    reply = client.get(url, headers={"Accept-Language": "zh-CN"})
    assert {"accept-language", "cookie"} <= {v.strip().lower() for v in reply.headers["Vary"].split(",")}
    api = client.get("/api/v1/cities")
    assert "accept-language" not in api.headers.get("Vary", "").lower()


def test_language_switch_keeps_the_query(client, network):
    html = page(client, f"/cities/{network['beijing']}?date=2025-03-03&mode=train")
    assert f'href="/cities/{network["beijing"]}?date=2025-03-03&amp;mode=train&amp;lang=zh"' in html


def test_chinese_catalog_is_complete_and_compiled():
    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[1]
    method_map = [
        ("transit/web/**.py", "python"),
        ("transit/routing/planner.py", "python"),
        ("transit/editing.py", "python"),
        ("transit/schemas.py", "python"),
        ("transit/models.py", "python"),
        ("templates/**.html", "jinja2"),
    ]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None,
                "Words": None}
    used = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map=method_map, keywords=keywords
    ):
        used.add(message[0] if isinstance(message, tuple) else message)
    with open(root / "translations/zh/LC_MESSAGES/messages.po", "rb") as handle:
        po = read_po(handle)
    with open(root / "translations/zh/LC_MESSAGES/messages.mo", "rb") as handle:
        mo = read_mo(handle)
    def first(value: str | tuple | list) -> str:
        return value if isinstance(value, str) else value[0]

    def forms(value: str | tuple | list) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)

    translated = {}
    for message in po:
        if message.id:
            assert first(message.string), f"untranslated: {first(message.id)!r}"
            translated[first(message.id)] = forms(message.string)
    missing = sorted(used - set(translated))
    assert not missing, f"add these to the Chinese catalog: {missing}"
    for message in mo:
        if message.id:
            key = first(message.id)
            assert translated.get(key) == forms(message.string), f".mo is stale for {key!r}"
    assert len([m for m in mo if m.id]) == len(translated), ".mo is stale: run pybabel compile"


# --- Errors -------------------------------------------------------------------------------


def test_every_page_has_an_icon(client, network):
    # Without one, browsers ask for /favicon.ico and log a 404 (the API's docs page did).
    for url in ("/", "/cities", "/api/v1/docs"):
        assert 'rel="icon"' in page(client, url)
    with client.get("/favicon.ico") as reply:
        assert reply.status_code == 200 and reply.mimetype == "image/svg+xml"


def test_unknown_ids_give_the_404_page(client, network):
    for url in ("/cities/99999", "/services/99999", "/no/such/page"):
        html = page(client, url, 404)
        assert "Not found" in html and "<nav" in html


def test_bad_parameters_give_a_friendly_400(client, network):
    city = network["beijing"]
    for url in (
        f"/cities/{city}?date=tomorrow",
        f"/cities/{city}?date=2025-02-30",
        f"/cities/{city}?date=9999-12-31",  # no UTC equivalent: was a 500
        f"/cities/{city}?date=0001-01-01",
        f"/cities/{city}?mode=rocket",
        "/cities?page=zero",
        "/cities?page=-1",
        "/cities?mode=rocket",
        "/cities?timezone=Mars/Olympus",
        f"/services/{network['train']}?page=x",
        f"/services/{network['train']}?variant=first",
    ):
        html = page(client, url, 400)
        assert "That request was not understood" in html


# --- Cities -------------------------------------------------------------------------------


def test_city_list_search_and_filters(client, network):
    html = page(client, "/cities")
    assert all(name in html for name in ("北京", "南京", "上海", "Nowhere"))
    assert "4 cities" in html
    html = page(client, "/cities?q=shh")
    assert "上海" in html and "北京" not in html
    html = page(client, "/cities?mode=flight")
    assert "北京" in html and "上海" in html and "南京" not in html
    html = page(client, "/cities?timezone=Europe/Paris")
    assert "Nowhere" in html and "北京" not in html
    assert "No city matches" in page(client, "/cities?q=zzz")


def test_city_list_pages(app, client):
    with app.app_context():
        db.session.add_all([City(name=f"City {i:03d}") for i in range(130)])
        db.session.commit()
    first = page(client, "/cities")
    assert "City 000" in first and "City 100" not in first and "Page 1 of 2" in first
    second = page(client, "/cities?page=2")
    assert "City 100" in second and "City 000" not in second
    # A page past the end shows the last one.
    assert "City 129" in page(client, "/cities?page=9")


def test_suggestions_put_prefix_matches_first(app, client):
    with app.app_context():
        db.session.add_all([City(name=n) for n in ("Shanghai", "Hangzhou", "Shenzhen", "Xian")])
        db.session.commit()
    assert client.get("/cities/suggest?q=sh").get_json() == ["Shanghai", "Shenzhen"]
    assert client.get("/cities/suggest?q=an").get_json() == ["Xian", "Hangzhou", "Shanghai"]
    assert client.get("/cities/suggest?q=").get_json() == []


def test_board_departures_and_arrivals(client, network):
    html = page(client, f"/cities/{network['beijing']}?date=2025-03-03")
    assert "Z9" in html and "MU5101" in html
    assert "22:00" in html and "08:00" in html
    assert f'href="/services/{network["train"]}?variant={network["night"]}#variant-{network["night"]}"' in html


def test_board_uses_calendar_exceptions(client, network):
    beijing = network["beijing"]
    tuesday_off = page(client, f"/cities/{beijing}?date=2025-03-04")
    assert "MU5101" in tuesday_off and "Z9" not in tuesday_off
    assert "Z9" in page(client, f"/cities/{beijing}?date=2025-03-08")  # added Saturday
    assert "Z9" not in page(client, f"/cities/{beijing}?date=2025-03-09")  # plain Sunday
    assert "Z9" not in page(client, f"/cities/{beijing}?date=2026-01-05")  # after validity


def test_board_shows_after_midnight_calls_of_yesterdays_service(client, network):
    nanjing = network["nanjing"]
    # Monday's train reaches Nanjing at 01:00 on Tuesday, although Tuesday itself is off.
    tuesday = page(client, f"/cities/{nanjing}?date=2025-03-04")
    assert "01:00" in tuesday and "01:02" in tuesday and "left 1 day before" in tuesday
    # Wednesday's board: Tuesday's run was cancelled, so nothing.
    assert "Z9" not in page(client, f"/cities/{nanjing}?date=2025-03-05")
    # Sunday: the added Saturday run calls after midnight.
    assert "Z9" in page(client, f"/cities/{nanjing}?date=2025-03-09")
    # Monday: Sunday has no run.
    assert "Z9" not in page(client, f"/cities/{nanjing}?date=2025-03-03")


def test_a_mode_no_service_here_uses_gives_empty_boards(client, network):
    # "ferry" is a mode Transit knows; this network has none: nothing to show, no error.
    assert "Z9" in page(client, f"/cities/{network['beijing']}?date=2025-03-03")
    html = page(client, f"/cities/{network['beijing']}?date=2025-03-03&mode=ferry")
    assert "Z9" not in html and "MU5101" not in html
    assert "ferry" in page(client, "/cities?mode=ferry").lower()


def test_board_mode_filter_and_terminus(client, network):
    beijing = network["beijing"]
    html = page(client, f"/cities/{beijing}?date=2025-03-03&mode=flight")
    assert "MU5101" in html and "Z9" not in html
    shanghai = page(client, f"/cities/{network['shanghai']}?date=2025-03-04")
    # Arrivals name where the run came from.
    assert re.search(r"MU5101.*?北京", shanghai, re.S)
    assert "No departures on this date." in shanghai


def test_board_query_count_does_not_grow_with_rows(app):
    """One set of queries per board, however many runs call there (no N+1)."""
    with app.app_context():
        session = db.session
        hub = City(name="Hub")
        ends = [City(name=f"End {i}") for i in range(40)]
        calendars = [Calendar(weekdays=0b1111111) for _ in range(10)]
        for i, end in enumerate(ends):
            service = Service(number=f"S{i}", mode="bus")
            for k in range(3):
                timetable = Timetable(code=str(k), calendar=calendars[(i + k) % 10], service=service)
                timetable.stops = [
                    Stop(sequence=0, city=hub, departure=(6 + k) * H + i * 60),
                    Stop(sequence=1, city=end, arrival=(7 + k) * H + i * 60, fare_cents=500),
                ]
            session.add(service)
        session.commit()
        calendars[0].exceptions.append(CalendarDate(date=MONDAY, added=False))
        session.commit()
        statements: list[str] = []

        def count(*_args) -> None:
            statements.append("x")

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            rows = tv.city_board(session, hub.id, MONDAY)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(rows) == 120 - 12  # the 12 runs on calendar 0 are off that day
        assert len(statements) <= 5
        assert {row.other_city for row in rows} == {e.name for e in ends}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    runs=st.lists(
        st.tuples(
            st.integers(0, 127),  # weekdays
            st.integers(0, 3 * 86400 - 1),  # time at the city
            st.sets(st.integers(-4, 4), max_size=3),  # exception days around the board date
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    offset=st.integers(0, 6),
)
def test_board_matches_a_calendar_walk(engine, runs, offset):
    """Each call appears on the board exactly when its service day runs and the call falls on the date."""
    day = MONDAY + dt.timedelta(days=offset)
    with Session(engine) as session:
        for table in reversed(db.metadata.sorted_tables):
            session.execute(table.delete())
        here, there = City(name="Here"), City(name="There")
        expected = []
        for i, (weekdays, seconds, exceptions, added) in enumerate(runs):
            calendar = Calendar(weekdays=weekdays)
            calendar.exceptions = [
                CalendarDate(date=day + dt.timedelta(days=d), added=added) for d in exceptions
            ]
            service = Service(number=f"R{i}", mode="train")
            timetable = Timetable(code="1", calendar=calendar, service=service)
            timetable.stops = [
                Stop(sequence=0, city=there, departure=0),
                Stop(sequence=1, city=here, arrival=seconds, departure=seconds),
                Stop(sequence=2, city=there, arrival=seconds + 60),
            ]
            session.add(service)
            session.flush()
            # Reference: walk service days back from the date and add the call's offset.
            for back in range(4):
                start = day - dt.timedelta(days=back)
                when = dt.datetime.combine(start, dt.time()) + dt.timedelta(seconds=seconds)
                if when.date() == day and calendar.runs_on(start):
                    expected.append((f"R{i}", when.hour * 3600 + when.minute * 60 + when.second))
        session.commit()
        board = tv.city_board(session, here.id, day)
        assert sorted((r.number, r.time) for r in board) == sorted(expected)


# --- Services -----------------------------------------------------------------------------


def test_service_page_stops_times_fares_and_days(client, network):
    html = page(client, f"/services/{network['train']}")
    assert "Z9" in html and "Night train" in html and "CR" in html
    assert "Destination sign: 上海" in html  # the headsign, said as what it is
    # Stops in order with times past midnight marked.
    stops = html[html.index('<table class="stops">') :]
    assert stops.index("北京") < stops.index("南京") < stops.index("上海")
    assert re.search(r"01:00<span class=\"day-mark\">\+1 day</span>", html)
    assert re.search(r"03:00<span class=\"day-mark\">\+1 day</span>", html)
    # Leg fares, and the fare from the first stop as the route search charges it: the
    # Beijing-Shanghai price (¥350.00), not the leg fares added up (¥400.50).
    assert "¥300.00" in html and "¥100.50" in html
    assert '<td class="fare-from-first">¥350.00</td>' in html and "¥400.50" not in html
    # Days of operation in words, with the validity dates and exceptions.
    assert "Mon–Fri" in html
    assert "Wednesday, 1 January 2025" in html and "Wednesday, 31 December 2025" in html
    assert re.search(r"Also runs on:.*8 Mar 2025", html, re.S)
    assert re.search(r"Does not run on:.*4 Mar 2025", html, re.S)
    # Origin-destination price.
    assert "Origin–destination prices" in html and "¥350.00" in html
    zh = page(client, f"/services/{network['train']}?lang=zh")
    assert "周一至周五" in zh and "+1 天" in zh


def test_service_page_daily_and_currency(client, network):
    html = page(client, f"/services/{network['flight']}")
    assert "Daily" in html and "¥1,200.00" in html and "2 h 15 min" in html


def test_service_variants_are_paged_and_a_linked_variant_opens_its_page(app, client):
    with app.app_context():
        a, b = City(name="A"), City(name="B")
        calendar = Calendar(weekdays=0b1000001)
        service = Service(number="L1", mode="subway", currency="USD")
        for k in range(45):
            timetable = Timetable(code=f"trip-{k:02d}", calendar=calendar, service=service)
            timetable.stops = [
                Stop(sequence=0, city=a, departure=5 * H + k * 600),
                Stop(sequence=1, city=b, arrival=5 * H + k * 600 + 900, fare_cents=290),
            ]
        db.session.add(service)
        db.session.commit()
        ids = [t.id for t in service.timetables]
        sid = service.id
    first = page(client, f"/services/{sid}")
    assert "trip-00" in first and "trip-20" not in first and "Page 1 of 3" in first
    assert "Mon, Sun" in first and "US$2.90" in first
    linked = page(client, f"/services/{sid}?variant={ids[44]}")
    assert "trip-44" in linked and "Page 3 of 3" in linked
    assert f'class="variant card focused" id="variant-{ids[44]}"' in linked


# --- Route query form (validation happens before the engine is asked) ---------------------


@pytest.mark.parametrize(
    ("query", "field", "text"),
    [
        ("from=&to=上海", "from", "Enter a city."),
        ("from=Atlantis&to=上海", "from", "No city called “Atlantis”."),
        ("from=北京&to=Atlantis", "to", "No city called “Atlantis”."),
        # A slip of the keyboard gets the cities it most likely meant, by name or code.
        ("from=Nowher&to=上海", "from", "No city called “Nowher”. Did you mean “Nowhere”?"),
        ("from=北京&to=NOWHERE1", "to", "No city called “NOWHERE1”. Did you mean “Nowhere”?"),
        # A long name is quoted in part (the field keeps it whole).
        ("from=北京&to=" + "x" * 5000, "to", "No city called “" + "x" * 59 + "…”."),
        ("from=北京&to=北京", "to", "Origin and destination are the same city."),
        ("from=北京&to=bjp", "to", "Origin and destination are the same city."),
        ("from=北京&to=上海&date=2025-13-01", "date", "Enter a date as YYYY-MM-DD."),
        ("from=北京&to=上海&time=25:99", "time", "Enter a time as HH:MM."),
        ("from=北京&to=上海&depart=soon", "time", "Enter the date and time as YYYY-MM-DDTHH:MM."),
        (
            "from=北京&to=上海&depart=2025-03-03T08:00&arrive_by=2025-03-03T18:00",
            "time",
            "Give a departure or an arrival time, not both.",
        ),
        ("from=北京&to=上海&criterion=scenic", "criterion", "Choose fastest, cheapest"),
        ("from=北京&to=上海&modes=rocket", "modes", "Unknown mode: rocket."),
        ("from=北京&to=上海&min_connection=abc", "min_connection", "Enter a whole number."),
        ("from=北京&to=上海&min_connection=-5", "min_connection", "from 0 to 1440"),
        ("from=北京&to=上海&max_transfers=11", "max_transfers", "from 0 to 10"),
        ("from=北京&to=上海&window_hours=lots", "window_hours", "Enter a number of hours."),
        ("from=北京&to=上海&window_hours=0", "window_hours", "above 0, at most 336"),
        ("from=北京&to=上海&window_hours=337", "window_hours", "above 0, at most 336"),
        # Dates so far out that their times cannot be turned into UTC were a 500.
        ("from=北京&to=上海&date=0001-01-01&time=00:00", "date", "years 1900 to 2999"),
        ("from=北京&to=上海&date=9999-12-31&time=23:00&time_kind=arrive_by", "date",
         "years 1900 to 2999"),
        ("from=北京&to=上海&depart=0001-01-01T00:00%2B14:00", "time", "years 1900 to 2999"),
        ("from=北京&to=上海&arrive_by=9999-12-31T23:00", "time", "years 1900 to 2999"),
        # The form sends an empty value beside its boxes: none ticked is not "every mode".
        ("from=北京&to=上海&modes=", "modes", "Tick at least one way to travel."),
    ],
)
def test_route_form_errors_beside_the_field(client, network, query, field, text):
    html = page(client, "/routes?" + query, 400)
    match = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', html)
    assert match, html
    assert text in match.group(1)
    assert f'aria-describedby="{field}-error"' in html


def test_cities_typed_in_full_width_mode_are_found(client, network):
    # A Chinese keyboard's full-width mode types "ＢＪＰ" and "　" (ideographic space).
    html = page(client, "/routes?from=ＢＪＰ&to=ｓｈｈ\u3000&date=2025-03-03&time=06:00")
    assert "<title>北京 → 上海" in html and 'class="total-fare"' in html
    assert client.get("/cities/suggest?q=ＢＪ").get_json() == ["北京"]
    api = client.get("/api/v1/routes?from=ＢＪＰ&to=ＳＨＨ&depart=2025-03-03T06:00")
    assert api.status_code == 200 and api.get_json()["itineraries"]
    forecasts = client.get("/api/v1/forecasts?city=ＢＪＰ")
    assert forecasts.status_code == 200, forecasts.get_json()


def test_did_you_mean_in_chinese_lists_the_close_cities(app, client, network):
    with app.app_context():
        db.session.add_all([City(name="Nowhere East", code="NWE"), City(name="Nowhere West")])
        db.session.commit()
    def error(query: str, field: str) -> str:
        html = page(client, "/routes?" + query, 400)
        match = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', html)
        assert match, html
        return match.group(1)

    assert error("from=北京&to=Nowhere Eats&lang=zh", "to") == (
        "没有名为“Nowhere Eats”的城市。您是想找“Nowhere East”或“Nowhere West”吗？")
    # The code counts as much as the name.
    assert error("from=NWEE&to=北京&lang=en", "from") == "No city called “NWEE”. Did you mean “Nowhere East”?"


def test_route_form_takes_a_window_under_an_hour_and_one_mode_ticked(client, network):
    html = page(client, "/routes?from=北京&to=上海&date=2025-03-03&time=07:00"
                        "&window_hours=0.5&modes=&modes=flight")
    assert 'class="field-error"' not in html
    assert re.search(r'value="flight" checked', html)
    assert not re.search(r'value="train" checked', html)


def test_route_form_errors_in_chinese_keep_the_values(client, network):
    html = page(client, "/routes?from=北京&to=Atlantis&criterion=cheapest&lang=zh", 400)
    assert "没有名为“Atlantis”的城市。" in html
    assert 'value="北京"' in html and 'value="Atlantis"' in html
    assert '<option value="cheapest" selected>' in html


def test_route_form_parsing_reads_api_and_form_names():
    zones = {"北京": "Asia/Shanghai", "Paris": "Europe/Paris"}

    def find(text: str) -> tuple[str, str] | None:
        return (text, zones[text]) if text in zones else None

    def now(zone: str | None) -> dt.datetime:
        return dt.datetime(2025, 3, 3, 9, 30)

    class Args(dict):
        def getlist(self, name: str) -> list[str]:
            value = self.get(name)
            return value if isinstance(value, list) else ([value] if value else [])

    def parse(**args) -> jv.RouteForm:
        a = Args(args)
        return jv.parse_route_form(
            a, a.getlist, known_modes=["train", "flight", "bus"], find_city=find, now=now
        )

    form = parse(**{"from": "北京", "to": "Paris", "arrive_by": "2025-03-04T18:00+01:00",
                    "modes": "flight,train", "min_connection": "20", "criterion": "options"})
    assert not form.errors
    kwargs = form.query_kwargs()
    assert kwargs["depart"] is None and kwargs["modes"] == frozenset({"train", "flight"})
    # An aware deadline is converted to the destination city's clock (docs/routing.md).
    assert kwargs["arrive_by"].isoformat() == "2025-03-04T18:00:00+01:00"
    assert kwargs["min_connection_minutes"] == 20 and kwargs["criterion"] == "options"
    assert form.api_args()["arrive_by"] == "2025-03-04T18:00:00+01:00"

    form = parse(**{"from": "北京", "to": "Paris", "date": "2025-03-10", "time": "07:05",
                    "modes": ["train", "bus"]})
    assert form.query_kwargs()["depart"].isoformat() == "2025-03-10T07:05:00+08:00"
    assert form.modes == ["train", "bus"]

    form = parse(**{"from": "北京", "to": "Paris"})
    assert form.query_kwargs()["depart"].isoformat() == "2025-03-03T09:30:00+08:00"
    assert form.query_kwargs()["modes"] == frozenset({"train", "flight", "bus"})


# --- Itinerary cards and the map ----------------------------------------------------------


def sample_result() -> dict:
    return {
        "itineraries": [
            {
                "departure": "2025-03-03T22:00:00+08:00",
                "arrival": "2025-03-04T09:30:00+08:00",
                "duration_minutes": 690,
                "fare": 450.0,
                "transfers": 1,
                "legs": [
                    {"service": "Z9", "mode": "train", "from": "北京", "to": "南京",
                     "departure": "2025-03-03T22:00:00+08:00",
                     "arrival": "2025-03-04T01:00:00+08:00", "fare": 300.0},
                    {"service": "G7", "mode": "train", "from": "南京", "to": "上海",
                     "departure": "2025-03-04T08:00:00+08:00",
                     "arrival": "2025-03-04T09:30:00+08:00", "fare": 150.0},
                ],
            },
            {
                "departure": "2025-03-04T08:00:00+08:00",
                "arrival": "2025-03-04T10:15:00+08:00",
                "duration_minutes": 135,
                "fare": 1200.0,
                "transfers": 0,
                "legs": [
                    {"service": "MU5101", "mode": "flight", "from": "北京", "to": "上海",
                     "departure": "2025-03-04T08:00:00+08:00",
                     "arrival": "2025-03-04T10:15:00+08:00", "fare": 1200.0},
                ],
            },
        ],
        "message": "",
    }


def test_itinerary_cards_mark_days_waits_and_trades():
    links = [[jv.LegLink(7, 70, "CNY"), jv.LegLink(8, 80, "CNY")], [jv.LegLink(9, 90, "CNY")]]
    cards = jv.itinerary_cards(sample_result(), dt.date(2025, 3, 3), links=links, compare=True)
    overnight, flight = cards
    assert [leg.arrival_days for leg in overnight.legs] == [1, 1]
    assert overnight.departure_days == 0 and overnight.arrival_days == 1
    assert [(w.city, w.minutes) for w in overnight.waits] == [("南京", 420)]
    assert [kind for kind, _ in overnight.steps()] == ["leg", "transfer", "leg"]
    assert overnight.legs[0].service_id == 7 and overnight.legs[0].timetable_id == 70
    assert overnight.legs[0].minutes == 180
    # Fastest is the earliest arrival, as the fastest search answers: the overnight train
    # (09:30), not the flight with the shorter ride that lands at 10:15.
    assert overnight.badges == ["fastest", "cheapest"]
    assert overnight.trades == [("more_transfers", 1)]
    assert flight.badges == ["transfers"]
    assert flight.trades == [("later", 45), ("dearer", 750.0)]


def test_arrive_by_options_call_the_latest_departure_fastest():
    # With "arrive by", fastest is the latest departure (docs/routing.md): the flight
    # leaving at 08:00 on the 4th, not the overnight train that arrives earlier.
    cards = jv.itinerary_cards(sample_result(), dt.date(2025, 3, 4), compare=True, arrive_by=True)
    overnight, flight = cards
    assert flight.badges == ["fastest", "transfers"]
    assert overnight.badges == ["cheapest"]
    assert ("earlier", 600) in overnight.trades  # left 22:00 the day before, 10 h earlier


def test_day_marks_count_days_either_way(app):
    from transit.web.i18n import day_mark

    with app.test_request_context("/?lang=en"):
        assert [day_mark(n) for n in (0, 1, 2, -1, -2)] == [
            "", "+1 day", "+2 days", "−1 day", "−2 days"
        ]
    with app.test_request_context("/?lang=zh"):
        assert day_mark(-1) == "−1 天" and day_mark(1) == "+1 天"


def test_journey_map_places_cities_by_coordinates():
    places = {"北京": (39.9, 116.4), "南京": (32.06, 118.8), "上海": (31.23, 121.47)}
    drawn = tv.journey_map(
        places, [("北京", "南京", "train", "Z9"), ("南京", "上海", "train", "G7")]
    )
    assert drawn is not None and len(drawn.legs) == 2
    at = {p.name: (p.x, p.y) for p in drawn.points}
    assert at["上海"][0] > at["南京"][0] > at["北京"][0]  # east is right
    assert at["北京"][1] < at["南京"][1]  # north is up
    for x, y in at.values():
        assert 0 <= x <= drawn.width and 0 <= y <= drawn.height
    # Legs join up: each starts where the previous ended.
    assert (drawn.legs[0].x2, drawn.legs[0].y2) == (drawn.legs[1].x1, drawn.legs[1].y1)
    assert tv.journey_map(places, [("北京", "Atlantis", "train", "X")]) is None


def test_journey_map_names_of_nearby_cities_do_not_overlap():
    # QA's 广州 -> 乌鲁木齐 journey: 南宁's name was written over 柳州's dot.
    places = {"广州": (23.13, 113.26), "南宁": (22.82, 108.37), "柳州": (24.33, 109.41),
              "兰州": (36.06, 103.83), "乌鲁木齐": (43.83, 87.62)}
    drawn = tv.journey_map(places, [("广州", "南宁", "train", "D98"), ("南宁", "柳州", "train", "K236"),
                                    ("柳州", "兰州", "flight", "MU5230"),
                                    ("兰州", "乌鲁木齐", "flight", "MU5205")])
    assert drawn is not None

    def box(p: tv.MapPoint) -> tuple[float, float, float, float]:
        w = tv._label_width(p.name)
        left = p.label_x if p.anchor == "start" else p.label_x - w
        return (left, p.label_y - tv.LABEL_HEIGHT, left + w, p.label_y)

    def apart(one: tuple[float, ...], other: tuple[float, ...]) -> bool:
        x1, y1, x2, y2 = one
        a1, b1, a2, b2 = other
        return x2 <= a1 or x1 >= a2 or y2 <= b1 or y1 >= b2

    dots = [(p.x - 4, p.y - 4, p.x + 4, p.y + 4) for p in drawn.points]
    boxes = [box(p) for p in drawn.points]
    for i, label in enumerate(boxes):
        x1, y1, x2, y2 = label
        assert 0 <= x1 and x2 <= drawn.width and 0 <= y1 and y2 <= drawn.height
        assert all(apart(label, other) for other in boxes[i + 1:]), drawn.points
        assert all(apart(label, dot) for k, dot in enumerate(dots) if k != i), drawn.points


@given(
    st.lists(
        st.tuples(st.floats(-60, 70), st.floats(-179, 179)), min_size=2, max_size=6, unique=True
    )
)
def test_journey_map_always_fits_the_box(coordinates):
    places = {f"c{i}": c for i, c in enumerate(coordinates)}
    names = list(places)
    legs = [(a, b, "train", "x") for a, b in zip(names, names[1:], strict=False)]
    drawn = tv.journey_map(places, legs)
    assert drawn is not None and len(drawn.legs) == len(legs)
    for point in drawn.points:
        assert -0.1 <= point.x <= drawn.width + 0.1 and -0.1 <= point.y <= drawn.height + 0.1



# --- The demo network ---------------------------------------------------------------------


@pytest.fixture
def demo(app) -> None:
    from transit.demo import build_demo_feed
    from transit.timetable.loader import load_feed

    with app.app_context():
        load_feed(db.session, build_demo_feed(1))
        db.session.commit()


def test_pages_render_with_the_demo_network(app, client, demo):
    from sqlalchemy import func, select

    with app.app_context():
        cities = db.session.execute(select(City.id, City.name).order_by(City.id)).all()
        services = db.session.scalars(select(Service.id).order_by(Service.id)).all()
        overnight = db.session.scalar(
            select(Timetable.service_id).join(Stop).where(Stop.arrival >= 86400).limit(1)
        )
        calendar_start = db.session.scalar(select(func.min(Calendar.start_date)))
    day = (calendar_start or dt.date.today()).isoformat()
    assert len(cities) >= 40
    listing = page(client, "/cities")
    assert all(name in listing for _, name in cities[:40])
    boards = [page(client, f"/cities/{cid}?date={day}") for cid, _ in cities[:10]]
    assert sum(html.count('<tr>') for html in boards) > 20
    for sid in services[:: max(1, len(services) // 25)]:
        assert "table class=\"stops\"" in page(client, f"/services/{sid}")
    assert overnight is not None and "+1 day" in page(client, f"/services/{overnight}")
    assert "北京" in page(client, "/", headers={"Accept-Language": "zh"})
    html = page(client, f"/routes?from=北京&to=广州&date={day}&time=08:00&criterion=options")
    assert cards_of(html) and "No route found." not in html


def test_routes_without_a_question_shows_the_empty_form(client, network):
    html = page(client, "/routes")
    assert 'name="from"' in html and "field-error" not in html


# --- Route results through the engine -----------------------------------------------------


def cards_of(html: str) -> list[str]:
    return re.findall(r'<article class="card itinerary".*?</article>', html, re.S)


def test_fastest_route_card(client, network):
    html = page(client, "/routes?from=北京&to=上海&date=2025-03-03&time=07:00&criterion=fastest")
    cards = cards_of(html)
    assert cards and "MU5101" in cards[0]
    first = cards[0]
    assert "08:00" in first and "10:15" in first and "2 h 15 min" in first and "¥1,200.00" in first
    assert 'data-legs="1"' in first and first.count('<line class="leg') == 1
    # The form shows what was asked.
    assert 'value="北京"' in html and 'value="2025-03-03"' in html and 'value="07:00"' in html
    assert '<option value="fastest" selected>' in html


def test_cheapest_route_uses_the_zone_fare_and_marks_the_next_day(client, network):
    html = page(client, "/routes?from=北京&to=上海&depart=2025-03-03T07:00&criterion=cheapest")
    first = cards_of(html)[0]
    assert "Z9" in first and "¥350.00" in first
    assert re.search(r'03:00</time><span class="day-mark">\+1 day</span>', first)
    link = f'/services/{network["train"]}?variant={network["night"]}#variant-{network["night"]}'
    assert f'href="{link}"' in first
    assert "Z9" in page(client, link.split("#")[0])


def test_options_compare_and_transfers_show_waits(client, network):
    html = page(client, "/routes?from=北京&to=上海&date=2025-03-03&time=07:00&criterion=options")
    assert 'class="cards side-by-side"' in html
    cards = cards_of(html)
    assert len(cards) >= 2
    assert any("badge-fastest" in c for c in cards) and any("badge-cheapest" in c for c in cards)
    assert "later than the fastest" in html and "more than the cheapest" in html
    for card in cards:
        legs = int(re.search(r'data-legs="(\d+)"', card).group(1))
        assert card.count('<line class="leg') == legs == card.count('class="step leg-step"')


def test_mode_filter_and_arrive_by(client, network):
    html = page(client, "/routes?from=北京&to=上海&date=2025-03-03&time=07:00&criterion=cheapest&modes=flight")
    assert "MU5101" in cards_of(html)[0]
    assert 'value="train" checked' not in html and 'value="flight" checked' in html
    html = page(client, "/routes?from=北京&to=上海&arrive_by=2025-03-04T12:00&criterion=fastest")
    assert 'value="arrive_by" checked' in html
    assert cards_of(html)


def test_no_route_says_why(client, network):
    html = page(client, "/routes?from=北京&to=Nowhere&date=2025-03-03&time=07:00")
    assert "No route found." in html
    assert re.search(r'<p class="reason">[^<]+</p>', html)
    assert not cards_of(html)


def test_route_results_in_chinese(client, network):
    html = page(client, "/routes?from=北京&to=上海&date=2025-03-03&time=07:00&criterion=cheapest&lang=zh")
    first = cards_of(html)[0]
    assert "历时" in first and "+1 天" in first and "¥350.00" in first


def test_why_nothing_was_found_is_said_in_the_page_language(client, network):
    url = "/routes?from=北京&to=Nowhere&date=2025-03-03&time=07:00&criterion=fastest"
    english = page(client, url + "&lang=en")
    nowhere = (
        "No service connects 北京 to Nowhere at any time: no sequence of rides leads from one "
        "to the other."
    )
    assert nowhere in english
    # The flight leaves at 08:00 but lands after the hour's window.
    late = "/routes?from=北京&to=上海&date=2025-03-03&time=07:50&window_hours=1&modes=flight"
    chinese = page(client, late + "&lang=zh")
    assert "在1小时的时间范围内，无法从北京到达上海。" in chinese
    # The API keeps the engine's English text.
    reply = client.get("/api/v1/routes?from=北京&to=Nowhere&depart=2025-03-03T07:00")
    assert reply.get_json()["message"] == nowhere
    # Only the train serves Nanjing: by air, the mode filter removed every journey.
    filtered = page(client, "/routes?from=北京&to=南京&date=2025-03-03&time=07:00"
                    "&criterion=fastest&modes=flight&lang=zh")
    assert "从北京到南京没有只乘坐航班的行程" in filtered


def _around_links(html: str) -> dict[str, str]:
    nav = html[html.index('class="day-nav around"'):]
    nav = nav[: nav.index("</nav>")]
    return {
        kind: unquote(unescape(href))
        for kind, href in re.findall(r'class="(earlier|later)" href="([^"]+)"', nav)
    }


def test_results_link_to_the_journeys_before_and_after(client, network):
    # A journey planner shows the next and the previous journey, not only the asked one.
    html = page(client, "/routes?from=北京&to=上海&date=2025-03-05&time=06:30")
    links = _around_links(html)
    assert set(links) == {"earlier", "later"}
    assert "time=08:00" in links["earlier"] and "date=2025-03-04" in links["earlier"]
    assert "time=22:00" in links["later"] and "date=2025-03-05" in links["later"]
    assert "Later: leave at 22:00" in html
    # In Chinese with its own colon (it was an English one inside the Chinese words).
    chinese = page(client, "/routes?from=北京&to=上海&date=2025-03-05&time=06:30&lang=zh")
    assert "更晚：22:00出发" in chinese
    # Another day in Chinese brackets, without a space before them.
    assert re.search(r"更早：08:00出发（[^）]+）", chinese), chinese[chinese.index("更早"):][:80]
    later = page(client, links["later"])
    assert re.findall(r'class="service-link"[^>]*>([^<]+)</a>', later)[0] == "Z9"
    earlier = page(client, links["earlier"])
    assert 'value="2025-03-04"' in earlier
    assert re.findall(r'class="service-link"[^>]*>([^<]+)</a>', earlier)[0] == "MU5101"
    # Arriving by a deadline, the links move the deadline.
    html = page(client, "/routes?from=北京&to=上海&date=2025-03-05&time=12:00&time_kind=arrive_by")
    links = _around_links(html)
    assert "time_kind=arrive_by" in links["earlier"] and "time=10:15" in links["earlier"]
    assert "date=2025-03-04" in links["earlier"]
