"""The hand-written FDK-shaped envelopes in tests/fixtures/events: read, trimmed, translated."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from webapp.changes import NO_GROUP_INFO
from webapp.freshchat.envelope_shape import trim
from webapp.freshchat.events import envelope_to_changes, validate_envelope

FIXTURES = Path(__file__).parent.parent / "fixtures" / "events"
PRIVATE = (
    "IPARAMS-SECRET-KEY",
    "hub.example.test",
    "Dana",
    "dana@example.test",
    "4111",
    "+15550100",
    "Sam",
    "A-1234",
    "iparams",
    "currentHost",
    "actor",
)


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_is_valid_and_trims_to_nothing_private(path):
    envelope = json.loads(path.read_text())
    trimmed = trim(envelope)
    assert validate_envelope(trimmed) == []
    text = json.dumps(trimmed)
    assert [word for word in PRIVATE if word in text] == []
    # Trimming keeps what translation reads: the changes are the same.
    assert envelope_to_changes(trimmed) == envelope_to_changes(envelope)


def test_create_fixture():
    [change] = envelope_to_changes(trim(load("on_conversation_create.json")))
    assert change.conversation_id.endswith("0001")
    assert change.created_time == datetime(2026, 11, 2, 9, 3, 12, 345000)
    assert change.group_id == "4f3e2d1c-group-billing"


def test_resolve_fixture():
    [change] = envelope_to_changes(trim(load("on_conversation_update_resolve.json")))
    assert change.resolved_time == datetime(2026, 11, 2, 9, 30)
    assert change.group_time == datetime(2026, 11, 2, 9, 30)


def test_reopen_to_a_custom_status_fixture():
    [change] = envelope_to_changes(trim(load("on_conversation_update_reopen_custom.json")))
    assert change.status == "waiting on customer"
    assert change.resolved_time is None


def test_unassign_fixture_is_not_a_reopen():
    [change] = envelope_to_changes(trim(load("on_conversation_update_unassign.json")))
    assert change.resolved_time is None and change.status != "resolved"


def test_message_fixture_reads_data_message():
    [change] = envelope_to_changes(trim(load("on_message_create.json")))
    assert change.conversation_id.endswith("0003")
    assert change.created_time == datetime(2026, 11, 2, 9, 4)
    assert change.group_id == NO_GROUP_INFO  # a message says nothing about the group
