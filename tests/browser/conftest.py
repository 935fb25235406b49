"""A live Transit server on a temporary SQLite file, and Debian's chromium to drive it.

The server runs in a thread (werkzeug ``make_server``) on 127.0.0.1 and a free port; the
browser is the system's chromium (``playwright install`` is never run).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import fresh_app, served
from transit.models import Calendar, City, Service, Stop, Timetable

H = 3600
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[1] / "output"
DESKTOP = {"width": 1280, "height": 900}


def add_network(session: Any) -> None:
    """Four cities on the Beijing–Shanghai corridor where each criterion picks another route.

    Leaving Beijing at 06:30: the flight is fastest, two slow trains via Jinan are cheapest,
    the direct G1 and the overnight Z9 need no change, and Z9 arrives the next day.
    """
    beijing = City(name="北京", code="BJP", latitude=39.90, longitude=116.40)
    jinan = City(name="济南", code="JNK", latitude=36.65, longitude=117.12)
    nanjing = City(name="南京", code="NJH", latitude=32.06, longitude=118.80)
    shanghai = City(name="上海", code="SHH", latitude=31.23, longitude=121.47)
    daily = Calendar(name="daily")

    def service(number: str, mode: str, calls: list[tuple[City, int | None, int | None, int | None]]) -> Service:
        made = Service(number=number, mode=mode, operator="Demo")
        timetable = Timetable(code="1", calendar=daily, service=made)
        timetable.stops = [
            Stop(sequence=i, city=c, arrival=a, departure=d, fare_cents=f)
            for i, (c, a, d, f) in enumerate(calls)
        ]
        return made

    session.add_all(
        [
            service("MU5101", "flight", [(beijing, None, 9 * H, None), (shanghai, 11 * H + 900, None, 120000)]),
            service(
                "G1",
                "train",
                [
                    (beijing, None, 8 * H, None),
                    (jinan, 9 * H + 1800, 9 * H + 1920, 20000),
                    (nanjing, 11 * H + 1800, 11 * H + 1920, 25000),
                    (shanghai, 12 * H + 2400, None, 15000),
                ],
            ),
            service("K51", "train", [(beijing, None, 7 * H, None), (jinan, 12 * H, None, 6000)]),
            service(
                "T7",
                "train",
                [(jinan, None, 13 * H, None), (nanjing, 18 * H, 18 * H + 600, 7000), (shanghai, 22 * H, None, 5000)],
            ),
            service("Z9", "train", [(beijing, None, 21 * H, None), (shanghai, 31 * H, None, 30000)]),
        ]
    )
    session.commit()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from transit.web.extensions import db

    app = fresh_app(tmp_path_factory.mktemp("live"), "live")
    with app.app_context():
        add_network(db.session)
    with served(app) as (host, port):
        yield f"http://{host}:{port}"


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # English unless a test switches: the interface follows the browser's language.
    return {**browser_context_args, "locale": "en-US", "viewport": DESKTOP}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
