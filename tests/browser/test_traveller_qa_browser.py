"""QA findings on the traveller pages, in Debian's chromium: the swap button without
JavaScript, where focus lands after a search, and the API documentation on a phone."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TRAVEL_DAY = dt.date(2025, 3, 3)  # the Monday the live server's network runs on


@pytest.fixture
def page_without_script(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=base_url, java_script_enabled=False, locale="en-US",
        viewport={"width": 1280, "height": 900},
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def test_swap_button_is_hidden_without_javascript(page_without_script: Page, screenshots: Path):
    # QA: with JavaScript off the ⇅ button was shown and focusable but did nothing.
    page = page_without_script
    page.goto("/")
    swap = page.locator("#swap")
    expect(swap).to_be_hidden()
    # Tabbing from the origin goes straight to the destination.
    page.get_by_label("From").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "to"
    # The destination stays in its own column, where it is with the button.
    origin = page.get_by_label("From").bounding_box()
    destination = page.get_by_label("To", exact=True).bounding_box()
    assert origin and destination and destination["x"] > origin["x"] + origin["width"] + 20
    page.screenshot(path=str(screenshots / "route-form-no-script.png"))


def test_swap_button_is_shown_and_works_with_javascript(page: Page):
    page.goto("/")
    swap = page.locator("#swap")
    expect(swap).to_be_visible()
    page.get_by_label("From").fill("北京")
    page.get_by_label("To", exact=True).fill("上海")
    page.get_by_label("From").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "swap"
    page.keyboard.press("Enter")
    expect(page.get_by_label("From")).to_have_value("上海")
    expect(page.get_by_label("To", exact=True)).to_have_value("北京")


def test_focus_moves_to_the_results_after_a_search(page: Page):
    # QA: after submitting the form a keyboard user landed on <body>, some 20 controls
    # before the results.
    page.goto("/")
    page.get_by_label("From").fill("北京")
    page.get_by_label("To", exact=True).fill("上海")
    page.get_by_label("Date", exact=True).fill(TRAVEL_DAY.isoformat())
    page.get_by_label("Time", exact=True).fill("06:30")
    page.get_by_label("Time", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"/routes\?"))
    expect(page.locator("article.itinerary").first).to_be_visible()
    expect(page.locator("#results-title")).to_be_focused()
    assert page.evaluate("document.activeElement.tabIndex") == -1
    # The next Tab reaches the first result's links, not the form.
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('.results')")
    # Not on a page without results (the home page), nor over a link into the results.
    page.goto("/")
    assert page.evaluate("document.activeElement === document.body")
    url = page.url
    page.goto(url.rstrip("/") + "/routes?from=北京&to=上海&date=2025-03-03&time=06:30#itinerary-1")
    expect(page.locator("#itinerary-1")).to_be_visible()
    assert page.evaluate("document.activeElement.id") != "results-title"


def test_api_docs_fit_a_phone(page: Page, screenshots: Path):
    # QA: at 390 px the page was 610 px wide (long endpoint names in the contents).
    page.set_viewport_size(PHONE)
    page.goto("/api/v1/docs")
    expect(page.locator("h1")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Tables scroll in their own box rather than widening the page.
    for table in page.locator("table").all()[:20]:
        box = table.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
    page.screenshot(path=str(screenshots / "api-docs-phone.png"), full_page=True)
