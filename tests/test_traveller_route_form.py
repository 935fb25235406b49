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
