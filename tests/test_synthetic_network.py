"""The synthetic national networks of the routing benchmarks (transit/routing/synthetic.py)."""

from __future__ import annotations

from typing import Any

import pytest

from transit.routing.synthetic import national_feed
from transit.timetable.feed import Feed


def _shape(feed: Feed) -> dict[str, Any]:
    """Per service: its mode, stops and fares (what stays when only frequencies change)."""
    return {
        s.number: (s.mode, [stop.city for stop in s.timetables[0].stops], sorted(s.fares.items()))
        for s in feed.services
    }


def test_the_same_seed_gives_the_same_network() -> None:
    one, again = national_feed(1), national_feed(1)
    assert _shape(one) == _shape(again)
    assert [
        [(x.arrival, x.departure) for x in t.stops] for s in one.services for t in s.timetables
    ] == [
        [(x.arrival, x.departure) for x in t.stops] for s in again.services for t in s.timetables
    ]


def test_denser_growth_adds_cities_and_lines() -> None:
    small, large = national_feed(1), national_feed(2)
    assert len(large.cities) == 2 * len(small.cities)
    assert len(large.services) > 1.5 * len(small.services)


def test_frequent_growth_keeps_the_network_and_multiplies_its_runs() -> None:
    small, large = national_feed(1, growth="frequent"), national_feed(3, growth="frequent")
    assert large.cities.keys() == small.cities.keys()
    assert _shape(large) == _shape(small)
    runs = {s.number: len(s.timetables) for s in small.services}
    assert {s.number: len(s.timetables) for s in large.services} == {
        number: 3 * n for number, n in runs.items()
    }
    # The same cities as the denser network of the same seed (its lines draw other times).
    assert small.cities.keys() == national_feed(1).cities.keys()


def test_an_unknown_growth_is_refused() -> None:
    with pytest.raises(ValueError, match="growth must be one of denser, frequent"):
        national_feed(1, growth="wider")
