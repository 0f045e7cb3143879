"""Sign-in and sessions under attack (issue 13, items 12, 13 and 14).

* The failed sign-in limit holds under concurrency: 40 simultaneous wrong passwords from
  one address get at most 5 password checks (check and record are one step).
* Unknown and known usernames cost the same: each sign-in verifies exactly one Argon2 hash
  (a dummy one for an unknown name). Counted, not timed.
* A session ends for good: a cookie captured before sign-out, or before the password was
  changed, no longer signs anyone in.
"""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, csrf_token_from
from webapp.extensions import db
from webapp.models import Admin
from webapp.security import hash_password
from webapp.views.auth import LOGIN_MAX_FAILURES


@pytest.fixture
def admin(app):
    with db.connection_context():
        return Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))


@pytest.fixture
def verifications(monkeypatch):
    """Every Argon2 verification made, by hash (the real ones still run)."""
    made: list[str] = []
    lock = threading.Lock()
    real = PasswordHasher.verify

    def counting(self, hash, password):
        with lock:
            made.append(hash if isinstance(hash, str) else hash.decode())
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return made


def _sign_in(client, username: str, password: str):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


# --------------------------------------------------------------------------- item 12


def test_concurrent_wrong_passwords_get_no_more_checks_than_the_limit(app, admin, verifications):
    tries = 40
    clients = [app.test_client() for _ in range(tries)]
    tokens = [csrf_token_from(c.get("/login").get_data(as_text=True)) for c in clients]
    start = threading.Barrier(tries)
    statuses: list[int] = []

    def attempt(client, token) -> None:
        start.wait()
        response = client.post(
            "/login", data={"username": ADMIN_USER, "password": "guess", "csrf_token": token}
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == tries
    assert len(verifications) <= LOGIN_MAX_FAILURES
    assert statuses.count(429) >= tries - LOGIN_MAX_FAILURES
    # The right password is refused too while the address waits: no check is spent on it.
    assert _sign_in(app.test_client(), ADMIN_USER, ADMIN_PASSWORD).status_code == 429
    assert len(verifications) <= LOGIN_MAX_FAILURES


def test_a_successful_sign_in_does_not_use_up_the_limit(app, admin):
    for _ in range(LOGIN_MAX_FAILURES * 2):
        assert _sign_in(app.test_client(), ADMIN_USER, ADMIN_PASSWORD).status_code == 303


# --------------------------------------------------------------------------- item 13


def test_unknown_and_known_usernames_verify_one_hash_each(app, admin, verifications):
    unknown = _sign_in(app.test_client(), "nobody", "some password")
    assert "Unknown username or wrong password." in unknown.get_data(as_text=True)
    assert len(verifications) == 1
    dummy = verifications[0]
    assert dummy.startswith("$argon2id$") and dummy != admin.password_hash
    # Same parameters as a real hash, so the work is the same.
    assert dummy.split("$")[3] == admin.password_hash.split("$")[3]

    wrong = _sign_in(app.test_client(), ADMIN_USER, "wrong password")
    assert "Unknown username or wrong password." in wrong.get_data(as_text=True)
    assert verifications[1:] == [admin.password_hash]

    assert _sign_in(app.test_client(), ADMIN_USER, ADMIN_PASSWORD).status_code == 303
    assert len(verifications) == 3


# --------------------------------------------------------------------------- item 14


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _signed_in_with(app, cookie: str) -> bool:
    """Whether a fresh browser presenting ``cookie`` reaches the integrations page."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/integrations").status_code == 200


def test_a_session_cookie_captured_before_sign_out_no_longer_works(app, admin):
    client = app.test_client()
    assert _sign_in(client, ADMIN_USER, ADMIN_PASSWORD).status_code == 303
    captured = _cookie(client)
    assert _signed_in_with(app, captured)
    # The same admin signed in elsewhere too.
    elsewhere = app.test_client()
    assert _sign_in(elsewhere, ADMIN_USER, ADMIN_PASSWORD).status_code == 303

    page = client.get("/integrations").get_data(as_text=True)
    signed_out = client.post("/logout", data={"csrf_token": csrf_token_from(page)})
    assert signed_out.status_code == 303

    assert not _signed_in_with(app, captured)
    assert elsewhere.get("/integrations").status_code == 302  # every earlier session ends
    assert _sign_in(client, ADMIN_USER, ADMIN_PASSWORD).status_code == 303  # a new one works
    assert client.get("/integrations").status_code == 200


def test_changing_the_password_ends_earlier_sessions(app, admin):
    client = app.test_client()
    assert _sign_in(client, ADMIN_USER, ADMIN_PASSWORD).status_code == 303
    captured = _cookie(client)
    with db.connection_context():
        other = Admin.create(username="second", password_hash=hash_password(ADMIN_PASSWORD))
    second = app.test_client()
    assert _sign_in(second, other.username, ADMIN_PASSWORD).status_code == 303

    result = app.test_cli_runner().invoke(
        args=["create-admin", "--username", ADMIN_USER, "--password", "a brand new password"]
    )
    assert result.exit_code == 0, result.output

    assert not _signed_in_with(app, captured)
    assert client.get("/integrations").status_code == 302
    assert second.get("/integrations").status_code == 200  # another admin is not affected
    assert _sign_in(client, ADMIN_USER, "a brand new password").status_code == 303


@pytest.mark.parametrize("trusted", [0, 1])
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(app, admin, trusted):
    """With ``TRUSTED_PROXIES`` the proxy's X-Forwarded-For names the client (a proxy
    must not make every user share one limit); without it the header is ignored, so a
    guesser cannot escape the limit by inventing addresses."""
    from webapp import _trust_proxies

    app.config["TRUSTED_PROXIES"] = trusted
    _trust_proxies(app)
    client = app.test_client()
    guesser = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(LOGIN_MAX_FAILURES):
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        data = {"username": ADMIN_USER, "password": "wrong", "csrf_token": token}
        assert client.post("/login", data=data, headers=guesser).status_code == 200
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    right = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": token}
    other = client.post("/login", data=right, headers={"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == (303 if trusted else 429)
