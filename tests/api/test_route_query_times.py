"""A route query's times are written as dates and times: a number is refused at its field
(depart=0 was read as seconds since 1970 and answered "no service")."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", ["0", "1764316800", "20261207", "tomorrow"])
@pytest.mark.parametrize("name", ["depart", "arrive_by"])
def test_a_number_is_no_departure_time(api, network, name, value):
    problem = api.get(f"/api/v1/routes?from=Beijing&to=Shanghai&{name}={value}").problem(400)
    (error,) = problem["errors"]
    assert error["field"] == name
    # As any bad time: what a time looks like (tests/api/test_api_routes.py).
    assert error["message"].startswith(f"{value!r} is not a date and time: use YYYY-MM-DDTHH:MM")


def test_dates_and_times_are_still_taken(api, network):
    for value in ("2026-12-07T07:00", "2026-12-07T07:00:00%2B08:00", "2026-12-07"):
        reply = api.get(f"/api/v1/routes?from=Beijing&to=Shanghai&depart={value}")
        assert reply.status == 200, (value, reply.body)
