"""Forecasts in the product, on the demo network: the quick model, stored forecasts, the
service page chart, and forecasts in itineraries (CLI JSON and the results page)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.live import fresh_app
from transit.forecast.itinerary import delay_cdf, miss_probability
from transit.models import ServiceForecast, TripRecord

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The demo network with its history, a quick model and three days of forecasts."""
    from transit.demo import seed_demo_network
    from transit.web.extensions import db

    folder = tmp_path_factory.mktemp("demo")
    app = fresh_app(folder, "demo")
    with app.app_context():
        seed_demo_network(db.session(), 2026)
        db.session.commit()
    runner = app.test_cli_runner()
    trained = runner.invoke(args=["forecast", "train", "--source", "database", "--quick"])
    assert trained.exit_code == 0, trained.output
    today = dt.datetime.now(CHINA).date()
    predicted = runner.invoke(
        args=["forecast", "predict", "--date", today.isoformat(), "--days", "3"]
    )
    assert predicted.exit_code == 0, predicted.output
    yield {"app": app, "runner": runner, "today": today, "train": trained.output,
           "predict": predicted.output, "models": folder / "models"}
    with app.app_context():
        db.engine.dispose()


def _planned_runs(app, dates) -> int:
    from transit.forecast.predict import planned_trips
    from transit.web.extensions import db

    with app.app_context():
        return sum(len(planned_trips(db.session(), d)) for d in dates)


def test_quick_model_forecasts_and_stores_every_run(demo) -> None:
    app, today = demo["app"], demo["today"]
    assert (demo["models"] / "forecast.pt").is_file()
    assert "Trained on cpu" in demo["train"] and "Test: travel time MAE" in demo["train"]
    dates = [today + dt.timedelta(days=n) for n in range(3)]
    expected = _planned_runs(app, dates)
    assert expected > 1000
    assert f"Forecast {expected} runs on" in demo["predict"]
    assert f"stored {expected}." in demo["predict"]
    from transit.web.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(ServiceForecast)).all()
        assert len(rows) == expected
        assert {r.service_date for r in rows} == set(dates)
        for row in rows:
            assert row.travel_p10 <= row.travel_p50 <= row.travel_p90
            assert row.delay_p10 <= row.delay_p50 <= row.delay_p90
            assert row.scheduled_arrival > row.scheduled_departure
            assert row.model.startswith("lstm database")
        one_service = rows[0].service_id
    # Forecasting a date again replaces its runs: no duplicates, same count.
    again = demo["runner"].invoke(args=["forecast", "predict", "--date", today.isoformat()])
    assert again.exit_code == 0, again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceForecast)) == expected
        assert db.session.scalar(
            select(func.count()).select_from(ServiceForecast)
            .where(ServiceForecast.service_id == one_service)
        )


def test_predict_prints_the_arrivals_the_api_gives(demo) -> None:
    """The command's arrival times are the API's, to the minute (it once cut the seconds
    where the API rounds them)."""
    from transit.models import Service
    from transit.web.api.forecasts import forecast_out
    from transit.web.extensions import db

    day = demo["today"]
    result = demo["runner"].invoke(
        args=["forecast", "predict", "--date", day.isoformat(), "--limit", "40"]
    )
    assert result.exit_code == 0, result.output
    # Times on the cities' clocks (the demo network is all in China).
    lines = re.findall(r"^\S+ (\S+) \S+ (\S+): dep (\d\d:\d\d) CST, .* arrival (\d\d:\d\d) CST",
                       result.output, re.M)
    assert len(lines) >= 30  # (a name with spaces does not match the pattern)
    with demo["app"].app_context():
        for number, date, leaves, printed in lines:
            departure = dt.datetime.fromisoformat(f"{date} {leaves}").replace(tzinfo=CHINA)
            row = db.session.scalars(
                select(ServiceForecast).join(Service).where(
                    Service.number == number,
                    ServiceForecast.scheduled_departure
                    == departure.astimezone(dt.UTC).replace(tzinfo=None),
                )
            ).first()
            assert row is not None
            arrival = dt.datetime.fromisoformat(forecast_out(row).forecast_arrival)
            assert f"{arrival.astimezone(CHINA):%H:%M}" == printed, (number, departure)
    # The delay is printed in the same whole minutes: a delay under half a minute early
    # once printed as "-0 min".
    assert "(-0 min)" not in result.output
    assert re.search(r"\([+-]\d+ min\)$", result.output, re.M)


def test_coming_dates_are_the_cities_own_dates() -> None:
    from transit.forecast.store import coming_dates

    # 21:12 UTC on 27 November is already the 28th in China, still the 27th in New York.
    evening = dt.datetime(2026, 11, 27, 21, 12, tzinfo=dt.UTC)
    day = dt.date(2026, 11, 27)
    assert coming_dates(["Asia/Shanghai"], 3, evening) == [
        day + dt.timedelta(days=n) for n in (1, 2, 3)
    ]
    assert coming_dates(["America/New_York", "Asia/Shanghai", "Asia/Shanghai"], 3, evening) == [
        day + dt.timedelta(days=n) for n in range(4)
    ]
    assert coming_dates([], 1, evening) == [day]


def test_predict_without_a_date_forecasts_the_network_s_today(demo) -> None:
    # The demo's cities are all in China: their date, not the machine's (UTC) one, which
    # is a day behind from 16:00 UTC on.
    before = dt.datetime.now(CHINA).date()
    result = demo["runner"].invoke(args=["forecast", "predict"])
    after = dt.datetime.now(CHINA).date()
    assert result.exit_code == 0, result.output
    assert any(f"runs on {day.isoformat()} in" in result.output for day in (before, after))


def test_train_if_missing_keeps_the_model(demo) -> None:
    path = demo["models"] / "forecast.pt"
    before = path.stat().st_mtime_ns
    result = demo["runner"].invoke(
        args=["forecast", "train", "--source", "database", "--quick", "--if-missing"]
    )
    assert result.exit_code == 0, result.output
    assert "A trained model exists" in result.output
    assert path.stat().st_mtime_ns == before


def test_predict_without_a_model_says_so(runner) -> None:
    result = runner.invoke(args=["forecast", "predict", "--date", "2026-03-02"])
    assert result.exit_code != 0
    assert "There is no trained forecast model" in result.output
    assert "timetable only" in result.output


def _service_with_forecasts(app, now: dt.datetime) -> tuple[int, int, int, int]:
    """A service with upcoming forecasts: id, its recorded runs, cancelled among the last
    30, and forecasts leaving after ``now``."""
    from transit.web.extensions import db

    with app.app_context():
        service_id = db.session.scalar(
            select(ServiceForecast.service_id)
            .where(ServiceForecast.scheduled_departure >= now + dt.timedelta(hours=2))
            .order_by(ServiceForecast.service_id)
            .limit(1)
        )
        assert service_id is not None
        last = db.session.execute(
            select(TripRecord.cancelled, TripRecord.actual_arrival)
            .where(TripRecord.service_id == service_id)
            .order_by(TripRecord.scheduled_departure.desc())
            .limit(30)
        ).all()
        upcoming = db.session.scalar(
            select(func.count()).select_from(ServiceForecast)
            .where(ServiceForecast.service_id == service_id)
            .where(ServiceForecast.scheduled_departure >= now)
        )
    missing = sum(1 for cancelled, arrival in last if cancelled or arrival is None)
    return service_id, len(last), missing, min(int(upcoming or 0), 7)


def test_service_page_charts_past_runs_timetable_and_forecast(demo) -> None:
    app = demo["app"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    service_id, runs, missing, upcoming = _service_with_forecasts(app, now)
    html = app.test_client().get(f"/services/{service_id}").get_data(as_text=True)
    assert 'class="forecast-chart' in html
    start = html.index('class="forecast-chart')
    chart = html[start : html.index("</section>", start)]
    assert "<script" not in chart  # drawn on the server
    assert chart.count('<circle class="past"') == runs - missing
    assert chart.count('<g class="forecast">') == upcoming
    assert chart.count('class="forecast-range"') == upcoming
    points = re.search(r'<polyline class="timetable" points="([^"]+)"', chart)
    assert points is not None and len(points.group(1).split()) == runs + upcoming
    caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", chart, re.S)
    assert caption is not None
    assert f"The last {runs - missing} recorded runs took" in caption.group(1)
    assert "Forecast for the run leaving" in caption.group(1)
    # Times on the clock of the city the run leaves (all in China here), as on every page.
    with app.app_context():
        from transit.web.extensions import db

        first = db.session.scalars(
            select(ServiceForecast.scheduled_departure)
            .where(ServiceForecast.service_id == service_id)
            .where(ServiceForecast.scheduled_departure >= now)
            .order_by(ServiceForecast.scheduled_departure, ServiceForecast.id)
        ).first()
    assert first is not None
    local = first.replace(tzinfo=dt.UTC).astimezone(CHINA)
    assert f"leaving {local:%Y-%m-%d %H:%M}:" in caption.group(1)
    assert "UTC" not in chart
    chinese = app.test_client().get(f"/services/{service_id}?lang=zh").get_data(as_text=True)
    assert "行程时间：以往班次与预测" in chinese and "十次中有八次" in chinese


def _route_json(runner, origin: str, destination: str, depart: str, criterion: str) -> dict:
    result = runner.invoke(
        args=["route", origin, destination, "--depart", depart, "--criterion", criterion, "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_itineraries_carry_forecast_arrivals_and_miss_chances(demo) -> None:
    tomorrow = demo["today"] + dt.timedelta(days=1)
    body = _route_json(demo["runner"], "北京", "乌鲁木齐", f"{tomorrow}T08:00", "options")
    assert body["itineraries"]
    with_transfer = 0
    for itinerary in body["itineraries"]:
        assert len(itinerary["connections"]) == itinerary["transfers"] == len(itinerary["legs"]) - 1
        for leg in itinerary["legs"]:
            # The timetable's fields are all there; the forecast is beside them.
            assert {"service", "mode", "from", "to", "departure", "arrival", "fare"} <= set(leg)
            assert leg["forecast_arrival"] is not None, leg
            low, high = (dt.datetime.fromisoformat(t) for t in leg["forecast_range"])
            forecast = dt.datetime.fromisoformat(leg["forecast_arrival"])
            assert low <= forecast <= high
            assert forecast.utcoffset() == dt.datetime.fromisoformat(leg["arrival"]).utcoffset()
        for connection in itinerary["connections"]:
            with_transfer += 1
            assert 0.0 <= connection["miss_probability"] <= 1.0
            assert connection["slack_minutes"] >= 0
    assert with_transfer > 0


def test_results_page_shows_forecast_and_miss_chance(demo) -> None:
    tomorrow = demo["today"] + dt.timedelta(days=1)
    html = demo["app"].test_client().get(
        f"/routes?from=北京&to=乌鲁木齐&date={tomorrow}&time=08:00&criterion=options"
    ).get_data(as_text=True)
    assert "Forecast arrival:" in html
    assert html.count('class="leg-forecast"') >= 1
    assert "Chance of missing this connection" in html
    assert "Timetable times only" not in html


def test_results_page_says_timetable_only_without_forecasts(client) -> None:
    from transit.demo import seed_demo_network
    from transit.web.extensions import db

    app = client.application
    with app.app_context():
        seed_demo_network(db.session(), 2026, history_days=1)
        db.session.commit()
    tomorrow = dt.datetime.now(CHINA).date() + dt.timedelta(days=1)
    html = client.get(f"/routes?from=北京&to=上海&date={tomorrow}&time=08:00").get_data(
        as_text=True
    )
    assert "Timetable times only: no forecast is available." in html
    assert 'class="leg-forecast"' not in html


# --- the chance of missing a connection ----------------------------------------------------

quantile = st.floats(min_value=-60, max_value=300, allow_nan=False)
slack = st.floats(min_value=-100, max_value=1000, allow_nan=False)


def _reference_cdf(x: float, q10: float, q50: float, q90: float) -> float | None:
    """Between the quantiles, plain linear interpolation (independent of the module)."""
    import numpy as np

    if q10 < x < q90 and q10 < q50 < q90:
        return float(np.interp(x, [q10, q50, q90], [0.1, 0.5, 0.9]))
    return None


@given(quantile, quantile, quantile, slack, slack)
@example(0.0, 1.0, 5e-324, 5e-324, 1.0)  # subnormal gaps: 0.4 * 5e-324 underflows to 0
def test_miss_probability_is_a_probability_falling_with_slack(a, b, c, s1, s2) -> None:
    q10, q50, q90 = sorted((a, b, c))
    low, high = sorted((s1, s2))
    p_low = miss_probability(low, q10, q50, q90)
    p_high = miss_probability(high, q10, q50, q90)
    assert 0.0 <= p_high <= p_low <= 1.0  # more slack never makes a miss likelier
    reference = _reference_cdf(low, q10, q50, q90)
    if reference is not None:
        assert p_low == pytest.approx(1.0 - reference, abs=1e-9)


@given(quantile, quantile, quantile)
def test_miss_probability_passes_through_the_quantiles(a, b, c) -> None:
    q10, q50, q90 = sorted((a, b, c))
    if q10 < q50 < q90:
        assert delay_cdf(q10, q10, q50, q90) == pytest.approx(0.1)
        assert delay_cdf(q50, q10, q50, q90) == pytest.approx(0.5)
        assert delay_cdf(q90, q10, q50, q90) == pytest.approx(0.9)
    # Far beyond the range the chance goes to 0 (huge slack) or 1 (negative slack).
    assert miss_probability(q90 + 10_000, q10, q50, q90) < 1e-6
    assert miss_probability(q10 - 10_000, q10, q50, q90) > 1 - 1e-6


def test_no_forecast_leaves_the_chance_unknown() -> None:
    from transit.forecast.itinerary import Connection

    assert Connection("Beijing", 20, None).to_json() == {
        "at": "Beijing", "slack_minutes": 20, "miss_probability": None
    }


def test_forecast_modules_stay_out_of_the_routing_core() -> None:
    root = Path(__file__).resolve().parents[1] / "transit" / "routing"
    for path in root.glob("*.py"):
        assert "forecast" not in path.read_text().lower(), path


def test_a_journey_whose_last_ride_has_no_forecast_says_so(demo) -> None:
    """Forecasts cover a few days: a journey may end on a ride beyond them. Its card used to
    say nothing of the final arrival (neither a forecast nor that there was none)."""
    from transit.models import Service
    from transit.web.extensions import db

    app, tomorrow = demo["app"], demo["today"] + dt.timedelta(days=1)
    body = _route_json(demo["runner"], "北京", "乌鲁木齐", f"{tomorrow}T08:00", "fastest")
    legs = body["itineraries"][0]["legs"]
    assert len(legs) >= 2 and all(leg["forecast_arrival"] for leg in legs)
    number = legs[-1]["service"].split()[-1]
    with app.app_context():
        service = db.session.scalars(select(Service).where(Service.number == number)).one()
        kept = db.session.scalars(select(ServiceForecast).where(
            ServiceForecast.service_id == service.id)).all()
        for row in kept:
            db.session.expunge(row)
        db.session.execute(ServiceForecast.__table__.delete().where(
            ServiceForecast.service_id == service.id))
        db.session.commit()
    try:
        html = app.test_client().get(
            f"/routes?from=北京&to=乌鲁木齐&date={tomorrow}&time=08:00&lang=en"
        ).get_data(as_text=True)
        card = html[html.index('id="itinerary-1"'):html.index("</article>")]
        assert "No forecast for the final arrival: only its timetable time." in card
        assert "No forecast for this ride: timetable times only." in card
        assert card.count('class="leg-forecast"') == len(legs) - 1
        assert "Forecast arrival:" not in card
    finally:
        with app.app_context():
            for row in kept:
                db.session.merge(row)
            db.session.commit()
