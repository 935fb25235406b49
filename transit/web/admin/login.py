"""Logging in and out, with a limit on failed attempts.

Failed logins are kept in ``login_attempts``. After ``MAX_FAILURES`` failures for one user
name from one address within ``WINDOW``, that name is locked for that address until the
oldest of those failures is ``WINDOW`` old; a success clears the count. The check runs before
the password is looked at, so a locked name cannot be guessed at any speed.
"""

from __future__ import annotations

import datetime as dt
import math

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import delete, func, select
from werkzeug.wrappers import Response

from transit import auth
from transit.models import LoginAttempt
from transit.web.admin.common import bp, close_session, open_session
from transit.web.extensions import db
from transit.web.i18n import gettext
from transit.web.security import client_address

MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)
KEEP = dt.timedelta(days=7)  # older attempts are pruned


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def locked_for(username: str, address: str, now: dt.datetime) -> dt.timedelta | None:
    """How long ``username`` stays locked for ``address``; None when it may try.

    Counted by the name in any case, as logging in matches it: "QA", "Qa", "qA" are one
    name's five tries, not five each."""
    username = auth.same_name(username)
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username,
            LoginAttempt.remote_addr == address,
            LoginAttempt.success.is_(True),
        )
    )
    since = now - WINDOW
    if last_success is not None and last_success > since:
        since = last_success
    failures = list(
        db.session.scalars(
            select(LoginAttempt.at)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.remote_addr == address,
                LoginAttempt.success.is_(False),
                LoginAttempt.at > since,
            )
            .order_by(LoginAttempt.at.desc())
            .limit(MAX_FAILURES)
        )
    )
    if len(failures) < MAX_FAILURES:
        return None
    return failures[-1] + WINDOW - now


def _record(username: str, address: str, success: bool, now: dt.datetime) -> None:
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))
    db.session.add(
        LoginAttempt(at=now, username=auth.same_name(username)[:80], remote_addr=address,
                     success=success)
    )
    db.session.commit()


def _safe_next(target: str | None) -> str:
    # Only paths of this site's admin: never another host ("//evil", "https://...").
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """The login form; on success the session remembers the administrator for 8 hours."""
    next_url = request.values.get("next", "")
    if request.method == "GET":
        return render_template("login.html", username="", next_url=next_url, error=None)
    username = (request.form.get("username") or "").strip()[:80]
    password = request.form.get("password") or ""
    address = client_address(request)
    now = _now()
    wrong = gettext("The user name or the password is wrong, or the user is not an "
                    "administrator.")
    if "\x00" in username:  # no user's name has one (and PostgreSQL cannot look one up)
        return render_template("login.html", username="", next_url=next_url, error=wrong), 401
    wait = locked_for(username, address, now)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        error = gettext(
            "Too many failed logins for this user from your address. Try again in "
            "%(minutes)d minutes.",
            minutes=minutes,
        )
        return render_template("login.html", username=username, next_url=next_url, error=error), 429
    user = auth.authenticate(db.session(), username, password) if username and password else None
    if user is None or not user.is_admin:
        _record(username, address, False, now)
        # One message for both: telling them apart would confirm a guessed password.
        return render_template("login.html", username=username, next_url=next_url, error=wrong), 401
    open_session(user)
    _record(username, address, True, now)  # commits both
    flash(gettext("Logged in as %(name)s.", name=user.username), "info")
    return redirect(_safe_next(next_url))


@bp.post("/logout")
def logout() -> Response:
    """End the session (a POST with the CSRF token, so no other site can log anyone out)."""
    close_session()
    flash(gettext("Logged out."), "info")
    return redirect(url_for("admin.login"))
