"""File imports over HTTP: every supported format through one endpoint, dry runs, failures."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select

from transit.models import AuditEntry, City, Service, Timetable
from transit.web.extensions import db


def _zip_folder(folder: Path, inside: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{inside}/{path.name}" if inside else path.name)
    return buffer.getvalue()


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (City, Service, Timetable)
        )


def test_classic_zip_dry_run_then_commit(app, admin, shared_data):
    content = _zip_folder(shared_data / "classic" / "Zemdalk-utf8", inside="Zemdalk-utf8")
    dry = admin.upload("/api/v1/imports", "zemdalk.zip", content, {"dry_run": "true"})
    assert dry.status == 200, dry.body
    report = dry.json
    assert (
        report["format"] == "zemdalk" and report["dry_run"] is True and report["committed"] is False
    )
    assert report["counts"]["services"] == {"flight": 384, "train": 390}
    assert report["report"].startswith("zemdalk:")
    assert _counts(app) == (0, 0, 0)

    done = admin.upload("/api/v1/imports", "zemdalk.zip", content, {"format": "zemdalk"})
    assert done.status == 200, done.body
    assert done.json["committed"] is True and done.json["counts"] == report["counts"]
    cities, services, timetables = _counts(app)
    assert cities == report["counts"]["cities"] == 25 and services == 774
    listed = admin.get("/api/v1/cities?q=" + quote("北京")).json
    assert [c["name"] for c in listed["items"]] == ["北京"]
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert entry.username == "admin" and "zemdalk.zip" in entry.summary
        # Counts in words, as the admin pages write them, not a Python dict.
        assert "25 cities, 384 flights, 390 trains" in entry.summary and "{" not in entry.summary

    again = admin.upload("/api/v1/imports", "zemdalk.zip", content, {})
    assert again.status == 200, again.body
    assert again.json["skipped"]  # identical variants are skipped, not doubled
    assert _counts(app) == (cities, services, timetables)


def test_gtfs_zip(app, admin, shared_data):
    content = (shared_data / "gtfs" / "caltrain_gtfs_2017-07-24.zip").read_bytes()
    reply = admin.upload("/api/v1/imports", "caltrain.zip", content, {"dry_run": "1"})
    assert reply.status == 200, reply.body
    assert reply.json["format"] == "gtfs" and reply.json["counts"]["cities"] > 20
    assert _counts(app) == (0, 0, 0)


def test_broken_file_is_422_listing_problems_and_writes_nothing(app, admin, shared_data):
    lines = (
        (shared_data / "classic" / "Zemdalk-utf8" / "TrainTable.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    lines[2] = lines[2].replace("08: 00", "8o: 00")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("TrainTable.txt", "\n".join(lines) + "\n")
        archive.write(
            shared_data / "classic" / "Zemdalk-utf8" / "FlightTable.txt", "FlightTable.txt"
        )
    problem = admin.upload(
        "/api/v1/imports", "broken.zip", buffer.getvalue(), {"format": "zemdalk"}
    ).problem(422)
    assert problem["type"].endswith("#problem-import-failed")
    assert "nothing was written" in problem["detail"]
    assert any("line 3" in e["field"] and e["location"] == "file" for e in problem["errors"]), (
        problem["errors"]
    )
    assert _counts(app) == (0, 0, 0)


def test_a_trip_history_sent_as_a_timetable_says_where_it_goes(app, admin):
    header = ("operator,number,route,service_date,origin,destination,scheduled_departure,"
              "scheduled_arrival,actual_departure,actual_arrival,cancelled,source\n")
    problem = admin.upload("/api/v1/imports", "runs.csv", header.encode(), {}).problem(422)
    assert "Trip history page" in problem["detail"] and "flask history import" in problem["detail"]
    assert _counts(app) == (0, 0, 0)


def test_not_a_timetable(app, admin):
    problem = admin.upload("/api/v1/imports", "notes.txt", b"hello", {}).problem(422)
    assert problem["errors"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.md", "nothing here")
    empty = admin.upload("/api/v1/imports", "empty.zip", buffer.getvalue(), {}).problem(422)
    # Said of the file the user sent, not of the folder it was unpacked into.
    assert {e["field"].split(",")[0] for e in empty["errors"]} <= {"empty.zip", "file"}, empty
    assert "unpacked" not in str(empty)
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../escape.txt", "x")
    admin.upload("/api/v1/imports", "evil.zip", evil.getvalue(), {"format": "zemdalk"}).problem(422)
    assert _counts(app) == (0, 0, 0)


def test_upload_form_errors(admin):
    problem = admin.upload("/api/v1/imports", "x.zip", b"PK", {"format": "excel"}).problem(422)
    assert problem["errors"][0]["field"] == "format" and problem["errors"][0]["location"] == "form"
    problem = admin.upload("/api/v1/imports", "x.zip", b"PK", {"dry_run": "perhaps"}).problem(422)
    assert problem["errors"][0]["field"] == "dry_run"
    problem = admin.upload("/api/v1/imports", "", b"", {}).problem(422)
    assert problem["errors"][0]["field"] == "file"
    admin.post("/api/v1/imports", {"file": "x"}).problem(415)


def test_upload_too_large(app, admin):
    app.config["TRANSIT_API_MAX_UPLOAD_BYTES"] = 1000
    admin.upload("/api/v1/imports", "big.zip", b"x" * 5000, {}).problem(413)


def test_upload_without_length_is_refused_unread(app, admin, admin_token):
    """A chunked upload (no Content-Length) is refused before anything is read."""
    import http.client

    app.config["TRANSIT_API_MAX_UPLOAD_BYTES"] = 1000
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\n\r\n'.encode()
        + b"x" * 5000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    connection = http.client.HTTPConnection(admin.host, admin.port, timeout=60)
    try:
        connection.request(
            "POST",
            "/api/v1/imports",
            body=iter([body[:2000], body[2000:]]),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Authorization": f"Bearer {admin_token}",
            },
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 411
        assert response.headers["Content-Type"] == "application/problem+json"
        response.read()
    finally:
        connection.close()
