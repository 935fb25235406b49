"""Route queries in Debian's chromium: each criterion, links to services, language, the map."""

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


def legs_of_first_card(page: Page) -> list[str]:
    card = page.locator("article.itinerary").first
    return card.locator(".leg-service .service-link").all_inner_texts()


def assert_one_line_per_leg(page: Page) -> None:
    cards = page.locator("article.itinerary")
    assert cards.count() > 0
    for i in range(cards.count()):
        card = cards.nth(i)
        legs = int(card.get_attribute("data-legs") or 0)
        assert legs == card.locator("ol.steps li.leg-step").count()
        assert card.locator("svg.map line.leg").count() == legs


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [("fastest", ["MU5101"]), ("cheapest", ["K51", "T7"]), ("transfers", ["MU5101"])],
)
def test_each_criterion_finds_its_route(page: Page, criterion: str, expected: list[str], screenshots: Path):
    ask(page, criterion)
    assert legs_of_first_card(page) == expected
    assert_one_line_per_leg(page)
    # The form keeps what was asked.
    expect(page.get_by_label("From")).to_have_value("北京")
    expect(page.get_by_label("To", exact=True)).to_have_value("上海")
    expect(page.get_by_label("Best by")).to_have_value(criterion)
    expect(page.get_by_label("Time", exact=True)).to_have_value("06:30")
    page.screenshot(path=str(screenshots / f"routes-{criterion}-desktop.png"), full_page=True)


def test_all_options_side_by_side_with_trades(page: Page, screenshots: Path):
    ask(page, "options")
    cards = page.locator(".cards.side-by-side article.itinerary")
    assert cards.count() >= 3
    texts = cards.all_inner_texts()
    assert any("Fastest" in t for t in texts) and any("Cheapest" in t for t in texts)
    assert any("more than the cheapest" in t for t in texts)
    assert any("later than the fastest" in t for t in texts)
    # The overnight train arrives the next day and says so.
    overnight = cards.filter(has_text="Z9")
    expect(overnight.locator(".day-mark").first).to_have_text("+1 day")
    # Options sit side by side on a desktop screen.
    first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    assert first and second and abs(first["y"] - second["y"]) < 2 and second["x"] > first["x"]
    assert_one_line_per_leg(page)
    page.screenshot(path=str(screenshots / "routes-options-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(screenshots / "routes-options-phone.png"), full_page=True)


def test_transfer_wait_is_shown(page: Page):
    ask(page, "cheapest")
    transfer = page.locator("article.itinerary").first.locator("li.transfer-step")
    expect(transfer).to_have_text(re.compile(r"Change at 济南: 1 h wait"))


def test_result_links_to_the_service_page(page: Page, screenshots: Path):
    ask(page, "fastest")
    page.locator("article.itinerary").first.get_by_role("link", name="MU5101").click()
    page.wait_for_url(re.compile(r"/services/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("MU5101")
    expect(page.locator("table.stops tbody tr")).to_have_count(2)
    expect(page.locator(".days-of-operation")).to_contain_text("Daily")
    page.screenshot(path=str(screenshots / "service-from-result-desktop.png"), full_page=True)


def test_switch_language_and_back(page: Page, screenshots: Path):
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Find a route")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("查询路线")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    # The choice is remembered while browsing on, and applies to results.
    page.get_by_label("出发地", exact=True).fill("北京")
    page.get_by_label("目的地", exact=True).fill("上海")
    page.get_by_label("日期", exact=True).fill(TRAVEL_DAY.isoformat())
    page.get_by_label("时间", exact=True).fill("06:30")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("article.itinerary").first).to_contain_text("历时")
    page.screenshot(path=str(screenshots / "routes-zh-desktop.png"), full_page=True)
    page.get_by_role("link", name="English").click()
    expect(page.locator("article.itinerary").first).to_contain_text("Duration")



def test_back_shows_the_form_of_the_results_it_shows(page: Page):
    # QA: after a second search with the cities swapped, "arrive by" and another criterion,
    # Back showed the first search's results under a form holding the second's choices.
    ask(page, "fastest")
    first = page.url
    page.locator("#swap").click()
    page.get_by_label("Arrive by").check()
    page.get_by_label("Best by").select_option("cheapest")
    page.get_by_label("Time", exact=True).fill("20:00")
    page.get_by_role("button", name="Find routes").click()
    page.wait_for_url(lambda url: url != first)
    expect(page.get_by_label("From")).to_have_value("上海")
    page.go_back()
    page.wait_for_url(first)
    expect(page.get_by_label("From")).to_have_value("北京")
    expect(page.get_by_label("To", exact=True)).to_have_value("上海")
    expect(page.get_by_label("Best by")).to_have_value("fastest")
    expect(page.get_by_label("Time", exact=True)).to_have_value("06:30")
    expect(page.get_by_label("Leave at")).to_be_checked()
    assert legs_of_first_card(page) == ["MU5101"]


def test_options_chart_has_a_dot_per_journey_that_leads_to_its_card(page: Page, screenshots: Path):
    ask(page, "options")
    cards = page.locator(".cards.side-by-side article.itinerary")
    chart = page.locator("figure.options-chart")
    wide = chart.locator("svg.chart-wide")
    expect(wide).to_be_visible()
    expect(chart.locator("svg.chart-narrow")).to_be_hidden()
    dots = wide.locator("a.option-dot")
    assert dots.count() == cards.count() >= 3
    # Across is arrival, up is fare: the flight (first card, fastest and dearest) sits left
    # of and above the cheapest card's dot.
    fares = [float(f.replace("¥", "").replace(",", ""))
             for f in cards.locator(".total-fare").all_inner_texts()]
    cheapest = fares.index(min(fares)) + 1
    flight, cheap = dots.nth(0).bounding_box(), dots.nth(cheapest - 1).bounding_box()
    assert flight and cheap and flight["x"] < cheap["x"] and flight["y"] < cheap["y"]
    expect(dots.nth(0)).to_have_attribute("aria-label", re.compile(r"^Journey 1: leaves 09:00, arrives 11:15, ¥1,200\.00, 0 transfers · Flight$"))
    # The fare scale writes round amounts without their cents.
    ticks = wide.locator(".y-tick text").all_text_contents()
    assert ticks and all(re.fullmatch(r"¥[\d,]+", t) for t in ticks), ticks
    legend = chart.locator(".chart-legend").inner_text()
    assert "Flight" in legend and "Train" in legend and "transfers" in legend
    page.screenshot(path=str(screenshots / "routes-options-chart-desktop.png"), full_page=True)
    # A dot is a link to its card, which the page then marks.
    dots.nth(cheapest - 1).click()
    expect(page).to_have_url(re.compile(rf"#itinerary-{cheapest}$"))
    target = page.locator(f"#itinerary-{cheapest}")
    expect(target).to_be_in_viewport()
    assert page.evaluate(f"getComputedStyle(document.querySelector('#itinerary-{cheapest}')).boxShadow") != "none"
    # On a phone the narrow drawing shows instead, as large as the screen allows.
    page.set_viewport_size(PHONE)
    narrow = chart.locator("svg.chart-narrow")
    expect(narrow).to_be_visible()
    expect(wide).to_be_hidden()
    assert narrow.locator("a.option-dot").count() == cards.count()
    box = narrow.bounding_box()
    assert box and box["width"] > 0.8 * PHONE["width"] - 64
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    chart.screenshot(path=str(screenshots / "routes-options-chart-phone.png"))


def test_a_journey_downloads_as_a_calendar_file(page: Page):
    from icalendar import Calendar

    ask(page, "cheapest")
    card = page.locator("article.itinerary").first
    with page.expect_download() as download:
        card.get_by_role("link", name="Add to calendar (.ics)").click()
    saved = download.value
    assert saved.suggested_filename == "journey-20250303-0700.ics"
    events = [c for c in Calendar.from_ical(Path(saved.path()).read_bytes()).walk()
              if c.name == "VEVENT"]
    # The cheapest journey: K51 to Jinan, then T7 on to Shanghai, each leg an event at its
    # own instants (Beijing time is UTC+8).
    assert [str(e["summary"]) for e in events] == ["Train K51: 北京 → 济南", "Train T7: 济南 → 上海"]
    assert [e.decoded("dtstart").isoformat() for e in events] == [
        "2025-03-02T23:00:00+00:00", "2025-03-03T05:00:00+00:00"]
    assert [e.decoded("dtend").isoformat() for e in events] == [
        "2025-03-03T04:00:00+00:00", "2025-03-03T14:00:00+00:00"]


def test_a_printed_answer_shows_the_journeys_without_the_form(page: Page, screenshots: Path):
    ask(page, "options")
    page.emulate_media(media="print")
    for hidden in (".site-header", "form.route-form", ".day-nav", ".calendar-link >> nth=0"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("article.itinerary").first).to_be_visible()
    expect(page.locator("figure.options-chart svg.chart-wide")).to_be_visible()
    # What was asked stays on paper, in a line the screen does not need.
    expect(page.locator(".query-summary")).to_have_text("Leaving at or after 06:30 on Monday, 3 March 2025")
    page.pdf(path=str(screenshots / "routes-options-print.pdf"))
    page.emulate_media(media="screen")
    expect(page.locator("form.route-form")).to_be_visible()
    expect(page.locator(".query-summary")).to_be_hidden()


def test_options_reorder_by_fare_and_keep_their_dots(page: Page):
    ask(page, "options")
    order = page.get_by_role("navigation", name="Order of the journeys")
    expect(order.get_by_role("link", name="Arrival")).to_have_attribute("aria-current", "true")
    order.get_by_role("link", name="Fare").click()
    page.wait_for_url(re.compile(r"sort=fare"))
    fares = [float(f.replace("¥", "").replace(",", ""))
             for f in page.locator("article.itinerary .total-fare").all_inner_texts()]
    assert fares == sorted(fares) and len(fares) >= 3
    expect(order.get_by_role("link", name="Fare")).to_have_attribute("aria-current", "true")
    # From the results' heading, Tab goes past the chart (its dots repeat the cards) to the
    # orders, and on to the first card.
    page.locator("#results-title").focus()
    page.keyboard.press("Tab")
    expect(order.get_by_role("link", name="Arrival")).to_be_focused()
    # The cheapest card now comes first, and its dot still leads to it.
    first = page.locator("article.itinerary").first
    number = (first.get_attribute("id") or "").removeprefix("itinerary-")
    page.locator(f"svg.chart-wide a.option-dot[data-number='{number}']").click()
    expect(page).to_have_url(re.compile(rf"#itinerary-{number}$"))
    expect(first).to_be_in_viewport()


def test_cities_typed_in_pinyin_or_full_width_find_their_journeys(page: Page):
    # An English reader types the pinyin; a Chinese keyboard left in full-width mode types
    # "ＳＨＨ" for 上海's code. The form then shows the cities' own names.
    ask(page, "fastest", origin="beijing", destination="ＳＨＨ")
    assert legs_of_first_card(page) == ["MU5101"]
    expect(page.get_by_label("From")).to_have_value("北京")
    expect(page.get_by_label("To", exact=True)).to_have_value("上海")
    expect(page.locator("h1")).to_have_text("北京 → 上海 Beijing → Shanghai")
    # The city list offers both ways to type each city: its code and its pinyin.
    expect(page.locator('#city-names option[value="上海"]')).to_have_attribute("label", "SHH · Shanghai")
