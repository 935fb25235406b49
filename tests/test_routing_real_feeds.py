"""The engine against the networkx reference on the shared GTFS feeds: timetables nobody on
the team wrote, with their own fares (Caltrain's zones), walks (Seattle's bays), modes, calendars
and clock changes. Hypothesis draws the queries: any two stations, a day (weekdays, weekends,
holidays and the days the clocks change), a time, depart at or arrive by, a mode filter, a
minimum connection, a window and a ride limit; every criterion must agree exactly.

The reference builds a time-expanded graph per query, so the windows stay short on the large
feeds. A longer soak: ``TRANSIT_REAL_FEED_EXAMPLES=500`` (the number of examples per feed).
"""

from __future__ import annotations

import datetime as dt
import functools
import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_DATA
from tests.test_routing_properties import _agree_with_reference
from transit.routing import Snapshot
from transit.timetable.formats import parse_timetable

# feed: (file, service days to ask on, windows in hours, examples)
FEEDS = {
    "caltrain": (
        "gtfs/caltrain_gtfs_2017-07-24.zip",
        # a Sunday (the Tamien shuttle), a Tuesday, the autumn and spring clock changes, the
        # Saturday before each, Christmas (a holiday timetable)
        ("2017-07-30", "2017-09-05", "2017-11-04", "2017-11-05", "2018-03-10", "2018-03-11",
         "2017-12-25"),
        (2, 6, 24),
        30,
    ),
    "seattle": (
        "gtfs/seattle_area_gtfs_2017-11-16.zip",
        ("2017-11-16", "2017-11-18", "2017-11-19", "2017-11-23"),  # Thursday, weekend, Thanksgiving
        (1, 2),
        6,
    ),
    "nyc": (
        "gtfs/nyc_subway_gtfs_2024-12.zip",
        ("2024-12-16", "2024-12-21", "2024-12-25"),
        (1, 2),
        4,
    ),
}
SOAK = os.environ.get("TRANSIT_REAL_FEED_EXAMPLES")


@functools.cache
def _feed(name: str) -> tuple[Snapshot, list[str], list[str]]:
    """The feed's snapshot, the stations some trip calls at, and its modes."""
    snap = Snapshot.from_feed(parse_timetable(SHARED_DATA / FEEDS[name][0]), 5)
    served = sorted({snap.city_names[int(c)] for c in snap.stop_city.tolist()})
    return snap, served, sorted(set(snap.service_mode))


@pytest.mark.parametrize("name", list(FEEDS))
def test_engine_agrees_with_reference_on_the_shared_feeds(name: str) -> None:
    _, days, windows, examples = FEEDS[name]

    @settings(
        max_examples=int(SOAK) if SOAK else examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def agree(data: st.DataObject) -> None:
        snap, served, modes = _feed(name)
        origin, destination = data.draw(
            st.lists(st.sampled_from(served), min_size=2, max_size=2, unique=True), label="cities"
        )
        zone = snap.city_tz[snap.city_index[origin]]
        day = dt.date.fromisoformat(data.draw(st.sampled_from(days), label="day"))
        clock = data.draw(st.integers(0, 24 * 60 - 1), label="minute of the day")
        when = dt.datetime.combine(day, dt.time(clock // 60, clock % 60), tzinfo=zone)
        chosen = data.draw(
            st.none() | st.sets(st.sampled_from(modes), min_size=1) if len(modes) > 1 else st.none(),
            label="modes",
        )
        params: dict[str, object] = {
            "origin": origin,
            "destination": destination,
            "when": when,
            "arrive_by": data.draw(st.booleans(), label="arrive by"),
            "modes": None if chosen is None else frozenset(chosen),
            "min_connection_minutes": data.draw(st.sampled_from([None, 0, 2, 5, 20]), label="mct"),
            "window_hours": data.draw(st.sampled_from(windows), label="window"),
            "max_transfers": data.draw(st.sampled_from([None, 0, 1, 3]), label="max transfers"),
        }
        answers = dict(_agree_with_reference(snap, params))
        event(f"options: {len(answers['options'])}")  # type: ignore[arg-type]

    agree()


def test_a_name_left_short_is_suggested_in_full() -> None:
    # QA finding: "Cathedral Pkwy" (the station is "Cathedral Pkwy (110 St)"), "110 St",
    # "San Jose" and "Tamien" were unknown with no "Did you mean".
    nyc, _, _ = _feed("nyc")
    assert nyc.close_cities("Cathedral Pkwy") == ("Cathedral Pkwy (110 St)",)
    assert set(nyc.close_cities("110 st")[:2]) == {"Cathedral Pkwy (110 St)",
                                                   "Central Park North (110 St)"}
    caltrain, _, _ = _feed("caltrain")
    for short in ("San Jose", "Tamien"):
        found = caltrain.close_cities(short)
        assert len(found) == 2 and all(name.startswith(short) for name in found), found
    assert caltrain.close_cities("Caltrain") == ()  # every station: too common to guess from
