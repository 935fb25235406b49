"""Forecasts for every service running on a day, from a trained checkpoint.

The day's planned trips come from the timetable (every variant whose calendar runs that
day, first boarding stop to last alighting stop); each is appended to the trip history
with unknown outcome (never read as the history of another planned run), and its features
are built exactly as in training (nothing known after its cut-off). Forecasts are plain data the web layer and the API format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from transit.forecast.data import TripTable, epoch_seconds, from_epoch
from transit.forecast.features import build_features

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from transit.forecast.lstm import Checkpoint


@dataclass(frozen=True)
class PlannedTrip:
    """A timetabled run: service label ``operator|number|route``, places, aware times."""

    service: str
    origin: str
    destination: str
    departure: dt.datetime  # aware, origin's zone
    arrival: dt.datetime  # aware, destination's zone
    # Database ids and the service day, where the trip comes from the database's timetable.
    service_id: int | None = None
    origin_id: int | None = None
    destination_id: int | None = None
    service_date: dt.date | None = None


@dataclass
class ServiceForecast:
    """The forecast of one planned run (times naive UTC, durations in minutes)."""

    operator: str
    number: str
    route: str
    origin: str
    destination: str
    service_date: dt.date
    scheduled_departure: dt.datetime
    scheduled_arrival: dt.datetime
    travel_minutes: float
    travel_minutes_low: float
    travel_minutes_high: float
    arrival: dt.datetime
    arrival_low: dt.datetime
    arrival_high: dt.datetime
    arrival_delay_minutes: float
    history_trips: int
    arrival_delay_low: float = 0.0  # 10% and 90% quantiles of the arrival delay, minutes
    arrival_delay_high: float = 0.0
    service_id: int | None = None
    origin_id: int | None = None
    destination_id: int | None = None

    def to_json(self) -> dict[str, object]:
        def iso(moment: dt.datetime) -> str:
            return moment.replace(tzinfo=dt.UTC).isoformat(timespec="seconds")

        return {
            "service": {"operator": self.operator, "number": self.number, "route": self.route},
            "origin": self.origin,
            "destination": self.destination,
            "service_date": self.service_date.isoformat(),
            "scheduled_departure": iso(self.scheduled_departure),
            "scheduled_arrival": iso(self.scheduled_arrival),
            "travel_minutes": round(self.travel_minutes, 1),
            "travel_minutes_range": [round(self.travel_minutes_low, 1),
                                     round(self.travel_minutes_high, 1)],
            "arrival": iso(self.arrival),
            "arrival_range": [iso(self.arrival_low), iso(self.arrival_high)],
            "arrival_delay_minutes": round(self.arrival_delay_minutes, 1),
            "history_trips": self.history_trips,
        }


def with_planned(history: TripTable, planned: list[PlannedTrip]) -> tuple[TripTable, np.ndarray]:
    """``history`` plus the planned trips (outcome unknown); return it and their rows."""
    services = list(history.services)
    places = list(history.places)
    service_index = {label: i for i, label in enumerate(services)}
    place_index = {code: i for i, code in enumerate(places)}

    def intern(index: dict[str, int], labels: list[str], label: str) -> int:
        if label not in index:
            index[label] = len(labels)
            labels.append(label)
        return index[label]

    n = len(planned)
    svc = np.array([intern(service_index, services, p.service) for p in planned], dtype=np.int32)
    org = np.array([intern(place_index, places, p.origin) for p in planned], dtype=np.int32)
    dst = np.array([intern(place_index, places, p.destination) for p in planned], dtype=np.int32)
    sched_dep = np.array([epoch_seconds(p.departure) for p in planned], dtype=np.int64)
    sched_arr = np.array([epoch_seconds(p.arrival) for p in planned], dtype=np.int64)
    minute = np.array([p.departure.hour * 60 + p.departure.minute for p in planned], dtype=np.int16)
    dow = np.array([p.departure.weekday() for p in planned], dtype=np.int8)
    marker = np.concatenate([np.zeros(len(history), dtype=bool), np.ones(n, dtype=bool)])
    combined = TripTable(
        source=history.source,
        services=services,
        places=places,
        service=np.concatenate([history.service, svc]),
        origin=np.concatenate([history.origin, org]),
        dest=np.concatenate([history.dest, dst]),
        sched_dep=np.concatenate([history.sched_dep, sched_dep]),
        sched_arr=np.concatenate([history.sched_arr, sched_arr]),
        act_dep=np.concatenate([history.act_dep, np.full(n, np.nan)]),
        act_arr=np.concatenate([history.act_arr, np.full(n, np.nan)]),
        cancelled=np.concatenate([history.cancelled, np.zeros(n, dtype=bool)]),
        local_minute=np.concatenate([history.local_minute, minute]),
        local_dow=np.concatenate([history.local_dow, dow]),
        weather=history.weather,
        data_version=history.data_version,
        place_zones=history.place_zones,
    )
    order = np.lexsort((combined.service, combined.sched_dep))
    combined = combined.subset(order)
    return combined, np.flatnonzero(marker[order])


def forecast_trips(
    history: TripTable, planned: list[PlannedTrip], checkpoint: Checkpoint
) -> list[ServiceForecast]:
    """Forecast every planned trip from ``history`` with a trained model.

    Each service date is forecast on its own, beside the history and its own planned runs
    only, so a date's forecasts do not depend on which other dates are asked for with it
    (the timetable load at the origin would count a neighbouring date's runs near midnight).
    """
    by_date: dict[dt.date | None, list[PlannedTrip]] = {}
    for trip in planned:
        by_date.setdefault(trip.service_date, []).append(trip)
    return [f for trips in by_date.values() for f in _forecast_together(history, trips, checkpoint)]


def _forecast_together(
    history: TripTable, planned: list[PlannedTrip], checkpoint: Checkpoint
) -> list[ServiceForecast]:
    """Forecast ``planned`` in one table; none of them is history for another."""
    if not planned:
        return []
    table, rows = with_planned(history, planned)
    pending = np.zeros(len(table), dtype=bool)
    pending[rows] = True
    features = build_features(table, rows, checkpoint.feature_config, pending)
    prediction = checkpoint.predict(features, table.places)
    assert prediction.tt_q10 is not None and prediction.tt_q90 is not None
    assert prediction.arr_q10 is not None and prediction.arr_q90 is not None
    out: list[ServiceForecast] = []
    sched_minutes = features.sched_minutes
    # The planned trip behind each row (rows are in the combined table's order).
    by_key = {(p.service, p.origin, epoch_seconds(p.departure)): p for p in planned}
    zones: dict[str, ZoneInfo] = {}
    for i, row in enumerate(rows):
        operator, number, route = table.services[int(table.service[row])].split("|", 2)
        dep = int(table.sched_dep[row])
        arr = int(table.sched_arr[row])
        origin = table.places[int(table.origin[row])]
        zone = zones.setdefault(origin, ZoneInfo(table.place_zones.get(origin, "UTC")))
        source = by_key.get((table.services[int(table.service[row])], origin, dep))
        # The arrival: timetable plus forecast delay; its range from the delay quantiles.
        out.append(
            ServiceForecast(
                operator=operator,
                number=number,
                route=route,
                origin=origin,
                destination=table.places[int(table.dest[row])],
                service_date=(source.service_date if source and source.service_date else
                              from_epoch(dep).replace(tzinfo=dt.UTC).astimezone(zone).date()),
                scheduled_departure=from_epoch(dep),
                scheduled_arrival=from_epoch(arr),
                travel_minutes=float(sched_minutes[i] + prediction.tt_resid[i]),
                travel_minutes_low=float(sched_minutes[i] + prediction.tt_q10[i]),
                travel_minutes_high=float(sched_minutes[i] + prediction.tt_q90[i]),
                arrival=from_epoch(arr + 60 * prediction.arr_delay[i]),
                arrival_low=from_epoch(arr + 60 * prediction.arr_q10[i]),
                arrival_high=from_epoch(arr + 60 * prediction.arr_q90[i]),
                arrival_delay_minutes=float(prediction.arr_delay[i]),
                history_trips=int(features.seq_mask[i].sum()),
                arrival_delay_low=float(prediction.arr_q10[i]),
                arrival_delay_high=float(prediction.arr_q90[i]),
                service_id=source.service_id if source else None,
                origin_id=source.origin_id if source else None,
                destination_id=source.destination_id if source else None,
            )
        )
    return out


def planned_trips(
    session: Session, day: dt.date, service_ids: set[int] | None = None
) -> list[PlannedTrip]:
    """Every timetable variant running on ``day``: first boarding to last alighting stop.

    ``service_ids`` limits it to those services.
    """
    return planned_runs(session, [day], service_ids)


def planned_runs(
    session: Session, days: Iterable[dt.date], service_ids: set[int] | None = None
) -> list[PlannedTrip]:
    """``planned_trips`` of several dates, reading the timetables once."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from transit.models import Calendar, City, Service, Stop, Timetable

    days = list(days)
    zones: dict[str, ZoneInfo] = {}
    planned: list[PlannedTrip] = []
    statement = select(Timetable)
    if service_ids is not None:
        statement = statement.where(Timetable.service_id.in_(sorted(service_ids)))
    timetables = list(session.scalars(
        statement.options(
            selectinload(Timetable.stops),
            selectinload(Timetable.calendar).selectinload(Calendar.exceptions),
            selectinload(Timetable.service),
        )
    ))
    # Only the cities these timetables call at (a GTFS network has thousands).
    wanted = {stop.city_id for timetable in timetables for stop in timetable.stops}
    cities = {c.id: c for c in session.scalars(select(City).where(City.id.in_(wanted)))} \
        if service_ids is not None else {c.id: c for c in session.scalars(select(City))}
    for timetable in timetables:
        running = [day for day in days if timetable.calendar.runs_on(day)]
        if not running:
            continue
        stops: list[Stop] = list(timetable.stops)
        boarding = [s for s in stops if s.departure is not None]
        alighting = [s for s in stops if s.arrival is not None]
        if not boarding or not alighting:
            continue
        first, last = boarding[0], alighting[-1]
        if last.sequence <= first.sequence:
            continue
        origin, dest = cities[first.city_id], cities[last.city_id]
        o_zone = zones.setdefault(origin.timezone, ZoneInfo(origin.timezone))
        d_zone = zones.setdefault(dest.timezone, ZoneInfo(dest.timezone))
        assert first.departure is not None and last.arrival is not None
        service: Service = timetable.service
        for day in running:
            planned.append(
                PlannedTrip(
                    service=f"{service.operator}|{service.number}|{service.route}",
                    origin=origin.code or origin.name,
                    destination=dest.code or dest.name,
                    departure=_local(day, first.departure, o_zone),
                    arrival=_local(day, last.arrival, d_zone),
                    service_id=service.id,
                    origin_id=origin.id,
                    destination_id=dest.id,
                    service_date=day,
                )
            )
    return planned


def _local(day: dt.date, seconds: int, zone: ZoneInfo) -> dt.datetime:
    """A stop time of service date ``day``, as an aware local datetime, by the engine's rule
    (noon minus 12 hours): on a night the clocks change, the run the planner shows."""
    from transit.models import stop_instant

    return stop_instant(day, seconds, zone.key).astimezone(zone)


def forecast_day(session: Session, checkpoint: Checkpoint, day: dt.date) -> list[ServiceForecast]:
    """Forecasts for every service running on ``day``, from the database's trip history."""
    from transit.forecast.data import load_trip_records

    # Outcomes already recorded are history; each trip's cut-off keeps later ones out.
    history = load_trip_records(session)
    return forecast_trips(history, planned_trips(session, day), checkpoint)
