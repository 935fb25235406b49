"""Schemathesis against ``/api/v1/openapi.json``: generated requests for every operation.

Each operation, reads and administrator writes alike (a bearer token is sent), gets a bounded
number of generated requests through the WSGI app; every answer must be below 500 and match
the document (status codes, headers, content types, bodies). The database holds a small
real timetable (Nenieco-test) so ids and city names in generated requests can hit data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from transit import auth
from transit.models import User
from transit.timetable.classic import parse_nenieco
from transit.timetable.loader import load_feed
from transit.web.extensions import db

# What the answers must satisfy. Left out: positive_data_acceptance, since the document
# cannot state every rule (an IANA zone name, a city that exists, times in order), so
# schema-valid bodies are rightly refused with 422.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.missing_required_header,
    checks.unsupported_method,
]
# Generated examples per operation: enough to reach past validation, bounded for the suite.
EXAMPLES = 40


@pytest.fixture
def api_schema(app: Any, shared_data: Path) -> Any:
    with app.app_context():
        load_feed(db.session, parse_nenieco(shared_data / "classic" / "Nenieco-test"))
        db.session.add(
            User(username="fuzz", password_hash=auth.hash_password("a fuzzing password"),
                 is_admin=True)
        )
        db.session.flush()
        app.config["FUZZ_TOKEN"] = auth.issue_token(db.session(), "fuzz")
        db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_every_operation_conforms(api_schema: Any, app: Any) -> None:
    # One Hypothesis run per operation (schemathesis' pytest plugin would parametrize
    # these, but its fixture loader does not work with this pytest).
    headers = {"Authorization": f"Bearer {app.config['FUZZ_TOKEN']}"}
    labels = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
    # Every operation of the document was exercised, writes included.
    document = api_schema.raw_schema
    methods = {"get", "put", "post", "patch", "delete"}
    documented = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in methods & set(item)
    }
    # Schemathesis leaves out the document's own path.
    assert set(labels) == documented - {"GET /api/v1/openapi.json"}
    assert {"POST /api/v1/cities", "DELETE /api/v1/services/{service_id}", "POST /api/v1/imports"} <= set(labels)
