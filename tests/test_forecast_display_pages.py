"""Forecasts on the traveller pages (QA findings #3 and #6): the service page says in words
that a service has neither recorded runs nor forecasts, and forecast times on the results
page carry the same "+1 day" mark as every other time on the card."""

from __future__ import annotations

import datetime as dt
import re

from tests.test_pages import build_network, page
from transit.models import ServiceForecast
from transit.web.extensions import db

NOTHING = "No recorded runs and no forecast: the timetable only."


def _forecast_night_train(ids: dict[str, int]) -> None:
    """The Monday 3 March 2025 run of Z9: Beijing 22:00, Nanjing 01:00 and Shanghai 03:00
    the next day (China time), forecast from 90 minutes early to 30 late, median 5 late."""
    db.session.add(
        ServiceForecast(
            service_id=ids["train"],
            service_date=dt.date(2025, 3, 3),
            origin_id=ids["beijing"],
            destination_id=ids["shanghai"],
            scheduled_departure=dt.datetime(2025, 3, 3, 14, 0),  # UTC
            scheduled_arrival=dt.datetime(2025, 3, 3, 19, 0),
            travel_p10=210.0, travel_p50=305.0, travel_p90=330.0,
            delay_p10=-90.0, delay_p50=5.0, delay_p90=30.0,
            model="test",
        )
    )
    db.session.commit()


def test_service_without_runs_or_forecasts_says_so(client):
    with client.application.app_context():
        ids = build_network(db.session)
    html = page(client, f"/services/{ids['train']}")
    assert "Travel time: past runs and forecast" in html
    section = html[html.index('class="forecast-chart') : html.index("</section>")]
    assert NOTHING in section and "<svg" not in section
    chinese = page(client, f"/services/{ids['train']}?lang=zh")
    assert "行程时间：以往班次与预测" in chinese
    # A service with a forecast gets its chart, not the sentence.
    with client.application.app_context():
        db.session.add(
            ServiceForecast(
                service_id=ids["flight"], service_date=dt.date(2999, 1, 1),
                origin_id=ids["beijing"], destination_id=ids["shanghai"],
                scheduled_departure=dt.datetime(2999, 1, 1), scheduled_arrival=dt.datetime(
                    2999, 1, 1, 2, 15),
                travel_p10=130.0, travel_p50=135.0, travel_p90=150.0,
                delay_p10=-5.0, delay_p50=0.0, delay_p90=15.0, model="test",
            )
        )
        db.session.commit()
    charted = page(client, f"/services/{ids['flight']}")
    assert '<g class="forecast">' in charted and NOTHING not in charted


def test_forecast_times_after_midnight_carry_the_day_mark(client):
    with client.application.app_context():
        ids = build_network(db.session)
        _forecast_night_train(ids)
    html = page(client, "/routes?from=北京&to=南京&date=2025-03-03&time=20:00")
    mark = '<span class="day-mark">+1 day</span>'
    head = re.search(r'<p class="forecast-summary">(.*?)</p>', html, re.S)
    assert head is not None and head.group(1) == f"Forecast arrival: 01:05{mark}"
    leg = re.search(r'<div class="leg-forecast">(.*?)</div>', html, re.S)
    assert leg is not None
    # The 10% end is still on the departure day (no mark), the rest the next day.
    assert leg.group(1) == (
        f"Timetable 01:00{mark}, forecast 01:05{mark}, 8 times in 10 between 23:30 and 01:30{mark}"
    )
