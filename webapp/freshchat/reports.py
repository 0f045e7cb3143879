"""Extract (raw report) files → ``ChatChange`` records.

Freshchat does not publish the Extract CSV columns, so everything this module believes about
them is in ``COLUMNS`` (header names) and ``_row_to_change`` (which time means what per
event), so a real export can correct it in one place. Parsing is tolerant row by row (a
bad row is reported and skipped, never fatal) because losing one file over one odd row
would lose a whole window of chats; it is strict about the file as a whole (encoding,
header, id column) because then nothing in it can be trusted.

Choices made where FRESHCHAT_API.md is silent:

* Header matching ignores case, surrounding spaces and repeated inner spaces; when several
  accepted names are present the first one listed in ``COLUMNS`` wins, so
  ``conversation_id`` beats ``interaction_id``. A header repeated in the file: first wins.
* An ``interaction_id`` (``<internal id>-<epoch ms>``) cannot be turned into the
  conversation uuid, so it is used as given; such chats will not meet pushed events.
* Timestamps: anything ``timeutil.parse_timestamp`` reads (ISO with ``Z``/offset, a space
  instead of ``T``, epoch milliseconds), plus a trailing ``UTC`` word.
* Spam and deleted flags (or a ``spam``/``deleted`` status) are honoured on Created,
  Resolved and Group-Assigned rows, because a chat is spam whatever row says so; only
  Resolved rows drop their resolution time for them (that row's "resolution" was the
  spam/delete action, and PRODUCT.md counts those chats in Undefined_Queue anyway).
* ``reopened`` is carried on those three kinds too; the status column is carried only on
  Resolved rows (forced to resolved/spam/deleted) and on other events, because on a
  Created row it is of unknown date.
* Group names are taken only together with a group id: queues are keyed by id.
* Line numbers are physical lines of the file, header = line 1, counting the first line of
  a row that spans several lines.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.timeutil import parse_timestamp

# Our field → accepted header names, in order of preference. The single place to correct
# when a real export shows other names.
COLUMNS: dict[str, tuple[str, ...]] = {
    "conversation_id": ("conversation_id", "conversation id", "interaction_id"),
    "created_time": ("created_time", "created_at", "conversation_created_time"),
    "resolved_time": ("resolved_time", "resolved_at"),
    "event_time": (
        "event_time",
        "time",
        "assigned_time",
        "assigned_at",
        "action_time",
        "updated_time",
    ),
    "group_id": ("group_id", "assigned_group_id"),
    "group_name": ("group_name", "group"),
    "status": ("status", "conversation_status"),
    "spam": ("is_spam", "spam"),
    "deleted": ("is_deleted", "deleted"),
    "reopened": ("reopened", "is_reopened"),
}

EVENT_CREATED = "conversation-created"
EVENT_RESOLVED = "conversation-resolved"
EVENT_GROUP_ASSIGNED = "conversation-group-assigned"

_TRUTHY = frozenset({"true", "1", "yes", "y"})
_TIME_FIELDS = ("created_time", "resolved_time", "event_time")


class MalformedReport(ValueError):
    """The file as a whole cannot be read; the message is meant for the admin."""


@dataclass(slots=True)
class ParseResult:
    """What one file yielded: changes to apply and per-row problems to show the admin."""

    changes: list[ChatChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _RowProblem(Exception):
    """A reason to skip one row; never escapes this module."""


def _refuse_unless_csv(head: bytes) -> None:
    """Checks on the first bytes of a file that is not a readable zip archive."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # Zip magic without a readable archive (truncated download): not CSV text.
        raise MalformedReport("The report archive is damaged (incomplete zip file).")
    if b"\x00" in head[:4096]:
        raise MalformedReport("The report file is neither a zip archive nor CSV text.")


def _csv_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and info.filename.lower().endswith(".csv")
        and not info.filename.startswith("__MACOSX/")
    ]
    if not members:
        raise MalformedReport("The report archive holds no CSV file.")
    if len(members) > 1:
        names = ", ".join(info.filename for info in members)
        raise MalformedReport(
            f"The report archive holds several CSV files ({names}); expected one."
        )
    return members[0]


def unzip_extract(blob: bytes) -> bytes:
    """The CSV inside an Extract file (a zip holding one CSV), or the blob if already CSV."""
    if not zipfile.is_zipfile(io.BytesIO(blob)):
        _refuse_unless_csv(blob[:4096])
        return blob
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return archive.read(_csv_member(archive))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise MalformedReport(f"The report archive is damaged ({exc}).") from None


@contextmanager
def open_extract(file: BinaryIO) -> Iterator[BinaryIO]:
    """The CSV of an Extract file held in a seekable file, as a stream read from the disk.

    ``unzip_extract`` for files too big for memory: a month of a busy account is hundreds
    of megabytes of CSV. Same checks and messages; a damaged archive may also surface
    later, while reading (``iter_extract`` and ``check_extract`` report it then).
    """
    file.seek(0)
    if not zipfile.is_zipfile(file):
        file.seek(0)
        _refuse_unless_csv(file.read(4096))
        file.seek(0)
        yield file
        return
    file.seek(0)
    try:
        archive = zipfile.ZipFile(file)
        member = archive.open(_csv_member(archive))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise MalformedReport(f"The report archive is damaged ({exc}).") from None
    with archive, member:
        yield member


def _normalise_header(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).lower()


def _column_indexes(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(_normalise_header(name), index)
    found: dict[str, int] = {}
    for our_field, accepted in COLUMNS.items():
        for name in accepted:
            if name in positions:
                found[our_field] = positions[name]
                break
    return found


class _Row:
    """Typed access to one CSV row through the resolved column positions."""

    __slots__ = ("cells", "columns")

    def __init__(self, cells: list[str], columns: dict[str, int]) -> None:
        self.cells = cells
        self.columns = columns

    def has(self, name: str) -> bool:
        return name in self.columns

    def text(self, name: str) -> str | None:
        index = self.columns.get(name)
        if index is None or index >= len(self.cells):
            return None
        value = self.cells[index].strip()
        return value or None

    def flag(self, name: str) -> bool:
        value = self.text(name)
        return value is not None and value.lower() in _TRUTHY

    def time(self, name: str) -> datetime | None:
        value = self.text(name)
        if value is None:
            return None
        if len(value) == 24 and value[10] == "T" and value[19] == "." and value[23] == "Z":
            # Freshchat's own form (2026-11-02T09:03:12.345Z), in nearly every cell: read
            # as naive UTC directly, the very value parse_timestamp's offset round trip gives.
            # An aware result means the shape only looked right (``...12.34ZZ``,
            # ``T09-03:12.345Z`` read as an offset): leave it to the general parser.
            with suppress(ValueError):
                parsed = datetime.fromisoformat(value[:23])
                if parsed.tzinfo is None:
                    return parsed
        if value[-4:].upper() == " UTC":
            value = value[:-4].rstrip()
        try:
            return parse_timestamp(value)
        except (ValueError, OverflowError, OSError):
            raise _RowProblem(f"{name} {value!r} is not a timestamp") from None

    def group(self) -> tuple[str | None, str | None]:
        """(group_id, group_name) when the file has a group column, else the sentinel."""
        if not self.has("group_id"):
            return NO_GROUP_INFO, None
        group_id = self.text("group_id")
        return group_id, self.text("group_name") if group_id is not None else None


def _row_to_change(row: _Row, event: str) -> ChatChange:
    conversation_id = row.text("conversation_id")
    if conversation_id is None:
        raise _RowProblem("no conversation id")
    created = row.time("created_time")
    flags = {
        "spam": row.flag("spam"),
        "deleted": row.flag("deleted"),
        "reopened": row.flag("reopened"),
    }
    status = row.text("status")
    status_word = (status or "").lower()
    if event == EVENT_CREATED:
        if created is None:
            raise _RowProblem("no created_time")
        group_id, group_name = row.group()
        return ChatChange(
            conversation_id,
            created,
            created_time=created,
            group_id=group_id,
            group_name=group_name,
            spam=flags["spam"] or status_word == "spam",
            deleted=flags["deleted"] or status_word == "deleted",
            reopened=flags["reopened"],
        )
    if event == EVENT_RESOLVED:
        at = row.time("resolved_time") or row.time("event_time")
        if at is None:
            raise _RowProblem("no resolved_time")
        resolved: datetime | None = at
        status_out = "resolved"
        spam = flags["spam"] or status_word == "spam"
        deleted = flags["deleted"] or status_word == "deleted"
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
            reopened=flags["reopened"],
        )
    if event == EVENT_GROUP_ASSIGNED:
        at = row.time("event_time") or created
        if at is None:
            raise _RowProblem("no event_time")
        group_id, group_name = row.group()
        return ChatChange(
            conversation_id,
            at,
            created_time=created,
            group_id=group_id,
            group_name=group_name,
            spam=flags["spam"] or status_word == "spam",
            deleted=flags["deleted"] or status_word == "deleted",
            reopened=flags["reopened"],
        )
    at = row.time("event_time") or row.time("resolved_time") or created
    if at is None:
        raise _RowProblem("no event_time, resolved_time or created_time")
    return ChatChange(conversation_id, at, created_time=created, status=status)


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


def _header_columns(rows: Iterator[tuple[int, list[str]]]) -> dict[str, int]:
    """Column positions from the first non-blank row; refuses a file we cannot key."""
    first = next(rows, None)
    if first is None:
        raise MalformedReport("The report file is empty: it has no header line.")
    header = first[1]
    columns = _column_indexes(header)
    if "conversation_id" not in columns:
        shown = ", ".join(h.strip() for h in header[:12] if h.strip())
        raise MalformedReport(
            "The report file has no conversation id column "
            f"(expected one of {', '.join(COLUMNS['conversation_id'])}; found: {shown})."
        )
    return columns


def iter_extract(stream: BinaryIO, event: str, problems: list[str]) -> Iterator[ChatChange]:
    """Changes of one Extract CSV stream, lazily; bad rows go to ``problems`` as they pass.

    Memory stays flat whatever the file's size. ``MalformedReport`` can come after some
    changes were yielded, so a caller that must apply all or nothing of a file runs
    ``check_extract`` over it first.
    """
    event_key = event.strip().lower()
    with closing(_csv_rows(stream)) as rows:
        columns = _header_columns(rows)
        for first_line, cells in rows:
            try:
                change = _row_to_change(_Row(cells, columns), event_key)
            except _RowProblem as problem:
                problems.append(f"line {first_line}: {problem}")
                continue
            yield change


def check_extract(stream: BinaryIO) -> None:
    """Read a whole Extract CSV, keeping nothing: raises exactly when ``iter_extract`` would.

    Costs a decompression and a CSV scan, a small price for never applying half a file.
    """
    with closing(_csv_rows(stream)) as rows:
        _header_columns(rows)
        for _row in rows:
            pass


def parse_extract(data: bytes, event: str) -> ParseResult:
    """Read one Extract CSV of the given event kind into changes and row problems.

    Raises ``MalformedReport`` when nothing in the file can be trusted; a bad row only
    adds a ``"line N: reason"`` problem, so one odd row never costs a whole window.
    """
    result = ParseResult()
    result.changes.extend(iter_extract(io.BytesIO(data), event, result.problems))
    return result
