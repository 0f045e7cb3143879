"""Keyboard and small screens in a real browser: skip link, one Tab stop for the chart,
the Account menu, tables that say they scroll at 390 px."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser import helpers

IN_CHART = "!!(document.activeElement && document.activeElement.closest('svg.bar-chart'))"
FOCUSED_LABEL = "document.activeElement.getAttribute('aria-label')"


def test_skip_link_and_a_single_tab_stop_for_the_chart(page: Page, live_server) -> None:
    helpers.admin(live_server)
    integration_id = helpers.integration(live_server, synced=True)
    helpers.sign_in(page, f"/integrations/{integration_id}?span=day&date=2026-11-18")
    bars = page.locator("#stats-panel svg.bar-chart a")
    expect(bars.first).to_be_attached()
    assert bars.count() > 20

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # Tab through the whole page: the chart takes exactly one stop.
    stops_in_chart = 0
    for _ in range(400):
        page.keyboard.press("Tab")
        if page.evaluate(IN_CHART):
            stops_in_chart += 1
            first_label = page.evaluate(FOCUSED_LABEL)
            # Inside, the arrow keys move from bar to bar; Tab leaves.
            page.keyboard.press("ArrowRight")
            assert page.evaluate(IN_CHART)
            second_label = page.evaluate(FOCUSED_LABEL)
            assert second_label != first_label
            page.keyboard.press("ArrowLeft")
            assert page.evaluate(FOCUSED_LABEL) == first_label
            page.keyboard.press("End")
            assert page.evaluate(FOCUSED_LABEL) == bars.last.get_attribute("aria-label")
        if page.evaluate("document.activeElement === document.body"):
            break
    else:
        raise AssertionError("Tab never left the page")
    assert stops_in_chart == 1

    # Enter on a focused bar lists the chats behind it.
    bars.first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#stats-explain")).to_contain_text(re.compile("chat", re.I))


def test_account_menu_and_password_autocomplete(page: Page, live_server) -> None:
    helpers.admin(live_server)
    page.goto("/login")
    expect(page.get_by_label("Password")).to_have_attribute("autocomplete", "current-password")
    expect(page.get_by_label("Username")).to_have_attribute("autocomplete", "username")
    helpers.sign_in(page, "/integrations")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {helpers.USERNAME}")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()


def test_tables_say_they_scroll_at_390_px(page: Page, live_server) -> None:
    helpers.admin(live_server)
    integration_id = helpers.integration(live_server, synced=True)
    page.set_viewport_size({"width": 390, "height": 844})
    helpers.sign_in(page, "/integrations")
    for path, label in (
        ("/integrations", "Integrations"),
        (f"/integrations/{integration_id}", "Sync history"),
    ):
        page.goto(path)
        box = page.get_by_role("region", name=re.compile(label))
        expect(box).to_be_visible()
        widths = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert widths[0] > widths[1], widths  # the table is wider than the screen...
        hint = page.locator(".scroll-hint").first
        expect(hint).to_be_visible()  # ...and says so
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box.focus()  # keyboard users can scroll it
        page.keyboard.press("ArrowRight")
        page.wait_for_function("e => e.scrollLeft > 0", arg=box.element_handle())
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto("/integrations")
    expect(page.locator(".scroll-hint").first).to_be_hidden()  # no hint when it all fits


def test_a_very_long_domain_keeps_the_layout_at_390_px(page: Page, live_server) -> None:
    helpers.admin(live_server)
    long_host = ".".join(["a" * 60] * 3) + ".freshchat.com"  # a valid, 197-character host
    helpers.integration(live_server, name="Long", domain=long_host)
    page.set_viewport_size({"width": 390, "height": 844})
    helpers.sign_in(page, "/integrations/new/freshchat")
    domain = page.get_by_label(re.compile("domain", re.I))
    assert int(domain.get_attribute("maxlength") or 0) <= 500
    domain.fill("x" * 300 + ".example.com")
    domain.blur()
    expect(page.locator("#errors-domain")).to_contain_text("is not a domain")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto("/integrations")
    page.goto(page.get_by_role("link", name="Long").first.get_attribute("href") or "")
    expect(page.get_by_role("heading", name=re.compile("Long"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
