"""Freshchat answers an adversarial run used against the client (issue 13, items 4 and 5).

* ``Retry-After`` / ``X-RateLimit-Reset`` values that are not sane numbers of seconds
  (``inf``, ``1e400``, ``nan``, negatives, dates in the past) are ignored or clamped, never
  turned into an ``OverflowError`` or an endless wait.
* The credential check answers with a verdict for *any* Freshchat answer, never raises.
* A download that trickles in forever ends at an overall deadline from the settings.
"""

from __future__ import annotations

import http.server
import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import responses
from cryptography.fernet import Fernet

from webapp.clients import ClientSettings, client_factory_for
from webapp.config import DEFAULTS, from_environment
from webapp.connection import ConnectionResult, check_credentials
from webapp.freshchat.client import FreshchatClient, RateLimited, Timeout
from webapp.freshchat.retry_after import MAX_RETRY_AFTER_SECONDS, retry_after_seconds
from webapp.models import Integration
from webapp.security import SecretBox

NOW = 1_800_000_000.0  # a fixed "now" (Unix seconds) for the parser
CONFIG_URL = "https://acme.freshchat.com/v2/accounts/configuration"

# --------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("retry_after", "reset", "expected"),
    [
        ("7", None, 7.0),
        ("2.5", None, 2.5),
        (" 30 ", None, 30.0),
        ("0", None, 0.0),
        ("inf", None, None),
        ("Infinity", None, None),
        ("1e400", None, None),
        ("nan", None, None),
        ("-5", None, None),
        ("-inf", None, None),
        ("0x10", None, None),
        ("", None, None),
        ("soon", None, None),
        ("99999999999999999999999", None, MAX_RETRY_AFTER_SECONDS),
        # HTTP dates: in the future, in the past (clamped to 0), absurd (ignored).
        (format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True), None, 90.0),
        (format_datetime(datetime.fromtimestamp(NOW - 3600, UTC), usegmt=True), None, 0.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None, MAX_RETRY_AFTER_SECONDS),
        ("Mon, 99 Foo 0000 99:99:99 GMT", None, None),
        # X-RateLimit-Reset (Unix seconds, or milliseconds) when Retry-After says nothing.
        (None, str(int(NOW + 40)), 40.0),
        (None, str(int((NOW + 40) * 1000)), 40.0),
        (None, str(int(NOW - 40)), 0.0),
        (None, "inf", None),
        (None, "1e400", None),
        (None, "nan", None),
        (None, "-1", 0.0),
        ("inf", str(int(NOW + 40)), 40.0),  # an unusable Retry-After falls back to the reset
    ],
)
def test_retry_after_values_are_read_safely(retry_after, reset, expected):
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if reset is not None:
        headers["X-RateLimit-Reset"] = reset
    assert retry_after_seconds(headers, NOW) == expected


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-3", "Infinity"])
def test_a_429_with_an_absurd_retry_after_fails_in_plain_words(value):
    waits: list[float] = []
    client = FreshchatClient("acme.freshchat.com", "k", max_retries=2, sleep=waits.append)
    with responses.RequestsMock() as rsps:
        rsps.get(CONFIG_URL, status=429, headers={"Retry-After": value})
        with pytest.raises(RateLimited) as caught:
            client.get_configuration()
    assert "limiting requests" in str(caught.value)
    assert len(waits) == 2  # ignored: the client backed off on its own instead
    assert all(0 <= wait <= client.max_wait for wait in waits)


# --------------------------------------------------------------------------- credential check

STATUSES = (200, 201, 204, 301, 302, 400, 401, 403, 404, 405, 409, 410, 418, 429, 500, 503, 599)
BODIES = (
    b"",
    b"null",
    b"[]",
    b"{}",
    b'"text"',
    b"12",
    b"<html><body>portal</body></html>",
    b"\xff\xfe\x00garbage",
    b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to break a recursive parser
    b'{"message": 5, "status": ["x"]}',
    b'{"plan_type": {"nested": true}, "bundle_type": null}',
    b'{"message": "' + b"x" * 5000 + b'"}',
)
HEADERS = (
    {},
    {"Retry-After": "inf"},
    {"Retry-After": "1e400"},
    {"Retry-After": "nan"},
    {"Retry-After": "-1"},
    {"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"},
    {"X-RateLimit-Reset": "inf"},
    {"Location": "http://[bad"},
    {"Content-Type": "application/json; charset=nonsense"},
)


def test_the_credential_check_gives_a_verdict_for_any_freshchat_answer():
    checked = 0
    for status, body, headers in itertools.product(STATUSES, BODIES, HEADERS):
        with responses.RequestsMock() as rsps:
            rsps.get(CONFIG_URL, status=status, body=body, headers=headers)
            result = check_credentials(
                "acme.freshchat.com",
                "key-1234",
                ClientSettings(api_url_template="https://{domain}/v2", read_timeout=5.0),
            )
        assert isinstance(result, ConnectionResult), (status, body[:20], headers)
        assert result.message and "key-1234" not in result.message
        if status >= 300:
            assert not result.ok, (status, body[:20], headers)
        checked += 1
    assert checked == len(STATUSES) * len(BODIES) * len(HEADERS)


def test_test_connection_answers_with_a_message_when_retry_after_is_infinite(admin_client):
    data = {
        "name": "Support chats",
        "domain": "acme.freshchat.com",
        "api_key": "key-1234",
        "sync_every_minutes": "15",
        "backfill_days": "30",
        "display_timezone": "UTC",
    }
    with responses.RequestsMock() as rsps:
        rsps.get(CONFIG_URL, status=429, headers={"Retry-After": "inf"})
        tested = admin_client.post("/integrations/test-connection", data, htmx=True)
        rsps.get(CONFIG_URL, status=429, headers={"Retry-After": "1e400"})
        saved = admin_client.post("/integrations/new/freshchat", data)
    assert tested.status_code == 200
    assert "limiting requests" in tested.get_data(as_text=True)
    assert saved.status_code == 422  # the form again, with the reason; nothing saved
    assert "limiting requests" in saved.get_data(as_text=True)


# --------------------------------------------------------------------------- download deadline


class _Drip(http.server.BaseHTTPRequestHandler):
    """Announces a file of 200 bytes, then sends one byte every 20 ms (4 s in all)."""

    stop = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", "200")
        self.end_headers()
        for _ in range(200):
            if self.stop.wait(0.02):  # the drip's pace (a server behaviour, not a sync)
                return
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def drip_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/file.zip"
    _Drip.stop.set()
    server.shutdown()
    server.server_close()
    _Drip.stop.clear()


def test_a_trickling_download_ends_at_its_overall_deadline(drip_url):
    client = FreshchatClient(
        "acme.freshchat.com",
        "k",
        timeout=(2.0, 2.0),  # each byte comes well within the read timeout
        download_deadline=0.5,
        max_retries=3,
        sleep=lambda s: None,
    )
    with pytest.raises(Timeout) as caught:
        client.download(drip_url)
    assert "0.5 seconds" in str(caught.value) or "1 seconds" in str(caught.value)
    assert "next sync" in str(caught.value)
    assert client.calls == 1  # not retried: a retry would trickle just the same


def test_the_download_deadline_comes_from_the_settings(database):
    assert DEFAULTS["FRESHCHAT_DOWNLOAD_DEADLINE_SECONDS"] == 900.0
    assert from_environment({"FRESHCHAT_DOWNLOAD_DEADLINE_SECONDS": "42"}) == {
        "FRESHCHAT_DOWNLOAD_DEADLINE_SECONDS": 42.0
    }
    box = SecretBox(Fernet.generate_key().decode())
    integration = Integration(domain="acme.freshchat.com", api_key_encrypted=box.encrypt("k"))
    config = {**DEFAULTS, "FRESHCHAT_DOWNLOAD_DEADLINE_SECONDS": 42.0}
    assert client_factory_for(config, box)(integration).download_deadline == 42.0
    assert timedelta(seconds=DEFAULTS["FRESHCHAT_DOWNLOAD_DEADLINE_SECONDS"]) < timedelta(
        minutes=20
    )  # shorter than the sync lease, so a stuck download cannot outlive it
