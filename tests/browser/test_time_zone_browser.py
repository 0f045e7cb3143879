"""A new integration's time-zone field starts on the browser's zone (static/app.js)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import collect_page_errors
from webapp.models import Admin
from webapp.security import hash_password

USERNAME = "planner"
PASSWORD = "a long enough passphrase"


@pytest.mark.parametrize(
    ("browser_zone", "expected"),
    [("Europe/Paris", "Europe/Paris"), ("Asia/Kolkata", "Asia/Kolkata"), ("Etc/UTC", "UTC")],
)
def test_new_integration_preselects_the_browser_zone(browser, live_server, browser_zone, expected):
    with live_server.app.app_context():
        Admin.create(username=USERNAME, password_hash=hash_password(PASSWORD))
    context = browser.new_context(base_url=live_server.url, timezone_id=browser_zone)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = collect_page_errors(page)
    try:
        page.goto("/integrations/new/freshchat")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/integrations/new/freshchat")
        # Chromium reports Asia/Kolkata as the older Asia/Calcutta: the alias map applies.
        expect(page.get_by_label("Display time zone")).to_have_value(expected)
    finally:
        context.close()
    assert not errors, errors
