"""A GTFS trip keeps the instant of every call on every date it runs, whatever the zones.

GTFS times are the agency's, counted from noon minus 12 hours of the service date; a stop in
another zone gets them moved to its own (docs/formats.md). Where the zones change clocks on
different dates, the trip becomes a variant per period (``zone_periods``); where a moved time
falls before its service day's midnight, it runs on the day before (``day_earlier``). Whatever
the variants, together they must make exactly the runs the feed describes: on random zones,
calendars and times, the instants of all variants on all their dates are the feed's.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from transit.routing.snapshot import service_day_start
from transit.timetable.gtfs import parse_gtfs

# Zones that change clocks on different dates, in both hemispheres, or never; one a day ahead.
ZONES = (
    "America/Phoenix", "America/Los_Angeles", "America/New_York", "Europe/London",
    "Europe/Lisbon", "Australia/Sydney", "Asia/Tokyo", "Pacific/Auckland", "UTC",
)
FIRST = dt.date(2026, 1, 1)
CALENDAR = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"


def _gtfs(text: str) -> str:
    return text.replace("-", "")


@st.composite
def feeds(draw: st.DrawFn) -> tuple[dict[str, str], str, list[str], list[int], set[dt.date]]:
    """GTFS files of one trip, its agency zone, its stops' zones, its times and run dates."""
    agency = draw(st.sampled_from(ZONES))
    n = draw(st.integers(2, 4))
    zones = [draw(st.sampled_from((*ZONES, ""))) for _ in range(n)]  # "": the agency's
    times = [draw(st.integers(0, 30 * 3600))]
    for _ in range(n - 1):
        times.append(times[-1] + draw(st.integers(0, 4 * 3600)))
    start = FIRST + dt.timedelta(days=draw(st.integers(0, 500)))
    end = start + dt.timedelta(days=draw(st.integers(0, 400)))
    weekdays = draw(st.integers(1, 127))
    near = st.integers(-20, 420).map(lambda d: start + dt.timedelta(days=d))
    added = draw(st.sets(near, max_size=3))
    removed = draw(st.sets(near, max_size=3)) - added
    clock = [f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}" for t in times]
    files = {
        "agency.txt": f"agency_name,agency_url,agency_timezone\nZone Air,http://z,{agency}\n",
        "stops.txt": "stop_id,stop_name,stop_timezone\n"
        + "".join(f"S{i},Stop {i},{zone}\n" for i, zone in enumerate(zones)),
        "routes.txt": "route_id,route_short_name,route_type\nR,Z,1100\n",
        "trips.txt": "route_id,service_id,trip_id,trip_short_name\nR,Y,T,Z 1\n",
        "calendar.txt": CALENDAR + "Y," + ",".join(str(weekdays >> i & 1) for i in range(7))
        + f",{_gtfs(start.isoformat())},{_gtfs(end.isoformat())}\n",
        "calendar_dates.txt": "service_id,date,exception_type\n"
        + "".join(f"Y,{_gtfs(d.isoformat())},1\n" for d in sorted(added))
        + "".join(f"Y,{_gtfs(d.isoformat())},2\n" for d in sorted(removed)),
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        + "".join(f"T,{c},{c},S{i},{i + 1}\n" for i, c in enumerate(clock)),
    }
    runs = {
        start + dt.timedelta(days=d) for d in range((end - start).days + 1)
        if weekdays >> (start + dt.timedelta(days=d)).weekday() & 1
    }
    return files, agency, zones, times, (runs | added) - removed


def _instants(stops, zones: list[str], day: dt.date) -> tuple[int, ...]:
    """Each call's instant on service date ``day`` (its departure; the last one's arrival)."""
    times = [s.departure if s.departure is not None else s.arrival for s in stops]
    return tuple(service_day_start(day, zone) + t for zone, t in zip(zones, times, strict=True))


@settings(max_examples=300, deadline=None)
@given(feeds())
def test_every_call_keeps_its_instant_on_every_date(feed_files):
    files, agency, zones, times, dates = feed_files
    with tempfile.TemporaryDirectory() as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        feed = parse_gtfs(Path(folder))
    codes = [t.code for service in feed.services for t in service.timetables]
    event(f"{len(codes)} variants" if len(codes) < 4 else "4 or more variants")
    event("a variant a day earlier" if any(
        "a day earlier" in key for key in feed.calendars) else "no variant a day earlier")
    wanted = Counter(
        tuple(service_day_start(day, agency) + t for t in times) for day in dates
    )
    made: Counter[tuple[int, ...]] = Counter()
    for service in feed.services:
        for timetable in service.timetables:
            calendar = feed.calendars[timetable.calendar]
            stop_zones = [feed.cities[s.city].timezone for s in timetable.stops]
            day = min(dates, default=FIRST) - dt.timedelta(days=3)
            while day <= max(dates, default=FIRST) + dt.timedelta(days=3):
                if calendar.runs_on(day):
                    made[_instants(timetable.stops, stop_zones, day)] += 1
                day += dt.timedelta(days=1)
    assert made == wanted
