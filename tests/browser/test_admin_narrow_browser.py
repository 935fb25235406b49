"""The admin pages on a phone (390 x 844) in Debian's chromium: no page scrolls sideways,
wide tables scroll inside their own box, and the stops editor's rows stack so that each
city name can be read and every input used.

A server of its own with long city names and a service with many stops and variants.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import add_network
from tests.live import fresh_app, served

pytestmark = pytest.mark.browser

PASSWORD = "a long browser password"
PHONE = {"width": 390, "height": 844}
H = 3600


@pytest.fixture(scope="module")
def narrow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from transit import auth
    from transit.models import AuditEntry, Calendar, City, Service, Stop, Timetable
    from transit.web.extensions import db

    folder = tmp_path_factory.mktemp("admin-narrow")
    app = fresh_app(folder, "admin-narrow", TRANSIT_UPLOAD_DIR=str(folder / "uploads"))
    with app.app_context():
        add_network(db.session)
        names = ["Issaquah Highlands Park & Ride - Bay 4", "Airport Way S & S Royal Brougham Way",
                 "Woodinville Park And Ride", "6th Ave S & S Atlantic St"]
        cities = [City(name=name, code=None, timezone="America/Los_Angeles",
                       latitude=47.5 + i / 10, longitude=-122.3) for i, name in enumerate(names)]
        bus = Service(number="554", mode="bus", operator="Sound Transit Regional Express",
                      route="ST-554-Express", name="Downtown Seattle - Issaquah Highlands")
        db.session.add_all([*cities, bus])
        for n in range(3):
            timetable = Timetable(code=f"v{n}", headsign="Issaquah Highlands via Mercer Island",
                                  calendar=Calendar(name=f"wk{n}", weekdays=0b0011111), service=bus)
            db.session.add(timetable)
            timetable.stops = [
                Stop(sequence=i, city=city, arrival=None if i == 0 else (6 + i) * H + n * 600,
                     departure=None if i == 3 else (6 + i) * H + n * 600 + 60,
                     fare_cents=None if i == 0 else 27500)
                for i, city in enumerate(cities)
            ]
        auth.create_user(db.session(), "keeper", PASSWORD)
        db.session.add(AuditEntry(username="keeper", action="update", entity="service",
                                  entity_id=1, summary="Woodinville Park And Ride -> "
                                  "Airport Way S & S Royal Brougham Way, 21:00-07:10+1 " * 2))
        db.session.commit()
        ids = {"bus": bus.id, "variant": bus.timetables[0].id}
    with served(app, "admin-narrow") as (host, port):
        yield {"url": f"http://{host}:{port}", **ids}


@pytest.fixture
def phone(browser: Browser, narrow_server: dict[str, Any]) -> Iterator[Page]:
    context = browser.new_context(base_url=narrow_server["url"], locale="en-US", viewport=PHONE)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("User name").fill("keeper")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Timetable administration")).to_be_visible()
    yield page
    context.close()


_STICKING_OUT = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
               && !e.closest('.table-scroll'))
  .slice(0, 5).map(e => e.tagName + '.' + e.className)"""


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _pages(ids: dict[str, Any]) -> list[str]:
    service, variant = ids["bus"], ids["variant"]
    return [
        "/admin/",
        "/admin/services",
        "/admin/services/new",
        f"/admin/services/{service}",
        f"/admin/services/{service}/variants/{variant}",
        f"/admin/services/{service}/variants/new",
        f"/admin/services/{service}/variants/{variant}/trips/new",
        "/admin/cities",
        "/admin/cities/new",
        "/admin/imports",
        "/admin/history",
        "/admin/audit",
    ]


def test_no_admin_page_scrolls_sideways_on_a_phone(phone: Page, narrow_server: dict[str, Any],
                                                  screenshots):
    wide = {}
    for url in _pages(narrow_server):
        reply = phone.goto(url)
        assert reply is not None and reply.status == 200, url
        width = _page_width(phone)
        if width > PHONE["width"]:
            # What sticks out, for the failure's message.
            wide[url] = (width, phone.evaluate(_STICKING_OUT))
            phone.screenshot(path=str(screenshots / f"admin-narrow-{len(wide)}.png"), full_page=True)
    assert wide == {}


def test_every_row_link_of_a_wide_table_can_be_reached(phone: Page, narrow_server: dict[str, Any]):
    # The table scrolls in its own box: its Edit links are there, a swipe of the table away.
    phone.goto("/admin/services")
    edit = phone.get_by_role("link", name="Edit").first
    edit.scroll_into_view_if_needed()
    box = edit.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"]
    edit.click()
    expect(phone).to_have_url(re.compile(r"/admin/services/\d+$"))


@pytest.mark.parametrize("which", ["variant", "new"])
def test_the_stops_editor_rows_stack_on_a_phone(phone: Page, narrow_server: dict[str, Any],
                                                which: str, screenshots):
    if which == "variant":
        phone.goto(f"/admin/services/{narrow_server['bus']}/variants/{narrow_server['variant']}")
    else:
        phone.goto("/admin/services/new")
    editor = phone.locator("table[data-editor='stops']")
    cities = editor.locator("input[name='stop_city']")
    assert cities.count() >= 2
    for index in range(cities.count()):
        box = cities.nth(index).bounding_box()
        assert box is not None and box["width"] >= 120, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # Every input and select of every row lies within the screen, wide enough to use.
    controls = editor.locator("tbody input, tbody select, tbody button")
    for index in range(controls.count()):
        box = controls.nth(index).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert box["width"] >= 32, box
    # Each input keeps a visible name: the column's heading shows beside it.
    first = editor.locator("tbody tr").first
    assert "Arrival" in first.inner_text() and "Fare of the leg" in first.inner_text()
    if which == "variant":
        value = cities.first.input_value()
        assert value == "Issaquah Highlands Park & Ride - Bay 4"
    # Adding a row gives another stacked row, as wide.
    phone.get_by_role("button", name="Add a stop").click()
    box = cities.last.bounding_box()
    assert box is not None and box["width"] >= 120
    assert _page_width(phone) <= PHONE["width"]
    phone.screenshot(path=str(screenshots / f"admin-stops-editor-phone-{which}.png"),
                     full_page=True)


# --- the accessibility pass (2026-11-29) ------------------------------------------------------


def test_a_city_page_does_not_scroll_sideways_at_360_px(browser: Browser,
                                                        narrow_server: dict[str, Any]):
    # Its departure and arrival boards' tables scroll in their own box: the boards' grid
    # column grew to the table's width, so the page scrolled (WCAG 1.4.10 Reflow).
    context = browser.new_context(base_url=narrow_server["url"], locale="en-US",
                                  viewport={"width": 360, "height": 640})
    page = context.new_page()
    page.goto("/cities?q=Woodinville")
    page.get_by_role("link", name="Woodinville Park And Ride").first.click()
    page.goto(page.url.split("?")[0] + "?date=2026-11-30")  # a Monday: its runs are weekdays'
    expect(page.locator(".boards table").first).to_be_visible()
    # A board as wide as the demo's (a long name in a cell that cannot break).
    page.evaluate("document.querySelector('.boards table td').textContent = 'W'.repeat(80)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    wrap = page.locator(".boards .table-wrap").first
    assert wrap.evaluate("box => box.scrollWidth > box.clientWidth")
    context.close()


def test_a_form_sent_back_with_problems_opens_on_them(phone: Page):
    # Admin forms: their summary of what to correct takes the focus (WCAG 3.3.1).
    phone.goto("/admin/cities/new")
    phone.get_by_role("button", name="Save").click()
    summary = phone.locator(".form-errors")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Nothing was saved")
    # The route form: its first field marked invalid.
    phone.goto("/")
    phone.locator("#from").fill("Nowhere at all")
    phone.locator("#to").fill("Woodinville Park And Ride")
    phone.locator("#from").press("Enter")
    expect(phone.locator("#from")).to_be_focused()
    expect(phone.locator("#from")).to_have_attribute("aria-invalid", "true")


def test_row_links_name_their_row(phone: Page):
    # 20 links called "Edit" told a screen reader nothing (WCAG 2.4.4).
    phone.goto("/admin/cities")
    expect(phone.get_by_role("link", name="Edit Woodinville Park And Ride")).to_have_count(1)
    phone.goto("/admin/services")
    expect(phone.get_by_role("link", name="Edit 554")).to_have_count(1)
