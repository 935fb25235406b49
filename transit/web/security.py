"""Security set-up in one place: CSRF, session cookies, security headers.

- CSRF: Flask-WTF's ``CSRFProtect`` checks every POST/PUT/PATCH/DELETE that is not exempt. The
  REST API exempts itself (its writes carry bearer tokens, never cookies); every page form
  carries ``csrf_token()``. A refused form gets a page saying what to do, in plain words.
- NUL characters: no text here holds one (PostgreSQL cannot even compare with one), so a
  page address whose query carries one is refused with a 400 naming the field; forms say
  so beside the field, and the API checks its own parameters and bodies (422 per field).
- Session cookies: HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS
  (directly, or through ``TRANSIT_PROXY_HOPS`` trusted reverse proxies that say so in
  ``X-Forwarded-Proto``); ``TRANSIT_SECURE_COOKIES=1`` forces Secure always (both read in transit.config).
- Headers on every answer: a Content-Security-Policy allowing only this site's own scripts
  and styles (no inline script anywhere), no framing, no MIME sniffing, a strict referrer
  policy, HSTS over HTTPS, and ``Cache-Control: no-store`` on the admin and login pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Request, Response, abort, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from transit.web.i18n import gettext

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
PRIVATE_PREFIXES = ("/admin", "/login", "/logout")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(app.config.get("SESSION_COOKIE_SECURE"))
        try:
            return configured or request.is_secure
        except RuntimeError:  # outside a request
            return configured


def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith(PRIVATE_PREFIXES):
        # Admin pages show unpublished data and forms with tokens: never stored anywhere.
        response.headers["Cache-Control"] = "no-store"
    return response


def _refuse_nul() -> Response | None:
    """400 for a page address with a NUL character in its query (no browser sends one from
    what a person types; PostgreSQL refuses them in any query). Forms say it beside the
    field instead, as they say every other problem."""
    if request.path.startswith("/api/"):
        return None
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            message = gettext(
                "The field “%(field)s” holds a NUL character (\\0), which no text here may "
                "contain. Remove it and try again.", field=key.replace("\x00", "\\0"))
            if request.path.endswith(".ics"):  # a calendar file's errors are plain text
                return Response(message, 400, mimetype="text/plain")
            abort(400, description=message)
    return None


def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    message = gettext(
        "This form could not be accepted: its security token is missing or has expired. "
        "Go back, reload the page and send the form again."
    )
    error.description = message
    return render_template("error.html", code=400, error=error), 400


ADMIN_SESSION_SECONDS = 8 * 3600  # how long a login lasts (docs/admin.md)


def init_app(app: Flask) -> None:
    """CSRF protection, cookie settings, proxy trust and security headers for ``app``.

    Call before registering blueprints, so the API blueprint finds CSRF set up and exempts
    itself at registration.
    """
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", ADMIN_SESSION_SECONDS)
    # Assigned, not set by default: Flask's own default (31 days) is always there already.
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(seconds=ADMIN_SESSION_SECONDS)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("TRANSIT_SECURE_COOKIES"):
        app.config["SESSION_COOKIE_SECURE"] = True
    hops = int(app.config.get("TRANSIT_PROXY_HOPS", 0))
    if hops > 0:
        wsgi: Any = app.wsgi_app
        app.wsgi_app = ProxyFix(wsgi, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.session_interface = SessionInterface()
    app.before_request(_refuse_nul)
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.after_request(_headers)


def client_address(req: Request) -> str:
    """The client's address (after ProxyFix, the one the trusted proxy saw)."""
    return (req.remote_addr or "")[:64]
