"""The service page's forecast chart: past runs, the timetable and the forecast, as SVG data.

Drawn on the server (no script, no CDN): the template turns a ``ForecastChart`` into SVG.
The x axis is the runs in order, the last recorded ones then the forecast ones, with a few
of their dates written below; the y axis is door-to-door travel time in minutes. The axis
spans the bulk of the runs: a run far above the others (a recorded 30-day delay) would
squash every other one flat, so it is drawn as an arrow at the chart's edge, its time in its
tooltip and in the caption. A caption says the same in words.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from transit.forecast.store import PastRun, current_forecasts, read_model_quality, recent_runs
from transit.models import City, ServiceForecast, Stop, Timetable, TripRecord, zone_named
from transit.web.i18n import gettext, language, ngettext
from transit.web.timetable_views import load_calendars, service_day_start

PAST_RUNS = 30
FORECAST_RUNS = 7
# Font sizes the chart's text may take (static/css/site.css, .forecast-chart): the layout
# leaves room for the largest, which narrow screens use so that the scaled-down chart
# still writes its labels at a readable size.
LARGEST_FONT = 22.0
CHAR_WIDTH = 0.62  # of the font size: digits and Latin letters
DATE_LABELS = 4


@dataclass(frozen=True)
class ChartPoint:
    """A past run: its actual travel time, placed on the chart."""

    x: float
    y: float
    label: str


@dataclass(frozen=True)
class OffScale:
    """A past run beyond the chart's scale: an arrow at the edge (``up``: at the top)."""

    x: float
    y: float  # the arrow's tip
    up: bool
    label: str  # the tooltip
    when: str  # its scheduled departure, on its origin's clock
    minutes: int  # its travel time

    @property
    def points(self) -> str:
        """The arrow as SVG polygon points: a triangle pointing off the chart."""
        tip, base = self.y, self.y + (11 if self.up else -11)
        return f"{self.x},{tip} {self.x - 6},{base} {self.x + 6},{base}"


@dataclass(frozen=True)
class ForecastMark:
    """A forecast run: the median at ``y``, the 10-90% range from ``y_high`` to ``y_low``."""

    x: float
    y: float
    y_low: float  # screen y of the 90% travel time (higher on the chart)
    y_high: float  # screen y of the 10% travel time
    label: str
    # Where the range runs past the chart's scale: an arrow at that edge, for the bar stops
    # there (one implausible past run must not squash the chart; nor may a wide forecast
    # range look as if it ended at the edge).
    beyond_top: str = ""  # SVG polygon points, or ""
    beyond_bottom: str = ""


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class DateLabel:
    """A date written under the x axis, below the run it names."""

    x: float
    text: str
    anchor: str  # SVG text-anchor: start at the left edge, end at the right, else middle


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
    off_scale: list[OffScale] = field(default_factory=list)
    cancelled: int = 0
    timetable: str = ""  # polyline points "x,y x,y ..."
    forecasts: list[ForecastMark] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    dates: list[DateLabel] = field(default_factory=list)
    divider: float | None = None  # x between the past and the forecast runs
    caption: str = ""
    quality: str = ""  # how good the model behind the forecasts is, in words
    low: float = 0.0  # minutes at the bottom of the scale
    high: float = 0.0  # minutes at its top

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


def nice_ticks(low: float, high: float) -> list[float]:
    """Round values spanning [low, high], three to six of them."""
    span = max(high - low, 1.0)
    raw = span / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) // step) + 1)]


def scale_limits(values: list[float]) -> tuple[float, float]:
    """The travel times (minutes) the y axis spans: the bulk of ``values``, with a margin.

    A value beyond the fences (the quartiles, widened by three times the largest of the
    spread between them, a quarter of the median and 10 minutes) is left off the scale: one
    recorded run 30 days late must not flatten thirty runs of three hours. Below, the scale
    never goes under 0. With fewer than four values every one counts."""
    if len(values) >= 4:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        spread = max(q3 - q1, 0.25 * abs(statistics.median(values)), 10.0)
        inside = [v for v in values if q1 - 3 * spread <= v <= q3 + 3 * spread]
    else:
        inside = list(values)
    low, high = min(inside), max(inside)
    pad = max((high - low) * 0.08, 2.0)
    return max(0.0, low - pad), high + pad


def _date_text(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).date()


def service_chart(
    session: Session,
    service_id: int,
    now: dt.datetime,
    past_runs: int = PAST_RUNS,
    forecast_runs: int = FORECAST_RUNS,
    width: int = 640,
    height: int = 250,
) -> ForecastChart | None:
    """The chart of a service's recent runs and the forecasts of its runs leaving after
    ``now`` (naive UTC); None when it has neither (the page then says so in words)."""
    # Only forecasts of runs the timetable still has: one stored before the timetable was
    # edited (a departure moved, a date taken off) forecasts a run that no longer exists.
    stored = list(
        session.scalars(
            select(ServiceForecast)
            .where(ServiceForecast.service_id == service_id)
            .where(ServiceForecast.scheduled_departure >= now)
            .order_by(ServiceForecast.scheduled_departure, ServiceForecast.id)
            .limit(forecast_runs * 20)
        )
    )
    forecasts: list[ServiceForecast] = current_forecasts(session, stored)
    # One origin and destination per chart (a run from a stop on the way takes another
    # time): the next forecast's, else the usual one of the recorded runs.
    pair = (forecasts[0].origin_id, forecasts[0].destination_id) if forecasts else None
    forecasts = [f for f in forecasts
                 if (f.origin_id, f.destination_id) == pair][:forecast_runs]
    runs = recent_runs(session, service_id, past_runs, pair)
    if not runs and not forecasts:
        return None
    zones = _zones(session, {r.origin_id for r in runs} | {f.origin_id for f in forecasts})
    values: list[float] = []
    for run in runs:
        values.append(run.scheduled_minutes)
        if run.actual_minutes is not None:
            values.append(run.actual_minutes)
    for f in forecasts:
        scheduled = (f.scheduled_arrival - f.scheduled_departure).total_seconds() / 60
        values += [f.travel_p10, f.travel_p50, f.travel_p90, scheduled]
    low, high = scale_limits(values)
    tick_values = [v for v in nice_ticks(low, high) if low <= v <= high]
    tick_texts = [f"{v:g}" for v in tick_values]
    # Room at the left for the longest tick label at the largest font, at the top for the
    # unit ("min", above the plot, right of the labels) and below for the dates.
    longest = max((len(text) for text in tick_texts), default=3)
    left = round(10 + LARGEST_FONT * CHAR_WIDTH * longest, 1)
    chart = ForecastChart(width, height, left=left, right=width - 12.0, top=30.0,
                          bottom=height - 36.0, low=low, high=high)
    count = len(runs) + len(forecasts)
    step = (chart.right - chart.left) / max(count, 1)

    def x_at(index: int) -> float:
        return round(chart.left + step * (index + 0.5), 1)

    def y_at(minutes: float) -> float:
        # Off-scale values (the timetable line, a forecast bar) stop at the chart's edge.
        inside = min(max(minutes, low), high)
        return round(chart.bottom - (inside - low) / (high - low) * (chart.bottom - chart.top), 1)

    timetable_points: list[str] = []
    days: list[tuple[int, dt.date]] = []
    for i, run in enumerate(runs):
        zone = zones.get(run.origin_id, dt.UTC)
        days.append((i, _date_text(run.scheduled_departure, zone)))
        timetable_points.append(f"{x_at(i)},{y_at(run.scheduled_minutes)}")
        if run.actual_minutes is None:
            chart.cancelled += 1
            continue
        when = _fmt(run.scheduled_departure, zone)
        minutes = run.actual_minutes
        if low <= minutes <= high:
            chart.past.append(
                ChartPoint(x_at(i), y_at(minutes),
                           gettext("%(when)s: %(minutes)d min", when=when, minutes=round(minutes)))
            )
        else:
            up = minutes > high
            chart.off_scale.append(
                OffScale(x_at(i), chart.top - 4 if up else chart.bottom + 4, up,
                         gettext("%(when)s: %(minutes)d min, off the chart's scale",
                                 when=when, minutes=round(minutes)),
                         when, round(minutes))
            )
    for j, f in enumerate(forecasts):
        i = len(runs) + j
        zone = zones.get(f.origin_id, dt.UTC)
        days.append((i, _date_text(f.scheduled_departure, zone)))
        scheduled = (f.scheduled_arrival - f.scheduled_departure).total_seconds() / 60
        timetable_points.append(f"{x_at(i)},{y_at(scheduled)}")
        x = x_at(i)
        # The arrows point out of the plot from just inside its edge (below it are dates).
        top = (f"{x},{chart.top - 3} {x - 6},{chart.top + 8} {x + 6},{chart.top + 8}"
               if f.travel_p90 > high else "")
        bottom = (f"{x},{chart.bottom + 3} {x - 6},{chart.bottom - 8} {x + 6},{chart.bottom - 8}"
                  if f.travel_p10 < low else "")
        chart.forecasts.append(
            ForecastMark(
                x,
                y_at(f.travel_p50),
                y_at(f.travel_p90),
                y_at(f.travel_p10),
                gettext(
                    "%(when)s: forecast %(minutes)d min, 8 times in 10 between %(low)d and "
                    "%(high)d",
                    when=_fmt(f.scheduled_departure, zone),
                    minutes=round(f.travel_p50),
                    low=round(f.travel_p10), high=round(f.travel_p90),
                ),
                top,
                bottom,
            )
        )
    chart.timetable = " ".join(timetable_points)
    if runs and forecasts:
        chart.divider = round(chart.left + step * len(runs), 1)
    chart.ticks = [Tick(y_at(v), text) for v, text in zip(tick_values, tick_texts, strict=True)]
    chart.dates = _date_labels(days, x_at, chart)
    timetable = _timetable_minutes(session, service_id)
    chart.caption = _caption(runs, forecasts, zones, timetable, chart.off_scale)
    if forecasts:
        chart.quality = quality_words(forecasts[0].model)
    return chart


def _minutes(value: float) -> str:
    return format_decimal(value, "0.0", locale="zh_Hans_CN" if language() == "zh" else "en_GB")


def quality_words(model: str) -> str:
    """How good the model that made a forecast is, beside the timetable and the median of
    the service's last runs, on the runs held out from its training (its own test); in
    words, so that a forecast is never shown as if it were certain to beat the timetable."""
    quality = read_model_quality(current_app.config["TRANSIT_MODEL_DIR"], model)
    if quality is None or quality.travel_timetable is None:
        return gettext("How good these forecasts are is not known: the test figures of the "
                       "model that made them are not available.")
    locale = "zh_Hans_CN" if language() == "zh" else "en_GB"
    values = {
        "count": format_decimal(quality.test_rows, locale=locale),
        "model": _minutes(quality.travel_mae),
        "timetable": _minutes(quality.travel_timetable),
    }
    if quality.test_from is not None and quality.travel_median is not None:
        words = gettext(
            "How good the forecasts are: on %(count)s runs from %(since)s on, kept out of "
            "the model's training, its travel times were off by %(model)s minutes on average, "
            "the timetable's by %(timetable)s and the median of each service's last "
            "%(last)d runs by %(median)s.",
            since=format_skeleton("yMMMd", quality.test_from, locale=locale),
            last=quality.history, median=_minutes(quality.travel_median), **values,
        )
    else:
        words = gettext(
            "How good the forecasts are: on %(count)s runs kept out of the model's training, "
            "its travel times were off by %(model)s minutes on average, the timetable's by "
            "%(timetable)s.", **values,
        )
    # Compared as shown, to the tenth of a minute.
    if round(quality.travel_mae, 1) >= round(quality.travel_timetable, 1):
        words += " " + gettext("The timetable was as close: these forecasts are no surer "
                               "than the timetable.")
    elif quality.travel_median is not None and \
            round(quality.travel_mae, 1) >= round(quality.travel_median, 1):
        words += " " + gettext("That is no better than the median of the last runs, which "
                               "needs no model.")
    if quality.coverage is not None:
        words += " " + gettext("Its 8-in-10 ranges held %(share)s of those runs.",
                               share=format_percent(quality.coverage, locale=locale))
    if quality.source != "database":
        words += " " + gettext("Those runs are from the %(source)s data set, not from this "
                               "site's trip history.", source=quality.source)
    if quality.hour_before:
        words += " " + gettext("They were measured knowing the origin's last hour (departures, "
                               "arrivals, weather) before each run, which a forecast made "
                               "ahead does not know: these forecasts are less sure than that.")
    return words


def _date_labels(
    days: list[tuple[int, dt.date]], x_at: Callable[[int], float], chart: ForecastChart
) -> list[DateLabel]:
    """A few dates under the x axis, evenly spread from the first run to the last, each
    written once: the first starts at its run, the last ends at its run. Day and month
    ("16 Feb"), with the year where the runs span two years (and then one label fewer, so
    that the longer labels keep apart at the largest font)."""
    if not days:
        return []
    count = len(days)
    years = len({day.year for _, day in days}) > 1
    wanted = min(count, DATE_LABELS - 1 if years else DATE_LABELS)
    locale = "zh_Hans_CN" if language() == "zh" else "en_GB"
    picks = sorted({round(k * (count - 1) / (wanted - 1)) for k in range(wanted)}) if wanted > 1 \
        else [0]
    labels: list[DateLabel] = []
    written: set[dt.date] = set()
    for pick in picks:
        index, day = days[pick]
        if day in written:
            continue
        written.add(day)
        if pick == 0 and count > 1:
            anchor = "start"
            x = max(x_at(index) - 6, chart.left)
        elif pick == count - 1 and count > 1:
            anchor = "end"
            x = min(x_at(index) + 6, chart.right)
        else:
            anchor, x = "middle", x_at(index)
        text = format_skeleton("yMMMd" if years else "MMMd", day, locale=locale)
        labels.append(DateLabel(round(x, 1), text, anchor))
    return labels


def _timetable_minutes(session: Session, service_id: int) -> float | None:
    """The timetable's travel time (minutes) for the service's last recorded run: from its
    origin to its destination, in the variant that runs on its service date and leaves
    nearest its scheduled departure, each stop's time on its city's clock (docs/routing.md,
    "Time"). A recorded run's own scheduled times may differ from the timetable (another
    timetable then, or a history file's): the caption compares with the timetable. None
    when no variant of the service serves those two cities in that order."""
    last = session.execute(
        select(TripRecord.service_date, TripRecord.origin_id, TripRecord.destination_id,
               TripRecord.scheduled_departure)
        .where(TripRecord.service_id == service_id)
        .order_by(TripRecord.scheduled_departure.desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    day, origin_id, destination_id, departure = last
    board, alight = aliased(Stop), aliased(Stop)
    from_city, to_city = aliased(City), aliased(City)
    rows = session.execute(
        select(Timetable.calendar_id, board.departure, alight.arrival, from_city.timezone,
               to_city.timezone)
        .join(board, board.timetable_id == Timetable.id)
        .join(alight, alight.timetable_id == Timetable.id)
        .join(from_city, from_city.id == board.city_id)
        .join(to_city, to_city.id == alight.city_id)
        .where(Timetable.service_id == service_id, board.city_id == origin_id,
               alight.city_id == destination_id, alight.sequence > board.sequence)
    ).all()
    variants = [
        (calendar_id, leaves, arrives, from_zone or "UTC", to_zone or "UTC")
        for calendar_id, leaves, arrives, from_zone, to_zone in rows
        if leaves is not None and arrives is not None
    ]
    if not variants:
        return None
    calendars = load_calendars(session, {row[0] for row in variants}, [day])
    wanted = departure.replace(tzinfo=dt.UTC).timestamp()

    def rank(row: tuple[int, int, int, str, str]) -> tuple[bool, float]:
        calendar_id, leaves, _, zone, _ = row
        calendar = calendars.get(calendar_id)
        runs = calendar is not None and calendar.runs_on(day)
        return (not runs, abs(service_day_start(day, zone) + leaves - wanted))

    _, leaves, arrives, from_zone, to_zone = min(variants, key=rank)
    seconds = (service_day_start(day, to_zone) + arrives) - (
        service_day_start(day, from_zone) + leaves
    )
    return seconds / 60


def _caption(
    runs: list[PastRun],
    forecasts: list[ServiceForecast],
    zones: dict[int | None, dt.tzinfo],
    timetable: float | None = None,
    off_scale: list[OffScale] | None = None,
) -> str:
    """What the chart shows, in words."""
    parts = []
    done = [r.actual_minutes for r in runs if r.actual_minutes is not None]
    # One run has no range or median: "the last 1 recorded runs took 199 to 199 minutes".
    if len(done) == 1 and timetable is not None:
        parts.append(gettext("The one recorded run took %(minutes)d minutes; the timetable "
                             "says %(timetable)d.", minutes=round(done[0]),
                             timetable=round(timetable)))
    elif len(done) == 1:
        parts.append(gettext("The one recorded run took %(minutes)d minutes.",
                             minutes=round(done[0])))
    elif done and timetable is not None:
        parts.append(
            gettext(
                "The last %(count)d recorded runs took %(low)d to %(high)d minutes (median "
                "%(median)d); the timetable says %(timetable)d.",
                count=len(done), low=round(min(done)), high=round(max(done)),
                median=round(statistics.median(done)), timetable=round(timetable),
            )
        )
    elif done:
        parts.append(
            gettext(
                "The last %(count)d recorded runs took %(low)d to %(high)d minutes (median "
                "%(median)d).",
                count=len(done), low=round(min(done)), high=round(max(done)),
                median=round(statistics.median(done)),
            )
        )
    if off_scale:
        # Each run in words first: pybabel does not see a gettext inside another's arguments.
        beyond = [gettext("%(when)s, %(minutes)d min", when=mark.when, minutes=mark.minutes)
                  for mark in off_scale]
        parts.append(gettext("Off the chart's scale, marked by an arrow at its edge: %(runs)s.",
                             runs="; ".join(beyond)))
    cancelled = sum(r.actual_minutes is None for r in runs)
    if cancelled:
        parts.append(ngettext("%(count)d run was cancelled or has no arrival time.",
                              "%(count)d runs were cancelled or have no arrival time.",
                              cancelled, count=cancelled))
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
