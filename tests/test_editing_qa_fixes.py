"""QA findings of the data-entry side: the core rules that the admin pages and the REST API
share (transit.schemas, transit.editing), each checked through both doors.

1. A variant's ends take only the times travellers use, someone must be able to ride it, and
   its days must run on some date.
2. Names, codes and other single-line text hold no tab, line break, control or invisible
   character (``schemas.text_problem``).
3. A variant saved as it is writes nothing and leaves the data version alone.
4. An origin-destination fare runs the way some variant of its service does.
5. The API's calendar description is the service page's summary (``transit.calendar_days``).
6. A service's currency is an ISO 4217 code (``schemas.currency_problem``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.test_admin_stops_editor import _as_opened, _stored
from transit import auth
from transit import schemas as s
from transit.db import data_version
from transit.models import AuditEntry, Calendar, Service, Timetable, User
from transit.web.extensions import db
from transit.words import Words

H = 3600


def _token(app: Any) -> str:
    with app.app_context():
        db.session.add(User(username="api-admin", password_hash="x", is_admin=True))
        db.session.flush()
        token = auth.issue_token(db.session(), "api-admin")
        db.session.commit()
    return token


def _api(client: Any, token: str, method: str, path: str, body: Any = None) -> Any:
    return client.open(path, method=method, json=body,
                       headers={"Authorization": f"Bearer {token}"})


def _errors(reply: Any) -> dict[str, str]:
    assert reply.status_code == 422, reply.get_data(as_text=True)
    return {e["field"]: e["message"] for e in reply.get_json()["errors"]}


def _g1_body(**changes: Any) -> dict[str, Any]:
    """The corridor's G1 variant as an API body, with ``changes``."""
    body: dict[str, Any] = {
        "code": "1",
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
        "stops": [
            {"city": "Beijing", "departure": "08:00"},
            {"city": "Jinan", "arrival": "09:30", "departure": "09:32", "fare_cents": 20000},
            {"city": "Shanghai", "arrival": "12:40", "fare_cents": 35000},
        ],
    }
    body.update(changes)
    return body


def _audit_count(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


# --- 1. the ends of a variant, riders, days that run ----------------------------------------


def test_api_refuses_times_at_the_ends_that_nobody_uses(app, client, admin):
    token = _token(app)
    url = f"/api/v1/services/{admin['g1']}/timetables/{admin['g1_variant']}"
    before = _stored(app, admin["g1_variant"])
    body = _g1_body()
    body["stops"][0]["arrival"] = "07:50"
    body["stops"][2]["departure"] = "12:50"
    errors = _errors(_api(client, token, "PUT", url, body))
    assert errors["stops[0].arrival"] == (
        "the first stop has no arrival: nobody arrives there on this service (leave it empty)")
    assert errors["stops[2].departure"] == (
        "the last stop has no departure: nobody leaves from it on this service (leave it empty)")
    assert _stored(app, admin["g1_variant"]) == before
    # A first stop with only an arrival is told it needs a departure, once.
    body = _g1_body()
    body["stops"][0] = {"city": "Beijing", "arrival": "08:00"}
    errors = _errors(_api(client, token, "POST", f"/api/v1/services/{admin['g1']}/timetables",
                          {**body, "code": "2"}))
    assert errors == {"stops[0]": "the first stop needs a departure time"}


def test_api_refuses_a_variant_nobody_can_ride_and_days_that_never_run(app, client, admin):
    token = _token(app)
    url = f"/api/v1/services/{admin['g1']}/timetables"
    body = _g1_body(code="2")
    body["stops"][0]["boarding"] = False
    body["stops"][1]["alighting"] = False
    body["stops"][2]["alighting"] = False
    assert _errors(_api(client, token, "POST", url, body)) == {
        "stops": "nobody can ride this variant: it needs a stop where travellers may board "
                 "followed by one where they may alight"}
    # Jinan to Shanghai can be ridden: accepted.
    body["stops"][2]["alighting"] = True
    assert _api(client, token, "POST", url, body).status_code == 201
    never = ("no weekday is ticked and no date is added, so it would never run: tick the days "
             "it runs on, or add its dates")
    body = _g1_body(code="3", calendar={"weekdays": []})
    assert _errors(_api(client, token, "POST", url, body)) == {"calendar.weekdays": never}
    assert _errors(_api(client, token, "POST", "/api/v1/calendars",
                        {"name": "none", "weekdays": []})) == {"weekdays": never}
    # Only on added dates: fine.
    only = {"name": "holiday", "weekdays": [], "added": ["2026-10-01"]}
    reply = _api(client, token, "POST", "/api/v1/calendars", only)
    assert reply.status_code == 201
    calendar = reply.get_json()["id"]
    assert _errors(_api(client, token, "PATCH", f"/api/v1/calendars/{calendar}",
                        {"added": []})) == {"weekdays": never}
    assert _api(client, token, "PATCH", f"/api/v1/calendars/{calendar}",
                {"name": "national day"}).status_code == 200


def test_the_stops_editor_says_what_is_wrong_at_the_ends_and_with_the_days(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    before = _stored(app, admin["g1_variant"])
    form = _as_opened(client, url)
    form.setlist("stop_departure", ["08:00", "09:32", "12:50"])
    reply = client.post(url, data=form)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert ("Stops, row 3, departure: the last stop has no departure: nobody leaves from it on "
            "this service (leave it empty)") in html
    form = _as_opened(client, url)
    form.setlist("stop_boarding", ["0", "1", "1"])
    form.setlist("stop_alighting", ["1", "1", "0"])
    form.setlist("weekdays", [])
    html = client.post(url, data=form).get_data(as_text=True)
    assert "Stops, in travel order: nobody can ride this variant" in html
    assert "Days of operation: no weekday is ticked and no date is added" in html
    assert _stored(app, admin["g1_variant"]) == before
    # Boarding only at Beijing, alighting only at Shanghai: a ride, saved.
    form = _as_opened(client, url)
    form.setlist("stop_boarding", ["1", "0", "0"])
    form.setlist("stop_alighting", ["0", "0", "1"])
    assert client.post(url, data=form).status_code == 302


# --- 2. names and codes on one line, with nothing invisible -----------------------------------


def test_text_problem_names_the_character():
    assert s.text_problem("Kraków Główny") is None
    assert s.text_problem("QA\tTab2\nLine") == "may not contain a tab or line break"
    assert s.text_problem("QA\u2028x") == "may not contain a tab or line break"
    assert s.text_problem("QA\u200bZW") == (
        "may not contain the invisible character U+200B (ZERO WIDTH SPACE)")
    assert s.text_problem("QA\u202eRTL") == (
        "may not contain the invisible character U+202E (RIGHT-TO-LEFT OVERRIDE)")
    assert s.text_problem("a\x07b") == "may not contain the control character U+0007"
    assert s.text_problem("a\x00b") == "text may not contain NUL characters"
    assert isinstance(s.text_problem("a\u200bb"), Words)
    # A non-joiner between two letters is how Persian writes some words; alone it hides.
    assert s.text_problem("می\u200cخواهم") is None
    assert s.text_problem("QA\u200c") is not None


def test_api_refuses_control_and_invisible_characters_in_names_and_codes(app, client, admin):
    token = _token(app)
    cities_before = _api(client, token, "GET", "/api/v1/cities").get_json()["total"]
    for name, message in [
        ("QA\tTab2\nLine", "may not contain a tab or line break"),
        ("QA\u200bZW", "may not contain the invisible character U+200B (ZERO WIDTH SPACE)"),
        ("QA\u202eRTL", "may not contain the invisible character U+202E (RIGHT-TO-LEFT "
                        "OVERRIDE)"),
    ]:
        reply = _api(client, token, "POST", "/api/v1/cities", {"name": name})
        assert _errors(reply) == {"name": message}
    assert _errors(_api(client, token, "POST", "/api/v1/cities",
                        {"name": "QA", "code": "Q\u200bA"}))["code"].startswith(
        "may not contain the invisible character U+200B")
    assert _errors(_api(client, token, "PATCH", f"/api/v1/cities/{admin['beijing']}",
                        {"name": "Bei\u202ejing"}))["name"].startswith(
        "may not contain the invisible character U+202E")
    assert _api(client, token, "GET", "/api/v1/cities").get_json()["total"] == cities_before
    errors = _errors(_api(client, token, "PATCH", f"/api/v1/services/{admin['g1']}",
                          {"number": "G\u200b1", "operator": "C\nR", "name": "a\tb"}))
    assert set(errors) == {"number", "operator", "name"}
    body = _g1_body(code="2\u200b", headsign="Shang\u202ehai")
    errors = _errors(_api(client, token, "POST", f"/api/v1/services/{admin['g1']}/timetables",
                          body))
    assert set(errors) == {"code", "headsign"}
    assert _errors(_api(client, token, "POST", "/api/v1/calendars",
                        {"name": "dai\u2029ly"}))["name"] == "may not contain a tab or line break"


def test_the_service_form_refuses_them_beside_the_field(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    form = _as_opened(client, url)
    form["name"] = "Fast\u200btrain"
    reply = client.post(url, data=form)
    assert reply.status_code == 422
    assert ("Name: may not contain the invisible character U+200B (ZERO WIDTH SPACE)"
            in reply.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Service, admin["g1"]).name is None
    # The copy's number follows the same rule.
    reply = client.post(f"{url}/duplicate", data={"number": "G1\u202e", "route": "",
                                                  "csrf_token": form["csrf_token"]})
    assert reply.status_code == 422
    assert "may not contain the invisible character U+202E" in reply.get_data(as_text=True)


# --- 3. a variant saved unchanged changes nothing ----------------------------------------------


def _version(app: Any) -> int:
    with app.app_context():
        return data_version(db.session())


def _last_audit(app: Any) -> str:
    with app.app_context():
        return db.session.scalars(select(AuditEntry.summary).order_by(AuditEntry.id.desc())).first()


def test_a_variant_saved_unchanged_writes_nothing_and_says_so(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    before, version = _stored(app, admin["g1_variant"]), _version(app)
    with app.app_context():
        stop_ids = [stop.id for stop in db.session.get(Timetable, admin["g1_variant"]).stops]
    reply = client.post(url, data=_as_opened(client, url))
    assert reply.status_code == 302
    assert "Variant 1 of G1 saved." in client.get(reply.location).get_data(as_text=True)
    assert _version(app) == version
    assert _last_audit(app) == "changed nothing of variant 1 of train G1 (CR)"
    with app.app_context():
        assert [s.id for s in db.session.get(Timetable, admin["g1_variant"]).stops] == stop_ids
    assert _stored(app, admin["g1_variant"]) == before
    # A change is a change.
    form = _as_opened(client, url)
    form["headsign"] = "Shanghai"
    assert client.post(url, data=form).status_code == 302
    assert _version(app) == version + 1
    assert _last_audit(app) == "replaced variant 1 of train G1 (CR)"


def test_an_unchanged_put_answers_200_with_the_variant_and_bumps_nothing(app, client, admin):
    token = _token(app)
    url = f"/api/v1/services/{admin['g1']}/timetables/{admin['g1_variant']}"
    read = _api(client, token, "GET", url)
    version = _version(app)
    with app.app_context():
        calendar_id = db.session.get(Timetable, admin["g1_variant"]).calendar_id
    for body in (_g1_body(), {**_g1_body(code=None), "calendar": None,
                              "calendar_id": calendar_id}):
        reply = _api(client, token, "PUT", url, body)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        assert reply.get_json() == read.get_json()
        assert _api(client, token, "GET", url).headers["ETag"] == read.headers["ETag"]
        assert _version(app) == version
        assert _last_audit(app) == "changed nothing of variant 1 of train G1 (CR)"
    body = _g1_body()
    body["stops"][2]["boarding"] = False
    assert _api(client, token, "PUT", url, body).status_code == 200
    assert _version(app) == version + 1


def test_a_service_or_city_saved_unchanged_bumps_nothing_either(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    version = _version(app)
    assert client.post(url, data=_as_opened(client, url)).status_code == 302
    assert _last_audit(app) == "changed nothing of train G1 (CR)"
    token = _token(app)
    reply = _api(client, token, "PATCH", f"/api/v1/cities/{admin['beijing']}",
                 {"name": "Beijing", "code": "BJP", "timezone": "Asia/Shanghai"})
    assert reply.status_code == 200
    assert _last_audit(app) == "changed nothing of Beijing"
    assert _version(app) == version


# --- 4. a fare runs the way the service does -----------------------------------------------------

AGAINST = ("Shanghai comes after Beijing on every variant of this service, so this fare could "
           "never be charged")


def test_a_fare_against_the_direction_of_travel_is_refused_until_a_variant_runs_that_way(
        app, client, admin):
    token = _token(app)
    fares = f"/api/v1/services/{admin['g1']}/fares"
    reply = _api(client, token, "POST", fares,
                 {"origin": "Shanghai", "destination": "Beijing", "fare_cents": 50000})
    assert list(_errors(reply).values()) == [AGAINST]
    reply = _api(client, token, "PUT", fares, {"fares": [
        {"origin": "Beijing", "destination": "Shanghai", "fare_cents": 50000},
        {"origin": "Shanghai", "destination": "Jinan", "fare_cents": 20000}]})
    assert _errors(reply) == {"fares[1]": "Shanghai comes after Jinan on every variant of this "
                                          "service, so this fare could never be charged"}
    # The admin's fares form: the same rule, beside the row.
    url = f"/admin/services/{admin['g1']}"
    form = _as_opened(client, url)
    form.setlist("fare_origin", ["Shanghai"])
    form.setlist("fare_destination", ["Beijing"])
    form.setlist("fare_amount", ["500"])
    reply = client.post(url, data=form)
    assert reply.status_code == 422
    assert f"Fares, row 1: {AGAINST}" in reply.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Service, admin["g1"]).fares == []
    # A new service whose only variant runs Beijing to Shanghai: the same.
    body = {"number": "G9", "mode": "train", "timetables": [_g1_body()],
            "fares": [{"origin": "Shanghai", "destination": "Beijing", "fare_cents": 1}]}
    assert _errors(_api(client, token, "POST", "/api/v1/services", body)) == {"fares[0]": AGAINST}
    # Once a variant runs back, Shanghai to Beijing is a ride: accepted.
    back = {"code": "2", "calendar": {"weekdays": ["mon"]}, "stops": [
        {"city": "Shanghai", "departure": "14:00"}, {"city": "Beijing", "arrival": "19:00"}]}
    assert _api(client, token, "POST", f"/api/v1/services/{admin['g1']}/timetables",
                back).status_code == 201
    assert client.post(url, data=form).status_code == 302
    with app.app_context():
        [fare] = db.session.get(Service, admin["g1"]).fares
        assert (fare.origin.name, fare.destination.name) == ("Shanghai", "Beijing")


def test_a_loop_calling_at_a_city_twice_takes_fares_both_ways():
    from transit.editing import rides_from

    loop = [[1, 2, 3, 1]]
    assert rides_from(loop, 3, 1) and rides_from(loop, 1, 3) and rides_from(loop, 2, 1)
    assert not rides_from([[1, 2, 3]], 3, 1)
    assert rides_from([[1, 2, 3], [3, 1]], 3, 1)


# --- 5. the API's calendar description is the service page's summary ----------------------------


def test_the_description_sums_a_small_calendar_up_as_the_page_does():
    import datetime as dt

    from transit import calendar_days
    from transit.web import timetable_views

    day = dt.date
    # The page's function is the core's.
    assert timetable_views.describe_calendar is calendar_days.describe_calendar
    # A removed Monday on a Sundays-only calendar changes nothing: not listed.
    assert s.describe_calendar(1 << 6, None, None, [], [day(2026, 1, 5)]) == "Sundays"
    assert s.describe_calendar(1 << 6, None, None, [], [day(2026, 1, 4)]) == (
        "Sundays; not on 4 Jan 2026")
    # Every day, less every weekday but Saturday: Saturdays, from its first run to its last.
    start, end = day(2026, 3, 1), day(2026, 3, 31)
    removed = [start + dt.timedelta(days=n) for n in range(31)
               if (start + dt.timedelta(days=n)).weekday() != 5]
    assert s.describe_calendar(0b1111111, start, end, [], removed) == (
        "Saturdays from 7 Mar 2026 to 28 Mar 2026")
    assert s.describe_calendar(0b1111111, start, end, [], removed + [day(2026, 3, 14)]) == (
        "Saturdays from 7 Mar 2026 to 28 Mar 2026; not on 14 Mar 2026")
    assert s.describe_calendar(0, None, None, [], []) == "Never runs"
    assert s.describe_calendar(0b0000001, day(2026, 1, 5), day(2026, 1, 5), [],
                               [day(2026, 1, 5)]) == "Never runs"
    assert s.describe_calendar(0b1111111, day(2026, 1, 5), day(2026, 1, 5), [], []) == (
        "Only on 5 Jan 2026")
    # Long lists are cut short: the calendar's own lists have every date.
    many = [day(2026, 1, 1) + dt.timedelta(days=7 * n) for n in range(12)]  # Thursdays
    assert s.describe_calendar(1 << 3, None, None, [], many).endswith(
        "5 Mar 2026 and 2 more dates")


def test_the_api_sums_up_caltrains_calendars_as_its_service_page(tmp_path_factory):
    from tests.test_gtfs_product_fixes import CALTRAIN, app_with_feed

    feed = app_with_feed(tmp_path_factory, CALTRAIN)
    app = next(feed)
    try:
        client = app.test_client()
        calendars = client.get("/api/v1/calendars?limit=100").get_json()["items"]
        described = {c["name"]: c["description"] for c in calendars}
        assert described["CT-17JUL-Caltrain-Saturday-03"] == (
            "Saturdays from 15 Jul 2017 to 20 Jul 2019")
        assert described["CT-17JUL-Combo-Weekday-01"] == (
            "Mondays to Fridays from 17 Jul 2017 to 19 Jul 2019; not on 4 Sep 2017, 23 Nov "
            "2017, 25 Dec 2017, 1 Jan 2018, 28 May 2018, 4 Jul 2018")
        saturday = next(c for c in calendars if c["name"] == "CT-17JUL-Caltrain-Saturday-03")
        assert len(saturday["removed"]) == 630  # the raw exceptions are still there
        # The service page of a Saturday train says the same.
        with app.app_context():
            service_id = db.session.scalar(
                select(Timetable.service_id).join(Calendar, Calendar.id == Timetable.calendar_id)
                .where(Calendar.name == "CT-17JUL-Caltrain-Saturday-03"))
        html = client.get(f"/services/{service_id}").get_data(as_text=True)
        assert '<li class="weekdays">Sat</li>' in html
        assert "From Saturday, 15 July 2017 to Saturday, 20 July 2019" in html
    finally:
        next(feed, None)


# --- 6. a currency is an ISO 4217 code -----------------------------------------------------------


def test_currency_problem_is_the_iso_4217_rule_of_the_imports_too():
    from transit.timetable.feed import currency_codes

    assert s.currency_problem("CNY") is None and s.currency_problem("EUR") is None
    # Empty is the imports' own case (a feed without fares): the forms and the API want a code.
    assert s.currency_problem("") is not None
    assert s.currency_problem("XYZ") == (
        "'XYZ' is not an ISO 4217 currency code (such as CNY, EUR or USD)")
    assert isinstance(s.currency_problem("C1Y"), Words)
    assert all(s.currency_problem(code) is None for code in currency_codes())


def test_api_and_service_form_refuse_a_currency_that_is_not_iso_4217(app, client, admin):
    token = _token(app)
    body = {"number": "G9", "mode": "train", "currency": "XYZ"}
    assert _errors(_api(client, token, "POST", "/api/v1/services", body)) == {
        "currency": "'XYZ' is not an ISO 4217 currency code (such as CNY, EUR or USD)"}
    assert "currency" in _errors(_api(client, token, "PATCH", f"/api/v1/services/{admin['g1']}",
                                      {"currency": "C1Y"}))
    assert _api(client, token, "PATCH", f"/api/v1/services/{admin['g1']}",
                {"currency": "EUR"}).status_code == 200
    url = f"/admin/services/{admin['g1']}"
    form = _as_opened(client, url)
    form["currency"] = "xyz"  # the form takes it in capitals
    reply = client.post(url, data=form)
    assert reply.status_code == 422
    assert ("Currency: &#39;XYZ&#39; is not an ISO 4217 currency code (such as CNY, EUR or USD)"
            in reply.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Service, admin["g1"]).currency == "EUR"
