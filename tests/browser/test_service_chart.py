"""The service page's run-history chart in Debian's chromium, at desktop and phone width:
its labels stay readable (the SVG shrinks with the screen, so narrow screens write larger
in its units), none writes over another, and a run far off the scale is an arrow at the top
rather than a dot that flattens the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.live import fresh_app, served
from tests.test_service_page_fixes import _history

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SMALLEST = 10.5  # px: the height of a label's box (about an 11 px font) at the least


@pytest.fixture(scope="module")
def chart_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    from transit.web.extensions import db

    app = fresh_app(tmp_path_factory.mktemp("chart"), "chart")
    with app.app_context():
        runs = [195.0 + (k % 7) for k in range(25)] + [43401.0] + [199.0, 201.0, None, 200.0]
        service_id = _history(db.session, runs)
    with served(app, "chart-server") as (host, port):
        yield f"http://{host}:{port}", service_id


def _labels(page: Page) -> list[dict]:
    return page.eval_on_selector_all(
        ".forecast-chart svg text",
        """els => els.map(e => {
            const r = e.getBoundingClientRect();
            return {text: e.textContent, cls: e.getAttribute('class') || 'tick',
                    left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                    height: r.height};
        })""",
    )


def _overlap(a: dict, b: dict) -> bool:
    return not (a["right"] <= b["left"] or b["right"] <= a["left"]
                or a["bottom"] <= b["top"] or b["bottom"] <= a["top"])


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_chart_labels_are_readable_and_apart(page: Page, chart_server, size, screenshots: Path):
    base, service_id = chart_server
    page.set_viewport_size(size)
    page.goto(f"{base}/services/{service_id}?lang=en")
    labels = _labels(page)
    assert {label["cls"] for label in labels} == {"tick", "unit", "date"}
    for label in labels:
        assert label["height"] >= SMALLEST, label
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert not _overlap(a, b), (a, b)
    # The chart fits the screen: the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # The 30-day run is one arrow at the top, its time in its tooltip.
    arrow = page.locator(".forecast-chart polygon.off-scale")
    assert arrow.count() == 1
    assert "43401 min" in (arrow.locator("title").text_content() or "")
    plot_top = page.eval_on_selector(
        ".forecast-chart svg line.x-axis", "e => e.getBoundingClientRect().top"
    )
    dots = page.eval_on_selector_all(
        ".forecast-chart circle.past", "els => els.map(e => e.getBoundingClientRect().top)"
    )
    assert len(dots) == 28 and max(dots) - min(dots) > 20 and max(dots) < plot_top
    name = "desktop" if size is DESKTOP else "phone"
    page.locator(".forecast-chart").screenshot(path=str(screenshots / f"service-chart-{name}.png"))
