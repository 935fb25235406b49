"""Admin forms against what a user can type (QA findings #1, #6, #8, #9): a message in
plain words naming the field, every problem at once, never a 500, nothing written.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.admin_helpers import csrf_token, post
from tests.test_admin_pages import _overnight, _summary_items
from transit.models import Service, TripRecord
from transit.web.extensions import db

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]



# --- #6 plain words in the service and variant forms ------------------------------------------


def test_the_service_form_says_what_each_field_takes(app, client, admin):
    form = _overnight(number="", mode="rocket", currency="EURO", start_date="2026-13-01",
                        added="2026-02-30, foo", operator="x" * 201)
    reply = post(client, "/admin/services/new", form)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert _summary_items(html) == [
        "Number: required",
        "Mode: choose one from the list",
        "Operator: at most 200 characters",
        "Currency: three letters such as CNY",
        "Valid from: 2026-13-01 is not a date; write one such as 2026-05-01",
        "Also runs on: 2026-02-30 is not a date; write one such as 2026-05-01; "
        "foo is not a date; write one such as 2026-05-01",
    ]
    assert "should" not in html and "pattern" not in html
    assert 'value="2026-02-30, foo"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) == 1


def test_a_fare_beyond_the_limit_is_refused_in_currency_units(app, client, admin):
    form = {"number": "G1", "mode": "train", "operator": "CR", "route": "", "name": "",
            "currency": "CNY", "fare_origin": ["Beijing"], "fare_destination": ["Shanghai"],
            "fare_amount": ["21474836.48"]}
    reply = post(client, f"/admin/services/{admin['g1']}", form)
    assert reply.status_code == 422
    assert _summary_items(reply.get_data(as_text=True)) == [
        "Fares, row 1, fare: a fare is at most 21,474,836.47"]


def test_a_variant_with_one_stop_is_refused_in_words(app, client, admin):
    url = f"/admin/services/{admin['g1']}/variants/new"
    form = _overnight(stop_city=["Beijing"], stop_arrival=[""], stop_arrival_day=["0"],
                        stop_departure=["08:00"], stop_departure_day=["0"], stop_fare=[""])
    reply = post(client, url, form)
    assert reply.status_code == 422
    assert _summary_items(reply.get_data(as_text=True)) == [
        "Stops, in travel order: a variant needs at least two stops"]


# --- #8 record a run: every problem at once; #1 numbers in forms and query strings ----------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"origin": "2", "destination": "1", "actual_departure": "soon"},
         ["To: the destination must come after the origin",
          "Really left (local time): Write a date and time such as 2026-03-01 21:05."]),
        ({"origin": "1", "destination": "1", "actual_arrival": "later"},
         ["To: the destination must come after the origin",
          "Really arrived (local time): Write a date and time such as 2026-03-01 21:05."]),
        ({"origin": "²", "destination": "³"},
         ["From: choose a stop of the variant", "To: choose a stop of the variant"]),
        # Both problems of editing.record_trip at once (it once stopped at the first).
        ({"origin": "2", "destination": "1", "actual_departure": "2026-03-02T08:03",
          "actual_arrival": "2026-03-02T07:00"},
         ["To: the destination must come after the origin",
          "Really arrived (local time): the actual arrival is before the actual departure"]),
    ],
)
def test_record_a_run_shows_every_problem_at_once(app, client, admin, changes, expected):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    form = {"service_date": "2026-03-02", "origin": "0", "destination": "2",
            "actual_departure": "2026-03-02T08:03", "actual_arrival": "2026-03-02T12:52",
            **changes}
    reply = post(client, url, form)
    assert reply.status_code == 422
    assert _summary_items(reply.get_data(as_text=True)) == expected
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 0


NO_TIME = ("Really left (local time): enter when the run really left or arrived (or both), or "
           "tick Cancelled")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # 06:35 in Shanghai on 0001-01-01 is in year 0 UTC: once a 500 (OverflowError).
        ({"service_date": "0001-01-01"},
         ["Day the run started: the day must fall in the years 1900 to 2999", NO_TIME]),
        ({"service_date": "0001-01-01", "actual_departure": "0001-01-01T06:40",
          "actual_arrival": "0001-01-01T12:00"},
         ["Day the run started: the day must fall in the years 1900 to 2999",
          "Really left (local time): the time must fall in the years 1900 to 2999",
          "Really arrived (local time): the time must fall in the years 1900 to 2999"]),
        ({"service_date": "3000-01-01", "actual_departure": "", "actual_arrival": ""},
         ["Day the run started: the day must fall in the years 1900 to 2999", NO_TIME]),
    ],
)
def test_record_a_run_refuses_a_day_outside_the_years_known(app, client, admin, changes, expected):
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    form = {"service_date": "2026-03-02", "origin": "0", "destination": "2",
            "actual_departure": "", "actual_arrival": "", **changes}
    reply = post(client, url, form)
    assert reply.status_code == 422
    assert _summary_items(reply.get_data(as_text=True)) == expected
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TripRecord)) == 0


@pytest.mark.parametrize("listing", ["/admin/services", "/admin/cities", "/admin/audit"])
def test_a_page_number_that_is_not_ascii_digits_means_the_first_page(client, admin, listing):
    for page in ("²", "٣", "abc"):
        assert client.get(listing, query_string={"page": page}).status_code == 200


# --- #9 duplicate -----------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "route", "field"), [("QN\x001", "", "number"),
                                                         ("QN1", "\x00", "route")])
def test_duplicate_refuses_a_nul_character(app, client, admin, number, route, field):
    url = f"/admin/services/{admin['g1']}"
    reply = client.post(f"{url}/duplicate", data={"number": number, "route": route,
                                                  "csrf_token": csrf_token(client, url)})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    beside = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', html)
    assert beside and beside.group(1) == "text may not contain NUL characters"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Service)) == 1


def test_the_core_copy_refuses_a_nul_character_itself(app, admin):
    """Not only the admin view: ``editing.duplicate_service`` is the rule every door shares."""
    from transit import editing

    with app.app_context():
        service = db.session.get(Service, admin["g1"])
        with pytest.raises(editing.EditError) as refused:
            editing.duplicate_service(db.session(), service, number="QN\x001", route="\x00", user="t")
        assert [(i.field, i.message) for i in refused.value.issues] == [
            ("number", "text may not contain NUL characters"),
            ("route", "text may not contain NUL characters"),
        ]
