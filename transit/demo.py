"""The demo network: a seeded, realistic Chinese network of trains and flights, with history.

``build_demo_feed(seed)`` draws services along the real corridors of ``transit.demo_data``:
G/D high-speed trains and Z/T/K conventional ones (overnight sleepers among them), with times
from each class's speed, dwell and braking, and fares from per-km rates; plus flights between
airports more than 600 km apart. ``build_demo_history`` draws about ninety days of past runs
with skewed, weather- and weekday-dependent delays and a few cancellations.
``seed_demo_network`` loads both into the database in the caller's transaction.

Everything comes from ``random.Random`` instances seeded from the arguments and walks lists in
a fixed order, so the same seed (and anchor date, for the history) always gives the same data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from transit.demo_data import (
    AIRLINES,
    AIRPORT_DELAY,
    CITIES,
    CONNECTION_MINUTES,
    CRUISE_BLOCK_KMH,
    CRUISE_KMH,
    DETOUR,
    DWELL_MINUTES,
    FARE_PER_KM,
    FERRY_LEGS,
    FERRY_SPEED_KMH,
    FLIGHT_FARE_PER_KM,
    FLIGHT_MIN_KM,
    FLIGHT_ROUTE_PAIRS,
    HOLIDAYS,
    LEG_DETOUR,
    LEG_SLOWDOWN,
    LINES,
    SPRING_FESTIVAL_DAYS,
    STOP_CHANCE,
    STOP_PENALTY_MINUTES,
    TRAIN_OPERATOR,
    VALID_FROM,
    VALID_TO,
    DemoCity,
    DemoLine,
)
from transit.models import ALL_DAYS, City, Service, TripRecord
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
)
from transit.timetable.loader import load_feed

TIMEZONE = "Asia/Shanghai"
HISTORY_DAYS = 90
_CITY = {city.key: city for city in CITIES}
TRUNK_WEIGHT = 64  # product of two airports' weights: Beijing-Shanghai is 100


class DemoAlreadyLoaded(Exception):
    """Another seed's demo network is in the database; a second one would clash with it."""


DEMO_SOURCE_PREFIX = "demo seed "


def demo_source(seed: int) -> str:
    """The ``source`` written on the demo's trip records: it tells a loaded demo apart."""
    return f"{DEMO_SOURCE_PREFIX}{seed}"


# --- geometry ---------------------------------------------------------------------------------


def great_circle_km(a: DemoCity, b: DemoCity) -> float:
    """Distance between two city centres over the earth's surface."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def track_km(a: str, b: str) -> float:
    """Length of the track between two adjacent cities of a line (km)."""
    factor = LEG_DETOUR.get(frozenset((a, b)), DETOUR)
    return great_circle_km(_CITY[a], _CITY[b]) * factor


def path_km(path: Sequence[str]) -> float:
    """Track length along consecutive cities of a line."""
    return sum(track_km(a, b) for a, b in pairwise(path))


def train_class(number: str) -> str:
    """G, D, Z, T or K: the letter a Chinese train number starts with."""
    return number[0]


# --- calendars --------------------------------------------------------------------------------


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    for n in range((last - first).days + 1):
        yield first + dt.timedelta(days=n)


def _holidays() -> list[dt.date]:
    return [day for first, last in HOLIDAYS for day in _days(first, last)]


def demo_calendars() -> dict[str, FeedCalendar]:
    """The demo's calendars, anchored to fixed dates so that the data is reproducible."""
    holidays = _holidays()
    mon_thu = 0b0001111
    fri_sun = 0b1110000

    def span(weekdays: int, name: str, **extra: Any) -> FeedCalendar:
        return FeedCalendar(weekdays, VALID_FROM, VALID_TO, name=name, **extra)

    def season(first: dt.date, last: dt.date, name: str) -> FeedCalendar:
        return FeedCalendar(ALL_DAYS, first, last, name=name)

    return {
        "daily": span(ALL_DAYS, "每日 daily"),
        "daily-except-spring-festival": span(
            ALL_DAYS, "每日，除夕与春节停运 daily except Spring Festival",
            removed=set(SPRING_FESTIVAL_DAYS),
        ),
        "weekdays": span(
            0b0011111, "工作日 Monday-Friday except holidays",
            removed={d for d in holidays if d.weekday() < 5},
        ),
        # The two halves of the week: a service with a weekend timetable uses both.
        "mon-thu": span(
            mon_thu, "周一至周四 Monday-Thursday except holidays",
            removed={d for d in holidays if d.weekday() < 4},
        ),
        "fri-sun": span(
            fri_sun, "周五至周日及节假日 Friday-Sunday and holidays",
            added={d for d in holidays if d.weekday() < 4},
        ),
        "alternate-days": FeedCalendar(
            0, VALID_FROM, VALID_TO, name="隔日开行 every other day",
            added=set(list(_days(VALID_FROM, VALID_TO))[::2]),
        ),
        "golden-week-2026": season(
            dt.date(2026, 9, 25), dt.date(2026, 10, 8), "国庆临客 National Day extras 2026"
        ),
        "winter-2026": season(dt.date(2026, 12, 1), dt.date(2027, 3, 10), "冬季 winter 2026-27"),
        "chunyun-2027": season(
            dt.date(2027, 1, 22), dt.date(2027, 3, 2), "春运临客 Spring Festival extras 2027"
        ),
        "summer-2027": season(dt.date(2027, 7, 1), dt.date(2027, 8, 31), "暑运 summer 2027"),
        "flights-1357": span(0b1010101, "航班 1357 Mon/Wed/Fri/Sun"),
        "flights-246": span(0b0101010, "航班 246 Tue/Thu/Sat"),
        "iata-winter-2026": season(
            dt.date(2026, 10, 25), dt.date(2027, 3, 27), "冬春航季 winter season 2026-27"
        ),
        "iata-summer-2027": season(
            dt.date(2027, 3, 28), dt.date(2027, 10, 30), "夏秋航季 summer season 2027"
        ),
    }


# --- trains -------------------------------------------------------------------------------------


class _Numbers:
    """Hands out train or flight numbers in pairs (odd one way, even the other), with gaps."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next: dict[str, int] = {"G": 1, "D": 1, "DS": 701, "Z": 1, "T": 1, "K": 101}
        self.used: set[str] = set()

    def pair(self, prefix: str, letter: str) -> tuple[str, str]:
        while True:
            odd = self.next[prefix]
            self.next[prefix] = odd + 2 + 2 * self.rng.randint(0, 2)
            first, second = f"{letter}{odd}", f"{letter}{odd + 1}"
            if first not in self.used and second not in self.used:
                self.used.update((first, second))
                return first, second


def _round_fare(cny: float, step: float = 0.5) -> int:
    """Cents, rounded to the ticket office's half yuan (never free)."""
    return max(int(step * 100), int(round(cny / step)) * int(step * 100))


def _tapered_fare(km: float, rate: float) -> float:
    """China Railway's distance taper: full rate to 500 km, 90% to 1000 km, 80% beyond."""
    return rate * (min(km, 500) + 0.9 * min(max(km - 500, 0), 500) + 0.8 * max(km - 1000, 0))


@dataclass
class _Pattern:
    """A train's path along its line and the positions on it where it calls."""

    path: list[str]
    calls: list[int]

    def reversed(self) -> _Pattern:
        last = len(self.path) - 1
        return _Pattern(self.path[::-1], [last - p for p in reversed(self.calls)])


def _pattern(line: DemoLine, cls: str, rng: random.Random, all_stations: bool) -> _Pattern:
    cities = list(line.cities)
    last = len(cities) - 1
    first_i, last_i = 0, last
    # Sleeper trains run end to end: the night is what they are for.
    if not all_stations and cls != "DS" and last > 1 and rng.random() < 0.5:
        minimum = 200.0 if line.speed != "conv" else 300.0
        terminals = [i for i, key in enumerate(cities) if i in (0, last) or _CITY[key].tier <= 2]
        segments = [
            (a, b)
            for a in terminals
            for b in terminals
            if a < b and (a, b) != (0, last) and path_km(cities[a : b + 1]) >= minimum
        ]
        if segments:
            first_i, last_i = rng.choice(segments)
    path = cities[first_i : last_i + 1]
    calls = [0]
    for position in range(1, len(path) - 1):
        if all_stations or rng.random() < STOP_CHANCE[cls][_CITY[path[position]].tier]:
            calls.append(position)
    calls.append(len(path) - 1)
    return _Pattern(path, calls)


def _run_minutes(
    pattern: _Pattern, cls: str, speed: str, cruise: float, rng: random.Random
) -> list[tuple[int | None, int | None]]:
    """Arrival and departure minutes of each call, counted from the first departure."""
    times: list[tuple[int | None, int | None]] = [(None, 0)]
    clock = 0
    for n, (start, end) in enumerate(pairwise(pattern.calls), start=1):
        minutes = float(STOP_PENALTY_MINUTES[cls])
        for a, b in pairwise(pattern.path[start : end + 1]):
            leg = frozenset((a, b))
            kmh = cruise
            if speed == "conv":
                kmh = FERRY_SPEED_KMH if leg in FERRY_LEGS else cruise * LEG_SLOWDOWN.get(leg, 1.0)
            minutes += track_km(a, b) / kmh * 60
        clock += math.ceil(minutes)
        if n == len(pattern.calls) - 1:
            times.append((clock, None))
        else:
            low, high = DWELL_MINUTES[cls]
            dwell = rng.randint(low, high)
            times.append((clock, clock + dwell))
            clock += dwell
    return times


def _departure_minute(
    cls: str, duration: int, slot: int, slots: int, rng: random.Random
) -> int:
    """When the train leaves its origin (minutes after midnight)."""
    if cls == "DS":
        return rng.randrange(19 * 60, 21 * 60 + 31, 5)
    if cls in ("G", "D"):
        span = 13.5 * 60
        minute = 6 * 60 + int((slot + rng.random()) * span / max(slots, 1))
        if minute + duration > 24 * 60 + 15:
            # Long high-speed runs leave early enough to arrive before the night closure.
            minute = max(6 * 60, 24 * 60 - duration - rng.randint(0, 60))
        return minute - minute % 5
    # Conventional trains: long runs overnight, arriving in the morning.
    if 6 * 60 <= duration <= 20 * 60 and rng.random() < 0.85:
        arrive = rng.randint(5 * 60 + 30, 10 * 60 + 30) + 24 * 60
        minute = arrive - duration
        if minute >= 24 * 60:
            minute -= 24 * 60
        if minute < 12 * 60:
            minute = rng.randint(12 * 60, 23 * 60)
    elif duration > 20 * 60:
        minute = rng.randint(8 * 60, 22 * 60)
    else:
        minute = rng.randint(6 * 60 + 30, 18 * 60)
    return minute - minute % 5


def _train_calendar(line: DemoLine, cls: str, rng: random.Random, always_daily: bool) -> list[str]:
    """Calendar keys of a train's timetable variants (two for a weekend timetable)."""
    r = rng.random()
    if cls == "Z" and "lhasa" in line.cities:
        return ["alternate-days"]  # as the Tibet expresses run
    if always_daily or cls == "DS":
        return ["daily"]
    if line.speed != "conv":
        for limit, key in (
            (0.76, "daily"), (0.82, "daily-except-spring-festival"), (0.87, "weekdays"),
            (0.91, "fri-sun"), (0.93, "golden-week-2026"), (0.95, "chunyun-2027"),
        ):
            if r < limit:
                return [key]
        return ["mon-thu", "fri-sun"]
    for limit, key in (
        (0.72, "daily"), (0.80, "daily-except-spring-festival"), (0.86, "alternate-days"),
        (0.90, "fri-sun"), (0.93, "summer-2027"), (0.96, "winter-2026"),
    ):
        if r < limit:
            return [key]
    return ["golden-week-2026"]


def _stops(
    pattern: _Pattern,
    minutes: list[tuple[int | None, int | None]],
    departure: int,
    rate: float,
) -> list[FeedStop]:
    stops: list[FeedStop] = []
    for n, (position, (arrival, leave)) in enumerate(zip(pattern.calls, minutes, strict=True)):
        fare = None
        if n > 0:
            km = path_km(pattern.path[pattern.calls[n - 1] : position + 1])
            fare = _round_fare(km * rate)
        stops.append(
            FeedStop(
                city=pattern.path[position],
                arrival=None if arrival is None else (departure + arrival) * 60,
                departure=None if leave is None else (departure + leave) * 60,
                fare_cents=fare,
            )
        )
    return stops


def _od_fares(pattern: _Pattern, stops: list[FeedStop], rate: float) -> dict[tuple[str, str], int]:
    """Tapered origin-destination prices for long rides, cheaper than the sum of the legs."""
    fares: dict[tuple[str, str], int] = {}
    calls = pattern.calls
    for i in range(len(calls)):
        additive = 0
        for j in range(i + 1, len(calls)):
            additive += stops[j].fare_cents or 0
            km = path_km(pattern.path[calls[i] : calls[j] + 1])
            if km <= 500:
                continue
            price = _round_fare(_tapered_fare(km, rate))
            if price < additive:
                fares[(stops[i].city, stops[j].city)] = price
    return fares


def _line_trains(line: DemoLine, rng: random.Random, numbers: _Numbers) -> list[FeedService]:
    services: list[FeedService] = []
    for cls, pairs in line.trains:
        letter = "D" if cls == "DS" else cls
        cruise_range = CRUISE_KMH[(cls, line.speed)]
        for slot in range(pairs):
            # The first train of a line's first class calls everywhere, every day, both
            # ways: every city of the line is then reachable.
            all_stations = slot == 0 and cls == line.trains[0][0]
            pattern = _pattern(line, cls, rng, all_stations)
            calendars = _train_calendar(line, cls, rng, all_stations)
            cruise = rng.uniform(*cruise_range)
            rate = FARE_PER_KM[cls] * rng.uniform(0.95, 1.08)
            for number, way in zip(numbers.pair(cls, letter), (pattern, pattern.reversed()), strict=True):
                origin, destination = _CITY[way.path[0]], _CITY[way.path[-1]]
                service = FeedService(
                    number=number,
                    mode="train",
                    operator=TRAIN_OPERATOR,
                    name=f"{origin.name}—{destination.name}",
                )
                start: int | None = None
                for code, calendar in enumerate(calendars, start=1):
                    minutes = _run_minutes(way, cls, line.speed, cruise, rng)
                    duration = minutes[-1][0] or 0
                    if start is None:
                        start = _departure_minute(cls, duration, slot, pairs, rng)
                        departure = start
                    else:
                        # The weekend timetable leaves a little earlier or later.
                        departure = max(5 * 60, start + rng.choice((-45, -30, -20, 15, 25, 40)))
                    stops = _stops(way, minutes, departure, rate)
                    service.timetables.append(
                        FeedTimetable(str(code), calendar, stops, headsign=destination.name)
                    )
                if cls in ("G", "D", "DS"):
                    service.fares = _od_fares(way, service.timetables[0].stops, rate)
                services.append(service)
    return services


# --- flights ------------------------------------------------------------------------------------


def _flight_calendar(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.8:
        return "daily"
    if r < 0.86:
        return "flights-1357"
    if r < 0.9:
        return "flights-246"
    if r < 0.96:
        return "iata-winter-2026"
    return "iata-summer-2027"


def _block_minutes(a: DemoCity, b: DemoCity, rng: random.Random) -> int:
    """Gate-to-gate time: cruise at 750 km/h plus 30 minutes, against the westerlies."""
    air = great_circle_km(a, b) / CRUISE_BLOCK_KMH * 60
    air *= 1.06 if b.longitude < a.longitude else 0.96
    minutes = air + 30 + rng.uniform(-5, 5)
    return int(round(minutes / 5)) * 5


def _flights(rng: random.Random) -> list[FeedService]:
    airports = [city for city in CITIES if city.air > 0]
    candidates = [
        (a, b)
        for n, a in enumerate(airports)
        for b in airports[n + 1 :]
        if great_circle_km(a, b) >= FLIGHT_MIN_KM
    ]
    # The trunk routes between the big hubs are always flown; the rest are drawn by weighted
    # sampling without replacement (Efraimidis-Spirakis), so busy airports pair often.
    trunk = [pair for pair in candidates if pair[0].air * pair[1].air >= TRUNK_WEIGHT]
    others = [pair for pair in candidates if pair[0].air * pair[1].air < TRUNK_WEIGHT]
    keys = [rng.random() ** (1 / (a.air * b.air)) for a, b in others]
    order = sorted(range(len(others)), key=lambda i: (-keys[i], i))
    chosen = trunk + [others[i] for i in order[: max(0, FLIGHT_ROUTE_PAIRS - len(trunk))]]
    chosen.sort(key=lambda pair: -(pair[0].air * pair[1].air))

    homes: dict[str, list[int]] = {}
    for n, (_, _, _, cities) in enumerate(AIRLINES):
        for key in cities:
            homes.setdefault(key, []).append(n)
    counters = {code: first for code, _, first, _ in AIRLINES}
    services: list[FeedService] = []
    for a, b in chosen:
        weight = a.air * b.air
        frequencies = 3 if weight >= TRUNK_WEIGHT else 2 if weight >= 30 else 1
        for frequency in range(frequencies):
            choices = homes.get(a.key, []) + homes.get(b.key, []) or [0, 1, 2]
            # The bigger airport's home carrier flies the first frequency (CA1501 to Shanghai).
            pick = choices[0] if frequency == 0 else rng.choice(choices)
            code, operator, _, home = AIRLINES[pick]
            origin, destination = (a, b) if a.key in home or b.key not in home else (b, a)
            number = counters[code]
            counters[code] += 2 + 2 * rng.randint(0, 2)
            calendar = _flight_calendar(rng)
            out_block = _block_minutes(origin, destination, rng)
            back_block = _block_minutes(destination, origin, rng)
            leave = rng.randrange(7 * 60, 21 * 60 + 1, 5)
            back = leave + out_block + rng.randrange(45, 81, 5)
            if back > 23 * 60 + 30:
                back = rng.randrange(7 * 60, 12 * 60 + 1, 5)  # the aircraft stays overnight
            km = great_circle_km(a, b) * 1.05
            for flight, (start, end, minute, block) in (
                (number, (origin, destination, leave, out_block)),
                (number + 1, (destination, origin, back, back_block)),
            ):
                fare = int(round(km * rng.uniform(*FLIGHT_FARE_PER_KM) / 10)) * 1000
                services.append(
                    FeedService(
                        number=f"{code}{flight}",
                        mode="flight",
                        operator=operator,
                        name=f"{start.name}—{end.name}",
                        timetables=[
                            FeedTimetable(
                                "1",
                                calendar,
                                [
                                    FeedStop(start.key, None, minute * 60),
                                    FeedStop(end.key, (minute + block) * 60, None, fare_cents=fare),
                                ],
                                headsign=end.name,
                            )
                        ],
                    )
                )
    return services


# --- the feed -----------------------------------------------------------------------------------


def build_demo_feed(seed: int) -> Feed:
    """The demo network for ``seed``: cities, calendars, trains and flights.

    The same seed always gives an equal ``Feed``; another seed draws other services, times
    and fares on the same cities and corridors.
    """
    rng = random.Random(f"transit-demo-network:{seed}")
    feed = Feed(source=f"Demo network (seed {seed})")
    for city in CITIES:
        feed.cities[city.key] = FeedCity(
            name=city.name,
            code=city.code,
            latitude=city.latitude,
            longitude=city.longitude,
            timezone=TIMEZONE,
            min_connection_seconds=CONNECTION_MINUTES[city.tier] * 60,
        )
    feed.calendars = demo_calendars()
    numbers = _Numbers(rng)
    for line in LINES:
        feed.services.extend(_line_trains(line, rng, numbers))
    feed.services.extend(_flights(rng))
    return feed


# --- trip history -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRun:
    """One past run of a demo service, origin to destination. Times are naive UTC."""

    service: tuple[str, str, str]
    service_date: dt.date
    origin: str  # city name
    destination: str
    scheduled_departure: dt.datetime
    scheduled_arrival: dt.datetime
    actual_departure: dt.datetime | None
    actual_arrival: dt.datetime | None
    cancelled: bool


def _corridor_delay(service: FeedService, keys: list[str]) -> float:
    """How late-prone the corridor is: the first line that carries all the train's calls."""
    high_speed = train_class(service.number) in ("G", "D")
    for line in LINES:
        if (line.speed != "conv") != high_speed:
            continue
        positions = [line.cities.index(k) if k in line.cities else -1 for k in keys]
        if -1 in positions:
            continue
        if positions == sorted(positions) or positions == sorted(positions, reverse=True):
            return line.delay
    return 1.0


_WEEKDAY_DELAY = (1.1, 1.0, 1.0, 1.0, 1.35, 1.05, 1.3)  # Fridays and Sundays are worst


def _weather(seed: int, anchor: dt.date, days: list[dt.date]) -> dict[tuple[dt.date, str], float]:
    """Storm days per city: snow in the northern winter, thunderstorms and typhoons in the south."""
    rng = random.Random(f"transit-demo-weather:{seed}:{anchor.isoformat()}")
    storms: dict[tuple[dt.date, str], float] = {}
    for day in days:
        for city in CITIES:
            chance = 0.012
            if day.month in (12, 1, 2) and city.latitude >= 38:
                chance += 0.04
            if day.month in (6, 7, 8, 9) and city.latitude < 32:
                chance += 0.03
            if rng.random() < chance:
                storms[(day, city.key)] = rng.uniform(2.0, 4.0)
    return storms


def _draw_delay(rng: random.Random, kind: str, factor: float) -> float:
    """Minutes late: mostly none or a few, with a long tail."""
    if kind == "flight":
        if rng.random() < min(0.9, 0.25 * factor):
            minutes = rng.lognormvariate(math.log(28), 0.7)
            if rng.random() < 0.05:
                minutes += rng.uniform(90, 300)
            return minutes
        return rng.uniform(0, 12)  # pushback and taxi queue
    base, mean, tail = (0.07, 6.0, 0.04) if kind == "hsr" else (0.22, 14.0, 0.06)
    if rng.random() < min(0.8, base * factor):
        minutes = 1 + rng.expovariate(1 / mean)
        if rng.random() < tail:
            minutes += rng.uniform(30, 240)
        return minutes
    return 0.0


def build_demo_history(
    feed: Feed, seed: int, anchor: dt.date, days: int = HISTORY_DAYS
) -> list[DemoRun]:
    """Past runs of every service of ``feed`` on the ``days`` days before ``anchor``.

    Delays are skewed (most runs on time or a few minutes late, a long tail), worse on
    Fridays and Sundays, on holidays, in the northern winter, on storm days, on some
    corridors and at congested airports; flights run later than high-speed trains. About 1%
    of flights and 0.2% of trains are cancelled. Deterministic for (feed, seed, anchor).
    """
    rng = random.Random(f"transit-demo-history:{seed}:{anchor.isoformat()}")
    window = [anchor - dt.timedelta(days=n) for n in range(days, 0, -1)]
    # Past runs are over: one still under way at the anchor day's start (in China) has no
    # actual arrival yet, and imports refuse actual times in the future.
    over_by = _utc(anchor, 0, ZoneInfo(TIMEZONE))
    storms = _weather(seed, anchor, window)
    holidays = set(_holidays())
    zones: dict[str, ZoneInfo] = {}
    runs: list[DemoRun] = []
    for service in feed.services:
        chronic = rng.lognormvariate(0, 0.25)  # some services are always a bit late
        for timetable in service.timetables:
            calendar = feed.calendars[timetable.calendar]
            keys = [stop.city for stop in timetable.stops]
            first, last = timetable.stops[0], timetable.stops[-1]
            if service.mode == "flight":
                kind = "flight"
                place = max(AIRPORT_DELAY.get(k, 1.0) for k in keys)
            else:
                kind = "hsr" if train_class(service.number) in ("G", "D") else "conv"
                place = _corridor_delay(service, keys)
            north = max(_CITY[k].latitude for k in keys) >= 38
            origin = feed.cities[first.city]
            destination = feed.cities[last.city]
            zone = zones.setdefault(origin.timezone, ZoneInfo(origin.timezone))
            end_zone = zones.setdefault(destination.timezone, ZoneInfo(destination.timezone))
            leave = first.departure or 0
            arrive = last.arrival or 0
            for day in window:
                if not calendar.runs_on(day):
                    continue
                factor = chronic * place * _WEEKDAY_DELAY[day.weekday()]
                if day in holidays:
                    factor *= 1.25
                if north and day.month in (12, 1, 2):
                    factor *= 1.5
                if kind == "flight" and day.month in (6, 7, 8):
                    factor *= 1.3
                storm = max((storms.get((day, k), 1.0) for k in keys), default=1.0)
                factor *= storm
                scheduled_departure = _utc(day, leave, zone)
                scheduled_arrival = _utc(day, arrive, end_zone)
                cancel_chance = {"flight": 0.0075, "hsr": 0.0012, "conv": 0.0015}[kind]
                if storm > 1:
                    cancel_chance *= 8 if kind == "flight" else 3
                if rng.random() < cancel_chance:
                    actual_departure = actual_arrival = None
                    cancelled = True
                else:
                    cancelled = False
                    delay = _draw_delay(rng, kind, factor)
                    if kind == "flight":
                        late_leaving = round(delay)
                        # Block times are padded: flights make up some time in the air.
                        late_arriving = late_leaving + round(rng.gauss(-8, 7))
                        block = (arrive - leave) // 60
                        late_arriving = max(late_arriving, late_leaving - block // 4)
                    else:
                        late_arriving = round(delay)
                        late_leaving = round(delay * rng.uniform(0, 0.5)) if delay else 0
                        if not delay and rng.random() < 0.12:
                            late_arriving = -rng.randint(1, 2)  # a minute or two early
                    actual_departure = scheduled_departure + dt.timedelta(minutes=late_leaving)
                    actual_arrival = scheduled_arrival + dt.timedelta(minutes=late_arriving)
                    if actual_arrival > over_by:
                        continue
                runs.append(
                    DemoRun(
                        service=service.key,
                        service_date=day,
                        origin=origin.name,
                        destination=destination.name,
                        scheduled_departure=scheduled_departure,
                        scheduled_arrival=scheduled_arrival,
                        actual_departure=actual_departure,
                        actual_arrival=actual_arrival,
                        cancelled=cancelled,
                    )
                )
    return runs


def _utc(day: dt.date, seconds: int, zone: ZoneInfo) -> dt.datetime:
    """Naive UTC of ``seconds`` after the service day's local midnight."""
    local = dt.datetime.combine(day, dt.time(), tzinfo=zone) + dt.timedelta(seconds=seconds)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


# --- into the database --------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_history(
    session: Session, runs: list[DemoRun], source: str, progress: bool
) -> int:
    numbers = sorted({key[1] for key in {run.service for run in runs}})
    service_ids: dict[tuple[str, str, str], int] = {}
    for chunk in _chunks(numbers, 500):
        for row in session.execute(
            select(Service.id, Service.operator, Service.number, Service.route).where(
                Service.number.in_(chunk)
            )
        ):
            service_ids[(row.operator, row.number, row.route)] = row.id
    names = sorted({run.origin for run in runs} | {run.destination for run in runs})
    city_ids: dict[str, int] = {}
    for chunk in _chunks(names, 500):
        for name, city_id in session.execute(select(City.name, City.id).where(City.name.in_(chunk))):
            city_ids[name] = city_id
    rows = [
        {
            "service_id": service_ids[run.service],
            "service_date": run.service_date,
            "origin_id": city_ids[run.origin],
            "destination_id": city_ids[run.destination],
            "scheduled_departure": run.scheduled_departure,
            "scheduled_arrival": run.scheduled_arrival,
            "actual_departure": run.actual_departure,
            "actual_arrival": run.actual_arrival,
            "cancelled": run.cancelled,
            "source": source,
        }
        for run in runs
    ]
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc="Trip history", unit="run", leave=False)
    table: Table = TripRecord.__table__  # type: ignore[assignment]
    try:
        # Core executemany: tens of thousands of rows in a second or two.
        for chunk in _chunks(rows, 10_000):
            session.execute(insert(table), list(chunk))
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return len(rows)


def _describe_counts(feed: Feed) -> str:
    classes: dict[str, int] = {}
    flights = 0
    for service in feed.services:
        if service.mode == "flight":
            flights += 1
        else:
            letter = train_class(service.number)
            classes[letter] = classes.get(letter, 0) + 1
    trains = sum(classes.values())
    by_class = ", ".join(f"{letter} {classes[letter]}" for letter in "GDZTK" if letter in classes)
    counts = feed.counts()
    return (
        f"{len(feed.cities)} cities, {trains} trains ({by_class}) and {flights} flights "
        f"in {counts['timetables']} timetables with {counts['stops']:,} stops"
    )


def seed_demo_network(
    session: Session,
    seed: int,
    only_if_empty: bool = False,
    progress: bool = False,
    *,
    anchor: dt.date | None = None,
    history_days: int = HISTORY_DAYS,
) -> str:
    """Load the demo network and its trip history in the caller's transaction; say what happened.

    ``only_if_empty``: do nothing when the database has any city. A demo already loaded with
    the same seed is recognised and left alone; one from another seed raises
    ``DemoAlreadyLoaded``. History covers the ``history_days`` days before ``anchor``
    (default: today in China). The caller commits.
    """
    if only_if_empty:
        cities = session.scalar(select(func.count()).select_from(City)) or 0
        if cities:
            return f"The database already has {cities} cities: the demo network was not loaded."
    source = demo_source(seed)
    loaded = session.scalar(
        select(TripRecord.source)
        .where(TripRecord.source.like(DEMO_SOURCE_PREFIX + "%"))
        .limit(1)
    )
    if loaded == source:
        known = session.scalar(
            select(func.count()).select_from(TripRecord).where(TripRecord.source == source)
        )
        return (
            f"The demo network (seed {seed}) is already loaded, with {known:,} past runs: "
            "nothing added."
        )
    if loaded is not None:
        raise DemoAlreadyLoaded(
            f"The database already holds the demo network of seed "
            f"{loaded.removeprefix(DEMO_SOURCE_PREFIX)}; "
            f"seed {seed} would clash with it. Start from an empty database to change seeds."
        )
    feed = build_demo_feed(seed)
    report = load_feed(session, feed, progress=progress)
    anchor = anchor or dt.datetime.now(ZoneInfo(TIMEZONE)).date()
    runs = build_demo_history(feed, seed, anchor, history_days)
    inserted = _insert_history(session, runs, source, progress)
    cancelled = sum(run.cancelled for run in runs)
    lines = [f"Loaded the demo network (seed {seed}): {_describe_counts(feed)}."]
    if inserted:
        first = anchor - dt.timedelta(days=history_days)
        last = anchor - dt.timedelta(days=1)
        lines.append(
            f"Trip history: {inserted:,} past runs from {first} to {last}, "
            f"{cancelled:,} of them cancelled."
        )
    if report.skipped:
        lines.append(f"{len(report.skipped)} timetables or fares were already there and kept.")
    return "\n".join(lines)
