"""The app factory and configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from transit import create_app
from transit.config import load_settings, secret_key_from


def test_factory_uses_test_config(app, database_url):
    assert app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"] == database_url


def test_settings_from_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TRANSIT_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1/transit")
    monkeypatch.setenv("TRANSIT_MODEL_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("TRANSIT_MIN_CONNECTION_MINUTES", "20")
    monkeypatch.setenv("TRANSIT_SECURE_COOKIES", "yes")
    monkeypatch.setenv("TRANSIT_PROXY_HOPS", "1")
    monkeypatch.setenv("TRANSIT_MAX_UPLOAD_MB", "8")
    settings = load_settings(tmp_path)
    assert settings.secure_cookies and settings.proxy_hops == 1
    assert settings.max_upload_bytes == 8 * 1024 * 1024
    assert settings.database_url == "postgresql+psycopg://u:p@127.0.0.1/transit"
    assert settings.model_dir == tmp_path / "m"
    assert settings.min_connection_minutes == 20


def test_default_database_is_sqlite_in_instance(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("TRANSIT_DATABASE_URL", raising=False)
    settings = load_settings(tmp_path)
    assert settings.database_url == "sqlite:///" + str(tmp_path / "transit.sqlite3")


def test_secret_key_generated_once_and_private(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("TRANSIT_SECRET_KEY", raising=False)
    first = secret_key_from(tmp_path)
    second = secret_key_from(tmp_path)
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_bad_integer_setting_is_named(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TRANSIT_MIN_CONNECTION_MINUTES", "soon")
    try:
        load_settings(tmp_path)
    except ValueError as error:
        assert "TRANSIT_MIN_CONNECTION_MINUTES" in str(error)
    else:
        raise AssertionError("bad setting accepted")


def test_core_does_not_import_flask():
    import subprocess
    import sys

    code = (
        "import sys, transit.models, transit.db, transit.timetable.feed, transit.config;"
        "import transit.routing, transit.timetable, transit.forecast;"
        "assert 'flask' not in sys.modules, 'core imported flask'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_app_module_exposes_app():
    import app as app_module

    assert app_module.app.name == "transit"
    assert create_app is not None


@pytest.mark.parametrize("number", ["99999999999999999999999", "2147483648", "²", "١"])
@pytest.mark.parametrize(
    "url", ["/cities/{}", "/services/{}", "/admin/cities/{}", "/admin/services/{}/variants/{}",
            "/api/v1/cities/{}"],
)
def test_an_id_no_row_can_have_is_404(app, client, url, number):
    """Ids in URLs are ASCII digits, and none is above the largest id (2**31 - 1): a
    30-digit number was a 500 (OverflowError on SQLite) on the pages and admin pages."""
    from tests.admin_helpers import log_in, make_admin

    make_admin(app)
    log_in(client)
    reply = client.get(url.format(number, number))
    assert reply.status_code == 404
    if url.startswith("/api/"):
        assert reply.is_json


@pytest.mark.parametrize("number", ["2147483648", "000002147483648", "9" * 30])
@pytest.mark.parametrize(
    ("url", "name"),
    [("/api/v1/cities/{}", "city"), ("/api/v1/services/{}", "service"),
     ("/api/v1/calendars/{}", "calendar"), ("/api/v1/services/1/timetables/{}", "timetable")],
)
def test_the_api_names_the_id_asked_for_when_none_can_have_it(client, url, name, number):
    # QA: /api/v1/cities/2147483648 answered "There is no city 0."
    reply = client.get(url.format(number))
    assert reply.status_code == 404
    if name == "timetable":  # of a service that does not exist either: that is said first
        assert reply.get_json()["detail"] == "There is no service 1."
        return
    assert reply.get_json()["detail"] == f"There is no {name} {number.lstrip('0')}."
