"""Companion-app (marketplace) event envelopes → ``ChatChange`` records.

Pushed events are stored before they are processed, so validation only has to decide
whether an envelope can be understood at all; it returns every problem at once, named by
field path, so the companion app's logs tell an admin exactly what was wrong.

Choices made where FRESHCHAT_API.md is silent:

* Event names are compared case-insensitively. Unknown events only need a string
  ``event``; ``data`` and ``timestamp`` are checked only when present, so that new
  Freshchat event kinds are stored (and change nothing) rather than refused.
* ``conversation_id`` must be a non-empty string; a group id may be a string or a number
  (numbers are kept as their decimal text).
* On an update, the group comes from ``conversation.assigned_group_id`` when that key is
  present (null = "no group"), else from ``model_changes.assigned_group_id``'s new value,
  else from ``associations.group``; otherwise the change says nothing about the group.
* An update on a conversation whose status is already ``resolved`` and which carries a
  ``resolved_time`` reports that resolution too, even without a status transition: it is a
  fact Freshchat states, and merging it twice is harmless.
* On the update that moves a chat to ``resolved``, the group it reports is dated at
  ``resolved_time`` when that is earlier than the envelope's ``timestamp``: it is the group
  the chat had when resolved, which is what decides its queue. Later updates of a resolved
  chat keep their own time (the chat may have moved since).
* A ``deleted`` status or an ``is_deleted`` flag marks the chat deleted, like spam.
* Any key or string anywhere in the envelope that is not valid Unicode text (a lone UTF-16
  surrogate, which a ``\\uD800`` escape decodes to) refuses it: the envelope is stored and
  hashed whole, and such text cannot be written as UTF-8.
* ``needs_group_lookup`` is False for spam/deleted chats: their queue is Undefined_Queue
  whatever the group was.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.timeutil import parse_timestamp

ON_CREATE = "onconversationcreate"
ON_UPDATE = "onconversationupdate"
ON_MESSAGE = "onmessagecreate"
_CONVERSATION_EVENTS = frozenset({ON_CREATE, ON_UPDATE})

_TIME_FIELDS = ("created_time", "resolved_time", "reopened_time", "updated_time")
_PAIR_FIELDS = ("status", "assigned_group_id")
# Statuses a conversation moves to when it is reopened; "reopen" is the old webhook word.
_REOPEN_TARGETS = frozenset({"new", "reopened", "reopen", "open", "assigned"})
_TRUTHY = frozenset({"true", "1", "yes", "y"})


# --------------------------------------------------------------------------- helpers


def _parse_time(value: object) -> datetime | None:
    """Epoch milliseconds or ISO text → naive UTC; ``ValueError`` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("not a timestamp")
    try:
        return parse_timestamp(value)
    except (OverflowError, OSError) as exc:
        raise ValueError("not a timestamp") from exc


def _is_time(value: object) -> bool:
    try:
        _parse_time(value)
    except ValueError:
        return False
    return True


def _is_group_id(value: object) -> bool:
    return value is None or (isinstance(value, str | int) and not isinstance(value, bool))


def _group_id(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _TRUTHY


def _event_key(envelope: dict[str, Any]) -> str:
    event = envelope.get("event")
    return event.strip().lower() if isinstance(event, str) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pair(model_changes: dict[str, Any], name: str) -> tuple[object, object] | None:
    value = model_changes.get(name)
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    return None


def _lower(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


# --------------------------------------------------------------------------- validation


def validate_envelope(obj: object) -> list[str]:
    """Every reason the envelope cannot be processed, as ``"field: problem"``; [] if fine."""
    if not isinstance(obj, dict):
        return ["envelope: not a JSON object"]
    return _structure_problems(obj) + _text_problems(obj)


def _structure_problems(obj: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    event = obj.get("event")
    if event is None:
        problems.append("event: required")
    elif not isinstance(event, str) or not event.strip():
        problems.append("event: must be a non-empty string")
    known = _event_key(obj) in _CONVERSATION_EVENTS or _event_key(obj) == ON_MESSAGE

    if obj.get("timestamp") is None:
        if known:
            problems.append("timestamp: required")
    elif not _is_time(obj["timestamp"]):
        problems.append("timestamp: not a timestamp")

    data = obj.get("data")
    if data is None:
        if known:
            problems.append("data: required")
        return problems
    if not isinstance(data, dict):
        problems.append("data: not an object")
        return problems

    needs_conversation = _event_key(obj) in _CONVERSATION_EVENTS
    conversation = data.get("conversation")
    if conversation is None:
        if needs_conversation:
            problems.append("data.conversation: required")
    elif not isinstance(conversation, dict):
        problems.append("data.conversation: not an object")
    else:
        problems.extend(_conversation_problems(conversation, required=needs_conversation))

    problems.extend(_changes_problems(data))
    problems.extend(_associations_problems(data))
    return problems


def _conversation_problems(conversation: dict[str, Any], *, required: bool) -> list[str]:
    problems: list[str] = []
    conversation_id = conversation.get("conversation_id")
    if conversation_id is None:
        if required:
            problems.append("data.conversation.conversation_id: required")
    elif not isinstance(conversation_id, str) or not conversation_id.strip():
        problems.append("data.conversation.conversation_id: must be a non-empty string")
    for name in _TIME_FIELDS:
        if name in conversation and not _is_time(conversation[name]):
            problems.append(f"data.conversation.{name}: not a timestamp")
    status = conversation.get("status")
    if status is not None and not isinstance(status, str):
        problems.append("data.conversation.status: must be a string")
    if not _is_group_id(conversation.get("assigned_group_id")):
        problems.append("data.conversation.assigned_group_id: not a group id")
    return problems


def _changes_problems(data: dict[str, Any]) -> list[str]:
    changes = data.get("changes")
    if changes is None:
        return []
    if not isinstance(changes, dict):
        return ["data.changes: not an object"]
    model_changes = changes.get("model_changes")
    if model_changes is None:
        return []
    if not isinstance(model_changes, dict):
        return ["data.changes.model_changes: not an object"]
    return [
        f"data.changes.model_changes.{name}: expected [old, new]"
        for name in _PAIR_FIELDS
        if name in model_changes and _pair(model_changes, name) is None
    ]


def _associations_problems(data: dict[str, Any]) -> list[str]:
    associations = data.get("associations")
    if associations is None:
        return []
    if not isinstance(associations, dict):
        return ["data.associations: not an object"]
    group = associations.get("group")
    if group is None:
        return []
    if not isinstance(group, dict):
        return ["data.associations.group: not an object"]
    if not _is_group_id(group.get("id")):
        return ["data.associations.group.id: not a group id"]
    return []


def _is_text(value: str) -> bool:
    # JSON's \uXXXX escapes can decode to a lone UTF-16 surrogate, which Python keeps in a
    # str but which no UTF-8 encoder (hashing, SQLite, logs) will write.
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _all_text(obj: object) -> bool:
    """Whether every key and string in the decoded JSON value is encodable text.

    Iterative, because the body may nest as deep as the JSON decoder allows.
    """
    stack = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not _is_text(value):
                return False
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not _is_text(key):
                    return False
                if isinstance(item, str | dict | list):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(item for item in value if isinstance(item, str | dict | list))
    return True


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def _path_step(path: str, key: str) -> str:
    """``path.key``, or ``path["key"]`` (JSON-escaped) when the key is not a plain word.

    The escaped form keeps the path printable (no raw surrogate) and free of ``": "``,
    which callers use to split a problem into field and message.
    """
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    quoted = json.dumps(key).replace(":", "\\u003a")
    return f"{path}[{quoted}]"


def _text_problems(obj: dict[str, Any]) -> list[str]:
    """Every key or string that is not valid Unicode text, by path, in document order.

    The whole envelope is stored and hashed, so every string matters, used or not. The
    walk that builds paths only runs when the quick check has found something.
    """
    if _all_text(obj):
        return []
    problems: list[str] = []
    # (path, value, whether the name leading to it is valid text)
    stack: list[tuple[str, object, bool]] = [("", obj, True)]
    while stack:
        path, value, name_ok = stack.pop()
        if not name_ok:
            problems.append(f"{path}: name is not valid Unicode text (lone UTF-16 surrogate)")
        if isinstance(value, str):
            if not _is_text(value):
                problems.append(f"{path}: not valid Unicode text (lone UTF-16 surrogate)")
        elif isinstance(value, dict):
            children = [
                (_path_step(path, str(key)), item, not isinstance(key, str) or _is_text(key))
                for key, item in value.items()
            ]
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{path}[{i}]", item, True) for i, item in enumerate(value)]))
    return problems


# --------------------------------------------------------------------------- translation


def envelope_to_changes(envelope: dict[str, Any]) -> list[ChatChange]:
    """What one envelope tells us, as changes; unknown events tell nothing.

    Raises ``ValueError`` (listing the problems) for an envelope ``validate_envelope``
    rejects, so a caller that skipped validation cannot store half-understood facts.
    """
    problems = validate_envelope(envelope)
    if problems:
        raise ValueError("; ".join(problems))
    event = _event_key(envelope)
    data = _dict(envelope.get("data"))
    conversation = _dict(data.get("conversation"))
    if event == ON_CREATE:
        return [_created(envelope, data, conversation)]
    if event == ON_UPDATE:
        return [_updated(envelope, data, conversation)]
    if event == ON_MESSAGE:
        return _message(data, conversation)
    return []


def _association_group(data: dict[str, Any]) -> tuple[str | None, str | None] | None:
    group = _dict(_dict(data.get("associations")).get("group"))
    group_id = _group_id(group.get("id"))
    if group_id is None:
        return None
    name = group.get("name")
    return group_id, name if isinstance(name, str) and name.strip() else None


def _name_for(data: dict[str, Any], group_id: str | None) -> str | None:
    association = _association_group(data)
    if group_id is None or association is None or association[0] != group_id:
        return None
    return association[1]


def _flags(conversation: dict[str, Any], status: object) -> tuple[bool, bool]:
    spam = _lower(status) == "spam" or _truthy(conversation.get("is_spam"))
    deleted = _lower(status) == "deleted" or _truthy(conversation.get("is_deleted"))
    return spam, deleted


def _created(
    envelope: dict[str, Any], data: dict[str, Any], conversation: dict[str, Any]
) -> ChatChange:
    timestamp = _parse_time(envelope.get("timestamp"))
    created = _parse_time(conversation.get("created_time"))
    at = created or timestamp
    if at is None:  # validation guarantees a timestamp; kept for type checkers
        raise ValueError("timestamp: required")
    if "assigned_group_id" in conversation:
        group_id = _group_id(conversation["assigned_group_id"])
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
        group_name=_name_for(data, group_id),
        spam=spam,
        deleted=deleted,
    )


def _updated(
    envelope: dict[str, Any], data: dict[str, Any], conversation: dict[str, Any]
) -> ChatChange:
    at = _parse_time(envelope.get("timestamp"))
    if at is None:
        raise ValueError("timestamp: required")
    model_changes = _dict(_dict(data.get("changes")).get("model_changes"))
    status_pair = _pair(model_changes, "status")
    old_status, new_status = status_pair if status_pair else (None, None)
    status = conversation.get("status")
    if not isinstance(status, str):
        status = new_status if isinstance(new_status, str) else None

    conversation_resolved = _parse_time(conversation.get("resolved_time"))
    resolved_time = None
    if _lower(new_status) == "resolved":
        resolved_time = conversation_resolved or at
    elif _lower(status) == "resolved" and conversation_resolved is not None:
        resolved_time = conversation_resolved
    reopened = _lower(old_status) == "resolved" and _lower(new_status) in _REOPEN_TARGETS

    group_id: str | None = NO_GROUP_INFO
    group_pair = _pair(model_changes, "assigned_group_id")
    if "assigned_group_id" in conversation:
        group_id = _group_id(conversation["assigned_group_id"])
    elif group_pair is not None:
        group_id = _group_id(group_pair[1])
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
        and _lower(new_status) == "resolved"
        and _lower(old_status) != "resolved"
    ):
        group_time = resolved_time

    spam, deleted = _flags(conversation, status)
    return ChatChange(
        conversation["conversation_id"].strip(),
        at,
        created_time=_parse_time(conversation.get("created_time")),
        resolved_time=resolved_time,
        reopened=reopened,
        status=status,
        group_id=group_id,
        group_name=_name_for(data, group_id) if group_id != NO_GROUP_INFO else None,
        spam=spam,
        deleted=deleted,
        group_time=group_time,
    )


def _message(data: dict[str, Any], conversation: dict[str, Any]) -> list[ChatChange]:
    # A message says nothing about resolution or group, but it may be the first sign of a
    # chat, and its conversation's created_time is what places the contact in time.
    created = _parse_time(conversation.get("created_time"))
    conversation_id = conversation.get("conversation_id") or _dict(data.get("message")).get(
        "conversation_id"
    )
    if created is None or not isinstance(conversation_id, str) or not conversation_id.strip():
        return []
    return [ChatChange(conversation_id.strip(), created, created_time=created)]


# --------------------------------------------------------------------------- small queries


def group_name_from(envelope: dict[str, Any]) -> tuple[str, str] | None:
    """(group id, name) that the event reveals, so queue names stay current between pulls."""
    association = _association_group(_dict(envelope.get("data")))
    if association is None or association[0] is None or association[1] is None:
        return None
    return association[0], association[1]


def needs_group_lookup(change: ChatChange) -> bool:
    """Whether resolving this chat left its queue unknown, so the group must be fetched.

    Spam and deleted chats never need it: they go to Undefined_Queue whatever the group.
    """
    return (
        change.resolved_time is not None
        and not change.says_group
        and not change.spam
        and not change.deleted
    )


def dedup_key(envelope: dict[str, Any]) -> str:
    """A stable id for an envelope: the marketplace sends no event id, and a re-delivery
    is byte-for-byte the same event, so equal content means the same event."""
    canonical = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # validate_envelope refuses lone surrogates; "surrogatepass" only keeps a caller that
    # skipped it from crashing, and leaves the key of every valid envelope unchanged.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
