"""The chance of missing a connection counts from the time the engine required for that
transfer (traveller QA finding 1): the city's own minimum connection time, the query's
override, or a walk's time, not the network default."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest

from tests.test_pages import page
from transit.models import Calendar, City, Service, ServiceForecast, Stop, Timetable, Transfer
from transit.web.extensions import db

H = 3600
DAY = dt.date(2025, 3, 3)


def _service(number: str, calendar: Calendar, *calls: tuple[City, int]) -> Service:
    """A daily service calling at ``calls`` (city, local seconds), 100.00 a leg."""
    service = Service(number=number, mode="train", operator="CR")
    timetable = Timetable(code="1", calendar=calendar, service=service)
    timetable.stops = [
        Stop(sequence=k, city=city, arrival=None if k == 0 else t,
             departure=None if k == len(calls) - 1 else t, fare_cents=0 if k == 0 else 10000)
        for k, (city, t) in enumerate(calls)
    ]
    return service


# --- 1. The chance of missing a connection counts from what the engine required ------------


@pytest.fixture
def connections(app) -> None:
    """A → B (10-minute connections) → C, and B → walk 5 min → W → X; the A → B run has a
    forecast: median on time, 10-90% from 1 min early to 15 min late."""
    with app.app_context():
        a, b, c = City(name="A"), City(name="B", min_connection_seconds=600), City(name="C")
        w, x = City(name="W"), City(name="X")
        daily = Calendar(name="daily")
        first = _service("S1", daily, (a, 8 * H), (b, 10 * H))
        onward = _service("S2", daily, (b, 10 * H + 600), (c, 12 * H))
        walked = _service("S3", daily, (w, 10 * H + 420), (x, 11 * H))
        db.session.add_all([first, onward, walked, Transfer(from_city=b, to_city=w, min_seconds=300)])
        db.session.flush()
        departure = dt.datetime.combine(DAY, dt.time(0))  # 08:00 in Shanghai, naive UTC
        db.session.add(ServiceForecast(
            service=first, service_date=DAY, origin=a, destination=b,
            scheduled_departure=departure, scheduled_arrival=departure + dt.timedelta(hours=2),
            travel_p10=119, travel_p50=120, travel_p90=135,
            delay_p10=-1, delay_p50=0, delay_p90=15, model="test",
        ))
        db.session.commit()


def _miss_chances(html: str) -> list[float]:
    return [float(p) for p in re.findall(r'class="miss-chance" data-probability="([0-9.]+)"', html)]


def test_miss_chance_uses_the_citys_own_connection_time(client, connections):
    # 10 minutes' wait at B, which needs 10: no slack, so a median delay of 0 misses half
    # the time (the network's 15 minutes made it a certain miss).
    html = page(client, f"/routes?from=A&to=C&date={DAY}&time=07:00")
    assert "Change at B" in html
    assert _miss_chances(html) == [0.5]


def test_miss_chance_uses_the_querys_override(client, connections):
    # With 5 minutes asked for, 5 minutes of slack: 1 - (0.5 + 0.4 * 5 / 15).
    html = page(client, f"/routes?from=A&to=C&date={DAY}&time=07:00&min_connection=5")
    assert _miss_chances(html) == [pytest.approx(1 - (0.5 + 0.4 * 5 / 15), abs=1e-4)]


def test_miss_chance_of_a_walk_uses_the_walks_time(client, connections):
    # 7 minutes from the arrival at B to the departure from W, 5 of them walking: 2 to spare.
    html = page(client, f"/routes?from=A&to=X&date={DAY}&time=07:00")
    assert "Walk from B to W" in html
    assert _miss_chances(html) == [pytest.approx(1 - (0.5 + 0.4 * 2 / 15), abs=1e-4)]


def test_forecast_slack_of_each_connection(app, connections):
    from transit import routing
    from transit.forecast.itinerary import result_json
    from transit.routing.cache import snapshot_for

    with app.app_context():
        snapshot = snapshot_for(db.session(), 15)
        query = routing.Query("A", "C", depart=dt.datetime(2025, 3, 3, 7))
        result = routing.plan(snapshot, query)
        [at_b] = result_json(db.session(), result, snapshot, None)["itineraries"][0]["connections"]
        assert at_b == {"at": "B", "slack_minutes": 0, "miss_probability": 0.5}
        # Asked for no connection time at all, the whole wait is slack.
        result = routing.plan(snapshot, replace(query, min_connection_minutes=0))
        [at_b] = result_json(db.session(), result, snapshot, 0)["itineraries"][0]["connections"]
        assert at_b["slack_minutes"] == 10


def test_the_api_and_the_command_line_give_the_pages_chance(app, client, runner, connections):
    """The API and `route --json` counted the slack from the network default after the
    pages stopped doing so: one answer, every door."""
    import json

    api = client.get(f"/api/v1/routes?from=A&to=C&depart={DAY}T07:00").get_json()
    [at_b] = api["itineraries"][0]["connections"]
    assert (at_b["slack_minutes"], at_b["miss_probability"]) == (0, 0.5)
    cli = runner.invoke(args=["route", "A", "C", "--depart", f"{DAY}T07:00", "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output)["itineraries"][0]["connections"] == api["itineraries"][0]["connections"]
