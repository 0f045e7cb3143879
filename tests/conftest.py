"""Shared fixtures: every test gets its own temporary SQLite *file* (WAL needs a file)."""

from __future__ import annotations

import pytest

from tests.engines import database_url
from webapp.database import open_database
from webapp.extensions import db


@pytest.fixture
def database(tmp_path):
    """A fresh database bound to the models, connected for the test's thread."""
    database = open_database(database_url(tmp_path))
    database.connect(reuse_if_open=True)
    yield database
    if not database.is_closed():
        database.close()
    db.initialize(None)


# --- Flask app fixtures -------------------------------------------------------------

import re  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.models import Admin  # noqa: E402
from webapp.security import hash_password  # noqa: E402

ADMIN_USER = "admin"
ADMIN_PASSWORD = "correct horse battery"
TEST_API_URL = "https://{domain}/v2"


def make_test_app(folder, database_name: str = "app.db", *, strict: bool = True, **settings):
    """An app over a SQLite file in ``folder``; ``settings`` add to or override the basics.

    CSRF stays ON: tests send real tokens. ``strict`` makes templates fail on undefined
    names instead of rendering them empty. Callers reset ``db`` when done.
    """
    application = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": folder / "instance",
            "DATABASE_URL": database_url(folder, database_name),
            "SECRET_KEY": "test-secret",
            **settings,
        }
    )
    if strict:
        application.jinja_env.undefined = __import__("jinja2").StrictUndefined
    return application


def add_integration(app, name: str, domain: str, api_key: str, **fields) -> int:
    """Save an integration directly (no form, no credential check); ``fields`` then set
    any stored column, e.g. a paused flag or a sync outcome."""
    from webapp import integrations as service
    from webapp.models import Integration

    with app.app_context(), db.connection_context():
        integration = service.create(
            service.IntegrationInput(name, domain, api_key, backfill_days=2),
            app.extensions["secret_box"],
        )
        if fields:
            Integration.update(**fields).where(Integration.id == integration.id).execute()
        return integration.id


@pytest.fixture
def app(tmp_path):
    """An app over a temporary SQLite file, Freshchat answered by ``responses``."""
    application = make_test_app(
        tmp_path, FRESHCHAT_API_URL=TEST_API_URL, SYNC_NOW_INLINE=True, EXTRACT_POLL_SECONDS=0.0
    )
    yield application
    db.initialize(None)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, "no CSRF token in page"
    return match.group(1)


class Browserless:
    """Test-client helpers that behave like a signed-in admin with a real CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token = ""

    def refresh_token(self, path: str = "/integrations") -> str:
        self.token = csrf_token_from(self.client.get(path).get_data(as_text=True))
        return self.token

    def post(self, path, data=None, htmx=False, trigger_name=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
            headers["X-CSRFToken"] = self.token
            if trigger_name:
                headers["HX-Trigger-Name"] = trigger_name
        return self.client.post(path, data=data, headers=headers, **kwargs)

    def get(self, path, htmx=False, **kwargs):
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.get(path, headers=headers, **kwargs)


@pytest.fixture
def admin_client(app, client):
    """A client signed in as the administrator."""
    with db.connection_context():
        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    helper = Browserless(client)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    helper.refresh_token()
    return helper


def pytest_report_header(config) -> str | None:
    """Say when the suite runs with a moved clock (CI's second run), so a log shows it."""
    import os

    days = os.environ.get("TEST_TIME_SHIFT_DAYS")
    return f"wall clock moved {days} days ahead (tests/timeshift)" if days else None
