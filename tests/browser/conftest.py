"""Browser fixtures: the real app on a loopback port, driven by Debian's headless Chromium.

The app is served by waitress in a thread (the same server `flask serve` uses) and talks to
the Freshchat simulator on another loopback port, so a browser test walks the product the
way an administrator would, with nothing leaving the machine.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from waitress.server import create_server

from tests.engines import database_url
from webapp import create_app
from webapp.extensions import db
from webapp.freshchat.simulator import FreshchatSimulator, SimAccount, SimServer, serve_in_thread

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
SIM_DOMAIN = "acme.freshchat.com"
SIM_NOW = datetime(2026, 11, 20, 12, 0)


def _chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Debian chromium is required for browser tests (.ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    """A simulated Freshchat account with a frozen clock (deterministic pages)."""
    account = SimAccount(SIM_DOMAIN, seed=7, chats_per_day=80, clock=lambda: SIM_NOW)
    with serve_in_thread(FreshchatSimulator([account], pending_polls=0)) as server:
        server.account = account  # type: ignore[attr-defined]
        yield server


@dataclass
class LiveServer:
    app: Flask
    url: str

    def path(self, path: str) -> str:
        return self.url + path


@pytest.fixture
def live_server(tmp_path, sim_server) -> Iterator[LiveServer]:
    app = create_app(
        {
            "INSTANCE_PATH": tmp_path / "instance",
            "DATABASE_URL": database_url(tmp_path, "browser.db"),
            "SECRET_KEY": "browser-test-secret",
            "FRESHCHAT_API_URL": sim_server.api_url_template,
            "SYNC_NOW_INLINE": True,
            "EXTRACT_POLL_SECONDS": 0.0,
            # The app's "now" is the simulator's: the sync's backfill and the pages'
            # "later than now" agree with the data on any calendar day.
            "CLOCK": lambda: SIM_NOW,
        }
    )
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="browser-test")
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.effective_port}")
    finally:
        server.close()
        thread.join(timeout=5)
        db.initialize(None)


def _browser_environment() -> dict[str, str]:
    """The environment without libfaketime: CI runs the suite a year ahead with it, which
    moves the app's clock (the point) but hangs Chromium's multi-process start-up."""
    return {
        name: value
        for name, value in os.environ.items()
        if name != "LD_PRELOAD" and not name.startswith("FAKETIME")
    }


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=_chromium_path(), args=CHROMIUM_ARGS, env=_browser_environment()
        )
        yield chromium
        chromium.close()


def collect_page_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    """JavaScript errors and Content-Security-Policy reports of ``page``, as they happen:
    whatever a test does, the policy must never have to block anything."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return errors


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context per test (own cookies), with clipboard access for Copy."""
    context = browser.new_context(base_url=live_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = collect_page_errors(page)
    yield page
    context.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"
