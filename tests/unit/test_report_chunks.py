"""The pull reads Extract files in lists (``iter_extract_chunks``): the very changes and
problems of reading them row by row (``iter_extract``), whatever the chunk size."""

from __future__ import annotations

import io
import random
import zipfile
from itertools import chain

import pytest

from webapp.freshchat.reports import iter_extract, iter_extract_chunks

CREATED = "Conversation-Created"
RESOLVED = "Conversation-Resolved"
GROUP_ASSIGNED = "Conversation-Group-Assigned"

HEADER = "conversation_id,created_time,resolved_time,event_time,group_id,status,is_spam,is_deleted"

# Cells a real or hostile export may hold, per column.
TIMES = [
    "2026-11-02T09:03:12.345Z",
    "2026-11-02T09:03:12.000Z",
    "2026-11-02 09:03:12.5",
    "2026-11-02T10:03:12+01:00",
    "1793610192345",
    "2026-11-02 09:03:12 UTC",
    " 2026-11-02T09:04:00.000Z ",
    "",
    "soon",
    "2026-11-02T09:03:12.34ZZ",
]
GROUPS = ["g1", " g2 ", "", "g1"]
STATUSES = ["", "resolved", "Spam", "deleted", "new"]
FLAGS = ["", "false", "true", "TRUE", "1", "no", "y"]


def _row(rng: random.Random, index: int) -> str:
    chat = rng.choice([f"c{index}", f"c{index % 5}", "", f'"c{index}"'])
    cells = [
        chat,
        rng.choice(TIMES),
        rng.choice(TIMES),
        rng.choice(TIMES),
        rng.choice(GROUPS),
        rng.choice(STATUSES),
        rng.choice(FLAGS),
        rng.choice(FLAGS),
    ]
    if rng.random() < 0.05:
        cells[5] = '"re\nsolved"'  # a quoted cell over two lines: line numbers must follow
    if rng.random() < 0.03:
        return "\r\n"  # a blank line
    return ",".join(cells) + "\r\n"


def _csv(seed: int, rows: int) -> bytes:
    rng = random.Random(seed)
    return (HEADER + "\r\n" + "".join(_row(rng, index) for index in range(rows))).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("event", [CREATED, RESOLVED, GROUP_ASSIGNED])
@pytest.mark.parametrize("size", [1, 3, 50, 1000])
def test_chunks_hold_the_changes_and_problems_of_reading_row_by_row(event, size):
    files = [_csv(7, 300), _zip({"a.csv": _csv(8, 120), "b/c.csv": _csv(9, 90)})]
    for data in files:
        by_row: list[str] = []
        expected = list(iter_extract(io.BytesIO(data), event, by_row))
        by_chunk: list[str] = []
        chunks = list(iter_extract_chunks(io.BytesIO(data), event, by_chunk, size))

        assert list(chain.from_iterable(chunks)) == expected
        assert by_chunk == by_row
        assert all(1 <= len(chunk) <= size for chunk in chunks)
        # Good and hostile rows were both met (else the comparison proves little).
        assert expected and by_row


def test_an_empty_file_gives_no_chunk():
    assert list(iter_extract_chunks(io.BytesIO(b""), CREATED, [])) == []
    assert list(iter_extract_chunks(io.BytesIO(HEADER.encode() + b"\r\n"), CREATED, [])) == []


@pytest.mark.parametrize(
    ("event", "column"), [(RESOLVED, "resolved_time"), (GROUP_ASSIGNED, "event_time")]
)
def test_a_row_lacking_its_event_time_is_refused_for_that_whatever_else_is_wrong(event, column):
    data = (HEADER + "\r\nc1,soon,,,g1,,,\r\n").encode()  # a bad creation time too
    problems: list[str] = []
    assert list(iter_extract_chunks(io.BytesIO(data), event, problems)) == []
    assert problems == [f"line 2: no {column}"]
