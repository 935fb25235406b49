"""``flask route`` on a small database, the database snapshot and its cache."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from transit.routing import Query, Snapshot, plan
from transit.routing.cache import snapshot_for
from transit.timetable.classic import parse_nenieco
from transit.timetable.loader import load_feed


@pytest.fixture
def loaded(app, shared_data: Path):  # type: ignore[no-untyped-def]
    from transit.web.extensions import db

    with app.app_context():
        load_feed(db.session, parse_nenieco(shared_data / "classic" / "Nenieco-test"))
        db.session.commit()
    return app


def test_route_json(loaded, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=["route", "Beijing", "Shenzhen", "--depart", "2025-03-03T06:00", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == {
        "itineraries": [
            {
                "departure": "2025-03-03T10:00:00+08:00",
                "arrival": "2025-03-03T18:00:00+08:00",
                "duration_minutes": 480,
                "fare": 2000.0,
                "currency": "CNY",
                "transfers": 0,
                "legs": [
                    {
                        "service": "G7",
                        "mode": "train",
                        "from": "Beijing",
                        "to": "Shenzhen",
                        "departure": "2025-03-03T10:00:00+08:00",
                        "arrival": "2025-03-03T18:00:00+08:00",
                        "fare": 2000.0,
                        "currency": "CNY",
                        "route": None,  # the classic formats name no line
                        "forecast_arrival": None,  # no forecast stored
                        "forecast_range": None,
                    }
                ],
                "connections": [],
            }
        ],
        "message": "",
    }


def test_route_text_shows_legs_waits_and_next_day(loaded, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=["route", "Beijing", "Shenzhen", "--depart", "2025-03-03T06:00",
              "--criterion", "cheapest"]
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "G3" in text and "G4" in text and "G6" in text
    assert "wait 24 h 00 min at Guangzhou" in text
    assert "23:00 +1 day" in text
    assert "fare 1300.00 CNY" in text


def test_route_options_modes_and_zero_connection(loaded, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=["route", "Beijing", "Shenzhen", "--depart", "2025-03-03T06:00", "--criterion",
              "options", "--min-connection", "0", "--modes", "train,flight", "--json"]
    )
    assert result.exit_code == 0, result.output
    options = json.loads(result.output)["itineraries"]
    assert [(o["fare"], o["transfers"]) for o in options] == [(2000.0, 0), (1300.0, 2), (1600.0, 1)]
    flights = runner.invoke(
        args=["route", "Beijing", "Shenzhen", "--depart", "2025-03-03T06:00", "--modes",
              "flight", "--json"]
    )
    data = json.loads(flights.output)
    assert data["itineraries"] == []
    assert "mode filter" in data["message"]


def test_route_arrive_by_and_max_transfers(loaded, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=["route", "Beijing", "Shanghai", "--arrive-by", "2025-03-03T16:00", "--json"]
    )
    assert json.loads(result.output)["itineraries"][0]["legs"][0]["service"] == "G2"
    result = runner.invoke(
        args=["route", "Beijing", "Shenzhen", "--depart", "2025-03-03T06:00", "--criterion",
              "cheapest", "--max-transfers", "0", "--window-hours", "24", "--json"]
    )
    assert json.loads(result.output)["itineraries"][0]["fare"] == 2000.0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["Beijing", "Atlantis"], "no city called 'Atlantis'\n"),
        # A slip of the keyboard gets the city it most likely meant, by name or by code.
        (["Beijing", "Shanghia"], "no city called 'Shanghia'. Did you mean 'Shanghai'?"),
        (["Beijing", "Shanghai", "--depart", "tomorrow"], "--depart: 'tomorrow' is not an ISO 8601"),
        (["Beijing", "Shanghai", "--arrive-by", "2025-13-01"], "--arrive-by"),
        (["Beijing", "Shanghai", "--window-hours", "500"], "window-hours"),
        (["Beijing", "Shanghai", "--modes", "rocket"], "unknown mode rocket"),
        # Beyond what the API takes: a traceback (OverflowError) once.
        (["Beijing", "Shanghai", "--max-transfers", "99999999999999999999"],
         "max-transfers: must be from 0 to 10"),
        (["Beijing", "Shanghai", "--min-connection", "99999999999999999999"],
         "min-connection: must be from 0 to 1440"),
        (["Beijing", "Beijing"], "destination"),
        (["Beijing", "Shanghai", "--depart", "2025-03-03T06:00", "--arrive-by",
          "2025-03-03T16:00"], "not both"),
    ],
)
def test_route_errors_exit_2_without_traceback(loaded, runner, args, needle) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["route", *args])
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output


def test_snapshot_from_session_matches_feed(session: Session, shared_data: Path) -> None:
    feed = parse_nenieco(shared_data / "classic" / "Nenieco-test")
    load_feed(session, feed)
    session.commit()
    from_db = Snapshot.from_session(session, 0)
    from_feed = Snapshot.from_feed(feed, 0)
    assert from_db.connection_count == from_feed.connection_count == 8
    for criterion in ("fastest", "cheapest", "transfers", "options"):
        query = Query("Beijing", "Shenzhen", depart=dt.datetime(2025, 3, 3, 6),
                      criterion=criterion)
        assert plan(from_db, query).to_json() == plan(from_feed, query).to_json()


def test_cache_rebuilds_when_the_data_changes(session: Session, shared_data: Path) -> None:
    from transit.models import City

    load_feed(session, parse_nenieco(shared_data / "classic" / "Nenieco-test"))
    session.commit()
    first = snapshot_for(session, 15)
    assert snapshot_for(session, 15) is first
    session.add(City(name="Xi'an", timezone="Asia/Shanghai"))
    session.commit()
    second = snapshot_for(session, 15)
    assert second is not first
    assert "Xi'an" in second.city_index
    assert snapshot_for(session, 15) is second


def test_close_cities_by_name_or_code_in_any_case() -> None:
    from transit.routing import Snapshot, UnknownCity
    from transit.timetable.feed import Feed, FeedCity

    feed = Feed(source="t", cities={
        "a": FeedCity("Millbrae", "MLB"), "b": FeedCity("Milpitas", "MLP"),
        "c": FeedCity("San Jose", "SJC"),
    })
    snap = Snapshot.from_feed(feed, 15)
    assert snap.close_cities("milbrae") == ("Millbrae",)
    assert snap.close_cities("sjcc") == ("San Jose",)  # by its code
    assert snap.close_cities("Millpitas") == ("Milpitas",)
    assert snap.close_cities("Sacramento") == ()
    assert UnknownCity("x").did_you_mean == ""
    assert UnknownCity("x", ("A",)).did_you_mean == " Did you mean 'A'?"
    assert UnknownCity("x", ("A", "B", "C")).did_you_mean == " Did you mean 'A', 'B' or 'C'?"
