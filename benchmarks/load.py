"""Bounded load on 127.0.0.1: route queries, page loads and admin edits at once.

    .venv/bin/python benchmarks/load.py                     # SQLite, 2 workers, NYC feed
    TRANSIT_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/load.py
    .venv/bin/python benchmarks/load.py --url http://127.0.0.1:8000 --token TOKEN

Without ``--url`` it makes a database (a temporary SQLite file, or the empty database named
by ``--database-url`` / ``TRANSIT_DATABASE_URL``), migrates it, imports the New York subway
feed, creates an administrator and a token, and starts gunicorn itself. Then ``--clients``
threads send requests for ``--seconds``: API and page route queries between New York
stations, city and service pages, and (one client) admin edits through the API.

The edits make torn reads visible: each one adds or deletes, in one transaction, a test
service between two test cities whose timetable and origin-destination fare both encode
the same generation number (the journey takes ``10 + g`` minutes and costs ``100 + g``).
Every read of that route (and of the service through the API) must show both or neither,
and must not show a state older than the last edit finished before the read began. Prints
throughput, p50/p99 latency and errors; ``--json PATH`` writes them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_FEED = ROOT.parent / "shared" / "data" / "gtfs" / "nyc_subway_gtfs_2024-12.zip"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# A weekday inside the New York feed's calendars (2024-12-15 to 2025-01-17).
DAY = "2024-12-17"
TEST_A, TEST_B = "Load test A", "Load test B"
TEST_NUMBER, TEST_OPERATOR = "LT1", "Load test"
# An administrator editing the timetable every few seconds: each edit makes the workers take
# a new routing snapshot, which every route query after it waits for.
EDIT_PAUSE = 3.0
PERIOD = 600  # generations wrap in the journey time after this many minutes


# --- the server ------------------------------------------------------------------------------


def _flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT, env=env, input=stdin, capture_output=True, text=True,
    )
    if result.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    database_url: str, feed: Path, workers: int, folder: Path
) -> tuple[subprocess.Popen[bytes], str, str]:
    """Migrate and fill the database, start gunicorn; give the process, its URL and a token."""
    env = {**os.environ, "TRANSIT_DATABASE_URL": database_url}
    env.setdefault("TRANSIT_SECRET_KEY", secrets.token_hex(16))
    print(f"Database {database_url.split('@')[-1]}: migrating and importing {feed.name} ...")
    _flask(env, "db", "upgrade")
    _flask(env, "timetable", "import", str(feed))
    name = "load-" + secrets.token_hex(4)
    _flask(env, "users", "create", name, "--password-stdin", stdin=secrets.token_hex(16) + "\n")
    token = _flask(env, "users", "token", name).strip().splitlines()[-1]
    port = _free_port()
    log = folder / "gunicorn.log"
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
            "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--error-logfile", str(log), "app:app",
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    # Wait until every worker has its routing snapshot: a worker still starting would leave
    # the first connections (kept alive for the whole run) to the others.
    while not (log.exists() and log.read_text().count("routing snapshot taken") >= workers):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit("gunicorn did not start:\n" + (log.read_text() if log.exists() else ""))
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}", token


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One kept-alive connection per client thread, opened again after a failure."""

    def __init__(self, url: str, token: str | None) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.token = token
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None, auth: bool = False) -> Reply:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (1, 2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                reply = Reply(response.status, response.read())
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed a kept-alive connection between two requests: the
                # request was not handled, send it once more on a new connection.
                self.close()
                if attempt == 2 or not reused:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if response.will_close:
                self.close()
            return reply
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


# --- the torn-read check ---------------------------------------------------------------------


def test_service_body(g: int, calendar_id: int) -> dict[str, Any]:
    """The test service of generation ``g``: its time and its fare both say ``g``."""
    minutes = 10 + g % PERIOD
    return {
        "number": TEST_NUMBER,
        "mode": "train",
        "operator": TEST_OPERATOR,
        "currency": "USD",
        "timetables": [
            {
                "code": "1",
                "calendar_id": calendar_id,
                "stops": [
                    {"city": TEST_A, "departure": 8 * 3600},
                    # The leg fare (1 cent) shows when the OD fare is missing: a torn read.
                    {"city": TEST_B, "arrival": 8 * 3600 + minutes * 60, "fare_cents": 1},
                ],
            }
        ],
        "fares": [{"origin": TEST_A, "destination": TEST_B, "fare_cents": (100 + g) * 100}],
    }


def generation(minutes: float, fare: float) -> int | None:
    """The generation a (journey minutes, fare) pair shows, or None when they disagree."""
    g = round(fare) - 100
    if g < 1 or round(fare * 100) != (100 + g) * 100 or (minutes - 10) % PERIOD != g % PERIOD:
        return None
    return g


@dataclass
class Edit:
    """One committed edit: the state it made (a generation, or 0 for no test service)."""

    state: int
    started: float
    finished: float


@dataclass
class Observation:
    state: int  # generation seen, 0 for none
    started: float
    finished: float
    what: str


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    observations: list[Observation] = field(default_factory=list)
    torn: list[str] = field(default_factory=list)


class Editor:
    """Adds and deletes the test service, one transaction per request, and logs each state."""

    def __init__(self, client: Client, calendar_id: int, pause: float) -> None:
        self.client = client
        self.calendar_id = calendar_id
        self.pause = pause
        self.edits: list[Edit] = [Edit(0, 0.0, 0.0)]
        self.generation = 0
        self.service_id: int | None = None
        self.lock = threading.Lock()

    def step(self, stats: Stats, stop_at: float) -> None:
        started = time.monotonic()
        if self.service_id is None:
            self.generation += 1
            reply = self.client.request(
                "POST", "/api/v1/services", test_service_body(self.generation, self.calendar_id),
                auth=True,
            )
            state, ok = self.generation, reply.status == 201
            new_id = reply.json()["id"] if ok else None
        else:
            reply = self.client.request("DELETE", f"/api/v1/services/{self.service_id}", auth=True)
            state, ok, new_id = 0, reply.status == 204, None
        finished = time.monotonic()
        record(stats, "edit", started, finished, reply, ok)
        if ok:
            with self.lock:
                self.edits.append(Edit(state, started, finished))
                self.service_id = new_id
        time.sleep(max(0.0, min(self.pause, stop_at - time.monotonic())))


def record(stats: Stats, kind: str, started: float, finished: float, reply: Reply | None,
           ok: bool, problem: str = "") -> None:
    stats.latencies.append(finished - started)
    stats.by_kind.setdefault(kind, []).append(finished - started)
    if not ok:
        status = reply.status if reply is not None else "no answer"
        body = reply.body[:200].decode(errors="replace") if reply is not None else problem
        stats.errors.append(f"{kind}: {status} {body}")


def check_route(reply: Reply, started: float, finished: float, stats: Stats) -> None:
    itineraries = reply.json()["itineraries"]
    if not itineraries:
        stats.observations.append(Observation(0, started, finished, "route"))
        return
    first = itineraries[0]
    services = [leg["service"] for leg in first["legs"]]
    g = generation(first["duration_minutes"], first["fare"]) if services == [TEST_NUMBER] else None
    if len(itineraries) != 1 or g is None:
        stats.torn.append(f"route answer mixes two edits: {json.dumps(itineraries)[:300]}")
        return
    stats.observations.append(Observation(g, started, finished, "route"))


def check_service(reply: Reply, started: float, finished: float, stats: Stats) -> None:
    if reply.status == 404:
        stats.observations.append(Observation(0, started, finished, "service"))
        return
    body = reply.json()
    try:
        (timetable,) = body["timetables"]
        first, last = timetable["stops"]
        (fare,) = body["fares"]
        minutes = (last["arrival_seconds"] - first["departure_seconds"]) / 60
        g = generation(minutes, fare["fare_cents"] / 100)
    except (ValueError, KeyError, TypeError):
        g = None
    if g is None:
        stats.torn.append(f"service read mixes two edits: {json.dumps(body)[:300]}")
        return
    stats.observations.append(Observation(g, started, finished, "service"))


def stale_reads(edits: list[Edit], observations: list[Observation]) -> list[str]:
    """Reads showing a state that was no longer current at any time during the read.

    State ``k`` (made by edit ``k``) may be seen from the moment edit ``k`` was sent until
    edit ``k+1`` was answered; a read is fine when that window meets its own.
    """
    problems = []
    for seen in observations:
        fine = False
        for k, edit in enumerate(edits):
            if edit.state != seen.state:
                continue
            replaced = edits[k + 1].finished if k + 1 < len(edits) else float("inf")
            if edit.started <= seen.finished and replaced >= seen.started:
                fine = True
                break
        if not fine:
            problems.append(f"{seen.what} read showed state {seen.state} when it was stale")
    return problems


# --- the load --------------------------------------------------------------------------------


class Workload:
    def __init__(self, client: Client, seed: int) -> None:
        cities = client.request("GET", "/api/v1/cities?limit=500").json()["items"]
        services = client.request("GET", "/api/v1/services?limit=500").json()["items"]
        self.city_names = [c["name"] for c in cities if not c["name"].startswith("Load test")]
        self.city_ids = [c["id"] for c in cities]
        self.service_ids = [s["id"] for s in services if s["number"] != TEST_NUMBER]
        if len(self.city_names) < 2 or not self.service_ids:
            sys.exit("the database holds too little timetable for this load")
        self.seed = seed

    def route_args(self, rng: random.Random) -> dict[str, str]:
        origin, destination = rng.sample(self.city_names, 2)
        minute = rng.randrange(6 * 60, 22 * 60)
        return {
            "from": origin,
            "to": destination,
            "depart": f"{DAY}T{minute // 60:02d}:{minute % 60:02d}",
            "criterion": rng.choice(["fastest", "fastest", "cheapest", "transfers", "options"]),
        }


def prepare_test_data(client: Client) -> int:
    """Two test cities and an everyday calendar; no test service left from an earlier run."""
    for name in (TEST_A, TEST_B):
        reply = client.request(
            "POST", "/api/v1/cities", {"name": name, "timezone": "America/New_York"}, auth=True
        )
        if reply.status not in (201, 409):
            sys.exit(f"cannot create the test city {name}: {reply.status} {reply.body[:300]!r}")
    left = client.request(
        "GET", "/api/v1/services?" + urlencode({"number": TEST_NUMBER, "operator": TEST_OPERATOR})
    ).json()["items"]
    for service in left:
        client.request("DELETE", f"/api/v1/services/{service['id']}", auth=True)
    reply = client.request("POST", "/api/v1/calendars", {"name": "load test, every day"}, auth=True)
    if reply.status != 201:
        sys.exit(f"cannot create the test calendar: {reply.status} {reply.body[:300]!r}")
    return int(reply.json()["id"])


def run_client(
    index: int, client: Client, work: Workload, editor: Editor, stop_at: float,
    stats: Stats, think: float,
) -> None:
    """Client 0 edits; the others read."""
    rng = random.Random(work.seed * 1000 + index)
    test_route = "/api/v1/routes?" + urlencode(
        {"from": TEST_A, "to": TEST_B, "depart": f"{DAY}T07:30", "criterion": "fastest"}
    )
    while time.monotonic() < stop_at:
        if index == 0:
            editor.step(stats, stop_at)
            continue
        roll = rng.random()
        if roll < 0.30:
            kind, path = "api route", "/api/v1/routes?" + urlencode(work.route_args(rng))
        elif roll < 0.45:
            kind, path = "route page", "/routes?" + urlencode(work.route_args(rng))
        elif roll < 0.55:
            kind, path = "cities page", "/cities"
        elif roll < 0.70:
            kind, path = "city page", f"/cities/{rng.choice(work.city_ids)}"
        elif roll < 0.85:
            kind, path = "service page", f"/services/{rng.choice(work.service_ids)}"
        elif roll < 0.95 or editor.service_id is None:
            kind, path = "test route", test_route
        else:
            kind, path = "test service", f"/api/v1/services/{editor.service_id}"
        started = time.monotonic()
        try:
            reply: Reply | None = client.request("GET", path)
        except OSError as error:
            reply, problem = None, str(error)
        else:
            problem = ""
        finished = time.monotonic()
        expected = (200, 404) if kind == "test service" else (200,)
        ok = reply is not None and reply.status in expected
        record(stats, kind, started, finished, reply, ok, problem)
        if ok and reply is not None and kind == "test route":
            check_route(reply, started, finished, stats)
        elif ok and reply is not None and kind == "test service":
            check_service(reply, started, finished, stats)
        if think:
            time.sleep(think)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on this machine (default: start one)")
    parser.add_argument("--token", default=os.environ.get("TRANSIT_LOAD_TOKEN"),
                        help="an administrator's API token, with --url (for the edits)")
    parser.add_argument("--database-url", default=os.environ.get("TRANSIT_DATABASE_URL"),
                        help="an empty database for the server started here (default SQLite)")
    parser.add_argument("--feed", type=Path, default=DEFAULT_FEED)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--edit-pause", type=float, default=EDIT_PAUSE,
                        help="seconds the editing client waits between edits")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds every other client waits between requests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if args.clients < 2:
        parser.error("--clients must be at least 2 (one of them edits)")

    process = None
    with tempfile.TemporaryDirectory(prefix="transit-load-") as tmp:
        if args.url:
            if urlsplit(args.url).hostname not in LOCAL_HOSTS:
                parser.error("load is only sent to this machine (127.0.0.1)")
            if not args.token:
                parser.error("--url needs --token (or TRANSIT_LOAD_TOKEN) for the edits")
            url, token = args.url, args.token
        else:
            database_url = args.database_url or f"sqlite:///{tmp}/load.sqlite3"
            process, url, token = start_server(database_url, args.feed, args.workers, Path(tmp))
        try:
            stats = run_load(url, token, args)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
    report(stats, args)


def run_load(url: str, token: str, args: argparse.Namespace) -> Stats:
    admin = Client(url, token)
    calendar_id = prepare_test_data(admin)
    work = Workload(admin, args.seed)
    editor = Editor(admin, calendar_id, args.edit_pause)
    stats = Stats()
    print(
        f"{args.clients} clients for {args.seconds:g} s against {url} "
        f"({len(work.city_names)} cities, one client editing every {args.edit_pause:g} s) ..."
    )
    started = time.monotonic()
    stop_at = started + args.seconds
    threads = [
        threading.Thread(
            target=run_client,
            args=(i, Client(url, token), work, editor, stop_at, stats, args.think),
            daemon=True,
        )
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats.elapsed = time.monotonic() - started
    stats.torn.extend(stale_reads(editor.edits, stats.observations))
    # Leave the database as it was found.
    if editor.service_id is not None:
        admin.request("DELETE", f"/api/v1/services/{editor.service_id}", auth=True)
    return stats


def report(stats: Stats, args: argparse.Namespace) -> None:
    elapsed = stats.elapsed
    latencies = sorted(stats.latencies)
    figures = {
        "requests": len(latencies),
        "errors": len(stats.errors),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "stale_or_torn_reads": len(stats.torn),
    }
    print(
        f"{figures['requests']} requests in {elapsed:.1f} s: {figures['rps']} per second, "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
        f"{figures['errors']} errors, {figures['stale_or_torn_reads']} stale or torn reads"
    )
    for kind, values in sorted(stats.by_kind.items()):
        values.sort()
        print(
            f"  {kind:13} {len(values):6} requests, p50 {percentile(values, 0.5) * 1000:7.1f} ms,"
            f" p99 {percentile(values, 0.99) * 1000:7.1f} ms"
        )
    print(f"checked reads of the edited service: {len(stats.observations)}")
    for line in (stats.errors[:5] + stats.torn[:5]):
        print("  " + line)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"Wrote {args.json}")
    if stats.errors or stats.torn:
        sys.exit(1)


if __name__ == "__main__":
    main()
