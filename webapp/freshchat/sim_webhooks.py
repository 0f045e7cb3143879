"""Freshchat's native webhooks for a simulated account, for tests and benchmarks.

Built from the simulator's companion-app envelopes of the same history, so the three
paths (pull, push, webhooks) describe the very same chats. The shapes follow
``webapp.freshchat.webhooks``' reading of FRESHCHAT_API.md:

* a chat's creation becomes its first ``message_create`` (a customer's message, with
  non-ASCII text, so signatures are exercised over real UTF-8);
* a group change becomes ``conversation_assignment`` (``from_group_id``/``to_group_id``);
* a resolution ``conversation_resolution``, a reopening ``conversation_reopen``, both with
  the conversation as Freshchat shows it then (``assigned_group_id`` absent when none).

Spam and deletions have no webhook: like the push path, this path never learns of them
(the pull does). Like the simulator, this imports nothing from Flask or the app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from webapp.freshchat.simulator import SimAccount

CUSTOMER_TEXT = "Bonjour, ma commande n'est pas arrivée — ¿me ayudan? 請幫忙 ✓"


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _conversation(source: dict[str, Any]) -> dict[str, Any]:
    conversation = {
        "conversation_id": source["conversation_id"],
        "app_id": "sim-app",
        "status": source.get("status"),
        "channel_id": source.get("channel_id"),
    }
    if "assigned_group_id" in source:
        conversation["assigned_group_id"] = source["assigned_group_id"]
    if "assigned_agent_id" in source:
        conversation["assigned_agent_id"] = source["assigned_agent_id"]
    return conversation


def _actor(envelope: dict[str, Any]) -> dict[str, Any]:
    actor = envelope["data"].get("actor") or {}
    return {"actor_type": actor.get("actor_type", "system"), "actor_id": actor.get("actor_id")}


def to_webhook(envelope: dict[str, Any]) -> dict[str, Any] | None:
    """The webhook Freshchat would send for one simulated companion-app envelope."""
    data = envelope["data"]
    source = data["conversation"]
    at = _iso(envelope["timestamp"])
    base = {"actor": _actor(envelope), "action_time": at}
    if envelope["event"] == "onConversationCreate":
        message = {
            "message_parts": [{"text": {"content": CUSTOMER_TEXT}}],
            "app_id": "sim-app",
            "actor_id": "sim-user",
            "id": f"m-{source['conversation_id']}",
            "channel_id": source.get("channel_id"),
            "conversation_id": source["conversation_id"],
            "actor_type": "user",
            "created_time": source["created_time"],
            "message_type": "normal",
        }
        return {**base, "action": "message_create", "data": {"message": message}}
    changes = (data.get("changes") or {}).get("model_changes") or {}
    if "assigned_group_id" in changes:
        before, after = changes["assigned_group_id"]
        assignment = {
            "assignor": "agent",
            "from_group_id": before or "",
            "to_group_id": after or "",
            "conversation": _conversation(source),
        }
        return {**base, "action": "conversation_assignment", "data": {"assignment": assignment}}
    before, after = changes.get("status", [None, None])
    if after == "resolved":
        resolve = {"resolver": "agent", "conversation": _conversation(source)}
        return {**base, "action": "conversation_resolution", "data": {"resolve": resolve}}
    if before == "resolved":
        reopen = {"reopener": "user", "conversation": _conversation(source)}
        return {**base, "action": "conversation_reopen", "data": {"reopen": reopen}}
    return None  # spam: no webhook says so


def webhook_payloads(account: SimAccount, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Webhook payloads for events in [start, end) that exist at the account's clock."""
    found = (to_webhook(envelope) for envelope in account.push_envelopes(start, end))
    return [payload for payload in found if payload is not None]
