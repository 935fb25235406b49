"""The refusals of ``transit.schemas`` (stop order and times, calendars, times that cannot be
read) are ``Words``: the API keeps its English, the Chinese admin pages say them through the
catalog, whether they come from a model's validator (through pydantic) or from the checks
after it (``stop_problems``).

The page tests fail until the msgids of /tmp/zh-schemas.txt are in the compiled catalog
(translations/zh/LC_MESSAGES/messages.mo).
"""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from tests.admin_helpers import post
from transit import auth
from transit import schemas as s
from transit.models import Calendar
from transit.web.extensions import db
from transit.words import Words

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
OUT_OF_ORDER = ("arrival 09:00 is before the previous departure 12:05 (stops out of order, or "
                "a time after midnight not marked as the next day?)")


def _words(message: str, english: str) -> Words:
    assert isinstance(message, Words), f"plain text, not Words: {message!r}"
    assert message == english
    return message


# --- the messages are Words, their English unchanged ------------------------------------------


def test_stop_problems_are_words():
    problems = dict(s.stop_problems([
        s.StopTimes(8 * 3600, None, 500, place="Beijing"),
        s.StopTimes(11 * 3600, 10 * 3600 + 1800, place="Jinan"),
        s.StopTimes(12 * 3600, 12 * 3600 + 300, place="Jinan"),
        s.StopTimes(9 * 3600, None, place="Shanghai"),
        s.StopTimes(None, None, place="Wuhan"),
    ]))
    _words(problems["stops[0]"], "the first stop needs a departure time")
    _words(problems["stops[0].fare_cents"], "the first stop has no leg before it, so no fare")
    _words(problems["stops[1]"], "arrival 11:00 is after departure 10:30")
    _words(problems["stops[2].city"], "the same city twice in a row")
    _words(problems["stops[3]"], OUT_OF_ORDER)
    _words(problems["stops[4]"], "a stop needs an arrival or a departure time")
    [(_, message)] = s.stop_problems([s.StopTimes(None, 3600)])
    _words(message, "the last stop needs an arrival time")
    fares = s.stop_problems([s.StopTimes(None, 0), s.StopTimes(60, 120, s.MAX_CENTS),
                             s.StopTimes(180, None, 1)])
    assert fares == [("stops[2].fare_cents", "the leg fares add up to more than 21,474,836.47 "
                      "by this stop")]
    assert isinstance(fares[0][1], Words)


def test_model_refusals_keep_their_words_through_pydantic():
    with pytest.raises(ValueError) as caught:
        s.parse_time("7h10")
    _words(caught.value.args[0], "'7h10' is not a time: write 'HH:MM' or 'HH:MM:SS', with "
           "'+1' for the next day")
    with pytest.raises(ValidationError) as refused:
        s.CalendarCreate.model_validate({"start_date": "2026-05-01", "end_date": "2026-04-01"})
    [detail] = refused.value.errors(include_url=False)
    assert detail["msg"] == "Value error, end_date: the validity ends before it starts (start_date)"
    raised = detail["ctx"]["error"]
    assert isinstance(raised, s.FieldRefusal) and raised.field == "end_date"
    _words(raised.words, "the validity ends before it starts (start_date)")
    with pytest.raises(ValidationError) as refused:
        s.CalendarCreate.model_validate({"added": ["2026-05-01"], "removed": ["2026-05-01"]})
    raised = refused.value.errors(include_url=False)[0]["ctx"]["error"]
    assert str(raised) == "removed: a date cannot be both added and removed: 2026-05-01"
    _words(raised.words, "a date cannot be both added and removed: 2026-05-01")


# --- the Chinese admin pages -------------------------------------------------------------------


def _variant_form(**changes):
    form = {
        "code": "", "headsign": "", "weekdays": WEEK, "start_date": "", "end_date": "",
        "added": "", "removed": "",
        "stop_city": ["Beijing", "Jinan", "Jinan", "Shanghai"],
        "stop_arrival": ["08:00", "11:00", "12:00", "09:00"],
        "stop_arrival_day": ["0", "0", "0", "0"],
        "stop_departure": ["", "10:30", "12:05", ""],
        "stop_departure_day": ["0", "0", "0", "0"],
        "stop_fare": ["", "", "", ""],
    }
    form.update(changes)
    return form


def _page(reply) -> str:
    assert reply.status_code == 422
    return reply.get_data(as_text=True).replace("&#39;", "'")


def test_chinese_stops_editor_says_the_stop_problems_in_chinese(client, admin):
    client.get("/admin/?lang=zh")
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    html = _page(post(client, url, _variant_form()))
    for chinese in ("首站需要出发时间", "到达时间 11:00 晚于出发时间 10:30", "同一城市连续出现两次",
                    "到达时间 09:00 早于上一站的出发时间 12:05（停靠站顺序有误，或零点后的时间未标为次日？）"):
        assert chinese in html, chinese
    for english in ("needs a departure time", "is after departure", "twice in a row",
                    "before the previous departure"):
        assert english not in html, english
    # A time the model cannot read (pydantic's error), beside a fare on the first stop (the
    # checks after the model).
    form = _variant_form(stop_arrival=["", "7h10", "12:00", "13:00"],
                         stop_departure=["08:00", "", "12:05", ""], stop_fare=["5", "", "", ""])
    html = _page(post(client, url, form))
    assert "'7h10' 不是时间：请写作 'HH:MM' 或 'HH:MM:SS'，次日加 '+1'" in html
    assert "首站之前没有区段，因此没有票价" in html
    assert "is not a time" not in html and "no leg before it" not in html


def test_chinese_calendar_forms_say_the_calendar_problems_in_chinese(client, admin):
    client.get("/admin/?lang=zh")
    stops = {"stop_city": ["Beijing", "Shanghai"], "stop_arrival": ["", "12:00"],
             "stop_arrival_day": ["0", "0"], "stop_departure": ["08:00", ""],
             "stop_departure_day": ["0", "0"], "stop_fare": ["", ""]}
    url = f"/admin/services/{admin['g1']}/variants/new"
    html = _page(post(client, url, _variant_form(start_date="2026-05-01",
                                                  end_date="2026-04-01", **stops)))
    assert "有效期的结束日期早于开始日期" in html
    assert "ends before it starts" not in html
    new = {"number": "Z9", "mode": "train", "operator": "CR", "route": "", "name": "",
           "currency": "CNY", **_variant_form(added="2026-05-01", removed="2026-05-01", **stops)}
    html = _page(post(client, "/admin/services/new", new))
    assert "同一日期不能既另外运行又停运：2026-05-01" in html
    assert "both added and removed" not in html


# --- the API keeps the English ------------------------------------------------------------------


def test_the_api_answers_the_same_english(app, client, admin):
    with app.app_context():
        auth.create_user(db.session(), "api-admin", "a long test password", is_admin=True)
        headers = {"Authorization": f"Bearer {auth.issue_token(db.session(), 'api-admin')}"}
        calendar = Calendar(name="spring", start_date=dt.date(2026, 3, 1))
        db.session.add(calendar)
        db.session.commit()
        calendar_id = calendar.id

    def errors(reply) -> set[tuple[str, str]]:
        assert reply.status_code == 422, reply.data
        return {(item["field"], item["message"]) for item in reply.get_json()["errors"]}

    stops = [{"city": "Beijing", "arrival": "08:00", "fare_cents": 5},
             {"city": "Jinan", "arrival": "11:00", "departure": "10:30"},
             {"city": "Jinan", "arrival": "12:00", "departure": "12:05"},
             {"city": "Shanghai", "arrival": "09:00"}]
    body = {"number": "Z9", "mode": "train", "timetables": [
        {"calendar": {"weekdays": WEEK}, "stops": stops}]}
    reply = client.post("/api/v1/services", json=body, headers=headers)
    where = "timetables[0].stops"
    assert errors(reply) == {
        (f"{where}[0]", "the first stop needs a departure time"),
        (f"{where}[0].fare_cents", "the first stop has no leg before it, so no fare"),
        (f"{where}[1]", "arrival 11:00 is after departure 10:30"),
        (f"{where}[2].city", "the same city twice in a row"),
        (f"{where}[3]", OUT_OF_ORDER),
    }
    body = {"number": "Z9", "mode": "train", "timetables": [{
        "calendar": {"start_date": "2026-05-01", "end_date": "2026-04-01"},
        "stops": [{"city": "Beijing", "departure": "7h10"},
                  {"city": "Shanghai", "arrival": "12:00"}]}]}
    reply = client.post("/api/v1/services", json=body, headers=headers)
    assert errors(reply) == {
        ("timetables[0].calendar.end_date", "the validity ends before it starts (start_date)"),
        (f"{where}[0].departure", "'7h10' is not a time: write 'HH:MM' or 'HH:MM:SS', with "
                                  "'+1' for the next day"),
    }
    # The check of a stored calendar's change (editing.update_calendar) names its field too.
    reply = client.patch(f"/api/v1/calendars/{calendar_id}", json={"end_date": "2026-02-01"},
                         headers=headers)
    assert errors(reply) == {("end_date", "the validity ends before it starts (start_date)")}
    reply = client.patch(f"/api/v1/calendars/{calendar_id}",
                         json={"added": ["2026-05-01"], "removed": ["2026-05-01"]},
                         headers=headers)
    assert errors(reply) == {("removed", "a date cannot be both added and removed: 2026-05-01")}
