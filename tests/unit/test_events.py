"""Companion-app envelopes → ChatChange, validation and deduplication."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from datetime import datetime, timedelta

import pytest

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.chatstate import ChatState, merge, merge_all
from webapp.counting import REASON_GROUP, Contact, contact_for, group_unknown, why_here
from webapp.freshchat.envelope_shape import deeper_than, trim
from webapp.freshchat.events import (
    dedup_key,
    envelope_to_changes,
    group_name_from,
    validate_envelope,
)
from webapp.freshchat.reports import parse_extract

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
    )


def test_create_group_from_associations_when_key_absent():
    env = envelope(
        "onConversationCreate",
        {"status": "new", "created_time": CREATED},
        associations={"group": {"id": "g7", "name": "Billing"}},
    )
    [change] = envelope_to_changes(env)
    assert change.group_id == "g7"


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
    assert change.group_id == "g1"
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
    assert reopens(change)
    assert change.resolved_time is None
    assert change.status == "new"


@pytest.mark.parametrize(
    "new", ["reopened", "open", "assigned", "Reopen", "waiting on customer", "Custom Hold"]
)
def test_other_reopen_targets(new):
    [change] = envelope_to_changes(update({"status": new}, status=["Resolved", new]))
    assert reopens(change)


def test_unassignment_is_not_a_reopen():
    env = update(
        {"status": "new", "assigned_group_id": None},
        status=["assigned", "new"],
        assigned_group_id=["g1", None],
    )
    [change] = envelope_to_changes(env)
    assert change.resolved_time is None and change.status == "new"
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


def test_message_create_reads_its_conversation_under_data_message():
    message = {
        "conversation_id": "conv-1",
        "created_time": CREATED,
        "status": "assigned",
        "assigned_group_id": "g1",
        "messages": [{"message_parts": [{"text": {"content": "hello"}}]}],
    }
    env = envelope("onMessageCreate", message=message)
    assert validate_envelope(env) == []
    assert envelope_to_changes(env) == [
        ChatChange("conv-1", CREATED_TIME, created_time=CREATED_TIME)
    ]
    # data.conversation is the fallback, read only when there is no data.message.
    fallback = envelope("onMessageCreate", {"created_time": CREATED})
    assert envelope_to_changes(fallback) == envelope_to_changes(env)
    env["data"]["conversation"] = {"conversation_id": "other", "created_time": CREATED}
    assert envelope_to_changes(env)[0].conversation_id == "conv-1"
    bad = envelope("onMessageCreate", message={"conversation_id": 7})
    assert validate_envelope(bad) == ["data.message.conversation_id: must be a non-empty string"]


def test_time_may_be_iso_text():
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


def reopens(change: ChatChange) -> bool:
    """Whether this change, after a resolution, leaves the chat reopened (as the
    explanation of a count reads it: ``counting.why_here``)."""
    before = change.at - timedelta(minutes=5)
    resolved = ChatChange(change.conversation_id, before, resolved_time=before, status="resolved")
    state = merge(merge(ChatState(change.conversation_id), resolved), change)
    return why_here(state).reopened


def needs_group_lookup(change: ChatChange) -> bool:
    """Counting's answer for a chat known only by this change (as push_lookups asks it)."""
    return group_unknown(merge(ChatState(change.conversation_id), change))


def test_needs_group_lookup():
    resolved = ChatChange("c", TS_TIME, resolved_time=TS_TIME)
    assert needs_group_lookup(resolved)
    assert not needs_group_lookup(ChatChange("c", TS_TIME, resolved_time=TS_TIME, group_id=None))
    assert not needs_group_lookup(ChatChange("c", TS_TIME))
    assert not needs_group_lookup(ChatChange("c", TS_TIME, resolved_time=TS_TIME, spam=True))
    assert not needs_group_lookup(ChatChange("c", TS_TIME, resolved_time=TS_TIME, deleted=True))


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


def test_dedup_key_of_valid_text_is_plain_utf8_sha256():
    # Keys already stored must stay valid: surrogatepass changes nothing for real text.
    env = envelope("onConversationUpdate", {"status": "résolu 😀", "assigned_group_id": "g1"})
    canonical = json.dumps(env, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert dedup_key(env) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_dedup_key_never_crashes_on_a_lone_surrogate():
    env = envelope("onConversationCreate", {"created_time": CREATED})
    env["data"]["conversation"]["conversation_id"] = "\ud800x"
    other = copy.deepcopy(env)
    other["data"]["conversation"]["conversation_id"] = "\udfffx"
    assert len(dedup_key(env)) == 64
    assert dedup_key(env) != dedup_key(other)


# --------------------------------------------------------------------------- text

LONE = "not valid Unicode text (lone UTF-16 surrogate)"
LONE_NAME = "name is not valid Unicode text (lone UTF-16 surrogate)"


def decoded(raw: str) -> dict:
    """A body as the server decodes it: JSON escapes may yield lone surrogates."""
    return json.loads(raw)


def test_lone_surrogate_in_a_used_field_is_refused():
    env = decoded(
        '{"event":"onConversationCreate","timestamp":1790000000000,"data":{"conversation":'
        '{"conversation_id":"\\ud800x","created_time":"2026-11-02T09:03:12.345Z"}}}'
    )
    assert env["data"]["conversation"]["conversation_id"] == "\ud800x"
    assert validate_envelope(env) == [f"data.conversation.conversation_id: {LONE}"]
    with pytest.raises(ValueError, match=r"conversation_id: not valid Unicode"):
        envelope_to_changes(env)


def test_every_bad_string_and_name_is_listed_in_document_order():
    env = envelope("onConversationUpdate", {"status": "new\udc00"})
    env["event"] = "onConversationUpdate\ud83d"
    env["data"]["actor"] = {"tags": ["ok", "\ud801"], "\udfff": 1, "a: b\ud800": "\ud800"}
    assert validate_envelope(env) == [
        f"event: {LONE}",
        f"data.conversation.status: {LONE}",
        f"data.actor.tags[1]: {LONE}",
        f'data.actor["\\udfff"]: {LONE_NAME}',
        f'data.actor["a\\u003a b\\ud800"]: {LONE_NAME}',
        f'data.actor["a\\u003a b\\ud800"]: {LONE}',
    ]


def test_problem_paths_are_printable_and_split_cleanly():
    env = envelope("onSomethingNew", extra={"k: \ud800": "v"})
    [problem] = validate_envelope(env)
    field, sep, message = problem.partition(": ")
    assert sep and message == LONE_NAME
    field.encode("utf-8")  # storable in the refusal log, no raw surrogate left


def test_unused_fields_of_unknown_events_are_checked_too():
    # The whole envelope is stored and hashed, so no string in it may be unencodable.
    env = envelope("onAgentStatusChange", agent={"name": "x\ud800"})
    assert validate_envelope(env) == [f"data.agent.name: {LONE}"]


def test_surrogate_pairs_and_other_text_are_fine():
    env = decoded(
        '{"event":"onConversationCreate","timestamp":1790000000000,"data":{"conversation":'
        '{"conversation_id":"\\ud83d\\ude00-\\u00e9-\\u4e2d","created_time":'
        '"2026-11-02T09:03:12.345Z"},"déjà vu":["\\ufffd",{"k":"\\u0000"}]}}'
    )
    assert validate_envelope(env) == []
    [change] = envelope_to_changes(env)
    assert change.conversation_id == "😀-é-中"


def test_deep_nesting_does_not_exhaust_the_stack():
    deep: object = "\ud800"
    for _ in range(5000):
        deep = [deep]
    env = envelope("onSomethingNew", deep=deep)
    [problem] = validate_envelope(env)
    assert problem.startswith("data.deep[0][0]") and problem.endswith(LONE)


# --------------------------------------------------------------------------- group at resolution

RESOLVED_AT = "2026-11-02T09:30:00.000Z"
RESOLVED_TIME = datetime(2026, 11, 2, 9, 30)
STAMP = 1_793_611_801_000  # 2026-11-02T09:30:01Z, a second after the resolution
STAMP_TIME = datetime(2026, 11, 2, 9, 30, 1)
LIVE = frozenset({"A", "B", "C"})


def resolve_update(*, with_group_change: bool) -> dict:
    """Freshchat resolving the chat in group B, stamped after its resolved_time."""
    changes: dict = {"status": ["new", "resolved"]}
    if with_group_change:
        changes["assigned_group_id"] = ["A", "B"]
    env = update(
        {"status": "resolved", "resolved_time": RESOLVED_AT, "assigned_group_id": "B"},
        **changes,
    )
    env["timestamp"] = STAMP
    return env


def pulled_created() -> list[ChatChange]:
    """The pull's Created row: group A when the chat arrived at 09:00."""
    csv = (
        "conversation_id,created_time,group_id,group_name\n"
        "conv-1,2026-11-02T09:00:00.000Z,A,Alpha\n"
    )
    result = parse_extract(csv.encode(), "Conversation-Created")
    assert result.problems == []
    return result.changes


@pytest.mark.parametrize("with_group_change", [False, True])
def test_resolution_dates_its_group_at_the_resolved_time(with_group_change):
    [change] = envelope_to_changes(resolve_update(with_group_change=with_group_change))
    assert change.at == STAMP_TIME
    assert change.resolved_time == RESOLVED_TIME
    assert change.group_id == "B"
    assert change.group_time == RESOLVED_TIME
    assert change.group_observed_at == RESOLVED_TIME


@pytest.mark.parametrize("with_group_change", [False, True])
def test_push_and_pull_agree_on_the_group_at_resolution_in_any_order(with_group_change):
    pull = pulled_created()
    push = envelope_to_changes(resolve_update(with_group_change=with_group_change))
    expected = Contact("B", datetime(2026, 11, 2, 9, 0), REASON_GROUP)
    push_first = merge_all(ChatState("conv-1"), [*push, *pull])
    pull_first = merge_all(ChatState("conv-1"), [*pull, *push])
    assert push_first == pull_first
    assert contact_for(pull_first, LIVE) == expected


def test_a_move_after_resolution_does_not_change_the_group_at_resolution():
    pull = pulled_created()
    push = envelope_to_changes(resolve_update(with_group_change=False))
    # Later, the resolved chat is moved to C; its resolved_time still says 09:30.
    moved = update(
        {"status": "resolved", "resolved_time": RESOLVED_AT, "assigned_group_id": "C"},
        assigned_group_id=["B", "C"],
    )
    moved["timestamp"] = STAMP + 30 * 60_000
    [move] = envelope_to_changes(moved)
    assert move.group_time is None and move.group_observed_at == move.at
    changes = [*pull, *push, move]
    contacts = {
        contact_for(merge_all(ChatState("conv-1"), list(order)), LIVE)
        for order in itertools.permutations(changes)
    }
    assert contacts == {Contact("B", datetime(2026, 11, 2, 9, 0), REASON_GROUP)}


def test_a_later_resolution_decides_the_group():
    first = envelope_to_changes(resolve_update(with_group_change=False))
    reopen = update({"status": "new", "assigned_group_id": "B"}, status=["resolved", "new"])
    reopen["timestamp"] = STAMP + 60 * 60_000
    again = update(
        {
            "status": "resolved",
            "resolved_time": "2026-11-02T11:00:00.000Z",
            "assigned_group_id": "C",
        },
        status=["new", "resolved"],
        assigned_group_id=["B", "C"],
    )
    again["timestamp"] = STAMP + 91 * 60_000
    changes = [*pulled_created(), *first, *envelope_to_changes(reopen), *envelope_to_changes(again)]
    for order in itertools.permutations(changes):
        state = merge_all(ChatState("conv-1"), list(order))
        assert contact_for(state, LIVE).queue_key == "C"


@pytest.mark.parametrize(
    ("conversation", "model_changes", "stamp"),
    [
        # Already resolved, no transition: a later update must not be backdated.
        ({"status": "resolved", "resolved_time": RESOLVED_AT, "assigned_group_id": "B"}, {}, STAMP),
        # resolved_time not earlier than the envelope: nothing to move.
        (
            {"status": "resolved", "resolved_time": RESOLVED_AT, "assigned_group_id": "B"},
            {"status": ["new", "resolved"]},
            1_793_611_800_000,
        ),
        # A transition without resolved_time resolves at the envelope time.
        ({"status": "resolved", "assigned_group_id": "B"}, {"status": ["new", "resolved"]}, STAMP),
        # Not a transition: resolved → resolved.
        (
            {"status": "resolved", "resolved_time": RESOLVED_AT, "assigned_group_id": "B"},
            {"status": ["resolved", "resolved"]},
            STAMP,
        ),
    ],
)
def test_group_stays_at_the_envelope_time_otherwise(conversation, model_changes, stamp):
    env = update(conversation, **model_changes)
    env["timestamp"] = stamp
    [change] = envelope_to_changes(env)
    assert change.group_time is None
    assert change.group_observed_at == change.at


def test_a_resolution_without_group_information_dates_nothing():
    env = update({"status": "resolved", "resolved_time": RESOLVED_AT}, status=["new", "resolved"])
    env["timestamp"] = STAMP
    [change] = envelope_to_changes(env)
    assert change.group_time is None and not change.says_group
    assert needs_group_lookup(change)


# --------------------------------------------------------------------------- trimming, depth


def test_trim_keeps_only_what_counting_reads():
    env = update(
        {"status": "resolved", "assigned_group_id": "g1", "subject": "refund for Dana"},
        status=["new", "resolved"],
        priority=[None, "High"],
    )
    env["iparams"] = {"api_key": "k"}
    env["currentHost"] = {"endpoint_urls": {}}
    env["data"]["actor"] = {"email": "agent@example.test"}
    env["data"]["associations"] = {"group": {"id": "g1", "name": "Billing", "x": 1}, "user": {}}
    assert trim(env) == {
        "account_id": "123",
        "domain": "acme.freshchat.com",
        "event": "onConversationUpdate",
        "region": "US",
        "timestamp": TS,
        "version": "2.0",
        "data": {
            "conversation": {
                "conversation_id": "conv-1",
                "status": "resolved",
                "assigned_group_id": "g1",
            },
            "changes": {"model_changes": {"status": ["new", "resolved"]}},
            "associations": {"group": {"id": "g1", "name": "Billing"}},
        },
    }


def test_kept_fields_must_be_scalars_so_nothing_hides_in_them():
    env = update({"status": {"text": "secret"}, "is_spam": ["x"]}, status=["new", {"a": 1}])
    env["domain"] = {"name": "x"}
    assert validate_envelope(trim(env)) == [
        "domain: must be a string",
        "data.conversation.status: must be a string",
        "data.conversation.is_spam: must be true or false",
        "data.changes.model_changes.status: expected [old, new]",
    ]


def test_depth_is_measured_without_recursion():
    assert not deeper_than({"a": [{"b": 1}]}, 3)
    assert deeper_than({"a": [{"b": {}}]}, 3)
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert deeper_than(deep)
