"""Extract CSV files → ChatChange: tolerant per row, strict per file."""

from __future__ import annotations

import io
import itertools
import random
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import BinaryIO

import pytest

from webapp.changes import NO_GROUP_INFO
from webapp.freshchat import report_rows, reports
from webapp.freshchat.extract_columns import EVENT_COLUMNS, NEEDED, HeaderRefused
from webapp.freshchat.reports import (
    MalformedReport,
    check_extract,
    iter_csv,
    iter_extract,
    parse_extract,
)
from webapp.timeutil import parse_timestamp

CREATED = "Conversation-Created"
RESOLVED = "Conversation-Resolved"
GROUP_ASSIGNED = "Conversation-Group-Assigned"


def csv_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --------------------------------------------------------------------------- unzip


def test_zip_with_one_csv_is_read_and_other_members_ignored():
    content = csv_bytes("conversation_id,created_time\nc1,2026-11-02T09:03:12.345Z\n")
    result = parse_extract(zipped({"report/extract.csv": content, "readme.txt": b"hi"}), CREATED)
    assert [c.conversation_id for c in result.changes] == ["c1"]


def test_zip_without_csv_is_malformed():
    with pytest.raises(MalformedReport, match=r"no CSV file \(found: notes.txt\)"):
        parse_extract(zipped({"notes.txt": b"x"}), CREATED)


def test_several_csvs_in_one_zip_are_all_read_each_with_its_own_header():
    first = csv_bytes("conversation_id,created_time,group_id\nc1,2026-11-02T09:00:00Z,g1\n")
    second = csv_bytes("Group ID,Created At,Conversation ID\ng2,2026-11-02 09:05:00.5,c2\n")
    result = parse_extract(zipped({"part-1.csv": first, "part-2.CSV": second}), CREATED)
    assert [(c.conversation_id, c.group_id, c.created_time) for c in result.changes] == [
        ("c1", "g1", datetime(2026, 11, 2, 9, 0)),
        ("c2", "g2", datetime(2026, 11, 2, 9, 5, 0, 500000)),
    ]


def test_binary_non_zip_is_malformed():
    with pytest.raises(MalformedReport):
        parse_extract(b"\x89PNG\r\n\x1a\n\x00\x00\x00", CREATED)


# --------------------------------------------------------------------------- file level


def test_bom_is_accepted():
    data = b"\xef\xbb\xbfconversation_id,created_time\nc1,2026-11-02T09:03:12.345Z\n"
    result = parse_extract(data, CREATED)
    assert result.problems == []
    assert result.changes[0].conversation_id == "c1"
    assert result.changes[0].at == datetime(2026, 11, 2, 9, 3, 12, 345000)


def test_not_utf8_is_malformed():
    data = "conversation_id,group_name\nc1,Équipe\n".encode("latin-1")
    with pytest.raises(MalformedReport, match="UTF-8"):
        parse_extract(data, CREATED)


EMPTY_WINDOWS = {
    "0-byte file": b"",
    "blank lines": b"\n\n",
    "bom only": b"\xef\xbb\xbf",
    "header only": b"conversation_id,created_at,group_id\r\n",
    "zip holding an empty csv": None,
    "zip holding a header-only csv": None,
    "zip with no member": None,
}


@pytest.mark.parametrize("shape", list(EMPTY_WINDOWS))
def test_empty_windows_are_zero_rows_not_errors(shape):
    data = EMPTY_WINDOWS[shape]
    if shape == "zip holding an empty csv":
        data = zipped({"x.csv": b""})
    elif shape == "zip holding a header-only csv":
        data = zipped({"x.csv": b"Conversation ID,Created At,Group ID\n"})
    elif shape == "zip with no member":
        data = zipped({})
    for event in (CREATED, RESOLVED, GROUP_ASSIGNED):
        assert parse_extract(data, event) == reports.ParseResult()
        check = check_extract(io.BytesIO(data), event)
        assert (check.rows, check.failed) == (0, 0)


def test_a_header_lacking_the_chat_id_is_refused_naming_event_header_and_meaning():
    data = csv_bytes("agent_id,created_time\na1,2026-11-02T09:00:00Z\n")
    with pytest.raises(HeaderRefused) as info:
        parse_extract(data, CREATED)
    message = str(info.value)
    assert message.startswith("Conversation-Created file refused: its header lacks the chat id.")
    assert "Header received: [agent_id, created_time]" in message
    assert "a1" not in message and "2026" not in message  # names only, never cell values


@pytest.mark.parametrize(
    ("event", "header", "missing"),
    [
        (CREATED, "conversation_id,group_id,status", "chat creation time"),
        (CREATED, "conversation_id,resolved_at", "chat creation time"),
        (RESOLVED, "conversation_id,group_id,conversation_created_time", "event time"),
        (RESOLVED, "interaction_id,group_name", "event time"),
        (GROUP_ASSIGNED, "conversation_id,created_at,group_name", "group id"),
        (GROUP_ASSIGNED, "conversation_id,group_id", "event time"),
        ("Message-Sent", "conversation_id,status", "event time"),
    ],
)
def test_each_event_declares_the_meanings_it_needs(event, header, missing):
    data = csv_bytes(header + "\nc1,x,y\n")
    with pytest.raises(HeaderRefused, match=f"lacks the {missing}"):
        parse_extract(data, event)
    with pytest.raises(HeaderRefused):  # a header-only file is refused the same way
        check_extract(io.BytesIO(csv_bytes(header + "\n")), event)


def test_needed_meanings_are_declared_for_every_event_the_sync_reads():
    assert set(NEEDED) == set(EVENT_COLUMNS)
    for event, needed in NEEDED.items():
        assert {"chat id"} <= set(needed) and len(needed) >= 2, event


@pytest.mark.parametrize(
    "header",
    ["Group ID", "group-id", "GROUP__ID", " group id ", "Assigned-Group-Id", "group_ID"],
)
def test_header_names_match_case_insensitively_with_spaces_dashes_underscores_alike(header):
    data = csv_bytes(f"Conversation-ID,Created At,{header}\nc1,2026-11-02T09:00:00Z,g7\n")
    [change] = parse_extract(data, CREATED).changes
    assert (change.conversation_id, change.group_id) == ("c1", "g7")


def test_malformed_report_is_a_value_error():
    assert issubclass(MalformedReport, ValueError)


# --------------------------------------------------------------------------- columns


def test_quoted_fields_with_commas_and_newlines():
    data = csv_bytes(
        "conversation_id,group_id,group_name,resolved_time\n"
        'c1,g1,"Sales, EMEA",2026-11-02T10:00:00.000Z\n'
        'c2,g2,"Line one\nline two",2026-11-02T11:00:00.000Z\n'
    )
    result = parse_extract(data, RESOLVED)
    assert result.problems == []
    assert [c.group_id for c in result.changes] == ["g1", "g2"]
    assert [c.resolved_time.hour for c in result.changes] == [10, 11]


def test_reordered_and_extra_columns():
    data = csv_bytes(
        "agent_name,resolved_time,channel_id,group_id,conversation_id,extra\n"
        "Ann,2026-11-02T10:00:00Z,ch1,g1,c1,whatever\n"
    )
    [change] = parse_extract(data, RESOLVED).changes
    assert change.conversation_id == "c1"
    assert change.group_id == "g1"
    assert change.resolved_time == datetime(2026, 11, 2, 10, 0)


def test_alternative_header_names_case_and_spaces():
    data = csv_bytes(
        " Conversation ID ,CREATED_AT,Resolved_At,Assigned_Group_Id,GROUP,Conversation_Status\n"
        "c1,2026-11-02 09:00:00,2026-11-02 10:00:00,g1,Support,resolved\n"
    )
    [change] = parse_extract(data, RESOLVED).changes
    assert change.conversation_id == "c1"
    assert change.created_time is None  # another event's created_at is never the creation
    assert change.resolved_time == datetime(2026, 11, 2, 10, 0)
    assert change.group_id == "g1"


def test_interaction_id_is_used_only_without_conversation_id():
    only_interaction = csv_bytes("interaction_id,created_time\n12345-1762074192345,1762074192345\n")
    [change] = parse_extract(only_interaction, CREATED).changes
    assert change.conversation_id == "12345-1762074192345"
    assert change.created_time == datetime(2025, 11, 2, 9, 3, 12, 345000)

    both = csv_bytes(
        "interaction_id,conversation_id,created_time\n12345-1,uuid-1,2026-11-02T09:00:00Z\n"
    )
    [change] = parse_extract(both, CREATED).changes
    assert change.conversation_id == "uuid-1"


def test_the_mapping_table_names_every_meaning_once_per_event():
    for event, columns in EVENT_COLUMNS.items():
        meanings = [meaning for meaning, _names in columns]
        assert len(meanings) == len(set(meanings)), event
        assert {"chat id", "group id", "group name", "status"} <= set(meanings), event


# --------------------------------------------------------------------------- meaning by event


def test_a_lone_created_at_on_resolved_rows_is_the_resolution_time():
    data = csv_bytes("conversation_id,created_at,group_id\nc1,2026-11-02 10:00:00.1,g1\n")
    [change] = parse_extract(data, RESOLVED).changes
    assert change.resolved_time == change.at == datetime(2026, 11, 2, 10, 0, 0, 100000)
    assert change.created_time is None
    assert change.group_id == "g1"


def test_a_lone_created_at_on_group_assigned_rows_is_the_assignment_time():
    data = csv_bytes("conversation_id,created_at,group_id\nc1,2026-11-02T09:05:00Z,g2\n")
    [change] = parse_extract(data, GROUP_ASSIGNED).changes
    assert change.at == datetime(2026, 11, 2, 9, 5)
    assert change.group_observed_at == change.at
    assert change.created_time is None


def test_an_explicit_conversation_created_column_gives_the_creation_time_on_other_events():
    data = csv_bytes(
        "conversation_id,created_at,Conversation Created Time,group_id\n"
        "c1,2026-11-02T10:00:00Z,2026-11-02T09:00:00Z,g1\n"
    )
    for event in (RESOLVED, GROUP_ASSIGNED):
        [change] = parse_extract(data, event).changes
        assert change.at == datetime(2026, 11, 2, 10, 0)
        assert change.created_time == datetime(2026, 11, 2, 9, 0)


def test_created_at_on_created_rows_is_the_creation_time():
    data = csv_bytes("conversation_id,created_at,group_id\nc1,2026-11-02 09:00:00.3,g1\n")
    [change] = parse_extract(data, CREATED).changes
    assert change.created_time == change.at == datetime(2026, 11, 2, 9, 0, 0, 300000)


# --------------------------------------------------------------------------- rows


def test_bad_rows_are_reported_with_line_numbers_and_skipped():
    data = csv_bytes(
        "conversation_id,group_name,created_time\n"  # line 1
        'c1,"two\nlines",2026-11-02T09:00:00Z\n'  # lines 2-3
        "c2,x,yesterday\n"  # line 4
        ",x,2026-11-02T09:00:00Z\n"  # line 5
        "\n"  # line 6, blank
        "c3,x,\n"  # line 7
        "c4,x,2026-11-02T09:30:00Z\n"  # line 8
    )
    result = parse_extract(data, CREATED)
    assert [c.conversation_id for c in result.changes] == ["c1", "c4"]
    assert result.problems == [
        "line 4: created_time 'yesterday' is not a timestamp",
        "line 5: no conversation id",
        "line 7: no created_time",
    ]


def test_short_rows_are_tolerated():
    data = csv_bytes("conversation_id,created_time,group_id\nc1,2026-11-02T09:00:00Z\n")
    [change] = parse_extract(data, CREATED).changes
    assert change.group_id is None  # column exists, cell missing: "no group"


def test_created_rows():
    data = csv_bytes(
        "conversation_id,created_time,group_id,group_name\n"
        "c1,2026-11-02T09:03:12.345Z,g1,Customer Support\n"
        "c2,2026-11-02T09:04:00Z,,Ignored Name\n"
    )
    first, second = parse_extract(data, "conversation-created").changes
    assert first.at == first.created_time == datetime(2026, 11, 2, 9, 3, 12, 345000)
    assert first.group_id == "g1"
    assert first.resolved_time is None and first.status is None
    assert second.group_id is None and second.says_group


def test_absent_group_column_says_nothing_about_the_group():
    data = csv_bytes("conversation_id,created_time,group_name\nc1,2026-11-02T09:00:00Z,Sales\n")
    [change] = parse_extract(data, CREATED).changes
    assert change.group_id == NO_GROUP_INFO
    assert not change.says_group


def test_resolved_rows():
    data = csv_bytes(
        "conversation_id,created_time,resolved_time,group_id,reopened\n"
        "c1,2026-11-01T09:00:00Z,2026-11-02T10:00:00Z,g1,true\n"
    )
    [change] = parse_extract(data, RESOLVED).changes
    assert change.at == change.resolved_time == datetime(2026, 11, 2, 10, 0)
    assert change.created_time == datetime(2026, 11, 1, 9, 0)
    assert change.status == "resolved"
    assert change.group_id == "g1"
    assert not change.spam and not change.deleted


def test_resolved_falls_back_to_event_time():
    data = csv_bytes("conversation_id,event_time\nc1,2026-11-02T10:00:00Z\n")
    [change] = parse_extract(data, RESOLVED).changes
    assert change.resolved_time == datetime(2026, 11, 2, 10, 0)
    assert change.group_id == NO_GROUP_INFO


def test_resolved_without_any_time_is_a_problem():
    data = csv_bytes("conversation_id,resolved_time\nc1,\n")
    result = parse_extract(data, RESOLVED)
    assert result.changes == []
    assert result.problems == ["line 2: no resolved_time"]


@pytest.mark.parametrize(
    ("header", "cells"),
    [("is_spam", "TRUE"), ("spam", "yes"), ("status", "Spam"), ("is_spam", "1")],
)
def test_spam_rows(header, cells):
    data = csv_bytes(
        f"conversation_id,resolved_time,group_id,{header}\nc1,2026-11-02T10:00Z,g1,{cells}\n"
    )
    [change] = parse_extract(data, RESOLVED).changes
    assert change.spam is True
    assert change.resolved_time is None
    assert change.status == "spam"
    assert change.at == datetime(2026, 11, 2, 10, 0)


@pytest.mark.parametrize(("header", "cells"), [("is_deleted", "y"), ("status", "deleted")])
def test_deleted_rows(header, cells):
    data = csv_bytes(f"conversation_id,resolved_time,{header}\nc1,2026-11-02T10:00:00Z,{cells}\n")
    [change] = parse_extract(data, RESOLVED).changes
    assert change.deleted is True
    assert change.resolved_time is None
    assert change.status == "deleted"


@pytest.mark.parametrize("value", ["false", "0", "no", "", "n"])
def test_falsy_flags(value):
    data = csv_bytes(f"conversation_id,resolved_time,is_spam\nc1,2026-11-02T10:00:00Z,{value}\n")
    [change] = parse_extract(data, RESOLVED).changes
    assert change.spam is False
    assert change.resolved_time is not None


def test_group_assigned_rows():
    data = csv_bytes(
        "conversation_id,created_time,assigned_time,group_id,group_name\n"
        "c1,2026-11-02T09:00:00Z,2026-11-02T09:05:00Z,g2,Billing\n"
        "c2,2026-11-02T09:00:00Z,,g3,Sales\n"
    )
    result = parse_extract(data, GROUP_ASSIGNED)
    [first] = result.changes
    assert first.at == datetime(2026, 11, 2, 9, 5)
    assert first.group_id == "g2"
    assert first.created_time == datetime(2026, 11, 2, 9, 0)
    # The creation time is not an assignment time: a row without one is skipped.
    assert result.problems == ["line 3: no assigned_time"]


def test_other_events_carry_only_created_time_and_status():
    data = csv_bytes(
        "conversation_id,created_time,time,status,group_id,is_spam\n"
        "c1,2026-11-02T09:00:00Z,2026-11-02T09:07:00Z,assigned,g1,true\n"
    )
    [change] = parse_extract(data, "Message-Sent").changes
    assert change.at == datetime(2026, 11, 2, 9, 7)
    assert change.created_time == datetime(2026, 11, 2, 9, 0)
    assert change.status == "assigned"
    assert change.group_id == NO_GROUP_INFO
    assert change.spam is False
    assert change.resolved_time is None


def test_timestamps_with_offsets_and_utc_suffix_are_normalised():
    data = csv_bytes(
        "conversation_id,created_time\nc1,2026-11-02T11:00:00+02:00\nc2,2026-11-02 09:00:00 UTC\n"
    )
    first, second = parse_extract(data, CREATED).changes
    assert first.created_time == datetime(2026, 11, 2, 9, 0)
    assert second.created_time == datetime(2026, 11, 2, 9, 0)
    assert first.created_time.tzinfo is None


def test_zipped_file_end_to_end():
    content = csv_bytes("conversation_id,resolved_time,group_id\r\nc1,2026-11-02T10:00:00Z,g1\r\n")
    [change] = parse_extract(zipped({"x.csv": content}), RESOLVED).changes
    assert change.group_id == "g1"


# --------------------------------------------------------------------------- streaming
#
# The sync spools each downloaded file to a temporary file and reads it twice:
# ``check_extract`` first (all or nothing), then ``iter_extract``. These tests drive that
# API directly, as the sync does, rather than through ``parse_extract``.

GOOD_CSV = csv_bytes(
    "conversation_id,created_time,group_id\n"
    "c1,2026-11-02T09:03:12.345Z,g1\n"
    "c2,2026-11-02T09:04:00.000Z,g2\n"
)


@contextmanager
def spooled(data: bytes) -> Iterator[BinaryIO]:
    """A spool like the sync's, left positioned at its end as a download leaves it."""
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool:
        spool.write(data)
        yield spool


def open_failure(data: bytes) -> MalformedReport:
    """What reading the file is refused with (the test fails if it is read)."""
    with spooled(data) as spool, pytest.raises(MalformedReport) as info:
        check_extract(spool, CREATED)
    return info.value


def read_all(data: bytes, event: str = CREATED) -> tuple[list, list[str]]:
    problems: list[str] = []
    with spooled(data) as spool:
        changes = list(iter_extract(spool, event, problems))
    return changes, problems


def test_reading_a_plain_csv_starts_from_its_beginning_and_leaves_the_spool_open():
    with spooled(GOOD_CSV) as spool:
        assert spool.tell() == len(GOOD_CSV)
        assert check_extract(spool, CREATED).rows == 2
        assert len(list(iter_extract(spool, CREATED, []))) == 2
        assert not spool.closed


@pytest.mark.parametrize("member_name", ["chats.csv", "deep/dir/CHATS.CSV"])
def test_check_then_iterate_like_the_sync(member_name):
    for data in (GOOD_CSV, zipped({member_name: GOOD_CSV})):
        with spooled(data) as spool:
            check = check_extract(spool, CREATED)
            assert (check.rows, check.failed, check.has_group) == (2, 0, True)
            problems: list[str] = []
            changes = list(iter_extract(spool, CREATED, problems))
        assert [(c.conversation_id, c.group_id) for c in changes] == [("c1", "g1"), ("c2", "g2")]
        assert problems == []


def test_truncated_zip_is_a_damaged_archive():
    rows = "".join(f"c{i},2026-11-02T09:03:12.345Z\n" for i in range(2000))
    whole = zipped({"x.csv": csv_bytes("conversation_id,created_time\n" + rows)})
    error = open_failure(whole[: len(whole) // 2])
    assert str(error) == "The report archive is damaged (incomplete zip file)."


def test_zip_with_a_broken_directory_is_a_damaged_archive():
    data = bytearray(zipped({"x.csv": GOOD_CSV}))
    directory = data.rfind(b"PK\x01\x02")
    data[directory : directory + 4] = b"XXXX"
    assert str(open_failure(bytes(data))).startswith("The report archive is damaged (")


def test_bad_rows_of_several_csvs_name_their_member():
    bad = csv_bytes("conversation_id,created_time\nc9,soon\n")
    changes, problems = read_all(zipped({"a.csv": GOOD_CSV, "b.csv": bad}))
    assert [c.conversation_id for c in changes] == ["c1", "c2"]
    assert problems == ["b.csv, line 2: created_time 'soon' is not a timestamp"]


def test_zip_ignores_directories_and_mac_resource_forks():
    data = zipped(
        {"report.csv/": b"", "__MACOSX/._report.csv": b"\x00\x05\x16\x07", "report.csv": GOOD_CSV}
    )
    changes, problems = read_all(data)
    assert [c.conversation_id for c in changes] == ["c1", "c2"]
    assert problems == []


def test_binary_file_is_refused_before_reading():
    error = open_failure(b"GIF89a\x01\x00\x01\x00\x00\x00")
    assert str(error) == "The report file is neither a zip archive nor CSV text."


def _zip_with_damaged_data(rows: int) -> bytes:
    """A stored (uncompressed) zip whose CSV has one byte changed near its end: the
    archive opens and the CSV reads cleanly until the CRC check at the very end."""
    text = "conversation_id,created_time\n" + "".join(
        f"c{i},2026-11-02T09:03:12.345Z\n" for i in range(rows)
    )
    data = bytearray(zipped({"x.csv": csv_bytes(text)}, compression=zipfile.ZIP_STORED))
    position = data.rfind(b"c%d," % (rows - 1))
    data[position] = ord("d")
    return bytes(data)


def test_damage_found_late_is_raised_by_iter_after_rows_and_by_check_before_any():
    data = _zip_with_damaged_data(rows=3000)
    problems: list[str] = []
    seen: list[str] = []
    with spooled(data) as spool:
        with pytest.raises(MalformedReport) as info:
            for change in iter_extract(spool, CREATED, problems):
                seen.append(change.conversation_id)
        assert str(info.value).startswith("The report archive is damaged")
        assert len(seen) > 1000  # changes were already handed out: hence check_extract
        with pytest.raises(MalformedReport, match="damaged"):
            check_extract(spool, CREATED)


def test_compressed_data_damage_is_a_damaged_archive():
    text = "conversation_id,created_time\n" + "".join(
        f"c{i},2026-11-02T09:03:12.345Z\n" for i in range(3000)
    )
    data = bytearray(zipped({"x.csv": csv_bytes(text)}, compression=zipfile.ZIP_DEFLATED))
    for index in range(200, 400):
        data[index] ^= 0xFF
    with (
        spooled(bytes(data)) as spool,
        pytest.raises(MalformedReport, match=r"^The report archive is damaged"),
    ):
        check_extract(spool, CREATED)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("conversation_id,group_name\nc1,\xc9quipe\n".encode("latin-1"), "not UTF-8"),
        (b"conversation_id,created_at\nc1," + b"x" * 200_000 + b"\n", "not readable CSV"),
    ],
)
def test_check_extract_refuses_unreadable_files(data, message):
    for wrapped in (data, zipped({"x.csv": data})):
        with (
            spooled(wrapped) as spool,
            pytest.raises(MalformedReport, match=message),
        ):
            check_extract(spool, CREATED)


def test_check_extract_counts_bad_rows_by_reason_without_values_and_iter_reports_them():
    data = csv_bytes(
        "conversation_id,created_time\nc1,2026-11-02T09:00:00Z\nc2,soon\n,2026-11-02T09:00:00Z\n"
    )
    with spooled(data) as spool:
        check = check_extract(spool, CREATED)
        assert (check.rows, check.failed) == (3, 2)
        assert dict(check.members[0].reasons) == {
            "chat creation time is not a timestamp": 1,
            "no chat id": 1,
        }
        problems: list[str] = []
        changes = list(iter_extract(spool, CREATED, problems))
    assert [c.conversation_id for c in changes] == ["c1"]
    assert problems == [
        "line 3: created_time 'soon' is not a timestamp",
        "line 4: no conversation id",
    ]


def test_check_and_iter_leave_the_stream_open_for_its_owner():
    stream = io.BytesIO(GOOD_CSV)
    check_extract(stream, CREATED)
    assert not stream.closed
    assert len(list(iter_extract(stream, CREATED, []))) == 2
    assert not stream.closed
    partial = iter_extract(stream, CREATED, [])
    next(partial)
    partial.close()  # a consumer that stops early
    assert not stream.closed


class _EndlessCsv(io.RawIOBase):
    """An Extract CSV of unbounded length made on demand; fails the test if read too far."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.served = 0
        self._pending = b"\xef\xbb\xbfconversation_id,created_time,group_id\r\n"
        self._rows = (
            (f"c{i},2026-11-02T09:03:12.345Z,g{i % 7}\r\n" if i % 5 else f"c{i},never,g1\r\n")
            for i in itertools.count(1)
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self._pending) < len(buffer):
            self._pending += next(self._rows).encode()
        size = len(buffer)
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.served += size
        if self.served > self.limit:
            raise AssertionError(f"read {self.served} bytes: the file is not being streamed")
        return size


def test_iter_extract_is_lazy_and_reports_problems_as_rows_pass():
    source = _EndlessCsv(limit=1 << 20)
    problems: list[str] = []
    changes = iter_csv(io.BufferedReader(source), CREATED, problems)

    first = next(changes)
    assert first.conversation_id == "c1"
    assert first.group_id == "g1"
    assert source.served <= 64 * 1024
    assert problems == []

    taken = [first, *itertools.islice(changes, 1998)]
    # Every fifth row is bad; rows c1..c2498 are read, c5..c2495 reported, in order.
    assert taken[-1].conversation_id == "c2498"
    assert len(problems) == 499
    assert problems[0] == "line 6: created_time 'never' is not a timestamp"
    assert problems[-1] == "line 2496: created_time 'never' is not a timestamp"
    assert source.served <= 256 * 1024
    changes.close()


def test_header_names_are_matched_in_any_case_order_and_quoting_with_a_bom():
    data = b"\xef\xbb\xbf" + csv_bytes(
        'Agent_Name,"Resolved_At",EXTRA COLUMN,"Group_ID","Interaction_ID",Created_At\r\n'
        '"Ann, B.",2026-11-02T10:00:00.000Z,"x ""quoted"" y",g1,5001-1793610192345,'
        "2026-11-02T09:03:12.345Z\r\n"
    )
    for wrapped in (data, zipped({"x.csv": data})):
        [change], problems = read_all(wrapped, RESOLVED)
        assert problems == []
        assert change.conversation_id == "5001-1793610192345"
        assert change.created_time is None  # Created_At is the event's, never the creation
        assert change.resolved_time == change.at == datetime(2026, 11, 2, 10, 0)
        assert change.group_id == "g1"


def test_preferred_header_wins_whatever_its_position_and_first_duplicate_wins():
    data = csv_bytes(
        "created_at,resolved_at,interaction_id,resolved_time,conversation_id,created_time,"
        "group_id,GROUP_ID\n"
        "2026-01-01T00:00:00Z,2026-01-01T00:00:00Z,i-1,2026-11-02T10:00:00Z,uuid-1,"
        "2026-11-02T09:00:00Z,g-first,g-second\n"
    )
    [change], _ = read_all(data, RESOLVED)
    assert change.conversation_id == "uuid-1"
    assert change.created_time == datetime(2026, 11, 2, 9, 0)
    assert change.resolved_time == datetime(2026, 11, 2, 10, 0)
    assert change.group_id == "g-first"


def test_event_name_is_matched_case_insensitively():
    data = csv_bytes("conversation_id,resolved_time\nc1,2026-11-02T10:00:00Z\n")
    [change], _ = read_all(data, "  conversation-RESOLVED ")
    assert change.status == "resolved"
    assert change.resolved_time == datetime(2026, 11, 2, 10, 0)


# --------------------------------------------------------------------------- timestamps

CANONICAL = datetime(2026, 11, 2, 9, 3, 12, 345000)


def created_times(values: list[str]) -> tuple[dict[str, datetime], dict[str, str]]:
    """Each value read as a Created row's time: (value → time, value → problem)."""
    data = csv_bytes(
        "conversation_id,created_time\n" + "".join(f"c{i},{v}\n" for i, v in enumerate(values))
    )
    changes, problems = read_all(data)
    read = {values[int(c.conversation_id[1:])]: c.created_time for c in changes}
    failed = {values[int(p.split(":")[0].split()[1]) - 2]: p for p in problems}
    return read, failed


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-02T09:03:12.345Z",  # Freshchat's own form: the fast path
        "2026-11-02T09:03:12.345z",
        "2026-11-02T09:03:12.345+00:00",
        "2026-11-02T09:03:12.345000Z",
        "2026-11-02T10:03:12.345+01:00",
        "2026-11-02T04:03:12.345-05:00",
        "2026-11-02T14:48:12.345+05:45",
        "2026-11-02 09:03:12.345",
        "2026-11-02 09:03:12.345 UTC",
        "1793610192345",
    ],
)
def test_every_timestamp_form_gives_the_same_naive_utc_time(value):
    read, failed = created_times([value])
    assert failed == {}
    assert read[value] == CANONICAL
    assert read[value].tzinfo is None
    if not value.endswith("UTC"):
        assert parse_timestamp(value) == CANONICAL


def test_whole_seconds_forms_agree():
    values = ["2026-11-02T09:03:12Z", "2026-11-02T09:03:12.000Z", "2026-11-02T11:03:12+02:00"]
    read, failed = created_times(values)
    assert failed == {}
    assert set(read.values()) == {datetime(2026, 11, 2, 9, 3, 12)}


def test_fast_path_agrees_with_the_general_parser_on_near_miss_values():
    """Values shaped like Freshchat's form, mutated at random: the shortcut must read
    exactly what ``parse_timestamp`` reads, and refuse exactly what it refuses."""
    rng = random.Random(20261102)
    alphabet = "0123456789-:.+TZ "
    values: set[str] = set()
    while len(values) < 3000:
        chars = list("2026-11-02T09:03:12.345Z")
        for _ in range(rng.randint(1, 3)):
            position = rng.choice([p for p in range(24) if p not in (10, 19, 23)])
            chars[position] = rng.choice(alphabet)
        values.add("".join(chars))
    read, failed = created_times(sorted(values))
    assert len(read) + len(failed) == len(values)
    assert read and failed  # the mutations reach both outcomes
    for value in values:
        try:
            expected = parse_timestamp(value)
        except (ValueError, OverflowError, OSError):
            assert value in failed, value
        else:
            assert read.get(value) == expected, value


def test_fast_path_is_taken_for_freshchats_form_only(monkeypatch):
    seen: list[str] = []

    def spy(value):
        seen.append(value)
        return parse_timestamp(value)

    monkeypatch.setattr(report_rows, "parse_timestamp", spy)
    read, _ = created_times(["2026-11-02T09:03:12.345Z", "2026-11-02T09:03:12.345+00:00"])
    assert set(read.values()) == {CANONICAL}
    assert seen == ["2026-11-02T09:03:12.345+00:00"]


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-13-02T09:03:12.345Z",  # fast-path shape, impossible month
        "2026-11-31T09:03:12.345Z",
        "2026-11-02T24:03:12.345Z",
        "2026-11-02T09:03:12.345+25:00",
        "9999-12-31T23:59:59.999-01:00",  # past year 9999 once in UTC
        "-1793610192345",
        "9" * 20,  # epoch milliseconds far beyond year 9999
        "9" * 400,
        # Shaped like Freshchat's form but not it; once read as aware datetimes:
        "2026-11-02T09:03:12.34ZZ",
        "2026-11-02T09-03:12.345Z",
        "2026-11-02T09:03+12.345Z",
    ],
)
def test_malformed_timestamps_are_row_problems_not_crashes(value):
    read, failed = created_times([value, "2026-11-02T09:03:12.345Z"])
    assert read == {"2026-11-02T09:03:12.345Z": CANONICAL}
    assert failed == {value: f"line 2: created_time {value!r} is not a timestamp"}
