"""What every admin view shares: the blueprint, who is logged in, form errors, paging.

Every view of the blueprint except the login page needs a logged-in administrator: the
check runs before each request of the blueprint, so a view cannot forget it. Logged out,
a GET is sent to ``/login?next=...`` and anything else is refused the same way (and, with
CSRF protection in front, a form without its token never gets this far).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, request, session, url_for
from pydantic import ValidationError
from sqlalchemy import Select, delete, func, select
from werkzeug.wrappers import Response

from transit.db import lock_row as db_lock_row
from transit.editing import EditError
from transit.models import AdminSession, User
from transit.schemas import FieldRefusal
from transit.web.api.problems import validation_errors
from transit.web.extensions import db
from transit.web.i18n import gettext, translated
from transit.web.ids import whole_number
from transit.words import Words

bp = Blueprint("admin", __name__)

SESSION_USER = "admin_user"
SESSION_CHECK = "admin_check"
SESSION_TOKEN = "admin_token"  # its SHA-256 is the AdminSession row's id
PUBLIC_ENDPOINTS = {"admin.login"}
PER_PAGE = 50


def session_check(user: User) -> str:
    """A digest of the password hash kept in the cookie: a new password ends old sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _token_digest() -> str | None:
    token = session.get(SESSION_TOKEN)
    return hashlib.sha256(token.encode()).hexdigest() if isinstance(token, str) else None


def open_session(user: User) -> None:
    """Log ``user`` in on this browser: a fresh cookie session and its row (the caller
    commits). Rows older than a session's lifetime go at the same time."""
    now = _now()
    db.session.execute(
        delete(AdminSession).where(
            AdminSession.created_at < now - current_app.permanent_session_lifetime
        )
    )
    session.clear()  # nothing from before the login survives
    token = secrets.token_urlsafe(32)
    session[SESSION_USER] = user.id
    session[SESSION_CHECK] = session_check(user)
    session[SESSION_TOKEN] = token
    session.permanent = True
    db.session.add(AdminSession(id=_token_digest(), user_id=user.id, created_at=now))


def close_session() -> None:
    """Log out: the row goes, so the cookie (or a copy of it) opens nothing any more."""
    digest = _token_digest()
    if digest is not None:
        db.session.execute(delete(AdminSession).where(AdminSession.id == digest))
        db.session.commit()
    session.clear()


def current_user() -> User | None:
    """The administrator logged in on this request, or None: the cookie must name a
    session row that is still there (not logged out, not too old)."""
    if "admin_user_obj" not in g:
        user = None
        user_id = session.get(SESSION_USER)
        digest = _token_digest()
        if isinstance(user_id, int) and digest is not None:
            found = db.session.get(User, user_id)
            row = db.session.get(AdminSession, digest)
            if (
                found is not None
                and found.is_admin
                and session.get(SESSION_CHECK) == session_check(found)
                and row is not None
                and row.user_id == found.id
                and row.created_at >= _now() - current_app.permanent_session_lifetime
            ):
                user = found
        g.admin_user_obj = user
    return g.admin_user_obj  # type: ignore[no-any-return]


def user_name() -> str:
    user = current_user()
    assert user is not None  # every admin view runs after _require_login
    return user.username


@bp.before_request
def _require_login() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user() is not None:
        return None
    if request.method == "GET":
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    flash(gettext("Please log in again: your session has ended, nothing was changed."), "error")
    return redirect(url_for("admin.login"))


@bp.app_context_processor
def _admin_context() -> dict[str, Any]:
    return {"admin_user": current_user if request.path.startswith("/admin") else lambda: None}


# --- form errors -----------------------------------------------------------------------------

_INDEX_TAIL = re.compile(r"\[\d+\]$")


def _key(field: str, strip: str, renames: dict[str, str]) -> str:
    if strip and field.startswith(strip):
        field = field[len(strip):]
    # A bad item of a plain list (one of the added dates, one of a city's other names)
    # belongs to the list's field.
    if field.startswith(("calendar.", "weekdays", "aliases[")):
        field = _INDEX_TAIL.sub("", field)
    return renames.get(field, field)


def _add(errors: dict[str, str], key: str, message: str) -> None:
    errors[key] = f"{errors[key]}; {message}" if key in errors else message


def validation_messages(
    error: ValidationError,
    strip: str = "",
    renames: dict[str, str] | None = None,
    plain: Callable[[str, Any], str | None] | None = None,
) -> dict[str, str]:
    """Pydantic's errors keyed by form field (``stops[2].arrival``), one message each.

    ``plain(key, detail)`` may say an error (pydantic's detail: type, input...) in the form's
    words; when it gives None, the model's message stays, in the reader's language."""
    errors: dict[str, str] = {}
    details = error.errors(include_url=False)
    # validation_errors gives one item per pydantic error, in the same order.
    for detail, item in zip(details, validation_errors(error, "form"), strict=True):
        key = _key(item["field"], strip, renames or {})
        message = (plain and plain(key, detail)) or _model_words(detail, item["message"])
        _add(errors, key, message)
    return errors


def _model_words(detail: Any, message: str) -> str:
    """The message of a model's own check (``transit.schemas`` raises ``Words``, or
    ``FieldRefusal`` holding them) in the reader's language. Pydantic's text of the error is
    plain; the exception it keeps has the ``Words``, used where they say what the API says."""
    raised = (detail.get("ctx") or {}).get("error")
    words = raised.words if isinstance(raised, FieldRefusal) else (
        raised.args[0] if isinstance(raised, ValueError) and raised.args else None
    )
    if isinstance(words, Words) and words == message:
        return in_reader_words(words)
    return message


def in_reader_words(message: str) -> str:
    """A message of the core (``editing``) in the reader's language, as ``translated`` says
    it, and the messages it is made of too: a refusal's summary ("Some fields are invalid:
    ...") lists its issues, each ``Words`` of its own."""
    if isinstance(message, Words) and any(isinstance(v, Words) for v in message.values.values()):
        parts = copy.copy(message)  # the same msgid, its values said in the reader's language
        parts.values = {
            key: in_reader_words(value) if isinstance(value, Words) else value
            for key, value in message.values.items()
        }
        return translated(parts)
    return translated(message)


def edit_messages(
    error: EditError, strip: str = "", renames: dict[str, str] | None = None
) -> dict[str, str]:
    """A refused edit as form errors; the overall message goes under ``_form``."""
    errors: dict[str, str] = {"_form": in_reader_words(error.message)}
    for issue in error.issues:
        _add(errors, _key(issue.field, strip, renames or {}), in_reader_words(issue.message))
    return errors


def merge(*parts: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for part in parts:
        for key, message in part.items():
            _add(errors, key, message)
    return errors


def labelled(errors: dict[str, str], labels: dict[str, str]) -> dict[str, str]:
    """Each message after the label the form shows for its field ("Latitude: ..."), for the
    summary (``keys=False``) and beside the field; the overall ``_form`` message stays as is."""
    return {
        key: message if key == "_form" else f"{labels.get(key, key)}: {message}"
        for key, message in errors.items()
    }


# --- form values -----------------------------------------------------------------------------


def text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def optional(name: str) -> str | None:
    return text(name) or None


def columns(*names: str, selects: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Rows of a repeated group of inputs (the stops editor), blank rows left out: a row is
    blank when nothing is typed in it (its ``selects`` always send a value)."""
    lists = [request.form.getlist(name) for name in names]
    length = max((len(values) for values in lists), default=0)
    rows = []
    for index in range(length):
        row = {
            name: (values[index] if index < len(values) else "").strip()
            for name, values in zip(names, lists, strict=True)
        }
        if any(value for key, value in row.items() if key not in selects):
            rows.append(row)
    return rows


# --- paging ----------------------------------------------------------------------------------


class Page:
    """One page of a listing."""

    def __init__(self, items: list[Any], total: int, page: int, per_page: int = PER_PAGE):
        self.items = items
        self.total = total
        self.page = page
        self.pages = max(1, math.ceil(total / per_page))


def page_number() -> int:
    number = whole_number(request.args.get("page", "1"))
    return max(1, min(number, 1_000_000)) if number is not None else 1


def paginate(statement: Select[Any], per_page: int = PER_PAGE) -> Page:
    page = page_number()
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = list(db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)))
    return Page(rows, int(total or 0), page, per_page)


# --- edits made at the same time ----------------------------------------------------------------


def state_version(*parts: Any) -> str:
    """A digest of the stored state an edit form shows: the form carries it (``version``) from
    when it was opened, so a save can tell that someone else changed the thing meanwhile."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def opened_at() -> str:
    return text("version")


def changed_meanwhile(current: str) -> bool:
    """Whether the posted form was opened at another version than ``current``. A post
    without a version (not from the form) is not checked."""
    sent = opened_at()
    return bool(sent) and sent != current


def lock_row(model: Any, ident: int) -> None:
    """Hold the row until the transaction ends, so two saves of the same thing run one after
    the other and the second sees the first's change (``transit.db.lock_row``)."""
    db_lock_row(db.session(), model, ident)


def rollback_with(error_messages: Iterable[str]) -> None:
    db.session.rollback()
    for message in error_messages:
        flash(message, "error")
