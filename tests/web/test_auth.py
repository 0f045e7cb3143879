"""First-run setup, login, logout and the login requirement."""

from __future__ import annotations

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, csrf_token_from
from tests.engines import database_url
from webapp.extensions import db
from webapp.models import Admin


def test_first_visit_leads_to_setup_and_creates_the_admin(client):
    response = client.get("/integrations")
    assert response.status_code == 302 and response.headers["Location"].endswith("/setup")
    page = client.get("/setup").get_data(as_text=True)
    token = csrf_token_from(page)
    response = client.post(
        "/setup",
        data={
            "username": "boss",
            "password": "a long password",
            "confirm": "a long password",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    with db.connection_context():
        admin = Admin.get(Admin.username == "boss")
        assert admin.password_hash.startswith("$argon2")
        assert "a long password" not in admin.password_hash
    # Signed in straight away, and setup is closed for good.
    assert "No integration yet" in client.get("/integrations").get_data(as_text=True)
    assert client.get("/setup").headers["Location"].endswith("/login")


def test_setup_refuses_mismatched_and_short_passwords(client):
    token = csrf_token_from(client.get("/setup").get_data(as_text=True))
    response = client.post(
        "/setup",
        data={"username": "boss", "password": "short", "confirm": "other", "csrf_token": token},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The passwords differ." in body
    assert "Use at least 10 characters." in body
    with db.connection_context():
        assert Admin.select().count() == 0


def test_login_logout_and_wrong_password(app, client):
    with db.connection_context():
        from webapp.security import hash_password

        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    bad = client.post(
        "/login", data={"username": ADMIN_USER, "password": "nope", "csrf_token": token}
    )
    assert bad.status_code == 200
    assert "Unknown username or wrong password." in bad.get_data(as_text=True)
    good = client.post(
        "/login?next=/integrations/gallery",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "csrf_token": token,
            "next": "/integrations/gallery",
        },
    )
    assert good.status_code == 303 and good.headers["Location"].endswith("/integrations/gallery")
    cookie = good.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/integrations").get_data(as_text=True)
    out = client.post("/logout", data={"csrf_token": csrf_token_from(page)})
    assert out.status_code == 303
    assert client.get("/integrations").status_code == 302


def test_login_next_cannot_leave_the_site(app, client):
    with db.connection_context():
        from webapp.security import hash_password

        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["Location"].endswith("/integrations")


def test_htmx_request_without_session_is_told_to_redirect(app, client):
    with db.connection_context():
        from webapp.security import hash_password

        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    response = client.get("/integrations", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith("/login")


def test_public_endpoints_need_no_login(client):
    assert client.get("/healthz").json == {"status": "ok", "demo": False}
    script = client.get("/assets/htmx.min.js")
    assert script.status_code == 200 and b"htmx" in script.data[:2000]
    assert client.get("/login").status_code == 302  # no admin yet: to setup


def test_post_without_csrf_token_is_refused(admin_client):
    response = admin_client.client.post("/logout", data={})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_secure_cookie_setting_comes_from_the_environment(tmp_path, monkeypatch):
    from webapp import create_app
    from webapp.extensions import db

    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    app = create_app(
        {"INSTANCE_PATH": tmp_path / "i", "DATABASE_URL": database_url(tmp_path, "s.db")}
    )
    try:
        cookie = app.test_client().get("/setup").headers.get("Set-Cookie", "")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        db.initialize(None)


def test_repeated_wrong_passwords_are_slowed_down(client, app):
    from webapp.security import hash_password
    from webapp.views.auth import LOGIN_MAX_FAILURES as MAX_FAILURES

    with app.app_context(), db.connection_context():
        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    wrong = {"username": ADMIN_USER, "password": "nope", "csrf_token": token}
    for _ in range(MAX_FAILURES):
        assert client.post("/login", data=wrong).status_code == 200
    # Even the right password waits now: guessing cannot go on at full speed.
    right = {**wrong, "password": ADMIN_PASSWORD}
    blocked = client.post("/login", data=right)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)


def test_a_request_that_changes_nothing_sends_no_session_cookie(app, client):
    """Two requests in flight (an inline field check and Save) each answer with the session
    they read; the older copy must not come back and wipe the message Save flashed."""
    with db.connection_context():
        from webapp.security import hash_password

        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    signed_in = client.post(
        "/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    assert "session=" in signed_in.headers.get("Set-Cookie", "")
    client.get("/integrations")  # may store the page's CSRF token: a change, a cookie
    again = client.get("/integrations")
    assert again.status_code == 200
    assert "Set-Cookie" not in again.headers
    partial = client.get("/integrations", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "Set-Cookie" not in partial.headers
