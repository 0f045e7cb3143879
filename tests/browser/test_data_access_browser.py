"""Check data access in a real browser, on the demo's account: progress, results, download."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from waitress.server import create_server

from webapp import create_app
from webapp.demo import DemoSetup, prepare_demo
from webapp.extensions import db


@pytest.fixture
def demo(tmp_path) -> Iterator[tuple[DemoSetup, str]]:
    """The demo as ``flask demo --dialect real`` prepares it (a small account), served."""
    setup = prepare_demo(
        tmp_path / "instance", make_app=create_app, seed=3, chats_per_day=40, dialect="real"
    )
    server = create_server(setup.app, host="127.0.0.1", port=0, threads=4, ident="demo-test")
    thread = threading.Thread(target=server.run, name="demo-server", daemon=True)
    thread.start()
    try:
        yield setup, f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)
        setup.sim.shutdown()
        db.initialize(None)


def test_check_data_access_on_the_demo_account_and_download_the_diagnostic(
    browser, demo, tmp_path
) -> None:
    setup, url = demo
    assert setup.sync_message.startswith("Read "), setup.sync_message  # real dialect synced
    context = browser.new_context(base_url=url, accept_downloads=True)
    context.set_default_timeout(30_000)
    page: Page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"/integrations/{setup.integration_id}")
        page.get_by_label("Username").fill(setup.username)
        page.get_by_label("Password").fill(setup.password)
        page.get_by_role("button", name="Sign in").click()

        page.get_by_role("button", name="Check data access").click()
        # The check runs in the background; the panel polls itself until it is done.
        panel = page.locator("#diagnosis-panel")
        expect(panel).to_have_attribute("data-state", "done")
        result = page.locator("#diagnosis-result")
        for event in ("Conversation-Created", "Conversation-Group-Assigned"):
            expect(result).to_contain_text(f"{event}: ok")
        expect(result).to_contain_text("Conversation-Resolved: ok")
        expect(result.get_by_role("cell", name="created_at").first).to_be_visible()
        expect(result).to_contain_text("event time")
        expect(page.locator("#diagnosis-findings")).to_contain_text("Everything the sync needs")

        with page.expect_download() as info:
            page.get_by_role("link", name="Download diagnostic").click()
        path = tmp_path / "diagnostic.json"
        info.value.save_as(path)
        report = json.loads(path.read_text())
        assert report["domain"] == setup.account.domain
        assert {e["event"]: e["outcome"] for e in report["events"]} == {
            "Conversation-Created": "ok",
            "Conversation-Group-Assigned": "ok",
            "Conversation-Resolved": "ok",
        }
        text = path.read_text()
        assert not any(group.name in text for group in setup.account.groups)
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
