"""The trade-off chart of an *options* answer, drawn on the server as SVG (no script).

Each journey is a dot: across, when it arrives (arriving by: when it leaves); up, what it
costs (where a fare is unknown, its transfers); in the dot, its transfers; its colour, its
mode. Seventeen cards side by side are a lot to read; the dots show at a glance which
journeys buy time with money or transfers, and each one links to its card.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from transit.web.forecast_views import CHAR_WIDTH, nice_ticks
from transit.web.journey_views import WALK, ItineraryCard

DOT_RADIUS = 11.0
# The chart's text size in its own units (static/css/site.css, .options-chart). The page
# draws it twice, wide and narrow, and shows the one that fits the screen at about that size.
FONT = 12.0
WIDE = (640, 260)
NARROW = (360, 300)
# Steps between time ticks: the first that leaves at most MAX_TIME_TICKS of them.
TIME_STEPS_HOURS = (1, 2, 3, 4, 6, 12, 24, 48, 72, 168)
MAX_TIME_TICKS = 6


@dataclass(frozen=True)
class OptionDot:
    number: int  # the card's number: it links to #itinerary-<number>
    x: float
    y: float
    transfers: int
    mode: str  # the mode of every ride, or "mixed"


@dataclass(frozen=True)
class Tick:
    at: float  # x or y in the chart's units
    text: str
    day_mark: str = ""  # "+1 day" where a time tick falls on a later day


@dataclass
class OptionsChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    across: str  # "arrival" or "departure"
    up: str  # "fare" or "transfers"
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    dots: list[OptionDot]
    modes: list[str]  # those of the dots, in the order the legend lists them


def journey_mode(card: ItineraryCard) -> str:
    """The mode of every ride of the journey, or "mixed" (a walk at either end does not count)."""
    modes = {leg.mode for leg in card.legs if leg.mode != WALK}
    return modes.pop() if len(modes) == 1 else "mixed"


def _time_ticks(
    low: float, high: float, zone: dt.tzinfo, reference_day: dt.date,
    day_mark: Callable[[int], str],
) -> list[tuple[float, str, str]]:
    """Round clock times (local to ``zone``) spanning [low, high] seconds: (seconds, "HH:MM",
    day mark)."""
    span_hours = max((high - low) / 3600, 1.0)
    step = next((s for s in TIME_STEPS_HOURS if span_hours / s <= MAX_TIME_TICKS - 1),
                TIME_STEPS_HOURS[-1])
    start = dt.datetime.fromtimestamp(low, zone)
    moment = start.replace(hour=0, minute=0, second=0, microsecond=0)
    ticks = []
    while moment.timestamp() <= high:
        if moment.timestamp() >= low:
            days = (moment.date() - reference_day).days
            ticks.append((moment.timestamp(), moment.strftime("%H:%M"), day_mark(days)))
        moment += dt.timedelta(hours=step)
    return ticks


def _dodge(dots: list[OptionDot], radius: float, left: float, right: float) -> list[OptionDot]:
    """Journeys arriving together for about the same fare would hide one another: each dot
    (``dots`` in order across) moves sideways, half a radius at a time and at most its
    width, to the nearest place clear of those placed; where none is, to the one that
    leaves it most in view. A dot never moves left of one that arrives earlier: the order
    across stays true (further left, sooner), and moving a dot further would misstate
    its time (on the narrow chart, hours)."""
    placed: list[OptionDot] = []
    shifts = [0.0] + [sign * k / 2 for k in range(1, 5) for sign in (1, -1)]

    def room(x: float, y: float) -> float:
        return min((math.hypot(x - p.x, y - p.y) for p in placed), default=math.inf)

    for i, dot in enumerate(dots):
        # The dots placed so far that are earlier than this one: it stays right of them.
        floor = max((p.x for p, d in zip(placed, dots[:i], strict=True) if d.x < dot.x),
                    default=-math.inf)
        spots = [x for x in (min(max(dot.x + shift * radius, left), right) for shift in shifts)
                 if x >= floor - 0.05]
        x = next((x for x in spots if room(x, dot.y) >= 2 * radius - 0.5), None)
        if x is None:  # the first of the best: the nearest to its time
            x = max(spots, key=lambda spot: room(spot, dot.y))  # noqa: B023 (used at once)
        placed.append(OptionDot(dot.number, round(x, 1), dot.y, dot.transfers, dot.mode))
    return placed


def options_chart(
    cards: Sequence[ItineraryCard],
    reference_day: dt.date,
    money: Callable[[float], str],
    day_mark: Callable[[int], str],
    arrive_by: bool = False,
    width: int = 640,
    height: int = 260,
) -> OptionsChart | None:
    """The chart of ``cards`` (an options answer, in the engine's order); None for fewer
    than two journeys. ``money`` writes a fare, ``day_mark`` the "+1 day" of a time tick;
    ``reference_day`` is the query's local date."""
    if len(cards) < 2:
        return None
    across = "departure" if arrive_by else "arrival"
    times = [(c.departure if arrive_by else c.arrival) for c in cards]
    # Fares go up only where every journey has one, in one currency: a journey of unknown
    # price has no place on a fare scale, and a feed without fares answers by arrival and
    # transfers alone.
    priced = all(c.fare is not None for c in cards) and len({c.currency for c in cards}) == 1
    up = "fare" if priced else "transfers"
    values = [float(c.fare if priced and c.fare is not None else c.transfers) for c in cards]

    low_v, high_v = min(values), max(values)
    if up == "fare":
        pad = max((high_v - low_v) * 0.08, 1.0)
        steps = nice_ticks(max(0.0, low_v - pad), high_v + pad)
        y_values = [v for v in steps if v >= 0]
        y_texts = [money(v) for v in y_values]
    else:
        y_values = [float(n) for n in range(int(low_v), int(high_v) + 1)]
        y_texts = [str(int(n)) for n in y_values]
    y_low = min(y_values + [low_v])
    y_high = max(y_values + [high_v])
    if y_high == y_low:
        y_low, y_high = y_low - 1, y_high + 1

    # Room at the left for the longest fare; below for the times and their day marks.
    longest = max((len(text) for text in y_texts), default=3)
    left = round(14 + FONT * CHAR_WIDTH * longest, 1)
    right, top, bottom = width - 16.0, 14.0, height - 2.6 * FONT - 12

    # The dots keep two of their widths from either end: room to move one aside.
    seconds = [t.timestamp() for t in times]
    first, last = min(seconds), max(seconds)
    if last - first < 3600:
        first, last = first - 1800, last + 1800
    per_unit = (last - first) / (right - left - 8 * DOT_RADIUS)
    t_low, t_high = first - 4 * DOT_RADIUS * per_unit, last + 4 * DOT_RADIUS * per_unit
    x_ticks_raw = _time_ticks(t_low, t_high, times[0].tzinfo or dt.UTC, reference_day, day_mark)

    def x_at(value: float) -> float:
        return round(left + (value - t_low) / (t_high - t_low) * (right - left), 1)

    def y_at(value: float) -> float:
        inner_top, inner_bottom = top + DOT_RADIUS, bottom - DOT_RADIUS
        return round(inner_bottom - (value - y_low) / (y_high - y_low)
                     * (inner_bottom - inner_top), 1)

    dots = [
        OptionDot(i + 1, x_at(s), y_at(v), card.transfers, journey_mode(card))
        for i, (card, s, v) in enumerate(zip(cards, seconds, values, strict=True))
    ]
    order = sorted(dots, key=lambda d: (d.x, d.y))
    dodged = {d.number: d for d in _dodge(order, DOT_RADIUS, left + DOT_RADIUS,
                                          right - DOT_RADIUS)}
    modes = sorted({d.mode for d in dots}, key=lambda m: (m == "mixed", m))
    return OptionsChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        across=across,
        up=up,
        x_ticks=[Tick(x_at(s), text, mark) for s, text, mark in x_ticks_raw],
        y_ticks=[Tick(y_at(v), text) for v, text in zip(y_values, y_texts, strict=True)],
        dots=[dodged[d.number] for d in dots],
        modes=modes,
    )
