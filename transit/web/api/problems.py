"""RFC 9457 problem details: every API error is ``application/problem+json``.

A problem has ``type`` (a link to its description in the API documentation), ``title``,
``status``, ``detail`` and, for input errors, ``errors``: one item per field with what is
wrong. Routing failures (unknown path, wrong method) are answered here too, before Flask's
HTML error pages, so nothing under ``/api/`` ever answers HTML.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from transit.editing import conflict_words
from transit.web.extensions import db, log_schema_problem
from transit.words import Words

PROBLEM_MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"
DOCS_PATH = "/api/v1/docs"

log = logging.getLogger(__name__)

# Problem types: slug -> (title, what it means). Each is described on the docs page.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "bad-request": (
        "Bad request",
        "The request could not be read: malformed JSON, a wrong content type or a query "
        "parameter of the wrong type. `errors` names each parameter.",
    ),
    "validation-error": (
        "Invalid input",
        "The request was read but its content is not acceptable: a missing or out-of-range "
        "field, an unknown city, times out of order. `errors` names each field.",
    ),
    "unauthorized": (
        "Authentication required",
        "Writes need `Authorization: Bearer <token>` with a token from "
        "`flask users token NAME`; the token was missing or is not valid.",
    ),
    "forbidden": ("Not allowed", "The token is valid but its user is not an administrator."),
    "not-found": ("Not found", "No such resource (or no such path in the API)."),
    "method-not-allowed": (
        "Method not allowed",
        "The path exists but not with this method; the `Allow` header lists those it has.",
    ),
    "conflict": (
        "Conflict",
        "The change would break the timetable's integrity: a duplicate name or code, a city or "
        "calendar still in use. `detail` says which, and what to do.",
    ),
    "precondition-failed": (
        "Precondition failed",
        "The resource changed since you read it (its `ETag` is no longer the one sent in "
        "`If-Match`); nothing was changed. Read it again and send your change with the new ETag.",
    ),
    "import-failed": (
        "Import failed",
        "The uploaded file has problems; nothing was written. `errors` lists each one with "
        "its file, line and field.",
    ),
    "length-required": (
        "Length required",
        "Uploads must say how large they are (`Content-Length`); chunked uploads are refused.",
    ),
    "payload-too-large": ("Payload too large", "The upload is larger than the server accepts."),
    "unsupported-media-type": (
        "Unsupported media type",
        "Send JSON bodies as `application/json` and uploads as `multipart/form-data`.",
    ),
    "internal-error": (
        "Internal error",
        "Something failed on the server; nothing was changed. The event was logged.",
    ),
}

_STATUS_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    411: "length-required",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    500: "internal-error",
}


def _slug_for(status: int) -> str:
    return _STATUS_TYPES.get(status, "internal-error" if status >= 500 else "bad-request")


def problem_type_uri(slug: str) -> str:
    """The URI reference of a problem type: its anchor on the documentation page."""
    return f"{DOCS_PATH}#problem-{slug}"


def field_error(field: str, message: str, location: str = "body") -> dict[str, str]:
    """One item of a problem's ``errors`` list."""
    return {"field": field, "location": location, "message": message}


class ApiProblem(Exception):
    """Raised anywhere in an API view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: Iterable[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _slug_for(status)
        self.errors = [dict(e) for e in errors] if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def response(self) -> Response:
        return problem_response(
            self.status,
            self.detail,
            slug=self.slug,
            errors=self.errors,
            headers=self.headers,
            extra=self.extra,
        )


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """A complete ``application/problem+json`` response."""
    slug = slug or _slug_for(status)
    title = PROBLEM_TYPES[slug][0]
    body: dict[str, Any] = {
        "type": problem_type_uri(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _loc_to_field(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(request)"


def validation_errors(error: ValidationError, location: str) -> list[dict[str, str]]:
    """Pydantic's errors as problem ``errors`` items: the field and what is wrong with it."""
    items = []
    for item in error.errors(include_url=False):
        loc = tuple(item.get("loc", ()))
        message = str(item.get("msg", "invalid"))
        if item.get("type") in _DATETIME_ERRORS:
            # Pydantic's words ("unexpected extra characters at the end of the input" for
            # 24:30) say nothing of what a time must look like.
            message = (
                f"{item.get('input')!r} is not a date and time: use YYYY-MM-DDTHH:MM, with "
                "hours 00 to 23, seconds and a UTC offset if you like (2026-03-02T07:30, "
                "2026-03-02T07:30:00+08:00)"
            )
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        field = _loc_to_field(loc)
        # Model-level checks name the field they mean as "field: message", or (the "cannot
        # be null" checks of PATCH bodies) as the ``field`` value of their words.
        meant = _field_of_words(item)
        named = _NAMED.match(message)
        if meant is not None:
            parent = _loc_to_field(loc) if loc else ""
            field = f"{parent}.{meant}" if parent else meant
        elif named:
            part, message = named.groups()
            last = str(loc[-1]) if loc else ""
            if last and part.startswith(last + "["):
                parent = _loc_to_field(loc[:-1]) if len(loc) > 1 else ""
                field = f"{parent}.{part}" if parent else part
            else:
                field = part if field == "(request)" else f"{field}.{part}"
        items.append(field_error(field, message, location))
    return items


def _field_of_words(item: Mapping[str, Any]) -> str | None:
    """The field a model-level refusal names in its words' values (``%(field)s cannot be
    null``), when it names one."""
    error = (item.get("ctx") or {}).get("error")
    words = error.args[0] if isinstance(error, ValueError) and error.args else None
    field = getattr(words, "values", {}).get("field") if isinstance(words, Words) else None
    return field if isinstance(field, str) and field.isidentifier() else None


_DATETIME_ERRORS = {"datetime_from_date_parsing", "datetime_parsing", "datetime_type"}
_NAMED = re.compile(r"^([A-Za-z_][\w.]*(?:\[\d+\])?): (.+)$", re.S)


def _is_api_request() -> bool:
    return request.path == API_PREFIX.rstrip("/") or request.path.startswith(API_PREFIX)


def _routing_problem() -> Response | None:
    """Answer unknown paths and wrong methods under /api/ with problems, not HTML."""
    exception = request.routing_exception
    if exception is None or not _is_api_request():
        return None
    if isinstance(exception, MethodNotAllowed):
        allowed = sorted(exception.valid_methods or [])
        return problem_response(
            405,
            f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}.",
            headers={"Allow": ", ".join(allowed)},
        )
    if isinstance(exception, HTTPException) and exception.code == 404:
        detail = f"There is no {request.path} in the API; see {DOCS_PATH} for what there is."
        bare = request.path.rstrip("/")
        if bare != request.path and _exists(bare):
            detail = (f"There is no {request.path} in the API: its paths end without a "
                      f"slash, {bare}.")
        return problem_response(404, detail)
    # Redirects for a missing trailing slash and the like keep their own behaviour.
    return None


def _exists(path: str) -> bool:
    """Whether ``path`` is a path of the app (with any method)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(path, method=request.method)
    except MethodNotAllowed:
        return True
    except HTTPException:
        return False
    return True


def _http_problem(error: HTTPException) -> Response:
    status = error.code or 500
    headers: dict[str, str] = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    detail = error.description or "Error."
    return problem_response(status, detail, headers=headers)


def _integrity(error: IntegrityError) -> Response:
    # The views check constraints first; this catches what only the database could see.
    db.session.rollback()
    return problem_response(409, conflict_words(error))


def _unexpected(error: Exception) -> Response:
    db.session.rollback()
    log.exception("unexpected error on %s %s", request.method, request.path)
    log_schema_problem(error)
    if g.get("committed"):
        return problem_response(500, "The change was saved, but the server failed to answer "
                                     "this request: read the resource again before repeating it.")
    return problem_response(500, "The server failed to answer this request; nothing was changed.")


def install(bp: Blueprint) -> None:
    """Attach the problem handlers to the API blueprint (and its routing errors to the app)."""
    bp.register_error_handler(ApiProblem, lambda e: e.response())
    bp.register_error_handler(HTTPException, _http_problem)
    bp.register_error_handler(IntegrityError, _integrity)
    bp.register_error_handler(Exception, _unexpected)
    bp.before_app_request(_routing_problem)
