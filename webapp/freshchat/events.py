"""Companion-app (marketplace) event envelopes → ``ChatChange`` records.

What an envelope may hold, what is kept of it and how it is validated lives in
``envelope_shape``; this module only translates a (trimmed, valid) envelope.

Choices made where FRESHCHAT_API.md is silent:

* ``conversation_id`` must be a non-empty string; a group id may be a string or a number
  (numbers are kept as their decimal text).
* On an update, the group comes from ``conversation.assigned_group_id`` when that key is
  present (null = "no group"), else from ``model_changes.assigned_group_id``'s new value,
  else from ``associations.group``; otherwise the change says nothing about the group.
* A reopen is ``status`` leaving ``resolved`` for any other status (``new``, ``assigned``,
  custom ones such as "waiting on customer"); ``["assigned", "new"]`` is not one.
* An update on a conversation whose status is already ``resolved`` and which carries a
  ``resolved_time`` reports that resolution too, even without a status transition: it is a
  fact Freshchat states, and merging it twice is harmless.
* On the update that moves a chat to ``resolved``, the group it reports is dated at
  ``resolved_time`` when that is earlier than the envelope's ``timestamp``: it is the group
  the chat had when resolved, which is what decides its queue. Later updates of a resolved
  chat keep their own time (the chat may have moved since).
* A ``deleted`` status or an ``is_deleted`` flag marks the chat deleted, like spam.
* ``onMessageCreate`` only places the chat in time (its conversation's ``created_time``):
  a message says nothing about resolution or group.
* Whether a chat needs its group looked up is counting's answer
  (``webapp.counting.group_unknown``), not decided here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.freshchat.envelope_shape import (
    ON_CREATE,
    ON_MESSAGE,
    ON_UPDATE,
    as_dict,
    change_pair,
    conversation_part,
    event_key,
    group_id_text,
    lower_text,
    parse_time,
    truthy,
    validate_envelope,
)

# --------------------------------------------------------------------------- translation


def envelope_to_changes(envelope: dict[str, Any]) -> list[ChatChange]:
    """What one envelope tells us, as changes; unknown events tell nothing.

    Raises ``ValueError`` (listing the problems) for an envelope ``validate_envelope``
    rejects, so a caller that skipped validation cannot store half-understood facts.
    """
    problems = validate_envelope(envelope)
    if problems:
        raise ValueError("; ".join(problems))
    event = event_key(envelope)
    data = as_dict(envelope.get("data"))
    conversation = as_dict(data.get("conversation"))
    if event == ON_CREATE:
        return [_created(envelope, data, conversation)]
    if event == ON_UPDATE:
        return [_updated(envelope, data, conversation)]
    if event == ON_MESSAGE:
        return _message(envelope)
    return []


def _association_group(data: dict[str, Any]) -> tuple[str | None, str | None] | None:
    group = as_dict(as_dict(data.get("associations")).get("group"))
    group_id = group_id_text(group.get("id"))
    if group_id is None:
        return None
    name = group.get("name")
    return group_id, name if isinstance(name, str) and name.strip() else None


def _flags(conversation: dict[str, Any], status: object) -> tuple[bool, bool]:
    spam = lower_text(status) == "spam" or truthy(conversation.get("is_spam"))
    deleted = lower_text(status) == "deleted" or truthy(conversation.get("is_deleted"))
    return spam, deleted


def _created(
    envelope: dict[str, Any], data: dict[str, Any], conversation: dict[str, Any]
) -> ChatChange:
    timestamp = parse_time(envelope.get("timestamp"))
    created = parse_time(conversation.get("created_time"))
    at = created or timestamp
    if at is None:  # validation guarantees a timestamp; kept for type checkers
        raise ValueError("timestamp: required")
    if "assigned_group_id" in conversation:
        group_id = group_id_text(conversation["assigned_group_id"])
    else:
        association = _association_group(data)
        group_id = association[0] if association else None
    status = conversation.get("status")
    spam, deleted = _flags(conversation, status)
    return ChatChange(
        conversation["conversation_id"].strip(),
        at,
        created_time=created,
        status=status if isinstance(status, str) else None,
        group_id=group_id,
        spam=spam,
        deleted=deleted,
    )


def _updated(
    envelope: dict[str, Any], data: dict[str, Any], conversation: dict[str, Any]
) -> ChatChange:
    at = parse_time(envelope.get("timestamp"))
    if at is None:
        raise ValueError("timestamp: required")
    model_changes = as_dict(as_dict(data.get("changes")).get("model_changes"))
    status_pair = change_pair(model_changes, "status")
    old_status, new_status = status_pair if status_pair else (None, None)
    status = conversation.get("status")
    if not isinstance(status, str):
        status = new_status if isinstance(new_status, str) else None

    conversation_resolved = parse_time(conversation.get("resolved_time"))
    resolved_time = None
    if lower_text(new_status) == "resolved":
        resolved_time = conversation_resolved or at
    elif lower_text(status) == "resolved" and conversation_resolved is not None:
        resolved_time = conversation_resolved
    group_id: str | None = NO_GROUP_INFO
    group_pair = change_pair(model_changes, "assigned_group_id")
    if "assigned_group_id" in conversation:
        group_id = group_id_text(conversation["assigned_group_id"])
    elif group_pair is not None:
        group_id = group_id_text(group_pair[1])
    elif (association := _association_group(data)) is not None:
        group_id = association[0]

    # The group an update reports is the chat's group at ``at``; when the update is the
    # resolution itself, it is also the group at ``resolved_time``, which can be a little
    # earlier. Only the transition says so: a chat moved after its resolution reports a
    # group it did not have when resolved.
    group_time = None
    if (
        group_id != NO_GROUP_INFO
        and resolved_time is not None
        and resolved_time < at
        and lower_text(new_status) == "resolved"
        and lower_text(old_status) != "resolved"
    ):
        group_time = resolved_time

    spam, deleted = _flags(conversation, status)
    return ChatChange(
        conversation["conversation_id"].strip(),
        at,
        created_time=parse_time(conversation.get("created_time")),
        resolved_time=resolved_time,
        status=status,
        group_id=group_id,
        spam=spam,
        deleted=deleted,
        group_time=group_time,
    )


def _message(envelope: dict[str, Any]) -> list[ChatChange]:
    # A message may be the first sign of a chat, and its conversation's created_time is
    # what places the contact in time.
    conversation = as_dict(conversation_part(envelope)[1])
    created = parse_time(conversation.get("created_time"))
    conversation_id = conversation.get("conversation_id")
    if created is None or not isinstance(conversation_id, str) or not conversation_id.strip():
        return []
    return [ChatChange(conversation_id.strip(), created, created_time=created)]


# --------------------------------------------------------------------------- small queries


def group_name_from(envelope: dict[str, Any]) -> tuple[str, str] | None:
    """(group id, name) that the event reveals, so queue names stay current between pulls."""
    association = _association_group(as_dict(envelope.get("data")))
    if association is None or association[0] is None or association[1] is None:
        return None
    return association[0], association[1]


def dedup_key(envelope: dict[str, Any]) -> str:
    """A stable id for an envelope: the marketplace sends no event id, and a re-delivery
    is byte-for-byte the same event, so equal content means the same event."""
    canonical = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # validate_envelope refuses lone surrogates; "surrogatepass" only keeps a caller that
    # skipped it from crashing, and leaves the key of every valid envelope unchanged.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
