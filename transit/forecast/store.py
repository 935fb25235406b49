"""Forecasts stored per service and date (table ``service_forecasts``), and read back.

``forecast_dates`` forecasts every run of every service on some dates from a trained
checkpoint and the database's trip history, and upserts one row per run (a run is keyed by
service, origin and scheduled departure, so forecasting a date again replaces its rows).
The readers give the web layer what the service page and the API show. No Flask here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from transit.db import content_version
from transit.models import City, TripRecord
from transit.models import ServiceForecast as StoredForecast

if TYPE_CHECKING:
    from transit.forecast.lstm import Checkpoint
    from transit.forecast.predict import ServiceForecast

CHECKPOINT_NAME = "forecast.pt"


class NoModel(Exception):
    """No trained model where one was looked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"There is no trained forecast model at {path}: run 'flask --app app forecast "
            "train' first (add --source database --quick for a fast one on this database's "
            "trip history). Until then, journeys show the timetable only."
        )
        self.path = path


def checkpoint_path(model_dir: Path | str) -> Path:
    """Where the checkpoint lives in a model folder (``TRANSIT_MODEL_DIR``)."""
    return Path(model_dir) / CHECKPOINT_NAME


def load_model(model_dir: Path | str) -> Checkpoint:
    """The trained checkpoint in ``model_dir``; ``NoModel`` when there is none."""
    path = checkpoint_path(model_dir)
    if not path.is_file():
        raise NoModel(path)
    from transit.forecast.lstm import load_checkpoint

    return load_checkpoint(path)


def model_label(checkpoint: Checkpoint) -> str:
    """A short name of the model for each stored row: source and training time."""
    meta = checkpoint.metadata
    return f"lstm {meta.get('source', '?')} {meta.get('trained_at', '')}".strip()[:200]


def coming_dates(zones: Iterable[str], days: int, now: dt.datetime) -> list[dt.date]:
    """The service dates of the next ``days`` days in every one of ``zones`` (IANA names):
    from the earliest local "today" among them to ``days - 1`` after the latest. Service
    dates are local; the machine's own date (often UTC) is a day behind in Asia at night.
    """
    todays = {now.astimezone(ZoneInfo(zone)).date() for zone in zones} or {now.date()}
    first, last = min(todays), max(todays) + dt.timedelta(days=days - 1)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def network_dates(session: Session, days: int, now: dt.datetime | None = None) -> list[dt.date]:
    """``coming_dates`` for the time zones of the network's cities."""
    zones = session.scalars(select(City.timezone).distinct())
    return coming_dates(zones, days, now or dt.datetime.now(dt.UTC))


@dataclass
class StoreReport:
    """What ``forecast_dates`` did."""

    dates: list[dt.date]
    runs: int
    stored: int
    forecast_seconds: float
    forecasts: list[ServiceForecast]
    without_history: int = 0  # runs left unforecast: their service has no recorded run

    def __str__(self) -> str:
        days = ", ".join(d.isoformat() for d in self.dates)
        text = (
            f"Forecast {self.runs} runs on {days} in {self.forecast_seconds:.2f} s; "
            f"stored {self.stored}."
        )
        if self.without_history:
            runs = "1 run" if self.without_history == 1 else f"{self.without_history:,} runs"
            text += (f" Not forecast: {runs} whose service has no recorded run to go on "
                     "(their pages show the timetable only; import the service's trip "
                     "history or record its runs to have them forecast).")
        return text


def forecast_dates(
    session: Session,
    checkpoint: Checkpoint,
    dates: Sequence[dt.date],
    progress: Callable[[str, int], None] | None = None,
) -> StoreReport:
    """Forecast every run of every service on ``dates`` and upsert them (caller commits).

    ``progress(stage, steps_done)`` is called as the work advances: history read, each
    date's timetable, forecasts, storage.
    """
    import time

    from transit.forecast.data import load_trip_records
    from transit.forecast.predict import forecast_trips, planned_trips

    step = progress or (lambda _stage, _n: None)
    history = load_trip_records(session)
    step("history", 1)
    planned = []
    for day in dates:
        planned += planned_trips(session, day)
        step(f"timetable {day.isoformat()}", 1)
    started = time.perf_counter()
    forecasts = forecast_trips(history, planned, checkpoint)
    # A run whose service has no recorded run before it is not forecast: the model would
    # give the timetable a range learnt from other services (a new GTFS feed's trains,
    # forecast from another network's history), as sure-looking as any other forecast.
    known = [f for f in forecasts if f.history_trips > 0]
    without_history = len(forecasts) - len(known)
    forecasts = known
    seconds = time.perf_counter() - started
    step("forecast", 1)
    # A date forecast again is replaced whole: a run the timetable no longer has on it (its
    # time moved, its calendar changed, its variant deleted) must not keep its forecast.
    if dates:
        session.execute(delete(StoredForecast).where(StoredForecast.service_date.in_(list(dates))))
    stored = store_forecasts(session, forecasts, model_label(checkpoint))
    step("store", 1)
    return StoreReport(list(dates), len(forecasts), stored, seconds, forecasts, without_history)


def _rows(forecasts: Iterable[ServiceForecast], model: str, now: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    for f in forecasts:
        if f.service_id is None or f.origin_id is None or f.destination_id is None:
            continue  # not a database run (a forecast from a data set's own timetable)
        delay_low = min(f.arrival_delay_low, f.arrival_delay_minutes)
        delay_high = max(f.arrival_delay_high, f.arrival_delay_minutes)
        rows.append(
            {
                "service_id": f.service_id,
                "service_date": f.service_date,
                "origin_id": f.origin_id,
                "destination_id": f.destination_id,
                "scheduled_departure": f.scheduled_departure,
                "scheduled_arrival": f.scheduled_arrival,
                "travel_p10": min(f.travel_minutes_low, f.travel_minutes),
                "travel_p50": f.travel_minutes,
                "travel_p90": max(f.travel_minutes_high, f.travel_minutes),
                "delay_p10": delay_low,
                "delay_p50": f.arrival_delay_minutes,
                "delay_p90": delay_high,
                "model": model,
                "created_at": now,
            }
        )
    return rows


def store_forecasts(session: Session, forecasts: Iterable[ServiceForecast], model: str) -> int:
    """Insert or replace one row per run (key: service, origin, scheduled departure)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = _rows(forecasts, model, now)
    if not rows:
        return 0
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # the project runs on these two
        raise RuntimeError(f"forecasts cannot be stored on {dialect}")
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    keys = ("service_id", "origin_id", "scheduled_departure")
    for start in range(0, len(rows), 500):
        statement = insert(StoredForecast).values(rows[start : start + 500])
        statement = statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={
                name: statement.excluded[name]
                for name in rows[0]
                if name not in keys
            },
        )
        session.execute(statement)
    return len(rows)


# --- reading -----------------------------------------------------------------------------------


def forecasts_statement(
    service_id: int | None = None,
    on: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    city_id: int | None = None,
) -> Select[Any]:
    """Stored forecasts matching the filters, by date, departure and service."""
    statement = select(StoredForecast)
    if service_id is not None:
        statement = statement.where(StoredForecast.service_id == service_id)
    if on is not None:
        statement = statement.where(StoredForecast.service_date == on)
    if date_from is not None:
        statement = statement.where(StoredForecast.service_date >= date_from)
    if date_to is not None:
        statement = statement.where(StoredForecast.service_date <= date_to)
    if city_id is not None:
        statement = statement.where(
            (StoredForecast.origin_id == city_id) | (StoredForecast.destination_id == city_id)
        )
    return statement.order_by(
        StoredForecast.service_date, StoredForecast.scheduled_departure, StoredForecast.id
    )


def run_key(service_id: int | None, origin_id: int | None, destination_id: int | None,
            departure: dt.datetime, arrival: dt.datetime) -> tuple[Any, ...]:
    """What makes a stored forecast the forecast of a timetabled run (naive UTC times)."""
    return (service_id, origin_id, destination_id, departure, arrival)


def current_forecasts(session: Session, rows: Sequence[StoredForecast]) -> list[StoredForecast]:
    """The stored forecasts of ``rows`` whose run the timetable still has: same service,
    cities, date and scheduled times. A forecast stays stored until its date is forecast
    again, but an edit of the timetable in between (a departure moved, a date taken off
    the calendar, a variant deleted) leaves it forecasting a run that no longer exists."""
    if not rows:
        return []
    from transit.forecast.predict import planned_runs

    services = {row.service_id for row in rows}
    days = {row.service_date for row in rows}
    keys = set()
    for trip in planned_runs(session, sorted(days), services):
        departure = trip.departure.astimezone(dt.UTC).replace(tzinfo=None)
        arrival = trip.arrival.astimezone(dt.UTC).replace(tzinfo=None)
        keys.add((trip.service_date, *run_key(trip.service_id, trip.origin_id,
                                              trip.destination_id, departure, arrival)))
    return [
        row for row in rows
        if (row.service_date, *run_key(row.service_id, row.origin_id, row.destination_id,
                                       row.scheduled_departure, row.scheduled_arrival)) in keys
    ]


def without_stale(session: Session, statement: Select[Any]) -> Select[Any]:
    """``statement`` (stored forecasts) less those whose run the timetable no longer has.

    Only a forecast stored before the timetable's last change can be stale: the rest pass
    unchecked (one query), and the older ones matching ``statement`` are checked against the
    timetable (``current_forecasts``) until the next ``predict`` replaces them. Forecasts of
    dates before yesterday (UTC) are kept as they were made: the runs have left, and the
    forecasts of every past date would otherwise be checked again after each edit."""
    from transit.models import DataVersion

    changed = session.scalar(select(DataVersion.changed_at).where(DataVersion.id == 1))
    if changed is None:
        return statement
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    older = list(session.scalars(
        statement.where(StoredForecast.created_at < changed,
                        StoredForecast.service_date >= yesterday).order_by(None)
    ).unique())
    if not older:
        return statement
    current = {row.id for row in current_forecasts(session, older)}
    stale = sorted(row.id for row in older if row.id not in current)
    if not stale:
        return statement
    return statement.where(StoredForecast.id.not_in(stale))


@dataclass(frozen=True)
class ForecastsState:
    """What changes whenever forecasts are stored or removed (for ETags and Last-Modified)."""

    count: int
    latest: dt.datetime | None  # naive UTC: when the newest forecast was stored
    last_id: int | None

    @property
    def fingerprint(self) -> str:
        return f"{self.count}:{self.latest}:{self.last_id}"


# (database, content version) -> the state then: every write of a forecast moves the content
# version (transit.db), so a route request need not count the table again.
_states: dict[tuple[str, int], tuple[tuple[int, Any], ForecastsState]] = {}


def forecasts_state(session: Session) -> ForecastsState:
    """The stored forecasts' count, newest storage time and highest id."""
    engine = session.get_bind().engine
    key = (str(engine.url), id(engine))
    stamp = content_version(session)
    held = _states.get(key)
    if held is not None and held[0] == stamp:
        return held[1]
    state = _count_forecasts(session)
    _states[key] = (stamp, state)
    return state


def _count_forecasts(session: Session) -> ForecastsState:
    count, latest, last_id = session.execute(
        select(
            func.count(StoredForecast.id),
            func.max(StoredForecast.created_at),
            func.max(StoredForecast.id),
        )
    ).one()
    return ForecastsState(int(count or 0), latest, last_id)


@dataclass(frozen=True)
class PastRun:
    """A recorded run of a service: when it left and how long it took (minutes)."""

    scheduled_departure: dt.datetime  # naive UTC
    scheduled_minutes: float
    actual_minutes: float | None  # None: cancelled or arrival unknown
    origin_id: int | None = None  # the city it left from (whose clock shows its times)


USUAL_PAIR_RUNS = 200  # the recorded runs that say which origin and destination are usual


def recent_runs(
    session: Session, service_id: int, limit: int = 30,
    pair: tuple[int, int] | None = None,
) -> list[PastRun]:
    """The service's last ``limit`` recorded runs between one origin and one destination,
    oldest first: ``pair`` (origin id, destination id), by default its usual one (the most
    runs among its last ``USUAL_PAIR_RUNS``). Runs of another pair (a partial run recorded
    from a stop on the way) take another time: on one chart they would read as delays."""
    if pair is None:
        latest = session.execute(
            select(TripRecord.origin_id, TripRecord.destination_id)
            .where(TripRecord.service_id == service_id)
            .order_by(TripRecord.scheduled_departure.desc())
            .limit(USUAL_PAIR_RUNS)
        ).all()
        if not latest:
            return []
        counts = Counter((origin, destination) for origin, destination in latest)
        # The most runs; on a tie, the pair of the latest run among them.
        best = max(counts.values())
        pair = next((o, d) for o, d in latest if counts[(o, d)] == best)
    records = session.execute(
        select(
            TripRecord.scheduled_departure,
            TripRecord.scheduled_arrival,
            TripRecord.actual_departure,
            TripRecord.actual_arrival,
            TripRecord.cancelled,
            TripRecord.origin_id,
        )
        .where(TripRecord.service_id == service_id, TripRecord.origin_id == pair[0],
               TripRecord.destination_id == pair[1])
        .order_by(TripRecord.scheduled_departure.desc())
        .limit(limit)
    ).all()
    out = []
    for s_dep, s_arr, a_dep, a_arr, cancelled, origin_id in reversed(records):
        actual = None
        if not cancelled and a_dep is not None and a_arr is not None:
            actual = (a_arr - a_dep).total_seconds() / 60
        out.append(PastRun(s_dep, (s_arr - s_dep).total_seconds() / 60, actual, origin_id))
    return out


# --- how good the model is ---------------------------------------------------------------------
# The figures a checkpoint was tested with, kept beside the models as JSON per model label, so
# that the pages (which do not load torch) can say how good the forecasts they show are.
QUALITY_FILE = "forecast-models.json"
KEEP_QUALITY = 20  # the figures of this many models (labels) are kept


@dataclass(frozen=True)
class ModelQuality:
    """A model's held-out test figures beside the timetable's and the running median's.

    MAE in minutes; ``coverage`` is the share of travel times inside the 10-90% range."""

    label: str
    test_rows: int
    test_from: dt.date | None
    history: int  # the median baseline's number of last runs
    travel_mae: float
    travel_timetable: float | None
    travel_median: float | None
    arrival_mae: float
    arrival_timetable: float | None
    arrival_median: float | None
    coverage: float | None
    source: str = "database"  # where the test runs came from (a data set's own files)
    hour_before: bool = False  # tested knowing the origin's last hour, as forecasts ahead do not

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["test_from"] = self.test_from.isoformat() if self.test_from else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelQuality:
        """Read back ``to_json``; ValueError or TypeError for anything else (a file edited
        by hand, a field of the wrong type), so that a page never fails on it."""
        import math

        def number(name: str, optional: bool = True) -> float | None:
            value = data.get(name)
            if value is None and optional:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} is not a number")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} is not a finite number of 0 or more")
            return float(value)

        test_from = data.get("test_from")
        label, source = data.get("label"), data.get("source", "database")
        if not isinstance(label, str) or not isinstance(source, str):
            raise TypeError("label and source are text")
        travel, arrival = number("travel_mae", False), number("arrival_mae", False)
        assert travel is not None and arrival is not None
        coverage = number("coverage")
        if coverage is not None and coverage > 1:
            raise ValueError("coverage is a share from 0 to 1")
        return cls(
            label=label,
            test_rows=int(number("test_rows", False) or 0),
            test_from=dt.date.fromisoformat(str(test_from)[:10]) if test_from else None,
            history=int(number("history", False) or 0),
            travel_mae=travel,
            travel_timetable=number("travel_timetable"),
            travel_median=number("travel_median"),
            arrival_mae=arrival,
            arrival_timetable=number("arrival_timetable"),
            arrival_median=number("arrival_median"),
            coverage=coverage,
            source=source,
            hour_before=bool(data.get("hour_before", False)),
        )


def model_quality(checkpoint: Checkpoint) -> ModelQuality | None:
    """The checkpoint's test figures; None when it was not tested (no held-out runs)."""
    metrics = checkpoint.metrics or {}
    test = metrics.get("test")
    if not test:
        return None
    history = int(checkpoint.feature_config.history)
    timetable = metrics.get("timetable") or {}
    median = metrics.get(f"median_last_{history}") or {}
    covered = metrics.get("coverage_10_90") or {}
    # The test's first service date; older checkpoints have only its UTC start.
    test_from = checkpoint.metadata.get("test_first_date") or checkpoint.metadata.get("test_from")

    def number(value: Any) -> float | None:
        return None if value is None else float(value)

    return ModelQuality(
        label=model_label(checkpoint),
        test_rows=int(metrics.get("test_rows", 0)),
        test_from=dt.date.fromisoformat(str(test_from)[:10]) if test_from else None,
        history=history,
        travel_mae=float(test["tt_mae"]),
        travel_timetable=number(timetable.get("tt_mae")),
        travel_median=number(median.get("tt_mae")),
        arrival_mae=float(test["arr_mae"]),
        arrival_timetable=number(timetable.get("arr_mae")),
        arrival_median=number(median.get("arr_mae")),
        coverage=number(covered.get("travel_time")),
        source=str(checkpoint.metadata.get("source", "database")),
        hour_before=bool(checkpoint.feature_config.context),
    )


def write_model_quality(model_dir: Path | str, checkpoint: Checkpoint) -> Path | None:
    """Keep the checkpoint's figures in ``model_dir``'s quality file (written to a file
    beside it and renamed, so a reader never sees half of it); None when untested."""
    import json
    import os

    quality = model_quality(checkpoint)
    if quality is None:
        return None
    path = Path(model_dir) / QUALITY_FILE
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
        models = held.get("models", []) if isinstance(held, dict) else []
    except (OSError, ValueError):
        models = []
    models = [m for m in models if isinstance(m, dict) and m.get("label") != quality.label]
    models = (models + [quality.to_json()])[-KEEP_QUALITY:]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(json.dumps({"models": models}, indent=1) + "\n", encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


_quality_cache: dict[Path, tuple[tuple[int, int], dict[str, ModelQuality]]] = {}


def read_model_quality(model_dir: Path | str, label: str) -> ModelQuality | None:
    """The test figures of the model called ``label`` (a stored forecast's ``model``), from
    ``model_dir``'s quality file; None when they are not there (or it cannot be read)."""
    import json

    path = Path(model_dir) / QUALITY_FILE
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    held = _quality_cache.get(path)
    if held is None or held[0] != stamp:
        known: dict[str, ModelQuality] = {}
        try:
            items = json.loads(path.read_text(encoding="utf-8")).get("models", [])
        except (OSError, ValueError, AttributeError):
            items = []
        for item in items if isinstance(items, list) else []:
            try:
                quality = ModelQuality.from_json(item)
            except (ValueError, TypeError, AttributeError):
                continue  # that model's figures are not known; the others still are
            known[quality.label] = quality
        held = (stamp, known)
        _quality_cache[path] = held
    return held[1].get(label)
