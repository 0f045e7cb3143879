"""Queues and contacts in a real browser: week navigation by htmx, history, explanation."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser import helpers


def _synced_integration(live_server) -> int:
    """An admin and an integration synced from the simulated account (clock 2026-11-20 12:00).

    Ten days of history: imported from 2026-11-10 12:00 UTC, so the week of 2026-11-02 lies
    wholly before it and 2026-11-12 inside it.
    """
    helpers.admin(live_server)
    return helpers.integration(live_server, synced=True, backfill_days=10)


def test_navigate_weeks_and_explain_a_count(page: Page, live_server) -> None:
    integration_id = _synced_integration(live_server)
    detail = f"/integrations/{integration_id}"
    helpers.sign_in(page, f"{detail}?span=week&date=2026-11-18")

    panel = page.locator("#stats-panel")
    period = page.locator("#stats-period")
    expect(period).to_contain_text("Mon 2026-11-16")
    expect(page.locator("#stats-queues")).to_contain_text("Customer Support")
    expect(page.locator("#stats-undefined")).to_contain_text("spam")
    page.evaluate("window.__samePage = true")

    # Back one week, then one more, and forward again: htmx swaps, the URL follows.
    page.get_by_role("link", name="← Previous week").click()
    expect(period).to_contain_text("Mon 2026-11-09")
    expect(page).to_have_url(re.compile(rf"{detail}\?span=week&date=2026-11-09$"))
    page.get_by_role("link", name="← Previous week").click()
    expect(period).to_contain_text("Mon 2026-11-02")
    # Before the 10 days imported: said plainly, and no interval reads as a zero.
    expect(panel).to_contain_text("earlier intervals were not imported")
    expect(page.locator("#stats-table tr.absent-not-imported")).to_have_count(672)
    page.get_by_role("link", name="Next week →").click()
    expect(period).to_contain_text("Mon 2026-11-09")
    assert page.evaluate("window.__samePage === true"), "navigation reloaded the page"

    # The browser's Back button restores the previous week.
    page.go_back()
    expect(period).to_contain_text("Mon 2026-11-02")
    expect(page).to_have_url(re.compile(r"date=2026-11-02$"))
    page.go_forward()
    expect(period).to_contain_text("Mon 2026-11-09")

    # Pick one queue, then one day of that week.
    page.locator("#stats-queues").get_by_role("link", name="Customer Support").click()
    expect(panel).to_have_attribute("data-queue", "Customer Support")
    page.get_by_role("link", name="Thu 12").click()
    expect(panel).to_have_attribute("data-span", "day")
    expect(period).to_contain_text("Thursday 2026-11-12")
    expect(panel).to_have_attribute("data-intervals", "96")
    assert page.evaluate("window.__samePage === true"), "navigation reloaded the page"

    # Click the tallest bar of the chart: its chats are listed, as many as it counts.
    bars = page.locator("#stats-panel svg a")
    expect(bars.first).to_be_attached()
    labels = bars.evaluate_all("links => links.map(a => a.getAttribute('aria-label'))")
    counts = [int(re.search(r": (\d+) contact", label).group(1)) for label in labels]
    tallest = counts.index(max(counts))
    bars.nth(tallest).click()
    explain = page.locator("#stats-explain")
    expect(explain).to_contain_text(f"{counts[tallest]} contact")
    expect(explain).to_contain_text("in Customer Support")
    expect(page.locator("#explain-table tbody tr")).to_have_count(counts[tallest])
    expect(page.locator("#explain-table")).to_contain_text("group at its latest resolution")
    assert page.evaluate("window.__samePage === true"), "the explanation reloaded the page"
    expect(page).to_have_url(re.compile(r"date=2026-11-12&queue=Customer\+Support&interval="))

    # Reloading the pushed URL renders the same state as a full page, list of chats included.
    page.reload()
    expect(period).to_contain_text("Thursday 2026-11-12")
    expect(panel).to_have_attribute("data-queue", "Customer Support")
    expect(page.locator("#explain-table tbody tr")).to_have_count(counts[tallest])
    assert page.evaluate("window.__samePage === undefined")

    # Close hides the list and takes the interval out of the URL.
    page.get_by_role("link", name="Close the list of chats").click()
    expect(explain).to_be_empty()
    expect(explain).to_be_hidden()
    expect(page).to_have_url(re.compile(r"date=2026-11-12&queue=Customer\+Support$"))

    # The table offers the same explanation, without a chart click.
    first_count = page.locator("#stats-table a").first
    number = int(first_count.inner_text())
    first_count.click()
    expect(page.locator("#explain-table tbody tr")).to_have_count(min(number, 20))


def test_export_errors_show_by_the_form_and_the_chart_stays(page: Page, live_server) -> None:
    integration_id = _synced_integration(live_server)
    detail = f"/integrations/{integration_id}?span=week&date=2026-11-16"
    helpers.sign_in(page, detail)
    period = page.locator("#stats-period")
    expect(period).to_contain_text("Mon 2026-11-16")
    page.evaluate("window.__samePage = true")

    page.locator("#export-from").fill("2024-01-01")
    page.get_by_role("button", name="Download").click()
    error = page.locator("#export-error")
    expect(error).to_contain_text("The range is too long")
    expect(error).to_be_in_viewport()
    expect(period).to_contain_text("Mon 2026-11-16")  # the chart did not move
    expect(page).to_have_url(re.compile(r"span=week&date=2026-11-16$"))
    assert page.evaluate("window.__samePage === true")

    # Correcting the day clears the message; Download then saves the file, page unchanged.
    page.locator("#export-from").fill("2026-11-16")
    expect(error).to_be_empty()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "acme-chats-contacts-2026-11-16-to-2026-11-22.csv"
    assert page.evaluate("window.__samePage === true")


def test_narrow_screen_scrolls_the_chart_not_the_page(page: Page, live_server) -> None:
    integration_id = _synced_integration(live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    helpers.sign_in(page, f"/integrations/{integration_id}?span=day&date=2026-11-18")
    for span in ("day", "week"):
        page.goto(f"/integrations/{integration_id}?span={span}&date=2026-11-18")
        expect(page.locator("#stats-panel")).to_have_attribute("data-span", span)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        chart = page.locator(".stats-chart-scroll")
        widths = chart.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert widths[0] >= 800 > widths[1], widths  # readable, and scrolls inside itself
        expect(page.locator(".chart-scroll-hint")).to_be_visible()
