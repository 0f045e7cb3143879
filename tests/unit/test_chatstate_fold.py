"""``merge_all`` folds a chat's changes in one pass: it must equal folding them one by one.

The pull applies each chat's changes with one ``merge_all`` (one state per chat, not per
change); push applies single changes with ``merge``. Both must reach the same state for
any changes in any order and split, or pull and push would disagree.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import reduce

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.chatstate import ChatState, merge, merge_all

T0 = datetime(2024, 3, 4, 9, 0)


def _random_change(rng: random.Random) -> ChatChange:
    def when() -> datetime:
        # Few distinct instants, so ties (same time, other status or group) are common.
        return T0 + timedelta(minutes=rng.randrange(6))

    def maybe(value):
        return value if rng.random() < 0.5 else None

    return ChatChange(
        "c1",
        when(),
        created_time=maybe(when()),
        resolved_time=maybe(when()),
        status=rng.choice([None, "new", "Resolved", "resolved", "assigned", "NEW"]),
        group_id=rng.choice([NO_GROUP_INFO, None, "", "g1", "g2"]),
        spam=rng.random() < 0.1,
        deleted=rng.random() < 0.1,
        group_time=maybe(when()),
        arrival_unknown=rng.random() < 0.5,
    )


def test_one_pass_fold_equals_folding_change_by_change_for_random_changes():
    rng = random.Random(20261201)
    for _ in range(2000):
        changes = [_random_change(rng) for _ in range(rng.randrange(1, 8))]
        split = rng.randrange(len(changes) + 1)
        stored = merge_all(ChatState("c1"), changes[:split])

        one_by_one = reduce(merge, changes[split:], stored)

        assert merge_all(stored, changes[split:]) == one_by_one
        assert merge_all(ChatState("c1"), changes) == reduce(merge, changes, ChatState("c1"))


def test_fold_of_nothing_is_the_state_itself():
    state = merge(ChatState("c1"), ChatChange("c1", T0, group_id="g1"))

    assert merge_all(state, []) is state


def test_fold_refuses_a_change_of_another_chat_anywhere_in_the_list():
    changes = [ChatChange("c1", T0), ChatChange("c2", T0)]

    try:
        merge_all(ChatState("c1"), changes)
    except ValueError as error:
        assert "another conversation" in str(error)
    else:
        raise AssertionError("a change of another chat was folded in")


def _reference_history(stored: tuple, changes: list[ChatChange]) -> tuple:
    """The group rule in its plainest words: every distinct observation, stored ones
    first, sorted by time (then group id, None as ""), ties kept in arrival order."""
    observations = list(stored)
    for change in changes:
        if change.group_id != NO_GROUP_INFO:
            observation = (change.group_time or change.at, change.group_id)
            if observation not in observations:
                observations.append(observation)
    return tuple(sorted(observations, key=lambda seen: (seen[0], seen[1] or "")))


def test_the_group_history_is_every_distinct_observation_in_time_order():
    rng = random.Random(1201)
    for _ in range(3000):
        changes = [_random_change(rng) for _ in range(rng.randrange(1, 6))]
        split = rng.randrange(len(changes) + 1)
        stored = merge_all(ChatState("c1"), changes[:split])
        assert stored.group_history == _reference_history((), changes[:split])

        merged = merge_all(stored, changes[split:] + changes[:1])  # and a repeated one

        assert merged.group_history == _reference_history(
            stored.group_history, changes[split:] + changes[:1]
        )
