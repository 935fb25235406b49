"""One fare posted on its own: a problem of the pair names the field to change ("origin" or
"destination"), not "(fare)"."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("origin", "destination", "field", "words"),
    [
        ("Shanghai", "Beijing", "origin", "comes after Beijing on every variant"),
        ("Nanjing", "Nanjing", "destination", "origin and destination must be different cities"),
    ],
)
def test_a_fare_pair_problem_names_its_field(admin, network, origin, destination, field, words):
    url = f"/api/v1/services/{network.services['T1']}/fares"
    problem = admin.post(url, {"origin": origin, "destination": destination,
                               "fare_cents": 100}).problem(422)
    assert [(e["field"], words in e["message"]) for e in problem["errors"]] == [(field, True)]
