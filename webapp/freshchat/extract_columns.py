"""What each Extract CSV column means, per event: the one table a real export corrects.

Freshchat publishes no Extract header line (FRESHCHAT_API.md, "No real header line is
public"), and the only public code reading real exports takes ``created_at`` as the
*event's* time: on a ``Conversation-Resolved`` row it is the resolution, on a
``Conversation-Group-Assigned`` row the assignment. So a column's meaning depends on the
event, and this module says it per event, in order of preference.

How a header is understood:

* Names are compared after folding case and treating spaces, dashes and underscores alike
  (``Group ID``, ``group-id`` and ``group_id`` are one name); a UTF-8 BOM is dropped.
* Meanings are resolved in the order listed for the event, each taking every accepted
  name present that no earlier meaning took; a row's value is the first non-blank of
  them, in order of preference (a Resolved row of a spam action may leave
  ``resolved_time`` blank and carry ``event_time``). A column has one meaning at most:
  on a Resolved file holding only ``created_at``, ``created_at`` is the resolution time
  and the chat's creation time stays unknown, as the issue of real accounts requires.
* The chat's creation time comes from ``Conversation-Created`` rows, or on other events
  only from an explicit ``conversation_created_*`` column or a ``created_time`` column that
  is not already the event's time (our simulator's first dialect), never from another
  event's ``created_at``.
* Every event declares the meanings it needs (``NEEDED``); a header lacking one is refused
  before any row is read, naming the event, the header and what is missing.

Choices where FRESHCHAT_API.md is silent: ``time``/``event_time``/``action_time`` are
accepted as an event's time on every event; ``updated_time`` only on Group-Assigned
rows (an assignment updates the chat); a file whose header repeats a name: first wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Our meanings. ``time`` is the event's own time; the others are what the row says.
CHAT_ID = "chat id"
TIME = "event time"
CREATED_TIME = "chat creation time"
GROUP_ID = "group id"
GROUP_NAME = "group name"
STATUS = "status"
SPAM = "spam flag"
DELETED = "deleted flag"
REOPENED = "reopen flag"

EVENT_CREATED = "conversation-created"
EVENT_RESOLVED = "conversation-resolved"
EVENT_GROUP_ASSIGNED = "conversation-group-assigned"

_CHAT_ID_NAMES = ("conversation_id", "interaction_id")
_GROUP = ((GROUP_ID, ("group_id", "assigned_group_id")), (GROUP_NAME, ("group_name", "group")))
_FLAGS = (
    (STATUS, ("status", "conversation_status")),
    (SPAM, ("is_spam", "spam")),
    (DELETED, ("is_deleted", "deleted")),
    (REOPENED, ("reopened", "is_reopened")),
)
_EXPLICIT_CREATED = ("conversation_created_time", "conversation_created_at")
_ANY_EVENT_TIME = ("event_time", "action_time", "time")

# Event (lower-case) → (meaning, accepted names in order of preference), in resolution order.
# THE table to correct when a real export shows other names or meanings.
EVENT_COLUMNS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    EVENT_CREATED: (
        (CHAT_ID, _CHAT_ID_NAMES),
        (CREATED_TIME, ("created_time", "created_at", *_EXPLICIT_CREATED, *_ANY_EVENT_TIME)),
        *_GROUP,
        *_FLAGS,
    ),
    EVENT_RESOLVED: (
        (CHAT_ID, _CHAT_ID_NAMES),
        (TIME, ("resolved_time", "resolved_at", *_ANY_EVENT_TIME, "created_at")),
        (CREATED_TIME, (*_EXPLICIT_CREATED, "created_time")),
        *_GROUP,
        *_FLAGS,
    ),
    EVENT_GROUP_ASSIGNED: (
        (CHAT_ID, _CHAT_ID_NAMES),
        (
            TIME,
            ("assigned_time", "assigned_at", *_ANY_EVENT_TIME, "updated_time", "created_at"),
        ),
        (CREATED_TIME, (*_EXPLICIT_CREATED, "created_time")),
        *_GROUP,
        *_FLAGS,
    ),
}
# Events the sync does not read (diagnostics may): the event's time, the chat, a status.
OTHER_EVENT_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (CHAT_ID, _CHAT_ID_NAMES),
    (TIME, (*_ANY_EVENT_TIME, "resolved_time", "resolved_at", "created_at")),
    (CREATED_TIME, (*_EXPLICIT_CREATED, "created_time")),
    (STATUS, ("status", "conversation_status")),
)

# What a file of each event must have for its rows to mean anything.
NEEDED: dict[str, tuple[str, ...]] = {
    EVENT_CREATED: (CHAT_ID, CREATED_TIME),
    EVENT_RESOLVED: (CHAT_ID, TIME),
    EVENT_GROUP_ASSIGNED: (CHAT_ID, TIME, GROUP_ID),
}
OTHER_NEEDED = (CHAT_ID, TIME)

_SEPARATORS = re.compile(r"[\s\-_]+")


def normalise(name: str) -> str:
    """Header name as compared: case folded, BOM dropped, spaces/dashes/underscores alike."""
    return _SEPARATORS.sub("_", name.replace("\ufeff", "").strip().lower()).strip("_")


def event_key(event: str) -> str:
    return event.strip().lower()


def columns_for(event: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return EVENT_COLUMNS.get(event_key(event), OTHER_EVENT_COLUMNS)


def needed_for(event: str) -> tuple[str, ...]:
    return NEEDED.get(event_key(event), OTHER_NEEDED)


class HeaderRefused(ValueError):
    """A header lacks a meaning its event needs; the message is meant for the admin."""


@dataclass(frozen=True, slots=True)
class HeaderReading:
    """How one CSV header was understood: meaning → column indexes (in order of
    preference), and the names as received."""

    event: str
    header: tuple[str, ...]
    positions: dict[str, tuple[int, ...]]

    @property
    def has_group(self) -> bool:
        return GROUP_ID in self.positions

    def understood(self) -> list[tuple[str, str]]:
        """(column as received, what it was taken for) for every column, in file order."""
        meaning_at = {i: meaning for meaning, indexes in self.positions.items() for i in indexes}
        return [
            (name.replace("\ufeff", "").strip(), meaning_at.get(index, "ignored"))
            for index, name in enumerate(self.header)
        ]

    def missing(self) -> list[str]:
        return [m for m in needed_for(self.event) if m not in self.positions]


def read_header(event: str, header: list[str]) -> HeaderReading:
    """Resolve a header's columns for ``event`` (no refusal: see ``require``)."""
    first_index: dict[str, int] = {}
    for index, name in enumerate(header):
        first_index.setdefault(normalise(name), index)
    positions: dict[str, tuple[int, ...]] = {}
    taken: set[int] = set()
    for meaning, accepted in columns_for(event):
        indexes = []
        for name in accepted:
            index = first_index.get(name)
            if index is not None and index not in taken:
                indexes.append(index)
                taken.add(index)
        if indexes:
            positions[meaning] = tuple(indexes)
    return HeaderReading(event.strip(), tuple(header), positions)


def require(reading: HeaderReading) -> HeaderReading:
    """The reading, or ``HeaderRefused`` naming the event, the header and what is missing."""
    missing = reading.missing()
    if missing:
        accepted = dict(columns_for(reading.event))
        wanted = "; ".join(f"{m} (one of: {', '.join(accepted[m])})" for m in missing)
        raise HeaderRefused(
            f"{reading.event} file refused: its header lacks the {', '.join(missing)}. "
            f"Header received: {describe_header(reading.header)}. Accepted names: {wanted}."
        )
    return reading


def describe_header(header: tuple[str, ...] | list[str], limit: int = 30) -> str:
    """Column names only (never cell values), shortened for messages."""
    names = [name.replace("\ufeff", "").strip()[:60] for name in header]
    shown = ", ".join(name or "(blank)" for name in names[:limit])
    more = f", … ({len(names) - limit} more)" if len(names) > limit else ""
    return f"[{shown}{more}]" if names else "[]"
