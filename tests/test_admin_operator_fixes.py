"""What an operator entering a network by hand ran into (the data-entry QA pass).

Each test failed before its fix: the admin service page showed a variant's weekdays but
not its dates and exceptions; the services list's city filter took no other name; a time
with its day both typed ("00:40+1") and chosen was quoted back as "00:40+1+1".
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from tests.admin_helpers import post
from tests.test_admin_stops_editor import _as_opened
from transit.models import Calendar, CalendarDate, City, Timetable
from transit.web.extensions import db


def test_the_service_page_says_each_variants_dates_and_exceptions(app, client, admin):
    with app.app_context():
        calendar = db.session.scalar(select(Calendar).join(Timetable).where(
            Timetable.id == admin["g1_variant"]))
        calendar.weekdays = 0b0011111
        calendar.start_date, calendar.end_date = dt.date(2026, 11, 30), dt.date(2027, 3, 31)
        calendar.exceptions = [CalendarDate(date=dt.date(2026, 12, 8), added=False),
                               CalendarDate(date=dt.date(2026, 12, 5), added=True)]
        db.session.commit()
    html = client.get(f"/admin/services/{admin['g1']}").get_data(as_text=True)
    cell = re.search(r'<td class="days-of-operation">(.*?)</td>', html, re.S)[1]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
    assert text == ("Mon–Fri From Monday, 30 November 2026 to Wednesday, 31 March 2027 "
                    "Also runs on: 5 Dec 2026 Does not run on: 8 Dec 2026"), text


def test_the_services_list_finds_a_city_by_its_other_name_or_pinyin(app, client, admin):
    with app.app_context():
        jinan = db.session.get(City, admin["jinan"])
        jinan.name, jinan.aliases = "济南", ["Tsinan"]
        db.session.commit()
    for typed in ("Tsinan", "tsinan", "Jinan", "JNK", "济南"):
        html = client.get("/admin/services", query_string={"city": typed}).get_data(as_text=True)
        assert "There is no city with this name or code." not in html, typed
        assert f'/admin/services/{admin["g1"]}"' in html, typed
    html = client.get("/admin/services", query_string={"city": "Nowhere"}).get_data(as_text=True)
    assert "There is no city with this name or code." in html


def test_a_day_both_typed_and_chosen_is_said_as_typed(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    form = _as_opened(client, url)
    form.setlist("stop_arrival", ["", "00:40+1", "12:40"])
    form.setlist("stop_arrival_day", ["0", "1", "0"])
    form.setlist("stop_departure", ["08:00", "7:5x", ""])
    form.setlist("stop_departure_day", ["0", "1", "0"])
    reply = post(client, url, list(form.items(multi=True)))
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert "Give the day once" in html
    assert "+1+1" not in html
    assert "&#39;7:5x&#39; is not a time" in html  # as typed, not "7:5x+1"


def test_a_variant_copied_with_its_times_moved_is_saved_as_a_new_one(app, client, admin):
    service = f"/admin/services/{admin['g1']}"
    page = client.get(service).get_data(as_text=True)
    copy = f"{service}/variants/new?copy={admin['g1_variant']}"
    assert f'href="{copy}"'.replace("&", "&amp;") in page
    form = _as_opened(client, copy + "&shift=90")
    assert form.getlist("stop_departure") == ["09:30", "11:02", ""]
    assert form.getlist("stop_arrival") == ["", "11:00", "14:10"]
    assert form.getlist("stop_fare") == ["", "200", "350"]
    assert form["code"] == ""
    reply = post(client, f"{service}/variants/new", list(form.items(multi=True)),
                 form_url=copy + "&shift=90")
    assert reply.status_code == 302, reply.get_data(as_text=True)
    with app.app_context():
        variants = db.session.scalars(select(Timetable).where(
            Timetable.service_id == admin["g1"]).order_by(Timetable.id)).all()
        assert [v.code for v in variants] == ["1", "2"]
        assert [(s.arrival, s.departure, s.fare_cents) for s in variants[1].stops] == [
            (None, 9 * 3600 + 1800, None), (11 * 3600, 11 * 3600 + 120, 20000),
            (14 * 3600 + 600, None, 35000)]
    # A shift past the service day's start moves nothing and says why.
    early = client.get(copy + "&shift=-600")
    assert early.status_code == 422
    assert "nothing was shifted" in early.get_data(as_text=True)
    assert client.get(copy + "&shift=abc").status_code == 422
    # Another service's variant is no copy of this one's.
    assert client.get(f"/admin/services/999/variants/new?copy={admin['g1_variant']}").status_code == 404


def test_days_that_never_fall_within_the_dates_are_refused(app, client, admin):
    # Saturdays only, from Tuesday 2026-12-01 to Friday 2026-12-04: saved before, though it
    # could never run (as "no weekday ticked" always was refused).
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    form = _as_opened(client, url)
    form.setlist("weekdays", ["sat"])
    form["start_date"], form["end_date"] = "2026-12-01", "2026-12-04"
    reply = post(client, url, list(form.items(multi=True)))
    assert reply.status_code == 422
    assert "so it would never run" in reply.get_data(as_text=True)
    # Mondays only where the only Monday is removed: the same.
    form.setlist("weekdays", ["mon"])
    form["start_date"], form["end_date"], form["removed"] = "2026-11-30", "2026-12-06", "2026-11-30"
    assert post(client, url, list(form.items(multi=True))).status_code == 422
    # One Saturday within the dates: saved.
    form.setlist("weekdays", ["sat"])
    form["start_date"], form["end_date"], form["removed"] = "2026-12-01", "2026-12-05", ""
    assert post(client, url, list(form.items(multi=True))).status_code == 302


def test_a_fields_hint_is_read_with_it(client, admin):
    # "Three letters, such as CNY." was plain text beside the field (WCAG 3.3.2).
    html = client.get(f"/admin/services/{admin['g1']}").get_data(as_text=True)
    assert re.search(r'<input id="f-currency"[^>]*aria-describedby="hint-currency"', html)
    assert 'id="hint-currency"' in html


def test_a_rows_field_is_joined_in_the_readers_punctuation(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    form = _as_opened(client, url)
    form.setlist("stop_fare", ["", "-1", "350"])
    reply = post(client, url + "?lang=zh", list(form.items(multi=True)), form_url=url + "?lang=zh")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "停靠站第 2 行，票价" in html and "停靠站第 2 行, " not in html


def test_the_login_marks_both_fields_when_refused(app, client):
    from tests.admin_helpers import csrf_token, make_admin

    make_admin(app)

    token = csrf_token(client, "/login")
    html = client.post("/login", data={"username": "editor", "password": "wrong",
                                       "csrf_token": token}).get_data(as_text=True)
    for field in ("username", "password"):
        assert re.search(rf'<input id="{field}"[^>]*aria-invalid="true" '
                         rf'aria-describedby="login-error"', html), field


def test_a_refused_cancelled_checkbox_is_marked_with_its_error(client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    reply = post(client, url, {"service_date": "2026-03-02", "origin": "0", "destination": "2",
                               "cancelled": "1", "actual_departure": "2026-03-02T08:03",
                               "actual_arrival": ""})
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert re.search(r'<input type="checkbox" name="cancelled"[^>]*aria-invalid="true"', html), html
