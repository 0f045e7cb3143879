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

import io
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import BinaryIO

from webapp.changes import ChatChange
from webapp.freshchat.extract_columns import (
    HeaderReading,
    HeaderRefused,
    event_key,
    read_header,
    require,
)
from webapp.freshchat.report_files import MalformedReport, csv_rows
from webapp.freshchat.report_files import members as csv_members
from webapp.freshchat.report_rows import RowPlan, RowProblem, row_essentials, row_to_change

__all__ = [
    "ExtractCheck",
    "HeaderRefused",
    "MalformedReport",
    "MemberCheck",
    "ParseResult",
    "check_extract",
    "iter_csv",
    "iter_extract",
    "iter_extract_chunks",
    "parse_extract",
    "read_headers",
]

FIRST_PROBLEMS_KEPT = 20


@dataclass(slots=True)
class ParseResult:
    """What one file yielded: changes to apply and per-row problems to show the admin."""

    changes: list[ChatChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


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
    for chunk in _csv_chunks(stream, event, problems, member, 1):
        yield from chunk


# Changes per list handed out by the chunked reading (a few hours of a busy account's chats).
CHUNK_CHANGES = 1_000


def iter_extract_chunks(
    file: BinaryIO, event: str, problems: list[str], size: int = CHUNK_CHANGES
) -> Iterator[list[ChatChange]]:
    """``iter_extract`` in lists of at most ``size`` changes: what the pull funnel reads.

    Same rows, same order, same problems; a list at a time spares each row the trip
    through three generators, which cost a tenth of reading a window (bench_floor.py).
    """
    with closing(csv_members(file)) as members:
        for name, stream in members:
            yield from _csv_chunks(stream, event, problems, name, size)


def _csv_chunks(
    stream: BinaryIO, event: str, problems: list[str], member: str, size: int
) -> Iterator[list[ChatChange]]:
    key = event_key(event)
    where = f"{member}, " if member else ""
    with closing(csv_rows(stream)) as rows:
        reading = _header(rows, event)
        if reading is None:
            return
        plan = RowPlan(reading)
        values = plan.values
        chunk: list[ChatChange] = []
        for first_line, cells in rows:
            try:
                chunk.append(row_to_change(values(cells), plan, key))
            except RowProblem as problem:
                problems.append(f"{where}line {first_line}: {problem}")
                continue
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def iter_extract(file: BinaryIO, event: str, problems: list[str]) -> Iterator[ChatChange]:
    """Changes of every CSV of a seekable Extract file (zip or plain CSV), in order."""
    with closing(csv_members(file)) as members:
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
    with closing(csv_members(file)) as members:
        for name, stream in members:
            with closing(csv_rows(stream)) as rows:
                reading = _header(rows, event)
                check = MemberCheck(name, reading)
                result.members.append(check)
                if reading is None:
                    continue
                plan = RowPlan(reading)
                for _line, cells in rows:
                    check.rows += 1
                    try:
                        row_essentials(plan.values(cells), plan, key)
                    except RowProblem as problem:
                        check.failed += 1
                        check.reasons[problem.kind] += 1
    return result


def read_headers(file: BinaryIO, event: str) -> list[tuple[str, HeaderReading | None]]:
    """(member, header as understood) of every CSV of a file, refusing nothing: what a
    diagnosis shows even when the sync would refuse the file."""
    found: list[tuple[str, HeaderReading | None]] = []
    with closing(csv_members(file)) as members:
        for name, stream in members:
            with closing(csv_rows(stream)) as rows:
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
