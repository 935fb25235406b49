"""The route form (traveller QA findings 2 and 5): "arrive by" read in the destination's
zone, and a time whose offset moves it out of the years refused with the form's own
message."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.test_pages import build_network, page
from tests.test_traveller_connections import _service
from transit.models import Calendar, City
from transit.web import journey_views as jv
from transit.web.extensions import db

H = 3600
DAY = dt.date(2025, 3, 3)


# --- 2. "Arrive by" is read in the destination's time zone ---------------------------------


@pytest.fixture
def two_zones(app) -> None:
    """Beijing (UTC+8) → Urumqi (UTC+6): F1 arrives 17:00 Urumqi time (11:00 UTC), F2 19:30
    (13:30 UTC)."""
    with app.app_context():
        beijing = City(name="Beijing", timezone="Asia/Shanghai")
        urumqi = City(name="Urumqi", timezone="Asia/Urumqi")
        daily = Calendar(name="daily")
        db.session.add_all([
            _service("F1", daily, (beijing, 14 * H), (urumqi, 17 * H)),
            _service("F2", daily, (beijing, 16 * H), (urumqi, 19 * H + 30 * 60)),
        ])
        db.session.commit()


def _services(html: str) -> list[str]:
    return re.findall(r'class="service-link"[^>]*>([^<]+)</a>', html)


@pytest.mark.parametrize(
    "query",
    [f"date={DAY}&time=20:00&time_kind=arrive_by", f"arrive_by={DAY}T20:00"],
)
def test_arrive_by_is_read_in_the_destinations_zone(client, two_zones, query):
    # By 20:00 in Urumqi (14:00 UTC) both flights arrive; the latest departure is F2. Read
    # in Beijing's zone (12:00 UTC) only F1 would.
    html = page(client, f"/routes?from=Beijing&to=Urumqi&criterion=fastest&{query}")
    assert _services(html) == ["F2"]
    assert 'value="20:00"' in html  # the form shows the deadline as asked


def test_leave_at_is_still_read_in_the_origins_zone(client, two_zones):
    # 15:00 in Beijing is after F1 left (14:00 there).
    html = page(client, f"/routes?from=Beijing&to=Urumqi&date={DAY}&time=15:00")
    assert _services(html) == ["F2"]


def test_aware_arrive_by_is_shown_on_the_destinations_clock():
    zones = {"Beijing": "Asia/Shanghai", "Urumqi": "Asia/Urumqi"}
    args = {"from": "Beijing", "to": "Urumqi", "arrive_by": "2025-03-03T14:00:00+00:00"}
    form = jv.parse_route_form(
        args, lambda name: [], known_modes=["train"],
        find_city=lambda text: (text, zones[text]), now=lambda zone: dt.datetime(2025, 3, 3),
    )
    assert not form.errors
    assert form.query_kwargs()["arrive_by"].isoformat() == "2025-03-03T20:00:00+06:00"
    assert (form.date, form.time) == ("2025-03-03", "20:00")


# --- 5. A time whose offset moves it out of the years gets the form's own message -----------


@pytest.mark.parametrize(
    ("when", "lang", "text"),
    [
        ("1900-01-01T00:00%2B14:00", "zh", "请输入 1900 年到 2999 年之间的日期。"),
        ("2999-12-31T23:00-12:00", "en", "Enter a date in the years 1900 to 2999."),
        ("0001-01-01T00:00%2B14:00", "en", "Enter a date in the years 1900 to 2999."),
    ],
)
def test_a_time_out_of_the_years_after_its_offset_is_a_form_error(client, when, lang, text):
    with client.application.app_context():
        build_network(db.session)
    html = page(client, f"/routes?from=北京&to=上海&depart={when}&lang={lang}", 400)
    match = re.search(r'<p class="field-error" id="time-error" role="alert">([^<]*)</p>', html)
    assert match and match.group(1) == text


# --- Arrive by: nothing that has already left -------------------------------------------------


def _daily(number: str, calendar: Calendar, a: City, b: City, leaves: int, fare: int) -> None:
    """A daily run from ``a`` at ``leaves`` (seconds from UTC midnight, any day) to ``b`` an
    hour later."""
    leaves %= 24 * H
    service = _service(number, calendar, (a, leaves), (b, leaves + H))
    service.timetables[0].stops[1].fare_cents = fare
    db.session.add(service)


@pytest.fixture
def around_now(app) -> dt.datetime:
    """From A to B (both UTC): a cheap run that left two hours ago, a dear one in an hour."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    seconds = now.hour * H + now.minute * 60
    with app.app_context():
        a, b = City(name="A", timezone="UTC"), City(name="B", timezone="UTC")
        daily = Calendar(name="daily")
        _daily("LEFT", daily, a, b, seconds - 2 * H, 100)
        _daily("LATER", daily, a, b, seconds + H, 9000)
        db.session.commit()
    return now


@pytest.mark.parametrize("criterion", ["cheapest", "options", "transfers"])
def test_arrive_by_today_proposes_no_journey_that_has_left(client, around_now, criterion):
    # QA: arriving by this evening, the cheapest answer was a train that had left hours ago.
    deadline = around_now + dt.timedelta(hours=3)
    html = page(client, f"/routes?from=A&to=B&time_kind=arrive_by&date={deadline.date()}"
                        f"&time={deadline:%H:%M}&criterion={criterion}")
    assert _services(html) == ["LATER"]
    reply = client.get(f"/api/v1/routes?from=A&to=B&arrive_by={deadline:%Y-%m-%dT%H:%M}"
                       f"&criterion={criterion}")
    assert [leg["service"] for it in reply.get_json()["itineraries"] for leg in it["legs"]] == [
        "LATER"
    ]
    assert "Last-Modified" not in reply.headers


def test_arrive_by_a_deadline_already_past_is_answered_as_asked(client, around_now):
    deadline = around_now - dt.timedelta(minutes=30)
    html = page(client, f"/routes?from=A&to=B&time_kind=arrive_by&date={deadline.date()}"
                        f"&time={deadline:%H:%M}&criterion=cheapest")
    assert _services(html) == ["LEFT"]


def _form(date: str, time: str) -> jv.RouteForm:
    args = {"from": "Beijing", "to": "Urumqi", "date": date, "time": time}
    return jv.parse_route_form(
        args, lambda name: [], known_modes=["train"],
        find_city=lambda text: (text, "Asia/Shanghai"),
        now=lambda zone: dt.datetime(2025, 3, 3, 9, 48, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )


def test_a_date_without_a_time_leaves_from_the_start_of_that_day():
    # QA: a later date with an empty time took the clock's time of asking (09:48), so the
    # morning's trains were missing; the API reads a bare date as its midnight.
    later = _form("2025-03-05", "")
    assert not later.errors
    assert later.when is not None and later.when.isoformat() == "2025-03-05T00:00:00+08:00"
    assert (later.date, later.time) == ("2025-03-05", "00:00")
    today = _form("2025-03-03", "")
    assert today.when is not None and today.when.isoformat() == "2025-03-03T09:48:00+08:00"
