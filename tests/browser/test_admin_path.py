"""The administrator's first path, in a real browser: setup → gallery → form → key → copy."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import SIM_DOMAIN

PASSWORD = "a long enough passphrase"


def _create_admin(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup"))
    page.get_by_label("Username").fill("planner")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label(re.compile("Confirm|Repeat", re.I)).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def test_new_admin_connects_freshchat_and_copies_the_app_key(page: Page, live_server) -> None:
    _create_admin(page)

    # Empty state leads to the gallery.
    expect(page.get_by_role("heading", name="No integration yet")).to_be_visible()
    page.get_by_role("link", name="Add integration").click()
    expect(page.get_by_text("Coming soon").first).to_be_visible()
    page.get_by_role("link", name="Select template").click()
    expect(page.get_by_text("Requires a Freshchat Pro or Enterprise account")).to_be_visible()
    page.get_by_role("link", name="Add this integration").click()
    expect(page.get_by_role("heading", name="Configure your Freshchat integration")).to_be_visible()

    # An invalid domain: the inline error arrives by HTMX, without a page load.
    page.evaluate("window.__samePage = true")
    page.get_by_label("Name").fill("Support chats")
    domain = page.get_by_label(re.compile("domain", re.I))
    domain.fill("support.example.com")
    domain.blur()
    error = page.locator("#errors-domain")
    expect(error).to_contain_text("freshchat.com")
    expect(domain).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.__samePage === true"), "the page was reloaded"

    # A pasted URL is normalised; a valid admin key passes the connection test.
    domain.fill(f"https://{SIM_DOMAIN}/a/inbox")
    domain.blur()
    expect(page.locator("#errors-domain")).to_be_empty()
    expect(page.get_by_label(re.compile("domain", re.I))).to_have_value(SIM_DOMAIN)
    page.get_by_label("API key").fill("demo-agent-key")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-result")).to_contain_text(re.compile("admin", re.I))

    # Saving with that key is refused in place, and the pasted key is not lost.
    page.get_by_role("button", name="Save integration").click()
    expect(page.locator("#form-errors")).to_contain_text(re.compile("admin", re.I))
    expect(page.get_by_label("API key")).to_have_value("demo-agent-key")
    assert "demo-agent-key" not in page.content(), "the key must not be echoed by the server"
    page.get_by_label("API key").fill("demo-admin-key")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-result")).to_contain_text(re.compile("connected|works", re.I))
    assert page.evaluate("window.__samePage === true"), "the page was reloaded"

    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("heading", name=re.compile("Support chats"))).to_be_visible()
    assert "demo-admin-key" not in page.content()

    # Generate the companion-app key, see it once, copy it.
    page.get_by_role("button", name="Generate companion-app key").click()
    key_input = page.get_by_label("New companion-app key")
    expect(key_input).to_be_visible()
    key = key_input.input_value()
    assert key.startswith("fch_")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator("#install-app .copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key
    expect(page.locator("#events-url")).to_contain_text("/api/v1/freshchat/events")

    # Afterwards only the prefix shows.
    page.reload()
    expect(page.get_by_label("New companion-app key")).to_have_count(0)
    expect(page.get_by_text(key.split(".")[0] + "…")).to_be_visible()
    assert key not in page.content()
