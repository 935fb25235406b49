"""The admin pages in Debian's chromium: log in, build an overnight service with the stops
editor, find it in a route query, edit it, see an import's errors, delete its city.

A server of its own (the admin writes would disturb the shared live server's network).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, add_network
from tests.live import fresh_app, served

pytestmark = pytest.mark.browser

PASSWORD = "a long browser password"
TRAVEL_DAY = "2025-03-03"


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from transit import auth
    from transit.web.extensions import db

    folder = tmp_path_factory.mktemp("admin-live")
    app = fresh_app(folder, "admin", TRANSIT_UPLOAD_DIR=str(folder / "uploads"))
    with app.app_context():
        add_network(db.session)
        auth.create_user(db.session(), "keeper", PASSWORD)
        db.session.commit()
    with served(app, "admin-live") as (host, port):
        yield f"http://{host}:{port}"


@pytest.fixture
def admin_page(browser: Browser, admin_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=admin_server, locale="en-US", viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def log_in(page: Page) -> None:
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("User name").fill("keeper")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Timetable administration")).to_be_visible()


def route_result(page: Page, destination: str) -> list[str]:
    page.goto(f"/routes?from=北京&to={destination}&date={TRAVEL_DAY}&time=18:00&criterion=fastest")
    card = page.locator("article.itinerary").first
    expect(card).to_be_visible()
    return card.inner_text().split("\n")


def test_admin_urls_redirect_to_login_when_logged_out(admin_page: Page, admin_server: str):
    from transit import create_app

    rules = [
        r for r in create_app({"TESTING": True}).url_map.iter_rules()
        if r.endpoint.startswith("admin.") and "GET" in (r.methods or ()) and r.endpoint != "admin.login"
    ]
    assert len(rules) >= 15
    for rule in rules:
        url = rule.build({name: ("0" * 32 if name == "upload_id" else 1)
                          for name in rule.arguments})[1]
        admin_page.goto(url)
        expect(admin_page).to_have_url(re.compile(r"/login\?next="))
        expect(admin_page.get_by_role("heading", name="Log in to edit the timetable")).to_be_visible()


def test_keep_a_timetable_in_the_browser(admin_page: Page, screenshots: Path, tmp_path: Path):
    page = admin_page
    log_in(page)
    page.screenshot(path=str(screenshots / "admin-home.png"), full_page=True)

    # A new city, with a mistake first: the form keeps what was typed and says what is wrong.
    page.get_by_role("link", name="Cities").last.click()
    page.get_by_role("link", name="New city").first.click()
    page.get_by_label("Name", exact=True).fill("Harbin")
    page.get_by_label("Code").fill("HBB")
    page.get_by_label("Latitude").fill("145.7")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#err-latitude")).to_contain_text("a number from -90 to 90")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Harbin")
    page.get_by_label("Latitude").fill("45.75")
    page.get_by_label("Longitude").fill("126.63")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("City Harbin created")

    # A two-stop overnight service: leaves Beijing 21:00, reaches Harbin 07:30 the next day.
    page.goto("/admin/services/new")
    page.get_by_label("Number").fill("Z15")
    page.get_by_label("Operator").fill("CR")
    rows = page.locator("table[data-editor='stops'] tbody tr")
    expect(rows).to_have_count(2)
    rows.nth(0).get_by_label("City").fill("北京")
    # Each row's controls say which row they are in, for screen readers.
    rows.nth(0).get_by_label("Departure, row 1", exact=True).fill("21:00")
    rows.nth(1).get_by_label("City").fill("Harbin")
    rows.nth(1).get_by_label("Arrival, row 2", exact=True).fill("07:30")
    rows.nth(1).get_by_label("Day of arrival").select_option("1")
    rows.nth(1).get_by_label("Fare of the leg").fill("280")
    # Where travellers may not get off (the first stop) or on (the last), as imports say.
    rows.nth(0).get_by_label("Alighting, row 1", exact=True).select_option(label="no alighting")
    rows.nth(1).get_by_label("Boarding, row 2", exact=True).select_option(label="no boarding")
    # The editor adds, moves and removes rows.
    page.get_by_role("button", name="Add a stop").click()
    expect(rows).to_have_count(3)
    expect(rows.nth(2).get_by_label("Boarding, row 3", exact=True)).to_have_value("1")
    rows.nth(2).get_by_label("City").fill("上海")
    rows.nth(2).get_by_role("button", name="Move up").click()
    expect(rows.nth(1).get_by_label("City")).to_have_value("上海")
    expect(rows.nth(1).get_by_label("City, row 2", exact=True)).to_have_value("上海")
    # Removed with the keyboard: the focus goes to the row taking its place.
    rows.nth(1).get_by_role("button", name="Remove").press("Enter")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_role("button", name="Remove, row 2")).to_be_focused()
    expect(rows.nth(1).get_by_label("City, row 2", exact=True)).to_have_value("Harbin")
    page.screenshot(path=str(screenshots / "admin-service-editor.png"), full_page=True)
    page.get_by_role("button", name="Create the service").click()
    expect(page.locator(".flash")).to_contain_text("Service Z15 created")

    # A route query finds it at once, arriving the next day.
    text = route_result(page, "Harbin")
    assert any("Z15" in line for line in text)
    assert any("07:30" in line for line in text)
    page.screenshot(path=str(screenshots / "admin-route-after-create.png"), full_page=True)

    # Edit the variant: it now arrives at 06:45, and the next query says so.
    page.goto("/admin/services?number=Z15")
    page.get_by_role("link", name="Z15", exact=True).click()
    page.get_by_role("link", name="Edit stops and days").click()
    last = page.locator("table[data-editor='stops'] tbody tr").nth(1)
    expect(last.get_by_label("Day of arrival")).to_have_value("1")
    expect(last.get_by_label("Boarding, row 2", exact=True)).to_have_value("0")
    first = page.locator("table[data-editor='stops'] tbody tr").nth(0)
    expect(first.get_by_label("Alighting, row 1", exact=True)).to_have_value("0")
    last.get_by_label("Arrival, row 2", exact=True).fill("06:45")
    page.get_by_role("button", name="Save the variant").click()
    expect(page.locator(".flash")).to_contain_text("Variant 1 of Z15 saved")
    text = route_result(page, "Harbin")
    assert any("06:45" in line for line in text) and not any("07:30" in line for line in text)

    # A broken file: the dry run lists its errors by file and line, and writes nothing.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("cities.csv", "name,code\n")
        archive.writestr("stops.txt", "stop_id,stop_name\nA,\n")
    page.goto("/admin/imports")
    page.get_by_label("File").set_input_files(str(broken))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Check of broken.zip")).to_be_visible()
    expect(page.locator(".form-errors")).to_contain_text("nothing was written")
    expect(page.locator("table.problems tbody tr").first).to_be_visible()
    expect(page.get_by_role("button", name="Import it")).to_have_count(0)
    page.screenshot(path=str(screenshots / "admin-import-errors.png"), full_page=True)
    page.get_by_role("button", name="Discard the file").click()

    # Deleting the city first shows the service it would remove, then deletes both.
    page.goto("/admin/cities?q=Harbin")
    page.get_by_role("link", name="Delete").click()
    expect(page.locator(".removed-services")).to_contain_text("Z15")
    page.screenshot(path=str(screenshots / "admin-city-delete.png"), full_page=True)
    page.get_by_role("button", name="Delete the city and these services").click()
    expect(page.locator(".flash")).to_contain_text("City Harbin deleted, with 1 service.")
    page.goto("/admin/services?number=Z15")
    expect(page.locator(".count")).to_have_text("0 services")
    page.goto("/admin/audit")
    expect(page.locator("table.audit")).to_contain_text("deleted city Harbin and services train Z15")


def test_a_citys_other_names_are_kept_one_per_line(admin_page: Page, screenshots: Path):
    page = admin_page
    log_in(page)
    page.goto("/admin/cities?q=济南")
    page.get_by_role("link", name="Edit").click()
    names = page.get_by_label("Other names")
    expect(names).to_have_value("")
    names.fill("Tsinan\n\n  Chi-nan, the old spelling  \n")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("City 济南 saved")
    expect(page.locator("table.data")).to_contain_text("Tsinan · Chi-nan, the old spelling")
    assert page.request.get("/cities/suggest?q=tsin").json() == ["济南"]
    page.get_by_role("link", name="Edit").click()
    expect(names).to_have_value("Tsinan\nChi-nan, the old spelling")
    # The city's own name is refused beside the field, and what was typed stays.
    names.fill("Tsinan\n济南")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#err-aliases")).to_contain_text("is already the city's name")
    expect(names).to_have_value("Tsinan\n济南")
    page.screenshot(path=str(screenshots / "admin-city-other-names.png"), full_page=True)
    # Emptied, the city has none again.
    names.fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("City 济南 saved")
    expect(page.locator("table.data")).not_to_contain_text("Tsinan")
