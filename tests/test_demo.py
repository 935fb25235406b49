"""The demo network: size, realism, invariants, determinism, loading and the CLI."""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transit.demo import (
    DemoAlreadyLoaded,
    DemoRun,
    build_demo_feed,
    build_demo_history,
    demo_source,
    seed_demo_network,
)
from transit.models import ALL_DAYS, City, Service, Stop, Timetable, TripRecord
from transit.timetable.feed import Feed, FeedService

SEED = 2026
ANCHOR = dt.date(2026, 11, 27)
TRAIN_CLASSES = "GDZTK"


def km_between(feed: Feed, a: str, b: str) -> float:
    """Great-circle distance, written here independently of the generator."""
    ca, cb = feed.cities[a], feed.cities[b]
    assert ca.latitude is not None and ca.longitude is not None
    assert cb.latitude is not None and cb.longitude is not None
    p1, p2 = math.radians(ca.latitude), math.radians(cb.latitude)
    dlat, dlon = p2 - p1, math.radians(cb.longitude - ca.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def trains(feed: Feed) -> list[FeedService]:
    return [s for s in feed.services if s.mode == "train"]


def flights(feed: Feed) -> list[FeedService]:
    return [s for s in feed.services if s.mode == "flight"]


@pytest.fixture(scope="module")
def feed() -> Feed:
    return build_demo_feed(SEED)


@pytest.fixture(scope="module")
def history(feed: Feed) -> list[DemoRun]:
    return build_demo_history(feed, SEED, ANCHOR)


# --- size and realism -----------------------------------------------------------------------------


def test_counts(feed: Feed) -> None:
    assert len(feed.cities) >= 40
    by_class = Counter(s.number[0] for s in trains(feed))
    assert sum(by_class.values()) >= 300
    assert set(by_class) == set(TRAIN_CLASSES)
    assert all(re.fullmatch(r"[GDZTK]\d{1,4}", s.number) for s in trains(feed))
    assert len(flights(feed)) >= 150
    assert all(re.fullmatch(r"[A-Z0-9]{2}\d{4}", s.number) for s in flights(feed))
    assert {s.operator for s in flights(feed)} >= {"中国国际航空", "中国东方航空", "中国南方航空"}
    assert len({s.key for s in feed.services}) == len(feed.services)
    # The busiest trunk route is flown both ways, several times a day.
    names = Counter(s.name for s in flights(feed))
    assert names["北京—上海"] >= 2 and names["上海—北京"] >= 2


def test_cities_are_real_chinese_cities(feed: Feed) -> None:
    names = {c.name: c for c in feed.cities.values()}
    for name, (lat, lon) in {
        "北京": (39.90, 116.40), "上海": (31.23, 121.47), "广州": (23.13, 113.26),
        "成都": (30.57, 104.07), "乌鲁木齐": (43.83, 87.62), "哈尔滨": (45.80, 126.53),
    }.items():
        assert names[name].latitude == pytest.approx(lat, abs=0.1)
        assert names[name].longitude == pytest.approx(lon, abs=0.1)
    codes = [c.code for c in feed.cities.values()]
    assert len(set(codes)) == len(codes)
    for city in feed.cities.values():
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", city.name)
        assert city.timezone == "Asia/Shanghai"
        assert city.latitude is not None and 18 <= city.latitude <= 54
        assert city.longitude is not None and 73 <= city.longitude <= 135
        assert city.min_connection_seconds in (600, 900, 1200)
    assert names["北京"].min_connection_seconds == 20 * 60


def test_times_increase_along_every_service(feed: Feed) -> None:
    for service in feed.services:
        for timetable in service.timetables:
            stops = timetable.stops
            assert len(stops) >= 2
            assert stops[0].arrival is None and stops[0].departure is not None
            assert stops[-1].departure is None and stops[-1].arrival is not None
            clock = stops[0].departure
            for stop in stops[1:]:
                assert stop.arrival is not None and stop.arrival > clock, service.number
                if stop.departure is not None:
                    assert stop.arrival <= stop.departure
                    clock = stop.departure
            assert len({s.city for s in stops}) == len(stops)


def test_overnight_trains_run_past_midnight(feed: Feed) -> None:
    overnight = [
        s
        for s in trains(feed)
        if (t := s.timetables[0]).stops[0].departure >= 18 * 3600  # type: ignore[operator]
        and 86_400 + 5 * 3600 <= (t.stops[-1].arrival or 0) <= 86_400 + 11 * 3600
    ]
    assert len(overnight) >= 20
    assert {s.number[0] for s in overnight} >= {"D", "Z", "T", "K"}
    # Multi-day runs (Tibet, Xinjiang) keep counting past 48:00.
    assert any((s.timetables[0].stops[-1].arrival or 0) > 2 * 86_400 for s in trains(feed))


def test_some_services_do_not_run_every_day(feed: Feed) -> None:
    calendars = feed.calendars
    partial = [
        s
        for s in feed.services
        for t in s.timetables
        if calendars[t.calendar].weekdays != ALL_DAYS
        or calendars[t.calendar].removed
        or calendars[t.calendar].added
        or (calendars[t.calendar].end_date or dt.date.max) < dt.date(2028, 1, 1)
    ]
    assert len(partial) >= 30
    used = {t.calendar for s in feed.services for t in s.timetables}
    kinds = {
        "weekdays only": lambda c: c.weekdays == 0b0011111,
        "weekends only": lambda c: c.weekdays == 0b1110000,
        "seasonal": lambda c: c.end_date is not None and c.end_date < dt.date(2028, 1, 1),
        "holiday removals": lambda c: bool(c.removed),
    }
    for kind, test in kinds.items():
        assert any(test(calendars[key]) for key in used), kind
    # A weekend timetable: two variants of one number, on days that never overlap.
    split = [s for s in feed.services if len(s.timetables) == 2]
    assert split
    for service in split:
        a, b = (calendars[t.calendar] for t in service.timetables)
        day = dt.date(2026, 1, 1)
        while day <= dt.date(2028, 12, 31):
            assert not (a.runs_on(day) and b.runs_on(day))
            day += dt.timedelta(days=1)


def test_services_run_around_today_and_in_the_coming_months(feed: Feed) -> None:
    for day in (dt.date(2026, 11, 27), dt.date(2027, 1, 15), dt.date(2027, 4, 20)):
        running = [
            s
            for s in feed.services
            if any(feed.calendars[t.calendar].runs_on(day) for t in s.timetables)
        ]
        assert len(running) >= 0.8 * len(feed.services), day


def test_fares_are_positive_and_follow_per_km_rates(feed: Feed) -> None:
    per_km: dict[str, list[float]] = defaultdict(list)
    for service in feed.services:
        kind = "flight" if service.mode == "flight" else service.number[0]
        for timetable in service.timetables:
            stops = timetable.stops
            assert all(s.fare_cents is not None and s.fare_cents > 0 for s in stops[1:])
            cents = sum(s.fare_cents or 0 for s in stops[1:])
            km = sum(km_between(feed, a.city, b.city) for a, b in zip(stops, stops[1:], strict=False))
            per_km[kind].append(cents / 100 / km)
        for (origin, destination), cents in service.fares.items():
            stops = service.timetables[0].stops
            cities = [s.city for s in stops]
            i, j = cities.index(origin), cities.index(destination)
            assert i < j and cents > 0
            # Long-distance prices taper: never dearer than the legs added up.
            assert cents < sum(s.fare_cents or 0 for s in stops[i + 1 : j + 1])
    bounds = {
        "G": (0.4, 0.8), "D": (0.25, 0.65), "Z": (0.15, 0.35), "T": (0.12, 0.3),
        "K": (0.1, 0.3), "flight": (0.55, 1.0),
    }
    for kind, (low, high) in bounds.items():
        median = statistics.median(per_km[kind])
        assert low <= median <= high, (kind, median)


def test_leg_speeds_are_plausible_for_each_class(feed: Feed) -> None:
    # km/h over the great-circle distance between consecutive calls.
    bounds = {"G": (150, 340), "D": (100, 260), "Z": (60, 150), "T": (55, 130), "K": (45, 120)}
    ferry = {("湛江", "海口"), ("海口", "湛江")}
    averages: dict[str, list[float]] = defaultdict(list)
    for service in trains(feed):
        low, high = bounds[service.number[0]]
        for timetable in service.timetables:
            stops = timetable.stops
            for a, b in zip(stops, stops[1:], strict=False):
                hours = ((b.arrival or 0) - (a.departure or 0)) / 3600
                speed = km_between(feed, a.city, b.city) / hours
                names = (feed.cities[a.city].name, feed.cities[b.city].name)
                if names in ferry:  # the Qiongzhou Strait train ferry
                    assert 15 <= speed <= 60
                else:
                    assert low <= speed <= high, (service.number, names, speed)
            km = sum(km_between(feed, a.city, b.city) for a, b in zip(stops, stops[1:], strict=False))
            averages[service.number[0]].append(
                km / (((stops[-1].arrival or 0) - (stops[0].departure or 0)) / 3600)
            )
    assert 220 <= statistics.median(averages["G"]) <= 300
    assert 70 <= statistics.median(averages["K"]) <= 110
    for service in flights(feed):
        stops = service.timetables[0].stops
        km = km_between(feed, stops[0].city, stops[1].city)
        assert km >= 600
        block = ((stops[1].arrival or 0) - (stops[0].departure or 0)) / 60
        assert block == pytest.approx(km / 750 * 60 + 30, rel=0.15, abs=10)


def graph(feed: Feed) -> nx.DiGraph:
    g: nx.DiGraph = nx.DiGraph()
    g.add_nodes_from(feed.cities)
    for service in feed.services:
        for timetable in service.timetables:
            for a, b in zip(timetable.stops, timetable.stops[1:], strict=False):
                g.add_edge(a.city, b.city)
    return g


def test_every_city_is_reachable_from_every_other(feed: Feed) -> None:
    assert nx.is_strongly_connected(graph(feed))
    # Even on the daily services alone.
    daily = Feed(source="daily", cities=feed.cities, calendars=feed.calendars)
    daily.services = [
        s for s in feed.services if all(t.calendar == "daily" for t in s.timetables)
    ]
    assert nx.is_strongly_connected(graph(daily))


@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=0, max_value=2**31))
def test_invariants_hold_for_any_seed(seed: int) -> None:
    feed = build_demo_feed(seed)
    assert len(trains(feed)) >= 300 and len(flights(feed)) >= 150
    assert nx.is_strongly_connected(graph(feed))
    for service in feed.services:
        for timetable in service.timetables:
            times = [t for s in timetable.stops for t in (s.arrival, s.departure) if t is not None]
            assert times == sorted(times)
            assert all((s.fare_cents or 0) > 0 for s in timetable.stops[1:])


def test_same_seed_same_feed_other_seed_other_feed(feed: Feed) -> None:
    assert build_demo_feed(SEED) == feed
    other = build_demo_feed(SEED + 1)
    assert other != feed
    assert other.cities == feed.cities  # same country, other services


# --- trip history ---------------------------------------------------------------------------------


def test_history_covers_ninety_days_of_each_service(feed: Feed, history: list[DemoRun]) -> None:
    window = [ANCHOR - dt.timedelta(days=n) for n in range(1, 91)]
    runs = Counter(run.service for run in history)
    for service in feed.services:
        expected = sum(
            1
            for t in service.timetables
            for day in window
            if feed.calendars[t.calendar].runs_on(day)
        )
        # Less the runs still under way when the anchor day starts (from its last days).
        assert 0 <= expected - runs[service.key] <= 2 * len(service.timetables)
        if all(t.calendar == "daily" for t in service.timetables):
            assert expected == 90
    over_by = dt.datetime.combine(ANCHOR, dt.time(), tzinfo=ZoneInfo("Asia/Shanghai"))
    over_by = over_by.astimezone(dt.UTC).replace(tzinfo=None)
    assert all(run.actual_arrival is None or run.actual_arrival <= over_by for run in history)
    assert len(history) < sum(  # some overnight runs of the last day were still going
        1 for service in feed.services for t in service.timetables for day in window
        if feed.calendars[t.calendar].runs_on(day)
    )
    assert min(run.service_date for run in history) == ANCHOR - dt.timedelta(days=90)
    assert max(run.service_date for run in history) == ANCHOR - dt.timedelta(days=1)
    assert len(history) >= 40_000


def test_history_times_are_utc(feed: Feed, history: list[DemoRun]) -> None:
    service = next(s for s in feed.services if s.number == "G1")
    first = service.timetables[0].stops[0]
    run = next(r for r in history if r.service == service.key)
    local = dt.datetime.combine(run.service_date, dt.time()) + dt.timedelta(seconds=first.departure or 0)
    assert run.scheduled_departure == local - dt.timedelta(hours=8)
    assert run.origin == feed.cities[first.city].name
    for run in history:
        assert run.scheduled_arrival > run.scheduled_departure
        if run.cancelled:
            assert run.actual_departure is None and run.actual_arrival is None
        else:
            assert run.actual_departure is not None and run.actual_arrival is not None
            assert run.actual_arrival > run.actual_departure


def delay_minutes(run: DemoRun) -> float:
    assert run.actual_arrival is not None
    return (run.actual_arrival - run.scheduled_arrival).total_seconds() / 60


def test_history_delays_are_realistic(feed: Feed, history: list[DemoRun]) -> None:
    mode = {s.key: ("flight" if s.mode == "flight" else s.number[0]) for s in feed.services}
    ran = [r for r in history if not r.cancelled]
    hsr = [delay_minutes(r) for r in ran if mode[r.service] in "GD"]
    conventional = [delay_minutes(r) for r in ran if mode[r.service] in "ZTK"]
    air = [delay_minutes(r) for r in ran if mode[r.service] == "flight"]
    # Skewed: most trains on time or a few minutes late, with a long tail.
    assert statistics.median(hsr) <= 1
    assert sum(d <= 5 for d in hsr) / len(hsr) >= 0.85
    assert max(hsr) >= 60
    assert statistics.mean(hsr) < statistics.mean(conventional) < statistics.mean(air)
    # Chinese airlines arrive within 15 minutes on 70-90% of flights.
    assert 0.1 <= sum(d > 15 for d in air) / len(air) <= 0.3
    assert max(air) >= 180
    # Fridays and Sundays are worse than midweek.
    by_day: dict[int, list[float]] = defaultdict(list)
    for run in ran:
        by_day[run.service_date.weekday()].append(delay_minutes(run))
    midweek = statistics.mean(by_day[1] + by_day[2] + by_day[3])
    assert statistics.mean(by_day[4] + by_day[6]) > midweek
    # About 1% of flights and 0.2% of trains cancelled.
    cancelled = Counter(
        (mode[r.service] == "flight", r.cancelled) for r in history
    )
    flight_rate = cancelled[(True, True)] / (cancelled[(True, True)] + cancelled[(True, False)])
    train_rate = cancelled[(False, True)] / (cancelled[(False, True)] + cancelled[(False, False)])
    assert 0.004 <= flight_rate <= 0.02
    assert 0.0005 <= train_rate <= 0.005


def test_northern_winter_brings_delays(feed: Feed) -> None:
    anchor = dt.date(2027, 2, 20)
    runs = build_demo_history(feed, SEED, anchor)
    north = {c.name for c in feed.cities.values() if (c.latitude or 0) >= 40}
    trains_north = {
        s.key
        for s in trains(feed)
        if any(feed.cities[stop.city].name in north for stop in s.timetables[0].stops)
    }
    winter: list[float] = []
    autumn: list[float] = []
    for run in runs:
        if run.service in trains_north and not run.cancelled:
            (winter if run.service_date.month in (12, 1, 2) else autumn).append(delay_minutes(run))
    assert autumn and winter
    assert statistics.mean(winter) > statistics.mean(autumn)


def test_history_is_deterministic(feed: Feed, history: list[DemoRun]) -> None:
    assert build_demo_history(feed, SEED, ANCHOR) == history
    assert build_demo_history(feed, SEED, ANCHOR + dt.timedelta(days=1)) != history


# --- the database and the CLI ---------------------------------------------------------------------


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_seed_twice_does_not_duplicate(session: Session, feed: Feed, history: list[DemoRun]) -> None:
    report = seed_demo_network(session, SEED, anchor=ANCHOR)
    session.commit()
    assert report.startswith(f"Loaded the demo network (seed {SEED})")
    assert f"{len(history):,} past runs" in report
    counts = {m: count(session, m) for m in (City, Service, Timetable, Stop, TripRecord)}
    assert counts[City] == len(feed.cities)
    assert counts[Service] == len(feed.services)
    assert counts[Stop] == feed.counts()["stops"]
    assert counts[TripRecord] == len(history)
    sources = set(session.scalars(select(TripRecord.source).distinct()))
    assert sources == {demo_source(SEED)}

    again = seed_demo_network(session, SEED, anchor=ANCHOR + dt.timedelta(days=3))
    session.commit()
    assert "already loaded" in again
    assert {m: count(session, m) for m in counts} == counts

    skipped = seed_demo_network(session, SEED + 1, only_if_empty=True)
    assert "not loaded" in skipped
    with pytest.raises(DemoAlreadyLoaded, match=f"seed {SEED}"):
        seed_demo_network(session, SEED + 1)
    assert {m: count(session, m) for m in counts} == counts


def test_seed_demo_command(runner, app) -> None:
    result = runner.invoke(args=["seed-demo", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "Loaded the demo network (seed 7)" in result.output
    again = runner.invoke(args=["seed-demo", "--seed", "7", "--if-empty"])
    assert again.exit_code == 0
    assert "not loaded" in again.output
    other = runner.invoke(args=["seed-demo", "--seed", "8"])
    assert other.exit_code != 0
    assert "seed 7" in other.output

    from transit.web.extensions import db

    with app.app_context():
        assert count(db.session, City) >= 40
        assert count(db.session, TripRecord) >= 40_000
