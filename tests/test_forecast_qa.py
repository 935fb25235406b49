"""Forecast QA (a rail planner's view): forecasts of runs the timetable no longer has, what
the model's figures are worth beside the timetable, the predict command's words and times,
and the forecasts API's answer for a service that does not exist.

A tiny network (a daily flight and a daily train between Beijing and Shanghai, 40 days of
recorded runs) and a tiny model trained once on it through the CLI (a few seconds)."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests.live import fresh_app
from transit.models import (
    Calendar,
    City,
    Service,
    ServiceForecast,
    Stop,
    Timetable,
    TripRecord,
)

H = 3600
FIRST_RUN = dt.date(2025, 3, 1)
RUN_DAYS = 40
# A date still to come (the service page shows forecasts of runs not yet left).
FUTURE = dt.date.today() + dt.timedelta(days=10)
FUTURE_UTC = dt.datetime.combine(FUTURE, dt.time(0))  # 08:00 in China


def _network(session) -> dict[str, int]:
    """Beijing -> Shanghai: flight MU1 08:00-10:15 and train G1 09:00-13:30 daily (China
    time), each with a recorded run a day from 1 March 2025 for 40 days."""
    beijing = City(name="北京", code="BJP", timezone="Asia/Shanghai")
    shanghai = City(name="上海", code="SHH", timezone="Asia/Shanghai")
    daily = Calendar(name="daily", weekdays=0b1111111, start_date=dt.date(2025, 1, 1),
                     end_date=dt.date(2099, 12, 31))
    flight = Service(number="MU1", mode="flight", operator="China Eastern")
    Timetable(code="1", calendar=daily, service=flight, stops=[
        Stop(sequence=0, city=beijing, departure=8 * H),
        Stop(sequence=1, city=shanghai, arrival=10 * H + 15 * 60),
    ])
    train = Service(number="G1", mode="train", operator="CR")
    Timetable(code="1", calendar=daily, service=train, stops=[
        Stop(sequence=0, city=beijing, departure=9 * H),
        Stop(sequence=1, city=shanghai, arrival=13 * H + 30 * 60),
    ])
    session.add_all([beijing, shanghai, flight, train])
    session.flush()
    rng = random.Random(7)
    for service, leaves_h, minutes in ((flight, 0, 135), (train, 1, 270)):
        for k in range(RUN_DAYS):
            day = FIRST_RUN + dt.timedelta(days=k)
            leaves = dt.datetime.combine(day, dt.time(leaves_h))  # UTC: 8 hours behind China
            late = rng.choice([0, 0, 1, 2, 5, 12])
            session.add(TripRecord(
                service_id=service.id, service_date=day, origin_id=beijing.id,
                destination_id=shanghai.id, scheduled_departure=leaves,
                scheduled_arrival=leaves + dt.timedelta(minutes=minutes),
                actual_departure=leaves + dt.timedelta(minutes=late // 2),
                actual_arrival=leaves + dt.timedelta(minutes=minutes + late),
                cancelled=False,
            ))
    session.commit()
    return {"beijing": beijing.id, "shanghai": shanghai.id, "flight": flight.id,
            "train": train.id}


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A tiny checkpoint trained through the CLI on the network's history."""
    from transit.web.extensions import db

    folder = tmp_path_factory.mktemp("forecastqa-model")
    app = fresh_app(folder, "train")
    with app.app_context():
        _network(db.session())
    result = app.test_cli_runner().invoke(
        args=["forecast", "train", "--source", "database", "--tiny", "--seeds", "0"])
    assert result.exit_code == 0, result.output
    yield folder / "models" / "forecast.pt"
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def planner(tmp_path: Path, trained_model: Path) -> Iterator[tuple[Flask, dict[str, int]]]:
    """A fresh app with the network and a copy of the trained model."""
    from transit.web.extensions import db

    app = fresh_app(tmp_path, "qa")
    (tmp_path / "models").mkdir()
    shutil.copy(trained_model, tmp_path / "models" / "forecast.pt")
    with app.app_context():
        ids = _network(db.session())
    yield app, ids
    with app.app_context():
        db.engine.dispose()


def _predict(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["forecast", "predict", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _move_departure(app: Flask, service_id: int, hours: int) -> None:
    """The timetable's first departure of the service moves by ``hours``."""
    from transit.web.extensions import db

    with app.app_context():
        stop = db.session.scalars(
            select(Stop).join(Timetable).where(Timetable.service_id == service_id,
                                               Stop.sequence == 0)).one()
        assert stop.departure is not None
        stop.departure += hours * H
        db.session.commit()


def _stored(app: Flask, service_id: int) -> list[tuple[dt.date, dt.datetime]]:
    from transit.web.extensions import db

    with app.app_context():
        return [(row.service_date, row.scheduled_departure) for row in db.session.scalars(
            select(ServiceForecast).where(ServiceForecast.service_id == service_id)
            .order_by(ServiceForecast.scheduled_departure))]


# --- forecasts of runs the timetable no longer has ---------------------------------------


def test_predicting_a_date_again_drops_runs_the_timetable_no_longer_has(planner) -> None:
    app, ids = planner
    _predict(app, "--date", FUTURE.isoformat())
    assert _stored(app, ids["flight"]) == [(FUTURE, FUTURE_UTC)]
    # The flight now leaves at 09:00 (01:00 UTC): the 08:00 run is gone from the timetable.
    _move_departure(app, ids["flight"], 1)
    _predict(app, "--date", FUTURE.isoformat())
    assert _stored(app, ids["flight"]) == [(FUTURE, FUTURE_UTC + dt.timedelta(hours=1))]
    # The other service's forecast is there once, as before.
    assert _stored(app, ids["train"]) == [(FUTURE, FUTURE_UTC + dt.timedelta(hours=1))]


def test_service_page_leaves_out_the_forecast_of_a_run_no_longer_in_the_timetable(
    planner,
) -> None:
    app, ids = planner
    _predict(app, "--date", FUTURE.isoformat())
    client = app.test_client()
    before = client.get(f"/services/{ids['flight']}").get_data(as_text=True)
    assert 'data-forecasts="1"' in before
    assert f"Forecast for the run leaving {FUTURE} 08:00" in before
    # The flight is moved to 09:00 after the forecasts were made; no new forecast yet.
    _move_departure(app, ids["flight"], 1)
    after = client.get(f"/services/{ids['flight']}").get_data(as_text=True)
    assert 'data-forecasts="0"' in after
    assert f"{FUTURE} 08:00" not in after
    assert "No forecast: the timetable only." in after
