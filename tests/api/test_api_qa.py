"""What a client integrating with the API hit (the apiqa session): each test failed before its fix.

Real HTTP against the app on 127.0.0.1 (tests/api/conftest.py), a real SQLite file, no mocks.
"""

from __future__ import annotations

import http.client
import json


def test_a_list_answered_again_keeps_its_link_header(api, network):
    # The second identical request is answered from the worker's kept answers
    # (transit/web/response_cache.py), which dropped the Link header a paging client follows.
    path = "/api/v1/cities?limit=1&offset=1"
    first = api.get(path)
    again = api.get(path)
    assert first.status == again.status == 200
    assert first.body == again.body
    link = first.headers["Link"]
    assert 'rel="next"' in link and 'rel="prev"' in link
    assert again.headers.get("Link") == link
    for path in ("/api/v1/services?limit=1", "/api/v1/calendars?limit=1",
                 f"/api/v1/services/{network.services['T1']}/timetables?limit=1"):
        first, again = api.get(path), api.get(path)
        assert again.headers.get("Link") == first.headers["Link"], path


def test_a_write_answers_with_the_etag_for_the_next_write(admin, network):
    # A client changing a city twice had to GET it again between the PATCHes: the answer
    # of a write carried no ETag, and the one of the read before was stale after the write.
    city = f"/api/v1/cities/{network.cities['Nanjing']}"
    etag = admin.get(city).headers["ETag"]
    first = admin.patch(city, {"name": "Nanjing South"}, headers={"If-Match": etag})
    assert first.status == 200
    assert first.headers["ETag"] != etag
    assert first.headers["ETag"] == admin.get(city).headers["ETag"]
    second = admin.patch(city, {"code": "NKH"}, headers={"If-Match": first.headers["ETag"]})
    assert second.status == 200, second.body
    # The stale one is refused, and nothing changes.
    assert admin.patch(city, {"code": "XXX"}, headers={"If-Match": etag}).status == 412

    # Creations answer their Location and its ETag; every write answering with a resource
    # gives the ETag of a GET of it.
    created = admin.post("/api/v1/calendars", {"weekdays": ["sat"]})
    assert created.status == 201
    location = created.headers["Location"]
    assert created.headers["ETag"] == admin.get(location).headers["ETag"]
    changed = admin.patch(location, {"name": "Saturdays"},
                          headers={"If-Match": created.headers["ETag"]})
    assert changed.status == 200 and changed.headers["ETag"] == admin.get(location).headers["ETag"]
    assert admin.delete(location, headers={"If-Match": changed.headers["ETag"]}).status == 204

    service = f"/api/v1/services/{network.services['T1']}"
    renamed = admin.patch(service, {"name": "Night train"})
    assert renamed.headers["ETag"] == admin.get(service).headers["ETag"]
    variant = f"{service}/timetables/{network.timetables['day']}"
    body = {"calendar_id": network.calendars["daily"],
            "stops": [{"city": "Beijing", "departure": "08:00"},
                      {"city": "Shanghai", "arrival": "13:30", "fare_cents": 55000}]}
    replaced = admin.put(variant, body, headers={"If-Match": admin.get(variant).headers["ETag"]})
    assert replaced.status == 200
    assert replaced.headers["ETag"] == admin.get(variant).headers["ETag"]
    fares = admin.put(f"{service}/fares", {"fares": []})
    assert fares.status == 200
    assert fares.headers["ETag"] == admin.get(f"{service}/fares").headers["ETag"]
    new = admin.post(f"{service}/timetables", dict(body, code="late"))
    assert new.status == 201
    assert new.headers["ETag"] == admin.get(new.headers["Location"]).headers["ETag"]
    made = admin.post("/api/v1/services", {"number": "T9", "mode": "train"})
    assert made.status == 201
    assert made.headers["ETag"] == admin.get(made.headers["Location"]).headers["ETag"]
    made_city = admin.post("/api/v1/cities", {"name": "Wuhan"})
    assert made_city.headers["ETag"] == admin.get(made_city.headers["Location"]).headers["ETag"]


def test_a_new_fare_has_a_location_to_read_and_delete_it_by(admin, network):
    # POST .../fares answered 201 without Location (the other creations have one), and a
    # fare had no address of its own to read it at.
    fares = f"/api/v1/services/{network.services['T1']}/fares"
    created = admin.post(fares, {"origin": "Beijing", "destination": "Nanjing",
                                 "fare_cents": 21000})
    assert created.status == 201, created.body
    location = created.headers["Location"]
    assert location == f"{fares}/{created.json['id']}"
    read = admin.get(location)
    assert read.status == 200 and read.json == created.json
    assert read.headers["ETag"] == created.headers["ETag"]
    assert admin.get(location, headers={"If-None-Match": read.headers["ETag"]}).status == 304
    # Another service's fare, or none, is a 404 problem.
    other = f"/api/v1/services/{network.services['MU5101']}/fares/{created.json['id']}"
    assert "has no fare" in admin.get(other).problem(404)["detail"]
    assert admin.get(f"{fares}/99999999999999999999").problem(404)
    # DELETE takes the fare's own ETag (and still the list's); a stale one is refused.
    assert admin.delete(location, headers={"If-Match": 'W/"0-0"'}).problem(412)
    assert admin.delete(location, headers={"If-Match": read.headers["ETag"]}).status == 204
    assert admin.get(location).problem(404)
    listed = admin.get(fares)
    assert [f["destination"]["name"] for f in listed.json["fares"]] == ["Shanghai"]
    fare = listed.json["fares"][0]["id"]
    assert admin.delete(f"{fares}/{fare}", headers={"If-Match": listed.headers["ETag"]}).status == 204


BROWSER = {"Origin": "https://timetables.example"}


def test_a_script_on_another_site_can_read_and_preflight_the_api(admin, network):
    # A browser client on another origin could not use the public API at all: no answer
    # but the OpenAPI document allowed its origin, and a preflight (sent before any request
    # with Authorization or If-None-Match) got Flask's empty text/html page with no CORS.
    city = f"/api/v1/cities/{network.cities['Beijing']}"
    for path in (city, "/api/v1/cities?limit=1", "/api/v1/nowhere"):
        for reply in (admin.get(path, headers=BROWSER), admin.get(path, headers=BROWSER)):
            assert reply.headers["Access-Control-Allow-Origin"] == "*", path
            exposed = {h.strip() for h in reply.headers["Access-Control-Expose-Headers"].split(",")}
            assert {"ETag", "Link", "Location", "Last-Modified"} <= exposed
            assert "Access-Control-Allow-Credentials" not in reply.headers
    preflight = admin.request("OPTIONS", city, headers={
        **BROWSER, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match"})
    assert preflight.status == 204 and preflight.body == b""
    assert "Content-Type" not in preflight.headers
    assert preflight.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
    assert preflight.headers["Access-Control-Allow-Methods"] == preflight.headers["Allow"]
    allowed = {h.strip().lower()
               for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "if-none-match"} <= allowed
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    # OPTIONS of a path the API does not have is its 404 problem, as other methods get.
    assert admin.request("OPTIONS", "/api/v1/nowhere").problem(404)
    # Pages are not opened to other sites.
    assert "Access-Control-Allow-Origin" not in admin.get("/cities", headers=BROWSER).headers


def test_answers_without_a_body_do_not_say_html(admin, network):
    # A DELETE's 204 said Content-Type: text/html and a 304 varied on Cookie and
    # Accept-Language (the pages' rule for HTML), though nothing under /api/ is HTML.
    calendar = f"/api/v1/calendars/{network.calendars['unused']}"
    read = admin.get(calendar)
    unchanged = admin.get(calendar, headers={"If-None-Match": read.headers["ETag"]})
    assert unchanged.status == 304
    assert "Content-Type" not in unchanged.headers
    assert unchanged.headers.get("Vary") == read.headers.get("Vary")
    deleted = admin.delete(calendar)
    assert deleted.status == 204 and "Content-Type" not in deleted.headers
    assert "Vary" not in deleted.headers


def _chunked_post(api, path: str, parts, token: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection(api.host, api.port, timeout=60)
    try:
        connection.request("POST", path, body=parts, encode_chunked=True, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_json_body_is_held_to_the_same_limit(admin, app):
    # Without Content-Length (chunked), a JSON body was read whole whatever its size: the
    # 8 MiB limit (413) only held for bodies that said their length.
    megabyte = b"x" * (1 << 20)
    status, body = _chunked_post(
        admin, "/api/v1/cities",
        iter([b'{"name": "', *[megabyte] * 9, b'"}']), admin.token)
    assert status == 413 and body["title"] == "Payload too large"
    assert admin.get("/api/v1/cities").json["total"] == 0
    # A chunked body within the limit is read as before.
    status, body = _chunked_post(
        admin, "/api/v1/cities", iter([b'{"name": ', b'"Chunked', b' City"}']), admin.token)
    assert status == 201 and body["name"] == "Chunked City"


def test_a_null_in_a_patch_names_its_field(admin, network):
    # {"number": null} was refused at field "(request)": a client showing errors beside
    # its form fields could not tell which one.
    service = f"/api/v1/services/{network.services['T1']}"
    city = f"/api/v1/cities/{network.cities['Beijing']}"
    calendar = f"/api/v1/calendars/{network.calendars['unused']}"
    for path, body, field in (
        (service, {"number": None}, "number"),
        (service, {"name": "x", "currency": None}, "currency"),
        (city, {"timezone": None}, "timezone"),
        (calendar, {"added": None}, "added"),
    ):
        problem = admin.patch(path, body).problem(422)
        assert [e["field"] for e in problem["errors"]] == [field], problem
        assert "cannot be null" in problem["errors"][0]["message"]
    assert admin.get(service).json["name"] == "Night express"  # nothing written
    # The forecasts' dates the wrong way round name the last one.
    problem = admin.get("/api/v1/forecasts?from=2026-03-05&to=2026-03-01").problem(400)
    assert [e["field"] for e in problem["errors"]] == ["to"]


def test_the_document_declares_the_headers_clients_get(api, network):
    # Lists answered a Link header, writes ETag and Location, that the OpenAPI document (and
    # so its page) never mentioned; paging was described nowhere in it.
    document = api.get("/api/v1/openapi.json").json
    paths = document["paths"]
    for path in ("/api/v1/cities", "/api/v1/services", "/api/v1/calendars",
                 "/api/v1/services/{service_id}/timetables", "/api/v1/forecasts"):
        assert "Link" in paths[path]["get"]["responses"]["200"]["headers"], path
    for path, method in (("/api/v1/cities", "post"), ("/api/v1/calendars", "post"),
                         ("/api/v1/services", "post"),
                         ("/api/v1/services/{service_id}/timetables", "post"),
                         ("/api/v1/services/{service_id}/fares", "post")):
        assert {"ETag", "Location"} <= set(paths[path][method]["responses"]["201"]["headers"])
    assert "ETag" in paths["/api/v1/cities/{city_id}"]["patch"]["responses"]["200"]["headers"]
    assert "`Link` header" in document["info"]["description"]
    page = api.get("/api/v1/docs").body.decode()
    assert "<code>Link</code>" in page and "<code>Location</code>" in page


def test_not_found_says_what_was_not_found(api, network):
    service = f"/api/v1/services/{network.services['T1']}"
    huge = "99999999999999999999"
    # An id past 64 bits read "There is no timetable 999..." where a smaller one reads
    # "Service 1 has no timetable variant 999": one wording whatever the number.
    for path, detail in (
        (f"{service}/timetables/{huge}", f"Service {network.services['T1']} has no timetable "
                                         f"variant {huge}."),
        (f"{service}/timetables/999999", f"Service {network.services['T1']} has no timetable "
                                         "variant 999999."),
        (f"{service}/fares/{huge}", f"Service {network.services['T1']} has no fare {huge}."),
        (f"/api/v1/services/{huge}/timetables/1", f"There is no service {huge}."),
        (f"/api/v1/services/999999/fares/{huge}", "There is no service 999999."),
        (f"/api/v1/cities/{huge}", f"There is no city {huge}."),
    ):
        assert api.get(path).problem(404)["detail"] == detail, path
    # A trailing slash got "There is no /api/v1/cities/ in the API": it now says the path
    # without it.
    for path in ("/api/v1/cities/", f"{service}/fares/"):
        detail = api.get(path).problem(404)["detail"]
        assert detail.endswith(f"its paths end without a slash, {path.rstrip('/')}."), detail
    assert "see /api/v1/docs" in api.get("/api/v1/nowhere/").problem(404)["detail"]
    assert api.request("POST", "/api/v1/cities/").problem(404)


def test_every_write_documents_the_conflict_and_size_answers_it_can_give(admin, network):
    # A PUT of fares, a PATCH of a calendar, a DELETE of a service... can answer 409 (a
    # constraint met at the commit, another change saved at the same moment) and a JSON
    # body past 8 MiB 413, but the document listed 409 on a few writes and 413 on uploads only.
    document = admin.get("/api/v1/openapi.json").json
    for path, item in document["paths"].items():
        for method, op in item.items():
            if "security" in op:
                assert "409" in op["responses"], (method, path)
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                assert "413" in op["responses"], (method, path)
    fares = f"/api/v1/services/{network.services['T1']}/fares"
    big = b'{"fares": [' + b'{"origin": 1, "destination": 2, "fare_cents": 1},' * 200_000 + b"]}"
    reply = admin.request("PUT", fares, body=big, headers={"Content-Type": "application/json"})
    assert reply.problem(413)


def test_a_date_is_written_as_a_date(admin, network):
    # A number, or text of digits, was read as seconds since 1970: {"added": [0]} made a
    # calendar "Only on 1 Jan 1970" (schemathesis: schema-violating request accepted),
    # "1767225600" was 1 Jan 2026, and 20260501 got "Datetimes provided to dates should have
    # zero time"; /forecasts?date=0 listed the forecasts of 1 Jan 1970.
    for body, field in (
        ({"added": [0]}, "added[0]"),
        ({"added": ["2026-05-01", "1767225600"]}, "added[1]"),
        ({"start_date": 20260501}, "start_date"),
        ({"end_date": True}, "end_date"),
        ({"removed": [1.5]}, "removed[0]"),
    ):
        problem = admin.post("/api/v1/calendars", body).problem(422)
        assert [e["field"] for e in problem["errors"]] == [field], problem
        assert "is not a date; write one such as 2026-05-01" in problem["errors"][0]["message"]
    calendar = f"/api/v1/calendars/{network.calendars['unused']}"
    problem = admin.patch(calendar, {"start_date": "0"}).problem(422)
    assert problem["errors"][0]["message"] == "0 is not a date; write one such as 2026-05-01"
    made = admin.post("/api/v1/calendars", {"weekdays": [], "added": ["2026-05-01"],
                                            "start_date": "2026-01-01"})
    assert made.status == 201 and made.json["added"] == ["2026-05-01"]
    for query in ("date=0", "from=1767225600", "to=20260501"):
        problem = admin.get(f"/api/v1/forecasts?{query}").problem(400)
        assert problem["errors"][0]["field"] == query.split("=")[0]
        assert "is not a date" in problem["errors"][0]["message"]
    assert admin.get("/api/v1/forecasts?date=2026-05-01").status == 200


def test_if_none_match_star_does_not_make_a_missing_resource_exist(api, network):
    # "If-None-Match: *" answered 304 Not Modified for /services/0 and every other id that
    # names nothing (schemathesis: schema-violating request accepted); it means "any current
    # representation", so a missing resource is its 404 and an existing one still 304.
    star = {"If-None-Match": "*"}
    for path in ("/api/v1/services/0", "/api/v1/cities/999999", "/api/v1/calendars/999999",
                 f"/api/v1/services/{network.services['T1']}/timetables/999999",
                 f"/api/v1/services/{network.services['T1']}/fares/999999"):
        assert api.get(path, headers=star).problem(404), path
    city = f"/api/v1/cities/{network.cities['Beijing']}"
    unchanged = api.get(city, headers=star)
    assert unchanged.status == 304 and unchanged.body == b""
    assert unchanged.headers["ETag"] == api.get(city).headers["ETag"]


def _nenieco_zip(shared_data) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((shared_data / "classic" / "Nenieco-test").iterdir()):
            archive.write(path, f"Nenieco-test/{path.name}")
    return buffer.getvalue()


def test_an_upload_with_a_long_or_odd_name_imports(app, admin, shared_data):
    # A file name of 300 characters was saved under that name: "File name too long", a 500.
    # Names with a NUL (which PostgreSQL cannot store in the audit log) or a right-to-left
    # override were echoed in the answer and written to the audit log as sent.
    from sqlalchemy import select

    from transit.models import AuditEntry
    from transit.web.extensions import db

    content = _nenieco_zip(shared_data)
    long_name = "timetable-" + "x" * 290 + ".zip"
    reply = admin.upload("/api/v1/imports", long_name, content, {"dry_run": "true"})
    assert reply.status == 200, reply.body
    assert reply.json["format"] == "nenieco" and reply.json["counts"]["timetables"] == 8
    assert len(reply.json["source"]) == 200 and reply.json["source"].endswith("…")
    reply = admin.upload("/api/v1/imports", "北京\x00\u202e时刻表.zip", content, {})
    assert reply.status == 200, reply.body
    assert reply.json["source"] == "北京时刻表.zip" and reply.json["committed"] is True
    with app.app_context():
        summary = db.session.scalars(
            select(AuditEntry.summary).where(AuditEntry.action == "import")).one()
    assert summary.startswith("imported 北京时刻表.zip (nenieco)")


def test_an_upload_of_two_files_is_refused_not_half_read(admin, shared_data):
    # Two parts named "file" imported the first and dropped the second without a word; a
    # repeated form field kept its first value.
    import uuid

    content = _nenieco_zip(shared_data)
    boundary = uuid.uuid4().hex
    parts = b""
    for name in ("a.zip", "b.zip"):
        parts += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                  f'filename="{name}"\r\nContent-Type: application/zip\r\n\r\n').encode()
        parts += content + b"\r\n"
    for value in ("true", "false"):
        parts += (f'--{boundary}\r\nContent-Disposition: form-data; name="dry_run"\r\n\r\n'
                  f"{value}\r\n").encode()
    parts += f"--{boundary}--\r\n".encode()
    reply = admin.request("POST", "/api/v1/imports", body=parts, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    problem = reply.problem(422)
    assert {e["field"] for e in problem["errors"]} == {"file", "dry_run"}
    assert admin.get("/api/v1/cities").json["total"] == 0
