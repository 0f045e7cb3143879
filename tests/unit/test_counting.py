"""The pure rules: chatstate.merge and counting.contact_for, without a database."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from webapp.changes import ChatChange
from webapp.chatstate import ChatState, merge, merge_all
from webapp.counting import (
    REASON_DELETED,
    REASON_GROUP,
    REASON_GROUP_GONE,
    REASON_NO_GROUP,
    REASON_SPAM,
    UNDEFINED_QUEUE_KEY,
    Contact,
    arrival_time,
    contact_for,
    has_ended,
    queue_for,
)

T0 = datetime(2024, 3, 4, 9, 7, 30)
LIVE = frozenset({"g1", "g2"})


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def state_of(*changes: ChatChange) -> ChatState:
    return merge_all(ChatState("c1"), list(changes))


CREATED = ChatChange("c1", at=at(0), created_time=at(0), status="new", group_id="g1")
MOVED = ChatChange("c1", at=at(2), group_id="g2")
RESOLVED = ChatChange("c1", at=at(10), resolved_time=at(10), status="resolved")
REOPENED = ChatChange("c1", at=at(60), status="new")
BACK = ChatChange("c1", at=at(61), group_id="g1")
RESOLVED_AGAIN = ChatChange("c1", at=at(90), resolved_time=at(90), status="resolved")
UNASSIGNED = ChatChange("c1", at=at(3), group_id=None)
SPAM = ChatChange("c1", at=at(120), spam=True)
DELETED = ChatChange("c1", at=at(130), deleted=True)
EXAMPLE = [CREATED, MOVED, RESOLVED, REOPENED, BACK, RESOLVED_AGAIN]


# --------------------------------------------------------------------------- merge


def test_merge_is_commutative_over_every_order_of_an_example():
    expected = state_of(*EXAMPLE)

    for order in itertools.permutations(EXAMPLE):
        assert state_of(*order) == expected


def test_merge_is_idempotent():
    once = state_of(*EXAMPLE)

    assert state_of(*EXAMPLE, *EXAMPLE) == once
    for change in EXAMPLE:
        assert merge(once, change) == once


def test_merge_keeps_minimum_start_times_and_maximum_latest_times():
    state = state_of(RESOLVED_AGAIN, CREATED, RESOLVED)

    assert state.created_time == at(0)
    assert state.first_seen_time == at(0)
    assert state.first_resolved_time == at(10)
    assert state.last_resolved_time == at(90)
    assert state.last_change_time == at(90)
    assert state.status == "resolved"
    assert state.status_time == at(90)


def test_newest_status_wins_and_ties_break_independently_of_order():
    older = ChatChange("c1", at=at(5), status="Resolved")
    newer = ChatChange("c1", at=at(6), status="new")
    assert state_of(newer, older).status == "new"
    assert state_of(older, newer).status == "new"

    tie_a = ChatChange("c1", at=at(5), status="resolved")
    tie_b = ChatChange("c1", at=at(5), status="new")
    assert state_of(tie_a, tie_b) == state_of(tie_b, tie_a)


def test_flags_only_turn_on():
    state = state_of(SPAM, DELETED, CREATED, REOPENED)

    assert state.spam and state.deleted


def test_first_seen_time_falls_back_to_the_earliest_observation():
    state = state_of(RESOLVED, MOVED)

    assert state.created_time is None
    assert state.first_seen_time == at(2)
    assert arrival_time(state) == at(2)
    assert arrival_time(state_of(RESOLVED, CREATED)) == at(0)


def test_merge_refuses_another_conversation():
    with pytest.raises(ValueError):
        merge(ChatState("other"), CREATED)


def test_changes_without_group_information_leave_the_history_alone():
    state = state_of(CREATED, RESOLVED, REOPENED)

    assert state.group_history == ((at(0), "g1"),)
    assert not RESOLVED.says_group
    assert UNASSIGNED.says_group


# --------------------------------------------------------------------------- group_at


def test_group_at_reads_the_newest_observation_not_after_the_time():
    state = state_of(CREATED, MOVED, BACK)

    assert state.group_at(at(0)) == (True, "g1")
    assert state.group_at(at(1)) == (True, "g1")
    assert state.group_at(at(2)) == (True, "g2")  # an observation at the instant counts
    assert state.group_at(at(60)) == (True, "g2")
    assert state.group_at(at(61)) == (True, "g1")
    assert state.current_group_id == "g1"


def test_group_at_before_any_observation_uses_the_first_one():
    assert state_of(MOVED).group_at(at(-100)) == (True, "g2")


def test_group_at_without_observations_is_unknown():
    assert state_of(RESOLVED).group_at(at(10)) == (False, None)
    assert state_of(CREATED, UNASSIGNED).group_at(at(5)) == (True, None)


# --------------------------------------------------------------------------- has_ended


@pytest.mark.parametrize(
    ("changes", "ended"),
    [
        ((CREATED,), False),
        ((CREATED, MOVED, REOPENED), False),
        ((CREATED, RESOLVED), True),
        ((CREATED, RESOLVED, REOPENED), True),  # reopening never un-counts
        ((CREATED, SPAM), True),
        ((CREATED, DELETED), True),
    ],
)
def test_has_ended(changes, ended):
    assert has_ended(state_of(*changes)) is ended


# --------------------------------------------------------------------------- contact_for


@pytest.mark.parametrize(
    ("changes", "queue_key", "reason"),
    [
        ((CREATED, RESOLVED), "g1", REASON_GROUP),
        ((CREATED, MOVED, RESOLVED), "g2", REASON_GROUP),
        ((CREATED, MOVED, RESOLVED, REOPENED, BACK), "g2", REASON_GROUP),
        ((CREATED, MOVED, RESOLVED, REOPENED, BACK, RESOLVED_AGAIN), "g1", REASON_GROUP),
        ((CREATED, RESOLVED, SPAM), UNDEFINED_QUEUE_KEY, REASON_SPAM),
        ((CREATED, RESOLVED, DELETED), UNDEFINED_QUEUE_KEY, REASON_DELETED),
        ((CREATED, SPAM, DELETED), UNDEFINED_QUEUE_KEY, REASON_DELETED),
        ((CREATED, UNASSIGNED, RESOLVED), UNDEFINED_QUEUE_KEY, REASON_NO_GROUP),
        ((ChatChange("c1", at=at(0), created_time=at(0)), RESOLVED), "", REASON_NO_GROUP),
        (
            (ChatChange("c1", at=at(0), created_time=at(0), group_id="gone"), RESOLVED),
            UNDEFINED_QUEUE_KEY,
            REASON_GROUP_GONE,
        ),
    ],
)
def test_contact_for_queue_and_reason(changes, queue_key, reason):
    contact = contact_for(state_of(*changes), LIVE)

    assert contact == Contact(queue_key, datetime(2024, 3, 4, 9, 0), reason)


def test_open_chat_makes_no_contact():
    assert contact_for(state_of(CREATED, MOVED), LIVE) is None


def test_contact_lands_in_the_arrival_interval_even_days_later():
    late = ChatChange("c1", at=at(3 * 24 * 60), resolved_time=at(3 * 24 * 60))

    contact = contact_for(state_of(CREATED, late), LIVE)

    assert contact is not None
    assert contact.interval_start == datetime(2024, 3, 4, 9, 0)


@pytest.mark.parametrize(
    ("created", "interval"),
    [
        (datetime(2024, 3, 4, 9, 14, 59, 999000), datetime(2024, 3, 4, 9, 0)),
        (datetime(2024, 3, 4, 9, 15), datetime(2024, 3, 4, 9, 15)),
        (datetime(2024, 3, 4, 9, 44, 59), datetime(2024, 3, 4, 9, 30)),
        (datetime(2024, 3, 4, 23, 59, 59, 999000), datetime(2024, 3, 4, 23, 45)),
    ],
)
def test_interval_boundaries(created, interval):
    state = state_of(
        ChatChange("c1", at=created, created_time=created, group_id="g1"),
        ChatChange("c1", at=created, resolved_time=created),
    )

    assert contact_for(state, LIVE) == Contact("g1", interval, REASON_GROUP)


def test_queue_for_a_group_that_disappears_and_comes_back():
    state = state_of(CREATED, RESOLVED)

    assert queue_for(state, LIVE) == ("g1", REASON_GROUP)
    assert queue_for(state, {"g2"}) == (UNDEFINED_QUEUE_KEY, REASON_GROUP_GONE)


def test_ended_chat_without_any_time_makes_no_contact():
    # Only reachable by hand: every change carries ``at``, which sets first_seen_time.
    assert contact_for(ChatState("c1", spam=True), LIVE) is None
