"""A service with no price at all in a timetable with fares (Caltrain's weekend Tamien-San
Jose shuttle: its stops have no fare zone) gives no fare information: the engine counts its
rides as 0, so its legs carry no currency and a journey with one has no single known fare.
The engine, the command line and the JSON shape all say so (the route pages too:
tests/test_gtfs_product_fixes.py). A walk at either end stays free."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import SHARED_DATA
from transit.commands.route import NO_FARE, format_result
from transit.routing import Query, Snapshot, plan
from transit.routing.itinerary import WALK
from transit.timetable.formats import parse_timetable
from transit.timetable.loader import load_feed

CALTRAIN = "gtfs/caltrain_gtfs_2017-07-24.zip"
# Sunday 30 July 2017: weekend trains do not call at Tamien; the shuttle does, to San Jose.
SUNDAY = dt.datetime(2017, 7, 30, 4, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


@pytest.fixture(scope="module")
def caltrain() -> Snapshot:
    return Snapshot.from_feed(parse_timetable(SHARED_DATA / CALTRAIN), 5)


def test_a_service_without_any_price_has_no_currency(caltrain: Snapshot) -> None:
    modes = {}
    for mode, currency in zip(caltrain.service_mode, caltrain.service_currency, strict=True):
        modes.setdefault(mode, set()).add(currency)
    assert modes == {"train": {"USD"}, "bus": {""}}


def test_a_journey_with_an_unpriced_ride_has_no_known_fare(caltrain: Snapshot) -> None:
    result = plan(caltrain, Query("Tamien Caltrain Station", "San Francisco Caltrain",
                                  depart=SUNDAY, criterion="options"))
    by_shuttle = [it for it in result.itineraries if any(leg.mode == "bus" for leg in it.legs)]
    by_train = [it for it in result.itineraries if it not in by_shuttle]
    assert by_shuttle and by_train
    for it in by_shuttle:
        (bus,) = [leg for leg in it.legs if leg.mode == "bus"]
        assert bus.fare_cents == 0 and bus.currency == ""
        assert it.currency is None
        assert it.fare_cents == sum(leg.fare_cents for leg in it.legs) > 0  # the train's part
        shape = it.to_json()
        assert shape["currency"] is None
        assert [leg["currency"] for leg in shape["legs"] if leg["mode"] == "bus"] == [None]
    for it in by_train:
        assert it.currency == "USD" and it.to_json()["currency"] == "USD"
        # A walk to the train is free and keeps the journey's fare known.
        assert all(leg.fare_cents == 0 for leg in it.legs if leg.mode == WALK)
    text = format_result(result, "title")
    journeys = text.split("\n\n")[1:]
    assert all(f"1 transfer, {NO_FARE})" in j for j in journeys if "TaSJ-Shuttle" in j)
    bus_lines = [line for line in text.splitlines() if "TaSJ-Shuttle" in line]
    assert bus_lines and all(line.endswith(f", {NO_FARE})") for line in bus_lines)
    assert any("fare 9.75 USD" in j for j in journeys if "TaSJ-Shuttle" not in j)
    # Compared by price, the text says how the unknown fare counted.
    assert "unknown part counts as free" not in text
    assert format_result(result, "title", compared_by_price=True).endswith(
        f"Where it says {NO_FARE}, the fare is not known: when journeys are compared by "
        "price, the unknown part counts as free.")

def test_the_database_snapshot_agrees(session, shared_data: Path, caltrain: Snapshot) -> None:
    load_feed(session, parse_timetable(shared_data / CALTRAIN))
    session.commit()
    from_db = Snapshot.from_session(session, 5)
    assert from_db.service_currency == caltrain.service_currency
    assert set(from_db.service_currency) == {"USD", ""}
