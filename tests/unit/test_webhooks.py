"""Webhook parsing alone: keys, signatures, and the translation each action gets."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from webapp.changes import NO_GROUP_INFO
from webapp.freshchat import webhooks
from webapp.freshchat.events import envelope_to_changes


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey, fmt=serialization.PublicFormat.SubjectPublicKeyInfo) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


def test_keys_in_every_form_freshchat_may_show(key):
    spki = pem(key)
    pkcs1 = pem(key, serialization.PublicFormat.PKCS1)
    assert "BEGIN RSA PUBLIC KEY" in pkcs1
    bare = "".join(spki.splitlines()[1:-1])
    surrounded = f"Your public key:\n\n{spki}\n(copy it)"
    for text in (spki, pkcs1, bare, surrounded, "  " + spki.replace("\n", "\r\n")):
        assert webhooks.normalised_pem(text) == spki
    assert webhooks.fingerprint(pkcs1) == webhooks.fingerprint(spki)
    assert len(webhooks.fingerprint(spki).split(":")) == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Paste the public key"),
        ("ssh-rsa AAAA", "not a public key"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "could not be read"),
        ("x" * 20_000, "far longer"),
    ],
)
def test_unusable_keys_are_refused_with_a_reason(text, message):
    with pytest.raises(webhooks.WebhookKeyError, match=message):
        webhooks.load_public_key(text)


def test_a_private_key_is_refused_and_not_echoed(key):
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(webhooks.WebhookKeyError) as caught:
        webhooks.load_public_key(private)
    assert "private key" in str(caught.value)
    assert private.splitlines()[1] not in str(caught.value)


def test_signature_over_exact_bytes(key):
    public = webhooks.load_public_key(pem(key))
    body = '{"action":"message_create","text":"é"}'.encode()
    signature = base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()
    webhooks.verify_signature(public, body, signature)
    webhooks.verify_signature(public, body, f"  {signature}\n")
    with pytest.raises(webhooks.SignatureRefused, match="does not match"):
        webhooks.verify_signature(public, body + b" ", signature)
    with pytest.raises(webhooks.SignatureRefused, match="missing"):
        webhooks.verify_signature(public, body, None)
    with pytest.raises(webhooks.SignatureRefused, match="not base64"):
        webhooks.verify_signature(public, body, "%%%")


AT = "2026-11-20T10:00:00.250Z"
AT_DT = datetime(2026, 11, 20, 10, 0, 0, 250000)


def payload(action: str, data: dict) -> dict:
    return {"actor": {"actor_type": "agent"}, "action": action, "action_time": AT, "data": data}


def only_change(translated: webhooks.Translated):
    assert translated.envelope is not None
    [change] = envelope_to_changes(json.loads(json.dumps(translated.envelope)))
    return change


def test_message_create_is_a_sign_of_the_chat_and_keeps_no_text():
    translated = webhooks.translate(
        payload(
            "message_create",
            {
                "message": {
                    "conversation_id": "c1",
                    "created_time": "2026-11-20T09:59:00.000Z",
                    "message_parts": [{"text": {"content": "secret words"}}],
                }
            },
        )
    )
    assert "secret" not in json.dumps(translated.envelope)
    assert translated.event_name == "webhook.message_create"
    change = only_change(translated)
    assert change.conversation_id == "c1"
    assert change.created_time == datetime(2026, 11, 20, 9, 59)
    assert not change.says_group


def test_assignment_group_from_conversation_else_to_group():
    from_conversation = webhooks.translate(
        payload(
            "conversation_assignment",
            {
                "assignment": {
                    "from_group_id": "g1",
                    "to_group_id": "g2",
                    "conversation": {"conversation_id": "c1", "assigned_group_id": "g2"},
                }
            },
        )
    )
    assert only_change(from_conversation).group_id == "g2"
    from_assignment = webhooks.translate(
        payload(
            "conversation_assignment",
            {"assignment": {"to_group_id": "g3", "conversation": {"conversation_id": "c1"}}},
        )
    )
    assert only_change(from_assignment).group_id == "g3"
    unassigned = webhooks.translate(
        payload(
            "conversation_assignment",
            {
                "assignment": {
                    "from_group_id": "g3",
                    "to_group_id": "",
                    "conversation": {"conversation_id": "c1"},
                }
            },
        )
    )
    assert only_change(unassigned).group_id is None
    agent_only = webhooks.translate(
        payload(
            "conversation_assignment",
            {"assignment": {"to_agent_id": "a1", "conversation": {"conversation_id": "c1"}}},
        )
    )
    assert only_change(agent_only).group_id == NO_GROUP_INFO


def test_resolution_and_reopen():
    resolved = only_change(
        webhooks.translate(
            payload(
                "conversation_resolution",
                {"resolve": {"conversation": {"conversation_id": "c1", "assigned_group_id": "g1"}}},
            )
        )
    )
    assert (resolved.resolved_time, resolved.group_id, resolved.at) == (AT_DT, "g1", AT_DT)
    no_group = only_change(
        webhooks.translate(
            payload(
                "conversation_resolution", {"resolve": {"conversation": {"conversation_id": "c1"}}}
            )
        )
    )
    assert no_group.resolved_time == AT_DT and not no_group.says_group
    reopened = only_change(
        webhooks.translate(
            payload(
                "conversation_reopen",
                {
                    "reopen": {
                        "conversation": {"conversation_id": "c1", "status": "waiting on customer"}
                    }
                },
            )
        )
    )
    assert reopened.status == "waiting on customer" and reopened.resolved_time is None
    bare = only_change(
        webhooks.translate(
            payload("conversation_reopen", {"conversation": {"conversation_id": "c1"}})
        )
    )
    assert bare.status == "new" and bare.resolved_time is None


def test_dedup_key_is_action_time_and_conversation():
    first = payload(
        "conversation_resolution", {"resolve": {"conversation": {"conversation_id": "c1"}}}
    )
    again = json.loads(json.dumps(first))
    again["actor"] = {"actor_type": "system"}
    again["data"]["resolve"]["resolver"] = "system"
    other_time = json.loads(json.dumps(first))
    other_time["action_time"] = "2026-11-20T10:00:01.000Z"
    other_chat = payload(
        "conversation_resolution", {"resolve": {"conversation": {"conversation_id": "c2"}}}
    )
    keys = [webhooks.translate(p).dedup_key for p in (first, again, other_time, other_chat)]
    assert keys[0] == keys[1]
    assert len(set(keys)) == 3
