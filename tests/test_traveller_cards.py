"""All options: one "Fastest" badge, on the card the fastest search answers, with the
documented tie-breaks (traveller QA finding 4)."""

from __future__ import annotations

import datetime as dt

from transit.web import journey_views as jv

DAY = dt.date(2025, 3, 3)


def _itinerary(departure: str, arrival: str, transfers: int, fare: float) -> dict:
    legs = [
        {"service": f"T{k}", "mode": "train", "from": "X", "to": "Y",
         "departure": departure, "arrival": arrival, "fare": fare / (transfers + 1)}
        for k in range(transfers + 1)
    ]
    span = dt.datetime.fromisoformat(arrival) - dt.datetime.fromisoformat(departure)
    return {"departure": departure, "arrival": arrival, "fare": fare, "transfers": transfers,
            "duration_minutes": int(span.total_seconds()) // 60, "legs": legs}


def _cards(arrive_by: bool, *itineraries: dict) -> list[jv.ItineraryCard]:
    return jv.itinerary_cards({"itineraries": list(itineraries)}, DAY, compare=True,
                              arrive_by=arrive_by)


def test_fastest_badge_goes_to_the_latest_departure_among_the_earliest_arrivals():
    early, late = _cards(
        False,
        _itinerary("2025-03-03T20:39:00+08:00", "2025-03-04T05:29:00+08:00", 3, 300.0),
        _itinerary("2025-03-03T21:26:00+08:00", "2025-03-04T05:29:00+08:00", 2, 400.0),
    )
    assert "fastest" not in early.badges and "fastest" in late.badges
    assert ("earlier", 47) in early.trades  # what it gives up against the fastest


def test_fastest_badge_ties_go_to_fewer_transfers_then_the_lower_fare():
    cards = _cards(
        False,
        _itinerary("2025-03-03T11:46:00+08:00", "2025-03-04T08:12:00+08:00", 2, 100.0),
        _itinerary("2025-03-03T11:46:00+08:00", "2025-03-04T08:12:00+08:00", 1, 300.0),
        _itinerary("2025-03-03T11:46:00+08:00", "2025-03-04T08:12:00+08:00", 1, 200.0),
    )
    assert [("fastest" in card.badges) for card in cards] == [False, False, True]
    # As quick at both ends: no time to give up, only transfers or fare.
    assert all(kind not in ("earlier", "later") for card in cards for kind, _ in card.trades)


def test_arrive_by_fastest_badge_goes_to_the_earliest_arrival_among_the_latest_departures():
    slow, quick = _cards(
        True,
        _itinerary("2025-03-02T19:05:00+08:00", "2025-03-03T06:59:00+08:00", 1, 100.0),
        _itinerary("2025-03-02T19:05:00+08:00", "2025-03-03T04:10:00+08:00", 0, 200.0),
    )
    assert "fastest" not in slow.badges and "fastest" in quick.badges
    assert ("later", 169) in slow.trades
