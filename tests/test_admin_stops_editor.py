"""The stops editor against what the database may hold (QA findings #4, #5, #7).

A stored variant opened in the editor and saved without a change must come back the same,
whatever an import wrote: times up to 14 days after the start, fares up to 21,474,836.47,
stops where travellers may not board or alight.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from tests.admin_helpers import H
from tests.test_admin_pages import _summary_items
from transit import schemas as s
from transit.models import Calendar, City, Service, ServiceFare, Stop, Timetable
from transit.timetable import feed
from transit.web.extensions import db

DAY = 86400



class _Form(HTMLParser):
    """What a browser sends for the page's form of class ``kind``, nothing touched: inputs
    with their values, checked boxes, and each select's chosen option (else its first)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.fields: list[tuple[str, str]] = []
        self._in_form = self._done = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.kind in a.get("class", "").split() and not self._done:
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and "name" in a:
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            self.fields.append((self._select, (chosen or [self._options[0][0]])[-1]))
            self._select = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def _as_opened(client, url: str) -> MultiDict:
    form = _Form("service-form" if url.rstrip("0123456789").endswith("services/") else "variant-form")
    form.feed(client.get(url).get_data(as_text=True))
    return MultiDict(form.fields)


def _stored(app, timetable_id: int) -> list[tuple[Any, ...]]:
    with app.app_context():
        timetable = db.session.get(Timetable, timetable_id)
        return [(stop.city_id, stop.arrival, stop.departure, stop.fare_cents, stop.boarding,
                 stop.alighting) for stop in timetable.stops]


def _add_imported(app, stops: list[tuple[str, int | None, int | None, int | None, bool, bool]],
                  number: str = "QA100") -> tuple[int, int]:
    """A service as an import may write it: (city, arrival, departure, fare, boarding,
    alighting) per stop, on the corridor's cities."""
    with app.app_context():
        cities = {c.name: c for c in db.session.scalars(select(City))}
        service = Service(number=number, mode="train", operator="QA")
        timetable = Timetable(code="a", calendar=Calendar(name="daily"), service=service)
        timetable.stops = [
            Stop(sequence=i, city=cities[city], arrival=arrival, departure=departure,
                 fare_cents=fare, boarding=boarding, alighting=alighting)
            for i, (city, arrival, departure, fare, boarding, alighting) in enumerate(stops)
        ]
        db.session.add(service)
        db.session.commit()
        return service.id, timetable.id


# --- #4 times past a week, #7 boarding and alighting: an unchanged save changes nothing ------


def test_an_unchanged_save_keeps_times_up_to_14_days_and_the_boarding_flags(app, client, admin):
    service_id, variant_id = _add_imported(app, [
        ("Beijing", None, 8 * H, None, True, False),
        ("Jinan", 200 * H, 200 * H + 600, 2000, False, True),  # day +8
        ("Shanghai", 14 * DAY, None, 3000, False, True),  # 336:00:00, the imports' last time
    ])
    url = f"/admin/services/{service_id}/variants/{variant_id}"
    before = _stored(app, variant_id)
    form = _as_opened(client, url)
    assert form.getlist("stop_arrival_day") == ["0", "8", "14"]
    assert form.getlist("stop_boarding") == ["1", "0", "0"]
    assert form.getlist("stop_alighting") == ["0", "1", "1"]
    reply = client.post(url, data=form)
    assert reply.status_code == 302, reply.get_data(as_text=True)
    assert _stored(app, variant_id) == before
    # A time on day +7 (168:00 to 191:59) saves too; it was refused as past 7 days.
    with app.app_context():
        stop = db.session.get(Timetable, variant_id).stops[1]
        stop.arrival, stop.departure = 7 * DAY + 22 * H, 7 * DAY + 23 * H + 30
        db.session.commit()
    before = _stored(app, variant_id)
    assert client.post(url, data=_as_opened(client, url)).status_code == 302
    assert _stored(app, variant_id) == before


def test_an_unchanged_save_keeps_the_variants_named_calendar(app, client, admin):
    """Saved as opened, a variant on a named calendar ("daily") was moved onto an unnamed
    copy of it, and the named one deleted once its last variant was saved so. Days that do
    change get an unnamed calendar of their own; the named one stays."""
    from transit.models import Calendar

    service_id, variant_id = _add_imported(app, [
        ("Beijing", None, 8 * H, None, True, True), ("Shanghai", 13 * H, None, 3000, True, True)])
    url = f"/admin/services/{service_id}/variants/{variant_id}"
    with app.app_context():
        named = db.session.get(Timetable, variant_id).calendar_id
        calendars = db.session.scalar(select(func.count()).select_from(Calendar))
    assert client.post(url, data=_as_opened(client, url)).status_code == 302
    with app.app_context():
        assert db.session.get(Timetable, variant_id).calendar_id == named
        assert db.session.scalar(select(func.count()).select_from(Calendar)) == calendars
    form = _as_opened(client, url)
    form.setlist("weekdays", ["mon"])
    assert client.post(url, data=form).status_code == 302
    with app.app_context():
        variant = db.session.get(Timetable, variant_id)
        assert variant.calendar_id != named and variant.calendar.name is None
        assert db.session.get(Calendar, named) is not None  # named: kept for variants to come


def test_the_stops_editor_shows_boarding_and_alighting_and_saves_a_change(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    html = client.get(url).get_data(as_text=True)
    assert '<th scope="col">Boarding</th><th scope="col">Alighting</th>' in html
    assert '<select name="stop_boarding" aria-label="Boarding">' in html
    assert '<option value="0">no alighting</option>' in html
    form = _as_opened(client, url)
    form.setlist("stop_boarding", ["1", "0", "0"])  # Jinan: set down only
    assert client.post(url, data=form).status_code == 302
    assert [row[4:] for row in _stored(app, admin["g1_variant"])] == [
        (True, True), (False, True), (False, True)]


def test_a_day_the_select_cannot_take_is_refused_naming_the_stop_never_moved(app, client, admin):
    # A time stored past the limit (not from any door today) shows as it is and is refused.
    service_id, variant_id = _add_imported(app, [
        ("Beijing", None, 8 * H, None, True, True),
        ("Shanghai", 15 * DAY + H, None, None, True, True),
    ])
    url = f"/admin/services/{service_id}/variants/{variant_id}"
    before = _stored(app, variant_id)
    form = _as_opened(client, url)
    assert form.getlist("stop_arrival_day") == ["0", "15"]
    reply = client.post(url, data=form)
    assert reply.status_code == 422
    assert "Stops, row 2, arrival: a time must fall within 14 days" in reply.get_data(as_text=True)
    assert _stored(app, variant_id) == before
    # "²" is a digit to str.isdigit but not to int(): refused in words, not a 500.
    form.setlist("stop_arrival_day", ["0", "²"])
    reply = client.post(url, data=form)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "Stops, row 2, arrival:" in html
    assert '<option value="²" selected>' in html  # kept as sent
    assert _stored(app, variant_id) == before


def test_the_models_take_every_time_and_fare_an_import_takes():
    assert s.MAX_SECONDS == feed.MAX_STOP_SECONDS and s.MAX_CENTS == feed.MAX_CENTS
    assert s.StopIn(city="Beijing", arrival="336:00").arrival == feed.MAX_STOP_SECONDS
    assert s.StopIn(city="Beijing", arrival="00:00+14").arrival == 14 * DAY
    assert s.StopIn(city="Beijing", fare_cents=feed.MAX_CENTS).fare_cents == 2**31 - 1
    with pytest.raises(ValidationError, match="within 14 days"):
        s.StopIn(city="Beijing", arrival="336:00:01")
    with pytest.raises(ValidationError, match="less than or equal to 2147483647"):
        s.FareIn(origin="A", destination="B", fare_cents=2**31)


# --- #5 fares up to 21,474,836.47 -----------------------------------------------------------


def test_a_fare_an_import_accepts_is_kept_by_an_unchanged_save(app, client, admin):
    service_id, variant_id = _add_imported(app, [
        ("Beijing", None, 8 * H, None, True, True),
        ("Shanghai", 12 * H, None, 500_000_000, True, True),  # 5,000,000.00
    ], number="QA200")
    url = f"/admin/services/{service_id}/variants/{variant_id}"
    before = _stored(app, variant_id)
    assert client.post(url, data=_as_opened(client, url)).status_code == 302
    assert _stored(app, variant_id) == before
    # The service form's origin-destination fares take the same amounts.
    service_url = f"/admin/services/{service_id}"
    form = _as_opened(client, service_url)
    form.setlist("fare_origin", ["Beijing"])
    form.setlist("fare_destination", ["Shanghai"])
    form.setlist("fare_amount", ["21,474,836.47"])
    assert client.post(service_url, data=form).status_code == 302
    with app.app_context():
        fare = db.session.scalar(select(ServiceFare).where(ServiceFare.service_id == service_id))
        assert fare.fare_cents == 2**31 - 1


def test_leg_fares_may_not_add_up_past_what_the_search_can_count(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    before = _stored(app, admin["g1_variant"])
    form = _as_opened(client, url)
    form.setlist("stop_fare", ["", "20000000", "20000000"])
    reply = client.post(url, data=form)
    assert reply.status_code == 422
    assert _summary_items(reply.get_data(as_text=True)) == [
        "Stops, row 3, fare: the leg fares add up to more than 21,474,836.47 by this stop"]
    assert _stored(app, admin["g1_variant"]) == before
