"""Extract (raw report) files → ``ChatChange`` records.

What the columns mean, per event, is in ``extract_columns`` (one table, one module), so a
real export can correct it in one place. This module reads the files: it is tolerant row
by row (a bad row is reported and skipped) because losing a file over one odd row would
lose a window of chats, and strict about a file as a whole (encoding, archive, a header
lacking a needed meaning) because then nothing in it can be trusted.

Shapes accepted (FRESHCHAT_API.md, "Bulk history"):

* a zip holding **one or more CSVs**, each with its own header, read in archive order; a
  plain CSV (no zip) is one member;
* **empty windows are normal**: a 0-byte file, a header-only CSV, a zip holding an empty
  CSV and a zip with no member at all are zero rows, not errors;
* timestamps as ISO 8601 with ``Z`` or an offset, ``YYYY-MM-DD HH:mm:ss.S`` without a zone
  (UTC), epoch milliseconds, or with a trailing ``UTC`` word.

Choices made where FRESHCHAT_API.md is silent:

* Members whose name does not end in ``.csv`` (and ``__MACOSX/`` forks, directories) are
  ignored; a zip holding members but none of them CSV is refused, since it is no export.
* An ``interaction_id`` cannot be turned into the conversation uuid, so it is used as
  given; such chats will not meet pushed events.
* Spam and deleted flags (or a ``spam``/``deleted`` status) are honoured on Created,
  Resolved and Group-Assigned rows; only Resolved rows drop their resolution time for them
  (that row's "resolution" was the spam/delete action).
* Group names are taken only together with a group id: queues are keyed by id.
* Line numbers are physical lines of a CSV, header = line 1, counting the first line of a
  row that spans several lines; with several CSVs the member's name is given too.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

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
    HeaderRefused,
    event_key,
    read_header,
    require,
)
from webapp.timeutil import parse_timestamp

__all__ = [
    "ExtractCheck",
    "HeaderRefused",
    "MalformedReport",
    "MemberCheck",
    "ParseResult",
    "check_extract",
    "iter_csv",
    "iter_extract",
    "parse_extract",
    "read_headers",
]

_TRUTHY = frozenset({"true", "1", "yes", "y"})
FIRST_PROBLEMS_KEPT = 20


class MalformedReport(ValueError):
    """The file as a whole cannot be read; the message is meant for the admin."""


@dataclass(slots=True)
class ParseResult:
    """What one file yielded: changes to apply and per-row problems to show the admin."""

    changes: list[ChatChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _RowProblem(Exception):
    """A reason to skip one row; never escapes this module.

    ``kind`` names the reason without any cell value (for diagnostics that leave the
    server); ``str()`` adds the value (for the admin's own run details).
    """

    def __init__(self, kind: str, detail: str | None = None) -> None:
        super().__init__(detail or kind)
        self.kind = kind


# --------------------------------------------------------------------------- the file


def _refuse_unless_csv(head: bytes) -> None:
    """Checks on the first bytes of a file that is not a readable zip archive."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # Zip magic without a readable archive (truncated download): not CSV text.
        raise MalformedReport("The report archive is damaged (incomplete zip file).")
    if b"\x00" in head[:4096]:
        raise MalformedReport("The report file is neither a zip archive nor CSV text.")


def _csv_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    regular = [
        info
        for info in archive.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    members = [info for info in regular if info.filename.lower().endswith(".csv")]
    if regular and not members:
        names = ", ".join(info.filename for info in regular[:5])
        raise MalformedReport(f"The report archive holds no CSV file (found: {names}).")
    return members


def _members(file: BinaryIO) -> Iterator[tuple[str, BinaryIO]]:
    """(name, CSV stream) of every CSV in a seekable Extract file, one open at a time."""
    file.seek(0)
    if not zipfile.is_zipfile(file):
        file.seek(0)
        _refuse_unless_csv(file.read(4096))
        file.seek(0)
        yield "", file
        return
    file.seek(0)
    try:
        archive = zipfile.ZipFile(file)
        members = _csv_members(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise MalformedReport(f"The report archive is damaged ({exc}).") from None
    with archive:
        for info in members:
            try:
                member = archive.open(info)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
                raise MalformedReport(f"The report archive is damaged ({exc}).") from None
            with member:
                yield info.filename, member


def _csv_rows(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) of every non-blank row, header included.

    Everything that makes the whole file untrustworthy becomes ``MalformedReport`` here,
    whenever the reading meets it. The stream is left open for its owner.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    line = 0
    try:
        for cells in reader:
            first_line, line = line + 1, reader.line_num
            if any(map(str.strip, cells)):
                yield first_line, cells
    except UnicodeDecodeError:
        raise MalformedReport("The report file is not UTF-8 text.") from None
    except csv.Error as exc:
        raise MalformedReport(f"The report file is not readable CSV ({exc}).") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise MalformedReport(f"The report archive is damaged ({exc}).") from None
    finally:
        with suppress(ValueError):  # the stream was closed already: nothing to hand back
            text.detach()


# --------------------------------------------------------------------------- rows


class _Row:
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
            raise _RowProblem(
                f"{meaning} is not a timestamp",
                f"{self.name(meaning)} {value!r} is not a timestamp",
            ) from None

    def needed_time(self, meaning: str) -> datetime:
        at = self.time(meaning)
        if at is None:
            raise _RowProblem(f"no {meaning}", f"no {self.name(meaning)}")
        return at

    def group(self) -> str | None:
        """The group id when the file has a group column, else the sentinel (names come
        from the groups listing)."""
        if GROUP_ID not in self.positions:
            return NO_GROUP_INFO
        return self.values.get(GROUP_ID)


def _row_essentials(row: _Row, event: str) -> tuple[str, datetime, datetime | None]:
    """(chat id, event time, creation time): everything about a row that can fail.

    The check pass calls only this, so it refuses exactly the rows reading would skip,
    without building their changes.
    """
    conversation_id = row.text(CHAT_ID)
    if conversation_id is None:
        raise _RowProblem("no chat id", "no conversation id")
    if event == EVENT_CREATED:
        created = row.needed_time(CREATED_TIME)
        return conversation_id, created, created
    return conversation_id, row.needed_time(TIME), row.time(CREATED_TIME)


def _row_to_change(row: _Row, event: str) -> ChatChange:
    conversation_id, at, created = _row_essentials(row, event)
    values = row.values
    status_word = (values.get(STATUS) or "").lower()
    spam = (values.get(SPAM) or "").lower() in _TRUTHY or status_word == "spam"
    deleted = (values.get(DELETED) or "").lower() in _TRUTHY or status_word == "deleted"
    if event == EVENT_CREATED:
        group_id = row.group()
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
        group_id = row.group()
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
        group_id = row.group()
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
        conversation_id, at, created_time=created, status=row.text(STATUS), arrival_unknown=True
    )


# --------------------------------------------------------------------------- reading


def _header(rows: Iterator[tuple[int, list[str]]], event: str) -> HeaderReading | None:
    """The first non-blank row understood for ``event``; None for an empty CSV.

    Refuses (``HeaderRefused``) a header lacking a needed meaning, before any row is read.
    """
    first = next(rows, None)
    if first is None:
        return None
    return require(read_header(event, first[1]))


def iter_csv(
    stream: BinaryIO, event: str, problems: list[str], member: str = ""
) -> Iterator[ChatChange]:
    """Changes of one CSV stream, lazily; bad rows go to ``problems`` as they pass.

    Memory stays flat whatever the file's size. ``MalformedReport`` can come after some
    changes were yielded, so a caller that must apply all or nothing of a file runs
    ``check_extract`` over it first.
    """
    key = event_key(event)
    where = f"{member}, " if member else ""
    with closing(_csv_rows(stream)) as rows:
        reading = _header(rows, event)
        if reading is None:
            return
        for first_line, cells in rows:
            try:
                change = _row_to_change(_Row(cells, reading), key)
            except _RowProblem as problem:
                problems.append(f"{where}line {first_line}: {problem}")
                continue
            yield change


def iter_extract(file: BinaryIO, event: str, problems: list[str]) -> Iterator[ChatChange]:
    """Changes of every CSV of a seekable Extract file (zip or plain CSV), in order."""
    with closing(_members(file)) as members:
        for name, stream in members:
            yield from iter_csv(stream, event, problems, name)


@dataclass(slots=True)
class MemberCheck:
    """One CSV of a file, read whole: its header as understood and its rows' fate."""

    name: str
    reading: HeaderReading | None
    rows: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class ExtractCheck:
    """A whole Extract file read without keeping anything: what the sync decides on."""

    event: str
    members: list[MemberCheck] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(m.rows for m in self.members)

    @property
    def failed(self) -> int:
        return sum(m.failed for m in self.members)

    @property
    def readings(self) -> list[HeaderReading]:
        return [m.reading for m in self.members if m.reading is not None]

    @property
    def has_group(self) -> bool:
        return any(r.has_group for r in self.readings)


def check_extract(file: BinaryIO, event: str) -> ExtractCheck:
    """Read a whole Extract file, keeping only counts: raises exactly when reading would.

    Headers are refused here before anything is applied, and the share of failing rows
    is known before the sync decides to apply the file at all.
    """
    key = event_key(event)
    result = ExtractCheck(event.strip())
    with closing(_members(file)) as members:
        for name, stream in members:
            with closing(_csv_rows(stream)) as rows:
                reading = _header(rows, event)
                check = MemberCheck(name, reading)
                result.members.append(check)
                if reading is None:
                    continue
                for _line, cells in rows:
                    check.rows += 1
                    try:
                        _row_essentials(_Row(cells, reading), key)
                    except _RowProblem as problem:
                        check.failed += 1
                        check.reasons[problem.kind] += 1
    return result


def read_headers(file: BinaryIO, event: str) -> list[tuple[str, HeaderReading | None]]:
    """(member, header as understood) of every CSV of a file, refusing nothing: what a
    diagnosis shows even when the sync would refuse the file."""
    found: list[tuple[str, HeaderReading | None]] = []
    with closing(_members(file)) as members:
        for name, stream in members:
            with closing(_csv_rows(stream)) as rows:
                first = next(rows, None)
                found.append((name, None if first is None else read_header(event, first[1])))
    return found


def parse_extract(data: bytes, event: str) -> ParseResult:
    """Read one Extract file (zip or CSV bytes) of the given event into changes and problems.

    Raises ``MalformedReport`` or ``HeaderRefused`` when nothing in it can be trusted; a
    bad row only adds a ``"line N: reason"`` problem, so one odd row never costs a window.
    """
    result = ParseResult()
    result.changes.extend(iter_extract(io.BytesIO(data), event, result.problems))
    return result
