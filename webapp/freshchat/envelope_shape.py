"""The shape of a companion-app envelope: what is kept, what is valid, how deep it may go.

Pushed events are stored before they are processed, so validation only has to decide
whether an envelope can be understood at all; it returns every problem at once, named by
field path, so the companion app's logs tell an admin exactly what was wrong.

Choices made where FRESHCHAT_API.md is silent:

* Only what counting and the explanation read is kept (``trim``): the event's name, time
  and account, and per conversation its id, status, group, times and spam/deleted flags;
  the status and group pairs of ``model_changes``; the group association (id and name: a
  queue name, not personal data). ``iparams`` (which can hold this server's key),
  ``currentHost``, message texts, actors, users, names and emails are dropped before
  anything is validated, hashed, stored or logged. Kept fields must be scalars where a
  scalar is expected, so no personal data can hide inside one.
* Event names are compared case-insensitively. An unknown event needs only a string
  ``event``: it is acknowledged as ignored and not stored, so a new Freshchat event kind
  never blocks a batch.
* ``onMessageCreate`` carries its conversation under ``data.message``; ``data.conversation``
  is read only when there is no ``data.message`` (Freshworks' own code does the same).
* Nothing deeper than ``MAX_DEPTH`` levels is accepted (the deepest kept field sits at 5):
  deeper JSON only costs recursion, in the decoder and the encoder alike.
* Any kept key or string that is not valid Unicode text (a lone UTF-16 surrogate, which a
  ``\\uD800`` escape decodes to) refuses the envelope: it is stored and hashed, and such
  text cannot be written as UTF-8.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from webapp.timeutil import parse_timestamp

ON_CREATE = "onconversationcreate"
ON_UPDATE = "onconversationupdate"
ON_MESSAGE = "onmessagecreate"
CONVERSATION_EVENTS = frozenset({ON_CREATE, ON_UPDATE})
KNOWN_EVENTS = CONVERSATION_EVENTS | {ON_MESSAGE}
MAX_DEPTH = 32

TIME_FIELDS = ("created_time", "resolved_time", "reopened_time", "updated_time")
PAIR_FIELDS = ("status", "assigned_group_id")
_FLAG_FIELDS = ("is_spam", "is_deleted")
_ACCOUNT_FIELDS = ("account_id", "domain", "region", "version")
_TRUTHY = frozenset({"true", "1", "yes", "y"})

_CONVERSATION_KEPT: dict[str, Any] = dict.fromkeys(
    ("conversation_id", "status", "assigned_group_id", *TIME_FIELDS, *_FLAG_FIELDS), True
)
# What ``trim`` keeps: a nested dict names kept keys of an object, True keeps the value.
_KEPT: dict[str, Any] = {
    "event": True,
    "timestamp": True,
    **dict.fromkeys(_ACCOUNT_FIELDS, True),
    "data": {
        "conversation": _CONVERSATION_KEPT,
        "message": _CONVERSATION_KEPT,
        "changes": {"model_changes": dict.fromkeys(PAIR_FIELDS, True)},
        "associations": {"group": {"id": True, "name": True}},
    },
}


# --------------------------------------------------------------------------- helpers


def parse_time(value: object) -> datetime | None:
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
        parse_time(value)
    except ValueError:
        return False
    return True


def _is_group_id(value: object) -> bool:
    return value is None or (isinstance(value, str | int) and not isinstance(value, bool))


def group_id_text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _TRUTHY


def event_key(envelope: dict[str, Any]) -> str:
    """The event's name as compared: trimmed and lower-case ("" when it is not text)."""
    event = envelope.get("event")
    return event.strip().lower() if isinstance(event, str) else ""


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def change_pair(model_changes: dict[str, Any], name: str) -> tuple[object, object] | None:
    value = model_changes.get(name)
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    return None


def lower_text(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def is_known(envelope: dict[str, Any]) -> bool:
    """Whether this is an event the app reads (others are acknowledged and ignored)."""
    return event_key(envelope) in KNOWN_EVENTS


def conversation_part(envelope: dict[str, Any]) -> tuple[str, object]:
    """(path, value) of the object describing the conversation; None when absent."""
    data = as_dict(envelope.get("data"))
    if event_key(envelope) == ON_MESSAGE and data.get("message") is not None:
        return "data.message", data["message"]
    return "data.conversation", data.get("conversation")


# --------------------------------------------------------------------------- trimming


def _trim(value: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _trim(value[key], sub)
        if sub is not True and isinstance(value[key], dict)
        else value[key]
        for key, sub in kept.items()
        if key in value
    }


def trim(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with only the fields counting reads (see the module docstring)."""
    return _trim(envelope, _KEPT)


def deeper_than(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON ``value`` nests more than ``limit`` objects or arrays.

    Level by level rather than recursively: the value may be as deep as the decoder allows.
    """
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return False


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
    known = is_known(obj)
    for name in _ACCOUNT_FIELDS:
        value = obj.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            problems.append(f"{name}: must be a string")

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

    required = event_key(obj) in CONVERSATION_EVENTS
    path, conversation = conversation_part(obj)
    if conversation is None:
        if required:
            problems.append(f"{path}: required")
    elif not isinstance(conversation, dict):
        problems.append(f"{path}: not an object")
    else:
        problems.extend(_conversation_problems(conversation, path, required=required))

    problems.extend(_changes_problems(data))
    problems.extend(_associations_problems(data))
    return problems


def _conversation_problems(conversation: dict[str, Any], path: str, *, required: bool) -> list[str]:
    problems: list[str] = []
    conversation_id = conversation.get("conversation_id")
    if conversation_id is None:
        if required:
            problems.append(f"{path}.conversation_id: required")
    elif not isinstance(conversation_id, str) or not conversation_id.strip():
        problems.append(f"{path}.conversation_id: must be a non-empty string")
    for name in TIME_FIELDS:
        if name in conversation and not _is_time(conversation[name]):
            problems.append(f"{path}.{name}: not a timestamp")
    status = conversation.get("status")
    if status is not None and not isinstance(status, str):
        problems.append(f"{path}.status: must be a string")
    if not _is_group_id(conversation.get("assigned_group_id")):
        problems.append(f"{path}.assigned_group_id: not a group id")
    for name in _FLAG_FIELDS:
        if isinstance(conversation.get(name), dict | list):
            problems.append(f"{path}.{name}: must be true or false")
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
        for name in PAIR_FIELDS
        if name in model_changes and not _scalar_pair(model_changes, name)
    ]


def _scalar_pair(model_changes: dict[str, Any], name: str) -> bool:
    pair = change_pair(model_changes, name)
    return pair is not None and all(_is_group_id(value) for value in pair)


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
    problems = []
    if not _is_group_id(group.get("id")):
        problems.append("data.associations.group.id: not a group id")
    if group.get("name") is not None and not isinstance(group.get("name"), str):
        problems.append("data.associations.group.name: must be a string")
    return problems


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
