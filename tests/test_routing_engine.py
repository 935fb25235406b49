"""The compiled engine's own machinery: pools that grow, bounds that never overshoot.

Answers must not depend on how much room the scans start with, nor on whether the latest
departures are computed up front or only for large searches; the lower bounds the scans prune
with must never exceed what the reference finds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_routing_properties import BASE_DAY, feeds
from transit.routing import CRITERIA, Query, Snapshot, engine, kernels, plan
from transit.routing.reference import reference_answer
from transit.routing.synthetic import national_feed
from transit.timetable.feed import Feed


@pytest.fixture(scope="module")
def national() -> Snapshot:
    return Snapshot.from_feed(national_feed(1), 15)


Answer = tuple[list[tuple[int, int, int, int]], str]


def _answers(snap: Snapshot) -> list[Answer]:
    out: list[Answer] = []
    names = [snap.city_names[c] for c in (0, 17, 42, 99, 150, 230)]
    for origin, destination, hour in zip(names, reversed(names), (6, 9, 13, 17, 20, 7), strict=True):
        for criterion in CRITERIA:
            for arrive_by in (False, True):
                when = dt.datetime(2025, 3, 5, hour, 0)
                result = plan(
                    snap,
                    Query(
                        origin, destination, depart=None if arrive_by else when,
                        arrive_by=when + dt.timedelta(hours=20) if arrive_by else None,
                        criterion=criterion, window_hours=24,
                    ),
                )
                # Journeys that tie on every criterion may differ: compare the objectives.
                out.append(
                    (
                        [
                            (it.departure_seconds, it.arrival_seconds, it.fare_cents, it.transfers)
                            for it in result.itineraries
                        ],
                        result.message,
                    )
                )
    return out


def test_answers_do_not_depend_on_pool_sizes_or_probing(
    national: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _answers(national)
    assert sum(bool(journeys) for journeys, _ in expected) > len(expected) // 2
    # Tiny pools: every scan runs out of room and is run again with more.
    national.pool_sizes = (1, 1, 1)
    assert _answers(national) == expected
    assert national.pool_sizes != (1, 1, 1)
    # Every search counts as large: the latest departures are always computed first.
    monkeypatch.setattr(engine, "PROBE_TRIP_LABELS", 0)
    assert _answers(national) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds(), st.data())
def test_bounds_never_exceed_the_reference(feed: Feed, data: st.DataObject) -> None:
    """Fare and ride bounds from a city are at most the cheapest fare and fewest rides that
    the reference finds from there, and the time bound at most the earliest arrival's wait-free
    part: pruning with them can never drop the best journey."""
    snap = Snapshot.from_feed(feed, data.draw(st.sampled_from([0, 15])))
    names = list(snap.city_names)
    origin = data.draw(st.sampled_from(names))
    destination = data.draw(st.sampled_from([n for n in names if n != origin]))
    when = dt.datetime.combine(BASE_DAY, dt.time(data.draw(st.integers(0, 23))))
    fares, rides = snap.bounds(snap.forward, snap.city_index[destination])
    o = snap.city_index[origin]
    query = Query(origin, destination, depart=when, window_hours=72)
    cheapest = reference_answer(snap, Query(**{**query.__dict__, "criterion": "cheapest"}))
    fewest = reference_answer(snap, Query(**{**query.__dict__, "criterion": "transfers"}))
    assert bool(cheapest) == bool(fewest)
    if cheapest:
        assert fares[o] <= cheapest[0].fare
        assert rides[o] <= fewest[0].transfers + 1
        fastest = reference_answer(snap, Query(**{**query.__dict__, "criterion": "fastest"}))
        departure, arrival = fastest[0].departure, fastest[0].arrival
        assert departure is not None and arrival is not None
        timeline = snap.timeline(snap.forward, departure, arrival)
        times = snap.time_bounds(snap.forward, timeline, snap.city_index[destination])
        assert times[o] <= arrival - departure


def test_a_cap_keeps_exactly_the_journeys_within_it(national: Snapshot) -> None:
    """``pareto_scan(cap=...)`` finds the optimum when it lies within the cap, else nothing."""
    names = [national.city_names[c] for c in (3, 58, 121, 204, 277)]
    checked = 0
    for origin, destination in zip(names, reversed(names), strict=True):
        o, t = national.city_index[origin], national.city_index[destination]
        start = int(dt.datetime(2025, 3, 5, 7, tzinfo=dt.UTC).timestamp())
        end = start + 24 * 3600
        search = engine.Search(
            national, national.forward, national.timeline(national.forward, start, end), o, t,
            start, end, national.min_connection(None), None,
        )
        for objective, use_fare, use_rides, first in (
            (engine.BY_RIDES_THEN_ARRIVAL, False, True, 2),
            (engine.BY_FARE_THEN_ARRIVAL, True, False, 1),
        ):
            best = engine.pareto_scan(search, objective, use_fare, use_rides)
            assert len(best) == 1
            optimum = best[0][first]
            capped = engine.pareto_scan(search, objective, use_fare, use_rides, cap=optimum)
            assert [row[:3] for row in capped] == [row[:3] for row in best]
            assert engine.pareto_scan(search, objective, use_fare, use_rides, cap=optimum - 1) == []
            checked += 1
    assert checked == 10


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds(), st.data())
def test_zone_fare_index_of_every_ride_finds_its_fare(feed: Feed, data: st.DataObject) -> None:
    """The scans add a record's boarding and alighting parts of the zone-fare index: for any
    ride, in both directions, that must be the service's fare for (board city, alight city)
    in forward terms, or NO_ZONE_FARE where it has none."""
    # Some timetables stop at a city twice (a loop): the matrix is per city, like the fares.
    for service in feed.services:
        if service.fares and data.draw(st.booleans()):
            table = service.timetables[0]
            table.stops[-1] = replace(table.stops[-1], city=table.stops[0].city)
    snap = Snapshot.from_feed(feed)
    start = int(dt.datetime.combine(BASE_DAY, dt.time(), dt.UTC).timestamp())
    for direction in (snap.forward, snap.backward):
        lo, hi = (-start - 4 * 86400, -start) if direction.reverse else (start, start + 4 * 86400)
        wide = snap.timeline(direction, lo, hi).wide
        for board in np.nonzero(wide[:, kernels.ZONE] >= 0)[0].tolist():
            alight = board
            while alight >= 0:  # every later record of the run ends a ride from ``board``
                service = int(wide[board, kernels.ZONE])
                cities = (int(wide[board, kernels.FROM_CITY]), int(wide[alight, kernels.TO_CITY]))
                if direction.reverse:
                    cities = cities[::-1]
                want = (snap.service_od[service] or {}).get(cities, kernels.NO_ZONE_FARE)
                index = wide[board, kernels.ZONE_BOARD] + wide[alight, kernels.ZONE_ALIGHT]
                assert snap.zone_fares[index] == want
                alight = int(wide[alight, kernels.NEXT])


@pytest.mark.parametrize("reverse", [False, True])
def test_timeline_links_each_record_to_the_next_of_its_run(national: Snapshot, reverse: bool) -> None:
    direction = national.backward if reverse else national.forward
    start = int(dt.datetime(2025, 3, 3, 6, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())
    line = national.timeline(direction, -start - 86400 if reverse else start,
                             -start if reverse else start + 86400)
    rec, wide = line.rec, line.wide
    assert wide.ctypes.data % 64 == 0  # one cache line per row
    assert (wide[:, :kernels.RECORD_WIDTH] == rec).all()
    nxt = wide[:, kernels.NEXT]
    linked = np.nonzero(nxt >= 0)[0]
    following = nxt[linked]
    assert (following > linked).all()
    assert (rec[following, 2] == rec[linked, 2]).all()  # the same run
    step = -1 if reverse else 1
    pos = wide[:, kernels.FROM_POS]
    assert (pos[following] == pos[linked] + step).all()  # its next stop row
    # A run's last record in the range links nowhere: one per run.
    assert len(rec) - len(linked) == len(np.unique(rec[:, 2]))
    # Each city's departing records: those that may board there, in record order, each
    # linked to the next.
    for city in range(0, len(national.city_names), 37):
        rows = line.dep_rec[line.dep_start[city]:line.dep_start[city + 1]]
        expect = np.nonzero((rec[:, 3] == city) & (rec[:, 5] & 1 == 1))[0]
        assert rows.tolist() == expect.tolist()
        assert (line.dep_time[line.dep_start[city]:line.dep_start[city + 1]] == rec[rows, 0]).all()
        assert wide[rows, kernels.NEXT_DEP].tolist() == [*rows[1:].tolist(), -1][:len(rows)]
        assert (wide[rows[:-1], kernels.NEXT_DEP_TIME] == rec[rows[1:], 0]).all()
