"""Pages in Debian's chromium: the form, the city board, phone width, field errors."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TRAVEL_DAY = dt.date(2025, 3, 3)  # the Monday the live server's network runs on


def ask(page: Page, criterion: str, origin: str = "北京", destination: str = "上海") -> None:
    """Fill the home form as a traveller would and submit it."""
    page.goto("/")
    page.get_by_label("From").fill(origin)
    page.get_by_label("To", exact=True).fill(destination)
    page.get_by_label("Date", exact=True).fill(TRAVEL_DAY.isoformat())
    page.get_by_label("Time", exact=True).fill("06:30")
    page.get_by_label("Best by").select_option(criterion)
    page.get_by_role("button", name="Find routes").click()
    page.wait_for_url(re.compile(r"/routes\?"))


def test_swap_button_exchanges_the_cities(page: Page):
    page.goto("/")
    page.get_by_label("From").fill("北京")
    page.get_by_label("To", exact=True).fill("上海")
    page.get_by_role("button", name="Swap cities").click()
    expect(page.get_by_label("From")).to_have_value("上海")
    expect(page.get_by_label("To", exact=True)).to_have_value("北京")


def test_unknown_city_is_reported_beside_the_field(page: Page):
    ask(page, "fastest", destination="Atlantis")
    expect(page.locator("#to-error")).to_have_text("No city called “Atlantis”.")
    expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")


def test_city_board_at_desktop_and_phone_width(page: Page, screenshots: Path):
    page.goto("/cities")
    page.get_by_label("Search by name, code or pinyin").fill("NJH")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="南京").click()
    page.get_by_label("Date", exact=True).fill(TRAVEL_DAY.isoformat())
    page.get_by_role("button", name="Show").click()
    departures = page.locator("table.board-departures tbody tr")
    expect(departures).to_have_count(2)
    expect(departures.first).to_contain_text("G1")
    page.screenshot(path=str(screenshots / "city-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(screenshots / "city-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_home_on_a_phone(page: Page, screenshots: Path):
    page.set_viewport_size(PHONE)
    page.goto("/")
    for label in ("From", "Date", "Time", "Best by", "Minimum connection (min)"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(screenshots / "home-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(screenshots / "home-desktop.png"), full_page=True)



def test_board_links_to_the_service_timetable(page: Page, screenshots: Path):
    page.goto("/cities?q=JNK")
    page.get_by_role("link", name="济南").click()
    page.get_by_label("Date", exact=True).fill(TRAVEL_DAY.isoformat())
    page.get_by_role("button", name="Show").click()
    page.locator("table.board-departures").get_by_role("link", name="T7").click()
    page.wait_for_url(re.compile(r"/services/\d+\?variant=\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("T7")
    expect(page.locator("section.variant.focused table.stops tbody tr")).to_have_count(3)
    expect(page.locator(".days-of-operation")).to_contain_text("Daily")
    page.screenshot(path=str(screenshots / "service-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(screenshots / "service-phone.png"), full_page=True)
