"""The Content-Security-Policy holds on the main pages (issue 13, item 15).

Every page is served with a policy that allows no inline script or style. This walks the
main pages in Chromium, including the HTMX swaps (inline validation, Test connection, Sync
now, the statistics panel), and fails on any violation the browser reports, either as a
``securitypolicyviolation`` event or as a console message.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import SIM_DOMAIN, SIM_NOW
from tests.conftest import add_integration
from webapp.extensions import db
from webapp.models import Admin
from webapp.security import hash_password
from webapp.sync_jobs import sync_for_app

PASSWORD = "a long enough passphrase"

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def _seed(app) -> int:
    integration_id = add_integration(app, "Support chats", SIM_DOMAIN, "demo-admin-key")
    with app.app_context(), db.connection_context():
        Admin.create(username="planner", password_hash=hash_password(PASSWORD))
        outcome = sync_for_app(app, integration_id, trigger="manual")
        assert outcome is not None and outcome.ok, outcome
    return integration_id


def test_main_pages_raise_no_csp_violation(page: Page, live_server) -> None:
    integration_id = _seed(live_server.app)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.add_init_script(RECORD_VIOLATIONS)

    def violations() -> list[str]:
        return page.evaluate("window.__csp") + console

    response = page.goto("/login")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page.get_by_label("Username").fill("planner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    assert violations() == []

    for path in ("/integrations/gallery", "/integrations/gallery/freshworks"):
        page.goto(path)
        assert violations() == [], path

    # The form, with an inline validation and a connection test swapped in by htmx.
    page.goto("/integrations/new/freshchat")
    domain = page.get_by_label(re.compile("domain", re.I))
    domain.fill("support.example.com")
    domain.blur()
    expect(page.locator("#errors-domain")).to_contain_text("freshchat.com")
    page.get_by_label("API key").fill("demo-admin-key")
    domain.fill(SIM_DOMAIN)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-result")).not_to_be_empty()
    assert violations() == []

    # The integration: status, sync panel (Sync now swaps it), statistics for the week.
    day = SIM_NOW.date().isoformat()
    page.goto(f"/integrations/{integration_id}")
    expect(page.locator("#sync-panel")).to_be_visible()
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#sync-panel .sync-history tbody tr")).to_have_count(2)
    page.goto(f"/integrations/{integration_id}/stats?date={day}&span=week")
    expect(page.locator("#stats-panel")).to_be_visible()
    for path in (
        f"/integrations/{integration_id}/edit",
        f"/integrations/{integration_id}/delete",
        "/integrations/999999",
    ):
        page.goto(path)
        assert violations() == [], path
    assert violations() == []
