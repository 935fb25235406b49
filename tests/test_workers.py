"""Several gunicorn workers: an edit made through one is seen by every worker's next answer.

Real processes: the database is migrated and loaded with ``flask`` commands, gunicorn runs
two sync workers on 127.0.0.1, an administrator adds a service through the REST API, and
route queries sent in parallel afterwards (answered by both workers, as the access log's
process ids show) must all include it. Runs on SQLite, and on PostgreSQL under
``scripts/with-postgres``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
QUERY = {"from": "Beijing", "to": "Shenzhen", "depart": "2025-03-03T06:00", "criterion": "fastest"}


def _flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    port: int
    token: str
    access_log: Path

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        return response.status, json.loads(raw) if raw else None

    def pids_for(self, marker: str) -> set[str]:
        """Process ids of the workers whose access-log lines contain ``marker``."""
        pids = set()
        for line in self.access_log.read_text().splitlines():
            if marker in line:
                pids.add(line.split(" ", 1)[0])
        return pids


@pytest.fixture
def server(database_url: str, tmp_path: Path, shared_data: Path) -> Iterator[Server]:
    env = {
        **os.environ,
        "TRANSIT_DATABASE_URL": database_url,
        "TRANSIT_SECRET_KEY": "test-secret-key",
        "PYTHONUNBUFFERED": "1",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "timetable", "import", str(shared_data / "classic" / "Nenieco-test"))
    _flask(env, "users", "create", "ada", "--password-stdin", stdin="a long test password\n")
    token = _flask(env, "users", "token", "ada").strip().splitlines()[-1]
    port = _free_port()
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    access_log.touch()
    process = subprocess.Popen(
        [
            # The project's settings, as `make serve` runs it.
            str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", "2",
            "--bind", f"127.0.0.1:{port}",
            "--access-logfile", str(access_log), "--access-logformat", '%(p)s "%(r)s" %(s)s',
            "--error-logfile", str(error_log), "app:app",
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        # Both workers booted (the master listens before they are).
        deadline = time.monotonic() + 60
        while not (error_log.exists() and error_log.read_text().count("Booting worker") >= 2):
            assert process.poll() is None, error_log.read_text()
            assert time.monotonic() < deadline, "gunicorn's workers did not boot"
            time.sleep(0.1)
        yield Server(port, token, access_log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _route_services(server: Server, window_hours: int) -> set[tuple[int, tuple[str, ...]]]:
    """Route queries, eight at a time, until both workers have answered some of them.

    Gives the distinct (status, services of the first itinerary) answers seen. The
    ``window_hours`` value marks this batch's lines in the access log.
    """
    path = "/api/v1/routes?" + urlencode({**QUERY, "window_hours": window_hours})

    def one(_: int) -> tuple[int, tuple[str, ...]]:
        status, body = server.request("GET", path)
        if status != 200:
            return status, ()
        return status, tuple(leg["service"] for leg in body["itineraries"][0]["legs"])

    answers: set[tuple[int, tuple[str, ...]]] = set()
    with ThreadPoolExecutor(max_workers=8) as pool:
        # A sync worker may drain a short queue alone: go on until the other one took some.
        for _ in range(50):
            answers.update(pool.map(one, range(40)))
            if len(server.pids_for(f"window_hours={window_hours} ")) == 2:
                return answers
    raise AssertionError("only one worker answered 2000 queries")


def test_an_edit_reaches_every_worker(server: Server) -> None:
    # Before: both workers answer (and so hold a snapshot) with the G7 train.
    assert _route_services(server, 48) == {(200, ("G7",))}

    status, body = server.request(
        "POST",
        "/api/v1/services",
        {
            "number": "CZ3101",
            "mode": "flight",
            "operator": "China Southern",
            "timetables": [
                {
                    "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
                    "stops": [
                        {"city": "Beijing", "departure": "07:00"},
                        {"city": "Shenzhen", "arrival": "10:20", "fare_cents": 150000},
                    ],
                }
            ],
        },
        token=server.token,
    )
    assert status == 201, body

    # After: every answer, from either worker, has the flight.
    assert _route_services(server, 47) == {(200, ("CZ3101",))}

    # And a deletion is seen as promptly: back to the train everywhere.
    status, _ = server.request("DELETE", f"/api/v1/services/{body['id']}", token=server.token)
    assert status == 204
    assert _route_services(server, 46) == {(200, ("G7",))}
    assert re.search(r'"DELETE /api/v1/services/\d+ HTTP/1.1" 204', server.access_log.read_text())


def test_a_forwarded_scheme_is_not_believed_without_trusted_proxies(server: Server) -> None:
    """With TRANSIT_PROXY_HOPS unset, "X-Forwarded-Proto: https" from a plain-HTTP client
    changes nothing (gunicorn believed it from 127.0.0.1: HSTS and Secure cookies)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", "/login", headers={"X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") is None
    assert "secure" not in (response.getheader("Set-Cookie") or "").lower()
