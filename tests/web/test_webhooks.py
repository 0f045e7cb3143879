"""Native Freshchat webhooks: key set-up, signature over raw bytes, refusals, dedupe."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.conftest import add_integration
from webapp import chats, webhook_intake
from webapp.extensions import db
from webapp.models import Chat, InboundEvent, Integration, RefusedRequest, WebhookEndpoint

CONVERSATION = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
GROUP = "7f0e1d2c-3b4a-4c5d-8e9f-a0b1c2d3e4f5"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def message_create(cid=CONVERSATION, at="2026-11-20T09:00:00.123Z", text="Hello") -> dict:
    return {
        "actor": {"actor_type": "user", "actor_id": "u-1"},
        "action": "message_create",
        "action_time": at,
        "data": {
            "message": {
                "message_parts": [{"text": {"content": text}}],
                "conversation_id": cid,
                "created_time": at,
                "actor_type": "user",
                "id": "m-1",
            }
        },
    }


def resolution(cid=CONVERSATION, at="2026-11-20T10:00:00.000Z", group=GROUP) -> dict:
    conversation = {"conversation_id": cid, "status": "resolved", "app_id": "a-1"}
    if group is not None:
        conversation["assigned_group_id"] = group
    return {
        "actor": {"actor_type": "agent", "actor_id": "ag-1"},
        "action": "conversation_resolution",
        "action_time": at,
        "data": {"resolve": {"resolver": "agent", "conversation": conversation}},
    }


@pytest.fixture
def setup(app, private_key):
    integration_id = add_integration(app, "Support chats", "acme.freshchat.com", "k")
    with app.app_context(), db.connection_context():
        integration = Integration.get_by_id(integration_id)
        endpoint = webhook_intake.configure(integration, public_pem(private_key))
        chats.refresh_groups(integration_id, [{"id": GROUP, "name": "Customer Support"}])
    return integration_id, f"/api/v1/freshchat/webhooks/{endpoint.token}"


def post(client, url, body: bytes, signature: str | None, **headers):
    if signature is not None:
        headers["X-Freshchat-Signature"] = signature
    return client.post(url, data=body, headers=headers, content_type="application/json")


def test_signed_deliveries_are_stored_and_counted(app, client, setup, private_key):
    integration_id, url = setup
    for payload in (message_create(), resolution()):
        body = json.dumps(payload).encode()
        response = post(client, url, body, sign(private_key, body))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["stored"] == 1
    with db.connection_context():
        chat = Chat.get(Chat.integration == integration_id)
        assert chat.conversation_id == CONVERSATION
        assert chat.queue_key == GROUP
        assert str(chat.interval_start) == "2026-11-20 09:00:00"
        names = sorted(e.event_name for e in InboundEvent.select())
        assert names == ["webhook.conversation_resolution", "webhook.message_create"]
        # Only what counting needs is stored: no message text, no actor.
        assert all("Hello" not in e.body and "actor" not in e.body for e in InboundEvent.select())


def test_signature_is_checked_over_the_raw_non_ascii_bytes(app, client, setup, private_key):
    _integration_id, url = setup
    body = json.dumps(
        message_create(text="Ça ne marche pas — 請幫忙 😟"), ensure_ascii=False
    ).encode()
    assert body != body.decode("utf-8").encode("ascii", "backslashreplace")
    good = sign(private_key, body)
    assert post(client, url, body, good).status_code == 200
    # The same JSON re-encoded with \\u escapes parses to the same object but is other bytes.
    reencoded = json.dumps(json.loads(body), ensure_ascii=True).encode()
    refused = post(client, url, reencoded, good)
    assert refused.status_code == 401
    assert "does not match" in refused.json["error"]
    with db.connection_context():
        assert InboundEvent.select().count() == 1


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing X-Freshchat-Signature"),
        ("", "missing X-Freshchat-Signature"),
        ("not base64!!", "not base64"),
        (base64.b64encode(b"\x00" * 256).decode(), "does not match"),
    ],
)
def test_bad_signatures_are_refused_with_401_and_counted(app, client, setup, signature, reason):
    integration_id, url = setup
    body = json.dumps(message_create()).encode()
    response = post(client, url, body, signature)
    assert response.status_code == 401
    assert reason in response.json["error"]
    with db.connection_context():
        assert InboundEvent.select().count() == 0
        refusal = RefusedRequest.get()
        assert (refusal.integration_id, refusal.status_code) == (integration_id, 401)
        assert refusal.reason.startswith("webhook: ")


def test_another_key_pair_is_refused(app, client, setup):
    _integration_id, url = setup
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = json.dumps(message_create()).encode()
    assert post(client, url, body, sign(other, body)).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"action_time": "2026-11-20T09:00:00Z", "data": {}}).encode(), "action"),
        (json.dumps({"action": "message_create", "data": {}}).encode(), "action_time"),
        (
            json.dumps(
                {"action": "message_create", "action_time": "x", "data": {"message": {}}}
            ).encode(),
            "data.message.conversation_id",
        ),
        (
            json.dumps(
                {
                    "action": "conversation_resolution",
                    "action_time": "2026-11-20T09:00:00Z",
                    "data": {},
                }
            ).encode(),
            "data.resolve.conversation",
        ),
        (json.dumps(message_create(at="yesterday")).encode(), "timestamp"),
    ],
)
def test_signed_but_unreadable_bodies_get_400(app, client, setup, private_key, body, message):
    _integration_id, url = setup
    response = post(client, url, body, sign(private_key, body))
    assert response.status_code == 400
    assert message in response.json["error"]
    with db.connection_context():
        assert InboundEvent.select().count() == 0
        assert RefusedRequest.get().reason.startswith("webhook: bad webhook")


def test_oversized_bodies_get_413_before_anything_else(app, client, setup, private_key):
    app.config["PUSH_MAX_BODY_BYTES"] = 200
    _integration_id, url = setup
    body = json.dumps(message_create(text="x" * 500)).encode()
    response = post(client, url, body, sign(private_key, body))
    assert response.status_code == 413
    with db.connection_context():
        assert RefusedRequest.get().status_code == 413


def test_unknown_token_is_404_and_a_deleted_integration_stops_receiving(
    app, client, setup, private_key
):
    integration_id, url = setup
    body = json.dumps(message_create()).encode()
    assert post(client, url + "x", body, sign(private_key, body)).status_code == 404
    with db.connection_context():
        Integration.update(deleted_at=Integration.created_at).where(
            Integration.id == integration_id
        ).execute()
    assert post(client, url, body, sign(private_key, body)).status_code == 404


def test_redeliveries_are_recognised(app, client, setup, private_key):
    integration_id, url = setup
    first = json.dumps(resolution()).encode()
    assert post(client, url, first, sign(private_key, first)).json["stored"] == 1
    # A redelivery: same action, time and conversation, other bytes and a retry count.
    again = resolution()
    again["actor"]["actor_id"] = "ag-2"
    again_body = json.dumps(again, indent=1).encode()
    answer = post(client, url, again_body, sign(private_key, again_body), **{"X-Retry-Count": "1"})
    assert answer.status_code == 200
    assert (answer.json["stored"], answer.json["duplicates"]) == (0, 1)
    later = json.dumps(resolution(at="2026-11-20T11:00:00.000Z")).encode()
    assert post(client, url, later, sign(private_key, later)).json["stored"] == 1
    with db.connection_context():
        assert InboundEvent.select().where(InboundEvent.integration == integration_id).count() == 2


def test_unknown_actions_are_acknowledged_and_ignored(app, client, setup, private_key):
    _integration_id, url = setup
    body = json.dumps({"action": "user_create", "action_time": "2026-11-20T09:00:00Z", "data": {}})
    response = post(client, url, body.encode(), sign(private_key, body.encode()))
    assert response.status_code == 200
    assert response.json["ignored"] == "user_create"


def test_no_session_cookie_and_no_csrf_on_the_webhook(app, client, setup, private_key):
    _integration_id, url = setup
    body = json.dumps(message_create()).encode()
    response = post(client, url, body, sign(private_key, body))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


# --------------------------------------------------------------------------- the page


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("id"):
            self.by_id[values["id"]] = values

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Finder:
    finder = _Finder()
    finder.feed(html)
    return finder


def test_page_pastes_a_key_validates_it_and_shows_the_url(app, admin_client, private_key):
    integration_id = add_integration(app, "Support chats", "acme.freshchat.com", "k")
    page_url = f"/integrations/{integration_id}"
    page = parse(admin_client.get(page_url).get_data(as_text=True))
    assert "webhook-public-key" in page.by_id and "webhook-url" not in page.by_id

    checked = admin_client.post(
        f"{page_url}/webhooks/validate", {"public_key": "not a key!"}, htmx=True
    ).get_data(as_text=True)
    assert "This is not a public key" in checked
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_pem = ec_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    checked = admin_client.post(
        f"{page_url}/webhooks/validate", {"public_key": ec_pem}, htmx=True
    ).get_data(as_text=True)
    assert "another kind of key" in checked
    checked = admin_client.post(
        f"{page_url}/webhooks/validate", {"public_key": public_pem(private_key)}, htmx=True
    ).get_data(as_text=True)
    assert "webhook-key-ok" in checked

    refused = admin_client.post(f"{page_url}/webhooks", {"public_key": "nope"}, htmx=True)
    assert refused.status_code == 422
    with db.connection_context():
        assert WebhookEndpoint.select().count() == 0

    # The key body alone (as copied without its BEGIN/END lines) is accepted too.
    bare = "".join(public_pem(private_key).splitlines()[1:-1])
    saved = admin_client.post(f"{page_url}/webhooks", {"public_key": bare}, htmx=True)
    assert saved.status_code == 200
    section = parse(saved.get_data(as_text=True))
    url = section.by_id["webhook-url"]["value"]
    with db.connection_context():
        token = WebhookEndpoint.get().token
    assert url == f"http://localhost/api/v1/freshchat/webhooks/{token}"
    assert len(token) >= 40

    # Replacing the key keeps the URL.
    admin_client.post(f"{page_url}/webhooks", {"public_key": public_pem(private_key)})
    with db.connection_context():
        assert WebhookEndpoint.get().token == token


def test_page_shows_each_path_received_refused_and_last(
    app, admin_client, client, setup, private_key
):
    integration_id, url = setup
    body = json.dumps(message_create()).encode()
    post(client, url, body, sign(private_key, body))
    post(client, url, body, None)
    html = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    rows = {}

    class Rows(HTMLParser):
        current: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "tr" and dict(attrs).get("data-path"):
                self.current = []

        def handle_endtag(self, tag):
            if tag == "tr" and self.current is not None:
                cells = [c.strip() for c in self.current if c.strip()]
                rows[cells[0]] = cells[1:]
                self.current = None

        def handle_data(self, data):
            if self.current is not None:
                self.current.append(data)

    Rows().feed(html)
    assert rows["Companion app"][0] == "0" and rows["Companion app"][1] == "never"
    webhooks_row = rows["Freshchat webhooks"]
    assert webhooks_row[0] == "1" and webhooks_row[1] != "never"
    assert webhooks_row[2] == "1"
    assert "401 missing X-Freshchat-Signature header (\u00d71)" in webhooks_row[3]
