"""Whatever a traveller types into the route form (or its URL), the route page and a
journey's calendar file answer without a server error: a page of results or of field
errors, a calendar file or a 4xx in words."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_pages import build_network
from transit.web.extensions import db

TYPED = (
    st.text(max_size=20)
    | st.integers(min_value=-(2**70), max_value=2**70).map(str)
    | st.sampled_from([
        "北京", "上海", "BJP", "shh", "Nowher", "2025-03-03", "2025-02-29", "0001-01-01", "9999-12-31",
        "06:30", "24:00", "25:61", "2025-03-03T06:30", "2025-03-03T06:30+14:00", "2025-03-03T06:30Z",
        "arrive_by", "depart", "options", "fastest", "cheapest", "transfers", "train", "flight",
        "train,flight", "1e308", "nan", "-0", "336", "0.5", "1", "2", "x" * 300, "\x00", "'; --",
        "fare", "duration", "departure", "arrival",
    ])
)
FIELDS = ["from", "to", "date", "time", "time_kind", "criterion", "modes", "min_connection",
          "window_hours", "max_transfers", "depart", "arrive_by", "lang", "journey", "legs", "sort"]
QUERIES = st.lists(
    st.tuples(st.sampled_from(FIELDS), TYPED), max_size=8
).map(lambda pairs: [("from", "北京"), ("to", "上海"), *pairs])


@pytest.fixture
def network(app) -> dict[str, int]:
    with app.app_context():
        return build_network(db.session)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/routes", "/routes/calendar.ics"]), pairs=QUERIES)
def test_anything_typed_answers_without_a_server_error(client, network, path, pairs):
    response = client.get(path + "?" + urlencode(pairs))
    assert response.status_code in (200, 400, 404), (response.status_code, pairs)
    if path.endswith(".ics"):
        kind = "text/calendar" if response.status_code == 200 else "text/plain"
        assert response.mimetype == kind
        assert response.get_data(as_text=True).strip()  # a file, or what is wrong in words
