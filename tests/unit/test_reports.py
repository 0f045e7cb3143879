"""Extract CSV files → ChatChange: tolerant per row, strict per file."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import pytest

from webapp.changes import NO_GROUP_INFO
from webapp.freshchat.reports import (
    COLUMNS,
    MalformedReport,
    parse_extract,
    unzip_extract,
)

CREATED = "Conversation-Created"
RESOLVED = "Conversation-Resolved"
GROUP_ASSIGNED = "Conversation-Group-Assigned"


def csv_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --------------------------------------------------------------------------- unzip


def test_zip_with_one_csv_is_unpacked():
    content = csv_bytes("conversation_id,created_time\nc1,2026-11-02T09:03:12.345Z\n")
    assert unzip_extract(zipped({"report/extract.csv": content, "readme.txt": b"hi"})) == content


def test_plain_csv_is_returned_unchanged():
    content = csv_bytes("conversation_id\nc1\n")
    assert unzip_extract(content) is content


def test_zip_without_csv_is_malformed():
    with pytest.raises(MalformedReport, match="no CSV"):
        unzip_extract(zipped({"notes.txt": b"x"}))


def test_zip_with_two_csv_is_malformed():
    with pytest.raises(MalformedReport, match="several CSV"):
        unzip_extract(zipped({"a.csv": b"conversation_id\n", "b.CSV": b"conversation_id\n"}))


def test_binary_non_zip_is_malformed():
    with pytest.raises(MalformedReport):
        unzip_extract(b"\x89PNG\r\n\x1a\n\x00\x00\x00")


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


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_no_header_is_malformed(data):
    with pytest.raises(MalformedReport, match="no header"):
        parse_extract(data, CREATED)


def test_no_id_column_is_malformed_and_names_what_was_found():
    with pytest.raises(MalformedReport, match="conversation id") as info:
        parse_extract(csv_bytes("agent_id,created_time\na1,2026-11-02T09:00:00Z\n"), CREATED)
    assert "agent_id" in str(info.value)


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
    assert [c.group_name for c in result.changes] == ["Sales, EMEA", "Line one\nline two"]


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
    assert change.created_time == datetime(2026, 11, 2, 9, 0)
    assert change.resolved_time == datetime(2026, 11, 2, 10, 0)
    assert (change.group_id, change.group_name) == ("g1", "Support")


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


def test_columns_table_holds_every_field():
    assert set(COLUMNS) == {
        "conversation_id",
        "created_time",
        "resolved_time",
        "event_time",
        "group_id",
        "group_name",
        "status",
        "spam",
        "deleted",
        "reopened",
    }


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
    assert (first.group_id, first.group_name) == ("g1", "Customer Support")
    assert first.resolved_time is None and first.status is None
    assert second.group_id is None and second.says_group
    assert second.group_name is None


def test_absent_group_column_says_nothing_about_the_group():
    data = csv_bytes("conversation_id,created_time,group_name\nc1,2026-11-02T09:00:00Z,Sales\n")
    [change] = parse_extract(data, CREATED).changes
    assert change.group_id == NO_GROUP_INFO
    assert not change.says_group
    assert change.group_name is None


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
    assert change.reopened is True
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
    first, second = parse_extract(data, GROUP_ASSIGNED).changes
    assert first.at == datetime(2026, 11, 2, 9, 5)
    assert (first.group_id, first.group_name) == ("g2", "Billing")
    assert first.created_time == datetime(2026, 11, 2, 9, 0)
    assert second.at == datetime(2026, 11, 2, 9, 0)


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
    [change] = parse_extract(unzip_extract(zipped({"x.csv": content})), RESOLVED).changes
    assert change.group_id == "g1"
