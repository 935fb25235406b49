"""Timetable reads over HTTP: cities, services, timetables, fares, calendars, caching."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest

PROBLEM = "application/problem+json"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def test_list_cities_sorted_with_counts(api, network):
    reply = api.get("/api/v1/cities")
    assert reply.status == 200 and reply.content_type == "application/json"
    page = reply.json
    assert [c["name"] for c in page["items"]] == ["Beijing", "Nanjing", "Shanghai", "Xi'an"]
    assert page["total"] == 4 and page["limit"] == 50 and page["offset"] == 0
    beijing = page["items"][0]
    assert beijing["service_count"] == 2 and beijing["code"] == "BJP"
    assert beijing["links"]["self"] == f"/api/v1/cities/{network.cities['Beijing']}"
    assert page["links"]["next"] is None and page["links"]["prev"] is None


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("q=hai", ["Shanghai"]),
        ("q=njh", ["Nanjing"]),
        ("q=%25", []),  # LIKE wildcards are literal
        ("mode=flight", ["Beijing", "Xi'an"]),
        ("mode=train", ["Beijing", "Nanjing", "Shanghai"]),
        ("mode=TRAIN", ["Beijing", "Nanjing", "Shanghai"]),  # any case, as routes' modes
        ("operator=China%20Eastern", ["Beijing", "Xi'an"]),
        ("mode=bus", []),
    ],
)
def test_city_filters(api, network, query, names):
    reply = api.get("/api/v1/cities?" + query)
    assert reply.status == 200, reply.body
    assert [c["name"] for c in reply.json["items"]] == names
    assert reply.json["total"] == len(names)


def test_city_pagination_follows_next_links(api, network):
    seen = []
    path = "/api/v1/cities?limit=3"
    pages = 0
    while path:
        reply = api.get(path)
        assert reply.status == 200
        seen += [c["name"] for c in reply.json["items"]]
        assert reply.json["total"] == 4
        assert 'rel="first"' in reply.headers["Link"]
        nxt = reply.json["links"]["next"]
        if nxt:
            assert 'rel="next"' in reply.headers["Link"]
        path = _path(nxt) if nxt else None
        pages += 1
    assert pages == 2 and seen == ["Beijing", "Nanjing", "Shanghai", "Xi'an"]
    second = api.get("/api/v1/cities?limit=3&offset=3").json
    assert second["links"]["prev"] == "/api/v1/cities?limit=3&offset=0"


@pytest.mark.parametrize(
    ("query", "prev"),
    [
        ("offset=99999&limit=5", "offset=0&limit=5"),  # 4 cities: one page of 5
        ("offset=99999&limit=3", "offset=3&limit=3"),  # the last page starts at 3
        ("offset=4&limit=3", "offset=3&limit=3"),  # just past the end
        ("offset=7&limit=2", "offset=2&limit=2"),
        ("offset=3&limit=2", "offset=1&limit=2"),  # within the list: the page before
        ("q=Atlantis&offset=10&limit=2", "q=Atlantis&offset=0&limit=2"),  # nothing at all
    ],
)
def test_prev_past_the_end_is_the_last_page(api, network, query, prev):
    reply = api.get(f"/api/v1/cities?{query}")
    assert reply.status == 200
    links = reply.json["links"]
    assert parse_qs(urlsplit(links["prev"]).query) == parse_qs(prev)
    assert f'<{links["prev"]}>; rel="prev"' in reply.headers["Link"]
    if reply.json["items"] == []:
        assert links["next"] is None
        # The prev link leads to items (or to the empty first page).
        back = api.get(links["prev"]).json
        assert back["items"] or back["total"] == 0


def test_one_city_and_unknown_city(api, network):
    reply = api.get(f"/api/v1/cities/{network.cities['Nanjing']}")
    assert reply.status == 200
    city = reply.json
    assert (
        city["name"] == "Nanjing"
        and city["latitude"] == 32.1
        and city["timezone"] == "Asia/Shanghai"
    )
    assert city["service_count"] == 1
    services = api.get(city["links"]["services"]).json
    assert [s["number"] for s in services["items"]] == ["T1"]
    problem = api.get("/api/v1/cities/99999").problem(404)
    assert "99999" in problem["detail"]
    api.get("/api/v1/cities/not-a-number").problem(404)


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("", ["MU5101", "T1"]),
        ("mode=train", ["T1"]),
        ("mode=Train", ["T1"]),
        ("q=express", ["T1"]),
        ("q=eastern", ["MU5101"]),
        ("number=T1", ["T1"]),
        ("operator=China%20Railway", ["T1"]),
        ("city=Nanjing", ["T1"]),
        ("city=XAY", ["MU5101"]),
        ("city=xay", ["MU5101"]),  # codes match whatever their case
        ("city=beijing", ["MU5101", "T1"]),
    ],
)
def test_service_filters(api, network, query, numbers):
    reply = api.get("/api/v1/services?" + query)
    assert reply.status == 200, reply.body
    assert [s["number"] for s in reply.json["items"]] == numbers


def test_service_list_by_city_id_and_unknown_city(api, network):
    xian = network.cities["Xi'an"]
    reply = api.get(f"/api/v1/services?city={xian}")
    assert [s["number"] for s in reply.json["items"]] == ["MU5101"]
    problem = api.get("/api/v1/services?city=Atlantis").problem(422)
    assert problem["errors"][0]["field"] == "city" and problem["errors"][0]["location"] == "query"


def test_service_summary_shows_ends(api, network):
    train = next(s for s in api.get("/api/v1/services").json["items"] if s["number"] == "T1")
    assert train["origin"]["name"] == "Beijing" and train["destination"]["name"] == "Shanghai"
    assert train["timetable_count"] == 2 and train["mode"] == "train"


def test_service_detail(api, network):
    reply = api.get(f"/api/v1/services/{network.services['T1']}")
    assert reply.status == 200
    service = reply.json
    assert service["name"] == "Night express" and service["operator"] == "China Railway"
    night, day = service["timetables"]
    assert night["code"] == "night" and night["headsign"] == "Shanghai"
    assert [s["city"]["name"] for s in night["stops"]] == ["Beijing", "Nanjing", "Shanghai"]
    assert night["stops"][0]["departure"] == "21:00" and night["stops"][0]["arrival"] is None
    assert night["stops"][1]["arrival"] == "05:00+1" and night["stops"][1]["departure"] == "05:05+1"
    assert night["stops"][1]["arrival_seconds"] == 29 * 3600
    assert night["stops"][2]["fare_cents"] == 10000
    assert night["calendar"]["description"] == "Every day"
    assert day["calendar"]["weekdays"] == ["mon", "tue", "wed", "thu", "fri"]
    assert day["calendar"]["description"] == "Mondays to Fridays from 1 Jan 2026 to 31 Dec 2026"
    assert day["calendar"]["start_date"] == "2026-01-01"
    (fare,) = service["fares"]
    assert fare["origin"]["name"] == "Beijing" and fare["destination"]["name"] == "Shanghai"
    assert fare["fare_cents"] == 38000 and fare["fare"] == 380.0 and fare["currency"] == "CNY"
    api.get("/api/v1/services/424242").problem(404)


def test_timetable_and_fares_reads(api, network):
    sid, tid = network.services["T1"], network.timetables["night"]
    timetable = api.get(f"/api/v1/services/{sid}/timetables/{tid}").json
    assert timetable["id"] == tid and len(timetable["stops"]) == 3
    api.get(f"/api/v1/services/{network.services['MU5101']}/timetables/{tid}").problem(404)
    api.get(f"/api/v1/services/999/timetables/{tid}").problem(404)
    fares = api.get(f"/api/v1/services/{sid}/fares").json["fares"]
    assert [f["fare_cents"] for f in fares] == [38000]
    api.get("/api/v1/services/999/fares").problem(404)


def test_the_timetables_link_of_a_service_lists_its_variants_a_page_at_a_time(api, network):
    service = api.get(f"/api/v1/services/{network.services['T1']}").json
    reply = api.get(service["links"]["timetables"])
    assert reply.status == 200, reply.body
    page = reply.json
    assert page["total"] == 2 and page["limit"] == 50 and page["offset"] == 0
    assert page["items"] == service["timetables"]  # the same variants, the same shape
    assert page["links"]["next"] is None and 'rel="first"' in reply.headers["Link"]
    first = api.get(service["links"]["timetables"] + "?limit=1").json
    assert [t["code"] for t in first["items"]] == ["night"] and first["total"] == 2
    second = api.get(first["links"]["next"]).json
    assert [t["code"] for t in second["items"]] == ["day"] and second["links"]["next"] is None
    assert reply.headers["ETag"]
    api.get("/api/v1/services/999/timetables").problem(404)
    api.get(service["links"]["timetables"] + "?limit=0").problem(400)


def test_calendars(api, network):
    page = api.get("/api/v1/calendars").json
    assert page["total"] == 3
    by_name = {c["name"]: c for c in page["items"]}
    assert by_name["daily"]["timetable_count"] == 2
    assert by_name["unused"]["timetable_count"] == 0
    assert by_name["unused"]["description"] == "Saturdays and Sundays"
    one = api.get(f"/api/v1/calendars/{network.calendars['weekdays']}").json
    assert one["end_date"] == "2026-12-31"
    api.get("/api/v1/calendars/777").problem(404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("mode=rocket", "mode"),
        ("colour=red", "colour"),
    ],
)
def test_bad_query_parameters_are_400(api, network, query, field):
    problem = api.get("/api/v1/cities?" + query).problem(400)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["errors"][0]["location"] == "query"
    assert problem["errors"][0]["message"]


def test_repeated_parameter_is_400(api, network):
    problem = api.get("/api/v1/services?mode=train&mode=flight").problem(400)
    assert problem["errors"] == [
        {"field": "mode", "location": "query", "message": "given more than once"}
    ]


def test_unknown_paths_and_methods(api):
    problem = api.get("/api/v1/nowhere").problem(404)
    assert problem["instance"] == "/api/v1/nowhere"
    api.get("/api/v2/cities").problem(404)
    reply = api.delete("/api/v1/cities")
    problem = reply.problem(405)
    assert set(reply.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert "DELETE" in problem["detail"]
    api.request("PUT", "/api/v1/routes").problem(405)


def test_etag_and_304(api, network, admin_token):
    first = api.get("/api/v1/cities")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Cache-Control"] == "no-cache"
    last_modified = first.headers["Last-Modified"]
    again = api.get("/api/v1/cities", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.headers["ETag"] == etag
    assert api.get("/api/v1/cities", headers={"If-None-Match": '"other"'}).status == 200
    assert api.get("/api/v1/cities", headers={"If-None-Match": "*"}).status == 304
    assert api.get("/api/v1/cities", headers={"If-Modified-Since": last_modified}).status == 304
    earlier = parsedate_to_datetime(last_modified) - dt.timedelta(seconds=5)
    assert (
        api.get(
            "/api/v1/cities", headers={"If-Modified-Since": format_datetime(earlier, usegmt=True)}
        ).status
        == 200
    )
    # Another URL has another ETag.
    assert api.get("/api/v1/cities?limit=2").headers["ETag"] != etag
    service = f"/api/v1/services/{network.services['T1']}"
    service_etag = api.get(service).headers["ETag"]
    assert api.get(service, headers={"If-None-Match": service_etag}).status == 304

    # Any timetable change makes every copy stale.
    created = api.post("/api/v1/cities", {"name": "Wuhan"}, token=admin_token)
    assert created.status == 201
    fresh = api.get("/api/v1/cities", headers={"If-None-Match": etag})
    assert fresh.status == 200 and fresh.headers["ETag"] != etag
    assert "Wuhan" in [c["name"] for c in fresh.json["items"]]
    assert api.get(service, headers={"If-None-Match": service_etag}).status == 200


def test_bad_input_never_answers_html(api):
    for path in (
        "/api/v1/cities/0",
        "/api/v1/services/abc",
        "/api/v1/calendars?limit=x",
        "/api/v1/",
    ):
        reply = api.get(path)
        assert reply.status in (400, 404) and reply.content_type == PROBLEM, path


def test_unexpected_failure_is_a_500_problem(api, network, monkeypatch, caplog):
    from transit.web.api import routes

    def broken(services):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(routes, "service_summaries", broken)
    problem = api.get("/api/v1/services").problem(500)
    assert problem["type"].endswith("#problem-internal-error")
    assert "disk on fire" not in problem["detail"]  # internals stay in the log
    assert any(
        "disk on fire" in r.getMessage() or "disk on fire" in str(r.exc_info)
        for r in caplog.records
    )
    assert api.get("/api/v1/cities").status == 200  # the server goes on


def test_a_failure_after_the_write_is_saved_does_not_say_nothing_changed(
    admin, network, monkeypatch, caplog
):
    from transit.web.api import routes

    def broken(calendar, count):
        raise RuntimeError("answer lost")

    monkeypatch.setattr(routes, "calendar_out", broken)
    problem = admin.post("/api/v1/calendars", {"name": "Kept", "weekdays": ["mon"]}).problem(500)
    assert "nothing was changed" not in problem["detail"]
    assert "was saved" in problem["detail"]
    monkeypatch.undo()
    names = [c["name"] for c in admin.get("/api/v1/calendars?limit=500").json["items"]]
    assert "Kept" in names
    # A failure before any write still says so.
    monkeypatch.setattr(routes, "calendar_out", broken)
    assert "nothing was changed" in admin.get(
        f"/api/v1/calendars/{network.calendars['daily']}").problem(500)["detail"]
