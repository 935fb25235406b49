"""An immutable, compact copy of the timetable that the router searches.

Built once from the database (a handful of bulk ``SELECT``s, no ORM objects) or straight from
an importer's ``Feed``, then queried many times. Everything the search touches is a numpy
array indexed by city, service, timetable ("trip" inside the engine), stop row or connection
(a ride between two consecutive stops of a timetable).

Times follow docs/routing.md: a stop time ``t`` on service date ``D`` is the instant
``D 12:00 local - 12 h + t`` in the stop's city's zone. ``expand`` turns the connections of
the timetables running on a range of service dates into absolute times (Unix seconds),
sorted by departure; the few latest expansions are kept.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from transit.config import DEFAULT_MIN_CONNECTION_MINUTES
from transit.models import (
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    Transfer,
)
from transit.names import CityLookup
from transit.routing.kernels import (
    BOARD_CUM,
    BOARD_PATTERN,
    BOARD_RIDE,
    BOARD_RUN,
    BOARD_TRIP_FLAGS,
    BOARD_WIDTH,
    BOARD_ZONE,
    BOARD_ZONE_PART,
    FROM_CUM,
    FROM_POS,
    NEXT,
    NEXT_DEP,
    NEXT_DEP_TIME,
    NO_ZONE_FARE,
    RECORD_WIDTH,
    RIDE_ARR,
    RIDE_DEP,
    RIDE_FLAGS,
    RIDE_REC,
    RIDE_TO,
    RIDE_TO_CUM,
    RIDE_WIDTH,
    RIDE_ZONE_ALIGHT,
    TO_CUM,
    UNREACHABLE,
    WIDE_WIDTH,
    ZONE,
    ZONE_ALIGHT,
    ZONE_BOARD,
    chain_runs,
    distances,
    hop_graph,
    warm_up,
)
from transit.routing.query import close_names
from transit.timetable.feed import MAX_CENTS, Feed

EPOCH_DATE = dt.date(1970, 1, 1)
# A zone's UTC offset is within +-14 h: service-date arithmetic allows that much slack.
MAX_ZONE_OFFSET = 14 * 3600


@lru_cache(maxsize=16384)
def service_day_start(day: dt.date, zone: str) -> int:
    """Unix seconds of service date ``day``'s reference midnight in ``zone`` (noon - 12 h)."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(zone))
    return int(noon.timestamp()) - 43200


@dataclass(frozen=True)
class CalendarRule:
    """A calendar's rule: weekly pattern (bit 0 = Monday) within dates, plus exceptions."""

    weekdays: int
    start: dt.date | None
    end: dt.date | None
    added: frozenset[dt.date]
    removed: frozenset[dt.date]

    def runs_on(self, day: dt.date) -> bool:
        if day in self.removed:
            return False
        if day in self.added:
            return True
        if self.start is not None and day < self.start:
            return False
        if self.end is not None and day > self.end:
            return False
        return bool(self.weekdays >> day.weekday() & 1)


def _aligned_rows(n: int, width: int) -> np.ndarray:
    """An int32 array of ``n`` rows of ``width`` that starts on a 64-byte cache line."""
    buf = np.empty(n * width + 16, dtype=np.int32)
    off = (-buf.ctypes.data % 64) // 4
    return buf[off:off + n * width].reshape(n, width)


@dataclass
class Timeline:
    """The connections of the runs that depart in a time range, in one direction's terms.

    Sorted by departure (then arrival), in absolute time for ``dep`` (negated arrivals for the
    reversed timeline) and as records for the compiled scans (kernels.py): departure and
    arrival relative to ``base``, dense run id (a run is a timetable on one service date),
    cities, timetable and flags; and the same records in wide rows for the multi-criteria
    scan (kernels.WIDE_WIDTH: also the boarding stop row, zone-fare service and index
    parts, cumulative fares, the next record of the run and the next departure of the city).
    """

    dep: np.ndarray  # int64 Unix seconds, for binary search
    rec: np.ndarray  # int32, shape (n, kernels.RECORD_WIDTH), for the plain scans
    wide: np.ndarray  # int32, shape (n, kernels.WIDE_WIDTH), rows on 64-byte cache lines
    base: int  # the range's first second: record times are relative to it
    n_runs: int  # bound on the run ids
    # Run ids follow first departures: the runs met in records lo:hi lie between
    # run_low[lo] (the lowest id from lo on) and run_high[hi - 1] (the highest up to there).
    run_low: np.ndarray
    run_high: np.ndarray
    # Per city, the records departing it that allow boarding
    # (dep_rec[dep_start[c]:dep_start[c + 1]], in order) and their departures: where a
    # label's first catchable departure is found (kernels.pareto_scan).
    dep_start: np.ndarray
    dep_rec: np.ndarray
    dep_time: np.ndarray
    # The records run by run (kernels.RIDE_WIDTH) and, beside dep_rec, what boarding each
    # needs (kernels.BOARD_WIDTH): for the search that rides runs on (kernels.cheapest_first).
    ride: np.ndarray
    boarding: np.ndarray
    # No ride arrives before it departs (kernels.boarding_reach may then stop early).
    forward_in_time: bool
    # Derived on demand: the reversed graph of shortest rides (kernels.hop_graph) and the
    # time bounds it gave for the last few targets (Snapshot.time_bounds).
    hops: Any = None
    time_bounds: dict[int, np.ndarray] = field(default_factory=dict)
    # How many pattern stops ``boarding[:, BOARD_PATTERN]`` numbers (kernels.chain_runs),
    # and per city how many depart it (a large number where a departure has none).
    n_patterns: int = 0
    city_patterns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.dep)


@dataclass(frozen=True)
class Direction:
    """Static connection attributes seen forwards, or backwards for arrive-by searches."""

    reverse: bool
    from_city: np.ndarray
    to_city: np.ndarray
    from_pos: np.ndarray  # stop row where a ride on this connection boards (in this direction)
    to_pos: np.ndarray
    flags: np.ndarray  # bit 0: may board at from_pos, bit 1: may alight at to_pos
    cum: np.ndarray  # cumulative leg fares per stop row, negated when reversed
    walks: dict[int, tuple[tuple[int, int], ...]]
    # The walks again, in CSR form for the compiled scans (kernels.py).
    walk_start: np.ndarray
    walk_to: np.ndarray
    walk_secs: np.ndarray


def _shapes(
    trip_kind: np.ndarray, trip_first: np.ndarray, trip_len: np.ndarray,
    stop_city: np.ndarray, stop_cum: np.ndarray, stop_board: np.ndarray,
    stop_alight: np.ndarray,
) -> np.ndarray:
    """Per timetable, the id of its shape: timetables of one kind (``trip_kind``: the same
    mode and zone fares) with the same cities, cumulative fares and boarding and alighting
    rules in the same order. Their runs differ only in their times; the engine's patterns
    split them further (kernels.chain_runs)."""
    rows = np.stack([stop_city, stop_cum, stop_board, stop_alight], axis=1).astype(np.int64)
    ids: dict[tuple[int, bytes], int] = {}
    out = np.empty(len(trip_len), dtype=np.int64)
    for t, (s, a, n) in enumerate(
        zip(trip_kind.tolist(), trip_first.tolist(), trip_len.tolist(), strict=True)
    ):
        out[t] = ids.setdefault((s, rows[a:a + n].tobytes()), len(ids))
    return out


class _Builder:
    """Collects rows from any source, then packs them into arrays."""

    def __init__(self) -> None:
        self.city_names: list[str] = []
        self.city_codes: list[str | None] = []
        self.city_aliases: list[tuple[str, ...]] = []
        self.city_zones: list[str] = []
        self.city_mct: list[int] = []
        self.city_index: dict[object, int] = {}
        self.calendars: list[CalendarRule] = []
        self.calendar_index: dict[object, int] = {}
        self.services: list[tuple[str, str, str, str, str]] = []  # number, mode, operator, route, currency
        self.service_index: dict[object, int] = {}
        self.od: dict[int, dict[tuple[int, int], int]] = {}
        self.trip_service: list[int] = []
        self.trip_calendar: list[int] = []
        self.trip_code: list[str] = []
        self.trip_len: list[int] = []
        self.stop_city: list[int] = []
        self.stop_arr: list[int] = []
        self.stop_dep: list[int] = []
        self.stop_fare: list[int] = []
        self.stop_priced: list[bool] = []  # a leg fare is given (not missing)
        self.stop_board: list[bool] = []
        self.stop_alight: list[bool] = []
        self.walks: list[tuple[int, int, int]] = []
        # The stop columns as arrays, when a source reads them in bulk (instead of ``stop``):
        # city index, arrival, departure, leg fare, boarding, alighting, leg fare given.
        self.stop_columns: tuple[np.ndarray, ...] | None = None

    def city(
        self,
        key: object,
        name: str,
        zone: str,
        mct: int | None,
        code: str | None = None,
        aliases: Iterable[str] | None = (),
    ) -> None:
        self.city_index[key] = len(self.city_names)
        self.city_names.append(name)
        self.city_codes.append(code or None)
        self.city_aliases.append(tuple(aliases or ()))
        self.city_zones.append(zone or "UTC")
        self.city_mct.append(-1 if mct is None else int(mct))

    def stop(
        self,
        city: int,
        arrival: int | None,
        departure: int | None,
        fare: int | None,
        board: bool,
        alight: bool,
    ) -> None:
        # A stop with one time uses it for both: the schema only requires one of them.
        arr = departure if arrival is None else arrival
        dep = arrival if departure is None else departure
        self.stop_city.append(city)
        self.stop_arr.append(int(arr if arr is not None else 0))
        self.stop_dep.append(int(dep if dep is not None else 0))
        self.stop_fare.append(int(fare or 0))
        self.stop_priced.append(fare is not None)
        self.stop_board.append(bool(board))
        self.stop_alight.append(bool(alight))


class Snapshot:
    """The whole timetable, frozen, in arrays (see the module docstring)."""

    def __init__(self, b: _Builder, default_min_connection_minutes: int, source: str) -> None:
        self.source = source
        self.default_min_connection_seconds = int(default_min_connection_minutes) * 60
        self.city_names: tuple[str, ...] = tuple(b.city_names)
        self.city_index: dict[str, int] = {n: i for i, n in enumerate(self.city_names)}
        self.city_codes: tuple[str | None, ...] = tuple(b.city_codes)
        self.city_aliases: tuple[tuple[str, ...], ...] = tuple(b.city_aliases)
        # What a traveller may type for a city (the pages, the API and the command line
        # alike): its name, its code, its other names, full-width or not, its pinyin
        # (transit.names).
        self.city_lookup = CityLookup(self.city_names, self.city_codes, self.city_aliases)
        self.city_zone: tuple[str, ...] = tuple(b.city_zones)
        self.city_tz: tuple[ZoneInfo, ...] = tuple(ZoneInfo(z) for z in self.city_zone)
        self.city_mct = np.array(b.city_mct, dtype=np.int64)
        self.zones: tuple[str, ...] = tuple(sorted(set(self.city_zone)))
        zone_id = {z: i for i, z in enumerate(self.zones)}
        self.city_zone_id = np.array([zone_id[z] for z in self.city_zone], dtype=np.int64)
        self.calendars: tuple[CalendarRule, ...] = tuple(b.calendars)
        self.service_number = tuple(s[0] for s in b.services)
        self.service_mode = tuple(s[1] for s in b.services)
        self.service_operator = tuple(s[2] for s in b.services)
        self.service_route = tuple(s[3] for s in b.services)
        # Zone fares, per service: (origin city, destination city) -> cents.
        self.service_od: tuple[dict[tuple[int, int], int] | None, ...] = tuple(
            b.od.get(i) or None for i in range(len(b.services))
        )
        self.trip_service = np.array(b.trip_service, dtype=np.int64)
        self.trip_calendar = np.array(b.trip_calendar, dtype=np.int64)
        self.trip_code: tuple[str, ...] = tuple(b.trip_code)
        self.trip_len = np.array(b.trip_len, dtype=np.int64)
        self.trip_first = np.zeros(len(b.trip_len), dtype=np.int64)
        if len(b.trip_len):
            self.trip_first[1:] = np.cumsum(self.trip_len)[:-1]
        self.trip_has_od = np.array(
            [self.service_od[s] is not None for s in b.trip_service], dtype=bool
        )
        columns = b.stop_columns or (
            b.stop_city, b.stop_arr, b.stop_dep, b.stop_fare, b.stop_board, b.stop_alight,
            b.stop_priced,
        )
        self.stop_city = np.asarray(columns[0], dtype=np.int64)
        self.stop_arr = np.asarray(columns[1], dtype=np.int64)
        self.stop_dep = np.asarray(columns[2], dtype=np.int64)
        self.stop_fare = np.asarray(columns[3], dtype=np.int64)
        self.stop_board = np.asarray(columns[4], dtype=bool)
        self.stop_alight = np.asarray(columns[5], dtype=bool)
        n_stops = len(self.stop_city)
        stop_trip = np.repeat(np.arange(len(b.trip_len), dtype=np.int64), self.trip_len)
        self.stop_trip = stop_trip
        # A service with no price at all (no zone fare, no leg fare on any stop) gives no
        # fare information, even in a feed with fares (Caltrain's Tamien shuttle): the
        # scans count its rides as 0, so its legs get no currency, and a journey with such
        # a leg no single known fare (``Itinerary.currency``): every door then says so.
        priced = {i for i, od in enumerate(self.service_od) if od}
        stop_priced = np.asarray(columns[6], dtype=bool)
        priced.update(np.unique(self.trip_service[stop_trip[stop_priced]]).tolist())
        self.service_currency: tuple[str, ...] = tuple(
            s[4] if i in priced else "" for i, s in enumerate(b.services)
        )
        # Cumulative leg fares within each timetable: fare(i, j) = cum[j] - cum[i].
        cum = np.cumsum(self.stop_fare)
        if n_stops:
            cum = cum - np.repeat(cum[self.trip_first], self.trip_len)
        self.stop_cum = cum.astype(np.int64)
        if n_stops and int(np.abs(self.stop_cum).max()) > MAX_CENTS:
            # The scans keep cumulative fares in 32 bits (kernels.WIDE_WIDTH).
            trip = int(stop_trip[int(np.abs(self.stop_cum).argmax())])
            raise ValueError(
                f"timetable {b.trip_code[trip]!r} of service "
                f"{b.services[b.trip_service[trip]][0]!r}: its fares add up to more than "
                f"{MAX_CENTS / 100:,.2f} currency units"
            )
        # What the search tells timetables apart by, besides their times: the mode (the
        # filter), the zone fares (per service) and the stops with their fares and rules.
        mode_id = {m: i for i, m in enumerate(sorted(set(self.service_mode)))}
        service_key = np.array(
            [mode_id[m] if od is None else len(mode_id) + s
             for s, (m, od) in enumerate(zip(self.service_mode, self.service_od, strict=True))],
            dtype=np.int64,
        )
        self.trip_shape = _shapes(
            service_key[self.trip_service] if len(self.trip_service) else self.trip_service,
            self.trip_first, self.trip_len, self.stop_city, self.stop_cum, self.stop_board,
            self.stop_alight,
        )
        # Connections: every pair of consecutive stops of one timetable.
        if n_stops > 1:
            same = stop_trip[1:] == stop_trip[:-1]
            first = np.nonzero(same)[0].astype(np.int64)
        else:
            first = np.zeros(0, dtype=np.int64)
        self.conn_from = first
        self.conn_to = first + 1
        self.conn_trip = stop_trip[first] if n_stops else first
        self.conn_dep_local = self.stop_dep[first]
        self.conn_arr_local = self.stop_arr[first + 1]
        self.max_stop_time = int(max(self.stop_arr.max(initial=0), self.stop_dep.max(initial=0)))
        walks: dict[int, list[tuple[int, int]]] = {}
        back: dict[int, list[tuple[int, int]]] = {}
        for a, c, secs in b.walks:
            walks.setdefault(a, []).append((c, secs))
            back.setdefault(c, []).append((a, secs))
        self.walks = {k: tuple(v) for k, v in walks.items()}
        flags_fwd = (self.stop_board[self.conn_from].astype(np.int8)) | (
            self.stop_alight[self.conn_to].astype(np.int8) << 1
        )
        flags_rev = (self.stop_alight[self.conn_to].astype(np.int8)) | (
            self.stop_board[self.conn_from].astype(np.int8) << 1
        )
        back_walks = {k: tuple(v) for k, v in back.items()}
        n_cities = len(self.city_names)
        self.forward = Direction(
            False,
            self.stop_city[self.conn_from],
            self.stop_city[self.conn_to],
            self.conn_from,
            self.conn_to,
            flags_fwd,
            self.stop_cum,
            self.walks,
            *_walk_table(self.walks, n_cities),
        )
        self.backward = Direction(
            True,
            self.stop_city[self.conn_to],
            self.stop_city[self.conn_from],
            self.conn_to,
            self.conn_from,
            flags_rev,
            -self.stop_cum,
            back_walks,
            *_walk_table(back_walks, n_cities),
        )
        # Zone fares for the compiled scans: per timetable its service when the service has
        # zone fares (else -1), and the fares in one matrix per service.
        self.trip_od = np.where(self.trip_has_od, self.trip_service, -1).astype(np.int64)
        self._zone_matrices(b, n_cities)
        # No fare anywhere: every journey costs 0, so fares decide nothing.
        self.fare_free = not self.stop_fare.any() and not any(
            cents for od in self.service_od for cents in (od or {}).values()
        )
        # Some fare below zero: the fare bounds are then 0, and no search may take labels in
        # order of fare (engine.cheapest_first).
        self._bound_graphs, self.negative_fares = _bound_graphs(self, n_cities)
        self._bounds: OrderedDict[tuple[bool, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._mct: dict[int | None, np.ndarray] = {}
        self._trip_modes: dict[frozenset[str], np.ndarray] = {}
        self.all_trips = np.ones(len(b.trip_len), dtype=bool)
        self.no_bound = np.zeros(n_cities, dtype=np.int64)
        self.no_cities = np.zeros(n_cities, dtype=bool)
        # Room for stop labels, trip labels and found journeys in a scan; grown (and kept)
        # whenever a scan needs more. The fare-ordered search keeps its own: it makes far
        # fewer labels than a multi-criteria scan for options, and pays to allocate room.
        self.pool_sizes: tuple[int, int, int] = (1 << 10, 1 << 11, 1 << 6)
        self.first_pool_sizes: tuple[int, int, int] = (1 << 10, 1 << 11, 0)
        self.options_pool_sizes: tuple[int, int, int] = (1 << 12, 1 << 12, 1 << 6)
        self.no_latest = np.full(n_cities, 1 << 62, dtype=np.int64)
        self.no_finish = np.zeros(0, dtype=np.int64)
        self._finish: dict[tuple[bool, int], np.ndarray] = {}
        # Load the compiled scans now (from numba's on-disk cache after the first run), so
        # that the first query does not pay for it.
        warm_up()
        self._lock = threading.Lock()
        self._timelines: OrderedDict[tuple[bool, int, int], Timeline] = OrderedDict()
        self._running: dict[dt.date, np.ndarray] = {}

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_feed(
        cls, feed: Feed, default_min_connection_minutes: int = DEFAULT_MIN_CONNECTION_MINUTES
    ) -> Snapshot:
        """Build a snapshot straight from an importer's feed (no database)."""
        b = _Builder()
        for key, city in feed.cities.items():
            b.city(key, city.name, city.timezone, city.min_connection_seconds, city.code,
                   city.aliases)
        for key, cal in feed.calendars.items():
            b.calendar_index[key] = len(b.calendars)
            b.calendars.append(
                CalendarRule(
                    cal.weekdays,
                    cal.start_date,
                    cal.end_date,
                    frozenset(cal.added - cal.removed),
                    frozenset(cal.removed),
                )
            )
        for service in feed.services:
            sid = len(b.services)
            b.services.append(
                (service.number, service.mode, service.operator, service.route, service.currency)
            )
            if service.fares:
                b.od[sid] = {
                    (b.city_index[o], b.city_index[d]): int(c) for (o, d), c in service.fares.items()
                }
            for tt in service.timetables:
                b.trip_service.append(sid)
                b.trip_calendar.append(b.calendar_index[tt.calendar])
                b.trip_code.append(tt.code)
                b.trip_len.append(len(tt.stops))
                for st in tt.stops:
                    b.stop(
                        b.city_index[st.city],
                        st.arrival,
                        st.departure,
                        st.fare_cents,
                        st.boarding,
                        st.alighting,
                    )
        for tr in feed.transfers:
            b.walks.append((b.city_index[tr.from_city], b.city_index[tr.to_city], tr.min_seconds))
        return cls(b, default_min_connection_minutes, feed.source)

    @classmethod
    def from_session(
        cls,
        session: Session,
        default_min_connection_minutes: int = DEFAULT_MIN_CONNECTION_MINUTES,
    ) -> Snapshot:
        """Build a snapshot from the database with bulk ``SELECT``s (no ORM objects)."""
        b = _Builder()
        run = session.execute
        for cid, name, zone, mct, code, aliases in run(
            select(City.id, City.name, City.timezone, City.min_connection_seconds, City.code,
                   City.aliases)
            .order_by(City.id)
        ):
            b.city(cid, name, zone, mct, code, aliases)
        exceptions: dict[int, tuple[set[dt.date], set[dt.date]]] = {}
        for cal_id, day, is_added in run(
            select(CalendarDate.calendar_id, CalendarDate.date, CalendarDate.added)
        ):
            pair = exceptions.setdefault(cal_id, (set(), set()))
            (pair[0] if is_added else pair[1]).add(day)
        for cal_id, weekdays, start, end in run(
            select(Calendar.id, Calendar.weekdays, Calendar.start_date, Calendar.end_date)
        ):
            added, removed = exceptions.get(cal_id, (set(), set()))
            b.calendar_index[cal_id] = len(b.calendars)
            b.calendars.append(
                CalendarRule(weekdays, start, end, frozenset(added), frozenset(removed))
            )
        for sid, number, mode, operator, route, currency in run(
            select(
                Service.id, Service.number, Service.mode, Service.operator, Service.route,
                Service.currency,
            ).order_by(Service.id)
        ):
            b.service_index[sid] = len(b.services)
            b.services.append((number, mode, operator or "", route or "", currency or ""))
        for sid, origin, destination, cents in run(
            select(
                ServiceFare.service_id, ServiceFare.origin_id, ServiceFare.destination_id,
                ServiceFare.fare_cents,
            )
        ):
            b.od.setdefault(b.service_index[sid], {})[
                (b.city_index[origin], b.city_index[destination])
            ] = int(cents)
        trip_ids: list[int] = []
        for tid, sid, code, cal_id in run(
            select(Timetable.id, Timetable.service_id, Timetable.code, Timetable.calendar_id)
            .order_by(Timetable.id)
        ):
            trip_ids.append(tid)
            b.trip_service.append(b.service_index[sid])
            b.trip_calendar.append(b.calendar_index[cal_id])
            b.trip_code.append(code)
        stops = _stop_rows(session)
        # Ids to indexes: timetables and cities were read in id order.
        trip = np.searchsorted(np.array(trip_ids, dtype=np.int64), stops[:, 0])
        city_ids = np.array(list(b.city_index), dtype=np.int64)
        b.trip_len = np.bincount(trip, minlength=len(trip_ids)).tolist()
        b.stop_columns = (
            np.searchsorted(city_ids, stops[:, 1]), stops[:, 2], stops[:, 3], stops[:, 4],
            stops[:, 5].astype(bool), stops[:, 6].astype(bool), stops[:, 7].astype(bool),
        )
        city_index = b.city_index
        for a, c, secs in run(
            select(Transfer.from_city_id, Transfer.to_city_id, Transfer.min_seconds)
        ):
            b.walks.append((city_index[a], city_index[c], int(secs)))
        return cls(b, default_min_connection_minutes, "database")

    # -- queries on the data ----------------------------------------------------------------

    def find_city(self, text: str) -> int | None:
        """The city ``text`` names: its exact name, else its name or code in any case (and
        full-width or not), else its pinyin where no other city shares it (transit.names)."""
        return self.city_lookup.find(text)

    def close_cities(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """The names of up to ``limit`` cities whose name, code or pinyin is spelt much like
        ``text`` (in any case), best first: what a traveller who slipped meant."""
        spellings = {key: self.city_names[i] for key, i in self.city_lookup.spellings().items()}
        return close_names(text, spellings, limit)

    @property
    def connection_count(self) -> int:
        return len(self.conn_from)

    def min_connection(self, override_minutes: int | None) -> np.ndarray:
        """Minimum connection seconds per city: the override, else the city's, else default."""
        key = None if override_minutes is None else int(override_minutes)
        mct = self._mct.get(key)
        if mct is None:
            if key is not None:
                mct = np.full(len(self.city_names), key * 60, dtype=np.int64)
            else:
                mct = np.where(
                    self.city_mct >= 0, self.city_mct, self.default_min_connection_seconds
                ).astype(np.int64)
            self._mct[key] = mct
        return mct

    def running(self, day: dt.date) -> np.ndarray:
        """Boolean mask over timetables: which run on service date ``day``."""
        mask = self._running.get(day)
        if mask is None:
            cal = np.array([c.runs_on(day) for c in self.calendars], dtype=bool)
            mask = cal[self.trip_calendar] if len(self.trip_calendar) else np.zeros(0, bool)
            self._running[day] = mask
        return mask

    def day_span(self, start: int, end: int) -> tuple[dt.date, int]:
        """First service date and number of dates whose runs may touch [start, end]."""
        first = _utc_date(start - self.max_stop_time - MAX_ZONE_OFFSET) - dt.timedelta(days=1)
        last = _utc_date(end + MAX_ZONE_OFFSET) + dt.timedelta(days=1)
        return first, (last - first).days + 1

    def _zone_matrices(self, b: _Builder, n_cities: int) -> None:
        """Zone fares as one square matrix per service over the cities its timetables stop
        at (``zone_size`` of them, from ``zone_base`` on), all in ``zone_fares``
        (``NO_ZONE_FARE`` where a pair has none), and per stop row its city's index in its
        service's matrix (``stop_zone``, -1: no zone fares). A ride's fares lie side by
        side (its boarding city's row) where a hash table scattered them over memory."""
        rows = np.nonzero(self.trip_has_od[self.stop_trip])[0]
        service = self.trip_service[self.stop_trip[rows]]
        pairs, local = np.unique(service * n_cities + self.stop_city[rows], return_inverse=True)
        owner = pairs // n_cities
        first = np.searchsorted(pairs, owner * n_cities)  # each service's first pair
        local = local - first[local]
        size = np.bincount(owner, minlength=len(self.service_od)).astype(np.int64)
        base = np.zeros(len(size), dtype=np.int64)
        np.cumsum((size * size)[:-1], out=base[1:])
        self.stop_zone = np.full(len(self.stop_city), -1, dtype=np.int64)
        self.stop_zone[rows] = local
        self.zone_size, self.zone_base = size, base
        total = int((size * size).sum())
        if total >= 1 << 31:
            raise ValueError(
                f"the zone fares of {int((size > 0).sum())} services would need {total:,} "
                "entries: too many stops on services with zone fares"
            )
        fares = np.full(total, NO_ZONE_FARE, dtype=np.int32)
        index = dict(zip(pairs.tolist(), (np.arange(len(pairs)) - first).tolist(), strict=True))
        for s, od in enumerate(self.service_od):
            for (board, alight), cents in (od or {}).items():
                i, j = index.get(s * n_cities + board), index.get(s * n_cities + alight)
                if i is None or j is None:
                    continue  # a city the service does not stop at: never looked up
                if abs(cents) > MAX_CENTS:
                    raise ValueError(
                        f"service {b.services[s][0]!r}: a zone fare of more than "
                        f"{MAX_CENTS / 100:,.2f} currency units"
                    )
                fares[base[s] + i * size[s] + j] = cents
        self.zone_fares = fares

    def timeline(self, direction: Direction, start: int, end: int) -> Timeline:
        """The connections departing in a range that holds [start, end] (direction's terms).

        The range starts at the UTC midnight at or before ``start`` and lasts an even number
        of days, so that queries on the same days share it; the last few are cached.
        """
        base = start - start % 86400
        days = (end - base) // 86400 + 1
        days += days % 2
        key = (direction.reverse, base, days)
        with self._lock:
            cached = self._timelines.get(key)
            if cached is not None:
                self._timelines.move_to_end(key)
                return cached
        built = self._build_timeline(direction, base, base + days * 86400)
        with self._lock:
            self._timelines[key] = built
            while len(self._timelines) > 8:
                self._timelines.popitem(last=False)
        return built

    def _build_timeline(self, direction: Direction, base: int, top: int) -> Timeline:
        """Connections whose departure (direction's terms) lies in [base, top)."""
        n_trips = len(self.trip_len)
        if direction.reverse:
            first, days = self.day_span(1 - top, -base)
        else:
            first, days = self.day_span(base, top - 1)
        parts_dep, parts_arr, parts_conn, parts_run = [], [], [], []
        zone_from = self.city_zone_id[self.stop_city[self.conn_from]]
        zone_to = self.city_zone_id[self.stop_city[self.conn_to]]
        for i in range(days):
            day = first + dt.timedelta(days=i)
            mask = self.running(day)
            if not mask.any():
                continue
            idx = np.nonzero(mask[self.conn_trip])[0]
            offsets = np.array([service_day_start(day, z) for z in self.zones], dtype=np.int64)
            dep = self.conn_dep_local[idx] + offsets[zone_from[idx]]
            arr = self.conn_arr_local[idx] + offsets[zone_to[idx]]
            if direction.reverse:
                dep, arr = -arr, -dep
            keep = (dep >= base) & (dep < top)
            idx = idx[keep]
            parts_dep.append(dep[keep])
            parts_arr.append(arr[keep])
            parts_conn.append(idx)
            parts_run.append(self.conn_trip[idx] + i * n_trips)
        if not parts_dep or not sum(len(p) for p in parts_dep):
            none = np.zeros(0, dtype=np.int32)
            return Timeline(
                np.zeros(0, dtype=np.int64), np.zeros((0, RECORD_WIDTH), np.int32),
                _aligned_rows(0, WIDE_WIDTH), base, 1, none, none,
                np.zeros(len(self.city_names) + 1, dtype=np.int64), none, none,
                np.zeros((0, RIDE_WIDTH), np.int32), np.zeros((0, BOARD_WIDTH), np.int32),
                True, city_patterns=np.zeros(len(self.city_names), dtype=np.int64),
            )
        dep = np.concatenate(parts_dep)
        arr = np.concatenate(parts_arr)
        conn = np.concatenate(parts_conn)
        run = np.concatenate(parts_run)
        if direction.reverse:
            # Reversed, a run's stops are met last-to-first: the later stop row goes first.
            order = np.lexsort((-conn, arr, dep))
        else:
            order = np.lexsort((conn, arr, dep))
        dep, arr, conn, run = dep[order], arr[order], conn[order], run[order]
        # Run ids in order of first departure: runs under way at the same time sit side by
        # side in the scans' per-run arrays (fewer cache misses).
        runs, first_seen, dense = np.unique(run, return_index=True, return_inverse=True)
        rank = np.empty(len(runs), dtype=np.int64)
        rank[np.argsort(first_seen, kind="stable")] = np.arange(len(runs))
        dense = rank[dense]
        rec = np.empty((len(dep), RECORD_WIDTH), dtype=np.int32)
        rec[:, 0] = dep - base
        rec[:, 1] = arr - base
        rec[:, 2] = dense
        rec[:, 3] = direction.from_city[conn]
        rec[:, 4] = direction.to_city[conn]
        rec[:, 5] = (self.conn_trip[conn] << 2) | direction.flags[conn]
        run_low = np.minimum.accumulate(rec[::-1, 2])[::-1].copy()
        run_high = np.maximum.accumulate(rec[:, 2])
        # A run's connections come in record order, without gaps (the range cuts a run only
        # at its ends): the next record of the same run is the next connection along it.
        along = np.argsort(dense, kind="stable")
        same_run = dense[along[:-1]] == dense[along[1:]]
        next_rec = np.full(len(dep), -1, dtype=np.int32)
        next_rec[along[:-1][same_run]] = along[1:][same_run]
        boards = np.nonzero(rec[:, 5] & 1)[0]
        by_city = boards[np.argsort(rec[boards, 3], kind="stable")]
        dep_start = np.zeros(len(self.city_names) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rec[boards, 3], minlength=len(self.city_names)),
                  out=dep_start[1:])
        wide = _aligned_rows(len(dep), WIDE_WIDTH)
        wide[:, :RECORD_WIDTH] = rec
        wide[:, FROM_POS] = direction.from_pos[conn]
        wide[:, ZONE] = self.trip_od[self.conn_trip[conn]]
        wide[:, FROM_CUM] = direction.cum[direction.from_pos[conn]]
        wide[:, TO_CUM] = direction.cum[direction.to_pos[conn]]
        wide[:, NEXT] = next_rec
        next_dep = np.full(len(dep), -1, dtype=np.int32)
        same_city = rec[by_city[:-1], 3] == rec[by_city[1:], 3]
        next_dep[by_city[:-1][same_city]] = by_city[1:][same_city]
        wide[:, NEXT_DEP] = next_dep
        wide[:, NEXT_DEP_TIME] = np.where(next_dep >= 0, rec[next_dep, 0], 0)
        # Zone fares: the matrix index is the boarding part plus the alighting part (the
        # forward ride's boarding city picks the row, its alighting city the column).
        trip = self.conn_trip[conn]
        service = self.trip_service[trip]
        zone = self.trip_has_od[trip]
        z_size, z_base = self.zone_size[service], self.zone_base[service]
        here = self.stop_zone[direction.from_pos[conn]]
        there = self.stop_zone[direction.to_pos[conn]]
        if direction.reverse:
            wide[:, ZONE_BOARD] = np.where(zone, z_base + here, 0)
            wide[:, ZONE_ALIGHT] = np.where(zone, there * z_size, 0)
        else:
            wide[:, ZONE_BOARD] = np.where(zone, z_base + here * z_size, 0)
            wide[:, ZONE_ALIGHT] = np.where(zone, there, 0)
        # Ride rows: ``along`` is the records run by run, in stop order.
        ride = _aligned_rows(len(dep), RIDE_WIDTH)
        ride[:, RIDE_ARR] = rec[along, 1]
        ride[:, RIDE_TO] = rec[along, 4]
        ride[:, RIDE_TO_CUM] = wide[along, TO_CUM]
        last = np.ones(len(dep), dtype=bool)
        last[:-1] = ~same_run
        ride[:, RIDE_FLAGS] = ((rec[along, 5] >> 1) & 1) | (last << 1) | ((rec[along, 5] & 1) << 2)
        ride[:, RIDE_ZONE_ALIGHT] = wide[along, ZONE_ALIGHT]
        ride[:, RIDE_DEP] = rec[along, 0]
        ride[:, RIDE_REC] = along
        ride[:, RIDE_REC + 1:] = 0
        ride_of = np.empty(len(dep), dtype=np.int32)
        ride_of[along] = np.arange(len(dep), dtype=np.int32)
        boarding = _aligned_rows(len(by_city), BOARD_WIDTH)
        boarding[:, BOARD_RIDE] = ride_of[by_city]
        boarding[:, BOARD_RUN] = rec[by_city, 2]
        boarding[:, BOARD_TRIP_FLAGS] = rec[by_city, 5]
        boarding[:, BOARD_ZONE] = wide[by_city, ZONE]
        boarding[:, BOARD_CUM] = wide[by_city, FROM_CUM]
        boarding[:, BOARD_ZONE_PART] = wide[by_city, ZONE_BOARD]
        boarding[:, BOARD_ZONE_PART + 1:] = 0
        pattern_stop, n_patterns = self._pattern_stops(direction, conn, along, dense, ride)
        boarding[:, BOARD_PATTERN] = pattern_stop[ride_of[by_city]]
        # Per city, its pattern stops (each boarding row's city and pattern, counted once).
        n_cities = len(self.city_names)
        city_of = rec[by_city, 3].astype(np.int64)
        pairs = np.unique(city_of * (n_patterns + 1) + boarding[:, BOARD_PATTERN] + 1)
        city_patterns = np.bincount(pairs // (n_patterns + 1), minlength=n_cities)
        city_patterns[city_of[boarding[:, BOARD_PATTERN] < 0]] = 1 << 40
        return Timeline(
            dep, rec, wide, base, max(1, len(runs)), run_low, run_high, dep_start,
            by_city.astype(np.int32), rec[by_city, 0].copy(), ride, boarding,
            bool((rec[:, 1] >= rec[:, 0]).all()), n_patterns=n_patterns,
            city_patterns=city_patterns.astype(np.int64),
        )

    def _pattern_stops(
        self, direction: Direction, conn: np.ndarray, along: np.ndarray, dense: np.ndarray,
        ride: np.ndarray,
    ) -> tuple[np.ndarray, int]:
        """Per ride row, its pattern stop (-1: none), and how many there are: the runs of
        a timeline split into patterns that never overtake (kernels.chain_runs), numbered
        with the position of the row's boarding stop along the run."""
        trip = self.conn_trip[conn[along]]
        pos = self.conn_from[conn[along]] - self.trip_first[trip]  # 0 .. len - 2
        if direction.reverse:
            pos = self.trip_len[trip] - 2 - pos
        run = dense[along]
        starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
        rows = np.diff(np.r_[starts, len(run)])
        shape = self.trip_shape[trip[starts]]
        order = np.lexsort((ride[starts, RIDE_DEP], shape))
        chain = chain_runs(order, shape, starts, rows, pos[starts], ride)
        row_chain = np.repeat(chain, rows)
        longest = int(self.trip_len.max(initial=2))
        key = np.where(row_chain >= 0, row_chain * longest + pos, -1)
        used, numbered = np.unique(key, return_inverse=True)
        if len(used) and used[0] < 0:
            numbered = numbered - 1  # the rows without a pattern stay -1
            return numbered.astype(np.int32), len(used) - 1
        return numbered.astype(np.int32), len(used)

    def bounds(self, direction: Direction, target: int) -> tuple[np.ndarray, np.ndarray]:
        """Per city, lower bounds on the fare and on the rides (at least 1) still needed to
        reach ``target`` in ``direction`` (``UNREACHABLE`` where no ride leads there).

        They come from static graphs that ignore times, calendars, modes and which stop
        comes first on a service, so they never exceed the truth; the scans drop labels
        whose best case cannot beat a journey already found.
        """
        key = (direction.reverse, target)
        with self._lock:
            cached = self._bounds.get(key)
            if cached is not None:
                self._bounds.move_to_end(key)
                return cached
        fare_graph, ride_graph = self._bound_graphs[direction.reverse]
        n_cities = len(self.city_names)
        fares = distances(*fare_graph, target)[:n_cities]
        rides = distances(*ride_graph, target)[:n_cities]
        # The fare graph follows the stop order (the ride graph does not): where it has no
        # path, no sequence of rides leads to the target at all.
        unreachable = fares >= UNREACHABLE
        if self.negative_fares:
            fares = np.zeros(n_cities, dtype=np.int64)  # Dijkstra needs fares >= 0
        fares = np.where(unreachable, UNREACHABLE, np.minimum(fares, UNREACHABLE))
        rides = np.where(unreachable, UNREACHABLE, np.maximum(np.minimum(rides, UNREACHABLE), 1))
        with self._lock:
            self._bounds[key] = (fares, rides)
            while len(self._bounds) > 64:
                self._bounds.popitem(last=False)
        return fares, rides

    def finish(self, direction: Direction, target: int) -> np.ndarray:
        """Per city, the seconds of the walk from there to ``target`` in ``direction`` (0 at
        the target itself, -1 where no walk leads there): a journey that alights at such a
        city may end with that walk (docs/routing.md). Empty where no walk leads to the
        target (or ``target`` < 0): the scans then look no further than the target."""
        opposite = self.forward if direction.reverse else self.backward
        if target < 0 or target not in opposite.walks:
            return self.no_finish
        key = (direction.reverse, target)
        found = self._finish.get(key)
        if found is None:
            found = np.full(len(self.city_names), -1, dtype=np.int64)
            for city, secs in opposite.walks[target]:
                if found[city] < 0 or secs < found[city]:
                    found[city] = secs
            found[target] = 0
            with self._lock:
                self._finish[key] = found
                while len(self._finish) > 64:
                    del self._finish[next(iter(self._finish))]
        return found

    def time_bounds(self, direction: Direction, timeline: Timeline, target: int) -> np.ndarray:
        """Per city, a lower bound on the seconds from a departure there to an arrival at
        ``target``: the shortest rides of ``timeline`` (and walks), ignoring waits."""
        with self._lock:
            cached = timeline.time_bounds.get(target)
            if cached is not None:
                return cached
            if timeline.hops is None:
                timeline.hops = hop_graph(
                    timeline.rec, len(self.city_names), direction.walk_start,
                    direction.walk_to, direction.walk_secs,
                )
        indptr, indices, weights, usable = timeline.hops
        bound = distances(indptr, indices, weights, target) if usable else self.no_bound
        with self._lock:
            timeline.time_bounds[target] = bound
            while len(timeline.time_bounds) > 64:
                del timeline.time_bounds[next(iter(timeline.time_bounds))]
        return bound

    def ride_fare(self, trip: int, board_row: int, alight_row: int) -> int:
        """Cents for riding timetable ``trip`` from stop row ``board_row`` to ``alight_row``."""
        if self.fare_free:
            return 0
        od = self.service_od[self.trip_service.item(trip)]
        if od is not None:
            key = (self.stop_city.item(board_row), self.stop_city.item(alight_row))
            if key in od:
                return od[key]
        return self.stop_cum.item(alight_row) - self.stop_cum.item(board_row)

    def trip_modes(self, modes: Iterable[str] | None) -> np.ndarray | None:
        """Per timetable: may it be used under this mode filter (None: no filter)."""
        if modes is None:
            return None
        allowed = frozenset(modes)
        ok = self._trip_modes.get(allowed)
        if ok is None:
            ok_service = np.array([m in allowed for m in self.service_mode], dtype=bool)
            ok = ok_service[self.trip_service] if len(self.trip_service) else self.all_trips
            self._trip_modes[allowed] = ok
        return ok

    def modes(self) -> set[str]:
        return set(self.service_mode)


Graph = tuple[np.ndarray, np.ndarray, np.ndarray]  # CSR: indptr, indices, weights


def _csr(n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> Graph:
    """A CSR graph over ``n`` nodes with one edge per (src, dst), the lowest weight."""
    order = np.lexsort((weight, dst, src))
    src, dst, weight = src[order], dst[order], weight[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    src, dst, weight = src[first], dst[first], weight[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, src + 1, 1)
    return np.cumsum(indptr), dst.astype(np.int64), weight.astype(np.int64)


def _bound_graphs(
    snap: Snapshot, n_cities: int
) -> tuple[dict[bool, tuple[Graph, Graph]], bool]:
    """Static graphs for ``Snapshot.bounds``, per direction (reversed: from the target).

    Fares: an edge per pair of consecutive stops (its leg fare: additive fares add up along
    the path), per zone fare (its price) and per walk (free). Rides: cities and services as
    nodes; boarding a service costs one ride, alighting anywhere on it and walking nothing.
    Also says whether some fare is negative (then fares give no bound).
    """
    pairs = [
        (snap.stop_city[snap.conn_from], snap.stop_city[snap.conn_to], snap.stop_fare[snap.conn_to])
    ]
    for od in snap.service_od:
        if od:
            keys = np.array(list(od.keys()), dtype=np.int64).reshape(-1, 2)
            pairs.append((keys[:, 0], keys[:, 1], np.array(list(od.values()), dtype=np.int64)))
    walk_from = np.array([a for a, pairs_ in snap.walks.items() for _ in pairs_], dtype=np.int64)
    walk_to = np.array([c for pairs_ in snap.walks.values() for c, _ in pairs_], dtype=np.int64)
    no_cost = np.zeros(len(walk_from), dtype=np.int64)
    pairs.append((walk_from, walk_to, no_cost))
    f_src = np.concatenate([p[0] for p in pairs]).astype(np.int64)
    f_dst = np.concatenate([p[1] for p in pairs]).astype(np.int64)
    f_w = np.concatenate([p[2] for p in pairs]).astype(np.int64)
    negative = bool((f_w < 0).any())
    f_w = np.maximum(f_w, 0)
    # Rides: service s is node n_cities + s.
    n_nodes = n_cities + len(snap.service_number)
    # The distinct (city, service node) pairs, through one integer key (a 1-D unique is far
    # quicker than one over rows).
    keys = np.unique(snap.stop_city * n_nodes + snap.trip_service[snap.stop_trip] + n_cities)
    member = np.stack([keys // n_nodes, keys % n_nodes], axis=1)
    ones = np.ones(len(member), dtype=np.int64)
    zeros = np.zeros(len(member), dtype=np.int64)
    r_src = np.concatenate([member[:, 0], member[:, 1], walk_from])
    r_dst = np.concatenate([member[:, 1], member[:, 0], walk_to])
    r_w = np.concatenate([ones, zeros, no_cost])
    graphs = {
        # Forward searches bound the way *to* the target: Dijkstra on the reversed edges.
        False: (_csr(n_cities, f_dst, f_src, f_w), _csr(n_nodes, r_dst, r_src, r_w)),
        True: (_csr(n_cities, f_src, f_dst, f_w), _csr(n_nodes, r_src, r_dst, r_w)),
    }
    return graphs, negative


def _stop_rows(session: Session) -> np.ndarray:
    """Every stop as (timetable id, city id, arrival, departure, leg fare, boarding,
    alighting, leg fare given), integers ordered by timetable and sequence, read in the session's
    transaction straight from the driver: the largest table, and rows of plain integers,
    for which SQLAlchemy's result rows would cost more than the read itself. A stop with
    one time uses it for both (the schema only requires one of them)."""
    statement = select(
        Stop.timetable_id,
        Stop.city_id,
        func.coalesce(Stop.arrival, Stop.departure, 0),
        func.coalesce(Stop.departure, Stop.arrival, 0),
        func.coalesce(Stop.fare_cents, 0),
        case((Stop.boarding, 1), else_=0),
        case((Stop.alighting, 1), else_=0),
        case((Stop.fare_cents.is_(None), 0), else_=1),
    ).order_by(Stop.timetable_id, Stop.sequence)
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return np.array(rows, dtype=np.int64).reshape(-1, 8)


def _walk_table(
    walks: dict[int, tuple[tuple[int, int], ...]], n_cities: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walks as CSR arrays: city c's walks are ``walk_start[c]:walk_start[c + 1]``."""
    walk_start = np.zeros(n_cities + 1, dtype=np.int64)
    walk_to: list[int] = []
    walk_secs: list[int] = []
    for city in range(n_cities):
        for to, secs in walks.get(city, ()):
            walk_to.append(to)
            walk_secs.append(secs)
        walk_start[city + 1] = len(walk_to)
    return walk_start, np.array(walk_to, dtype=np.int64), np.array(walk_secs, dtype=np.int64)


def _utc_date(seconds: int) -> dt.date:
    return EPOCH_DATE + dt.timedelta(days=seconds // 86400)
