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
# Distinct group ids shared between rows, at most (a file is not trusted to
# hold few of them).
_STRINGS_KEPT = 2_000
_PLAINLY_OFF = frozenset({"", "false", "0", "no", "n", "False", "FALSE"})


def _flag(text: str) -> bool:
    return text not in _PLAINLY_OFF and text.lower() in _TRUTHY


class RowProblem(Exception):
    """A reason to skip one row; never escapes this module.

    ``kind`` names the reason without any cell value (for diagnostics that leave the
    server); ``str()`` adds the value (for the admin's own run details).
    """

    def __init__(self, kind: str, detail: str | None = None) -> None:
        super().__init__(detail or kind)
        self.kind = kind


class RowPlan:
    """How to read the rows under one header: built once per CSV, used for every row.

    Each meaning's preferred cell is taken with one ``itemgetter`` call and stripped with
    ``map`` (the loop over meanings in Python was the largest part of reading a file,
    bench/bench_floor.py); only a blank preferred cell sends its meaning to the columns
    accepted after it.
    """

    __slots__ = ("fallbacks", "getter", "meanings", "reading", "strings", "width")

    def __init__(self, reading: HeaderReading) -> None:
        self.reading = reading
        self.strings: dict[str, str] = {}
        self.meanings = tuple(reading.positions)
        firsts = [indexes[0] for indexes in reading.positions.values()]
        self.getter = itemgetter(*firsts) if len(firsts) > 1 else None
        self.width = max(firsts, default=-1) + 1
        self.fallbacks = tuple(
            (meaning, indexes[1:])
            for meaning, indexes in reading.positions.items()
            if len(indexes) > 1
        )

    def values(self, cells: list[str]) -> dict[str, str]:
        """Each meaning's first non-blank cell, stripped; a meaning with no such cell may
        be held as ``""``, so every reader treats a falsy value as "not said"."""
        if self.getter is not None and len(cells) >= self.width:
            values = dict(zip(self.meanings, map(str.strip, self.getter(cells)), strict=True))
            for meaning, others in self.fallbacks:
                if not values[meaning]:
                    _first_non_blank(values, meaning, cells, others)
            return values
        # One meaning only, or a short row: every meaning asked column by column.
        values = {}
        for meaning, indexes in self.reading.positions.items():
            _first_non_blank(values, meaning, cells, indexes)
        return values

    def name(self, meaning: str) -> str:
        """The (preferred) column's name as received, for messages."""
        index = self.reading.positions[meaning][0]
        return self.reading.header[index].replace("\ufeff", "").strip()

    def time(self, values: dict[str, str], meaning: str) -> datetime | None:
        value = values.get(meaning)
        if not value:
            return None
        if len(value) == 24 and value[10] == "T" and value[19] == "." and value[23] == "Z":
            # Freshchat's own form (2026-11-02T09:03:12.345Z), in nearly every cell: read
            # as naive UTC directly, the very value parse_timestamp's offset round trip gives.
            # An aware result means the shape only looked right (``...12.34ZZ``,
            # ``T09-03:12.345Z`` read as an offset): leave it to the general parser.
            try:  # not ``suppress``: its context manager cost a third of this call
                parsed = datetime.fromisoformat(value[:23])
            except ValueError:
                pass
            else:
                if parsed.tzinfo is None:
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

    def needed_time(self, values: dict[str, str], meaning: str) -> datetime:
        at = self.time(values, meaning)
        if at is None:
            raise RowProblem(f"no {meaning}", f"no {self.name(meaning)}")
        return at

    def group(self, values: dict[str, str]) -> str | None:
        """The group id when the file has a group column, else the sentinel (names come
        from the groups listing)."""
        if GROUP_ID not in self.reading.positions:
            return NO_GROUP_INFO
        group_id = values.get(GROUP_ID) or None
        if group_id is None:
            return None
        strings = self.strings
        if len(strings) < _STRINGS_KEPT:
            # The same few ids on every row: one string each, not one per row (a pull
            # window keeps thousands of changes waiting for the rest of their chat).
            group_id = strings.setdefault(group_id, group_id)
        return group_id


def _first_non_blank(
    values: dict[str, str], meaning: str, cells: list[str], indexes: tuple[int, ...]
) -> None:
    count = len(cells)
    for index in indexes:
        if index < count:
            value = cells[index].strip()
            if value:
                values[meaning] = value
                return


def row_essentials(
    values: dict[str, str], plan: RowPlan, event: str
) -> tuple[str, datetime, datetime | None]:
    """(chat id, event time, creation time): everything about a row that can fail.

    The check pass calls only this, so it refuses exactly the rows reading would skip,
    without building their changes.
    """
    conversation_id = values.get(CHAT_ID)
    if not conversation_id:
        raise RowProblem("no chat id", "no conversation id")
    if event == EVENT_CREATED:
        created = plan.needed_time(values, CREATED_TIME)
        return conversation_id, created, created
    return conversation_id, plan.needed_time(values, TIME), plan.time(values, CREATED_TIME)


def row_to_change(values: dict[str, str], plan: RowPlan, event: str) -> ChatChange:
    """The change one row states (``values`` from ``plan.values``); raises ``RowProblem``."""
    conversation_id, at, created = row_essentials(values, plan, event)
    status_word = values.get(STATUS, "").lower()
    spam = _flag(values.get(SPAM, "")) or status_word == "spam"
    deleted = _flag(values.get(DELETED, "")) or status_word == "deleted"
    if event == EVENT_CREATED:
        group_id = plan.group(values)
        return ChatChange(
            conversation_id,
            created,
            created_time=created,
            group_id=group_id,
            spam=spam,
            deleted=deleted,
        )
    if event == EVENT_RESOLVED:
        resolved: datetime | None = at
        status_out = "resolved"
        if spam:
            resolved, status_out = None, "spam"
        if deleted:
            resolved, status_out = None, "deleted"
        group_id = plan.group(values)
        return ChatChange(
            conversation_id,
            at,
            created_time=created,
            resolved_time=resolved,
            status=status_out,
            group_id=group_id,
            spam=spam,
            deleted=deleted,
            arrival_unknown=True,
        )
    if event == EVENT_GROUP_ASSIGNED:
        group_id = plan.group(values)
        return ChatChange(
            conversation_id,
            at,
            created_time=created,
            group_id=group_id,
            spam=spam,
            deleted=deleted,
            arrival_unknown=True,
        )
    return ChatChange(
        conversation_id,
        at,
        created_time=created,
        status=values.get(STATUS) or None,
        arrival_unknown=True,
    )
