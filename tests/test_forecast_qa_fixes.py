"""QA findings on ``flask forecast``: the split of a history in two far-apart periods, output
files that cannot be written (refused before the work, not after it), bad seeds, dates and
limits, and the per-service median beside the trained model's figures."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import func, select

from tests.live import fresh_app
from transit.timetable.feed import (
    MAX_STOP_SECONDS,
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
)
from transit.timetable.history import HistoryTrip

RECENT = dt.date(2026, 3, 1)  # the recent history ends the day before
OLD = dt.date(2017, 3, 1)  # an old history (like bhmtrains beside the demo) ends before it
TINY = ["--tiny", "--features", "history", "--seeds", "0"]


def _feed() -> Feed:
    """K2 and G1 run daily; OLD ran in 2017; N9 arrives 14 days after it leaves (the longest
    run a timetable may hold), so a forecast date near the calendar's end reaches it."""
    feed = Feed(source="test")
    for name, code in (("Alpha", "AAA"), ("Beta", "BBB"), ("Gamma", "CCC")):
        feed.cities[name] = FeedCity(name=name, timezone="Asia/Shanghai", code=code)
    feed.calendars["daily"] = FeedCalendar()
    for number, origin, dest, hour, arrive in (
        ("K2", "Beta", "Gamma", 7, 12 * 3600), ("G1", "Alpha", "Beta", 8, 10 * 3600),
        ("OLD", "Gamma", "Alpha", 9, 11 * 3600), ("N9", "Alpha", "Gamma", 23, MAX_STOP_SECONDS),
    ):
        feed.services.append(FeedService(number=number, mode="train", operator="CR", timetables=[
            FeedTimetable("1", "daily", [FeedStop(origin, None, hour * 3600),
                                         FeedStop(dest, arrive, None)]),
        ]))
    return feed


def _runs(number: str, origin: str, dest: str, hour: int, hours: int, last: dt.date,
          days: int, known: bool = True, seed: int = 7) -> list[HistoryTrip]:
    """``days`` daily runs up to ``last`` (China time, stored as naive UTC)."""
    rng = np.random.default_rng(seed)
    trips = []
    for back in range(days):
        day = last - dt.timedelta(days=back)
        dep = dt.datetime(day.year, day.month, day.day, hour) - dt.timedelta(hours=8)
        arr = dep + dt.timedelta(hours=hours)
        late = dt.timedelta(minutes=float(rng.gamma(1.5, 6.0)))
        trips.append(HistoryTrip(
            operator="CR", number=number, route="", service_date=day, origin=origin,
            destination=dest, scheduled_departure=dep, scheduled_arrival=arr,
            actual_departure=dep + late / 3 if known else None,
            actual_arrival=arr + late if known else None, cancelled=False,
        ))
    return trips


def _load(app, trips: list[HistoryTrip]) -> None:
    from transit.timetable.history import load_history
    from transit.timetable.loader import load_feed
    from transit.web.extensions import db

    with app.app_context():
        load_feed(db.session(), _feed())
        load_history(db.session(), trips)
        db.session.commit()


def _two_periods() -> list[HistoryTrip]:
    """40 days of 2017 and 40 days of 2026: nine empty years between."""
    day_before = dt.timedelta(days=1)
    return (_runs("OLD", "Gamma", "Alpha", 9, 2, OLD - day_before, 40, seed=1)
            + _runs("K2", "Beta", "Gamma", 7, 5, RECENT - day_before, 40, seed=2)
            + _runs("G1", "Alpha", "Beta", 8, 2, RECENT - day_before, 40, seed=3))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The network with both histories, a tiny model trained on them and a tiny evaluation,
    both through the CLI."""
    from transit.web.extensions import db

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("qa_fixes")
    app = fresh_app(folder, "qa_fixes")
    _load(app, _two_periods())
    runner = app.test_cli_runner()
    trained = runner.invoke(args=["forecast", "train", "--source", "database", *TINY])
    report = folder / "evaluation" / "report.json"
    evaluated = runner.invoke(args=["forecast", "evaluate", "--source", "database", *TINY,
                                    "--no-plots", "--report", str(report)])
    yield {"app": app, "runner": runner, "folder": folder, "train": trained,
           "evaluate": evaluated, "report": report, "model": folder / "models" / "forecast.pt"}
    with app.app_context():
        db.engine.dispose()


def _refused(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output
    return result.output


# --- 1. The split is chosen over the dates that hold trips ------------------------------


def _table(app):
    from transit.forecast.data import load_trip_records
    from transit.web.extensions import db

    with app.app_context():
        return load_trip_records(db.session())


def test_split_of_two_far_apart_periods_holds_out_dates_with_trips(mixed) -> None:
    """The split cut the last quarter of the time span: validation fell in the empty years."""
    from transit.forecast.data import split_masks, time_split

    table = _table(mixed["app"])
    validate_from, test_from = time_split(table)
    # 80 dates: training the first 60 (all of 2017 and 20 days of 2026), validation 6,
    # test 14; each part starts at its first date's first departure (07:00 in China).
    assert validate_from == dt.datetime(2026, 2, 8, 23, tzinfo=dt.UTC)
    assert test_from == dt.datetime(2026, 2, 14, 23, tzinfo=dt.UTC)
    train, validate, test = split_masks(table, validate_from, test_from)
    assert (train & table.completed).sum() == 40 + 2 * 20
    assert (validate & table.completed).sum() == 2 * 6
    assert (test & table.completed).sum() == 2 * 14


def test_split_of_one_contiguous_history_is_the_last_quarter_of_its_span(app) -> None:
    """A history with trips every day (the demo network, bhmtrains in the database) is split
    as before, give or take the part of a day before its first departure."""
    from transit.forecast.data import epoch_seconds, time_split

    _load(app, _runs("K2", "Beta", "Gamma", 7, 5, RECENT, 90))
    table = _table(app)
    first, last = int(table.sched_dep.min()), int(table.sched_dep.max()) + 1
    span_cuts = (first + (last - first) * 0.75, first + (last - first) * (0.75 + 0.25 / 3))
    for cut, span_cut in zip(time_split(table), span_cuts, strict=True):
        assert abs(epoch_seconds(cut) - span_cut) < 86400


def test_train_on_two_far_apart_periods(mixed) -> None:
    result = mixed["train"]
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert ("Trips with a known outcome: 80 training (2017-01-20 to 2026-02-08), 12 validation "
            "(2026-02-09 to 2026-02-14), 28 test (2026-02-15 to 2026-02-28).") in result.output
    assert mixed["model"].is_file()


def test_evaluate_on_two_far_apart_periods(mixed) -> None:
    result = mixed["evaluate"]
    assert result.exit_code == 0, result.output
    written = json.loads(mixed["report"].read_text())
    assert (written["train_rows"], written["validate_rows"], written["test_rows"]) == (80, 12, 28)


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_part_without_known_outcomes_is_named_with_its_dates(
    app, runner, tmp_path: Path, command: str
) -> None:
    """20 dates whose last 5 have no recorded outcome: validation (the 16th date) and test
    (the last 4) have nothing to learn from or score."""
    last = RECENT - dt.timedelta(days=1)
    _load(app, _runs("K2", "Beta", "Gamma", 7, 5, last - dt.timedelta(days=5), 15)
          + _runs("K2", "Beta", "Gamma", 7, 5, last, 5, known=False))
    args = ["forecast", command, "--source", "database", *TINY]
    if command == "evaluate":
        args += ["--report", str(tmp_path / "report.json")]
    output = " ".join(_refused(runner.invoke(args=args)).split())
    empty = "the validation period has" if command == "train" else "validation and test periods have"
    assert f"{empty} no trip with a known outcome" in output
    assert ("Training 2026-02-09 to 2026-02-23: 15 trips, 15 with a known outcome; "
            "validation 2026-02-24: 1 trip, 0 with a known outcome; "
            "test 2026-02-25 to 2026-02-28: 4 trips, 0 with a known outcome.") in output
    assert "Why: the split is by date: of the 20 service dates that hold trips" in output
    assert not (tmp_path / "report.json").exists()
    assert not (tmp_path / "models" / "forecast.pt").exists()


def test_a_history_of_two_dates_cannot_be_split(app, runner) -> None:
    _load(app, _runs("K2", "Beta", "Gamma", 7, 5, RECENT, 2))
    output = _refused(runner.invoke(args=["forecast", "train", "--source", "database", *TINY]))
    assert "the trips cover only 2026-02-28 and 2026-03-01: 2 service dates" in output
    assert "training, validation and testing need one each" in output


# --- 2. Output files are checked before the work ----------------------------------------


@pytest.fixture
def unwritable_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder that takes no new files: read-only, or (for root, whom modes do not stop)
    a folder of /sys, which refuses new files to everyone."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        yield folder
    else:
        (folder / "probe").unlink()
        sys_folder = Path("/sys/fs")
        try:
            (sys_folder / "probe").touch()
        except OSError:
            yield sys_folder
        else:  # pragma: no cover
            pytest.skip("no folder here refuses new files")
    finally:
        folder.chmod(0o755)


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize("where", ["read-only", "a file", "under a file"])
def test_train_refuses_a_model_folder_it_cannot_write_before_training(
    mixed, unwritable_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    folder = {"read-only": unwritable_dir, "a file": _a_file(tmp_path),
              "under a file": _a_file(tmp_path) / "models"}[where]
    monkeypatch.setitem(mixed["app"].config, "TRANSIT_MODEL_DIR", str(folder))
    result = mixed["runner"].invoke(args=["forecast", "train", "--source", "database", *TINY])
    output = _refused(result)
    assert f"cannot write the model to {folder / 'forecast.pt'} (TRANSIT_MODEL_DIR)" in output
    if where == "read-only":
        assert f"the folder {folder} takes no new files" in output
    else:
        assert f"{tmp_path / 'a-file'} is a file, not a folder" in output
    assert "Reading trips" not in output  # refused before any work


def test_train_refuses_an_out_path_under_a_file(mixed, tmp_path: Path) -> None:
    out = _a_file(tmp_path) / "model.pt"
    output = _refused(mixed["runner"].invoke(args=[
        "forecast", "train", "--source", "database", *TINY, "--out", str(out)]))
    assert f"cannot write the model to {out} (--out)" in output
    assert "Reading trips" not in output


@pytest.mark.parametrize("where", ["read-only", "under a file"])
def test_evaluate_refuses_a_report_it_cannot_write_before_evaluating(
    mixed, unwritable_dir: Path, tmp_path: Path, where: str
) -> None:
    folder = unwritable_dir if where == "read-only" else _a_file(tmp_path)
    report = folder / "r.json"
    output = _refused(mixed["runner"].invoke(args=[
        "forecast", "evaluate", "--source", "database", *TINY, "--report", str(report)]))
    assert f"cannot write the report to {report} (--report)" in output
    assert "Reading trips" not in output


def _stored_forecasts(app) -> int:
    from transit.models import ServiceForecast
    from transit.web.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ServiceForecast)) or 0


@pytest.mark.parametrize("where", ["read-only", "under a file"])
def test_predict_stores_nothing_when_it_cannot_write_its_json(
    mixed, unwritable_dir: Path, tmp_path: Path, where: str
) -> None:
    folder = unwritable_dir if where == "read-only" else _a_file(tmp_path)
    before = _stored_forecasts(mixed["app"])
    out = folder / "out.json"
    output = _refused(mixed["runner"].invoke(args=[
        "forecast", "predict", "--date", "2026-05-04", "--model", str(mixed["model"]),
        "--json", str(out)]))
    assert f"cannot write the forecasts to {out} (--json)" in output
    assert "Nothing was done." in output
    assert _stored_forecasts(mixed["app"]) == before


# --- 3. Seeds, dates and limits ---------------------------------------------------------


@pytest.mark.parametrize("seeds", ["-1", "99999999999999999999", "0,4294967296"])
def test_train_refuses_a_seed_out_of_range(mixed, seeds: str) -> None:
    output = _refused(mixed["runner"].invoke(args=[
        "forecast", "train", "--source", "database", "--quick", "--seeds", seeds]), code=2)
    assert "a seed is a whole number from 0 to 4294967295, not" in output
    assert seeds.split(",")[-1] in output
    assert "Reading trips" not in output


@pytest.mark.parametrize(("date", "days"), [
    ("9999-12-30", "5"), ("9999-12-16", "1"), ("9999-12-10", "7"), ("0001-01-02", "1"),
])
def test_predict_refuses_dates_past_the_calendar(mixed, date: str, days: str) -> None:
    output = _refused(mixed["runner"].invoke(args=[
        "forecast", "predict", "--date", date, "--days", days, "--model", str(mixed["model"])]),
        code=2)
    assert "forecasts are made for service dates from 0001-01-03 to 9999-12-15" in output
    assert f"not {date}" in output


@pytest.mark.parametrize(("date", "known"), [("9999-12-15", 3), ("0001-01-03", 0)])
def test_predict_forecasts_the_first_and_last_dates_it_takes(mixed, date: str,
                                                              known: int) -> None:
    """N9 arrives 14 days after its service date: the command still ends well. Only runs
    of services with a recorded run before them are forecast (N9 has none; nothing was
    recorded before 0001-01-03), the others are counted as not forecast."""
    out = mixed["folder"] / f"edge-{date}.json"
    result = mixed["runner"].invoke(args=[
        "forecast", "predict", "--date", date, "--model", str(mixed["model"]),
        "--json", str(out), "--limit", "0"])
    assert result.exit_code == 0, result.output
    forecasts = json.loads(out.read_text())["forecasts"]
    assert len(forecasts) == known
    assert f"Not forecast: {4 - known} runs whose service has no recorded run" in result.output \
        or (4 - known == 1 and "Not forecast: 1 run whose" in result.output)
    assert all(f["service_date"] == date for f in forecasts)
    assert "dep " not in result.output  # --limit 0: no rows printed


def test_predict_refuses_a_negative_limit(mixed) -> None:
    output = _refused(mixed["runner"].invoke(args=[
        "forecast", "predict", "--date", "2026-05-04", "--limit", "-1",
        "--model", str(mixed["model"])]), code=2)
    assert "'--limit': -1 is not in the range x>=0" in output


# --- 4. The per-service median beside the trained model's figures ------------------------


def test_train_prints_the_per_service_median_beside_the_timetable(mixed) -> None:
    from transit.forecast.lstm import load_checkpoint

    result = mixed["train"]
    assert result.exit_code == 0, result.output
    metrics = load_checkpoint(mixed["model"]).metrics
    median = metrics["median_last_14"]
    line = next(line for line in result.output.splitlines() if line.startswith("Test:"))
    assert (f"(timetable {metrics['timetable']['tt_mae']:.2f}, median of the service's last "
            f"14 trips {median['tt_mae']:.2f})") in line
    assert (f"(timetable {metrics['timetable']['arr_mae']:.2f}, median of the last 14 "
            f"{median['arr_mae']:.2f})") in line
    # The evaluation's own baselines on the same split and rows: the same figures.
    assert mixed["evaluate"].exit_code == 0, mixed["evaluate"].output
    evaluation = json.loads(mixed["report"].read_text())
    assert evaluation["methods"]["median_last_14"] == pytest.approx(median)
    assert evaluation["methods"]["timetable"] == pytest.approx(metrics["timetable"])
