"""Admin pages in the test client: cities, services and their editor, imports, history, audit.

Each form is posted as a browser would, with its CSRF token; rejected forms must come back
with the message beside the field and what was typed still in it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import markupsafe
import pytest
from sqlalchemy import func, select

from tests.admin_helpers import log_in, make_admin, post
from transit.models import (
    AuditEntry,
    Calendar,
    City,
    Service,
    ServiceFare,
    Timetable,
    TripRecord,
)
from transit.web.extensions import db

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]



def _errors(html: str) -> list[str]:
    return re.findall(r'class="field-error" id="([^"]+)"', html)


def _overnight(**changes):
    form = {
        "number": "Z99", "mode": "train", "operator": "CR", "route": "", "name": "",
        "currency": "CNY", "code": "", "headsign": "", "weekdays": WEEK, "start_date": "",
        "end_date": "", "added": "", "removed": "",
        "stop_city": ["Beijing", "Shanghai"],
        "stop_arrival": ["", "07:10"], "stop_arrival_day": ["0", "1"],
        "stop_departure": ["21:00", ""], "stop_departure_day": ["0", "0"],
        "stop_fare": ["", "300.50"],
    }
    form.update(changes)
    return form


def _route(client, depart: str = "2026-03-02T20:00:00+08:00", to: str = "Shanghai"):
    reply = client.get("/api/v1/routes", query_string={"from": "Beijing", "to": to,
                                                        "depart": depart, "criterion": "fastest"})
    assert reply.status_code == 200, reply.data
    return reply.get_json()["itineraries"]


# --- cities ----------------------------------------------------------------------------------


def test_city_create_search_edit(app, client, admin):
    reply = post(client, "/admin/cities/new", {"name": "Wuhan", "code": "WHN", "latitude": "30.6",
                                                "longitude": "114.3", "timezone": "Asia/Shanghai",
                                                "min_connection": "20"})
    assert reply.status_code == 302
    html = client.get("/admin/cities?q=wuh").get_data(as_text=True)
    assert "Wuhan" in html and "Beijing" not in html
    with app.app_context():
        city = db.session.scalar(select(City).where(City.name == "Wuhan"))
        assert city.min_connection_seconds == 1200 and city.latitude == 30.6
        city_id = city.id
    reply = post(client, f"/admin/cities/{city_id}", {"name": "Wuhan", "code": "", "latitude": "",
                                                      "longitude": "", "timezone": "Asia/Urumqi",
                                                      "min_connection": ""})
    assert reply.status_code == 302
    with app.app_context():
        city = db.session.get(City, city_id)
        assert (city.code, city.latitude, city.timezone, city.min_connection_seconds) == (
            None, None, "Asia/Urumqi", None)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": ""}, "name", "Name: required"),
        ({"latitude": "91"}, "latitude", "Latitude: a number from -90 to 90"),
        ({"longitude": "east"}, "longitude", "valid number"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus is not a time zone"),
        ({"timezone": "Etc"}, "timezone", "Etc is not a time zone"),  # a folder of zones: was a 500
        ({"min_connection": "soon"}, "min_connection", "as a number"),
        ({"code": "B J"}, "code", "Code: at most 32 characters, without spaces"),
        ({"name": "Beijing"}, "name", "already exists"),
        ({"code": "SHH"}, "code", "belongs to Shanghai"),
        # Typed in full-width mode: travellers typing it would get Shanghai (names.fold).
        ({"code": "ＳＨＨ"}, "code", "belongs to Shanghai"),
        ({"name": "Ｂｅｉｊｉｎｇ"}, "name", "already exists"),
    ],
)
def test_city_form_errors_beside_the_field_keep_what_was_typed(app, client, admin, changes, field,
                                                                 words):
    form = {"name": "Wuhan", "code": "WHN", "latitude": "30.6", "longitude": "114.3",
            "timezone": "Asia/Shanghai", "min_connection": "20", **changes}
    reply = post(client, "/admin/cities/new", form)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert _errors(html) == [f"err-{field}"]
    beside = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', html).group(1)
    assert words in beside.replace("&#39;", "'")
    for value in form.values():
        assert f'value="{value}"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(City)) == 3


def test_city_delete_lists_the_services_then_deletes_after_confirming(app, client, admin):
    page = client.get(f"/admin/cities/{admin['jinan']}/delete").get_data(as_text=True)
    assert "G1" in page and "also deletes" in page
    with app.app_context():
        assert db.session.get(City, admin["jinan"]) is not None  # looking deletes nothing
    reply = post(client, f"/admin/cities/{admin['jinan']}/delete", {"service": [admin["g1"]]})
    assert reply.status_code == 302
    with app.app_context():
        assert db.session.get(City, admin["jinan"]) is None
        assert db.session.get(Service, admin["g1"]) is None
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry.username == "editor" and "Jinan" in entry.summary and "G1" in entry.summary


def test_a_city_delete_refuses_when_the_services_shown_changed(app, client, admin):
    """A service saved at the city after the page listed what goes would be deleted unseen:
    the delete is refused and the page lists it; confirmed then, it goes, and so do the
    unnamed calendars of the deleted services' variants (the named "daily" stays)."""
    from transit.models import Calendar

    url = f"/admin/cities/{admin['jinan']}/delete"
    shown = {"service": [admin["g1"]]}
    created = post(client, "/admin/services/new", _overnight(
        stop_city=["Jinan", "Shanghai"], number="Z7"))
    assert created.status_code == 302, created.get_data(as_text=True)
    reply = post(client, url, shown)
    assert reply.status_code == 302
    page = client.get(reply.location).get_data(as_text=True)
    assert "changed since the list was shown, so nothing was deleted" in page
    assert "Z7" in page
    with app.app_context():
        assert db.session.get(City, admin["jinan"]) is not None
        calendars = db.session.scalar(select(func.count()).select_from(Calendar))
    ids = re.findall(r'name="service" value="(\d+)"', page)
    assert len(ids) == 2
    assert post(client, url, {"service": ids}).status_code == 302
    with app.app_context():
        assert db.session.get(City, admin["jinan"]) is None
        names = db.session.scalars(select(Calendar.name)).all()
    assert len(names) == calendars - 1 and "daily" in names


def test_a_refused_city_delete_says_why_and_keeps_everything(app, client, admin, monkeypatch):
    """The delete may be refused (a service saved there at that moment): the page says so
    in words (it was a 500 page) and nothing is deleted."""
    from transit import editing

    def refused(*args, **kwargs):
        raise editing.EditError("conflict", "A service calling at Jinan was saved while it was "
                                            "being deleted, so nothing was deleted: try again.")

    monkeypatch.setattr(editing, "delete_city", refused)
    reply = post(client, f"/admin/cities/{admin['jinan']}/delete", {})
    assert reply.status_code == 302
    page = client.get(reply.location).get_data(as_text=True)
    assert "so nothing was deleted: try again." in page
    with app.app_context():
        assert db.session.get(City, admin["jinan"]) is not None


# --- services --------------------------------------------------------------------------------


def test_overnight_service_is_found_by_a_route_query_at_once_and_edits_show_at_once(
    app, client, admin
):
    reply = post(client, "/admin/services/new", _overnight())
    assert reply.status_code == 302, reply.get_data(as_text=True)
    service_id = int(reply.location.rsplit("/", 1)[1])
    [trip] = _route(client)
    assert trip["legs"][0]["service"].endswith("Z99")
    assert trip["departure"] == "2026-03-02T21:00:00+08:00"
    assert trip["arrival"] == "2026-03-03T07:10:00+08:00"
    assert trip["fare"] == 300.5
    with app.app_context():
        variant_id = db.session.scalar(select(Timetable.id).where(Timetable.service_id == service_id))
    edited = _overnight(stop_departure=["22:15", ""], stop_arrival=["", "06:55"])
    reply = post(client, f"/admin/services/{service_id}/variants/{variant_id}", edited)
    assert reply.status_code == 302, reply.get_data(as_text=True)
    [trip] = _route(client)  # the very next query uses the new timetable
    assert trip["departure"] == "2026-03-02T22:15:00+08:00"
    assert trip["arrival"] == "2026-03-03T06:55:00+08:00"
    # The editor shows the times back with their day.
    html = client.get(f"/admin/services/{service_id}/variants/{variant_id}").get_data(as_text=True)
    assert 'value="06:55"' in html and '<option value="1" selected>+1 day</option>' in html


def test_the_variants_table_marks_a_departure_on_the_next_day(app, client, admin):
    # Leaving at 25:00 showed "01:00" with no mark, where the editor shows "+1 day".
    reply = post(client, "/admin/services/new", _overnight(
        stop_departure=["01:00", ""], stop_departure_day=["1", "0"],
        stop_arrival=["", "12:00"], stop_arrival_day=["0", "1"]))
    assert reply.status_code == 302, reply.get_data(as_text=True)
    html = client.get(reply.location).get_data(as_text=True)
    row = html[html.index("<tbody", html.index("Departs")):]
    departs = re.findall(r"<td>(.*?)</td>", row)[2]
    assert "01:00" in departs and "+1 day" in departs


def test_stops_can_be_added_reordered_and_removed(app, client, admin):
    service = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    form = _overnight(
        stop_city=["Shanghai", "Jinan", "Beijing"],
        stop_arrival=["", "10:00", "12:00"], stop_arrival_day=["0", "0", "0"],
        stop_departure=["08:00", "10:05", ""], stop_departure_day=["0", "0", "0"],
        stop_fare=["", "100", "200"],
    )
    assert post(client, service, form).status_code == 302
    with app.app_context():
        timetable = db.session.get(Timetable, admin["g1_variant"])
        assert [s.city.name for s in timetable.stops] == ["Shanghai", "Jinan", "Beijing"]
        assert [s.fare_cents for s in timetable.stops] == [None, 10000, 20000]
        # The old calendar went with the edit when nothing else used it.
        assert db.session.scalar(select(func.count()).select_from(Calendar)) == 1
    form = _overnight(stop_city=["Shanghai", "", "Beijing"], stop_arrival=["", "", "12:00"],
                      stop_arrival_day=["0", "0", "0"], stop_departure=["08:00", "", ""],
                      stop_departure_day=["0", "0", "0"], stop_fare=["", "", ""])
    assert post(client, service, form).status_code == 302  # a blank row is a removed stop
    with app.app_context():
        timetable = db.session.get(Timetable, admin["g1_variant"])
        assert [s.city.name for s in timetable.stops] == ["Shanghai", "Beijing"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"stop_arrival": ["", "05:10"], "stop_arrival_day": ["0", "0"]}, "stops-1",
         "a time after midnight not marked as the next day"),
        ({"stop_arrival": ["", "7h10"]}, "stops-1-arrival", "not a time"),
        ({"stop_fare": ["", "3x"]}, "stops-1-fare_cents", "amount such as"),
        ({"stop_city": ["Beijing", "Atlantis"]}, "stops-1-city", "no city with name"),
        ({"number": ""}, "number", "Number: required"),
        ({"currency": "yuan"}, "currency", "Currency: three letters such as CNY"),
        ({"start_date": "2026-05-01", "end_date": "2026-04-01"}, "calendar-end_date",
         "ends before it starts"),
        ({"added": "2026-05-01, someday"}, "calendar-added",
         "Also runs on: someday is not a date; write one such as 2026-05-01"),
        ({"number": "G1"}, "number", "already used by service"),
    ],
)
def test_service_form_errors_beside_the_field(app, client, admin, changes, field, words):
    form = _overnight(**changes)
    if changes.get("number") == "G1":
        form["operator"] = "CR"
    reply = post(client, "/admin/services/new", form, form_url="/admin/services/new")
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert f"err-{field}" in _errors(html), _errors(html)
    beside = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', html).group(1).replace("&#39;", "'")
    assert words in beside
    for value in ("Beijing", "21:00"):
        assert f'value="{value}"' in html  # what was typed is still there
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) == 1


def _summary(html: str) -> str:
    return re.search(r'<div class="form-errors".*?</div>', html, re.S).group(0)


def test_every_problem_of_a_new_service_shows_at_once_in_the_form_words(app, client, admin):
    form = _overnight(stop_city=["Beijing", "Atlantis"], stop_departure=["10:00", ""],
                      stop_arrival=["", "09:00"], stop_arrival_day=["0", "0"],
                      stop_fare=["", "-5"])
    reply = post(client, "/admin/services/new", form)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True).replace("&#39;", "'")
    assert {"err-stops-1-city", "err-stops-1", "err-stops-1-fare_cents"} <= set(_errors(html))
    summary = _summary(html)
    assert "Stops, row 2, fare: a fare cannot be negative" in summary
    assert "Stops, row 2, city: no city with name 'Atlantis'" in summary
    assert "Stops, row 2: arrival 09:00 is before the previous departure 10:00" in summary
    assert "stops[1]" not in summary and "fare_cents" not in summary
    # A fare that is not an amount, and the same two problems of the editing checks.
    reply = post(client, "/admin/services/new", {**form, "stop_fare": ["", "abc"]})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert {"err-stops-1-city", "err-stops-1", "err-stops-1-fare_cents"} <= set(_errors(html))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) == 1


def test_every_problem_of_an_od_fare_shows_at_once(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    form = {"number": "G1", "mode": "train", "operator": "CR", "route": "", "name": "",
            "currency": "CNY", "fare_origin": ["Beijing"], "fare_destination": ["Nowhere"],
            "fare_amount": ["abc"]}
    reply = post(client, url, form)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True).replace("&#39;", "'")
    assert {"err-fares-0-fare_cents", "err-fares-0-destination"} <= set(_errors(html))
    summary = _summary(html)
    assert "Fares, row 1, to: no city with name 'Nowhere'" in summary
    assert "Fares, row 1, fare: Write the fare as an amount" in summary
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceFare)) == 0


def test_variant_form_reports_every_problem_at_once(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    form = _overnight(stop_city=["Beijing", "Atlantis"], stop_departure=["10:00", ""],
                      stop_arrival=["", "09:00"], stop_arrival_day=["0", "0"],
                      stop_fare=["", "-5"])
    reply = post(client, url, form)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert {"err-stops-1-city", "err-stops-1", "err-stops-1-fare_cents"} <= set(_errors(html))


def test_city_codes_are_unique_whatever_their_case_in_the_form(app, client, admin):
    form = {"name": "Peking", "code": "bjp", "latitude": "", "longitude": "",
            "timezone": "Asia/Shanghai", "min_connection": "soon"}
    reply = post(client, "/admin/cities/new", form)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert set(_errors(html)) == {"err-code", "err-min_connection"}  # both at once
    assert "belongs to Beijing" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(City)) == 3


# --- a city's other names ---------------------------------------------------------------------


def _city_form(**changes):
    return {"name": "Guangzhou", "code": "GZQ", "latitude": "", "longitude": "",
            "timezone": "Asia/Shanghai", "min_connection": "", "aliases": "", **changes}


def _textarea(html: str, name: str = "aliases") -> str:
    """What the textarea holds, as the browser reads it (the line break after the tag is
    the parser's)."""
    match = re.search(rf'<textarea id="f-{name}" name="{name}"[^>]*>\n?(.*?)</textarea>', html, re.S)
    assert match, html
    return markupsafe.Markup(match.group(1)).unescape()


def test_city_other_names_one_per_line_are_created_shown_replaced_and_removed(app, client, admin):
    typed = "  Canton \r\n\r\n   \r\nKwangchow, the old spelling\r\n\r\n"
    reply = post(client, "/admin/cities/new", _city_form(aliases=typed))
    assert reply.status_code == 302
    with app.app_context():
        city = db.session.scalar(select(City).where(City.name == "Guangzhou"))
        assert city.aliases == ["Canton", "Kwangchow, the old spelling"]
        url = f"/admin/cities/{city.id}"
    html = client.get(url).get_data(as_text=True)
    assert "<label for=\"f-aliases\">Other names</label>" in html
    assert "such as Canton or SFO" in html
    assert _textarea(html) == "Canton\nKwangchow, the old spelling"
    listing = client.get("/admin/cities?q=Guangzhou").get_data(as_text=True)
    assert "Canton · Kwangchow, the old spelling" in listing
    # The search finds a city by its other names too.
    assert "Canton · Kwangchow" in client.get("/admin/cities?q=kwangc").get_data(as_text=True)
    # A save replaces the list; a form without the field (not this form) leaves it as it is.
    assert post(client, url, _city_form(aliases="Canton\nGuangzhou South")).status_code == 302
    assert post(client, url, {k: v for k, v in _city_form(latitude="23.13").items()
                              if k != "aliases"}).status_code == 302
    with app.app_context():
        city = db.session.get(City, city.id)
        assert (city.aliases, city.latitude) == (["Canton", "Guangzhou South"], 23.13)
    assert _textarea(client.get(url).get_data(as_text=True)) == "Canton\nGuangzhou South"
    # Emptied, it removes them all.
    assert post(client, url, _city_form(latitude="23.13", aliases=" \r\n ")).status_code == 302
    with app.app_context():
        assert db.session.get(City, city.id).aliases == []
    assert _textarea(client.get(url).get_data(as_text=True)) == ""


def test_an_other_name_finds_the_city_in_suggestions_and_routes(app, client, admin):
    url = f"/admin/cities/{admin['jinan']}"
    form = _city_form(name="Jinan", code="JNK", aliases="Tsinan\nChi-nan")
    assert post(client, url, form).status_code == 302
    assert client.get("/cities/suggest?q=tsin").get_json() == ["Jinan"]
    itineraries = _route(client, depart="2026-03-02T07:00:00+08:00", to="tsinan")
    assert itineraries and itineraries[0]["legs"][-1]["to"] == "Jinan"
    page = client.get("/routes", query_string={"from": "Chi-nan", "to": "Shanghai",
                                               "date": "2026-03-02", "time": "07:00"})
    assert page.status_code == 200
    assert "<title>Jinan → Shanghai" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "aliases", "words"),
    [
        ("new", "Canton\nShanghai", "Other names: 'Shanghai' is the name of Shanghai"),
        ("new", "shh", "Other names: 'shh' is the code of Shanghai"),
        ("new", "Yangcheng\n  guangzhou ", "Other names: 'guangzhou' is already the city's name"),
        ("new", "GZQ", "Other names: 'GZQ' is already the city's code"),
        ("new", "Canton\ncanton", "Other names: 'canton' is given twice"),
        ("new", "\n".join(f"Name {n}" for n in range(21)),
         "Other names: at most 20 names, one per line"),
        ("new", "Canton\n\n" + "x" * 201, "Other names: line 3: at most 200 characters"),
        ("new", "Can\tton", "Other names: line 1: may not contain a tab or line break"),
        ("jinan", "Tsinan\nJinan", "Other names: 'Jinan' is already the city's name"),
        ("jinan", "Beijing", "Other names: 'Beijing' is the name of Beijing"),
    ],
)
def test_refused_other_names_show_beside_the_field_and_nothing_is_saved(
    app, client, admin, url, aliases, words
):
    if url == "new":
        address, form = "/admin/cities/new", _city_form(aliases=aliases)
    else:
        address = f"/admin/cities/{admin['jinan']}"
        form = _city_form(name="Jinan", code="JNK", aliases=aliases)
    reply = post(client, address, form)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert _errors(html) == ["err-aliases"]
    beside = re.search(r'id="err-aliases"[^>]*>([^<]*)<', html).group(1)
    assert words in beside.replace("&#39;", "'")
    assert 'aria-invalid="true" aria-describedby="err-aliases hint-aliases"' in html
    assert _textarea(html) == aliases.strip()
    assert "Input should" not in html and "List should" not in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(City)) == 3
        assert db.session.get(City, admin["jinan"]).aliases == []


def test_another_citys_other_name_is_refused_with_the_other_problems_at_once(app, client, admin):
    shanghai = _city_form(name="Shanghai", code="SHH", aliases="Hu\nShen")
    assert post(client, f"/admin/cities/{admin['shanghai']}", shanghai).status_code == 302
    form = _city_form(latitude="91", aliases="Canton\nhu\nCanton")
    reply = post(client, "/admin/cities/new", form)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert set(_errors(html)) == {"err-latitude", "err-aliases"}
    assert _summary_items(html) == [
        "Other names: 'hu' is another name of Shanghai (other names are matched in any case); "
        "'Canton' is given twice",
        "Latitude: a number from -90 to 90",
    ]
    reply = post(client, "/admin/cities/new", _city_form(aliases="Canton\nhu"))
    assert reply.status_code == 422
    assert "'hu' is another name of Shanghai" in reply.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(City)) == 3


def test_service_list_filters_and_pages(app, client, admin):
    with app.app_context():
        for number in range(60):
            db.session.add(Service(number=f"D{number:03d}", mode="bus", operator="Coach Co"))
        db.session.commit()
    html = client.get("/admin/services?mode=bus").get_data(as_text=True)
    assert "60 services" in html and "Page 1 of 2" in html and "D049" in html and "D050" not in html
    html = client.get("/admin/services?mode=bus&page=2").get_data(as_text=True)
    assert "D050" in html and "D059" in html
    assert "1 service" in client.get("/admin/services?operator=CR").get_data(as_text=True)
    html = client.get("/admin/services?city=Jinan").get_data(as_text=True)
    assert "1 service" in html and "G1" in html
    html = client.get("/admin/services?city=jnk").get_data(as_text=True)  # its code, any case
    assert "1 service" in html and "G1" in html
    html = client.get("/admin/services?number=D00").get_data(as_text=True)
    assert "10 services" in html
    html = client.get("/admin/services?city=Atlantis").get_data(as_text=True)
    assert "0 services" in html and "no city with this name" in html


def test_service_fields_and_origin_destination_fares(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    form = {"number": "G1", "mode": "train", "operator": "CR", "route": "", "name": "Fuxing",
            "currency": "CNY", "fare_origin": ["Beijing"], "fare_destination": ["Shanghai"],
            "fare_amount": ["553"]}
    assert post(client, url, form).status_code == 302
    with app.app_context():
        service = db.session.get(Service, admin["g1"])
        assert service.name == "Fuxing"
        assert [(f.origin.name, f.destination.name, f.fare_cents) for f in service.fares] == [
            ("Beijing", "Shanghai", 55300)]
    bad = {**form, "fare_origin": ["Beijing", "Wuhan"], "fare_destination": ["Shanghai", "Jinan"],
           "fare_amount": ["553", "abc"]}
    with app.app_context():
        db.session.add(City(name="Wuhan"))
        db.session.commit()
    reply = post(client, url, bad)
    assert reply.status_code == 422
    assert "err-fares-1-fare_cents" in _errors(reply.get_data(as_text=True))
    bad["fare_amount"] = ["553", "80"]
    reply = post(client, url, bad)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "err-fares-1-origin" in _errors(html)
    assert "Wuhan is not a stop of this service" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceFare)) == 1


def test_duplicate_then_delete_a_variant_and_the_service(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    reply = post(client, f"{url}/duplicate", {"number": "G1", "route": ""}, form_url=url)
    assert reply.status_code == 422 and "already exists" in reply.get_data(as_text=True)
    reply = post(client, f"{url}/duplicate", {"number": "G3", "route": ""}, form_url=url)
    assert reply.status_code == 302
    copy_id = int(reply.location.rsplit("/", 1)[1])
    with app.app_context():
        copy = db.session.get(Service, copy_id)
        assert copy.number == "G3" and len(copy.timetables) == 1
        assert [s.city.name for s in copy.timetables[0].stops] == ["Beijing", "Jinan", "Shanghai"]
        variant = copy.timetables[0].id
    copy_url = f"/admin/services/{copy_id}"
    reply = post(client, f"{copy_url}/variants/{variant}/delete", {}, form_url=copy_url)
    assert reply.status_code == 302
    assert "This service has no timetable yet" in client.get(copy_url).get_data(as_text=True)
    assert "G3" in client.get(f"{copy_url}/delete").get_data(as_text=True)
    assert post(client, f"{copy_url}/delete", {}).status_code == 302
    with app.app_context():
        assert db.session.get(Service, copy_id) is None
        assert db.session.get(Service, admin["g1"]) is not None


def test_add_a_variant_with_its_own_days(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/new"
    form = _overnight(code="weekend", weekdays=["sat", "sun"], removed="2026-03-07",
                      stop_city=["Beijing", "Shanghai"], stop_departure=["18:00", ""],
                      stop_arrival=["", "23:00"], stop_arrival_day=["0", "0"])
    assert post(client, url, form).status_code == 302
    with app.app_context():
        timetable = db.session.scalar(select(Timetable).where(Timetable.code == "weekend"))
        assert timetable.calendar.weekdays == 0b1100000
        assert timetable.calendar.runs_on(dt.date(2026, 3, 8))
        assert not timetable.calendar.runs_on(dt.date(2026, 3, 7))
    reply = post(client, url, {**form, "code": "weekend"})
    assert reply.status_code == 422 and "err-code" in _errors(reply.get_data(as_text=True))


# --- trip history ----------------------------------------------------------------------------


def test_record_a_run_in_local_times(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    # The form starts on today's date where the run starts (Beijing), not the server's.
    beijing = ZoneInfo("Asia/Shanghai")
    before = dt.datetime.now(beijing).date().isoformat()
    html = client.get(url).get_data(as_text=True)
    after = dt.datetime.now(beijing).date().isoformat()
    shown = re.search(r'name="service_date"[^>]*value="([^"]*)"', html)
    assert shown is not None and shown.group(1) in (before, after)
    form = {"service_date": "2026-03-02", "origin": "0", "destination": "2",
            "actual_departure": "2026-03-02T08:03", "actual_arrival": "2026-03-02T12:52"}
    assert post(client, url, form).status_code == 302
    with app.app_context():
        trip = db.session.scalars(select(TripRecord)).one()
        assert trip.scheduled_departure == dt.datetime(2026, 3, 2, 0, 0)  # 08:00 +08:00
        assert trip.actual_departure == dt.datetime(2026, 3, 2, 0, 3)
        assert trip.actual_arrival == dt.datetime(2026, 3, 2, 4, 52)
    reply = post(client, url, {**form, "actual_arrival": "2026-03-02T07:00"})
    assert reply.status_code == 422
    reply = post(client, url, {**form, "destination": "0"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "err-destination" in _errors(html)
    assert 'value="2026-03-02T08:03"' in html


def test_history_csv_dry_run_then_commit(app, client, admin, tmp_path, monkeypatch):
    csv = (
        "operator,number,route,service_date,origin,destination,scheduled_departure,"
        "scheduled_arrival,actual_departure,actual_arrival,cancelled,source\n"
        "CR,G1,,2026-03-02,Beijing,Shanghai,2026-03-02T08:00:00+08:00,2026-03-02T12:40:00+08:00,"
        "2026-03-02T08:01:00+08:00,2026-03-02T12:45:00+08:00,false,test\n"
    )
    reply = post(client, "/admin/history", {"file": (io.BytesIO(csv.encode()), "runs.csv")},
                 content_type="multipart/form-data")
    assert reply.status_code == 302
    report = client.get(reply.location).get_data(as_text=True)
    assert "No problems found" in report and "past runs" in report
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 0
    upload_id = reply.location.rsplit("/", 1)[1]
    # While one commit runs, the upload is taken: a second press of the button (or another
    # tab) found it and imported it again, with an audit entry of nothing each time.
    from transit.web.admin import data

    taken = []
    running = data._run

    def watched(*args, **kwargs):
        taken.append(not (tmp_path / "uploads" / upload_id).exists())
        return running(*args, **kwargs)

    monkeypatch.setattr(data, "_run", watched)
    form_url = reply.location
    reply = post(client, f"/admin/uploads/{upload_id}/commit", {}, form_url=form_url)
    assert reply.status_code == 302 and taken == [True]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 1
    assert not list((tmp_path / "uploads").iterdir())
    assert client.post(f"/admin/uploads/{upload_id}/commit").status_code in (400, 404)
    # The same file again adds nothing, and the report says why ("past runs 0" alone).
    again = post(client, "/admin/history", {"file": (io.BytesIO(csv.encode()), "runs.csv")},
                 content_type="multipart/form-data")
    report = client.get(again.location).get_data(as_text=True)
    assert "past runs already recorded (left as they are)" in report
    broken = csv.replace("2026-03-02T08:01:00+08:00", "yesterday")
    reply = post(client, "/admin/history", {"file": (io.BytesIO(broken.encode()), "bad.csv")},
                 content_type="multipart/form-data")
    report = client.get(reply.location).get_data(as_text=True)
    assert "1 problem" in report and "actual_departure" in report and "<td>2</td>" in report


# --- timetable imports and export ------------------------------------------------------------


def _zip(folder: Path, inside: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{inside}/{path.name}")
    return buffer.getvalue()


def test_import_dry_run_report_then_commit_or_cancel(app, client, admin, shared_data, tmp_path):
    content = _zip(shared_data / "classic" / "Zemdalk-utf8", "Zemdalk-utf8")
    reply = post(client, "/admin/imports", {"file": (io.BytesIO(content), "zemdalk.zip")},
                 content_type="multipart/form-data")
    assert reply.status_code == 302
    upload_id = reply.location.rsplit("/", 1)[1]
    assert (tmp_path / "uploads" / upload_id / "zemdalk.zip").exists()  # kept on the server
    report = client.get(reply.location).get_data(as_text=True)
    assert "Format: zemdalk" in report and "No problems found" in report
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) == 1  # dry run
    cancel = post(client, f"/admin/uploads/{upload_id}/cancel", {}, form_url=reply.location)
    assert cancel.status_code == 302 and not (tmp_path / "uploads" / upload_id).exists()
    assert client.get(reply.location).status_code == 404

    reply = post(client, "/admin/imports", {"file": (io.BytesIO(content), "zemdalk.zip")},
                 content_type="multipart/form-data")
    upload_id = reply.location.rsplit("/", 1)[1]
    done = post(client, f"/admin/uploads/{upload_id}/commit", {}, form_url=reply.location)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) > 100
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert entry.username == "editor" and "zemdalk.zip" in entry.summary


def test_broken_import_lists_every_problem_with_its_line(app, client, admin, shared_data):
    lines = (shared_data / "classic" / "Zemdalk-utf8" / "TrainTable.txt").read_text(
        encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("08: 00", "8o: 00")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("TrainTable.txt", "\n".join(lines) + "\n")
        archive.write(shared_data / "classic" / "Zemdalk-utf8" / "FlightTable.txt",
                      "FlightTable.txt")
    reply = post(client, "/admin/imports",
                 {"file": (io.BytesIO(buffer.getvalue()), "broken.zip"), "format": "zemdalk"},
                 content_type="multipart/form-data")
    report = client.get(reply.location).get_data(as_text=True)
    assert "1 problem; nothing was written" in report
    assert "<td>TrainTable.txt</td><td>3</td>" in report
    assert "Import it" not in report
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) == 1


def test_upload_form_errors(app, client, admin):
    reply = post(client, "/admin/imports", {"format": "gtfs"}, content_type="multipart/form-data")
    assert reply.status_code == 422 and "err-file" in _errors(reply.get_data(as_text=True))
    reply = post(client, "/admin/imports",
                 {"file": (io.BytesIO(b"hello"), "notes.txt")},
                 content_type="multipart/form-data")
    report = client.get(reply.location).get_data(as_text=True)
    assert "nothing was written" in report and "notes.txt" in report


def test_another_administrators_upload_is_not_reachable(app, client, admin):
    reply = post(client, "/admin/imports", {"file": (io.BytesIO(b"hello"), "notes.txt")},
                 content_type="multipart/form-data")
    make_admin(app, "other")
    other = app.test_client()
    log_in(other, "other")
    assert other.get(reply.location).status_code == 404
    assert client.get("/admin/uploads/../../secret_key").status_code == 404
    assert client.get("/admin/uploads/" + "a" * 31).status_code == 404


def test_export_is_a_zipped_csv_bundle_that_reads_back(app, client, admin):
    reply = client.get("/admin/export")
    assert reply.status_code == 200 and reply.mimetype == "application/zip"
    assert "attachment" in reply.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(reply.data)) as archive:
        names = archive.namelist()
        cities = archive.read("transit-bundle/cities.csv").decode()
    assert "transit-bundle/stops.csv" in names and "Jinan" in cities


# --- audit -----------------------------------------------------------------------------------


def test_audit_log_records_who_changed_what(app, client, admin):
    post(client, "/admin/cities/new", {"name": "Wuhan", "timezone": "Asia/Shanghai"})
    post(client, "/admin/services/new", _overnight())
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "created city Wuhan" in html and "created service train Z99 (CR)" in html
    assert "editor" in html
    html = client.get("/admin/audit?entity=city").get_data(as_text=True)
    assert "created city Wuhan" in html and "Z99" not in html
    assert "created service" in client.get("/admin/").get_data(as_text=True)


def test_admin_pages_in_chinese(app, client, admin):
    html = client.get("/admin/services/new?lang=zh").get_data(as_text=True)
    assert "新建车次" in html and "停靠站" in html
    assert client.get("/login?lang=zh").get_data(as_text=True).count("登录") >= 2


# --- two administrators editing the same thing -----------------------------------------------

_VERSION = re.compile(r'name="version" value="([^"]+)"')


def _opened(client, url: str) -> str:
    """The version a form carries when it is opened (what a second browser tab holds)."""
    match = _VERSION.search(client.get(url).get_data(as_text=True))
    assert match, f"no version in the form of {url}"
    return match.group(1)


def _service_form(**changes):
    form = {"number": "G1", "mode": "train", "operator": "CR", "route": "", "name": "",
            "currency": "CNY", "fare_origin": [], "fare_destination": [], "fare_amount": []}
    form.update(changes)
    return form


def test_a_service_changed_meanwhile_is_not_overwritten(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    a_opened = _opened(client, url)
    b_opened = _opened(client, url)
    # B changes the operator and saves.
    assert post(client, url, _service_form(operator="China Railway", version=b_opened)).status_code == 302
    # A, still on the page opened before, changes the name and saves: refused, nothing written.
    reply = post(client, url, _service_form(name="Morning express", version=a_opened))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 409
    assert "Someone else changed this service since you opened it" in html
    assert "open the page again to see theirs" in html
    assert 'value="Morning express"' in html  # A's changes are kept in the form
    assert f'name="version" value="{a_opened}"' in html  # sending again is refused again
    assert post(client, url, _service_form(name="Morning express", version=a_opened)).status_code == 409
    with app.app_context():
        service = db.session.get(Service, admin["g1"])
        assert (service.operator, service.name) == ("China Railway", None)
    # Opened again, the form saves A's change on top of B's.
    again = _opened(client, url)
    form = _service_form(operator="China Railway", name="Morning express", version=again)
    assert post(client, url, form).status_code == 302
    with app.app_context():
        service = db.session.get(Service, admin["g1"])
        assert (service.operator, service.name) == ("China Railway", "Morning express")


def test_a_fare_added_meanwhile_also_counts_as_a_change(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    opened = _opened(client, url)
    fare = {"fare_origin": ["Beijing"], "fare_destination": ["Shanghai"], "fare_amount": ["500"]}
    assert post(client, url, _service_form(version=opened, **fare)).status_code == 302
    assert post(client, url, _service_form(name="X", version=opened, **fare)).status_code == 409
    # A form that is not stale saves as before, validation included.
    reply = post(client, url, _service_form(currency="", version=_opened(client, url), **fare))
    assert reply.status_code == 422


def test_a_variant_changed_meanwhile_is_not_overwritten(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    opened = _opened(client, url)
    form = {"code": "1", "headsign": "", "weekdays": WEEK, "start_date": "", "end_date": "",
            "added": "", "removed": "", "stop_city": ["Beijing", "Jinan", "Shanghai"],
            "stop_arrival": ["", "09:30", "12:40"], "stop_arrival_day": ["0", "0", "0"],
            "stop_departure": ["08:00", "09:32", ""], "stop_departure_day": ["0", "0", "0"],
            "stop_fare": ["", "200", "350"]}
    # B moves the departure; A then saves another headsign from the page opened before.
    assert post(client, url, {**form, "stop_departure": ["08:05", "09:32", ""],
                              "version": opened}).status_code == 302
    reply = post(client, url, {**form, "headsign": "Shanghai", "version": opened})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 409
    assert "Someone else changed this variant since you opened it" in html
    assert 'value="Shanghai"' in html
    with app.app_context():
        timetable = db.session.get(Timetable, admin["g1_variant"])
        assert timetable.headsign is None and timetable.stops[0].departure == 8 * 3600 + 300


def test_a_city_changed_meanwhile_is_not_overwritten(app, client, admin):
    url = f"/admin/cities/{admin['jinan']}"
    opened = _opened(client, url)
    form = {"name": "Jinan", "code": "JNK", "latitude": "", "longitude": "",
            "timezone": "Asia/Shanghai", "min_connection": "", "version": opened}
    assert post(client, url, {**form, "min_connection": "25"}).status_code == 302
    reply = post(client, url, {**form, "latitude": "36.65"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 409
    assert "Someone else changed this city since you opened it" in html
    assert 'value="36.65"' in html
    with app.app_context():
        city = db.session.get(City, admin["jinan"])
        assert (city.latitude, city.min_connection_seconds) == (None, 1500)


# --- error summaries in the form's words -----------------------------------------------------


def _summary_items(html: str) -> list[str]:
    block = re.search(r'<div class="form-errors".*?</div>', html, re.S).group(0)
    return [re.sub(r"<[^>]+>", "", item).replace("&#39;", "'").strip()
            for item in re.findall(r"<li>(.*?)</li>", block, re.S)]


def test_city_form_summary_names_the_labels_in_plain_words(app, client, admin):
    form = {"name": "Wuhan", "code": "WHN", "latitude": "91", "longitude": "-200",
            "timezone": "Asia/Shanghai", "min_connection": "-5"}
    reply = post(client, "/admin/cities/new", form)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    items = _summary_items(html)
    assert items == [
        "Latitude: a number from -90 to 90",
        "Longitude: a number from -180 to 180",
        "Minimum connection (minutes): a number of minutes from 0 to 1440",
    ]
    assert "<code>" not in html.split('class="form-errors"')[1].split("</div>")[0]
    assert "Input should be" not in html and "min_connection :" not in html
    # In Chinese, the labels and the words are the page's.
    html = post(client, "/admin/cities/new?lang=zh", form).get_data(as_text=True)
    assert "纬度" in _summary_items(html)[0] and "-90" in _summary_items(html)[0]


def test_city_form_reports_a_bad_time_zone_and_a_taken_code_at_once(app, client, admin):
    form = {"name": "Shanghai Hongqiao", "code": "shh", "latitude": "", "longitude": "",
            "timezone": "Europe", "min_connection": ""}
    for url in ("/admin/cities/new", f"/admin/cities/{admin['jinan']}"):
        reply = post(client, url, {**form, "name": "Jinan"} if "new" not in url else form)
        html = reply.get_data(as_text=True)
        assert reply.status_code == 422
        assert set(_errors(html)) == {"err-code", "err-timezone"}, url
        items = _summary_items(html)
        assert any(i.startswith("Code: code 'shh' belongs to Shanghai") for i in items), items
        assert "Time zone: Europe is not a time zone; write one such as Asia/Shanghai" in items
    with app.app_context():
        assert db.session.get(City, admin["jinan"]).code == "JNK"


def test_a_run_with_no_time_and_not_cancelled_is_not_recorded(app, client, admin):
    # It said nothing, and a recorded run cannot be changed: the times sent later were
    # refused as "recorded without this time".
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    form = {"service_date": "2026-03-02", "origin": "0", "destination": "2",
            "actual_departure": "", "actual_arrival": ""}
    reply = post(client, url, form)
    assert reply.status_code == 422
    assert _summary_items(reply.get_data(as_text=True)) == [
        "Really left (local time): enter when the run really left or arrived (or both), or "
        "tick Cancelled"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 0
    assert post(client, url, {**form, "cancelled": "1"}).status_code == 302
    assert post(client, url, {**form, "service_date": "2026-03-03",
                              "actual_arrival": "2026-03-03T12:52"}).status_code == 302


def test_record_a_run_summary_names_the_labels(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    form = {"service_date": "2026-03-02", "origin": "0", "destination": "2",
            "actual_departure": "2026-03-02T08:03", "actual_arrival": "2026-03-02T07:00"}
    items = _summary_items(post(client, url, form).get_data(as_text=True))
    assert items == ["Really arrived (local time): the actual arrival is before the actual departure"]
    items = _summary_items(post(client, url, {**form, "service_date": "someday",
                                              "actual_arrival": "late"}).get_data(as_text=True))
    assert items == ["Day the run started: Choose the day the run started.",
                     "Really arrived (local time): Write a date and time such as 2026-03-01 21:05."]
