"""How the simulator writes Extract files and job answers: two export dialects.

``classic`` is what this project first assumed (one zip holding one CSV of
``simulator.CSV_COLUMNS``, ISO times with ``Z``, every job answer with ``links``).
``real`` follows what public code reading real accounts saw (FRESHCHAT_API.md): every
row's time in ``created_at`` (on Resolved and Group-Assigned rows it is the event's time,
not the chat's creation), ``YYYY-MM-DD HH:mm:ss.S`` times without a zone, header names
spelled in other ways, empty windows as a 0-byte file, a header-only CSV, a zip holding an
empty CSV or a zip with no member, busy windows as several CSVs in one zip, the older job
answer with a single ``link``, and files that are ``IN_PROGRESS`` on the first completed
poll before they are ``SUCCESS``. The same ground truth feeds both, so the pipeline is
held to one oracle (``SimAccount.expected_contacts``) whatever the dialect.

Like the simulator, this imports nothing from the app.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator

CLASSIC = "classic"
REAL = "real"
DIALECTS = (CLASSIC, REAL)

# Classic row positions (simulator.CSV_COLUMNS order).
_ID, _CREATED, _RESOLVED, _EVENT, _GROUP, _GROUP_NAME, _AGENT, _CHANNEL, _STATUS = range(9)

# The real dialect's headers and which classic cell fills each column (``_EVENT`` on the
# other events: their created_at is the event's time).
_REAL_COLUMNS: dict[str, tuple[tuple[str, int], ...]] = {
    "Conversation-Created": (
        ("Conversation ID", _ID),
        ("Created At", _CREATED),
        ("Group ID", _GROUP),
        ("Group Name", _GROUP_NAME),
        ("Channel ID", _CHANNEL),
        ("Status", _STATUS),
    ),
    "Conversation-Group-Assigned": (
        ("conversation_id", _ID),
        ("created_at", _EVENT),
        ("group_id", _GROUP),
        ("group_name", _GROUP_NAME),
    ),
    "Conversation-Resolved": (
        ("conversation_id", _ID),
        ("interaction_id", -1),
        ("created_at", _EVENT),
        ("group_id", _GROUP),
        ("group_name", _GROUP_NAME),
        ("agent_id", _AGENT),
        ("status", _STATUS),
    ),
}
_EMPTY_SHAPES = ("0-byte", "header-only", "zip-empty-csv", "zip-no-member")


def real_time(iso: str) -> str:
    """``2026-11-02T09:03:12.340Z`` → ``2026-11-02 09:03:12.34`` (zone-less, UTC)."""
    if not iso:
        return ""
    fraction = iso[20:23].rstrip("0") or "0"
    return f"{iso[:10]} {iso[11:19]}.{fraction}"


def real_header(event: str) -> list[str]:
    return [name for name, _index in _REAL_COLUMNS.get(event, (("conversation_id", _ID),))]


def real_rows(event: str, rows: list[tuple[str, ...]]) -> list[list[str]]:
    """Classic rows rewritten in the real dialect."""
    spec = _REAL_COLUMNS.get(event, (("conversation_id", _ID),))
    out = []
    for row in rows:
        cells = []
        for _name, index in spec:
            if index == -1:  # interaction_id: <internal id>-<epoch ms>, made up but stable
                cells.append(f"{zlib.crc32(row[_ID].encode())}-{len(out)}")
            elif index in (_CREATED, _EVENT):
                cells.append(real_time(row[index]))
            else:
                cells.append(row[index])
        out.append(cells)
    return out


def empty_shape(token: str) -> str:
    """Which empty form a file of no rows takes: all four appear across files."""
    return _EMPTY_SHAPES[zlib.crc32(token.encode()) % len(_EMPTY_SHAPES)]


class Sink:
    """Write-only byte sink: zipfile then streams (data descriptors, no seeking)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to flush; zipfile calls it."""

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def _csv_text(rows: Iterable[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode()


def real_file(
    event: str,
    chunks: Iterable[list[tuple[str, ...]]],
    member: str,
    token: str,
    rows_per_member: int,
) -> Iterator[bytes]:
    """One Extract file in the real dialect, streamed; see the module's docstring."""
    header = real_header(event)
    iterator = iter(chunks)
    first = next(iterator, None)
    if not first:
        shape = empty_shape(token)
        if shape == "0-byte":
            yield b""
        elif shape == "header-only":
            yield _csv_text([header])
        else:
            sink = Sink()
            with zipfile.ZipFile(sink, "w") as archive:
                if shape == "zip-empty-csv":
                    archive.writestr(member, b"")
            yield sink.take()
        return
    sink = Sink()
    stem = member[:-4]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        part = 0
        in_member = rows_per_member
        out = None
        for chunk in _chain(first, iterator):
            for cells in real_rows(event, chunk):
                if in_member >= rows_per_member:
                    if out is not None:
                        out.close()
                    part += 1
                    out = archive.open(f"{stem}-part{part}.csv", "w", force_zip64=True)
                    out.write(_csv_text([header]))
                    in_member = 0
                out.write(_csv_text([cells]))
                in_member += 1
            if sink.size >= 1 << 18:
                yield sink.take()
        if out is not None:
            out.close()
    yield sink.take()


def _chain(
    first: list[tuple[str, ...]], rest: Iterator[list[tuple[str, ...]]]
) -> Iterator[list[tuple[str, ...]]]:
    yield first
    yield from rest


def job_links(dialect: str, hrefs: list[tuple[str, str, str]], ready: bool) -> dict[str, object]:
    """The file part of a completed job's answer; ``hrefs`` are (href, from, to).

    Real dialect: files are ``IN_PROGRESS`` until ``ready``, then ``SUCCESS``; a job of one
    ready file answers in the older shape, one ``link`` and no ``links``.
    """
    if dialect != REAL:
        return {
            "links": [
                {"link": {"href": h}, "from": f, "to": t, "status": "COMPLETED"}
                for h, f, t in hrefs
            ]
        }
    status = "SUCCESS" if ready else "IN_PROGRESS"
    if ready and len(hrefs) == 1:
        href, start, end = hrefs[0]
        return {"link": {"href": href, "from": start, "to": end}}
    return {
        "links": [{"link": {"href": h}, "from": f, "to": t, "status": status} for h, f, t in hrefs]
    }
