"""Shared steps of the browser tests: an administrator, an integration, signing in."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import SIM_DOMAIN
from webapp import integrations
from webapp.models import Admin
from webapp.security import hash_password
from webapp.sync_jobs import sync_for_app

USERNAME = "planner"
PASSWORD = "a long enough passphrase"


def admin(live_server) -> None:  # type: ignore[no-untyped-def]
    with live_server.app.app_context():
        Admin.create(username=USERNAME, password_hash=hash_password(PASSWORD))


def integration(live_server, *, synced: bool = False, **values) -> int:  # type: ignore[no-untyped-def]
    """An integration of the simulated account; ``synced`` imports it (the app's clock is the
    simulator's, so the pages show the same counts on any calendar day)."""
    app = live_server.app
    fields = dict(
        name="Acme chats",
        domain=SIM_DOMAIN,
        api_key="demo-admin-key",
        backfill_days=16,
        display_timezone="Europe/Berlin",
    )
    fields.update(values)
    with app.app_context():
        created = integrations.create(
            integrations.IntegrationInput(**fields), app.extensions["secret_box"]
        )
        if synced:
            outcome = sync_for_app(app, created.id, trigger="manual")
            assert outcome is not None and outcome.ok, outcome and outcome.message
        return created.id


def sign_in(page: Page, path: str) -> None:
    page.goto(path)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Signed in once the browser has left the sign-in page: a test that navigates before
    # then (a reload) races the sign-in's own navigation.
    page.wait_for_url(lambda url: "/login" not in url)
