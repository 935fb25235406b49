"""The options trade-off chart (transit/web/options_chart.py): a dot per journey where its
arrival and fare put it, none hiding another, ticks on round clock times and fares."""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from transit.web.journey_views import ItineraryCard, LegCard
from transit.web.options_chart import (
    DOT_RADIUS,
    NARROW,
    WIDE,
    OptionDot,
    _dodge,
    journey_mode,
    options_chart,
)

CST = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2026, 12, 1)


def card(depart: dt.datetime, minutes: int, fare: float | None, transfers: int,
         modes: tuple[str, ...] = ("train",)) -> ItineraryCard:
    arrive = depart + dt.timedelta(minutes=minutes)
    legs = [LegCard(service=f"S{i}", service_id=None, timetable_id=None, mode=mode, origin="A",
                    destination="B", departure=depart, arrival=arrive, departure_days=0,
                    arrival_days=0, fare=fare, currency="CNY")
            for i, mode in enumerate(modes)]
    return ItineraryCard(departure=depart, arrival=arrive, departure_days=0,
                         arrival_days=(arrive.date() - DAY).days,
                         duration_minutes=minutes, fare=fare, currency="CNY",
                         transfers=transfers, legs=legs, waits=[])


def draw(cards, **kwargs):
    return options_chart(cards, DAY, lambda v: f"¥{v:,.2f}", lambda d: f"+{d}" if d else "",
                         **kwargs)


def at(hour: int, minute: int = 0, day: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, 1 + day, hour, minute, tzinfo=CST)


def test_a_dot_per_journey_by_arrival_across_and_fare_up():
    cards = [card(at(11, 20), 165, 1140.0, 0, ("flight",)),
             card(at(8, 30), 652, 830.0, 1),
             card(at(15, 20), 23 * 60, 305.5, 2, ("train", "bus"))]
    chart = draw(cards)
    assert chart is not None and chart.up == "fare" and chart.across == "arrival"
    assert [d.number for d in chart.dots] == [1, 2, 3]
    assert [d.transfers for d in chart.dots] == [0, 1, 2]
    assert [d.mode for d in chart.dots] == ["flight", "train", "mixed"]
    assert chart.modes == ["flight", "train", "mixed"]
    xs, ys = [d.x for d in chart.dots], [d.y for d in chart.dots]
    assert xs == sorted(xs) and ys == sorted(ys)  # later arrivals right, cheaper ones lower
    for dot in chart.dots:
        assert chart.left + DOT_RADIUS <= dot.x <= chart.right - DOT_RADIUS
        assert chart.top <= dot.y - DOT_RADIUS and dot.y + DOT_RADIUS <= chart.bottom
    # Ticks: round hours on the destination's clock, the next day marked; round fares.
    assert [t.text for t in chart.x_ticks] == ["12:00", "18:00", "00:00", "06:00", "12:00"]
    assert [t.day_mark for t in chart.x_ticks] == ["", "", "+1", "+1", "+1"]
    assert [t.text for t in chart.y_ticks] == ["¥400.00", "¥600.00", "¥800.00", "¥1,000.00", "¥1,200.00"]
    assert all(chart.left < t.at < chart.right for t in chart.x_ticks)
    ticks_y = [t.at for t in chart.y_ticks]
    assert ticks_y == sorted(ticks_y, reverse=True)


def test_arriving_by_puts_departure_across():
    cards = [card(at(9), 120, 500.0, 0), card(at(7), 240, 300.0, 1)]
    chart = draw(cards, arrive_by=True)
    assert chart is not None and chart.across == "departure"
    assert chart.dots[0].x > chart.dots[1].x  # the later departure is further right


def test_without_fares_transfers_go_up():
    cards = [card(at(9), 60, None, 2), card(at(9), 90, None, 0), card(at(9), 75, None, 1)]
    chart = draw(cards)
    assert chart is not None and chart.up == "transfers"
    assert [t.text for t in chart.y_ticks] == ["0", "1", "2"]
    assert chart.dots[0].y < chart.dots[2].y < chart.dots[1].y


def test_fares_in_two_currencies_are_not_put_on_one_scale():
    cards = [card(at(9), 60, 100.0, 0), card(at(9), 90, 50.0, 1)]
    cards[1].currency = "EUR"
    chart = draw(cards)
    assert chart is not None and chart.up == "transfers"


def test_one_journey_needs_no_chart():
    assert draw([card(at(9), 60, 100.0, 0)]) is None
    assert draw([]) is None


def test_journeys_arriving_together_stand_side_by_side():
    cards = [card(at(8), 600, 224.5, 3), card(at(9), 540, 225.0, 2), card(at(10), 480, 227.5, 1),
             card(at(6), 300, 900.0, 0)]
    chart = draw(cards)
    assert chart is not None
    together = chart.dots[:3]
    assert len({d.x for d in together}) == 3
    for a, b in zip(together, together[1:], strict=False):
        assert math.hypot(a.x - b.x, a.y - b.y) >= 2 * DOT_RADIUS - 0.5


def test_the_mode_of_a_journey_leaves_out_walks_at_its_ends():
    assert journey_mode(card(at(9), 60, 1.0, 0, ("walk", "subway", "walk"))) == "subway"
    assert journey_mode(card(at(9), 60, 1.0, 1, ("walk", "subway", "bus"))) == "mixed"


journeys = st.lists(
    st.tuples(st.integers(0, 47 * 60), st.integers(1, 36 * 60), st.one_of(
        st.none(), st.integers(0, 500_000).map(lambda c: c / 100)), st.integers(0, 6)),
    min_size=2, max_size=40)


@settings(max_examples=150, deadline=None)
@given(journeys, st.booleans(), st.sampled_from([WIDE, NARROW]))
def test_every_dot_stays_in_the_plot_near_its_place(rows, arrive_by, size):
    cards = [card(at(0) + dt.timedelta(minutes=start), minutes, fare, transfers)
             for start, minutes, fare, transfers in rows]
    chart = draw(cards, arrive_by=arrive_by, width=size[0], height=size[1])
    assert chart is not None
    assert len(chart.dots) == len(cards)
    priced = all(c.fare is not None for c in cards)
    assert chart.up == ("fare" if priced else "transfers")
    values = [c.fare if priced else c.transfers for c in cards]
    times = [(c.departure if arrive_by else c.arrival).timestamp() for c in cards]
    for dot in chart.dots:
        assert chart.left + DOT_RADIUS - 0.1 <= dot.x <= chart.right - DOT_RADIUS + 0.1
        assert chart.top + DOT_RADIUS - 0.1 <= dot.y <= chart.bottom - DOT_RADIUS + 0.1
    for a, b in zip(chart.dots, chart.dots[1:], strict=False):
        i, j = a.number - 1, b.number - 1
        # Up is exact: a dearer journey is never lower.
        if values[i] < values[j]:
            assert a.y > b.y
    for a in chart.dots:
        for b in chart.dots:
            # Across keeps the order of the times: further left is sooner (or as soon).
            if times[a.number - 1] < times[b.number - 1]:
                assert a.x <= b.x

    # Time ticks rise, each a round clock time inside the plot.
    ats = [t.at for t in chart.x_ticks]
    assert ats == sorted(ats) and all(chart.left <= x <= chart.right for x in ats)
    assert all(t.text.endswith(":00") for t in chart.x_ticks)
    assert 1 <= len(chart.x_ticks) <= 6


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(40, 320), st.integers(20, 280)), min_size=1, max_size=30))
def test_a_dot_moves_at_most_its_width_and_never_past_an_earlier_one(points):
    # On the narrow chart a dot moved three widths aside read hours away from its time,
    # left of journeys that arrive before it.
    dots = sorted((OptionDot(i + 1, float(x), float(y), 0, "train")
                   for i, (x, y) in enumerate(points)), key=lambda d: (d.x, d.y))
    moved = {d.number: d for d in _dodge(dots, DOT_RADIUS, 30.0, 330.0)}
    for dot in dots:
        assert abs(moved[dot.number].x - dot.x) <= 2 * DOT_RADIUS + 0.1
        assert moved[dot.number].y == dot.y
        for other in dots:
            if other.x < dot.x:
                assert moved[other.number].x <= moved[dot.number].x


def test_a_scale_writes_whole_amounts_without_decimals(app):
    from transit.web.i18n import money

    with app.test_request_context("/?lang=en"):
        assert money(1500, "CNY", whole=True) == "¥1,500"
        assert money(1500.5, "CNY", whole=True) == "¥1,500.50"
        assert money(1500, "CNY") == "¥1,500.00"
        assert money(20, "", whole=True) == "20" and money(2.5, "", whole=True) == "2.50"


def test_journeys_in_the_order_asked_keeping_the_engine_s_among_equals():
    from transit.web.journey_views import card_order

    cards = [card(at(6), 300, 900.0, 0), card(at(8), 600, 224.5, 3), card(at(5), 480, 224.5, 1),
             card(at(9), 120, None, 0)]
    assert card_order(cards, None) == [1, 2, 3, 4]
    assert card_order(cards, "no such order") == [1, 2, 3, 4]
    assert card_order(cards, "arrival") == [1, 4, 3, 2]
    assert card_order(cards, "departure") == [3, 1, 2, 4]
    assert card_order(cards, "duration") == [4, 1, 3, 2]
    assert card_order(cards, "fare") == [2, 3, 1, 4]  # unknown fares last
    assert card_order(cards, "transfers") == [1, 4, 3, 2]
