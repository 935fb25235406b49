"""What every API view shares.

The blueprint, the ``endpoint`` declaration (Flask rule and OpenAPI entry together),
request parsing, bearer authentication, transactions and audit, conditional responses
(ETag/Last-Modified) and pagination.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import pydantic_core
from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from transit import auth
from transit.db import lock_data_version, lock_row, timetable_stamp
from transit.editing import (  # noqa: F401  (shared)
    EditError,
    conflict_words,
    name_list,
    review,
    service_label,
)
from transit.models import (
    Service,
    ServiceFare,
    Stop,
    Timetable,
    User,
)
from transit.web.api import openapi, problems
from transit.web.api import schemas as s
from transit.web.api.openapi import Operation
from transit.web.api.problems import ApiProblem, field_error, validation_errors
from transit.web.extensions import db
from transit.web.ids import UnknownId
from transit.web.journey_views import shorten

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
problems.install(bp)

# What transit.editing refuses, answered as the API answers: 422, 409, 404 or 413.
EDIT_STATUS = {"invalid": 422, "conflict": 409, "not_found": 404, "too_large": 413}


def edit_problem(error: EditError) -> Response:
    """A refused edit as a problem document; nothing of the request's transaction is kept."""
    db.session.rollback()
    issues = [field_error(issue.field, issue.message) for issue in error.issues]
    return ApiProblem(
        EDIT_STATUS.get(error.kind, 422), error.message, errors=issues or None, extra=error.extra
    ).response()


bp.register_error_handler(EditError, edit_problem)


def _exempt_from_csrf(app: Any) -> None:
    # API writes are authenticated by bearer tokens, never by cookies, so a cross-site form
    # cannot forge one: the session-cookie CSRF check of the pages does not apply here.
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)


# At registration when CSRF protection is already set up, else before the first request
# (this hook then runs before the CSRF check, which was registered after it).
bp.record_once(lambda state: _exempt_from_csrf(state.app))
bp.before_app_request(lambda: _exempt_from_csrf(current_app))


# --- cross-origin use ------------------------------------------------------------------------
# The API is public to read and takes no cookies (writes need a bearer token in a header, which
# no other site's page has), so any site's script may call it: every answer under /api/
# allows any origin, without credentials, and shows a script the headers a client needs.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": (
        "ETag, Last-Modified, Link, Location, Allow, WWW-Authenticate, Content-Length"
    ),
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Headers": (
        "Authorization, Content-Type, If-Match, If-None-Match, If-Modified-Since"
    ),
    "Access-Control-Max-Age": "86400",
}


def _is_api_path() -> bool:
    return request.path.startswith(problems.API_PREFIX)


def _options() -> Response | None:
    """OPTIONS of an API path (a browser's CORS preflight among them): 204 with the methods
    the path takes, instead of Flask's automatic answer (an empty text/html page)."""
    if request.method != "OPTIONS" or not _is_api_path() or request.routing_exception:
        return None
    adapter = request.url_rule and current_app.url_map.bind_to_environ(request.environ)
    methods = ", ".join(sorted(adapter.allowed_methods() if adapter else {"OPTIONS"}))
    response = no_content()
    response.headers["Allow"] = methods
    response.headers["Access-Control-Allow-Methods"] = methods
    response.headers.update(PREFLIGHT_HEADERS)
    return response


def _cross_origin(response: Response) -> Response:
    if _is_api_path():
        for name, value in CORS_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


bp.before_app_request(_options)
bp.after_app_request(_cross_origin)

M = TypeVar("M", bound=BaseModel)
DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024


_ID_WORDS = {"timetable_id": "timetable variant"}


def endpoint(
    method: str, path: str, **details: Any
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a view: its Flask rule and its entry in the OpenAPI document, together."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        operation = Operation(method=method, path=path, operation_id=view.__name__, **details)
        openapi.register(operation)
        rule = re.sub(r"\{(\w+)\}", r"<int:\1>", path)

        @functools.wraps(view)
        def checked(**ids: int) -> Response:
            for name, value in ids.items():
                if isinstance(value, UnknownId):  # larger than any id: no such row
                    if operation.auth:
                        require_admin()
                    asked = shorten(value.asked)
                    # Worded as the 404 of an id that could exist ("Service 5 has no fare 9").
                    owner = ids.get("service_id") if name != "service_id" else None
                    what = _ID_WORDS.get(name, name.removesuffix("_id"))
                    if owner is None or isinstance(owner, UnknownId):
                        raise ApiProblem(404, f"There is no {what} {asked}.")
                    get_or_404(Service, owner, "service")
                    raise ApiProblem(404, f"Service {owner} has no {what} {asked}.")
            if not operation.auth:
                presented_user()
            if method != "GET" and "service_id" in ids:
                # Writes of one service's rows (variants, fares) one after the other, each
                # reading what the one before wrote (as the admin pages do).
                if operation.auth:
                    require_admin()
                lock_row(db.session(), Service, ids["service_id"])
            return view(**ids)

        bp.add_url_rule(rule, view.__name__, checked, methods=[method])
        return view

    return decorate


# --- request parsing -------------------------------------------------------------------------


def parse_query(model: type[M]) -> M:
    """The query string validated by ``model``; 400 naming each bad parameter."""
    repeated = [key for key in request.args if len(request.args.getlist(key)) > 1]
    if repeated:
        raise ApiProblem(
            400,
            "Each parameter may be given once.",
            errors=[field_error(k, "given more than once", "query") for k in repeated],
        )
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise ApiProblem(
            400, "Some query parameters are invalid.", errors=validation_errors(error, "query")
        ) from None


def parse_body(model: type[M]) -> M:
    """The JSON body validated by ``model``: 415 if not JSON, 400 if unreadable, 422 if invalid."""
    if not request.is_json:
        raise ApiProblem(415, "Send the body as JSON with 'Content-Type: application/json'.")
    too_large = ApiProblem(413, f"A JSON body may have at most {MAX_JSON_BYTES} bytes.")
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise too_large
    data = request.get_data(cache=True) if request.content_length is not None else _bounded_body()
    if len(data) > MAX_JSON_BYTES:
        raise too_large
    try:
        return model.model_validate_json(data)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise ApiProblem(400, "The body is not valid JSON.") from None
        errors = validation_errors(error, "body")
        # The checks that run after the model (unknown cities, stop order) report now too.
        seen = {(e["field"], e["message"]) for e in errors}
        try:
            raw = pydantic_core.from_json(data)  # read as the model read it
        except ValueError:
            raw = None
        for issue in review(db.session(), model, raw):
            if (issue.field, issue.message) not in seen:
                errors.append(field_error(issue.field, issue.message))
        raise ApiProblem(422, "The body is invalid.", errors=errors) from None


def _bounded_body() -> bytes:
    """A body sent without Content-Length (chunked), read up to one byte past the limit, so
    that no stream of unknown length is read into memory whole."""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_JSON_BYTES:
        chunk = request.stream.read(min(1 << 16, MAX_JSON_BYTES + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


# --- authentication --------------------------------------------------------------------------


def _challenge(error: str | None = None, description: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="transit"'
    if error:
        value += f', error="{error}"'
    if description:
        value += f', error_description="{description}"'
    return {"WWW-Authenticate": value}


def require_admin() -> User:
    """The administrator whose bearer token came with the request; 401 or 403 otherwise."""
    if not request.headers.get("Authorization", ""):
        raise ApiProblem(
            401,
            "This request changes data: send 'Authorization: Bearer <token>' with a token from "
            "'flask --app app users token NAME'.",
            headers=_challenge(),
        )
    user = presented_user()
    assert user is not None
    if not user.is_admin:
        raise ApiProblem(403, f"User {user.username} is not an administrator.")
    return user


def presented_user() -> User | None:
    """The user whose bearer token came with the request, None without one; 401 for a bad one.

    Reads need no token, but one that is sent is checked: a client whose token was revoked
    or mistyped learns it on its first request, not on its first write.
    """
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(
            401,
            "The Authorization header must be 'Bearer <token>'.",
            headers=_challenge("invalid_request", "use the Bearer scheme"),
        )
    user = auth.user_for_token(db.session(), token.strip(), touch=False)
    if user is None:
        raise ApiProblem(
            401,
            "The bearer token is not valid (revoked, or never issued).",
            headers=_challenge("invalid_token", "unknown token"),
        )
    if request.method not in ("GET", "HEAD"):
        g.bearer_token = token.strip()  # its last use is written once the write commits
    return user


def commit() -> int:
    """Commit the request's transaction; a constraint the checks missed answers 409.

    Returns the data version the write leaves (read before the commit, while the write
    holds it), for the ETag of the answer (``written_etag``).
    """
    try:
        db.session.flush()
        version = timetable_stamp(db.session())[0]
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise ApiProblem(409, conflict_words(error)) from None
    g.committed = True  # a failure from here on must not say "nothing was changed"
    token = g.pop("bearer_token", None)
    if token is not None:
        _record_token_use(token)
    return version


def _record_token_use(token: str) -> None:
    """The token's last use, written after the write (``auth.record_token_use``); a failure
    there is logged and loses nothing the user asked for."""
    try:
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            auth.record_token_use(connection, token)
    except SQLAlchemyError:
        logger.warning("could not record the last use of an API token", exc_info=True)


def written_etag(version: int, path: str) -> dict[str, str]:
    """The ``ETag`` header of a write's answer: the one a GET of ``path`` answers now, so a
    client can send its next PUT, PATCH or DELETE of the resource without reading it again.

    ``version`` is the data version the write left; if another write has committed since,
    the tag is already old and the next If-Match gets 412, as it should.
    """
    return {"ETag": f'W/"{_etag(version, path, [])}"'}


# --- responses and caching -------------------------------------------------------------------


def json_response(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    response = Response(
        model.model_dump_json(by_alias=True), status=status, mimetype="application/json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _without_body(status: int) -> Response:
    # No Content-Type: Flask's default (text/html) would say an empty page, and nothing under
    # /api/ is HTML.
    response = Response(status=status)
    del response.headers["Content-Type"]
    return response


def no_content() -> Response:
    return _without_body(204)


def _etag(version: int, path: str, args: list[tuple[str, str]], extra: str = "") -> str:
    key = f"{path}?{args}|{extra}"
    return f"{version}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


class Validators:
    """ETag and Last-Modified of a timetable read, from the data version."""

    def __init__(
        self,
        extra: str = "",
        use_last_modified: bool = True,
        also_changed: dt.datetime | None = None,
    ):
        version, changed = timetable_stamp(db.session())
        if also_changed is not None:  # other data in the answer (stored forecasts), naive UTC
            changed = max(changed, also_changed) if changed is not None else also_changed
        self.etag = _etag(version, request.path, sorted(request.args.items(multi=True)), extra)
        self.last_modified: dt.datetime | None = None
        if use_last_modified and changed is not None:
            self.last_modified = changed.replace(microsecond=0, tzinfo=dt.UTC)

    def not_modified(self) -> Response | None:
        """A 304 answer when the client's copy is current (RFC 9110 section 13.2.2)."""
        if request.if_none_match:
            # "*" (any current representation) is for conditional_read to judge: it holds
            # only when there is something to read.
            wanted = request.if_none_match
            fresh = not wanted.star_tag and wanted.contains_weak(self.etag)
        elif request.if_modified_since is not None and self.last_modified is not None:
            fresh = self.last_modified <= request.if_modified_since
        else:
            fresh = False
        if not fresh:
            return None
        return self.apply(_without_body(304))

    def apply(self, response: Response) -> Response:
        response.set_etag(self.etag, weak=True)
        if self.last_modified is not None:
            response.last_modified = self.last_modified
        response.headers["Cache-Control"] = "no-cache"
        return response


def check_if_match(path: str, what: str, *also: str) -> None:
    """412 when ``If-Match`` is sent and is not the current ETag of a GET of ``path`` (or of
    one of the paths ``also``, other reads showing the same resource).

    Called before a write touches anything. It holds the data version until the request's
    transaction ends, so a write committed before is seen and none can commit in between.
    The ETags follow the data version, so any timetable change since the client's read
    counts; they are weak (W/), and If-Match compares them by value, as the client got them.
    Without If-Match the write goes ahead.
    """
    wanted = request.if_match
    if not wanted or wanted.star_tag:  # "*": any current version (the resource exists)
        return
    # Held until the commit: no other write can come between this check and ours.
    version = lock_data_version(db.session())
    current = _etag(version, path, [])
    if not any(wanted.contains_weak(_etag(version, shown, [])) for shown in (path, *also)):
        raise ApiProblem(
            412,
            f"{what[:1].upper()}{what[1:]} changed since you read it (the timetable has changed): "
            f"nothing was changed. Read it again (its ETag is now W/\"{current}\") and send your "
            "change with that ETag in If-Match.",
            slug="precondition-failed",
            headers={"ETag": f'W/"{current}"'},
        )


def conditional_read(
    build: Callable[[], Response],
    extra: str = "",
    use_last_modified: bool = True,
    also_changed: dt.datetime | None = None,
) -> Response:
    validators = Validators(extra, use_last_modified, also_changed)
    cached = validators.not_modified()
    if cached is not None:
        return cached
    response = build()  # raises its problem (404) when there is nothing to read
    if request.if_none_match.star_tag and response.status_code == 200:
        return validators.apply(_without_body(304))
    return validators.apply(response)


def page_links(query: s.PageQuery, total: int) -> s.PageLinks:
    params = {k: v for k, v in request.args.items() if k not in ("offset",)}

    def link(offset: int) -> str:
        return request.path + "?" + urlencode({**params, "offset": offset, "limit": query.limit})

    following = query.offset + query.limit
    previous = max(0, query.offset - query.limit)
    if query.offset >= total:
        # Past the end, the page before is the last one there is (the first when none).
        previous = max(0, (total - 1) // query.limit * query.limit)
    return s.PageLinks(
        self=link(query.offset),
        first=link(0),
        next=link(following) if following < total else None,
        prev=link(previous) if query.offset > 0 else None,
    )


def paged(statement: Select[Any], query: s.PageQuery) -> tuple[list[Any], int]:
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = list(db.session.scalars(statement.limit(query.limit).offset(query.offset)))
    return rows, int(total or 0)


def page_response(page_model: type[Any], items: list[Any], total: int, query: s.PageQuery) -> Response:
    """One page of a list: the items, the totals and next/prev links in body and headers."""
    links = page_links(query, total)
    page = page_model(
        items=items, total=total, limit=query.limit, offset=query.offset, links=links
    )
    return json_response(page, headers=link_headers(links))


def link_headers(links: s.PageLinks) -> dict[str, str]:
    parts = [f'<{links.first}>; rel="first"']
    if links.next:
        parts.append(f'<{links.next}>; rel="next"')
    if links.prev:
        parts.append(f'<{links.prev}>; rel="prev"')
    return {"Link": ", ".join(parts)}


# --- lookups ---------------------------------------------------------------------------------


def get_or_404(model: type[Any], ident: int, what: str) -> Any:
    entity = db.session.get(model, ident)
    if entity is None:
        raise ApiProblem(404, f"There is no {what} {ident}.")
    return entity


def service_has_fares(service_id: int, *, od_fares: bool = True) -> bool:
    """Whether the service has a price stored: a leg fare on a stop of any of its variants
    or, unless ``od_fares`` is False (a form that replaces them), an origin-destination fare.
    What ``transit.schemas.fares_currency_problem`` needs to know of a service being changed,
    for the API and the admin service form alike."""
    legs = (
        select(Stop.id)
        .join(Timetable, Timetable.id == Stop.timetable_id)
        .where(Timetable.service_id == service_id, Stop.fare_cents.is_not(None))
        .exists()
    )
    od = select(ServiceFare.id).where(ServiceFare.service_id == service_id).exists()
    return bool(db.session.scalar(select(or_(legs, od) if od_fares else legs)))
