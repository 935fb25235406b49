"""Service and city pages (QA of the traveller pages):

- the journey time of a run through several time zones is an instant minus an instant, each
  stop's time on its city's clock (docs/routing.md, "Time"), not one clock time minus another;
- on the days the clocks change, the station board shows a run at the time the route planner
  gives ("noon minus 12 hours" plus the stop time);
- a calendar written as "daily, except 600 dates" is described by the days it really runs;
- the run-history chart spans the bulk of the runs (an implausible one is an arrow at the
  edge), its caption quotes the timetable, and it writes a few dates under its axis.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_pages import page
from transit.models import Calendar, CalendarDate, City, Service, Stop, Timetable, TripRecord
from transit.routing.snapshot import service_day_start as engine_day_start
from transit.web import forecast_views as fv
from transit.web import timetable_views as tv
from transit.web.extensions import db

H = 3600
YEAR_2026 = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def _service(number: str, calendar: Calendar, calls: list[tuple[City, int | None, int | None]]
             ) -> Service:
    service = Service(number=number, mode="flight" if number.startswith("F") else "train")
    timetable = Timetable(code="1", calendar=calendar, service=service)
    timetable.stops = [
        Stop(sequence=i, city=city, arrival=arrival, departure=departure)
        for i, (city, arrival, departure) in enumerate(calls)
    ]
    return service


def build_zones(session) -> dict[str, int]:
    """The QA network (/tmp/qa_trav/tz): F1 New York 22:00 -> Los Angeles 00:30+1, F2 Los
    Angeles 01:30 -> Beijing 06:00+1, F3 Beijing 10:00 -> London 14:00, T1 New York 01:30
    -> Newark 03:30, all daily in 2026; N1 New York 00:30 -> Newark 02:00 daily, open-ended."""
    new_york = City(name="New York", timezone="America/New_York")
    los_angeles = City(name="Los Angeles", timezone="America/Los_Angeles")
    london = City(name="London", timezone="Europe/London")
    beijing = City(name="Beijing", timezone="Asia/Shanghai")
    newark = City(name="Newark", timezone="America/New_York")
    daily = Calendar(name="2026", weekdays=0b1111111, start_date=YEAR_2026[0],
                     end_date=YEAR_2026[1])
    services = {
        "F1": _service("F1", daily, [(new_york, None, 22 * H), (los_angeles, 24 * H + 1800, None)]),
        "F2": _service("F2", daily, [(los_angeles, None, H + 1800), (beijing, 30 * H, None)]),
        "F3": _service("F3", daily, [(beijing, None, 10 * H), (london, 14 * H, None)]),
        "T1": _service("T1", daily, [(new_york, None, H + 1800), (newark, 3 * H + 1800, None)]),
        "N1": _service("N1", Calendar(name="always"),
                       [(new_york, None, 1800), (newark, 2 * H, None)]),
    }
    session.add_all(services.values())
    session.commit()
    ids = {number: service.id for number, service in services.items()}
    ids.update(new_york=new_york.id, newark=newark.id, los_angeles=los_angeles.id,
               beijing=beijing.id, london=london.id)
    return ids


@pytest.fixture
def zones(app) -> dict[str, int]:
    with app.app_context():
        return build_zones(db.session)


def _days_of_operation(html: str) -> str:
    start = html.index('class="days-of-operation"')
    return html[start : html.index('<div class="table-wrap">', start)]


# --- 1. Journey times across time zones --------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "usual", "others"),
    [
        # New York and Los Angeles change their clocks on the same days: always 5 h 30.
        ("F1", "5 h 30 min", []),
        # Beijing keeps its clock; Los Angeles is an hour ahead in summer (8 Mar - 31 Oct
        # 2026; at noon on 1 Nov it is back on standard time).
        ("F2", "13 h 30 min", ["12 h 30 min from 1 Jan 2026 to 7 Mar 2026",
                               "12 h 30 min from 1 Nov 2026 to 31 Dec 2026"]),
        # London's summer time runs from 29 March to 24 October (noon) 2026.
        ("F3", "11 h", ["12 h from 1 Jan 2026 to 28 Mar 2026",
                        "12 h from 25 Oct 2026 to 31 Dec 2026"]),
        ("T1", "2 h", []),
    ],
)
def test_journey_time_counts_each_stop_on_its_own_clock(client, zones, number, usual, others):
    html = page(client, f"/services/{zones[number]}")
    days = _days_of_operation(html)
    assert f"Journey time: {usual}</p>" in days
    listed = re.findall(r"<li>([^<]*(?:from|on) [^<]*)</li>", days)
    assert listed == others
    assert ("Times are local to each city." in days) == (number != "T1")


def test_journey_time_agrees_with_the_engine_on_every_date(app, zones):
    """Each period's journey time is what the routing engine's instants give on its dates."""
    with app.app_context():
        view = tv.service_view(db.session, zones["F2"])
        assert view is not None
        journey = view.variants[0].journey
        assert journey is not None and not journey.backwards
        day = YEAR_2026[0]
        while day <= YEAR_2026[1]:
            engine = (engine_day_start(day, "Asia/Shanghai") + 30 * H) - (
                engine_day_start(day, "America/Los_Angeles") + H + 1800
            )
            period = next((p for p in journey.others if p.start <= day <= p.end), None)
            assert (period.seconds if period else journey.seconds) == engine, day
            day += dt.timedelta(days=1)


def test_open_ended_calendar_reads_the_year_from_today(app, zones):
    calendar = tv.CalendarDays(0b1111111, None, None)
    # Los Angeles 01:30 -> Beijing 06:00 the next day, read over the year from 1 June 2026.
    journey = tv.journey_time(H + 1800, "America/Los_Angeles", 30 * H, "Asia/Shanghai",
                              calendar, dt.date(2026, 6, 1))
    assert journey.seconds == 13 * H + 1800
    assert [(p.seconds, p.start, p.end) for p in journey.others] == [
        (12 * H + 1800, dt.date(2026, 11, 1), dt.date(2027, 3, 13))
    ]
    # One zone: the clock difference, whatever the date.
    assert tv.journey_time(H + 1800, "America/New_York", 3 * H + 1800, "America/New_York",
                           calendar, dt.date(2026, 3, 8)) == tv.JourneyTime(2 * H)


def test_a_run_that_arrives_before_it_leaves_is_not_given_a_negative_time(app, client):
    """Los Angeles 23:00 -> Auckland 09:00 the next day written as 33:00 (QA's F4): it would
    arrive before it left. The page says so rather than "Journey time: -9 h"."""
    with app.app_context():
        los_angeles = City(name="Los Angeles", timezone="America/Los_Angeles")
        auckland = City(name="Auckland", timezone="Pacific/Auckland")
        daily = Calendar(weekdays=0b1111111, start_date=YEAR_2026[0], end_date=YEAR_2026[1])
        service = _service("F4", daily, [(los_angeles, None, 23 * H), (auckland, 33 * H, None)])
        db.session.add(service)
        db.session.commit()
        sid = service.id
    days = _days_of_operation(page(client, f"/services/{sid}"))
    assert "Journey time unknown" in days and "-9 h" not in days and "-11 h" not in days


# --- 2. Station boards on the days the clocks change -------------------------------------------


def _board(client, city_id: int, day: str, kind: str = "departures") -> list[tuple[str, str]]:
    html = page(client, f"/cities/{city_id}?date={day}")
    start = html.index(f'class="board board-{kind}"')
    table = html[start : html.index("</table>", start)]
    return re.findall(r'<td class="time">(\d\d:\d\d).*?<a href="[^"]*">([^<]+)</a>', table, re.S)


def _planner_departure(client, origin: str, destination: str, depart: str, number: str) -> str:
    response = client.get(f"/api/v1/routes?from={origin}&to={destination}&depart={depart}")
    assert response.status_code == 200, response.get_data(as_text=True)
    for itinerary in response.get_json()["itineraries"]:
        leg = itinerary["legs"][0]
        if leg["service"] == number:
            return leg["departure"]
    raise AssertionError(f"{number} not found")


def test_board_on_the_spring_forward_day_follows_the_planner(client, zones):
    # 8 March 2026: "noon minus 12 hours" is 23:00 on the 7th, so 01:30 is 00:30 (EST).
    assert _planner_departure(client, "New York", "Newark", "2026-03-08T00:00", "T1") == (
        "2026-03-08T00:30:00-05:00"
    )
    board = _board(client, zones["new_york"], "2026-03-08")
    assert ("00:30", "T1") in board and ("01:30", "T1") not in board
    # N1's 00:30 of the 8th is 23:30 on the 7th: on the 7th's board (twice: its own run too).
    assert ("00:30", "N1") not in board
    assert _board(client, zones["new_york"], "2026-03-07").count(("23:30", "N1")) == 1
    assert ("00:30", "N1") in _board(client, zones["new_york"], "2026-03-07")
    # Arrivals at Newark: 03:30 on the 8th (EDT), as the planner says.
    assert ("03:30", "T1") in _board(client, zones["newark"], "2026-03-08", "arrivals")
    # The days around keep their timetable times.
    assert ("01:30", "T1") in _board(client, zones["new_york"], "2026-03-09")


def test_board_on_the_fall_back_day_follows_the_planner(client, zones):
    # 1 November 2026: "noon minus 12 hours" is 01:00 EDT, so 00:30 is 01:30 EDT and 01:30
    # is 01:30 EST (the second 01:30 of the night).
    assert _planner_departure(client, "New York", "Newark", "2026-11-01T00:00", "N1") == (
        "2026-11-01T01:30:00-04:00"
    )
    assert _planner_departure(client, "New York", "Newark", "2026-11-01T01:45", "T1") == (
        "2026-11-01T01:30:00-05:00"
    )
    board = _board(client, zones["new_york"], "2026-11-01")
    assert board[:2] == [("01:30", "N1"), ("01:30", "T1")]  # in the order they leave


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seconds=st.lists(st.integers(0, 2 * 86400 - 1), min_size=1, max_size=6),
    day=st.sampled_from([dt.date(2026, 3, 7), dt.date(2026, 3, 8), dt.date(2026, 3, 9),
                         dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 2),
                         dt.date(2026, 6, 15)]),
)
def test_board_lists_the_calls_whose_engine_instant_falls_on_the_day(engine, seconds, day):
    """Reference: each service day's instant by the engine's own rule, read on the city's
    clock; the board lists a call exactly when that falls on its date, at that clock time."""
    from sqlalchemy.orm import Session

    zone = "America/New_York"
    with Session(engine) as session:
        for table in reversed(db.metadata.sorted_tables):
            session.execute(table.delete())
        here = City(name="Here", timezone=zone)
        there = City(name="There", timezone=zone)
        daily = Calendar(weekdays=0b1111111)
        expected = []
        for i, t in enumerate(seconds):
            session.add(_service(f"R{i}", daily, [(here, None, t), (there, t + 60, None)]))
            for back in range(-1, 4):
                service_day = day - dt.timedelta(days=back)
                instant = engine_day_start(service_day, zone) + t
                local = dt.datetime.fromtimestamp(instant, ZoneInfo(zone))
                if local.date() == day:
                    expected.append((instant, f"R{i}",
                                     local.hour * 3600 + local.minute * 60 + local.second))
        session.commit()
        board = tv.city_board(session, here.id, day)
        assert sorted((r.number, r.time) for r in board) == sorted(
            (number, clock) for _, number, clock in expected
        )
        assert [r.time for r in board] == [clock for _, _, clock in sorted(expected)]


# --- 3. Calendars in words ---------------------------------------------------------------------


def _daily_except(start: dt.date, end: dt.date, runs) -> Calendar:
    """A GTFS-style calendar: every day from ``start`` to ``end``, with every date on which
    ``runs`` is false removed."""
    calendar = Calendar(name="gtfs", weekdays=0b1111111, start_date=start, end_date=end)
    day, removed = start, []
    while day <= end:
        if not runs(day):
            removed.append(CalendarDate(date=day, added=False))
        day += dt.timedelta(days=1)
    calendar.exceptions = removed
    return calendar


def test_a_saturday_service_written_as_daily_with_exceptions_says_saturdays(app, client):
    """Caltrain's Saturday service: "daily" from 15 July 2017 to 20 July 2019 less 630 dates."""
    with app.app_context():
        a, b = City(name="San Francisco"), City(name="San Jose")
        saturdays = _daily_except(dt.date(2017, 7, 15), dt.date(2019, 7, 20),
                                  lambda d: d.weekday() == 5)
        assert len(saturdays.exceptions) == 630
        # Mon-Sat, written the same way: daily less the Sundays and two Wednesdays.
        off = {dt.date(2018, 1, 3), dt.date(2018, 7, 4)}
        six = _daily_except(dt.date(2018, 1, 1), dt.date(2018, 12, 31),
                            lambda d: d.weekday() != 6 and d not in off)
        # Weekdays less 12 holidays: the list is folded behind its count.
        holidays = {dt.date(2018, 1, 1) + dt.timedelta(days=7 * k + 2) for k in range(12)}
        weekdays = _daily_except(dt.date(2018, 1, 1), dt.date(2018, 12, 31),
                                 lambda d: d.weekday() < 5 and d not in holidays)
        ids = []
        for number, calendar in (("S1", saturdays), ("S2", six), ("S3", weekdays)):
            service = _service(number, calendar, [(a, None, 8 * H), (b, 9 * H, None)])
            db.session.add(service)
            db.session.commit()
            ids.append(service.id)
    saturday = _days_of_operation(page(client, f"/services/{ids[0]}"))
    assert '<li class="weekdays">Sat</li>' in saturday
    assert "Saturday, 15 July 2017 to Saturday, 20 July 2019" in saturday
    assert "Daily" not in saturday and "Does not run on" not in saturday
    assert saturday.count('class="date"') == 0

    six_days = _days_of_operation(page(client, f"/services/{ids[1]}"))
    assert '<li class="weekdays">Mon–Sat</li>' in six_days
    # Its range is from its first run (Mon 1 Jan) to its last (Mon 31 Dec).
    assert "Monday, 1 January 2018 to Monday, 31 December 2018" in six_days
    removed = re.search(r'<li class="removed">(.*?)</li>', six_days, re.S)
    assert removed is not None
    assert re.findall(r'<span class="date">([^<]+)</span>', removed.group(1)) == [
        "3 Jan 2018", "4 Jul 2018"
    ]

    weekday = _days_of_operation(page(client, f"/services/{ids[2]}"))
    assert '<li class="weekdays">Mon–Fri</li>' in weekday
    folded = re.search(r'<li class="removed"><details><summary>([^<]+)</summary>(.*?)</details>',
                       weekday, re.S)
    assert folded is not None and folded.group(1) == "Does not run on 12 dates"
    assert folded.group(2).count('class="date"') == 12


def test_added_dates_beyond_the_pattern_are_listed_as_such(app):
    # "No regular days" plus 60 Sundays added: Sundays, from the first to the last.
    sundays = tuple(dt.date(2026, 1, 4) + dt.timedelta(days=7 * k) for k in range(60))
    summary = tv.describe_calendar(tv.CalendarDays(0, None, None, added=sundays))
    assert summary == tv.CalendarSummary(1 << 6, sundays[0], sundays[-1])
    # Three scattered dates stay three dates.
    few = (dt.date(2026, 1, 5), dt.date(2026, 2, 17), dt.date(2026, 5, 1))
    assert tv.describe_calendar(tv.CalendarDays(0, None, None, added=few)) == (
        tv.CalendarSummary(0, few[0], few[-1], added=few)
    )
    # Every date removed: it never runs.
    never = tv.CalendarDays(0b0000001, dt.date(2026, 1, 5), dt.date(2026, 1, 5),
                            removed=(dt.date(2026, 1, 5),))
    assert tv.describe_calendar(never).never
    # Open-ended: the pattern stays; exceptions that change nothing go.
    open_ended = tv.CalendarDays(0b0011111, dt.date(2026, 1, 1), None,
                                 added=(dt.date(2026, 1, 3), dt.date(2026, 1, 5)),
                                 removed=(dt.date(2026, 1, 6), dt.date(2026, 1, 10)))
    assert tv.describe_calendar(open_ended) == tv.CalendarSummary(
        0b0011111, dt.date(2026, 1, 1), None, (dt.date(2026, 1, 3),), (dt.date(2026, 1, 6),)
    )


@settings(max_examples=200, deadline=None)
@given(
    weekdays=st.integers(0, 127),
    start=st.dates(dt.date(2026, 1, 1), dt.date(2026, 3, 1)),
    length=st.integers(0, 120),
    exceptions=st.lists(st.tuples(st.integers(-10, 130), st.booleans()), max_size=40),
)
def test_a_described_calendar_runs_on_exactly_the_same_dates(weekdays, start, length, exceptions):
    end = start + dt.timedelta(days=length)
    added = tuple(sorted({start + dt.timedelta(days=k) for k, on in exceptions if on}))
    removed = tuple(sorted({start + dt.timedelta(days=k) for k, on in exceptions if not on}))
    calendar = tv.CalendarDays(weekdays, start, end, added, removed)
    summary = tv.describe_calendar(calendar)
    described = tv.CalendarDays(summary.weekdays, summary.start_date, summary.end_date,
                                summary.added, summary.removed)
    low, high = start - dt.timedelta(days=20), end + dt.timedelta(days=150)
    truth = tv.running_dates(calendar, low, high)
    assert summary.never == (not truth)
    if truth:
        assert tv.running_dates(described, low, high) == truth
        # No more exceptions than the calendar had, within its running dates.
        assert len(summary.added) + len(summary.removed) <= len(added) + len(removed) + len(
            truth)


# --- 4. The run-history chart ------------------------------------------------------------------


def _history(session, minutes: list[float | None], scheduled: float = 180.0,
             timetable: int = 199 * 60) -> int:
    """A daily Beijing -> Shanghai service taking ``timetable`` seconds, and one recorded run
    a day from 1 March 2025 taking ``minutes`` each (None: cancelled), scheduled for
    ``scheduled`` minutes (a history file's schedule, not the timetable's)."""
    beijing, shanghai = City(name="北京"), City(name="上海")
    service = _service("G7", Calendar(weekdays=0b1111111),
                       [(beijing, None, 8 * H), (shanghai, 8 * H + timetable, None)])
    session.add(service)
    session.flush()
    for k, took in enumerate(minutes):
        day = dt.date(2025, 3, 1) + dt.timedelta(days=k)
        leaves = dt.datetime.combine(day, dt.time(0))  # 08:00 in China
        session.add(TripRecord(
            service_id=service.id, service_date=day, origin_id=beijing.id,
            destination_id=shanghai.id, scheduled_departure=leaves,
            scheduled_arrival=leaves + dt.timedelta(minutes=scheduled),
            actual_departure=None if took is None else leaves,
            actual_arrival=None if took is None else leaves + dt.timedelta(minutes=took),
            cancelled=took is None,
        ))
    session.commit()
    return service.id


NOW = dt.datetime(2025, 6, 1)


def test_one_implausible_run_does_not_flatten_the_others(app, client):
    runs = [195.0 + (k % 7) for k in range(25)] + [43401.0] + [199.0, 201.0]
    with app.test_request_context("/"):
        sid = _history(db.session, runs)
        chart = fv.service_chart(db.session, sid, NOW)
    assert chart is not None
    # The scale spans the bulk (the timetable's 180 included), not 43,401 minutes.
    assert chart.high < 260 and chart.low > 150
    assert max(float(t.text) for t in chart.ticks) < 260
    assert len(chart.past) == 27 and len(chart.off_scale) == 1
    arrow = chart.off_scale[0]
    assert arrow.up and arrow.y < chart.top and arrow.minutes == 43401
    assert arrow.label == "2025-03-26 08:00: 43401 min, off the chart's scale"
    # The other runs spread over the plot instead of lying on one line.
    assert len({p.y for p in chart.past}) == 7
    assert max(p.y for p in chart.past) - min(p.y for p in chart.past) > 40
    html = page(client, f"/services/{sid}")
    section = html[html.index('class="forecast-chart') : html.index("</section>")]
    assert section.count('<polygon class="off-scale"') == 1
    assert "43401 min, off the chart&#39;s scale</title>" in section
    assert ("Off the chart&#39;s scale, marked by an arrow at its edge: 2025-03-26 08:00, "
            "43401 min.") in section


def test_the_scale_keeps_every_value_when_none_stands_out():
    assert fv.scale_limits([100.0, 110.0, 130.0, 180.0]) == (93.6, 186.4)
    assert fv.scale_limits([30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 1000.0])[1] < 100
    # A service whose runs really take from 1 to 3 hours keeps them all on the chart.
    spread = [60.0 + 5 * k for k in range(25)]
    assert fv.scale_limits(spread)[1] >= 180


def test_caption_quotes_the_timetable_not_the_recorded_schedule(app, client):
    with app.app_context():
        sid = _history(db.session, [199.0, 200.0, 198.0], scheduled=180.0, timetable=199 * 60)
    html = page(client, f"/services/{sid}")
    caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", html, re.S)
    assert caption is not None
    assert "the timetable says 199." in caption.group(1)
    assert "Journey time: 3 h 19 min" in html


def test_caption_timetable_time_counts_time_zones(app):
    """Los Angeles 01:30 -> Beijing 06:00 the next day, recorded on 1 July 2026: 13 h 30."""
    with app.test_request_context("/"):
        ids = build_zones(db.session)
        leaves = dt.datetime(2026, 7, 1, 8, 30)  # 01:30 PDT
        db.session.add(TripRecord(
            service_id=ids["F2"], service_date=dt.date(2026, 7, 1),
            origin_id=ids["los_angeles"], destination_id=ids["beijing"],
            # The history file's schedule says 800 minutes; the timetable 13 h 30.
            scheduled_departure=leaves, scheduled_arrival=leaves + dt.timedelta(minutes=800),
            actual_departure=leaves, actual_arrival=leaves + dt.timedelta(minutes=815),
        ))
        db.session.commit()
        chart = fv.service_chart(db.session, ids["F2"], dt.datetime(2026, 8, 1))
    assert chart is not None and "the timetable says 810." in chart.caption


def test_chart_writes_dates_under_its_axis_and_its_unit_clear_of_the_ticks(app, client):
    with app.app_context():
        sid = _history(db.session, [199.0 + k % 3 for k in range(30)])
    html = page(client, f"/services/{sid}")
    section = html[html.index('class="forecast-chart') : html.index("</section>")]
    dates = re.findall(r'<text class="date"[^>]*>([^<]+)</text>', section)
    assert dates == ["1 Mar", "11 Mar", "20 Mar", "30 Mar"]
    # The unit sits above the plot, right of the tick labels (which end left of it).
    unit = re.search(r'<text class="unit" x="([\d.]+)" y="([\d.]+)"', section)
    ticks = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*text-anchor="end"', section)
    assert unit is not None and ticks
    assert all(float(x) < float(unit.group(1)) for x, _ in ticks)
    assert float(unit.group(2)) < min(float(y) for _, y in ticks) - 10
    chinese = page(client, f"/services/{sid}?lang=zh")
    assert re.findall(r'<text class="date"[^>]*>([^<]+)</text>', chinese)[0] == "3月1日"


def test_chart_tooltips_say_eight_times_in_ten(app):
    from transit.models import ServiceForecast

    with app.test_request_context("/"):
        sid = _history(db.session, [199.0, 200.0])
        city = db.session.query(City).filter_by(name="北京").one()
        other = db.session.query(City).filter_by(name="上海").one()
        db.session.add(ServiceForecast(
            service_id=sid, service_date=dt.date(2025, 6, 2), origin_id=city.id,
            destination_id=other.id, scheduled_departure=dt.datetime(2025, 6, 2),
            scheduled_arrival=dt.datetime(2025, 6, 2, 3, 19), travel_p10=197.0,
            travel_p50=200.0, travel_p90=210.0, delay_p10=-2.0, delay_p50=1.0,
            delay_p90=11.0, model="test",
        ))
        db.session.commit()
        chart = fv.service_chart(db.session, sid, NOW)
    assert chart is not None
    assert chart.forecasts[0].label == (
        "2025-06-02 08:00: forecast 200 min, 8 times in 10 between 197 and 210"
    )
    assert "10–90" not in chart.forecasts[0].label
