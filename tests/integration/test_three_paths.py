"""Pull, companion-app push and native webhooks agree, with each other and with the oracle.

The same simulated history arrives through the three doors: Extract reports (pull),
companion-app envelopes through ``/api/v1/freshchat/events`` (push), and signed webhooks
through ``/api/v1/freshchat/webhooks/<token>`` (signed here with a key pair made for the
test). The reference is the simulator's ``expected_contacts`` oracle.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.integration import test_push_pull as push_pull
from webapp import chats, webhook_intake
from webapp.extensions import db
from webapp.freshchat.sim_webhooks import CUSTOMER_TEXT, webhook_payloads
from webapp.freshchat.simulator import DELETED, SPAM
from webapp.models import Chat, InboundEvent, Integration
from webapp.sync_jobs import apply_waiting_for_app

# The push/pull agreement module's simulator, app and helpers, shared as they are.
app = push_pull.app
server = push_pull.server
envelopes = push_pull.envelopes
NOW, START = push_pull.NOW, push_pull.START
contacts, new_integration, pull = push_pull.contacts, push_pull.new_integration, push_pull.pull
pending_events, send, shuffled = push_pull.pending_events, push_pull.send, push_pull.shuffled


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def webhooks(server) -> list[dict]:
    found = webhook_payloads(server.account, START, NOW + timedelta(milliseconds=1))
    actions = {payload["action"] for payload in found}
    assert actions == {
        "message_create",
        "conversation_assignment",
        "conversation_resolution",
        "conversation_reopen",
    }
    return found


def webhook_url(app, integration_id: int, key: rsa.RSAPrivateKey) -> str:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with db.connection_context():
        endpoint = webhook_intake.configure(Integration.get_by_id(integration_id), pem.decode())
    return f"/api/v1/freshchat/webhooks/{endpoint.token}"


def deliver(app, url: str, key: rsa.RSAPrivateKey, payloads: list[dict]) -> None:
    client = app.test_client()
    for payload in payloads:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        signature = base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256()))
        response = client.post(
            url,
            data=body,
            content_type="application/json",
            headers={"X-Freshchat-Signature": signature.decode()},
        )
        assert response.status_code == 200, response.get_data(as_text=True)


def apply_waiting(app) -> None:
    with app.app_context(), db.connection_context():
        apply_waiting_for_app(app)


def test_webhooks_then_pull_match_the_oracle(app, server, webhooks, signing_key):
    integration_id, _key = new_integration(app, server.account, "Webhooks then pull")
    url = webhook_url(app, integration_id, signing_key)
    deliver(app, url, signing_key, shuffled(webhooks, seed=4))
    with db.connection_context():
        bodies = [event.body for event in InboundEvent.select()]
    assert bodies and not any(CUSTOMER_TEXT[:10] in body for body in bodies)
    pull(app, integration_id)
    assert pending_events(integration_id) == 0
    assert contacts(integration_id) == server.account.expected_contacts(START, NOW)


def test_all_three_interleaved_with_redeliveries_match_the_oracle(
    app, server, envelopes, webhooks, signing_key
):
    integration_id, key = new_integration(app, server.account, "All three")
    url = webhook_url(app, integration_id, signing_key)
    half = len(webhooks) // 2
    deliver(app, url, signing_key, webhooks[half:])
    send(app, key, shuffled(envelopes, seed=5)[: len(envelopes) // 2])
    pull(app, integration_id)
    deliver(app, url, signing_key, shuffled(webhooks[: half + 40], seed=6))  # some again
    send(app, key, envelopes)
    apply_waiting(app)
    assert pending_events(integration_id) == 0
    assert contacts(integration_id) == server.account.expected_contacts(START, NOW)


def test_each_path_alone_gives_each_chat_the_same_contact(
    app, server, envelopes, webhooks, signing_key
):
    """Chat by chat, for every chat whose end the real-time paths can see.

    Neither real-time path hears of spam or deletions (no event says so), so those chats
    are left out; the pull alone is the oracle for them (first test).
    """
    account = server.account
    pulled_id, _ = new_integration(app, account, "Pulled")
    pushed_id, key = new_integration(app, account, "Pushed")
    hooked_id, _ = new_integration(app, account, "Hooked")
    pull(app, pulled_id)
    with db.connection_context():
        for integration_id in (pushed_id, hooked_id):
            chats.refresh_groups(integration_id, [g.as_json() for g in account.live_groups])
    send(app, key, envelopes)
    deliver(app, webhook_url(app, hooked_id, signing_key), signing_key, webhooks)
    apply_waiting(app)
    unseen = {
        chat.conversation_id
        for chat in account.iter_chats(START, NOW)
        if any(event.kind in (SPAM, DELETED) for event in chat.timeline(until=NOW))
    }

    def made(integration_id: int) -> dict[str, tuple]:
        with db.connection_context():
            query = Chat.select().where(Chat.integration == integration_id)
            return {
                chat.conversation_id: (chat.queue_key, chat.interval_start)
                for chat in query
                if chat.conversation_id not in unseen
            }

    pulled, pushed, hooked = made(pulled_id), made(pushed_id), made(hooked_id)
    assert len(pulled) > 100
    assert pushed == pulled
    assert hooked == pulled
