"""Hand-worked journeys on the classic course-project timetables in ../shared/data/classic/.

Each expected answer was worked out by reading the timetable files (quoted in the comments).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from transit.routing import Query, QueryError, Snapshot, UnknownCity, plan
from transit.timetable.classic import parse_17bugs, parse_nenieco, parse_zemdalk


def _legs(itinerary) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    return [
        (leg.service, leg.origin, leg.destination, leg.departure.strftime("%d %H:%M"))
        for leg in itinerary.legs
    ]


@pytest.fixture
def nenieco(shared_data: Path) -> Snapshot:
    # Beijing-Shanghai G1 07:00-11:00 (553), G2 10:00-13:00 (633), G3 14:00-17:00 (500);
    # Shanghai-Guangzhou G4 18:00-22:00 (700), G5 20:00-23:00 (800);
    # Guangzhou-Shenzhen G6 22:00-23:00 (100), leaving the minute G4 arrives;
    # Beijing-Shenzhen G7 10:00-18:00 (2000); flight Beijing-Guangzhou CZ8888 08:00-11:00 (1500);
    # Island has no service. Every service runs daily; the default connection time is 15 min.
    return Snapshot.from_feed(parse_nenieco(shared_data / "classic" / "Nenieco-test"), 15)


MONDAY_6 = dt.datetime(2025, 3, 3, 6, 0)


def test_fastest_is_the_direct_train(nenieco: Snapshot) -> None:
    result = plan(nenieco, Query("Beijing", "Shenzhen", depart=MONDAY_6))
    (it,) = result.itineraries
    assert _legs(it) == [("G7", "Beijing", "Shenzhen", "03 10:00")]
    assert it.arrival.isoformat() == "2025-03-03T18:00:00+08:00"
    assert (it.duration_minutes, it.fare_cents, it.transfers) == (480, 200000, 0)


def test_zero_minute_connection_only_when_allowed(nenieco: Snapshot) -> None:
    # With 0 minutes, G4 (arrives Guangzhou 22:00) connects to G6 (leaves 22:00) the same night.
    zero = plan(
        nenieco,
        Query("Beijing", "Shenzhen", depart=MONDAY_6, criterion="cheapest", min_connection_minutes=0),
    )
    (it,) = zero.itineraries
    assert _legs(it) == [
        ("G3", "Beijing", "Shanghai", "03 14:00"),
        ("G4", "Shanghai", "Guangzhou", "03 18:00"),
        ("G6", "Guangzhou", "Shenzhen", "03 22:00"),
    ]
    assert (it.fare_cents, it.transfers) == (130000, 2)
    assert [w.minutes for w in it.waits] == [60, 0]
    # With the default 15 minutes the cheapest journey waits overnight for the next G6.
    default = plan(nenieco, Query("Beijing", "Shenzhen", depart=MONDAY_6, criterion="cheapest"))
    (it,) = default.itineraries
    assert it.fare_cents == 130000
    assert it.arrival.isoformat() == "2025-03-04T23:00:00+08:00"
    assert it.waits[-1].minutes == 24 * 60


def test_options_trade_time_fare_and_transfers(nenieco: Snapshot) -> None:
    result = plan(
        nenieco,
        Query("Beijing", "Shenzhen", depart=MONDAY_6, criterion="options", min_connection_minutes=0),
    )
    summary = [(it.arrival.strftime("%d %H:%M"), it.fare_cents, it.transfers) for it in result.itineraries]
    # G7 direct; G3+G4+G6 cheapest; CZ8888 + G6 at 23:00 costs more but changes once.
    assert summary == [("03 18:00", 200000, 0), ("03 23:00", 130000, 2), ("03 23:00", 160000, 1)]


def test_fewest_transfers(nenieco: Snapshot) -> None:
    result = plan(nenieco, Query("Beijing", "Guangzhou", depart=MONDAY_6, criterion="transfers"))
    (it,) = result.itineraries
    assert _legs(it) == [("CZ8888", "Beijing", "Guangzhou", "03 08:00")]


def test_arrive_by_takes_the_latest_departure(nenieco: Snapshot) -> None:
    result = plan(
        nenieco, Query("Beijing", "Shanghai", arrive_by=dt.datetime(2025, 3, 3, 16, 0))
    )
    (it,) = result.itineraries
    # G2 10:00-13:00 is the last train to arrive by 16:00 (G3 arrives 17:00).
    assert _legs(it) == [("G2", "Beijing", "Shanghai", "03 10:00")]


def test_mode_filter_and_unreachable_city(nenieco: Snapshot) -> None:
    flights = plan(
        nenieco, Query("Beijing", "Shenzhen", depart=MONDAY_6, modes=frozenset({"flight"}))
    )
    assert flights.itineraries == []
    assert "mode filter removed every journey" in flights.message
    trains = plan(
        nenieco, Query("Beijing", "Guangzhou", depart=MONDAY_6, modes=frozenset({"train"}))
    )
    assert [leg.mode for leg in trains.itineraries[0].legs] == ["train", "train"]
    island = plan(nenieco, Query("Beijing", "Island", depart=MONDAY_6))
    assert island.itineraries == []
    # No sequence of rides reaches Island at all: no window would help.
    assert island.message == (
        "No service connects Beijing to Island at any time: "
        "no sequence of rides leads from one to the other."
    )
    # Nor does any leave Island: that no date would help comes first, too.
    nothing_leaves = plan(nenieco, Query("Island", "Beijing", depart=MONDAY_6))
    assert nothing_leaves.message == (
        "No service connects Island to Beijing at any time: "
        "no sequence of rides leads from one to the other."
    )


def test_max_transfers(nenieco: Snapshot) -> None:
    result = plan(
        nenieco,
        Query("Beijing", "Shenzhen", depart=MONDAY_6, criterion="cheapest", max_transfers=1,
              min_connection_minutes=0),
    )
    (it,) = result.itineraries
    # Two rides at most: CZ8888 + G6 (1600) beats G7 (2000); G3+G4+G6 needs two transfers.
    assert (it.fare_cents, it.transfers) == (160000, 1)


def test_bad_queries(nenieco: Snapshot) -> None:
    with pytest.raises(UnknownCity):
        plan(nenieco, Query("Beijing", "Atlantis", depart=MONDAY_6))
    with pytest.raises(QueryError) as error:
        plan(nenieco, Query("Beijing", "Shanghai", depart=MONDAY_6, window_hours=400))
    assert error.value.field == "window_hours"
    with pytest.raises(QueryError):
        plan(nenieco, Query("Beijing", "Shanghai", depart=MONDAY_6, criterion="scenic"))
    with pytest.raises(QueryError):
        plan(nenieco, Query("Beijing", "Shanghai", depart=MONDAY_6, modes=frozenset({"rocket"})))
    # Times so far out that they have no UTC equivalent: a field error, not an OverflowError.
    for field, when in (
        ("depart", dt.datetime(1, 1, 1)),
        ("arrive_by", dt.datetime(9999, 12, 31, 23)),
        ("depart", dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))),
    ):
        with pytest.raises(QueryError) as error:
            plan(nenieco, Query("Beijing", "Shanghai", **{field: when}))
        assert error.value.field == field
        assert "1900 to 2999" in error.value.message
    # The first and last years still answer (these timetables run every day, undated).
    for when in (dt.datetime(1900, 1, 1), dt.datetime(2999, 12, 31, 23, 59)):
        assert plan(nenieco, Query("Beijing", "Shanghai", depart=when)).itineraries
        assert plan(nenieco, Query("Beijing", "Shanghai", arrive_by=when)).itineraries


@pytest.fixture
def bugs(shared_data: Path) -> Snapshot:
    # Dated services: everything runs on 2023-05-28 only.
    return Snapshot.from_feed(parse_17bugs(shared_data / "classic" / "17BuGs"), 15)


def test_dated_overnight_train_is_cheapest(bugs: Snapshot) -> None:
    # 南昌-上海: flight AF1000 14:20-15:50 (380.00), train T110 16:59 - 04:55 next day (184.00).
    noon = dt.datetime(2023, 5, 28, 12, 0)
    fastest = plan(bugs, Query("南昌", "上海", depart=noon)).itineraries[0]
    assert _legs(fastest) == [("AF1000", "南昌", "上海", "28 14:20")]
    cheapest = plan(bugs, Query("南昌", "上海", depart=noon, criterion="cheapest")).itineraries[0]
    assert _legs(cheapest) == [("T110", "南昌", "上海", "28 16:59")]
    assert cheapest.arrival.isoformat() == "2023-05-29T04:55:00+08:00"
    assert cheapest.fare_cents == 18400
    trains = plan(bugs, Query("南昌", "上海", depart=noon, modes=frozenset({"train"})))
    assert _legs(trains.itineraries[0]) == [("T110", "南昌", "上海", "28 16:59")]


def test_dated_services_do_not_repeat(bugs: Snapshot) -> None:
    result = plan(bugs, Query("南昌", "上海", depart=dt.datetime(2023, 5, 29, 0, 0)))
    assert result.itineraries == []
    assert result.message.startswith("No service leaves 南昌 between 2023-05-29 00:00")


def test_connection_of_exactly_the_minimum(bugs: Snapshot) -> None:
    # T122 上海-武汉 10:40-15:15, then T123 武汉-成都 15:30-18:25: exactly 15 minutes.
    morning = dt.datetime(2023, 5, 28, 6, 0)
    it = plan(bugs, Query("上海", "成都", depart=morning)).itineraries[0]
    assert _legs(it) == [("T122", "上海", "武汉", "28 10:40"), ("T123", "武汉", "成都", "28 15:30")]
    assert it.fare_cents == 31030 + 20120
    assert it.waits[0].minutes == 15
    # One more minute and the only day's T123 is gone.
    late = plan(bugs, Query("上海", "成都", depart=morning, min_connection_minutes=16))
    assert late.itineraries == []
    assert "成都 cannot be reached from 上海" in late.message


def test_zemdalk_overnight_daily_train(shared_data: Path) -> None:
    # 北京-呼和浩特: T000206 21:31 - 06:52 next day is the last train of the day; the next
    # flights leave in the morning (F000205 11:41 - 06:51 the day after is slower still).
    snap = Snapshot.from_feed(parse_zemdalk(shared_data / "classic" / "Zemdalk"), 15)
    evening = dt.datetime(2025, 3, 3, 21, 0)
    it = plan(snap, Query("北京", "呼和浩特", depart=evening)).itineraries[0]
    assert _legs(it) == [("T000206", "北京", "呼和浩特", "03 21:31")]
    assert it.arrival.isoformat() == "2025-03-04T06:52:00+08:00"
    options = plan(snap, Query("北京", "呼和浩特", depart=evening, criterion="options"))
    assert [(o.legs[0].service, o.fare_cents) for o in options.itineraries] == [
        ("T000206", 15200),
        ("F000205", 15100),
    ]
