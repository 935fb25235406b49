"""City boards and service pages (traveller QA): no day link past the years a board answers
for, and odd variant numbers in the query string are no server error."""

from __future__ import annotations

import re

from tests.test_pages import build_network, page
from transit.web.extensions import db


def test_city_board_offers_no_day_past_the_years(client):
    with client.application.app_context():
        city = build_network(db.session)["beijing"]
    first = page(client, f"/cities/{city}?date=1900-01-01")
    assert 'rel="prev"' not in first and 'rel="next"' in first
    last = page(client, f"/cities/{city}?date=2999-12-31")
    assert 'rel="next"' not in last and 'rel="prev"' in last
    for href in re.findall(r'rel="(?:prev|next)" href="([^"]+)"', first + last):
        page(client, href.replace("&amp;", "&"))  # every offered day opens


def test_odd_variant_numbers_are_no_server_error(client):
    with client.application.app_context():
        train = build_network(db.session)["train"]
    assert "must be a number" in page(client, f"/services/{train}?variant=²", 400)
    for number in ("9" * 30, "9223372036854775808", "2147483648", "1" * 5000):
        html = page(client, f"/services/{train}?variant={number}")
        assert "focused" not in html
