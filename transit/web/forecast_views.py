"""The service page's forecast chart: past runs, the timetable and the forecast, as SVG data.

Drawn on the server (no script, no CDN): the template turns a ``ForecastChart`` into SVG.
The x axis is the runs in order, the last recorded ones then the forecast ones; the y axis
is door-to-door travel time in minutes. A caption says the same in words.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from transit.forecast.store import PastRun, recent_runs
from transit.models import City, ServiceForecast, zone_named

PAST_RUNS = 30
FORECAST_RUNS = 7


@dataclass(frozen=True)
class ChartPoint:
    """A past run: its actual travel time, placed on the chart."""

    x: float
    y: float
    label: str


@dataclass(frozen=True)
class ForecastMark:
    """A forecast run: the median at ``y``, the 10-90% range from ``y_high`` to ``y_low``."""

    x: float
    y: float
    y_low: float  # screen y of the 90% travel time (higher on the chart)
    y_high: float  # screen y of the 10% travel time
    label: str


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass
class ForecastChart:
    """Everything the SVG needs, in screen units, and the caption in words."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    past: list[ChartPoint] = field(default_factory=list)
    cancelled: int = 0
    timetable: str = ""  # polyline points "x,y x,y ..."
    forecasts: list[ForecastMark] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    divider: float | None = None  # x between the past and the forecast runs
    caption: str = ""

    @property
    def has_forecast(self) -> bool:
        return bool(self.forecasts)


def _fmt(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """A stored (naive UTC) time on the clock of its city, as every time on the site."""
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _zones(session: Session, city_ids: set[int | None]) -> dict[int | None, dt.tzinfo]:
    """Each city's time zone (UTC for an unknown or missing one)."""
    known = {i for i in city_ids if i is not None}
    rows = session.execute(select(City.id, City.timezone).where(City.id.in_(known)))
    return {city_id: zone_named(name) for city_id, name in rows}


def _ticks(low: float, high: float) -> list[float]:
    """Round values spanning [low, high], about five of them."""
    span = max(high - low, 1.0)
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) // step) + 1)]


def service_chart(
    session: Session,
    service_id: int,
    now: dt.datetime,
    past_runs: int = PAST_RUNS,
    forecast_runs: int = FORECAST_RUNS,
    width: int = 640,
    height: int = 260,
) -> ForecastChart | None:
    """The chart of a service's recent runs and the forecasts of its runs leaving after
    ``now`` (naive UTC); None when it has neither (the page then says so in words)."""
    runs = recent_runs(session, service_id, past_runs)
    forecasts: list[ServiceForecast] = list(
        session.scalars(
            select(ServiceForecast)
            .where(ServiceForecast.service_id == service_id)
            .where(ServiceForecast.scheduled_departure >= now)
            .order_by(ServiceForecast.scheduled_departure, ServiceForecast.id)
            .limit(forecast_runs)
        )
    )
    if not runs and not forecasts:
        return None
    zones = _zones(session, {r.origin_id for r in runs} | {f.origin_id for f in forecasts})
    chart = ForecastChart(width, height, left=52.0, right=width - 12.0, top=14.0,
                          bottom=height - 30.0)
    values: list[float] = []
    for run in runs:
        values.append(run.scheduled_minutes)
        if run.actual_minutes is not None:
            values.append(run.actual_minutes)
    for f in forecasts:
        scheduled = (f.scheduled_arrival - f.scheduled_departure).total_seconds() / 60
        values += [f.travel_p10, f.travel_p90, scheduled]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.08, 2.0)
    low, high = max(0.0, low - pad), high + pad
    count = len(runs) + len(forecasts)
    step = (chart.right - chart.left) / max(count, 1)

    def x_at(index: int) -> float:
        return round(chart.left + step * (index + 0.5), 1)

    def y_at(minutes: float) -> float:
        return round(chart.bottom - (minutes - low) / (high - low) * (chart.bottom - chart.top), 1)

    timetable_points: list[str] = []
    for i, run in enumerate(runs):
        timetable_points.append(f"{x_at(i)},{y_at(run.scheduled_minutes)}")
        if run.actual_minutes is None:
            chart.cancelled += 1
            continue
        chart.past.append(
            ChartPoint(
                x_at(i),
                y_at(run.actual_minutes),
                gettext("%(when)s: %(minutes)d min",
                        when=_fmt(run.scheduled_departure, zones.get(run.origin_id, dt.UTC)),
                        minutes=round(run.actual_minutes)),
            )
        )
    for j, f in enumerate(forecasts):
        i = len(runs) + j
        scheduled = (f.scheduled_arrival - f.scheduled_departure).total_seconds() / 60
        timetable_points.append(f"{x_at(i)},{y_at(scheduled)}")
        chart.forecasts.append(
            ForecastMark(
                x_at(i),
                y_at(f.travel_p50),
                y_at(f.travel_p90),
                y_at(f.travel_p10),
                gettext(
                    "%(when)s: forecast %(minutes)d min (10–90%%: %(low)d–%(high)d)",
                    when=_fmt(f.scheduled_departure, zones.get(f.origin_id, dt.UTC)),
                    minutes=round(f.travel_p50),
                    low=round(f.travel_p10), high=round(f.travel_p90),
                ),
            )
        )
    chart.timetable = " ".join(timetable_points)
    if runs and forecasts:
        chart.divider = round(chart.left + step * len(runs), 1)
    chart.ticks = [Tick(y_at(v), f"{v:g}") for v in _ticks(low, high) if low <= v <= high]
    chart.caption = _caption(runs, forecasts, zones)
    return chart


def _caption(
    runs: list[PastRun], forecasts: list[ServiceForecast], zones: dict[int | None, dt.tzinfo]
) -> str:
    """What the chart shows, in words."""
    parts = []
    done = [r.actual_minutes for r in runs if r.actual_minutes is not None]
    if done:
        parts.append(
            gettext(
                "The last %(count)d recorded runs took %(low)d to %(high)d minutes (median "
                "%(median)d); the timetable says %(timetable)d.",
                count=len(done), low=round(min(done)), high=round(max(done)),
                median=round(statistics.median(done)),
                timetable=round(runs[-1].scheduled_minutes),
            )
        )
    cancelled = sum(r.actual_minutes is None for r in runs)
    if cancelled:
        parts.append(gettext("%(count)d runs were cancelled or have no arrival time.",
                             count=cancelled))
    if forecasts:
        first = forecasts[0]
        parts.append(
            gettext(
                "Forecast for the run leaving %(when)s: %(minutes)d minutes, 8 times in 10 "
                "between %(low)d and %(high)d.",
                when=_fmt(first.scheduled_departure, zones.get(first.origin_id, dt.UTC)),
                minutes=round(first.travel_p50),
                low=round(first.travel_p10), high=round(first.travel_p90),
            )
        )
    else:
        parts.append(gettext("No forecast: the timetable only."))
    return " ".join(parts)
