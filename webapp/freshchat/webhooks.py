"""Freshchat's native webhooks: public key, signature, and translation into event envelopes.

Freshchat's admin can POST ``message_create``, ``conversation_assignment``,
``conversation_resolution`` and ``conversation_reopen`` to a URL, signed in
``X-Freshchat-Signature``: base64 of RSA-SHA256 (PKCS#1 v1.5) over the raw body bytes,
checked with the public key Freshchat shows in its webhook settings (FRESHCHAT_API.md).
This module is pure (no Flask, no database): the endpoint verifies the exact bytes it
received **before** decoding them, then translates the payload here.

Translation produces the companion-app envelope that says the same thing, so that both
real-time paths are stored, deduplicated, looked up and applied by the same code (and the
pull agrees with both). Only fields counting needs survive: no message text, no names.

Choices where FRESHCHAT_API.md is silent (each tested; change here when a real account
says otherwise):

* The conversation sits under ``data.<kind>.conversation`` (``assignment``, ``resolve``,
  ``reopen``); a bare ``data.conversation`` is accepted too.
* ``message_create`` is the only sign of a new chat (there is no creation webhook): its
  ``created_time`` stands for the chat's arrival; merging keeps the earliest one seen.
* An assignment's group is ``conversation.assigned_group_id`` when that key is present,
  else ``to_group_id`` when that key is present (empty or null: unassigned from any
  group); with neither it says nothing about the group.
* A resolution or reopen is dated by ``action_time``; a resolution carries the group the
  conversation reports, or none (then the group is looked up, as for pushed events).
* Deduplication key: (action, action_time, conversation id): there is no event id, and a
  redelivery (``X-Retry-Count``) repeats these three.
* Unknown actions are accepted and ignored (200), so that Freshchat does not retry them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from webapp.refusals import N_, Refusal

SIGNATURE_HEADER = "X-Freshchat-Signature"
RETRY_HEADER = "X-Retry-Count"
MIN_KEY_BITS = 1024  # Freshchat's size is not published; refuse only what is plainly weak
PEM_MAX = 16_000

MESSAGE_CREATE = "message_create"
ASSIGNMENT = "conversation_assignment"
RESOLUTION = "conversation_resolution"
REOPEN = "conversation_reopen"
KNOWN_ACTIONS = (MESSAGE_CREATE, ASSIGNMENT, RESOLUTION, REOPEN)
_HOLDER = {ASSIGNMENT: "assignment", RESOLUTION: "resolve", REOPEN: "reopen"}
EVENT_PREFIX = "webhook."  # InboundEvent.event_name of webhook events, e.g. webhook.message_create

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.S)


class WebhookKeyError(Refusal):
    """The pasted public key cannot be used; the message says why, for the admin."""


class SignatureRefused(ValueError):
    """The signature is missing, malformed or does not match (HTTP 401)."""


class PayloadRefused(ValueError):
    """The body is not a webhook this server can read (HTTP 400)."""


# --------------------------------------------------------------------------- the key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """Read an RSA public key as Freshchat shows it: PEM (SubjectPublicKeyInfo or PKCS#1),
    or the base64 body alone (copied without its BEGIN/END lines)."""
    value = (text or "").strip()
    if not value:
        raise WebhookKeyError(N_("Paste the public key shown in Freshchat's webhook settings."))
    if len(value) > PEM_MAX:
        raise WebhookKeyError(N_("That is far longer than a public key."))
    if "PRIVATE KEY" in value:
        raise WebhookKeyError(
            N_("That is a private key: paste the public key Freshchat shows, never a private one.")
        )
    block = _PEM_BLOCK.search(value)
    if block is not None:
        pem = block.group(0)
    else:
        body = "".join(value.split())
        if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", body):
            raise WebhookKeyError(
                N_(
                    "This is not a public key: expected text starting with "
                    "-----BEGIN PUBLIC KEY----- (or its base64 body)."
                )
            )
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        pem = f"-----BEGIN PUBLIC KEY-----\n{lines}\n-----END PUBLIC KEY-----"
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        raise WebhookKeyError(
            N_(
                "The key could not be read: copy the whole public key from Freshchat, "
                "including the BEGIN and END lines."
            )
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookKeyError(N_("Freshchat signs with RSA; this is another kind of key."))
    if key.key_size < MIN_KEY_BITS:
        raise WebhookKeyError(N_("This RSA key has only %(bits)d bits."), bits=key.key_size)
    return key


def normalised_pem(text: str) -> str:
    """The key as canonical SubjectPublicKeyInfo PEM, the form stored."""
    key = load_public_key(text)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def fingerprint(pem: str) -> str:
    """Short SHA-256 of the key, shown so the admin can tell which key is stored."""
    der = load_public_key(pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 16, 2))


# --------------------------------------------------------------------------- the signature


def verify_signature(key: rsa.RSAPublicKey, raw_body: bytes, header: str | None) -> None:
    """Check ``X-Freshchat-Signature`` over the exact bytes received; raise if it fails."""
    if header is None or not header.strip():
        raise SignatureRefused(f"missing {SIGNATURE_HEADER} header")
    try:
        signature = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused(f"{SIGNATURE_HEADER} is not base64") from None
    try:
        key.verify(signature, raw_body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureRefused(
            "signature does not match the body (wrong key or altered body)"
        ) from None


# --------------------------------------------------------------------------- translation


@dataclass(frozen=True, slots=True)
class Translated:
    """A webhook as the companion-app envelope that says the same, plus its identity."""

    action: str
    conversation_id: str | None
    dedup_key: str
    event_name: str
    envelope: dict[str, Any] | None  # None: an action that tells counting nothing


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _conversation(action: str, data: dict[str, Any]) -> dict[str, Any]:
    holder = _dict(data.get(_HOLDER.get(action, "")))
    return _dict(holder.get("conversation")) or _dict(data.get("conversation"))


def _group_of(conversation: dict[str, Any]) -> dict[str, Any]:
    if "assigned_group_id" in conversation:
        return {"assigned_group_id": conversation["assigned_group_id"] or None}
    return {}


def decode(raw_body: bytes) -> dict[str, Any]:
    """The JSON object of a verified body; ``PayloadRefused`` for anything else."""
    try:
        payload = json.loads(raw_body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PayloadRefused(f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadRefused("the body must be a JSON object")
    return payload


def translate(payload: dict[str, Any]) -> Translated:
    """Webhook payload → companion-app envelope; ``PayloadRefused`` names the bad field."""
    action = payload.get("action")
    if not isinstance(action, str) or not action.strip():
        raise PayloadRefused("action: required (a string)")
    action = action.strip().lower()
    action_time = _text(payload.get("action_time"))
    if action_time is None:
        raise PayloadRefused("action_time: required (an ISO 8601 time)")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise PayloadRefused("data: required (an object)")

    if action == MESSAGE_CREATE:
        message = _dict(data.get("message"))
        conversation_id = _text(message.get("conversation_id"))
        if conversation_id is None:
            raise PayloadRefused("data.message.conversation_id: required")
        created = _text(message.get("created_time")) or action_time
        envelope: dict[str, Any] | None = {
            "event": "onMessageCreate",
            "timestamp": action_time,
            "data": {"message": {"conversation_id": conversation_id, "created_time": created}},
        }
    elif action in _HOLDER:
        conversation = _conversation(action, data)
        where = f"data.{_HOLDER[action]}.conversation"
        if not conversation:
            raise PayloadRefused(f"{where}: required (an object)")
        conversation_id = _text(conversation.get("conversation_id"))
        if conversation_id is None:
            raise PayloadRefused(f"{where}.conversation_id: required")
        envelope = _update_envelope(action, action_time, conversation_id, conversation, data)
    else:
        conversation_id = None
        envelope = None
    identity = json.dumps([action, action_time, conversation_id], ensure_ascii=False)
    return Translated(
        action=action,
        conversation_id=conversation_id,
        dedup_key=hashlib.sha256(f"webhook:{identity}".encode()).hexdigest(),
        event_name=f"{EVENT_PREFIX}{action}"[:64],
        envelope=envelope,
    )


def _update_envelope(
    action: str,
    action_time: str,
    conversation_id: str,
    conversation: dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    fields: dict[str, Any] = {"conversation_id": conversation_id}
    changes: dict[str, Any] = {}
    status = _text(conversation.get("status"))
    if action == ASSIGNMENT:
        assignment = _dict(data.get("assignment"))
        fields.update(_group_of(conversation))
        if "assigned_group_id" not in fields and "to_group_id" in assignment:
            fields["assigned_group_id"] = _text(assignment["to_group_id"])
        if "assigned_group_id" in fields:
            from_group = _text(assignment.get("from_group_id"))
            changes["assigned_group_id"] = [from_group, fields["assigned_group_id"]]
        if status is not None:
            fields["status"] = status
    elif action == RESOLUTION:
        fields.update(_group_of(conversation))
        fields.update(status="resolved", resolved_time=action_time)
        changes["status"] = [None, "resolved"]
    else:  # REOPEN
        fields.update(_group_of(conversation))
        # The pair says "reopened" in the words events.py reads, whatever custom status
        # the conversation shows now.
        reopened_status = status if status and status.lower() != "resolved" else "new"
        fields.update(status=reopened_status, reopened_time=action_time)
        changes["status"] = ["resolved", "new"]
    envelope_data: dict[str, Any] = {"conversation": fields}
    if changes:
        envelope_data["changes"] = {"model_changes": changes}
    return {"event": "onConversationUpdate", "timestamp": action_time, "data": envelope_data}
