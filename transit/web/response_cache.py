"""Public answers kept in memory until the data they show changes.

An anonymous ``GET`` of a public page or API read is a function of the URL, the interface
language, the database's content and (for pages whose defaults are "today" or "now") the
clock. The content has a version (``transit.db.content_version``, bumped in the same
transaction as every write to a public table), so a worker keeps the answers it gave and
hands the same bytes to the next identical request while the version (and, for the pages
whose default is "today" or "now", the clock's quarter hour or minute) is the same. The version is read inside the request's read transaction
(``transit/web/consistency.py``): a kept answer is exactly what the view would build from
that state, never an older one. When the version moves on, the pages of one service or one
city that the change did not touch are kept (each change is logged with the services and
cities it touched); everything else is dropped.

Not kept: requests with credentials or a session cookie (their pages may show private
things), conditional requests (the views answer 304 themselves), route searches that leave
"now" (the time is to the second on the pages), answers other than 200, and anything under
the private prefixes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, request

from transit.db import ALL_CHANGED, changes_between, content_version, latest_content_version
from transit.web.extensions import db

# Endpoints whose answers are kept, with the query parameters that make a route search
# "at a given time" (without one of them it leaves now and is not kept).
CACHED_ENDPOINTS: dict[str, tuple[str, ...] | None] = {
    "pages.cities": None,
    "pages.city": None,
    "pages.service": None,
    "pages.suggest": None,
    "pages.routes": ("time",),
    "api.list_cities": None,
    "api.get_city": None,
    "api.list_calendars": None,
    "api.get_calendar": None,
    "api.list_services": None,
    "api.get_service": None,
    "api.get_timetable": None,
    "api.get_fares": None,
    "api.find_routes": ("depart", "arrive_by"),
}
# Pages showing one service or one city, whose answers outlive changes elsewhere: a service
# page shows the service's own rows (and calendars and city names, whose changes count as
# "all"); a city page shows the services calling at the city, and every change to a service
# names the cities it called at before and after (transit.db). With other arguments (a mode
# filter checked against the whole network) they depend on everything.
SCOPED_ENDPOINTS = {"pages.service": "service:{service_id}", "pages.city": "city:{city_id}"}
SCOPED_ARGS = {"lang", "date", "page", "variant"}
# Pages that read the clock, and how long the same answer holds (seconds): a city's board
# defaults to today in the city's zone (whose midnight falls on a quarter hour of UTC); a
# route form without a date takes today; a service page charts the latest runs.
CLOCK_SECONDS = {"pages.city": 900, "pages.routes": 900, "pages.service": 60}
KEPT_HEADERS = ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary", "Link")
MAX_ENTRIES = 4096
MAX_BYTES = 64 * 1024 * 1024


# An answer kept: status, body, headers, and what it depends on (None: everything).
Entry = tuple[int, bytes, list[tuple[str, str]], frozenset[str] | None]


class ResponseCache:
    """A bounded map from request keys to answers of one content version.

    When the version moves on, ``catch_up`` keeps the answers that depend only on things
    the changes since did not touch (see ``transit.db.changes_between``) and drops the rest.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self._stamp: Any = None
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def catch_up(
        self, stamp: tuple[int, Any], changed: Callable[[int, int], set[str] | None]
    ) -> None:
        """Move to version ``stamp``; ``changed(a, b)`` says what versions a+1..b changed."""
        with self._lock:
            current = self._stamp
            if stamp == current or (current is not None and _older(stamp, current)):
                return
            scopes = None
            if current is not None and stamp[0] > current[0] and _later(stamp, current):
                scopes = changed(current[0], stamp[0])
            if scopes is None or ALL_CHANGED in scopes:
                self._entries.clear()
                self._bytes = 0
            else:
                for key in [
                    key for key, entry in self._entries.items()
                    if entry[3] is None or entry[3] & scopes
                ]:
                    self._bytes -= len(self._entries.pop(key)[1])
            self._stamp = stamp

    def holds(self, key: tuple[Any, ...]) -> bool:
        """Whether an answer for ``key`` is kept (of the version last caught up with)."""
        return key in self._entries

    def get(self, stamp: Any, key: tuple[Any, ...]) -> Response | None:
        with self._lock:
            entry = self._entries.get(key) if stamp == self._stamp else None
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        status, body, headers, _ = entry
        return Response(body, status=status, headers=headers)

    def put(
        self,
        stamp: Any,
        key: tuple[Any, ...],
        response: Response,
        depends_on: frozenset[str] | None = None,
    ) -> None:
        body = response.get_data()
        headers = [(k, v) for k in KEPT_HEADERS if (v := response.headers.get(k)) is not None]
        with self._lock:
            if self._stamp is None:
                self._stamp = stamp
            elif stamp != self._stamp:
                return  # a request that began before the last change, finishing late
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._entries[key] = (response.status_code, body, headers, depends_on)
            self._bytes += len(body)
            while self._entries and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped[1])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._stamp = None


def _older(stamp: tuple[int, Any], current: tuple[int, Any] | None) -> bool:
    """Whether ``stamp`` is a version before ``current`` of the same database (a database
    made again at the same address starts its numbers over, with a later change time)."""
    if current is None or stamp[0] >= current[0]:
        return False
    try:
        return not stamp[1] > current[1]
    except TypeError:
        return True


def _later(stamp: tuple[int, Any], current: tuple[int, Any]) -> bool:
    """Whether ``stamp``'s change came at or after ``current``'s (the same database)."""
    try:
        return bool(stamp[1] >= current[1])
    except TypeError:
        return False


def _depends_on() -> frozenset[str] | None:
    """What this request's answer depends on, when less than everything (SCOPED)."""
    template = SCOPED_ENDPOINTS.get(request.endpoint or "")
    if template is None or set(request.args) - SCOPED_ARGS:
        return None
    return frozenset({template.format(**(request.view_args or {}))})


def _key() -> tuple[Any, ...] | None:
    """This request's key, or None when its answer is not to be kept."""
    if request.method != "GET" or request.endpoint not in CACHED_ENDPOINTS:
        return None
    if "Authorization" in request.headers:
        return None
    if current_app.config.get("SESSION_COOKIE_NAME", "session") in request.cookies:
        return None
    if request.if_none_match or request.if_modified_since is not None:
        return None
    at_time = CACHED_ENDPOINTS[request.endpoint]
    if at_time is not None and not any(request.args.get(name) for name in at_time):
        return None
    from transit.web.i18n import select_language

    clock = 0
    seconds = CLOCK_SECONDS.get(request.endpoint)
    if seconds and not (request.endpoint == "pages.city" and request.args.get("date")):
        clock = int(time.time()) // seconds
    if request.args.get("arrive_by") or request.args.get("time_kind") == "arrive_by":
        # An arrive-by search proposes nothing that has already left (routing Query's
        # not_before): its answer holds for the minute.
        clock = -(int(time.time()) // 60)  # negative: never equal to a quarter hour's count
    return (request.full_path, select_language(), request.accept_mimetypes.to_header(), clock)


def _answer_from_cache() -> Response | None:
    """A kept answer, when there is one for this request and the content has not moved.

    Runs before the read transaction begins: the version is read on a connection of its own,
    outside any transaction, so an answer from memory costs one statement (no ``BEGIN`` or
    ``ROLLBACK``). That is enough: the version read was the latest committed one after the
    request arrived, and the kept answer was built from exactly that content.
    """
    key = _key()
    if key is None:
        return None
    cache: ResponseCache = current_app.extensions["transit_response_cache"]
    g.response_cache_key = key
    if not cache.holds(key):
        return None  # the view answers in its read transaction; _keep keeps the answer
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        stamp = latest_content_version(connection)
        cache.catch_up(stamp, lambda after, upto: changes_between(connection, after, upto))
    kept = cache.get(stamp, key)
    if kept is not None:
        del g.response_cache_key  # nothing to keep
    return kept


def _keep(response: Response) -> Response:
    """Keep the view's answer under the version its own read transaction saw."""
    key = g.pop("response_cache_key", None)
    if (
        key is None
        or response.status_code != 200
        or response.direct_passthrough
        or response.is_streamed
        or "Set-Cookie" in response.headers
    ):
        return response
    cache: ResponseCache = current_app.extensions["transit_response_cache"]
    session = db.session()
    stamp = content_version(session)
    cache.catch_up(stamp, lambda after, upto: changes_between(session.connection(), after, upto))
    cache.put(stamp, key, response, _depends_on())
    return response


def init_app(app: Flask) -> None:
    """Answer repeated public reads from memory; call before ``consistency.init_app``, so
    that an answer from memory opens no read transaction."""
    size = int(app.config.get("TRANSIT_ANSWER_CACHE_BYTES", MAX_BYTES))
    app.extensions["transit_response_cache"] = ResponseCache(max_bytes=size)
    if size > 0:  # TRANSIT_ANSWER_CACHE_MB=0 turns it off
        app.before_request(_answer_from_cache)
        app.after_request(_keep)
