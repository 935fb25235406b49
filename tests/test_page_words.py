"""Wording and display on the pages:

- a message that counts something says "1 run was", "2 runs were" (ngettext), not "1 runs";
- on the night the clocks go back, a station board tells the two 01:30s apart.
"""

from __future__ import annotations

import re

import pytest

from tests.admin_helpers import delete_city
from tests.test_pages import page
from tests.test_service_page_fixes import _history, build_zones
from transit.models import Calendar, City, Service, Stop, Timetable
from transit.web.admin import services as admin_services
from transit.web.extensions import db

# --- Counts before a plural noun ---------------------------------------------------------------


def _caption(client, sid: int) -> str:
    html = page(client, f"/services/{sid}")
    caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", html, re.S)
    assert caption is not None
    return caption.group(1)


@pytest.mark.parametrize(
    ("cancelled", "words"),
    [(1, "1 run was cancelled or has no arrival time."),
     (2, "2 runs were cancelled or have no arrival time.")],
)
def test_the_chart_counts_cancelled_runs_in_good_english(app, client, cancelled, words):
    with app.app_context():
        sid = _history(db.session, [199.0, 200.0] + [None] * cancelled)
    caption = _caption(client, sid)
    assert words in caption
    assert "1 runs" not in caption


@pytest.mark.parametrize(
    ("runs", "words"),
    [([201.0], "The one recorded run took 201 minutes; the timetable says 199."),
     ([201.0, 197.0], "The last 2 recorded runs took 197 to 201 minutes (median 199); the "
                      "timetable says 199.")],
)
def test_the_chart_describes_one_recorded_run_without_a_range(app, client, runs, words):
    with app.app_context():
        sid = _history(db.session, runs)
    caption = _caption(client, sid)
    assert words in caption
    assert "1 recorded runs" not in caption


def _add_service_at(app, city_id: int, number: str) -> None:
    with app.app_context():
        city = db.session.get(City, city_id)
        other = City(name=f"Elsewhere {number}", timezone="Asia/Shanghai")
        service = Service(number=number, mode="train")
        timetable = Timetable(code="1", calendar=Calendar(weekdays=0b1111111), service=service)
        timetable.stops = [Stop(sequence=0, city=city, departure=8 * 3600),
                           Stop(sequence=1, city=other, arrival=9 * 3600)]
        db.session.add(service)
        db.session.commit()


@pytest.mark.parametrize(
    ("extra", "words"),
    [(0, "City Jinan deleted, with 1 service."), (1, "City Jinan deleted, with 2 services.")],
)
def test_deleting_a_city_counts_its_services_in_good_english(app, client, admin, extra, words):
    for k in range(extra):
        _add_service_at(app, admin["jinan"], f"K{k}")
    reply = delete_city(client, admin["jinan"], follow_redirects=True)
    assert reply.status_code == 200
    assert words in reply.get_data(as_text=True)


def test_a_field_of_one_character_says_character(app):
    with app.test_request_context("/"):
        assert admin_services._plain(
            "code", {"type": "string_too_long", "ctx": {"max_length": 1}}
        ) == "at most 1 character"
        assert admin_services._plain(
            "code", {"type": "string_too_long", "ctx": {"max_length": 2}}
        ) == "at most 2 characters"


# --- The night the clocks go back --------------------------------------------------------------


def _times(client, city_id: int, day: str) -> list[tuple[str, str]]:
    """(what the time cell says, service number) for each departure on the board."""
    html = page(client, f"/cities/{city_id}?date={day}")
    start = html.index('class="board board-departures"')
    table = html[start : html.index("</table>", start)]
    cells = re.findall(r'<td class="time">(.*?)</td>\s*<td>.*?<a href="[^"]*">([^<]+)</a>',
                       table, re.S)
    return [(re.sub(r"<[^>]+>", "", cell).strip(), number) for cell, number in cells]


@pytest.fixture
def zones(app) -> dict[str, int]:
    with app.app_context():
        return build_zones(db.session)


def test_the_two_0130s_of_the_fall_back_night_are_told_apart(client, zones):
    # New York, 1 November 2026: N1 (00:30 of its service day) leaves at the first 01:30,
    # still on summer time; T1 (01:30) at the second, an hour later, on standard time.
    board = _times(client, zones["new_york"], "2026-11-01")
    assert board[:2] == [("01:30 EDT", "N1"), ("01:30 EST", "T1")]
    # Outside the repeated hour the times stand alone, as on any other day.
    assert ("22:00", "F1") in board
    html = page(client, f"/cities/{zones['new_york']}?date=2026-11-01")
    assert '<abbr class="zone-mark" title="Before the clocks go back">EDT</abbr>' in html
    assert '<abbr class="zone-mark" title="After the clocks go back">EST</abbr>' in html
    # The days around, and the night the clocks go forward, have no marks.
    for day in ("2026-10-31", "2026-11-02", "2026-03-08"):
        assert all(" " not in time for time, _ in _times(client, zones["new_york"], day)), day
        assert "zone-mark" not in page(client, f"/cities/{zones['new_york']}?date={day}")


def test_a_zone_without_lettered_abbreviations_shows_its_offset():
    import datetime as dt
    from zoneinfo import ZoneInfo

    from transit.web.timetable_views import repeated_hour_mark

    santiago = ZoneInfo("America/Santiago")  # clocks go back at midnight on 5 April 2026
    first = dt.datetime(2026, 4, 4, 23, 30, tzinfo=santiago)
    assert repeated_hour_mark(first) == ("UTC\u221203", False)
    assert repeated_hour_mark(first.replace(fold=1)) == ("UTC\u221204", True)
    assert repeated_hour_mark(dt.datetime(2026, 4, 4, 21, 30, tzinfo=santiago)) == ("", False)
    new_york = ZoneInfo("America/New_York")
    assert repeated_hour_mark(dt.datetime(2026, 11, 1, 1, 30, tzinfo=new_york)) == ("EDT", False)
