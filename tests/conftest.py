"""Shared fixtures: every test gets its own temporary SQLite *file* (WAL needs a file)."""

from __future__ import annotations

import pytest

from webapp.database import open_database
from webapp.extensions import db


@pytest.fixture
def database(tmp_path):
    """A fresh database bound to the models, connected for the test's thread."""
    database = open_database(f"sqlite:///{tmp_path / 'test.db'}")
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


@pytest.fixture
def app(tmp_path):
    """An app over a temporary SQLite file. CSRF stays ON: tests send real tokens."""
    application = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": tmp_path / "instance",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "SECRET_KEY": "test-secret",
            "FRESHCHAT_API_URL": TEST_API_URL,
            "SYNC_NOW_INLINE": True,
            "EXTRACT_POLL_SECONDS": 0.0,
        }
    )
    application.jinja_env.undefined = __import__("jinja2").StrictUndefined
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
