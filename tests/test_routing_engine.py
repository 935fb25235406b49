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
from transit.routing import (
    CRITERIA,
    Query,
    QueryError,
    Snapshot,
    UnknownCity,
    engine,
    kernels,
    plan,
    planner,
)
from transit.routing.reference import reference_answer
from transit.routing.synthetic import national_feed
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    FeedTransfer,
)


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
    national.first_pool_sizes = (1, 1, 0)
    national.options_pool_sizes = (1, 1, 1)
    assert _answers(national) == expected
    assert national.pool_sizes != (1, 1, 1)
    assert national.first_pool_sizes[:2] != (1, 1)
    assert national.options_pool_sizes != (1, 1, 1)
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
    # Ride rows: every record once, run by run in stop order (following NEXT), flagged at
    # each run's end; boarding rows point at their record's ride row.
    ride = line.ride
    assert ride.ctypes.data % 64 == 0
    k = ride[:, kernels.RIDE_REC]
    assert sorted(k.tolist()) == list(range(len(rec)))
    last = (ride[:, kernels.RIDE_FLAGS] & 2) != 0
    assert (nxt[k[~last]] == k[1:][~last[:-1]]).all()
    assert (nxt[k[last]] == -1).all()
    assert (ride[:, kernels.RIDE_ARR] == rec[k, 1]).all()
    assert (ride[:, kernels.RIDE_DEP] == rec[k, 0]).all()
    assert (ride[:, kernels.RIDE_TO] == rec[k, 4]).all()
    assert (ride[:, kernels.RIDE_FLAGS] & 1 == (rec[k, 5] >> 1) & 1).all()
    assert (ride[:, kernels.RIDE_TO_CUM] == wide[k, kernels.TO_CUM]).all()
    assert (ride[:, kernels.RIDE_ZONE_ALIGHT] == wide[k, kernels.ZONE_ALIGHT]).all()
    board = line.boarding
    assert len(board) == len(line.dep_rec)
    assert (k[board[:, kernels.BOARD_RIDE]] == line.dep_rec).all()
    assert (board[:, kernels.BOARD_RUN] == rec[line.dep_rec, 2]).all()
    assert (board[:, kernels.BOARD_TRIP_FLAGS] == rec[line.dep_rec, 5]).all()
    assert (board[:, kernels.BOARD_ZONE] == wide[line.dep_rec, kernels.ZONE]).all()
    assert (board[:, kernels.BOARD_CUM] == wide[line.dep_rec, kernels.FROM_CUM]).all()
    assert (board[:, kernels.BOARD_ZONE_PART] == wide[line.dep_rec, kernels.ZONE_BOARD]).all()


def _stop(city: str, arrival: int | None, departure: int | None, fare: int | None = None) -> FeedStop:
    return FeedStop(city, arrival, departure, fare)


def _daily_feed(cities: str, rides: dict[str, list[list[FeedStop]]]) -> Feed:
    """Cities named by the letters of ``cities`` (UTC); per service number, its daily
    timetables' stops."""
    feed = Feed(source="test")
    for key in cities:
        feed.cities[key] = FeedCity(name=key, timezone="UTC")
    feed.calendars["daily"] = FeedCalendar()
    for number, timetables in rides.items():
        feed.services.append(FeedService(
            number=number, mode="train",
            timetables=[FeedTimetable(code=str(i), calendar="daily", stops=stops)
                        for i, stops in enumerate(timetables)],
        ))
    return feed


def test_cheapest_journey_may_pass_through_a_walk_into_its_origin() -> None:
    """When journeys had to start with a ride, the free one here left A, came back to A and
    walked on to B, and arriving by a deadline the search met that walk into its own end
    of the journey (a case the fare-ordered search once skipped: hypothesis found it).
    Now a journey may start with the walk: A to B on foot, then "on", free as well; it
    leaves later, which wins the tie arriving by, and ties leaving at a time."""
    feed = _daily_feed("ABCD", {
        "out": [[_stop("A", None, 10 * 3600), _stop("D", 10 * 3600 + 1800, None, 0)]],
        "back": [[_stop("D", None, 11 * 3600), _stop("A", 11 * 3600 + 1800, None, 0)]],
        "on": [[_stop("B", None, 12 * 3600), _stop("C", 12 * 3600 + 1800, None, 0)]],
        "direct": [[_stop("A", None, 9 * 3600), _stop("C", 9 * 3600 + 1800, None, 500)]],
    })
    feed.transfers.append(FeedTransfer("A", "B", 0))
    snap = Snapshot.from_feed(feed, 0)
    day = dt.datetime(2025, 3, 5)
    for query in (
        Query("A", "C", depart=day, criterion="cheapest", window_hours=24),
        Query("A", "C", arrive_by=day + dt.timedelta(hours=13), criterion="cheapest",
              window_hours=24),
    ):
        result = plan(snap, query)
        services = [[leg.service for leg in it.legs] for it in result.itineraries]
        assert services == [["", "on"]] or (query.arrive_by is None and services == [
            ["out", "back", "on"]
        ])
        assert result.itineraries[0].fare_cents == 0
        # The reference gives the time the criterion ties on: departure when arriving by.
        it = result.itineraries[0]
        ours = it.departure_seconds if query.arrive_by else it.arrival_seconds
        theirs = [(o.fare, o.departure if query.arrive_by else o.arrival)
                  for o in reference_answer(snap, query)]
        assert theirs == [(0, ours)]


def test_options_keep_the_labels_no_ready_one_beats() -> None:
    """Labels at B: dear in one ride (ready 08:30), cheap in two (08:45) and cheap in one
    (09:30). From 10:00, when all are ready, the first is useless (the scan drops it from
    its bag) and the other two each lead to an answer; a later dear one (10:30) stays
    covered. Hand-worked: the Pareto set holds both journeys through B and the slow
    direct one."""
    h = 3600
    feed = _daily_feed("ABCD", {
        "fast": [[_stop("A", None, 8 * h), _stop("B", 8 * h + 1800, None, 900)]],
        "hop1": [[_stop("A", None, 6 * h), _stop("D", 6 * h + 1800, None, 20)]],
        "hop2": [[_stop("D", None, 7 * h), _stop("B", 8 * h + 2700, None, 30)]],
        "slow": [[_stop("A", None, 8 * h), _stop("B", 9 * h + 1800, None, 100)]],
        "mid": [[_stop("A", None, 9 * h), _stop("B", 10 * h + 1800, None, 500)]],
        "on": [[_stop("B", None, t * h), _stop("C", (t + 1) * h, None, 100)] for t in (10, 11)],
        "direct": [[_stop("A", None, 7 * h + 1800), _stop("C", 13 * h, None, 150)]],
    })
    snap = Snapshot.from_feed(feed, 0)
    day = dt.datetime(2025, 3, 5)
    result = plan(snap, Query("A", "C", depart=day + dt.timedelta(hours=5), criterion="options",
                              window_hours=24))
    assert [
        ([leg.service for leg in it.legs], it.arrival.hour, it.fare_cents, it.transfers)
        for it in result.itineraries
    ] == [
        (["hop1", "hop2", "on"], 11, 150, 2),
        (["slow", "on"], 11, 200, 1),
        (["direct"], 13, 150, 0),
    ]
    # Arriving by 14:00, seen backwards: as the reference says.
    query = Query("A", "C", arrive_by=day + dt.timedelta(hours=14), criterion="options",
                  window_hours=24)
    ours = sorted((it.departure_seconds, it.fare_cents, it.transfers)
                  for it in plan(snap, query).itineraries)
    theirs = sorted((o.departure, o.fare, o.transfers) for o in reference_answer(snap, query))
    assert ours == theirs and len(ours) >= 3


def test_a_later_run_that_overtakes_an_earlier_one_is_still_taken() -> None:
    """Runs of one pattern are interchangeable but for their times, so a search boards only
    the first it can catch; an express that leaves later but overtakes the stopping train
    (same stops, same fares) must not be taken for a later run of the same pattern.
    Hand-worked: from A at 07:00 the express arrives at C at 10:00 and the stopping train,
    leaving first, at 12:00; the 09:00 stopping train arrives at 13:00."""
    h = 3600
    feed = _daily_feed("ABC", {
        "T": [
            [_stop("A", None, 8 * h), _stop("B", 10 * h, 10 * h, 100), _stop("C", 12 * h, None, 100)],
            [_stop("A", None, 8 * h + 1800), _stop("B", 9 * h, 9 * h, 100),
             _stop("C", 10 * h, None, 100)],
            [_stop("A", None, 9 * h), _stop("B", 11 * h, 11 * h, 100), _stop("C", 13 * h, None, 100)],
        ],
    })
    snap = Snapshot.from_feed(feed, 0)
    day = dt.datetime(2025, 3, 5)
    line = snap.timeline(snap.forward, *(
        int(dt.datetime(2025, 3, 5, hour, tzinfo=dt.UTC).timestamp()) for hour in (0, 23)
    ))
    board = line.boarding
    rows = {
        (line.dep_time[i] - 86400 * (line.dep_time[i] // 86400), int(line.rec[line.dep_rec[i], 3])):
        int(board[i, kernels.BOARD_PATTERN])
        for i in range(len(board))
        if dt.datetime.fromtimestamp(int(line.dep_time[i] + line.base), dt.UTC).date()
        == day.date()
    }
    a = snap.city_index["A"]
    # The 08:00 and 09:00 stopping trains never overtake: one pattern; the express another.
    assert rows[(8 * h, a)] == rows[(9 * h, a)] != rows[(8 * h + 1800, a)]
    assert all(p >= 0 for p in rows.values())
    for criterion in CRITERIA:
        result = plan(snap, Query("A", "C", depart=day + dt.timedelta(hours=7),
                                  criterion=criterion, window_hours=24))
        assert result.itineraries[0].arrival.hour == 10, criterion
        assert result.itineraries[0].fare_cents == 200
    options = plan(snap, Query("A", "C", arrive_by=day + dt.timedelta(hours=12, minutes=30),
                               criterion="options", window_hours=24))
    assert [(it.departure.hour, it.departure.minute) for it in options.itineraries] == [(8, 30)]


@pytest.mark.parametrize("reverse", [False, True])
def test_latest_departure_scan_stops_early_with_a_bound_that_still_holds(
    national: Snapshot, reverse: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped once it has reached a share of the cities it can reach, the scan gives every
    city a latest departure no earlier than the full scan's (a bound), the same one for
    those reached by then, and none for its own origin; waiting for every city, the same
    bounds as the full scan."""
    direction = national.backward if reverse else national.forward
    start = int(dt.datetime(2025, 3, 5, 6, tzinfo=dt.UTC).timestamp())
    if reverse:
        start = -start - 86400
    end = start + 86400
    line = national.timeline(direction, start, end)
    assert line.forward_in_time

    def bounds_against_full_scan() -> tuple[np.ndarray, np.ndarray]:
        """Per sampled origin, the stopped scan's bounds and the full scan's, origin left out."""
        stopped, full = [], []
        for origin in range(0, len(national.city_names), 29):
            search = engine.Search(national, direction, line, origin, -1, start, end,
                                   national.min_connection(None), None)
            reach = kernels.boarding_reach(*search._common(), np.zeros(1, bool), 0)[1]
            _, latest = engine.arrival_and_latest(search)
            assert latest[origin] == kernels.INF
            others = np.arange(len(latest)) != origin
            stopped.append(latest[others])
            full.append(np.where(reach < kernels.INF, -(reach + line.base), -kernels.INF)[others])
        return np.concatenate(stopped), np.concatenate(full)

    stopped, full = bounds_against_full_scan()
    assert (stopped >= full).all()
    assert (stopped == full).sum() >= engine.LATEST_STOP_SHARE * len(full)
    monkeypatch.setattr(engine, "LATEST_STOP_SHARE", 1.0)
    stopped, full = bounds_against_full_scan()
    assert (stopped == full).all()


def test_a_city_may_be_named_by_its_code_or_in_any_case() -> None:
    feed = Feed(source="test")
    feed.cities["b"] = FeedCity(name="Beijing", code="PEK", timezone="Asia/Shanghai")
    feed.cities["s"] = FeedCity(name="Shanghai", code="SHA", timezone="Asia/Shanghai")
    feed.calendars["daily"] = FeedCalendar()
    feed.services.append(FeedService(number="G1", mode="train", timetables=[FeedTimetable(
        code="1", calendar="daily",
        stops=[_stop("b", None, 8 * 3600), _stop("s", 13 * 3600, None, 500)],
    )]))
    snap = Snapshot.from_feed(feed, 0)
    assert [snap.find_city(t) for t in ("Beijing", "beijing", "PEK", "pek ", "SHA", "Nowhere")] == [
        0, 0, 0, 0, 1, None
    ]
    day = dt.datetime(2025, 3, 5, 7)
    by_name = plan(snap, Query("Beijing", "Shanghai", depart=day))
    by_code = plan(snap, Query("pek", "SHA", depart=day))
    assert by_code.itineraries == by_name.itineraries and by_name.itineraries
    assert by_code.itineraries[0].legs[0].origin == "Beijing"  # shown by its name
    with pytest.raises(QueryError):
        plan(snap, Query("PEK", "beijing", depart=day))  # the same city twice
    with pytest.raises(UnknownCity):
        plan(snap, Query("PEKING", "SHA", depart=day))
    # Typed in a Chinese keyboard's full-width mode (letters and spaces): the same city.
    assert [snap.find_city(t) for t in ("ＰＥＫ", "ｐｅｋ\u3000", "Ｂｅｉｊｉｎｇ", "ＳＨＡ")] == [0, 0, 0, 1]
    assert plan(snap, Query("ＰＥＫ", "Ｓｈａｎｇｈａｉ", depart=day)).itineraries == by_name.itineraries
    with pytest.raises(UnknownCity) as slip:
        plan(snap, Query("Ｂｅｉｊｉｍｇ", "SHA", depart=day))
    assert slip.value.close == ("Beijing",)


def test_a_code_wins_over_another_city_s_name_in_another_case() -> None:
    """Every door refuses such a pair now; a database that still holds one gives the code
    its city (a city named "pek" once took Beijing's code PEK), the exact name its own."""
    feed = Feed(source="test")
    feed.cities["b"] = FeedCity(name="Beijing", code="PEK", timezone="Asia/Shanghai")
    feed.cities["p"] = FeedCity(name="pek", timezone="Asia/Shanghai")
    snap = Snapshot.from_feed(feed, 0)
    assert [snap.find_city(t) for t in ("PEK", "Pek", "pek")] == [0, 0, 1]


@pytest.mark.parametrize("criterion", ["fastest", "cheapest", "transfers", "options"])
def test_arrive_by_proposes_nothing_that_left_before_not_before(criterion: str) -> None:
    """A cheap slow train every hour from 06:00 to 09:00 and a dear fast one at 11:00. By
    20:00, asked at 09:30: the slow trains have left, so neither the cheapest nor any option
    may use them; the answer is the one the window from 09:30 gives."""
    h = 3600
    feed = _daily_feed("AB", {
        "slow": [[_stop("A", None, t * h), _stop("B", (t + 6) * h, None, 100)]
                 for t in range(6, 10)],
        "fast": [[_stop("A", None, 11 * h), _stop("B", 12 * h, None, 900)]],
    })
    snap = Snapshot.from_feed(feed, 0)
    deadline = dt.datetime(2025, 3, 5, 20)
    asked = dt.datetime(2025, 3, 5, 9, 30, tzinfo=dt.UTC)
    clipped = plan(snap, Query("A", "B", arrive_by=deadline, criterion=criterion,
                               not_before=asked))
    assert clipped.itineraries
    assert all(it.departure_seconds >= asked.timestamp() for it in clipped.itineraries)
    # The same as a window that starts then, which the reference checks elsewhere.
    windowed = plan(snap, Query("A", "B", arrive_by=deadline, criterion=criterion,
                                window_hours=10.5))
    assert clipped.itineraries == windowed.itineraries
    if criterion == "cheapest":
        whole = plan(snap, Query("A", "B", arrive_by=deadline, criterion=criterion))
        assert whole.itineraries[0].departure_seconds < asked.timestamp()
    # A deadline already past is answered as asked.
    past = plan(snap, Query("A", "B", arrive_by=deadline, criterion=criterion,
                            not_before=asked + dt.timedelta(days=1)))
    assert past.itineraries == plan(snap, Query("A", "B", arrive_by=deadline,
                                                criterion=criterion)).itineraries


def test_arrive_by_says_when_nothing_left_from_now_arrives_in_time() -> None:
    h = 3600
    feed = _daily_feed("AB", {"slow": [[_stop("A", None, 6 * h), _stop("B", 12 * h, None, 100)]]})
    snap = Snapshot.from_feed(feed, 0)
    result = plan(snap, Query("A", "B", arrive_by=dt.datetime(2025, 3, 5, 20),
                              not_before=dt.datetime(2025, 3, 5, 9, 30, tzinfo=dt.UTC)))
    assert result.itineraries == []
    assert result.message == (
        "No journey leaving A from now (2025-03-05 09:30) reaches B by 2025-03-05 20:00 "
        "(local times)."
    )


def test_no_transfer_allowed_is_said_in_words() -> None:
    h = 3600
    feed = _daily_feed("ABC", {
        "one": [[_stop("A", None, 6 * h), _stop("B", 7 * h, None, 100)]],
        "two": [[_stop("B", None, 8 * h), _stop("C", 9 * h, None, 100)]],
    })
    snap = Snapshot.from_feed(feed, 0)
    result = plan(snap, Query("A", "C", depart=dt.datetime(2025, 3, 5), max_transfers=0))
    assert result.message == "C cannot be reached from A within the 48-hour window without a transfer."


def test_earlier_and_later_lead_to_another_answer_by_any_criterion() -> None:
    """Asked for the cheapest at 12:00, the answer is the cheap 13:30. The journey before
    the fastest leaves at 11:00, and the cheapest from 11:00 is still the 13:30: "Earlier"
    showed the same journey again, and again. It now leads to the cheap 08:30."""
    from transit.routing.neighbours import neighbours

    h = 3600
    feed = _daily_feed("AB", {
        "hourly": [[_stop("A", None, t * h), _stop("B", (t + 1) * h, None, 100)]
                   for t in range(6, 14)],
        "cheap": [[_stop("A", None, t), _stop("B", t + h, None, 10)]
                  for t in (8 * h + 1800, 13 * h + 1800)],
    })
    snap = Snapshot.from_feed(feed, 0)
    day = dt.datetime(2025, 3, 5)
    leave = Query("A", "B", depart=day + dt.timedelta(hours=12), criterion="cheapest")
    shown = plan(snap, leave)
    assert shown.itineraries[0].departure.hour == 13
    earlier, later = neighbours(snap, leave, shown)
    assert earlier == (day + dt.timedelta(hours=8, minutes=30)).replace(tzinfo=dt.UTC)
    for when in (earlier, later):
        again = plan(snap, replace(leave, depart=when)).itineraries[0]
        assert again.departure != shown.itineraries[0].departure
    arrive = Query("A", "B", arrive_by=day + dt.timedelta(hours=10), criterion="cheapest")
    shown = plan(snap, arrive)
    for when in neighbours(snap, arrive, shown):
        if when is not None:
            again = plan(snap, replace(arrive, arrive_by=when)).itineraries
            assert [j.departure for j in again] != [j.departure for j in shown.itineraries]


def test_earlier_and_later_journeys_are_the_neighbours_of_the_answer() -> None:
    from transit.routing.neighbours import neighbours

    h = 3600
    feed = _daily_feed("AB", {
        "hourly": [[_stop("A", None, t * h), _stop("B", (t + 1) * h, None, 100)]
                   for t in range(6, 14)],
    })
    snap = Snapshot.from_feed(feed, 0)
    day = dt.datetime(2025, 3, 5)

    def at(hour: int, days: int = 0) -> dt.datetime:
        return (day + dt.timedelta(days=days, hours=hour)).replace(tzinfo=dt.UTC)

    for criterion in ("fastest", "cheapest", "options"):
        leave = Query("A", "B", depart=day + dt.timedelta(hours=9, minutes=30),
                      criterion=criterion)
        earlier, later = neighbours(snap, leave, plan(snap, leave))
        assert (earlier, later) == (at(9), at(11))
        # Asking again with them finds the journeys just before and after.
        for when, hour in ((earlier, 9), (later, 11)):
            again = plan(snap, replace(leave, depart=when, criterion="fastest"))
            assert again.itineraries[0].departure == at(hour)
        arrive = Query("A", "B", arrive_by=day + dt.timedelta(hours=15), criterion=criterion)
        earlier, later = neighbours(snap, arrive, plan(snap, arrive))
        # By 15:00 the 13:00 (arriving 14:00); before it the 12:00, after it the next
        # morning's 06:00.
        assert (earlier, later) == (at(13), at(7, days=1))
    # The first of the day has none before it; the window bounds the next one too (the
    # 07:00 arrives after 06:01 + 1.5 hours).
    lone = Query("A", "B", depart=day + dt.timedelta(hours=6), window_hours=1.5)
    assert neighbours(snap, lone, plan(snap, lone)) == (None, None)
    # Nothing found, nothing around it; nothing earlier than not_before (now).
    empty = Query("B", "A", depart=day)
    assert neighbours(snap, empty, plan(snap, empty)) == (None, None)
    asked = Query("A", "B", depart=day + dt.timedelta(hours=9, minutes=30),
                  not_before=at(9, days=0) + dt.timedelta(minutes=1))
    assert neighbours(snap, asked, plan(snap, asked))[0] is None



def test_options_fall_back_to_the_scan_where_fares_fall_below_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fare-ordered search assumes no ride makes a journey cheaper, so a snapshot with a
    fare below zero answers options with the connection scan. Importers refuse such fares,
    but a snapshot may be built from any feed: the scan must be the one that answers, and
    as the reference does. Hand-worked: the fast direct ride (fare 300, 10:00) and the slow
    two-ride journey through C (100 - 40 = 60, 11:00) are both Pareto-optimal."""
    h = 3600
    feed = _daily_feed("ABC", {
        "direct": [[_stop("A", None, 9 * h), _stop("B", 10 * h, None, 300)]],
        "first": [[_stop("A", None, 8 * h), _stop("C", 9 * h, None, 100)]],
        "second": [[_stop("C", None, 10 * h), _stop("B", 11 * h, None, -40)]],
    })
    snap = Snapshot.from_feed(feed, 0)
    assert snap.negative_fares
    answered_by: list[str] = []
    first, scan = planner.pareto_first, planner.pareto_scan

    def spy_first(*args: object, **kwargs: object) -> object:
        found = first(*args, **kwargs)  # type: ignore[arg-type]
        answered_by.append("first" if found is not None else "none")
        return found

    def spy_scan(*args: object, **kwargs: object) -> object:
        answered_by.append("scan")
        return scan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(planner, "pareto_first", spy_first)
    monkeypatch.setattr(planner, "pareto_scan", spy_scan)
    day = dt.datetime(2025, 3, 5)
    for query in (
        Query("A", "B", depart=day + dt.timedelta(hours=7), criterion="options", window_hours=24),
        Query("A", "B", arrive_by=day + dt.timedelta(hours=12), criterion="options",
              window_hours=24),
    ):
        answered_by.clear()
        by = query.arrive_by is not None  # the reference gives the time the criterion weighs
        ours = [(it.departure_seconds if by else it.arrival_seconds, it.fare_cents, it.transfers)
                for it in plan(snap, query).itineraries]
        assert answered_by == ["none", "scan"]
        theirs = [(o.departure if by else o.arrival, o.fare, o.transfers)
                  for o in reference_answer(snap, query)]
        assert sorted(ours) == sorted(theirs)
        assert sorted((fare, rides) for _, fare, rides in ours) == [(60, 1), (300, 0)]
