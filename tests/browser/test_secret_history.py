"""The companion-app key is shown once: never kept by htmx's history cache or by Back."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser import helpers


def _storage(page: Page) -> str:
    return page.evaluate("JSON.stringify(Object.assign({}, sessionStorage, localStorage))")


def test_generated_key_is_not_in_history_cache_nor_back_after_sign_out(
    page: Page, live_server
) -> None:
    helpers.admin(live_server)
    integration_id = helpers.integration(live_server)
    detail = f"/integrations/{integration_id}"
    helpers.sign_in(page, detail)

    page.get_by_role("button", name="Generate companion-app key").click()
    key_input = page.get_by_label("New companion-app key")
    expect(key_input).to_be_visible()
    key = key_input.input_value()
    secret = key.split(".", 1)[1]

    # An htmx navigation that pushes a URL: htmx snapshots the page it leaves.
    page.get_by_role("link", name="← Previous week").click()
    expect(page).to_have_url(re.compile(r"span=week"))
    assert secret not in _storage(page), "the key was saved in the browser's storage"

    # Back to the page the key was shown on: it comes from the server, without the key.
    page.go_back()
    expect(page.get_by_role("heading", name=re.compile("Acme chats"))).to_be_visible()
    expect(page.get_by_label("New companion-app key")).to_have_count(0)
    assert secret not in page.content()

    # Forward, sign out, then Back as far as the history goes: never the key, never a page
    # of the signed-in app, and nothing of it left in the tab's storage.
    page.go_forward()
    expect(page).to_have_url(re.compile(r"span=week"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert "htmx-history-cache" not in _storage(page)
    # The tab's history: sign-in, the page, its pushed week, the sign-in page again.
    for _ in range(3):
        page.go_back()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert secret not in page.content()
        assert secret not in _storage(page)


def test_signed_in_pages_are_not_stored_and_the_key_leaves_with_the_page(
    page: Page, live_server
) -> None:
    """Back/forward caches keep a page as it was: signed-in pages are ``no-store`` (the
    browser then never keeps them), and a key on screen is removed when the page is left."""
    helpers.admin(live_server)
    integration_id = helpers.integration(live_server)
    helpers.sign_in(page, f"/integrations/{integration_id}")
    response = page.reload()
    assert response is not None and response.headers["cache-control"] == "no-store"

    page.get_by_role("button", name="Generate companion-app key").click()
    expect(page.get_by_label("New companion-app key")).to_be_visible()
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    expect(page.get_by_label("New companion-app key")).to_have_count(0)
