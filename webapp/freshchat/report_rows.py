"""One Extract CSV row → one ``ChatChange``, through the header's understood columns.

Tolerant row by row: a row that cannot be read raises ``RowProblem`` (the caller skips it
and tells the admin), never anything else.
"""

from __future__ import annotations

from datetime import datetime

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.freshchat.extract_columns import (
    CHAT_ID,
    CREATED_TIME,
    DELETED,
    EVENT_CREATED,
    EVENT_GROUP_ASSIGNED,
    EVENT_RESOLVED,
    GROUP_ID,
    GROUP_NAME,
    REOPENED,
    SPAM,
    STATUS,
    TIME,
    HeaderReading,
)
from webapp.timeutil import parse_timestamp

_TRUTHY = frozenset({"true", "1", "yes", "y"})


class RowProblem(Exception):
    """A reason to skip one row; never escapes this module.

    ``kind`` names the reason without any cell value (for diagnostics that leave the
    server); ``str()`` adds the value (for the admin's own run details).
    """

    def __init__(self, kind: str, detail: str | None = None) -> None:
        super().__init__(detail or kind)
        self.kind = kind


class Row:
    """Typed access to one CSV row through the header's understood positions."""

    __slots__ = ("positions", "reading", "values")

    def __init__(self, cells: list[str], reading: HeaderReading) -> None:
        self.reading = reading
        self.positions = positions = reading.positions
        # Every meaning's first non-blank cell, in one pass: asking cell by cell (about
        # nine asks a row) was the largest part of reading a file (bench_floor.py).
        self.values = values = {}
        count = len(cells)
        for meaning, indexes in positions.items():
            for index in indexes:
                if index < count:
                    value = cells[index].strip()
                    if value:
                        values[meaning] = value
                        break

    def name(self, meaning: str) -> str:
        """The (preferred) column's name as received, for messages."""
        index = self.reading.positions[meaning][0]
        return self.reading.header[index].replace("\ufeff", "").strip()

    def text(self, meaning: str) -> str | None:
        """The first non-blank cell among the columns taken for ``meaning``."""
        return self.values.get(meaning)

    def time(self, meaning: str) -> datetime | None:
        value = self.values.get(meaning)
        if value is None:
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

    def needed_time(self, meaning: str) -> datetime:
        at = self.time(meaning)
        if at is None:
            raise RowProblem(f"no {meaning}", f"no {self.name(meaning)}")
        return at

    def group(self) -> tuple[str | None, str | None]:
        """(group_id, group_name) when the file has a group column, else the sentinel."""
        if GROUP_ID not in self.positions:
            return NO_GROUP_INFO, None
        group_id = self.values.get(GROUP_ID)
        return group_id, self.values.get(GROUP_NAME) if group_id is not None else None


def row_essentials(row: Row, event: str) -> tuple[str, datetime, datetime | None]:
    """(chat id, event time, creation time): everything about a row that can fail.

    The check pass calls only this, so it refuses exactly the rows reading would skip,
    without building their changes.
    """
    conversation_id = row.text(CHAT_ID)
    if conversation_id is None:
        raise RowProblem("no chat id", "no conversation id")
    if event == EVENT_CREATED:
        created = row.needed_time(CREATED_TIME)
        return conversation_id, created, created
    return conversation_id, row.needed_time(TIME), row.time(CREATED_TIME)


def row_to_change(row: Row, event: str) -> ChatChange:
    conversation_id, at, created = row_essentials(row, event)
    values = row.values
    status_word = (values.get(STATUS) or "").lower()
    spam = (values.get(SPAM) or "").lower() in _TRUTHY or status_word == "spam"
    deleted = (values.get(DELETED) or "").lower() in _TRUTHY or status_word == "deleted"
    reopened = (values.get(REOPENED) or "").lower() in _TRUTHY
    if event == EVENT_CREATED:
        group_id, group_name = row.group()
        return ChatChange(
            conversation_id,
            created,
            created_time=created,
            group_id=group_id,
            group_name=group_name,
            spam=spam,
            deleted=deleted,
            reopened=reopened,
        )
    if event == EVENT_RESOLVED:
        resolved: datetime | None = at
        status_out = "resolved"
        if spam:
            resolved, status_out = None, "spam"
        if deleted:
            resolved, status_out = None, "deleted"
        group_id, group_name = row.group()
        return ChatChange(
            conversation_id,
            at,
            created_time=created,
            resolved_time=resolved,
            status=status_out,
            group_id=group_id,
            group_name=group_name,
            spam=spam,
            deleted=deleted,
            reopened=reopened,
            arrival_unknown=True,
        )
    if event == EVENT_GROUP_ASSIGNED:
        group_id, group_name = row.group()
        return ChatChange(
            conversation_id,
            at,
            created_time=created,
            group_id=group_id,
            group_name=group_name,
            spam=spam,
            deleted=deleted,
            reopened=reopened,
            arrival_unknown=True,
        )
    return ChatChange(
        conversation_id, at, created_time=created, status=row.text(STATUS), arrival_unknown=True
    )
