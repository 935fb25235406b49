"""Seeded synthetic national networks for the routing benchmark.

A country of cities scattered over a 4,000 km square; train lines walk between nearby cities
(at least 100 km apart: stopping services with additive per-kilometre fares, some with zone
fares) and run in both directions through the day; flights link the largest cities with
one-leg fares. At scale 1 a weekday has about 100,000 connections, at scale 10 about
1,000,000: ten times the cities, lines and flights in the same country, so journeys keep
their length while the network gets ten times denser (``growth="denser"``, what the routing
benchmark asks). ``growth="frequent"`` grows it the other way: the same cities, lines and
flight routes at every scale, each run ``scale`` times as often (benchmarks/routing_scaling.py
compares the two). Same seed, same network.
"""

from __future__ import annotations

import math
import random

from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
)

WEEKDAYS = 0b0011111


GROWTHS = ("denser", "frequent")


def national_feed(scale: int = 1, seed: int = 2026, growth: str = "denser") -> Feed:
    """A synthetic national timetable of about ``scale`` x 100,000 connections a day, grown
    ``scale`` times denser (more cities, lines and flights in the same country) or more
    ``frequent`` (the same ones, each run ``scale`` times as often)."""
    if growth not in GROWTHS:
        raise ValueError(f"growth must be one of {', '.join(GROWTHS)}")
    rng = random.Random(seed)
    # Where runs grow more frequent, their times come from a generator of their own, so
    # that the cities and lines (drawn from ``rng``) stay the same at every scale.
    frequent = growth == "frequent"
    timing = random.Random(seed + 1) if frequent else rng
    more, runs = (1, scale) if frequent else (scale, 1)
    feed = Feed(source=f"national-{scale}x" + ("-frequent" if frequent else ""))
    feed.calendars["daily"] = FeedCalendar()
    feed.calendars["weekdays"] = FeedCalendar(weekdays=WEEKDAYS)
    n_cities = 300 * more
    side = 4000.0
    min_hop = 100.0  # km: lines keep long hops however dense the cities
    places = []
    for i in range(n_cities):
        x, y = rng.uniform(0, side), rng.uniform(0, side)
        key = f"n{i}"
        feed.cities[key] = FeedCity(
            name=f"City {i:05d}",
            code=f"C{i:05d}",
            timezone="Asia/Shanghai",
            min_connection_seconds=rng.choice([None, None, 300, 600, 1200]),
        )
        places.append((x, y))
    cell = 400.0
    grid: dict[tuple[int, int], list[int]] = {}
    for i, (x, y) in enumerate(places):
        grid.setdefault((int(x // cell), int(y // cell)), []).append(i)

    def near(i: int, visited: set[int]) -> int | None:
        x, y = places[i]
        gx, gy = int(x // cell), int(y // cell)
        best, best_d = None, 1e18
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((gx + dx, gy + dy), ()):
                    if j in visited:
                        continue
                    d = math.dist(places[i], places[j])
                    if d < min_hop:
                        continue
                    d *= rng.uniform(0.8, 1.6)
                    if d < best_d:
                        best, best_d = j, d
        return best

    n_lines = 245 * more
    for line in range(n_lines):
        start = rng.randrange(n_cities)
        route = [start]
        visited = {start}
        for _ in range(rng.randint(6, 18)):
            nxt = near(route[-1], visited)
            if nxt is None:
                break
            route.append(nxt)
            visited.add(nxt)
        if len(route) < 3:
            continue
        speed = rng.choice([120.0, 160.0, 250.0, 300.0])  # km/h
        per_km = {120.0: 20, 160.0: 30, 250.0: 45, 300.0: 50}[speed]  # cents per km
        kind = "G" if speed >= 250 else "K"
        zone_fares = rng.random() < 0.2
        trips_per_day = rng.randint(10, 24) * runs
        for direction, stops in (("", route), ("R", route[::-1])):
            service = FeedService(number=f"{kind}{line}{direction}", mode="train", operator="CR")
            hops = [
                max(300, int(math.dist(places[a], places[b]) * 1.2 / speed * 3600))
                for a, b in zip(stops, stops[1:], strict=False)
            ]
            legs = [
                int(math.dist(places[a], places[b]) * per_km)
                for a, b in zip(stops, stops[1:], strict=False)
            ]
            if zone_fares:
                # Zone fares: a discount on long rides (not additive).
                cum = [0]
                for fare in legs:
                    cum.append(cum[-1] + fare)
                for i in range(len(stops)):
                    for j in range(i + 2, len(stops)):
                        service.fares[(f"n{stops[i]}", f"n{stops[j]}")] = int(
                            (cum[j] - cum[i]) * 0.85
                        )
            first = rng.randint(5 * 3600, 8 * 3600)
            last = rng.randint(19 * 3600, 23 * 3600)
            step = (last - first) // max(1, trips_per_day - 1)
            for t in range(trips_per_day):
                clock = first + t * step + timing.randint(-300, 300) // runs
                timetable_stops = []
                for i, city in enumerate(stops):
                    arrival = None
                    if i:
                        clock += hops[i - 1]
                        arrival = clock
                    departure = None
                    if i < len(stops) - 1:
                        if i:
                            clock += timing.choice([60, 120, 180])
                        departure = clock
                    timetable_stops.append(
                        FeedStop(f"n{city}", arrival, departure, legs[i - 1] if i else None)
                    )
                service.timetables.append(
                    FeedTimetable(
                        code=str(t),
                        calendar="weekdays" if timing.random() < 0.15 else "daily",
                        stops=timetable_stops,
                    )
                )
            feed.services.append(service)
    hubs = rng.sample(range(n_cities), max(8, n_cities // 12))
    for f in range(900 * more):
        a, b = rng.sample(hubs, 2)
        km = math.dist(places[a], places[b])
        if km < 400:
            continue
        service = FeedService(number=f"F{f}", mode="flight", operator="AIR")
        duration = int((km / 750 + 0.75) * 3600)
        for t in range(rng.randint(1, 3) * runs):
            dep = timing.randint(6 * 3600, 22 * 3600)
            service.timetables.append(
                FeedTimetable(
                    code=str(t),
                    calendar="daily",
                    stops=[
                        FeedStop(f"n{a}", None, dep),
                        FeedStop(f"n{b}", dep + duration, None, int(km * 60 + 20000)),
                    ],
                )
            )
        feed.services.append(service)
    return feed
