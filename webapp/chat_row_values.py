"""A chat's merged state ↔ its stored ``Chat`` row: the values written and read back.

The row is the only memory of a chat between batches, so converting both ways must be
exact: merging nothing new into a state read back must give an equal state, which is how
unchanged chats are recognised and left unwritten. Writing builds every chat's values of
a pull window, so the conversions avoid per-value work where they can (bench/bench_floor.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any

from webapp.chatstate import ChatState, GroupObservation
from webapp.counting import Contact
from webapp.models import Chat

# Columns that hold a chat's merged state, in ChatState field order.
STATE_FIELDS: tuple[str, ...] = (
    "created_time",
    "first_seen_time",
    "first_resolved_time",
    "last_resolved_time",
    "status",
    "status_time",
    "group_history",
    "spam",
    "deleted",
    "last_change_time",
)
# Columns caching the contact the state makes (counting.contact_for).
CONTACT_FIELDS: tuple[str, ...] = ("queue_key", "interval_start", "count_reason")
# Everything an upsert writes; (integration, conversation_id) is the conflict target.
WRITE_FIELDS: tuple[str, ...] = (
    "integration",
    "conversation_id",
    *STATE_FIELDS,
    *CONTACT_FIELDS,
)


def _group_json(group_id: str | None) -> str:
    return "null" if group_id is None else _json_string(group_id)


def _history_to_json(history: Sequence[GroupObservation]) -> str:
    """The text ``json.dumps([[when.isoformat(), group_id], ...])`` gives, built directly:
    the encoder's set-up cost more than the rest of writing a chat (bench_floor.py).
    Most chats have one or two observations (at creation, at resolution): one f-string."""
    count = len(history)
    if count == 1:
        ((when, group_id),) = history
        return f'[["{when.isoformat()}", {_group_json(group_id)}]]'
    if count == 2:
        (when, group_id), (then, later_group) = history
        return (
            f'[["{when.isoformat()}", {_group_json(group_id)}], '
            f'["{then.isoformat()}", {_group_json(later_group)}]]'
        )
    return (
        "["
        + ", ".join(
            [f'["{when.isoformat()}", {_group_json(group_id)}]' for when, group_id in history]
        )
        + "]"
    )


def _history_from_json(text: str | None) -> tuple[GroupObservation, ...]:
    if not text:
        return ()
    return tuple((datetime.fromisoformat(when), group_id) for when, group_id in json.loads(text))


def state_from_row(row: Chat | Mapping[str, Any]) -> ChatState:
    """Rebuild the merged state stored in a ``Chat`` row (model instance or ``.dicts()`` row).

    The row is the only memory of a chat between batches, so this must be the exact inverse
    of ``row_values_from_state``: merging nothing new must give an equal state, which is how
    unchanged chats are recognised and left unwritten.
    """
    data: Mapping[str, Any] = row.__data__ if isinstance(row, Chat) else row
    return ChatState(
        conversation_id=data["conversation_id"],
        created_time=data["created_time"],
        first_seen_time=data["first_seen_time"],
        first_resolved_time=data["first_resolved_time"],
        last_resolved_time=data["last_resolved_time"],
        status=data["status"],
        status_time=data["status_time"],
        group_history=_history_from_json(data["group_history"]),
        spam=bool(data["spam"]),
        deleted=bool(data["deleted"]),
        last_change_time=data["last_change_time"],
    )


def row_values_from_state(state: ChatState, contact: Contact | None) -> dict[str, Any]:
    """Column values (by ``Chat`` field name) for a state and the contact it makes.

    The contact is cached on the row so that interval statistics can be rebuilt with one
    ``GROUP BY`` and every count can be traced back to its chats and their reasons.
    """
    return dict(zip(WRITE_FIELDS[1:], write_values(0, state, contact)[1:], strict=True))


def write_values(integration_id: int, state: ChatState, contact: Contact | None) -> tuple:
    """The upsert's parameters (``WRITE_FIELDS`` order), built without an interim dict."""
    return (
        integration_id,
        state.conversation_id,
        state.created_time,
        state.first_seen_time,
        state.first_resolved_time,
        state.last_resolved_time,
        state.status,
        state.status_time,
        _history_to_json(state.group_history),
        state.spam,
        state.deleted,
        state.last_change_time,
        *((contact.queue_key, contact.interval_start, contact.reason) if contact else _NO_CONTACT),
    )


def sqlite_write_values(integration_id: int, state: ChatState, contact: Contact | None) -> tuple:
    """``write_values`` with times as the text SQLite stores (``str(datetime)``, the same
    ``isoformat(" ")`` the driver's adapter writes): the adapter's per-value call was a
    third of inserting a chat (bench/bench_floor.py). A chat's times are mostly the same
    few objects (arrival, resolution), each turned into text once."""
    (
        conversation_id,
        created,
        seen,
        first,
        last,
        status,
        status_time,
        history,
        spam,
        deleted,
        changed,
    ) = state
    created_text = None if created is None else created.isoformat(" ")
    first_text = None if first is None else first.isoformat(" ")
    last_text = first_text if last == first else None if last is None else last.isoformat(" ")
    if contact is None:
        queue_key = interval_text = reason = None
    else:
        queue_key, interval, reason = contact
        interval_text = _INTERVAL_TEXTS.get(interval)
        if interval_text is None:
            if len(_INTERVAL_TEXTS) >= _INTERVAL_TEXTS_KEPT:
                _INTERVAL_TEXTS.clear()
            interval_text = _INTERVAL_TEXTS[interval] = interval.isoformat(" ")
    # The history's times are nearly always the arrival's and the resolution's: their
    # text again, in the JSON's ISO form (a ``replace`` costs a tenth of ``isoformat``).
    if len(history) == 1:
        ((when, group_id),) = history
        history_json = (
            f'[["{_iso(when, created, created_text, last, last_text)}", {_group_json(group_id)}]]'
        )
    elif len(history) == 2:
        (when, group_id), (then, later_group) = history
        history_json = (
            f'[["{_iso(when, created, created_text, last, last_text)}", {_group_json(group_id)}], '
            f'["{_iso(then, created, created_text, last, last_text)}", {_group_json(later_group)}]]'
        )
    else:
        history_json = _history_to_json(history)
    return (
        integration_id,
        conversation_id,
        created_text,
        created_text if seen == created else _text(seen),
        first_text,
        last_text,
        status,
        last_text if status_time == last else _text(status_time),
        history_json,
        spam,
        deleted,
        last_text if changed == last else _text(changed),
        queue_key,
        interval_text,
        reason,
    )


def _iso(
    when: datetime,
    created: datetime | None,
    created_text: str | None,
    last: datetime | None,
    last_text: str | None,
) -> str:
    """``when.isoformat()``, from a text already made when ``when`` is one of those times."""
    if when == created:
        return created_text.replace(" ", "T")  # type: ignore[union-attr]
    if when == last:
        return last_text.replace(" ", "T")  # type: ignore[union-attr]
    return when.isoformat()


def _text(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ")


# Interval starts as text, shared by the many chats of one interval (a year of intervals
# at most, then it starts again).
_INTERVAL_TEXTS: dict[datetime, str] = {}
_INTERVAL_TEXTS_KEPT = 40_000


_NO_CONTACT = (None, None, None)


def contact_triple(contact: Contact | None) -> tuple[str | None, datetime | None, str | None]:
    if contact is None:
        return None, None, None
    return contact.queue_key, contact.interval_start, contact.reason


def stored_triple(row: Mapping[str, Any]) -> tuple[str | None, datetime | None, str | None]:
    return row["queue_key"], row["interval_start"], row["count_reason"]
