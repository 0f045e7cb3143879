"""One Extract CSV row → one ``ChatChange``, through the header's understood columns.

Tolerant row by row: a row that cannot be read raises ``RowProblem`` (the caller skips it
and tells the admin), never anything else.
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.freshchat.extract_columns import (
    CHAT_ID,
    CREATED_TIME,
    DELETED,
    EVENT_CREATED,
    EVENT_GROUP_ASSIGNED,
    EVENT_RESOLVED,
    GROUP_ID,
    SPAM,
    STATUS,
    TIME,
    HeaderReading,
)
from webapp.timeutil import parse_timestamp

_TRUTHY = frozenset({"true", "1", "yes", "y"})
# Nearly every flag cell reads like this: no ``lower()`` needed to know it is off.
_PLAINLY_OFF = frozenset({"", "false", "0", "no", "n", "False", "FALSE"})
# Distinct group ids shared between rows, at most (a file is not trusted to
# hold few of them).
_STRINGS_KEPT = 2_000


class RowProblem(Exception):
    """A reason to skip one row; never escapes this module.

    ``kind`` names the reason without any cell value (for diagnostics that leave the
    server); ``str()`` adds the value (for the admin's own run details).
    """

    def __init__(self, kind: str, detail: str | None = None) -> None:
        super().__init__(detail or kind)
        self.kind = kind


# The meanings a row is read for, in the order a plan holds their cells (a header's other
# understood columns, such as group names, are not read at all).
_READ = (CHAT_ID, TIME, CREATED_TIME, GROUP_ID, STATUS, SPAM, DELETED)
_CHAT, _TIME, _CREATED, _GROUP, _STATUS, _SPAM, _DELETED = range(len(_READ))


class RowPlan:
    """How to read the rows under one header: built once per CSV, used for every row.

    A row's cells become a list of ``_READ``'s meanings, each its first non-blank cell,
    stripped, or ``""`` (also for a meaning the header lacks). The preferred cells are
    taken with one ``itemgetter`` call and stripped with ``map``: loops and dicts per
    meaning in Python were the largest part of reading a file (bench/bench_floor.py); only
    a blank preferred cell sends its meaning to the columns accepted after it.
    """

    __slots__ = ("fallbacks", "getter", "has_group", "positions", "reading", "strings", "width")

    def __init__(self, reading: HeaderReading) -> None:
        self.reading = reading
        self.strings: dict[str, str] = {}
        self.has_group = GROUP_ID in reading.positions
        # Each read meaning's columns, or none; a meaning without columns stays blank.
        self.positions = tuple(reading.positions.get(meaning, ()) for meaning in _READ)
        # Preferred cell per meaning; a missing meaning takes column 0 and is blanked after.
        firsts = [indexes[0] if indexes else 0 for indexes in self.positions]
        self.getter = itemgetter(*firsts)
        self.width = max(firsts) + 1
        self.fallbacks = tuple(
            (slot, indexes[1:]) for slot, indexes in enumerate(self.positions) if len(indexes) > 1
        ) + tuple((slot, ()) for slot, indexes in enumerate(self.positions) if not indexes)

    def values(self, cells: list[str]) -> list[str]:
        """Each read meaning's first non-blank cell, stripped, else ``""``, in ``_READ``
        order."""
        if len(cells) >= self.width:
            values = list(map(str.strip, self.getter(cells)))
            for slot, others in self.fallbacks:
                if not others:
                    values[slot] = ""
                elif not values[slot]:
                    values[slot] = _first_non_blank(cells, others)
            return values
        # A short row: every meaning asked column by column.
        return [_first_non_blank(cells, indexes) for indexes in self.positions]

    def name(self, meaning: str) -> str:
        """The (preferred) column's name as received, for messages."""
        index = self.reading.positions[meaning][0]
        return self.reading.header[index].replace("\ufeff", "").strip()

    def time(self, value: str, meaning: str) -> datetime | None:
        """The cell ``value`` (of ``meaning``, for messages) as naive UTC; None when blank."""
        if not value:
            return None
        parsed = _freshchat_time(value)
        if parsed is not None:
            return parsed
        if value[-4:].upper() == " UTC":
            value = value[:-4].rstrip()
        try:
            return parse_timestamp(value)
        except (ValueError, OverflowError, OSError):
            raise RowProblem(
                f"{meaning} is not a timestamp",
                f"{self.name(meaning)} {value!r} is not a timestamp",
            ) from None

    def needed_time(self, value: str, meaning: str) -> datetime:
        at = self.time(value, meaning)
        if at is None:
            raise RowProblem(f"no {meaning}", f"no {self.name(meaning)}")
        return at

    def group(self, values: list[str]) -> str | None:
        """The group id when the file has a group column, else the sentinel (names come
        from the groups listing)."""
        if not self.has_group:
            return NO_GROUP_INFO
        group_id = values[_GROUP]
        if not group_id:
            return None
        strings = self.strings
        if len(strings) < _STRINGS_KEPT:
            # The same few ids on every row: one string each, not one per row (a pull
            # window keeps thousands of changes waiting for the rest of their chat).
            group_id = strings.setdefault(group_id, group_id)
        return group_id


def _first_non_blank(cells: list[str], indexes: tuple[int, ...]) -> str:
    count = len(cells)
    for index in indexes:
        if index < count:
            value = cells[index].strip()
            if value:
                return value
    return ""


def _freshchat_time(value: str) -> datetime | None:
    """Freshchat's own form (``2026-11-02T09:03:12.345Z``, nearly every cell) as naive UTC,
    read directly; None for any other text, which ``RowPlan.time`` then reads in full.

    An aware result means the shape only looked right (``...12.34ZZ``, ``T09-03:12.345Z``
    read as an offset): None, so the general parser decides.
    """
    if len(value) == 24 and value[23] == "Z" and value[10] == "T" and value[19] == ".":
        try:  # not ``suppress``: its context manager cost a third of this call
            parsed = datetime.fromisoformat(value[:23])
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return parsed
    return None


def row_essentials(
    values: list[str], plan: RowPlan, event: str
) -> tuple[str, datetime, datetime | None]:
    """(chat id, event time, creation time): everything about a row that can fail.

    The check pass calls only this, so it refuses exactly the rows reading would skip,
    without building their changes.
    """
    conversation_id = values[_CHAT]
    if not conversation_id:
        raise RowProblem("no chat id", "no conversation id")
    if event == EVENT_CREATED:
        created = _freshchat_time(values[_CREATED]) or plan.needed_time(
            values[_CREATED], CREATED_TIME
        )
        return conversation_id, created, created
    # The event's time first: a row lacking it is refused for that, whatever else it has.
    at = _freshchat_time(values[_TIME]) or plan.needed_time(values[_TIME], TIME)
    text = values[_CREATED]
    created = (_freshchat_time(text) or plan.time(text, CREATED_TIME)) if text else None
    return conversation_id, at, created


_new = tuple.__new__


def row_to_change(values: list[str], plan: RowPlan, event: str) -> ChatChange:
    """The change one row states (``values`` from ``plan.values``); raises ``RowProblem``."""
    conversation_id, at, created = row_essentials(values, plan, event)
    status_word = values[_STATUS]
    if status_word:
        status_word = status_word.lower()
    # A flag is on when its cell reads as true; nearly every cell is plainly off, which
    # settles it without ``lower()``.
    spam_cell, deleted_cell = values[_SPAM], values[_DELETED]
    spam = (spam_cell not in _PLAINLY_OFF and spam_cell.lower() in _TRUTHY) or (
        status_word == "spam"
    )
    deleted = (deleted_cell not in _PLAINLY_OFF and deleted_cell.lower() in _TRUTHY) or (
        status_word == "deleted"
    )
    group_id = plan.group(values)
    resolved: datetime | None = None
    status_out: str | None = None
    arrival_unknown = True  # only the Created export says when a chat arrived
    if event == EVENT_CREATED:
        at, arrival_unknown = created, False  # type: ignore[assignment]
    elif event == EVENT_RESOLVED:
        if deleted:
            status_out = "deleted"
        elif spam:
            status_out = "spam"
        else:
            resolved, status_out = at, "resolved"
    elif event != EVENT_GROUP_ASSIGNED:
        status_out = values[_STATUS] or None
        group_id, spam, deleted = NO_GROUP_INFO, False, False
    # ChatChange's fields in order; the C tuple constructor, not the named tuple's
    # keyword-taking ``__new__`` (a Python function): one per CSV row (bench_floor.py).
    return _new(
        ChatChange,
        (
            conversation_id,
            at,
            created,
            resolved,
            status_out,
            group_id,
            spam,
            deleted,
            None,
            arrival_unknown,
        ),
    )
