"""Companion-app envelopes → ChatChange, validation and deduplication."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.freshchat.events import (
    dedup_key,
    envelope_to_changes,
    group_name_from,
    needs_group_lookup,
    validate_envelope,
)

TS = 1_793_610_000_000  # epoch ms: 2026-11-02T09:00:00Z
TS_TIME = datetime(2026, 11, 2, 9, 0)
CREATED = "2026-11-02T09:03:12.345Z"
CREATED_TIME = datetime(2026, 11, 2, 9, 3, 12, 345000)


def envelope(event: str, conversation: dict | None = None, **data) -> dict:
    body = {
        "account_id": "123",
        "domain": "acme.freshchat.com",
        "event": event,
        "region": "US",
        "timestamp": TS,
        "version": "2.0",
        "data": dict(data),
    }
    if conversation is not None:
        body["data"]["conversation"] = {"conversation_id": "conv-1", **conversation}
    return body


def update(conversation: dict | None = None, **model_changes) -> dict:
    return envelope(
        "onConversationUpdate",
        conversation or {},
        changes={"model_changes": model_changes},
    )


# --------------------------------------------------------------------------- create


def test_create_with_assigned_group():
    env = envelope(
        "onConversationCreate",
        {"status": "new", "created_time": CREATED, "assigned_group_id": "g1"},
        associations={"group": {"id": "g1", "name": "Customer Support"}},
    )
    assert validate_envelope(env) == []
    [change] = envelope_to_changes(env)
    assert change == ChatChange(
        "conv-1",
        CREATED_TIME,
        created_time=CREATED_TIME,
        status="new",
        group_id="g1",
        group_name="Customer Support",
    )


def test_create_group_from_associations_when_key_absent():
    env = envelope(
        "onConversationCreate",
        {"status": "new", "created_time": CREATED},
        associations={"group": {"id": "g7", "name": "Billing"}},
    )
    [change] = envelope_to_changes(env)
    assert (change.group_id, change.group_name) == ("g7", "Billing")


def test_create_without_any_group_says_no_group():
    env = envelope("onConversationCreate", {"status": "new", "created_time": CREATED})
    [change] = envelope_to_changes(env)
    assert change.group_id is None
    assert change.says_group


def test_create_falls_back_to_timestamp():
    env = envelope("onConversationCreate", {"status": "new"})
    [change] = envelope_to_changes(env)
    assert change.at == TS_TIME
    assert change.created_time is None


def test_create_marked_spam():
    env = envelope("onConversationCreate", {"created_time": CREATED, "is_spam": True})
    [change] = envelope_to_changes(env)
    assert change.spam is True


# --------------------------------------------------------------------------- update


def test_update_to_resolved():
    env = update(
        {"status": "resolved", "created_time": CREATED, "assigned_group_id": "g1"},
        status=["assigned", "resolved"],
    )
    env["data"]["associations"] = {"group": {"id": "g1", "name": "Sales"}}
    [change] = envelope_to_changes(env)
    assert change.at == TS_TIME
    assert change.resolved_time == TS_TIME
    assert change.created_time == CREATED_TIME
    assert change.status == "resolved"
    assert (change.group_id, change.group_name) == ("g1", "Sales")
    assert change.reopened is False
    assert not needs_group_lookup(change)


def test_update_to_resolved_prefers_conversation_resolved_time():
    env = update(
        {"status": "Resolved", "resolved_time": "2026-11-02T10:00:00.000Z"},
        status=["new", "RESOLVED"],
    )
    [change] = envelope_to_changes(env)
    assert change.resolved_time == datetime(2026, 11, 2, 10, 0)
    assert change.group_id == NO_GROUP_INFO
    assert needs_group_lookup(change)


def test_reopen_is_resolved_to_new():
    env = update({"status": "new", "assigned_group_id": "g1"}, status=["resolved", "new"])
    [change] = envelope_to_changes(env)
    assert change.reopened is True
    assert change.resolved_time is None
    assert change.status == "new"


@pytest.mark.parametrize("new", ["reopened", "open", "assigned", "Reopen"])
def test_other_reopen_targets(new):
    [change] = envelope_to_changes(update({"status": new}, status=["Resolved", new]))
    assert change.reopened is True


def test_unassignment_is_not_a_reopen():
    env = update(
        {"status": "new", "assigned_group_id": None},
        status=["assigned", "new"],
        assigned_group_id=["g1", None],
    )
    [change] = envelope_to_changes(env)
    assert change.reopened is False
    assert change.group_id is None
    assert change.says_group
    assert change.resolved_time is None


def test_update_without_group_key_says_nothing_about_group():
    [change] = envelope_to_changes(update({"status": "assigned"}, status=["new", "assigned"]))
    assert change.group_id == NO_GROUP_INFO
    assert not change.says_group


def test_update_group_from_model_changes_when_key_absent():
    [change] = envelope_to_changes(update({}, assigned_group_id=["g1", "g2"]))
    assert change.group_id == "g2"
    assert change.at == TS_TIME


def test_update_status_from_model_changes_when_conversation_lacks_it():
    [change] = envelope_to_changes(update({}, status=["new", "assigned"]))
    assert change.status == "assigned"


@pytest.mark.parametrize(
    "conversation", [{"status": "spam"}, {"status": "assigned", "is_spam": True}]
)
def test_update_spam(conversation):
    [change] = envelope_to_changes(update(conversation))
    assert change.spam is True
    assert not needs_group_lookup(change)


# --------------------------------------------------------------------------- others


def test_message_create_carries_created_time_only():
    env = envelope(
        "onMessageCreate",
        {"created_time": CREATED, "status": "assigned", "assigned_group_id": "g1"},
        message={"conversation_id": "conv-1", "message_parts": []},
    )
    assert validate_envelope(env) == []
    assert envelope_to_changes(env) == [
        ChatChange("conv-1", CREATED_TIME, created_time=CREATED_TIME)
    ]


def test_message_create_without_conversation_time_changes_nothing():
    env = envelope("onMessageCreate", message={"conversation_id": "conv-1"})
    assert validate_envelope(env) == []
    assert envelope_to_changes(env) == []


def test_unknown_event_is_valid_and_changes_nothing():
    env = envelope("onAgentStatusChange", agent={"id": "a1"})
    assert validate_envelope(env) == []
    assert envelope_to_changes(env) == []
    assert validate_envelope({"event": "onSomethingNew"}) == []


def test_envelope_to_changes_refuses_invalid_envelopes():
    with pytest.raises(ValueError, match=r"data\.conversation: required"):
        envelope_to_changes(envelope("onConversationCreate"))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("obj", [[], "x", None, 3])
def test_not_an_object(obj):
    assert validate_envelope(obj) == ["envelope: not a JSON object"]


def test_missing_everything_is_listed():
    assert validate_envelope({}) == ["event: required"]
    assert validate_envelope({"event": "onConversationCreate"}) == [
        "timestamp: required",
        "data: required",
    ]


@pytest.mark.parametrize("event", ["", "   ", 5, ["onConversationCreate"]])
def test_event_must_be_a_non_empty_string(event):
    env = envelope("onConversationCreate", {"created_time": CREATED})
    env["event"] = event
    assert "event: must be a non-empty string" in validate_envelope(env)


def test_data_must_be_an_object():
    env = envelope("onConversationCreate")
    env["data"] = []
    assert validate_envelope(env) == ["data: not an object"]


def test_conversation_problems_name_their_fields():
    env = envelope(
        "onConversationUpdate",
        {
            "conversation_id": "",
            "created_time": "yesterday",
            "resolved_time": True,
            "status": 3,
            "assigned_group_id": {"id": 1},
        },
    )
    assert validate_envelope(env) == [
        "data.conversation.conversation_id: must be a non-empty string",
        "data.conversation.created_time: not a timestamp",
        "data.conversation.resolved_time: not a timestamp",
        "data.conversation.status: must be a string",
        "data.conversation.assigned_group_id: not a group id",
    ]


def test_conversation_must_be_an_object():
    env = envelope("onConversationCreate")
    env["data"]["conversation"] = "conv-1"
    assert validate_envelope(env) == ["data.conversation: not an object"]


def test_missing_conversation_id():
    env = envelope("onConversationCreate", {})
    del env["data"]["conversation"]["conversation_id"]
    assert validate_envelope(env) == ["data.conversation.conversation_id: required"]


@pytest.mark.parametrize("timestamp", ["soon", True, {"ms": 1}, 10**20])
def test_bad_timestamp(timestamp):
    env = envelope("onConversationCreate", {"created_time": CREATED})
    env["timestamp"] = timestamp
    assert validate_envelope(env) == ["timestamp: not a timestamp"]


def test_iso_timestamp_is_accepted():
    env = envelope("onConversationUpdate", {"status": "new"})
    env["timestamp"] = "2026-11-02T09:00:00.000Z"
    assert validate_envelope(env) == []
    [change] = envelope_to_changes(env)
    assert change.at == datetime(2026, 11, 2, 9, 0)


def test_model_changes_shape():
    env = update({}, status="resolved")
    assert validate_envelope(env) == ["data.changes.model_changes.status: expected [old, new]"]


def test_unknown_event_with_bad_timestamp_is_still_reported():
    assert validate_envelope({"event": "onX", "timestamp": "nope"}) == [
        "timestamp: not a timestamp"
    ]


# --------------------------------------------------------------------------- small queries


def test_group_name_from():
    env = envelope(
        "onConversationUpdate",
        {"status": "new"},
        associations={"group": {"id": "g1", "name": "Customer Support"}},
    )
    assert group_name_from(env) == ("g1", "Customer Support")
    assert group_name_from(envelope("onConversationUpdate", {"status": "new"})) is None
    env["data"]["associations"]["group"] = {"id": "g1"}
    assert group_name_from(env) is None


def test_needs_group_lookup():
    resolved = ChatChange("c", TS_TIME, resolved_time=TS_TIME)
    assert needs_group_lookup(resolved)
    assert not needs_group_lookup(ChatChange("c", TS_TIME, resolved_time=TS_TIME, group_id=None))
    assert not needs_group_lookup(ChatChange("c", TS_TIME))


def test_dedup_key_is_stable_across_key_order():
    env = envelope(
        "onConversationUpdate", {"status": "résolu", "assigned_group_id": "g1"}, actor={"id": 1}
    )
    reordered = json.loads(json.dumps(env, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    assert list(reordered) != list(env)
    assert dedup_key(env) == dedup_key(reordered)
    assert len(dedup_key(env)) == 64

    other = copy.deepcopy(env)
    other["timestamp"] += 1
    assert dedup_key(other) != dedup_key(env)
