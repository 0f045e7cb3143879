"""Counting also answers "why is this chat here" (the explanation of a count) and "does
its queue hang on a group nobody told us" (the push lookups): the same rules, asked."""

from __future__ import annotations

import itertools

import pytest

from tests.unit.test_counting import (
    BACK,
    CREATED,
    DELETED,
    EXAMPLE,
    LIVE,
    MOVED,
    REOPENED,
    RESOLVED,
    RESOLVED_AGAIN,
    SPAM,
    at,
    state_of,
)
from webapp.changes import ChatChange
from webapp.counting import WhyHere, contact_for, group_unknown, queue_for, why_here


def test_why_names_the_arrival_and_the_group_of_the_latest_resolution():
    state = state_of(*EXAMPLE)
    assert why_here(state) == WhyHere(at(0), at(90), "g1", reopened=False)
    contact = contact_for(state, LIVE)
    assert contact is not None and contact.queue_key == why_here(state).group_id


def test_why_follows_every_order_of_the_changes():
    expected = why_here(state_of(*EXAMPLE))
    for order in itertools.permutations(EXAMPLE):
        assert why_here(state_of(*order)) == expected


def test_a_chat_reopened_after_its_resolution_is_said_so_and_still_counts():
    state = state_of(CREATED, MOVED, RESOLVED, REOPENED, BACK)
    why = why_here(state)
    assert why.reopened and why.resolved == at(10)
    assert why.group_id == "g2"  # its queue is still the group it had when resolved
    assert contact_for(state, LIVE) is not None
    resolved_again = why_here(state_of(CREATED, MOVED, RESOLVED, REOPENED, BACK, RESOLVED_AGAIN))
    assert not resolved_again.reopened and resolved_again.group_id == "g1"


def test_the_arrival_is_the_earliest_time_seen_when_freshchat_gave_no_creation():
    seen = ChatChange("c1", at=at(5), group_id="g1")
    resolved = ChatChange("c1", at=at(10), resolved_time=at(10), status="resolved")
    assert why_here(state_of(seen, resolved)).arrived == at(5)


def test_a_spam_chat_never_resolved_shows_its_latest_group():
    why = why_here(state_of(CREATED, MOVED, SPAM))
    assert why == WhyHere(at(0), None, "g2", reopened=False)


@pytest.mark.parametrize(
    ("changes", "unknown"),
    [
        ((ChatChange("c1", at=at(10), resolved_time=at(10)),), True),
        ((ChatChange("c1", at=at(10), resolved_time=at(10), group_id=None),), False),
        ((ChatChange("c1", at=at(10), resolved_time=at(10)), CREATED), False),
        ((ChatChange("c1", at=at(10), resolved_time=at(10)), SPAM), False),
        ((ChatChange("c1", at=at(10), resolved_time=at(10)), DELETED), False),
        ((CREATED,), False),  # not resolved: nothing to place yet
    ],
    ids=["resolved-no-group", "resolved-no-group-said", "group-known", "spam", "deleted", "open"],
)
def test_group_unknown_is_the_undefined_queue_rule_that_a_lookup_can_change(changes, unknown):
    state = state_of(*changes)
    assert group_unknown(state) is unknown
    if unknown:
        assert queue_for(state, LIVE)[0] == ""  # Undefined_Queue until someone says
