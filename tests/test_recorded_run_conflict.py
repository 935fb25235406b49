"""Record a run twice with other values: the admin says which fields differ from the run
recorded before, beside those fields, in the reader's language."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.admin_helpers import post
from tests.test_admin_pages import _summary_items
from tests.test_history import small_feed, utc
from transit import editing
from transit.models import Service, Timetable, TripRecord
from transit.timetable.loader import load_feed
from transit.web.extensions import db

FORM = {"service_date": "2026-03-02", "origin": "0", "destination": "2",
        "actual_departure": "2026-03-02T08:03", "actual_arrival": "2026-03-02T12:52"}


def _record(client, admin, **changes: str):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    return post(client, url, {**FORM, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"actual_departure": "2026-03-02T08:13"},
         ["Really left (local time): recorded as 08:03, not 08:13"]),
        ({"actual_arrival": ""},
         ["Really arrived (local time): recorded as 12:52: give that time"]),
        ({"actual_departure": "", "actual_arrival": "", "cancelled": "1"},
         ["Really left (local time): recorded as 08:03: give that time",
          "Really arrived (local time): recorded as 12:52: give that time",
          "Cancelled: recorded as run, not cancelled"]),
    ],
)
def test_a_run_recorded_again_with_other_values_names_each_field(
    app, client, admin, changes, expected
):
    assert _record(client, admin).status_code == 302
    reply = _record(client, admin, **changes)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "This run is already recorded with other values" in html
    assert _summary_items(html) == expected
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 1
    # The same values again: nothing added, and said so.
    again = _record(client, admin)
    assert again.status_code == 302


def test_the_conflict_reads_in_chinese(app, client, admin):
    assert _record(client, admin).status_code == 302
    client.get("/admin/?lang=zh")
    reply = _record(client, admin, actual_departure="2026-03-02T08:13")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "此班次运行已记录为其他数值" in html
    assert "已记录为 08:03，而不是 08:13" in html
    assert "already recorded" not in html


def test_a_run_recorded_again_is_said_in_local_time(session: Session) -> None:
    """QA: the conflict named the run in UTC (2026-11-02 22:35 for a run the user typed on
    2026-11-03, 06:35 in Beijing): each differing field says the recorded value locally."""
    load_feed(session, small_feed())
    session.commit()
    timetable = session.scalars(select(Timetable).join(Service).where(Service.number == "G1")).one()
    timetable.stops[0].departure = 6 * 3600 + 35 * 60
    session.commit()
    day = dt.date(2026, 11, 3)
    assert editing.record_trip(session, timetable, day, 0, 2,
                               actual_departure=dt.datetime(2026, 11, 3, 6, 40),  # noqa: DTZ001
                               actual_arrival=None, user="test", now=utc(2026, 11, 28)) == 1
    session.commit()
    with pytest.raises(editing.EditError) as error:
        editing.record_trip(session, timetable, day, 0, 2,
                            actual_departure=dt.datetime(2026, 11, 3, 6, 50),  # noqa: DTZ001
                            actual_arrival=None, user="test", now=utc(2026, 11, 28))
    assert error.value.kind == "conflict"
    assert [(i.field, str(i.message)) for i in error.value.issues] == [
        ("actual_departure", "recorded as 06:40, not 06:50")]
