"""The export form in a real browser: quiet console, messages in the admin's words."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser import helpers


def test_changing_the_export_form_logs_nothing_in_the_console(page: Page, live_server) -> None:
    helpers.admin(live_server)
    integration_id = helpers.integration(live_server, synced=True)
    messages: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            messages.append(f"{message.type}: {message.text}")

    page.on("console", record)
    page.on("requestfailed", lambda request: messages.append(f"failed: {request.url}"))
    helpers.sign_in(page, f"/integrations/{integration_id}?span=week&date=2026-11-16")
    expect(page.locator("#stats-period")).to_contain_text("Mon 2026-11-16")
    page.evaluate("window.__checks = 0")
    page.evaluate(
        "document.addEventListener('htmx:afterRequest', e => {"
        " if ((e.detail.pathInfo.requestPath || '').includes('/export/check')) window.__checks++ })"
    )
    page.locator("#export-from").click()
    page.keyboard.type("11172026")
    page.keyboard.press("Tab")
    page.wait_for_function("() => window.__checks >= 1")
    page.locator("#export-format").select_option("json")
    page.wait_for_function("() => window.__checks >= 2")
    page.locator("#stats-export input[name=queue]").first.click()
    page.wait_for_function("() => window.__checks >= 3")
    assert messages == []
