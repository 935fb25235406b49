"""A local time that the clocks skip is the moment they jump (docs/routing.md, "A query").

QA finding: 02:30 on the night New York's clocks jump from 02:00 to 03:00 was read as 03:30
(Python reads such a time with the offset of before the jump). Asking from 02:30 then gave
a later journey than asking from 03:00, and arriving by 02:30 gave an arrival at 03:15.
The engine, the reference, the command line, the API and the route page now read it as
03:00 EDT, the instant of the jump.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api
from tests.live import served
from transit.routing import Query, Snapshot, plan
from transit.routing.planner import instant
from transit.routing.reference import _instant
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
)
from transit.timetable.loader import load_feed

NEW_YORK = ZoneInfo("America/New_York")
JUMP = dt.datetime(2025, 3, 9, 3, 0, tzinfo=NEW_YORK)  # 02:00 EST becomes 03:00 EDT


def _feed() -> Feed:
    """Alpha (New York) to Bravo (Chicago), daily at 03:10 and 23:30 New York time."""
    feed = Feed(source="skipped hour")
    feed.cities["A"] = FeedCity(name="Alpha", timezone="America/New_York")
    feed.cities["B"] = FeedCity(name="Bravo", timezone="America/Chicago")
    feed.calendars["daily"] = FeedCalendar(start_date=dt.date(2025, 3, 1),
                                           end_date=dt.date(2025, 3, 20))
    feed.services.append(FeedService(number="T3", mode="train", currency="USD", timetables=[
        FeedTimetable(code=code, calendar="daily", stops=[
            FeedStop("A", None, leave), FeedStop("B", leave + 3900 - 3600, None, 1000),
        ])
        for code, leave in (("early", 3 * 3600 + 600), ("late", 23 * 3600 + 1800))
    ]))
    return feed


def test_instants_of_skipped_times_are_the_jump():
    for clock in (dt.time(2, 0), dt.time(2, 30), dt.time(2, 59, 59)):
        local = dt.datetime.combine(dt.date(2025, 3, 9), clock)
        assert instant(local, "America/New_York") == JUMP.timestamp()
        assert instant(local.replace(tzinfo=NEW_YORK), "UTC") == JUMP.timestamp()
        assert _instant(local, "America/New_York") == JUMP.timestamp()
    # Either side of the gap, and the repeated hour in autumn, as before.
    assert instant(dt.datetime(2025, 3, 9, 1, 59, 59), NEW_YORK) == JUMP.timestamp() - 1
    assert instant(dt.datetime(2025, 3, 9, 3, 0, 1), NEW_YORK) == JUMP.timestamp() + 1
    first = instant(dt.datetime(2025, 11, 2, 1, 30), NEW_YORK)
    assert instant(dt.datetime(2025, 11, 2, 1, 30, fold=1), NEW_YORK) == first + 3600


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe",
                     "America/Santiago", "Pacific/Apia", "Asia/Shanghai"]),
    st.datetimes(min_value=dt.datetime(2010, 1, 1), max_value=dt.datetime(2030, 12, 31)),
)
def test_engine_and_reference_read_every_local_time_alike(zone, local):
    moment = instant(local, zone)
    assert moment == _instant(local, zone)
    # Monotone: a later local time is never an earlier instant.
    assert instant(local + dt.timedelta(minutes=1), zone) >= moment
    # A time that exists is read as Python reads it.
    aware = local.replace(tzinfo=ZoneInfo(zone))
    if aware.astimezone(dt.UTC).astimezone(aware.tzinfo).replace(tzinfo=None) == local:
        assert moment == int(aware.timestamp())


@pytest.mark.parametrize("criterion", ["fastest", "cheapest", "transfers", "options"])
def test_asking_from_the_skipped_hour_finds_the_train_after_the_jump(criterion):
    snap = Snapshot.from_feed(_feed(), 0)
    for asked in (dt.datetime(2025, 3, 9, 2, 30), dt.datetime(2025, 3, 9, 3, 0)):
        result = plan(snap, Query("Alpha", "Bravo", depart=asked, criterion=criterion,
                                  window_hours=6))
        assert [it.departure.isoformat() for it in result.itineraries] == [
            "2025-03-09T03:10:00-04:00"], (asked, result.message)
    nothing = plan(snap, Query("Alpha", "Bravo", depart=dt.datetime(2025, 3, 9, 2, 30),
                               window_hours=0.1, criterion=criterion))
    assert "between 2025-03-09 03:00 and 2025-03-09 03:06" in nothing.message


def test_arriving_by_a_skipped_time_arrives_before_the_jump():
    # Bravo is in Chicago, whose clocks jump an hour after New York's: arriving by 02:30
    # there is by 03:00 CDT. The 03:10 from Alpha arrives at 03:15 CDT, after it (it was
    # the answer while 02:30 read as 03:30); the train of the evening before is.
    snap = Snapshot.from_feed(_feed(), 0)
    result = plan(snap, Query("Alpha", "Bravo", arrive_by=dt.datetime(2025, 3, 9, 2, 30),
                              window_hours=4))
    assert [it.arrival.isoformat() for it in result.itineraries] == ["2025-03-08T23:35:00-06:00"]


def test_the_command_line_and_the_api_read_it_so(app, runner):
    from transit.web.extensions import db

    with app.app_context():
        load_feed(db.session(), _feed())
        db.session.commit()
    out = runner.invoke(args=["route", "Alpha", "Bravo", "--depart", "2025-03-09T02:30",
                              "--window-hours", "6", "--json"])
    assert out.exit_code == 0, out.output
    legs = json.loads(out.output)["itineraries"]
    assert [it["departure"] for it in legs] == ["2025-03-09T03:10:00-04:00"]
    with served(app, "skipped-hour") as (host, port):
        api = Api(host, port)
        reply = api.get("/api/v1/routes?from=Alpha&to=Bravo&depart=2025-03-09T02:30"
                        "&window_hours=6")
        assert reply.status == 200, reply.body
        assert [it["departure"] for it in reply.json["itineraries"]] == [
            "2025-03-09T03:10:00-04:00"]
        # The route page: the 03:10, and not the 23:30 of that evening.
        page = api.get("/routes?from=Alpha&to=Bravo&date=2025-03-09&time=02:30").body.decode()
        assert 'datetime="2025-03-09T03:10:00-04:00"' in page


def _autumn_feed() -> Feed:
    """Alpha to Charlie (both New York), 01:59 to 01:00 on the night the clocks go back:
    an hour's ride that arrives, on the clock, before it left."""
    feed = Feed(source="repeated hour")
    feed.cities["A"] = FeedCity(name="Alpha", timezone="America/New_York")
    feed.cities["C"] = FeedCity(name="Charlie", timezone="America/New_York")
    day = dt.date(2025, 11, 2)
    feed.calendars["sunday"] = FeedCalendar.single_day(day)
    # Service-day seconds count from noon minus 12 hours: 01:00 EDT on that day, so
    # 00:59 is 01:59 EDT and 01:59 is 01:59 EST, an hour later.
    feed.services.append(FeedService(number="N1", mode="train", timetables=[
        FeedTimetable(code="n", calendar="sunday", stops=[
            FeedStop("A", None, 59 * 60), FeedStop("C", 3600 + 59 * 60, None)]),
    ]))
    return feed


def test_a_journey_in_the_repeated_hour_says_which_pass(app, runner):
    from transit.web.extensions import db

    with app.app_context():
        load_feed(db.session(), _autumn_feed())
        db.session.commit()
    out = runner.invoke(args=["route", "Alpha", "Charlie", "--depart", "2025-11-02T01:00"])
    assert out.exit_code == 0, out.output
    assert "1. 2025-11-02 01:59 EDT → 01:59 EST  (1 h 00 min" in out.output, out.output
    assert "Alpha 01:59 EDT → Charlie 01:59 EST" in out.output
    page = app.test_client().get("/routes?from=Alpha&to=Charlie&date=2025-11-02&time=01:00")
    html = page.get_data(as_text=True)
    assert "01:59 EDT" in html and "01:59 EST" in html
