"""Security checks: logins, sessions, CSRF on every form, headers, the URL map walked."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.admin_helpers import PASSWORD, add_corridor, csrf_token, log_in, make_admin, post
from transit import auth
from transit.db import data_version
from transit.models import City, LoginAttempt, User
from transit.web.extensions import db
from transit.web.security import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[1]
UPLOAD_ID = "0" * 32


def _url(rule, ids: dict[str, int]) -> str:
    values = {}
    for name in rule.arguments:
        if name == "upload_id":
            values[name] = UPLOAD_ID
        else:
            values[name] = {"city_id": ids["beijing"], "service_id": ids["g1"],
                            "timetable_id": ids["g1_variant"]}.get(name, 1)
    return rule.build(values)[1]


def _admin_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]


@pytest.fixture
def corridor(app):
    make_admin(app)
    return add_corridor(app)


def _state(app) -> tuple[int, int]:
    with app.app_context():
        return data_version(db.session()), db.session.scalar(select(func.count()).select_from(City))


# --- every admin page and every write needs login --------------------------------------------


def test_every_admin_page_redirects_to_login_when_logged_out(app, client, corridor):
    pages = [r for r in _admin_rules(app) if "GET" in r.methods and r.endpoint != "admin.login"]
    assert len(pages) >= 15
    for rule in pages:
        url = _url(rule, corridor)
        reply = client.get(url)
        assert reply.status_code == 302, url
        assert reply.location.startswith("/login?next="), (url, reply.location)


def test_every_non_get_route_refuses_anonymous_requests(app, client, corridor):
    before = _state(app)
    writes = [
        r for r in app.url_map.iter_rules()
        if set(r.methods or ()) - {"GET", "HEAD", "OPTIONS"} and r.endpoint != "admin.login"
    ]
    assert any(r.rule.startswith("/api/") for r in writes)
    assert any(r.rule.startswith("/admin/") for r in writes)
    token = csrf_token(client, "/login")  # a valid token: the login check itself must refuse
    for rule in writes:
        url = _url(rule, corridor)
        for method in sorted(set(rule.methods or ()) - {"GET", "HEAD", "OPTIONS"}):
            reply = client.open(url, method=method, data={"csrf_token": token, "name": "X"})
            if rule.rule.startswith("/api/"):
                assert reply.status_code == 401, (method, url, reply.status_code)
            else:
                assert reply.status_code == 302 and reply.location == "/login", (method, url)
    assert _state(app) == before


def test_logging_out_ends_the_session_even_for_a_copy_of_the_cookie(app, client):
    make_admin(app)
    assert log_in(client).status_code == 302
    copied = client.get_cookie("session").value
    elsewhere = app.test_client()  # the same administrator in another browser
    assert log_in(elsewhere).status_code == 302
    assert client.get("/admin/cities").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    thief = app.test_client()
    thief.set_cookie("session", copied)
    reply = thief.get("/admin/cities")
    assert reply.status_code == 302 and reply.location.startswith("/login")
    # Only that browser's session ended.
    assert elsewhere.get("/admin/cities").status_code == 200


def test_a_session_ends_after_its_lifetime_whatever_the_cookie_says(app, client):
    from transit.models import AdminSession

    make_admin(app)
    log_in(client)
    # Eight hours, as docs/admin.md says: Flask's default of 31 days once stayed in force.
    assert app.permanent_session_lifetime == dt.timedelta(hours=8)
    expires = client.get_cookie("session").expires
    assert expires is not None and expires - dt.datetime.now(dt.UTC) < dt.timedelta(hours=8, minutes=1)
    assert client.get("/admin/cities").status_code == 200
    with app.app_context():
        for row in db.session.scalars(select(AdminSession)):
            row.created_at -= dt.timedelta(hours=8, seconds=1)
        db.session.commit()
    assert client.get("/admin/cities").status_code == 302
    # The next login clears away rows that old.
    log_in(client)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AdminSession)) == 1


def test_a_non_admin_user_cannot_log_in(app, client):
    make_admin(app, "reader", is_admin=False)
    reply = log_in(client, "reader")
    assert reply.status_code == 401
    assert client.get("/admin/").status_code == 302
    # The right password of a user who is no administrator reads as a wrong one: the page
    # must not confirm a guessed password.
    wrong = log_in(client, "reader", "not-the-password")
    assert wrong.status_code == 401
    message = re.compile(r'role="alert"[^>]*>([^<]*)<')
    assert message.findall(reply.get_data(as_text=True)) == message.findall(
        wrong.get_data(as_text=True)
    ) != []


# --- CSRF ------------------------------------------------------------------------------------


def test_every_admin_form_refuses_a_post_without_its_token(app, client, corridor):
    log_in(client)
    before = _state(app)
    writes = [r for r in _admin_rules(app) if "POST" in (r.methods or ())]
    assert len(writes) >= 14
    for rule in writes:
        url = _url(rule, corridor)
        reply = client.post(url, data={"name": "Forged", "number": "X1"})
        assert reply.status_code == 400, url
        assert "security token" in reply.get_data(as_text=True), url
    # A token from another session is refused too.
    other = app.test_client()
    stolen = csrf_token(other, "/login")
    reply = client.post("/admin/cities/new", data={"name": "Forged", "csrf_token": stolen})
    assert reply.status_code == 400
    assert _state(app) == before
    assert client.get("/admin/").status_code == 200  # still logged in


def test_login_form_needs_its_token(app, client):
    make_admin(app)
    reply = client.post("/login", data={"username": "editor", "password": PASSWORD})
    assert reply.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_every_form_on_every_admin_page_carries_a_token(app, client, corridor):
    log_in(client)
    pages = [r for r in _admin_rules(app) if "GET" in r.methods and "upload" not in r.rule
             and r.endpoint != "admin.export"]
    forms = 0
    for rule in pages:
        html = client.get(_url(rule, corridor)).get_data(as_text=True)
        for form in re.findall(r"<form\b.*?</form>", html, re.S):
            if 'method="post"' in form:
                forms += 1
                assert 'name="csrf_token"' in form, (rule.rule, form[:200])
    assert forms >= 15


def test_no_get_writes_anything(app, client, corridor):
    """Every read runs in one read transaction (transit/web/consistency.py): no GET may write,
    logged in or with a bearer token (a token is only checked, and its use written, on
    writes)."""
    log_in(client)
    with app.app_context():
        token = auth.issue_token(db.session(), "editor")
        db.session.commit()

    def everything() -> dict[str, object]:
        with app.app_context():
            state = {
                table.name: db.session.execute(select(table)).all()
                for table in db.metadata.sorted_tables
            }
            db.session.rollback()
            return state

    before = everything()
    gets = [r for r in app.url_map.iter_rules() if "GET" in (r.methods or ()) and
            r.endpoint != "static"]
    assert len(gets) >= 30
    for rule in gets:
        url = _url(rule, corridor)
        with client.get(url, headers={"Authorization": f"Bearer {token}"}) as reply:
            assert reply.status_code < 500, (url, reply.status_code)
    assert everything() == before


# --- logins ----------------------------------------------------------------------------------


def test_failed_logins_lock_the_name_for_that_address(app, client):
    make_admin(app)
    for _ in range(5):
        assert log_in(client, password="wrong password").status_code == 401
    locked = log_in(client)  # even the right password
    assert locked.status_code == 429
    text = locked.get_data(as_text=True)
    assert "Too many failed logins" in text and "Try again in 15 minutes" in text
    assert client.get("/admin/").status_code == 302
    # Another address is not locked out by these failures.
    elsewhere = app.test_client()
    token = csrf_token(elsewhere, "/login")
    reply = elsewhere.post(
        "/login",
        data={"username": "editor", "password": PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert reply.status_code == 302
    # Fifteen minutes later the name may try again.
    with app.app_context():
        db.session.execute(
            update(LoginAttempt).values(at=LoginAttempt.at - dt.timedelta(minutes=16))
        )
        db.session.commit()
    assert log_in(client).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_success_clears_earlier_failures(app, client):
    make_admin(app)
    for _ in range(4):
        log_in(client, password="wrong password")
    assert log_in(client).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    for _ in range(4):
        assert log_in(client, password="wrong password").status_code == 401
    assert log_in(client).status_code == 302


def test_logout_ends_the_session(app, client):
    make_admin(app)
    log_in(client)
    assert client.get("/admin/").status_code == 200
    reply = client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert reply.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_a_new_password_ends_old_sessions(app, client):
    make_admin(app)
    log_in(client)
    with app.app_context():
        auth.set_password(db.session(), "editor", "another long password")
        db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_login_redirects_only_within_the_admin(app, client):
    make_admin(app)
    token = csrf_token(client, "/login")
    for target, expected in (
        ("/admin/services", "/admin/services"),
        ("//evil.example/admin", "/admin/"),
        ("https://evil.example/", "/admin/"),
        ("/admin\\..\\x", "/admin/"),
    ):
        client.post("/logout", data={"csrf_token": token})
        token = csrf_token(client, "/login")
        reply = client.post(
            "/login",
            data={"username": "editor", "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert reply.location == expected, target
        token = csrf_token(client, "/admin/")


def test_passwords_are_stored_only_as_hashes(app, client):
    make_admin(app)
    reply = log_in(client)
    with app.app_context():
        stored = db.session.scalars(select(User.password_hash)).one()
    assert stored.startswith("scrypt:") and PASSWORD not in stored
    cookies = " ".join(reply.headers.getlist("Set-Cookie"))
    assert PASSWORD not in cookies and stored not in cookies


# --- cookies and headers ---------------------------------------------------------------------


def _session_cookie(reply) -> str:
    return next(c for c in reply.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_session_cookie_is_httponly_samesite_and_secure_over_https(app):
    make_admin(app)
    secure = app.test_client()
    token = csrf_token(secure, "https://localhost/login")
    reply = secure.post(
        "https://localhost/login",
        data={"username": "editor", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/login"},  # checked over HTTPS, as browsers send it
    )
    assert reply.status_code == 302
    cookie = _session_cookie(reply)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = app.test_client()
    token = csrf_token(plain, "/login")
    reply = plain.post("/login", data={"username": "editor", "password": PASSWORD,
                                        "csrf_token": token})
    cookie = _session_cookie(reply)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_behind_a_trusted_proxy(database_url, tmp_path):
    from transit import create_app

    proxied = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "k",
        "TRANSIT_MODEL_DIR": str(tmp_path), "TRANSIT_PROXY_HOPS": 1,
    })
    with proxied.app_context():
        db.create_all()
    make_admin(proxied)
    client = proxied.test_client()
    headers = {"X-Forwarded-Proto": "https", "Referer": "https://localhost/login"}
    html = client.get("/login", headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    reply = client.post("/login", headers=headers,
                        data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert "Secure" in _session_cookie(reply)
    with proxied.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("path", ["/", "/cities", "/login", "/api/v1/cities", "/api/v1/docs",
                                  "/no/such/page"])
def test_security_headers_everywhere(client, path):
    reply = client.get(path)
    csp = reply.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["Referrer-Policy"] == "same-origin"


def test_admin_pages_are_never_cached(app, client):
    make_admin(app)
    log_in(client)
    assert client.get("/admin/").headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_style_in_any_template():
    """The CSP forbids inline script and style: no template may need them."""
    for path in sorted((ROOT / "templates").rglob("*.html")):
        html = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (path.name, tag)
        assert not re.search(r"<script\b[^>]*>\s*(?!</script>)\S", html), path.name
        assert not re.search(r"\son[a-z]+\s*=", html), path.name
        assert "<style" not in html and " style=" not in html, path.name
        assert "javascript:" not in html, path.name


# --- hostile input ---------------------------------------------------------------------------

INJECTIONS = ["' OR '1'='1", "1; DROP TABLE cities; --", '" OR 1=1 --', "%' --", "\\'; --"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_injection_strings_change_nothing(app, client, corridor, text):
    log_in(client)
    before = _state(app)
    for url in ("/admin/cities", "/admin/services", "/admin/audit"):
        for name in ("q", "mode", "operator", "city", "number", "user", "entity", "page"):
            reply = client.get(url, query_string={name: text})
            assert reply.status_code == 200, (url, name)
    reply = post(client, "/admin/cities/new", {"name": text, "timezone": "Asia/Shanghai"})
    assert reply.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(City).where(City.name == text)) is not None
        assert db.session.scalar(select(func.count()).select_from(City)) == before[1] + 1
    reply = client.get("/admin/cities", query_string={"q": text})
    assert reply.get_data(as_text=True).count('href="/admin/cities/') >= 1
