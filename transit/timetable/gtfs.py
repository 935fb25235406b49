"""GTFS Schedule feeds (https://gtfs.org/schedule/reference/) into a ``Feed``.

How GTFS maps onto the timetable model:

- Stops are grouped into one city (station) by ``parent_station``; stops without a parent
  station are grouped by identical ``stop_name``. A city is named by its station's name;
  two different stations sharing a name get their stop id appended, as "125 St (225)".
  Only stations that some trip calls at become cities.
- Each trip is a timetable variant (code = ``trip_id``) of a service numbered by
  ``trip_short_name``, else by the trip id, run by the route's agency, with the route's
  short name (else long name, else id) as ``route``; the mode comes from ``route_type``
  (basic and extended types).
- ``calendar.txt`` and ``calendar_dates.txt`` become calendars exactly: a weekly pattern
  between two dates plus added and removed dates. A service id that is only in
  ``calendar_dates.txt`` runs on its added dates alone.
- Times stay seconds after the service day's midnight, past 24:00 where the feed says so.
  GTFS times are in the agency's zone; a stop whose ``stop_timezone`` differs gets its times
  converted to its own zone, by the two zones' offsets on each date: where they change
  clocks on different dates, each period of one difference gets a variant of the trip on
  its own calendar ("<trip_id> <first date>" after the first: ``zone_periods``). They never go back
  in the agency's zone; converted, a stop in a zone behind the previous one may have an
  earlier local time (a westward leg: the loader checks the instants there). A trip that,
  converted, calls before its service day's midnight (00:10 at an agency in New York is
  23:10 the day before at a stop in Chicago) runs on the service day before, its times a day
  later, every call at the same instant; the nights the clocks change, when that day is 23
  or 25 hours long, get a variant of their own ("<trip_id> <date>": ``day_earlier``).
  Stops without times (non-timepoints) are interpolated evenly between their timed
  neighbours.
- ``pickup_type``/``drop_off_type`` 1 (none) make a stop not for boarding/alighting.
- Zone fares (``fare_attributes.txt`` + ``fare_rules.txt``) become origin-destination prices
  of each service between the cities it serves, in order: the cheapest matching rule. The
  fares' ``currency_type`` is an ISO 4217 code, one for the whole feed (a service is priced
  in one currency, and prices are not converted): fares in two currencies are refused.
- ``transfers.txt`` ``min_transfer_time`` within one station sets the station's minimum
  connection time (the longest given); between stations it is a walking transfer.
- Stations whose stops lie within ``WALK_RADIUS_M`` (250 m, straight line) of each other get
  walking transfers both ways, as journey planners derive them where a feed gives none:
  the closest pair of their stops' coordinates, times ``WALK_DETOUR`` (1.3) at
  ``WALK_SPEED_M_S`` (1 m/s), rounded up to whole minutes, at least one (``walk_seconds``).
  ``transfers.txt`` stays the authority for a pair it names in that direction: type 2
  gives the time, type 3 (not possible) leaves the pair without a walk.

The names and codes it stores (stations that become cities, operators, routes, service
numbers, headsigns, trip and calendar ids) are held to the admin's forms
(``transit.schemas.text_problem``): no tab or line break, no control or invisible character;
a non-breaking space is a space. A stop no trip calls at stores no name and is not judged.

Every problem (missing file or column, bad value, unknown reference, undecodable bytes) is
collected with its file, line and field, and ``ImportFailed`` lists them all at the end.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from transit.calendar_days import days_between
from transit.models import Mode, time_zone
from transit.schemas import currency_problem, text_problem
from transit.timetable.feed import (
    DAMAGED_ZIP,
    MAX_CENTS,
    MAX_INTEGER,
    MAX_STOP_SECONDS,
    UNCLOSED_QUOTE,
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    FeedTransfer,
    ProblemList,
    damaged_zip,
    unclosed_quote,
)

REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
REQUIRED_COLUMNS = {
    "agency.txt": ("agency_name", "agency_timezone"),
    # stop_name is required of stops, stations and entrances (location types 0-2): all of a feed.
    "stops.txt": ("stop_id", "stop_name"),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"),
    "calendar.txt": (
        "service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
        "sunday", "start_date", "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "fare_attributes.txt": ("fare_id", "price", "currency_type"),
    "fare_rules.txt": ("fare_id",),
    "transfers.txt": ("from_stop_id", "to_stop_id"),
}
WEEKDAY_COLUMNS = REQUIRED_COLUMNS["calendar.txt"][1:8]
# Walks derived between nearby stations (docs/formats.md, "GTFS"). 250 m is the few minutes'
# walk between the stops of one interchange (the bays of a transit centre, both sides of a
# street, a station and the bus stops at its door), close enough that the straight line is a
# fair measure of the way; farther, it may cross a river, a freeway or a railway that no
# street does. The straight line times a usual detour of city streets, at a walking pace a
# little slower than the 1.2-1.4 m/s of an unhurried adult, allowing for crossings and for
# finding the stop: 90 m is 2 minutes, 250 m is 6.
WALK_RADIUS_M = 250.0
WALK_DETOUR = 1.3
WALK_SPEED_M_S = 1.0
EARTH_RADIUS_M = 6_371_000.0
# The column other files refer to a row of each file by. When it (or the file) is missing,
# references into that file cannot be checked and are not reported as unknown.
KEY_COLUMNS = {
    "stops.txt": "stop_id",
    "routes.txt": "route_id",
    "trips.txt": "trip_id",
    "calendar.txt": "service_id",
    "calendar_dates.txt": "service_id",
    "fare_attributes.txt": "fare_id",
}

# Basic route types, then extended ones by their hundreds
# (https://developers.google.com/transit/gtfs/reference/extended-route-types).
BASIC_ROUTE_TYPES = {
    0: Mode.TRAM, 1: Mode.SUBWAY, 2: Mode.TRAIN, 3: Mode.BUS, 4: Mode.FERRY,
    5: Mode.CABLE, 6: Mode.CABLE, 7: Mode.CABLE, 11: Mode.BUS, 12: Mode.TRAIN,
}
EXTENDED_ROUTE_TYPES = {
    1: Mode.TRAIN, 2: Mode.COACH, 3: Mode.TRAIN, 4: Mode.SUBWAY, 5: Mode.SUBWAY,
    6: Mode.SUBWAY, 7: Mode.BUS, 8: Mode.BUS, 9: Mode.TRAM, 10: Mode.FERRY,
    11: Mode.FLIGHT, 12: Mode.FERRY, 13: Mode.CABLE, 14: Mode.CABLE, 15: Mode.OTHER,
    16: Mode.OTHER, 17: Mode.OTHER,
}


def mode_for_route_type(route_type: int) -> Mode | None:
    """The mode of a GTFS ``route_type`` (basic or extended), None when unknown."""
    if route_type in BASIC_ROUTE_TYPES:
        return BASIC_ROUTE_TYPES[route_type]
    if 100 <= route_type < 1800:
        return EXTENDED_ROUTE_TYPES.get(route_type // 100)
    return None


@dataclass
class _Table:
    """One GTFS file: its header and rows, each with the line it started on."""

    name: str
    columns: dict[str, int]
    rows: list[tuple[int, list[str]]]
    # Required columns the header lacks: they read as empty cells (already reported once).
    missing: tuple[str, ...] = ()

    def has(self, column: str) -> bool:
        return column in self.columns and column not in self.missing


class _Problems(ProblemList):
    """Problems listed in the order of the files, then of their lines."""

    def raise_if_any(self) -> None:
        # Checks run file by file and then trip by trip: list them in the order of the files.
        order: dict[str, int] = {}
        for problem in self.items:
            order.setdefault(problem.file, len(order))
        self.items.sort(key=lambda p: (order[p.file], p.line or 0))
        super().raise_if_any()


class _Source:
    """Reads the files of a GTFS zip or folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.members: dict[str, str] = {}
        if path.is_file():
            self.zip = zipfile.ZipFile(path)
            for info in self.zip.infolist():
                if not info.is_dir():
                    # Feeds zipped with their folder keep the files one level down.
                    self.members.setdefault(info.filename.rsplit("/", 1)[-1], info.filename)
        else:
            for child in path.iterdir():
                if child.is_file():
                    self.members[child.name] = child.name

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(self.members[name])
        return (self.path / self.members[name]).read_bytes()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


@dataclass
class _Station:
    key: str
    name: str
    stop_id: str
    latitude: float | None
    longitude: float | None
    timezone: str | None
    members: list[str] = field(default_factory=list)
    # (latitude, longitude) of the station and of each of its stops that has them.
    points: list[tuple[float, float]] = field(default_factory=list)
    line: int | None = None  # of its row in stops.txt, which names it


class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems = _Problems()
        self.feed = Feed(source=path.name)
        # Trips refused in trips.txt, kept only so that their stop times are still checked.
        self.rejected_trips: dict[str, _Trip] = {}
        # Ids given in a row that was refused: references to them are not reported again.
        self.rejected_routes: set[str] = set()
        self.rejected_stops: set[str] = set()
        self.rejected_fares: set[str] = set()
        # Files whose ids cannot be known (the file or its key column is missing).
        self.unknowable: set[str] = set()

    # --- reading files ------------------------------------------------------------------
    def table(self, source: _Source, name: str, required: bool) -> _Table | None:
        if name not in source:
            if required:
                self.problems.add(name, None, None, "required file is missing from the feed")
                self.unknowable.add(name)
            return None
        data = source.read(name)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            self.problems.add(
                name, line, None,
                f"bytes that are not UTF-8 (at byte {error.start}); GTFS files must be UTF-8",
            )
            text = data.decode("utf-8-sig", errors="replace")
        if "\x00" in text:
            self.problems.add(name, None, None, "the file contains NUL bytes: not a text file")
            text = text.replace("\x00", "")
        reader = csv.reader(io.StringIO(text, newline=""))
        lines = text.count("\n") + (not text.endswith("\n"))  # the last row ends on this one
        try:
            header = next(reader)
        except StopIteration:
            header = []
        except csv.Error as error:
            self.problems.add(name, 1, None, f"unreadable header: {error}")
            self.unknowable.add(name)
            return None
        columns = {column.strip(): i for i, column in enumerate(header)}
        missing = tuple(c for c in REQUIRED_COLUMNS.get(name, ()) if c not in columns)
        for column in missing:
            self.problems.missing_column(name, column)
            # Read as an empty cell past the row's end, so the other columns are still checked.
            columns[column] = len(header)
        if KEY_COLUMNS.get(name) in missing:
            self.unknowable.add(name)
        rows: list[tuple[int, list[str]]] = []
        width = len(header) + (1 if missing else 0)
        line = 2
        try:
            for row in reader:
                if reader.line_num >= lines and unclosed_quote(text, line):  # the last row
                    # The last row, holding the rest of the file: said once, and the rows
                    # other files refer to are unknown (no problem for each missing one).
                    self.problems.add(name, line, header[min(len(row), len(header)) - 1]
                                      if header else None, UNCLOSED_QUOTE)
                    self.unknowable.add(name)
                    break
                if row and any(cell.strip() for cell in row):
                    if missing:
                        row = (row + [""] * width)[: len(header)] + [""]
                    elif len(row) < width:
                        row = row + [""] * (width - len(row))
                    rows.append((line, row))
                line = reader.line_num + 1
        except csv.Error as error:
            self.problems.add(name, reader.line_num, None, f"malformed CSV: {error}")
        return _Table(name, columns, rows, missing)

    # --- small value parsers, each reporting its own problem --------------------------
    def integer(self, table: str, line: int, column: str, text: str, default: int | None = None) -> int | None:
        text = text.strip()
        if not text:
            if default is None:
                self.problems.add(table, line, column, "a value is required")
            return default
        negative = text.startswith("-")
        if not text.lstrip("-").isdecimal() or text.count("-") > 1:
            self.problems.add(table, line, column, f"{text!r} is not a whole number")
            return None
        value = -int(text[1:]) if negative else int(text)
        if abs(value) > MAX_INTEGER:
            self.problems.add(table, line, column, f"{value} is beyond {MAX_INTEGER:,} (the database's limit)")
            return None
        return value

    def date(self, table: str, line: int, column: str, text: str) -> dt.date | None:
        text = text.strip()
        try:
            return dt.datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            self.problems.add(table, line, column, f"{text!r} is not a date written YYYYMMDD")
            return None

    def coordinate(self, table: str, line: int, column: str, text: str, bound: float) -> float | None:
        text = text.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            self.problems.add(table, line, column, f"{text!r} is not a number")
            return None
        if not -bound <= value <= bound:
            self.problems.add(table, line, column, f"{value} is out of range")
            return None
        return value

    def zone(self, table: str, line: int, column: str, text: str) -> str | None:
        text = text.strip()
        if time_zone(text) is None:
            self.problems.add(table, line, column, f"{text!r} is not a known time zone")
            return None
        return text

    def text(self, table: str, line: int, column: str, text: str) -> bool:
        """Whether ``text``, a name or code the import stores, is one the admin's forms would
        save unchanged (``transit.schemas.text_problem``: no tab or line break, no control
        or invisible character); reported where it is not."""
        problem = text_problem(text)
        if problem is None:
            return True
        self.problems.add(table, line, column, f"{text!r} {problem}")
        return False

    # --- the feed -----------------------------------------------------------------------
    def parse(self) -> Feed:
        if not self.path.exists():
            self.problems.add(self.path.name, None, None, "no such file or folder")
            self.problems.raise_if_any()
        try:
            source = _Source(self.path)
        except zipfile.BadZipFile:
            self.problems.add(self.path.name, None, None, DAMAGED_ZIP if damaged_zip(self.path)
                              else "not a zip file nor a GTFS folder")
            self.problems.raise_if_any()
            raise  # unreachable: keeps type checkers sure ``source`` is bound
        try:
            tables = {
                name: self.table(source, name, name in REQUIRED_FILES)
                for name in (*REQUIRED_FILES, "calendar.txt", "calendar_dates.txt",
                             "fare_attributes.txt", "fare_rules.txt", "transfers.txt")
            }
        finally:
            source.close()
        if "calendar.txt" not in source and "calendar_dates.txt" not in source:
            self.problems.add(
                "calendar.txt", None, None,
                "required file is missing (a feed needs calendar.txt or calendar_dates.txt)",
            )
            self.unknowable.add("calendar.txt")
        agencies, default_zone = self.agencies(tables["agency.txt"])
        stations, stop_station, stop_zone = self.stops(tables["stops.txt"])
        routes = self.routes(tables["routes.txt"], agencies)
        calendars = self.calendars(tables["calendar.txt"], tables["calendar_dates.txt"])
        self.feed.calendars = calendars
        trips = self.trips(tables["trips.txt"], routes, calendars)
        self.stop_times(tables["stop_times.txt"], trips, stop_station)
        self.station_names(trips, stations, stop_station)
        prices = self.fare_prices(tables["fare_attributes.txt"], tables["fare_rules.txt"])
        matching = self.fare_rules(tables["fare_rules.txt"], prices, routes)
        walks, forbidden = self.transfer_rows(tables["transfers.txt"], stop_station)
        self.problems.raise_if_any()
        # Without fares a feed says nothing of its currency; with fares, they share one
        # (fare_prices refuses a feed whose fares mix currencies).
        currency = next((currency for _, currency in prices.values()), "")
        self.build(trips, routes, stations, stop_station, stop_zone, default_zone, currency)
        self.fares(matching, trips)
        self.transfers(walks, forbidden, stations)
        self.problems.raise_if_any()
        return self.feed

    def agencies(self, table: _Table | None) -> tuple[dict[str, tuple[str, str]], str]:
        """agency_id -> (name, zone), and the feed's zone (all agencies share one)."""
        agencies: dict[str, tuple[str, str]] = {}
        zones: set[str] = set()
        if table is None:
            return agencies, "UTC"
        has_id = table.has("agency_id")
        name_i, zone_i = table.columns["agency_name"], table.columns["agency_timezone"]
        for line, row in table.rows:
            name = row[name_i].strip()
            if not name:
                self.problems.add(table.name, line, "agency_name", "a value is required")
            else:
                self.text(table.name, line, "agency_name", name)  # the services' operator
            zone = self.zone(table.name, line, "agency_timezone", row[zone_i])
            agency_id = row[table.columns["agency_id"]].strip() if has_id else ""
            if agency_id in agencies:
                self.problems.add(table.name, line, "agency_id", f"agency {agency_id!r} is given twice")
            if zone:
                zones.add(zone)
            # Known even with a bad zone (reported above): its routes are not unknown.
            agencies.setdefault(agency_id, (name, zone or ""))
        if not table.rows:
            self.problems.add(table.name, None, None, "the feed has no agency")
        if len(table.rows) > 1 and not has_id:
            self.problems.add(table.name, 1, "agency_id", "required when a feed has several agencies")
        if len(zones) > 1:
            self.problems.add(
                table.name, None, "agency_timezone",
                f"agencies of one feed must share a time zone, found {', '.join(sorted(zones))}",
            )
        return agencies, min(zones) if zones else "UTC"

    def stops(
        self, table: _Table | None
    ) -> tuple[dict[str, _Station], dict[str, str], dict[str, str]]:
        """Stations by key, stop_id -> station key, stop_id -> fare zone."""
        stations: dict[str, _Station] = {}
        stop_station: dict[str, str] = {}
        stop_zone: dict[str, str] = {}
        if table is None:
            return stations, stop_station, stop_zone
        c = table.columns
        rows: dict[str, tuple[int, list[str]]] = {}
        for line, row in table.rows:
            stop_id = row[c["stop_id"]].strip()
            if not stop_id:
                self.problems.add(table.name, line, "stop_id", "a value is required")
            elif stop_id in rows:
                self.problems.add(table.name, line, "stop_id", f"stop {stop_id!r} is given twice")
            else:
                rows[stop_id] = (line, row)

        def get(row: list[str], column: str) -> str:
            return row[c[column]].strip() if column in c else ""

        def root(stop_id: str) -> str:
            seen = {stop_id}
            while True:
                line, row = rows[stop_id]
                parent = get(row, "parent_station")
                if not parent:
                    return stop_id
                if parent not in rows:
                    self.problems.add(table.name, line, "parent_station", f"unknown stop {parent!r}")
                    return stop_id
                if parent in seen:
                    self.problems.add(table.name, line, "parent_station", "parent stations form a loop")
                    return stop_id
                seen.add(parent)
                stop_id = parent

        for stop_id, (line, row) in rows.items():
            location_type = get(row, "location_type") or "0"
            if location_type not in ("0", "1", "2", "3", "4"):
                self.problems.add(table.name, line, "location_type", f"{location_type!r} is not 0 to 4")
                self.rejected_stops.add(stop_id)
                self.coordinate(table.name, line, "stop_lat", get(row, "stop_lat"), 90)
                self.coordinate(table.name, line, "stop_lon", get(row, "stop_lon"), 180)
                continue
            zone_id = get(row, "zone_id")
            if zone_id:
                stop_zone[stop_id] = zone_id
            top = root(stop_id)
            top_line, top_row = rows[top]
            name = get(top_row, "stop_name")
            if not name:
                if location_type in ("0", "1", "2"):
                    self.problems.add(table.name, top_line, "stop_name", "a value is required")
                    self.rejected_stops.add(stop_id)
                continue
            top_type = get(top_row, "location_type") or "0"
            # A real station keeps its identity; loose stops sharing a name are one place.
            key = top if top_type == "1" else "name:" + name
            station = stations.get(key)
            if station is None:
                zone_text = get(top_row, "stop_timezone")
                zone = self.zone(table.name, top_line, "stop_timezone", zone_text) if zone_text else None
                station = stations[key] = _Station(
                    key, name, top,
                    self.coordinate(table.name, top_line, "stop_lat", get(top_row, "stop_lat"), 90),
                    self.coordinate(table.name, top_line, "stop_lon", get(top_row, "stop_lon"), 180),
                    zone, line=top_line,
                )
            if station.timezone is None and get(row, "stop_timezone"):
                station.timezone = self.zone(table.name, line, "stop_timezone", get(row, "stop_timezone"))
            station.members.append(stop_id)
            stop_station[stop_id] = key
            point = _point(get(row, "stop_lat"), get(row, "stop_lon"))
            if point is not None and location_type in ("0", "1"):
                station.points.append(point)
        return stations, stop_station, stop_zone

    def routes(
        self, table: _Table | None, agencies: dict[str, tuple[str, str]]
    ) -> dict[str, tuple[str, str, str, str | None]]:
        """route_id -> (operator, route, mode, long name)."""
        routes: dict[str, tuple[str, str, str, str | None]] = {}
        if table is None:
            return routes
        c = table.columns
        only_agency = next(iter(agencies.values()))[0] if len(agencies) == 1 else None
        if "agency_id" not in c and len(agencies) > 1:
            # Said once for the file, not once a route.
            self.problems.missing_column(table.name, "agency_id", "required column is missing (the feed has several agencies)")
        for line, row in table.rows:
            route_id = row[c["route_id"]].strip()
            if not route_id:
                self.problems.add(table.name, line, "route_id", "a value is required")
            elif route_id in routes:
                self.problems.add(table.name, line, "route_id", f"route {route_id!r} is given twice")
            # Until the row proves good: trips on a refused route are not reported again.
            self.rejected_routes.add(route_id)
            agency_id = row[c["agency_id"]].strip() if "agency_id" in c else ""
            operator: str | None = None
            if agency_id in agencies:
                operator = agencies[agency_id][0]
            elif only_agency is not None and not agency_id:
                operator = only_agency
            elif "agency.txt" not in self.unknowable:
                self.problems.add(table.name, line, "agency_id", f"unknown agency {agency_id!r}")
            route_type = self.integer(table.name, line, "route_type", row[c["route_type"]])
            mode = mode_for_route_type(route_type) if route_type is not None else None
            if route_type is not None and mode is None:
                self.problems.add(table.name, line, "route_type", f"unknown route type {route_type}")
            if not route_id or route_id in routes or operator is None or mode is None:
                continue
            short = row[c["route_short_name"]].strip() if "route_short_name" in c else ""
            long = row[c["route_long_name"]].strip() if "route_long_name" in c else ""
            # The services' route (the short name, else the long one, else the id) and name
            # (the long name). The route is kept with a problem: its trips are not refused too.
            for column, text in (("route_short_name", short), ("route_long_name", long),
                                 ("route_id", "" if short or long else route_id)):
                if text:
                    self.text(table.name, line, column, text)
            routes[route_id] = (operator, short or long or route_id, mode.value, long or None)
            self.rejected_routes.discard(route_id)
        return routes

    def calendars(
        self, calendar: _Table | None, dates: _Table | None
    ) -> dict[str, FeedCalendar]:
        calendars: dict[str, FeedCalendar] = {}
        if calendar is not None:
            c = calendar.columns
            for line, row in calendar.rows:
                service_id = row[c["service_id"]].strip()
                if service_id in calendars:
                    self.problems.add(calendar.name, line, "service_id", f"service {service_id!r} is given twice")
                    continue
                weekdays = 0
                for bit, column in enumerate(WEEKDAY_COLUMNS):
                    value = row[c[column]].strip()
                    if value not in ("0", "1"):
                        self.problems.add(calendar.name, line, column, f"{value!r} is neither 0 nor 1")
                    elif value == "1":
                        weekdays |= 1 << bit
                start = self.date(calendar.name, line, "start_date", row[c["start_date"]])
                end = self.date(calendar.name, line, "end_date", row[c["end_date"]])
                if start and end and end < start:
                    self.problems.add(calendar.name, line, "end_date", "the service ends before it starts")
                self.text(calendar.name, line, "service_id", service_id)  # the calendar's name
                calendars[service_id] = FeedCalendar(weekdays, start, end, name=service_id)
        if dates is not None:
            c = dates.columns
            seen: set[tuple[str, dt.date]] = set()
            for line, row in dates.rows:
                service_id = row[c["service_id"]].strip()
                entry = calendars.get(service_id)
                if entry is None:
                    # Only in calendar_dates.txt: runs on its added dates alone. Known even if
                    # this row is refused, so its trips are not reported again.
                    entry = calendars[service_id] = FeedCalendar(0, None, None, name=service_id)
                    self.text(dates.name, line, "service_id", service_id)
                day = self.date(dates.name, line, "date", row[c["date"]])
                kind = row[c["exception_type"]].strip()
                if kind not in ("1", "2"):
                    self.problems.add(dates.name, line, "exception_type", f"{kind!r} is neither 1 (added) nor 2 (removed)")
                    continue
                if day is None:
                    continue
                if (service_id, day) in seen:
                    self.problems.add(dates.name, line, "date", f"{day} is given twice for service {service_id!r}")
                    continue
                seen.add((service_id, day))
                (entry.added if kind == "1" else entry.removed).add(day)
        return calendars

    def trips(
        self,
        table: _Table | None,
        routes: dict[str, tuple[str, str, str, str | None]],
        calendars: dict[str, FeedCalendar],
    ) -> dict[str, _Trip]:
        trips: dict[str, _Trip] = {}
        if table is None:
            return trips
        c = table.columns
        short_i = c.get("trip_short_name")
        headsign_i = c.get("trip_headsign")
        services_known = not {"calendar.txt", "calendar_dates.txt"} & self.unknowable
        for line, row in table.rows:
            trip_id = row[c["trip_id"]].strip()
            if not trip_id:
                self.problems.add(table.name, line, "trip_id", "a value is required")
            elif trip_id in trips or trip_id in self.rejected_trips:
                self.problems.add(table.name, line, "trip_id", f"trip {trip_id!r} is given twice")
                continue
            route_id = row[c["route_id"]].strip()
            service_id = row[c["service_id"]].strip()
            good = bool(trip_id)
            if route_id not in routes:
                good = False
                if route_id not in self.rejected_routes and "routes.txt" not in self.unknowable:
                    self.problems.add(table.name, line, "route_id", f"unknown route {route_id!r}")
            if service_id not in calendars:
                good = False
                if services_known:
                    self.problems.add(
                        table.name, line, "service_id",
                        f"service {service_id!r} is in neither calendar.txt nor calendar_dates.txt",
                    )
            short = row[short_i].strip() if short_i is not None else ""
            headsign = row[headsign_i].strip() if headsign_i is not None else ""
            # The variant's code and headsign, the service's number (the short name, else the
            # trip id): kept with a problem, so that the trip's stop times are still checked.
            for column, text in (("trip_id", trip_id), ("trip_short_name", short),
                                 ("trip_headsign", headsign)):
                if text:
                    self.text(table.name, line, column, text)
            trip = _Trip(trip_id, line, route_id, service_id, short or trip_id, headsign or None)
            if good:
                trips[trip_id] = trip
            elif trip_id:
                # Refused, but its stop times are still checked (and not as an unknown trip).
                self.rejected_trips[trip_id] = trip
        return trips

    def stop_times(self, table: _Table | None, trips: dict[str, _Trip], stop_station: dict[str, str]) -> None:
        if table is None:
            return
        name = table.name
        c = table.columns
        trip_i, stop_i, seq_i = c["trip_id"], c["stop_id"], c["stop_sequence"]
        arr_i, dep_i = c["arrival_time"], c["departure_time"]
        pickup_i, drop_i = c.get("pickup_type"), c.get("drop_off_type")
        times: dict[str, int | None] = {"": None}
        limit = f"H:MM:SS up to {MAX_STOP_SECONDS // 3600}:00:00"
        trips_known = "trips.txt" not in self.unknowable
        stops_known = "stops.txt" not in self.unknowable
        # Trips with a row left out (bad sequence or time): judged only on what is left.
        damaged: set[str] = set()
        for line, row in table.rows:
            # Every column of every row is checked, whatever else is wrong with it.
            trip_key = row[trip_i].strip()
            trip = trips.get(trip_key) or self.rejected_trips.get(trip_key)
            if trip is None and trips_known:
                self.problems.add(name, line, "trip_id", f"unknown trip {trip_key!r}")
            stop_id = row[stop_i].strip()
            if stop_id not in stop_station and stop_id not in self.rejected_stops and stops_known:
                self.problems.add(name, line, "stop_id", f"unknown stop {stop_id!r}")
            usable = True
            sequence_text = row[seq_i].strip()
            if not sequence_text.isdecimal():
                self.problems.add(name, line, "stop_sequence", f"{sequence_text!r} is not a whole number of zero or more")
                usable = False
            arrival_text, departure_text = row[arr_i], row[dep_i]
            try:
                arrival = times[arrival_text]
            except KeyError:
                arrival = times[arrival_text] = _seconds(arrival_text)
                if arrival is None:
                    del times[arrival_text]
                    self.problems.add(name, line, "arrival_time", f"{arrival_text.strip()!r} is not a time written {limit}")
                    usable = False
            try:
                departure = times[departure_text]
            except KeyError:
                departure = times[departure_text] = _seconds(departure_text)
                if departure is None:
                    del times[departure_text]
                    self.problems.add(name, line, "departure_time", f"{departure_text.strip()!r} is not a time written {limit}")
                    usable = False
            if arrival is None:
                arrival = departure
            elif departure is None:
                departure = arrival
            # Times that read are compared even when the row's sequence is bad.
            if arrival is not None and departure is not None and departure < arrival:
                self.problems.add(name, line, "departure_time", "departure before arrival")
            if not usable:
                damaged.add(trip_key)
                continue
            boarding = pickup_i is None or row[pickup_i].strip() != "1"
            alighting = drop_i is None or row[drop_i].strip() != "1"
            if trip is not None:
                # A call at an unknown stop still counts for the trip's times.
                trip.calls.append((int(sequence_text), line, stop_id, arrival, departure, boarding, alighting))
        for trip in (*trips.values(), *self.rejected_trips.values()):
            self.check_trip(name, trip, complete=trip.trip_id not in damaged)

    def check_trip(self, name: str, trip: _Trip, complete: bool = True) -> None:
        """Judge a trip's calls as a whole; when rows were left out (not ``complete``), only
        what they cannot change: sequences given twice and times that go back."""
        calls = trip.calls
        calls.sort()
        if len(calls) < 2 and complete:
            self.problems.add("trips.txt", trip.line, "trip_id", f"trip {trip.trip_id!r} has fewer than two stop times")
            return
        for previous, call in zip(calls, calls[1:], strict=False):
            if call[0] == previous[0]:
                self.problems.add(name, call[1], "stop_sequence", f"stop_sequence {call[0]} is given twice in trip {trip.trip_id!r}")
        # Only given times are compared: a stop between two that go back would be reported too.
        self.check_order(name, trip, [call for call in calls if call[3] is not None])
        if not complete:
            return
        if calls[0][3] is None or calls[-1][3] is None:
            where = calls[0] if calls[0][3] is None else calls[-1]
            self.problems.add(name, where[1], "arrival_time", "the first and last stops of a trip need times")
            return
        # Non-timepoints: spread evenly between the timed stops around them.
        index = 0
        while index < len(calls):
            if calls[index][3] is not None:
                index += 1
                continue
            end = index
            while calls[end][3] is None:
                end += 1
            before = calls[index - 1][4]
            after = calls[end][3]
            assert before is not None and after is not None
            gap = end - index + 1
            for k in range(index, end):
                guess = before + (after - before) * (k - index + 1) // gap
                calls[k] = (*calls[k][:3], guess, guess, *calls[k][5:])
            index = end

    def check_order(self, name: str, trip: _Trip, calls: list[tuple[int, int, str, int | None, int | None, bool, bool]]) -> None:
        last_departure = -1
        for call in calls:
            arrival, departure = call[3], call[4]
            assert arrival is not None and departure is not None
            if arrival < last_departure:
                self.problems.add(name, call[1], "arrival_time", f"arrives before the trip left the previous stop (trip {trip.trip_id!r})")
            last_departure = departure

    def station_names(
        self, trips: dict[str, _Trip], stations: dict[str, _Station], stop_station: dict[str, str]
    ) -> None:
        """The names of the stations some trip calls at (those that become cities), as
        ``build`` gives them: a name two stations share gets the station's stop id."""
        used: dict[str, _Station] = {}
        for trip in (*trips.values(), *self.rejected_trips.values()):
            for call in trip.calls:
                key = stop_station.get(call[2])
                if key is not None:
                    used.setdefault(key, stations[key])
        shared = {name for name, n in Counter(s.name for s in used.values()).items() if n > 1}
        for station in used.values():
            assert station.line is not None
            if self.text("stops.txt", station.line, "stop_name", station.name) and station.name in shared:
                self.text("stops.txt", station.line, "stop_id", station.stop_id)

    def build(
        self,
        trips: dict[str, _Trip],
        routes: dict[str, tuple[str, str, str, str | None]],
        stations: dict[str, _Station],
        stop_station: dict[str, str],
        stop_zone: dict[str, str],
        default_zone: str,
        currency: str,
    ) -> None:
        """Cities, services and timetables once every row has been read without problems."""
        used: dict[str, _Station] = {}
        for trip in trips.values():
            for call in trip.calls:
                key = stop_station[call[2]]
                used.setdefault(key, stations[key])
        names: dict[str, int] = {}
        for station in used.values():
            names[station.name] = names.get(station.name, 0) + 1
        for key, station in sorted(used.items(), key=lambda item: item[1].name):
            name = station.name if names[station.name] == 1 else f"{station.name} ({station.stop_id})"
            self.feed.cities[key] = FeedCity(
                name=name,
                latitude=station.latitude,
                longitude=station.longitude,
                timezone=station.timezone or default_zone,
            )

        services: dict[tuple[str, str, str], FeedService] = {}
        # (service_id, zones other than the agency's) -> zone_periods
        periods: dict[tuple[str, tuple[str, ...]], list[tuple[str, str, dict[str, int]]]] = {}
        for trip in trips.values():
            operator, route, mode, long_name = routes[trip.route_id]
            service_key = (operator, trip.number, route)
            service = services.get(service_key)
            if service is None:
                service = services[service_key] = FeedService(
                    number=trip.number, mode=mode, operator=operator, route=route,
                    name=long_name, currency=currency,
                )
            elif service.mode != mode:
                self.problems.add("trips.txt", trip.line, "route_id", f"service {trip.number} runs on routes of two modes")
            away = tuple(sorted(
                {self.feed.cities[stop_station[call[2]]].timezone for call in trip.calls} - {default_zone}
            ))
            if (trip.service_id, away) not in periods:
                periods[(trip.service_id, away)] = self.zone_periods(trip.service_id, away, default_zone)
            variants = [
                (calendar_key, suffix, *self.trip_stops(trip, stop_station, stop_zone, shifts))
                for calendar_key, suffix, shifts in periods[(trip.service_id, away)]
            ]
            _, _, stops, zones = variants[0]
            if len(stops) < 2:
                self.problems.add("trips.txt", trip.line, "trip_id", f"trip {trip.trip_id!r} calls at one station only")
                continue
            trip.cities = [s.city for s in stops]
            trip.zones = zones
            trip.service = service
            for calendar_key, suffix, stops, _ in variants:
                stops[0].arrival = None
                stops[-1].departure = None
                timetable = FeedTimetable(trip.trip_id + suffix, calendar_key, stops, trip.headsign,
                                          ("trips.txt", trip.line))
                if any(t is not None and t < 0 for stop in stops for t in (stop.arrival, stop.departure)):
                    service.timetables += self.day_earlier(timetable)
                else:
                    service.timetables.append(timetable)
        self.feed.services = list(services.values())
        calendars_used = {t.calendar for service in services.values() for t in service.timetables}
        for key in set(self.feed.calendars) - calendars_used:
            del self.feed.calendars[key]

    def trip_stops(
        self, trip: _Trip, stop_station: dict[str, str], stop_zone: dict[str, str], shifts: dict[str, int]
    ) -> tuple[list[FeedStop], list[str]]:
        """The trip's calls as stops, one per station in a row, with their times moved from
        the agency's zone to the stop's by ``shifts`` (seconds per zone; none: the agency's),
        and the fare zone of each."""
        stops: list[FeedStop] = []
        zones: list[str] = []
        for call in trip.calls:
            city = stop_station[call[2]]
            arrival, departure = call[3], call[4]
            shift = shifts.get(self.feed.cities[city].timezone, 0)
            if shift:
                arrival, departure = _shifted(arrival, shift), _shifted(departure, shift)
            if stops and stops[-1].city == city:
                # Two platforms of one station in a row: one call at the station.
                stops[-1].departure = departure
                stops[-1].boarding = stops[-1].boarding or call[5]
                stops[-1].alighting = stops[-1].alighting or call[6]
                continue
            stops.append(FeedStop(city, arrival, departure, None, call[5], call[6]))
            zones.append(stop_zone.get(call[2], ""))
        return stops, zones

    def zone_periods(
        self, service_id: str, zones: tuple[str, ...], feed_zone: str
    ) -> list[tuple[str, str, dict[str, int]]]:
        """The periods of a calendar in which the stops' ``zones`` keep their offsets from
        the agency's zone: (calendar key, timetable code suffix, seconds to add per zone).

        GTFS times are the agency's: a stop in another zone gets them moved to its own by
        the difference of the two zones' offsets on each date. Where the zones change
        clocks on different dates (Phoenix keeps standard time, Los Angeles does not; Europe
        changes weeks after the United States), that difference changes within a calendar:
        each run of dates with one difference gets its own calendar (the dates from its
        first to its last) and the trip a variant, coded "<trip_id> <first date>" after the
        first, so that every call keeps its instant on every date."""
        calendar = self.feed.calendars[service_id]
        days = _run_dates(calendar) if zones else []
        periods: list[tuple[tuple[int, ...], list[dt.date]]] = []
        for day in days:
            shifts = tuple(_offset(zone, day) - _offset(feed_zone, day) for zone in zones)
            if periods and periods[-1][0] == shifts:
                periods[-1][1].append(day)
            else:
                periods.append((shifts, [day]))
        if len(periods) < 2:
            # One difference on every date (or no date at all: the first day's, as any).
            shifts = periods[0][0] if periods else tuple(_shift(zone, feed_zone, calendar) for zone in zones)
            return [(service_id, "", dict(zip(zones, shifts, strict=True)))]
        out = []
        for i, (shifts, dates) in enumerate(periods):
            first, last = dates[0], dates[-1]
            key = f"{service_id}\x00{' '.join(zones)}\x00{first.isoformat()}"
            if key not in self.feed.calendars:
                self.feed.calendars[key] = _calendar_between(calendar, first, last)
            out.append((key, f" {first.isoformat()}" if i else "", dict(zip(zones, shifts, strict=True))))
        return out

    def day_earlier(self, timetable: FeedTimetable) -> list[FeedTimetable]:
        """A trip with a stop time before its service day's midnight once converted to the
        stop's zone (00:10 at the agency in New York is 23:10 the day before at a stop in
        Chicago), as the same runs on the service day before: times a day later, on a
        calendar a day earlier. Every call keeps its instant (docs/routing.md, "Time": noon
        of the service date in the stop's zone, minus 12 hours, plus the time): a time t on
        date D is t + 86,400 on D - 1, except where the stop's zone changes clocks between
        the noons of D - 1 and D, where the day is 23 or 25 hours long. The dates of such a
        night (found per date the trip runs) get a variant of their own with those times,
        coded "<trip_id> <date>", on a calendar of those dates alone."""
        original = self.feed.calendars[timetable.calendar]
        zones = sorted({self.feed.cities[stop.city].timezone for stop in timetable.stops})
        regular = (86_400,) * len(zones)
        # The length of the service day before each date, in each zone: date -> lengths.
        groups: dict[tuple[int, ...], list[dt.date]] = {}
        for day in _run_dates(original):
            earlier = day - dt.timedelta(days=1)
            lengths = tuple(86_400 + _offset(zone, earlier) - _offset(zone, day) for zone in zones)
            if lengths != regular:
                groups.setdefault(lengths, []).append(day)
        key = f"{timetable.calendar}\x00a day earlier\x00{' '.join(zones)}"
        if key not in self.feed.calendars:
            moved = _calendar_day_earlier(original)
            moved.removed |= {day - dt.timedelta(days=1) for days in groups.values() for day in days}
            moved.added -= moved.removed
            self.feed.calendars[key] = moved
        made = [FeedTimetable(timetable.code, key, _later(timetable.stops, zones, regular, self.feed),
                              timetable.headsign, timetable.origin)]
        for lengths, days in sorted(groups.items(), key=lambda item: item[1][0]):
            dates_key = f"{key}\x00{lengths}"
            if dates_key not in self.feed.calendars:
                self.feed.calendars[dates_key] = FeedCalendar(
                    0, None, None, added={day - dt.timedelta(days=1) for day in days},
                    name=_named(original.name or timetable.calendar, "nights the clocks change"),
                )
            made.append(FeedTimetable(f"{timetable.code} {days[0].isoformat()}", dates_key,
                                      _later(timetable.stops, zones, lengths, self.feed),
                                      timetable.headsign, timetable.origin))
        return made

    def fare_prices(
        self, attributes: _Table | None, rules: _Table | None
    ) -> dict[str, tuple[int, str]]:
        """fare_id -> (cents, currency)."""
        prices: dict[str, tuple[int, str]] = {}
        if attributes is None:
            if rules is not None and rules.rows:
                self.problems.add("fare_attributes.txt", None, None, "required with fare_rules.txt")
            return prices
        c = attributes.columns
        # Each currency the fares use, with the line it is first used on.
        found: dict[str, int] = {}
        for line, row in attributes.rows:
            fare_id = row[c["fare_id"]].strip()
            text = row[c["price"]].strip()
            cents = self.price(attributes.name, line, text)
            # Written in small letters, a code is still the code: "usd" is USD.
            currency = row[c["currency_type"]].strip().upper()
            if not currency:
                self.problems.add(attributes.name, line, "currency_type", "a value is required")
            elif (problem := currency_problem(currency)) is not None:
                # The rule of the service form, the API and the CSV bundle: a currency
                # the import stores, they save unchanged.
                self.problems.add(attributes.name, line, "currency_type", str(problem))
            else:
                found.setdefault(currency, line)
                if cents is not None:
                    prices[fare_id] = (cents, currency)
                    continue
            self.rejected_fares.add(fare_id)  # its rules are not reported again
        if len(found) > 1:
            # A service keeps one currency and prices are not converted: a feed's fares in two
            # currencies would be stored as one of them. Said once, where the second begins.
            (first, first_line), (second, second_line) = list(found.items())[:2]
            others = ", ".join(found)
            self.problems.add(
                attributes.name, second_line, "currency_type",
                f"the fares of this feed are in {len(found)} currencies ({others}): {second} "
                f"here, {first} from line {first_line}; one feed's fares must share one "
                "currency, as each service is priced in one currency and prices are not "
                "converted",
            )
        return prices

    def price(self, table: str, line: int, text: str) -> int | None:
        try:
            price = Decimal(text)
        except InvalidOperation:
            self.problems.add(table, line, "price", f"{text!r} is not a price")
            return None
        if not price.is_finite() or price < 0:
            self.problems.add(table, line, "price", f"{text!r} is not a price of zero or more")
            return None
        if price * 100 > MAX_CENTS:
            self.problems.add(table, line, "price", f"{text} is more than {MAX_CENTS / 100:,.2f}")
            return None
        return int((price * 100).to_integral_value())

    def fare_rules(
        self,
        rules: _Table | None,
        prices: dict[str, tuple[int, str]],
        routes: dict[str, tuple[str, str, str, str | None]],
    ) -> dict[tuple[str, str, str], int]:
        """(route_id, origin zone, destination zone) -> the cheapest matching price."""
        matching: dict[tuple[str, str, str], int] = {}
        if rules is None:
            return matching
        c = rules.columns
        # Without fare_attributes.txt (reported) no fare id can be known.
        fares_known = "fare_attributes.txt" not in self.unknowable and (prices or self.rejected_fares)

        def get(row: list[str], column: str) -> str:
            return row[c[column]].strip() if column in c else ""

        for line, row in rules.rows:
            fare_id = get(row, "fare_id")
            route_id = get(row, "route_id")
            known = fare_id in prices
            if not known and fare_id not in self.rejected_fares and fares_known:
                self.problems.add(rules.name, line, "fare_id", f"unknown fare {fare_id!r}")
            if route_id and route_id not in routes:
                if route_id not in self.rejected_routes and "routes.txt" not in self.unknowable:
                    self.problems.add(rules.name, line, "route_id", f"unknown route {route_id!r}")
                continue
            if not known or get(row, "contains_id"):
                continue  # zones passed through: not expressible as an origin-destination price
            key = (route_id, get(row, "origin_id"), get(row, "destination_id"))
            cents = prices[fare_id][0]
            matching[key] = min(cents, matching.get(key, cents))
        return matching

    def fares(self, matching: dict[tuple[str, str, str], int], trips: dict[str, _Trip]) -> None:
        if not matching:
            return
        for trip in trips.values():
            if trip.service is None:
                continue
            fares = trip.service.fares
            for i, origin in enumerate(trip.cities):
                for j in range(i + 1, len(trip.cities)):
                    destination = trip.cities[j]
                    if origin == destination:
                        continue
                    # An empty route, origin or destination in a rule matches any.
                    candidates = [
                        matching.get((route, a, b))
                        for route in {trip.route_id, ""}
                        for a in {trip.zones[i], ""}
                        for b in {trip.zones[j], ""}
                    ]
                    found = [cents for cents in candidates if cents is not None]
                    if found:
                        best = min(found)
                        old = fares.get((origin, destination))
                        fares[(origin, destination)] = best if old is None else min(old, best)

    def transfer_rows(
        self, table: _Table | None, stop_station: dict[str, str]
    ) -> tuple[list[tuple[str | None, str | None, int]], set[tuple[str, str]]]:
        """Checked minimum connection times: (from station, to station, seconds); and the
        (from, to) pairs of different stations a row says no transfer is possible between
        (type 3)."""
        walks: list[tuple[str | None, str | None, int]] = []
        forbidden: set[tuple[str, str]] = set()
        if table is None:
            return walks, forbidden
        c = table.columns
        stops_known = "stops.txt" not in self.unknowable
        for line, row in table.rows:
            kind = row[c["transfer_type"]].strip() if "transfer_type" in c else ""
            good = kind in ("", "0", "1", "2", "3", "4", "5")
            if not good:
                self.problems.add(table.name, line, "transfer_type", f"{kind!r} is not 0 to 5")
            ends = []
            for column in ("from_stop_id", "to_stop_id"):
                stop_id = row[c[column]].strip()
                if stop_id and stop_id not in stop_station and stop_id not in self.rejected_stops and stops_known:
                    self.problems.add(table.name, line, column, f"unknown stop {stop_id!r}")
                ends.append(stop_station.get(stop_id))
            if kind == "3" and ends[0] is not None and ends[1] is not None and ends[0] != ends[1]:
                forbidden.add((ends[0], ends[1]))
            text = row[c["min_transfer_time"]].strip() if "min_transfer_time" in c else ""
            if (good and kind != "2") or not text:
                continue  # only a minimum time is a connection time
            seconds = self.integer(table.name, line, "min_transfer_time", text)
            if seconds is not None and seconds < 0:
                self.problems.add(table.name, line, "min_transfer_time", "a time cannot be negative")
            elif seconds is not None and good:
                walks.append((ends[0], ends[1], seconds))
        return walks, forbidden

    def transfers(
        self,
        rows: list[tuple[str | None, str | None, int]],
        forbidden: set[tuple[str, str]],
        stations: dict[str, _Station],
    ) -> None:
        """Connection times and walks between the stations that became cities: those of
        ``transfers.txt``, then those derived between nearby stations for the pairs it
        neither gives a time for nor forbids."""
        walks: dict[tuple[str, str], int] = {}
        for a, b, seconds in rows:
            if a is None or b is None or a not in self.feed.cities or b not in self.feed.cities:
                continue  # a station no trip calls at
            if a == b:
                city = self.feed.cities[a]
                city.min_connection_seconds = max(seconds, city.min_connection_seconds or 0)
            else:
                walks[(a, b)] = max(seconds, walks.get((a, b), 0))
        points = {key: stations[key].points for key in self.feed.cities}
        for (a, b), metres in sorted(nearby_stations(points, WALK_RADIUS_M).items()):
            seconds = walk_seconds(metres)
            for pair in ((a, b), (b, a)):
                if pair not in walks and pair not in forbidden:
                    walks[pair] = seconds
        self.feed.transfers = [FeedTransfer(a, b, s) for (a, b), s in walks.items()]


@dataclass
class _Trip:
    trip_id: str
    line: int
    route_id: str
    service_id: str
    number: str
    headsign: str | None
    # (stop_sequence, line, stop_id, arrival, departure, boarding, alighting)
    calls: list[tuple[int, int, str, int | None, int | None, bool, bool]] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)  # city keys after merging platforms
    zones: list[str] = field(default_factory=list)  # fare zone of each of those calls
    service: FeedService | None = None


def _point(latitude: str, longitude: str) -> tuple[float, float] | None:
    """A stop's coordinates, None where either is missing or unusable (a station's own are
    checked, and reported, where it is read)."""
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None  # out of range, or not a number at all (nan)
    return lat, lon


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle metres between two (latitude, longitude) points (haversine)."""
    lat1, lon1, lat2, lon2 = (math.radians(x) for x in (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def walk_seconds(metres: float) -> int:
    """The walk derived between two stations ``metres`` apart in a straight line: that
    distance times ``WALK_DETOUR`` at ``WALK_SPEED_M_S``, rounded up to whole minutes, at
    least one (90 m: 2 minutes; 250 m: 6)."""
    minutes = math.ceil(round(metres * WALK_DETOUR / WALK_SPEED_M_S, 6) / 60)
    return max(1, minutes) * 60


def nearby_stations(
    points: dict[str, list[tuple[float, float]]], radius_m: float
) -> dict[tuple[str, str], float]:
    """(a, b) with a < b -> the metres between the closest stops of stations a and b, for
    the pairs of different stations with stops within ``radius_m`` of each other.

    The points go into a grid of cells ``radius_m`` high in latitude and as wide in
    longitude at the equator; each cell's points are compared only with those of the cells
    after it that can hold a point within the radius (its own row to the east and the row
    to the north, as many columns either side as the parallels' narrowing needs), so the
    work grows with the stops, not with their square. (Walks across the antimeridian are
    not looked for.)"""
    cell = math.degrees(radius_m / EARTH_RADIUS_M)
    grid: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
    for key, station_points in points.items():
        for lat, lon in set(station_points):
            grid.setdefault((math.floor(lat / cell), math.floor(lon / cell)), []).append((lat, lon, key))
    found: dict[tuple[str, str], float] = {}
    for (row, column), members in grid.items():
        # A radius spans the most columns on the parallel nearest a pole that a point of
        # this row or one within the radius of it can lie on (all of them near a pole).
        poleward = min(89.9, max(abs(row * cell), abs((row + 1) * cell)) + cell)
        reach = math.ceil(1.001 / math.cos(math.radians(poleward)))  # a hair over, for rounding
        span = min(reach, math.ceil(360 / cell))
        for r, c in [(row, column + k) for k in range(span + 1)] + [
            (row + 1, column + k) for k in range(-span, span + 1)
        ]:
            others = grid.get((r, c))
            if others is None:
                continue
            same = (r, c) == (row, column)
            for i, (lat, lon, key) in enumerate(members):
                for lat2, lon2, key2 in others[i + 1:] if same else others:
                    if key == key2:
                        continue
                    metres = distance_m((lat, lon), (lat2, lon2))
                    if metres <= radius_m:
                        pair = (key, key2) if key < key2 else (key2, key)
                        if metres < found.get(pair, math.inf):
                            found[pair] = metres
    return found


def _seconds(text: str) -> int | None:
    """'25:43:00' -> 92580; None when it is not a time (or lies past MAX_STOP_SECONDS)."""
    parts = text.strip().split(":")
    # Digits only: int() alone would also take signs, spaces and underscores.
    if len(parts) != 3 or not all(p.isdecimal() for p in parts):
        return None
    hours, minutes, seconds = (int(p) for p in parts)
    if minutes >= 60 or seconds >= 60 or hours * 3600 + minutes * 60 + seconds > MAX_STOP_SECONDS:
        return None
    return hours * 3600 + minutes * 60 + seconds


def _shift(city_zone: str, feed_zone: str, calendar: FeedCalendar) -> int:
    """Seconds to add to a time in the agency's zone to get the city's local time."""
    if city_zone == feed_zone:
        return 0
    day = calendar.start_date or min(calendar.added, default=dt.date(2000, 1, 1))
    return _offset(city_zone, day) - _offset(feed_zone, day)


@lru_cache(maxsize=1024)
def _offset(zone: str, day: dt.date) -> int:
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(zone))
    offset = noon.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _shifted(value: int | None, shift: int) -> int | None:
    return None if value is None else value + shift


def _run_dates(calendar: FeedCalendar) -> list[dt.date]:
    """The dates ``calendar`` runs on, in order (GTFS calendars have both ends, or added
    dates alone)."""
    days = set(calendar.added)
    if calendar.start_date is not None and calendar.end_date is not None:
        days.update(days_between(calendar.start_date, calendar.end_date))
    return sorted(day for day in days if calendar.runs_on(day))


def _calendar_between(calendar: FeedCalendar, first: dt.date, last: dt.date) -> FeedCalendar:
    """``calendar`` on its dates from ``first`` to ``last`` alone."""
    added = {day for day in calendar.added if first <= day <= last}
    removed = {day for day in calendar.removed if first <= day <= last}
    name = _named(calendar.name, f"{first.isoformat()} to {last.isoformat()}")
    if calendar.start_date is None or calendar.end_date is None:
        return FeedCalendar(0, None, None, added=added, name=name)
    start, end = max(calendar.start_date, first), min(calendar.end_date, last)
    if start > end:  # only added dates in the period
        return FeedCalendar(0, None, None, added=added, name=name)
    return FeedCalendar(calendar.weekdays, start, end, added=added, removed=removed, name=name)


def _calendar_day_earlier(calendar: FeedCalendar) -> FeedCalendar:
    """``calendar`` with every date a day earlier: the weekly pattern too (a Monday run's
    day before is a Sunday)."""
    back = dt.timedelta(days=1)
    weekdays = ((calendar.weekdays >> 1) | ((calendar.weekdays & 1) << 6)) & 0b1111111
    return FeedCalendar(
        weekdays,
        calendar.start_date - back if calendar.start_date is not None else None,
        calendar.end_date - back if calendar.end_date is not None else None,
        added={day - back for day in calendar.added},
        removed={day - back for day in calendar.removed},
        name=_named(calendar.name, "a day earlier"),
    )


def _named(name: str | None, what: str) -> str | None:
    """A derived calendar's name, "<name>, <what>", where the 200 characters of a calendar
    name allow it (else the name itself)."""
    if not name:
        return None
    longer = f"{name}, {what}"
    return longer if len(longer) <= 200 else name


def _later(stops: list[FeedStop], zones: list[str], lengths: tuple[int, ...], feed: Feed) -> list[FeedStop]:
    """``stops`` with each time later by the length of the day before in the stop's zone."""
    by_zone = dict(zip(zones, lengths, strict=True))
    return [
        FeedStop(stop.city, _shifted(stop.arrival, by_zone[feed.cities[stop.city].timezone]),
                 _shifted(stop.departure, by_zone[feed.cities[stop.city].timezone]),
                 stop.fare_cents, stop.boarding, stop.alighting)
        for stop in stops
    ]


def parse_gtfs(path: Path) -> Feed:
    """Read a GTFS feed (a zip file or a folder of .txt files) into a ``Feed``.

    Raises ``ImportFailed`` listing every problem found, each with file, line and field.
    """
    return _Parser(Path(path)).parse()
