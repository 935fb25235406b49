"""Baselines the LSTM has to beat, scored on exactly the same rows.

Every method returns a ``Prediction``: the forecast residual of the travel time (minutes
over the timetabled travel time) and the forecast arrival delay, both in minutes, for each
row of a ``Features``. scikit-learn is imported inside the fitted baselines only, so the
forecast core runs on a machine that has just torch and numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transit.forecast.features import Features, _nan_median


@dataclass
class Prediction:
    """Forecast travel-time residual and arrival delay (minutes), with optional quantiles."""

    tt_resid: np.ndarray
    arr_delay: np.ndarray
    tt_q10: np.ndarray | None = None
    tt_q90: np.ndarray | None = None
    arr_q10: np.ndarray | None = None
    arr_q90: np.ndarray | None = None


def average_predictions(predictions: list[Prediction]) -> Prediction:
    """The ensemble forecast: each quantile averaged over the members.

    An average of non-crossing quantiles never crosses, so the range stays ordered.
    """
    if len(predictions) == 1:
        return predictions[0]

    def mean(name: str) -> np.ndarray | None:
        values = [getattr(p, name) for p in predictions]
        if any(v is None for v in values):
            return None
        return np.mean(np.stack(values), axis=0)

    tt, arr = mean("tt_resid"), mean("arr_delay")
    assert tt is not None and arr is not None
    return Prediction(tt, arr, mean("tt_q10"), mean("tt_q90"), mean("arr_q10"), mean("arr_q90"))


def timetable(features: Features) -> Prediction:
    """The timetable itself: travel time as scheduled, no delay."""
    zeros = np.zeros(len(features))
    return Prediction(zeros, zeros.copy())


def last_k(features: Features, k: int, how: str = "median") -> Prediction:
    """Mean or median residual of the service's last ``k`` known trips (0 without any)."""
    tt = features.hist_tt[:, -k:]
    arr = features.hist_arr[:, -k:]
    if how == "median":
        return Prediction(_nan_median(tt), _nan_median(arr))
    if how != "mean":
        raise ValueError(f"how must be 'mean' or 'median', not {how!r}")

    def mean(values: np.ndarray) -> np.ndarray:
        present = ~np.isnan(values)
        return np.where(present, values, 0.0).sum(axis=1) / np.maximum(present.sum(axis=1), 1)

    return Prediction(mean(tt), mean(arr))


def _targets(features: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = features.has_target
    return ok, features.tt_resid[ok], features.arr_delay[ok]


class Ridge:
    """Ridge regression on the lag features (standardised), alpha chosen on validation."""

    def __init__(self, alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)) -> None:
        self.alphas = alphas
        self.models: dict[str, object] = {}

    def fit(self, train: Features, validate: Features) -> Ridge:
        from sklearn.linear_model import Ridge as SkRidge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        ok, tt, arr = _targets(train)
        vok, vtt, varr = _targets(validate)
        for name, y, vy in (("tt", tt, vtt), ("arr", arr, varr)):
            best: tuple[float, object] | None = None
            for alpha in self.alphas:
                model = make_pipeline(StandardScaler(), SkRidge(alpha=alpha))
                model.fit(train.flat[ok], np.clip(y, -120, 600))
                error = float(np.mean(np.abs(model.predict(validate.flat[vok]) - vy)))
                if best is None or error < best[0]:
                    best = (error, model)
            assert best is not None
            self.models[name] = best[1]
        return self

    def predict(self, features: Features) -> Prediction:
        tt = self.models["tt"].predict(features.flat)  # type: ignore[attr-defined]
        arr = self.models["arr"].predict(features.flat)  # type: ignore[attr-defined]
        return Prediction(np.asarray(tt, dtype=np.float64), np.asarray(arr, dtype=np.float64))


class GradientBoosting:
    """scikit-learn's histogram gradient boosting with L1 loss on the lag features.

    Early stopping watches the validation month, as the LSTM's does.
    """

    def __init__(self, max_iter: int = 500, learning_rate: float = 0.1, seed: int = 0) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.seed = seed
        self.models: dict[str, object] = {}

    def fit(self, train: Features, validate: Features, step: int = 25) -> GradientBoosting:
        from sklearn.ensemble import HistGradientBoostingRegressor

        ok, tt, arr = _targets(train)
        vok, vtt, varr = _targets(validate)
        for name, y, vy in (("tt", tt, vtt), ("arr", arr, varr)):
            def make(n_trees: int, warm: bool) -> HistGradientBoostingRegressor:
                return HistGradientBoostingRegressor(
                    loss="absolute_error",
                    max_iter=n_trees,
                    learning_rate=self.learning_rate,
                    max_leaf_nodes=63,
                    min_samples_leaf=100,
                    early_stopping=False,
                    warm_start=warm,
                    random_state=self.seed,
                )

            # Grow trees in steps while the validation month's error falls.
            model = make(step, True)
            best_error, best_trees, trees = np.inf, step, step
            while True:
                model.fit(train.flat[ok], y)
                error = float(np.mean(np.abs(model.predict(validate.flat[vok]) - vy)))
                if error < best_error:
                    best_error, best_trees = error, trees
                if error >= best_error and trees > best_trees or trees >= self.max_iter:
                    break
                trees += step
                model.set_params(max_iter=trees)
            if best_trees != trees:
                model = make(best_trees, False)
                model.fit(train.flat[ok], y)
            self.models[name] = model
        return self

    def predict(self, features: Features) -> Prediction:
        tt = self.models["tt"].predict(features.flat)  # type: ignore[attr-defined]
        arr = self.models["arr"].predict(features.flat)  # type: ignore[attr-defined]
        return Prediction(np.asarray(tt, dtype=np.float64), np.asarray(arr, dtype=np.float64))
