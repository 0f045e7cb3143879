"""Merging observations into one chat's state, as a pure function.

The result must not depend on the order or repetition of changes, because pull and push
deliver the same facts in any interleaving. So every attribute merges with a commutative,
idempotent rule: times that mark a start are minima, times that mark "latest" are maxima,
flags only ever turn on, and the group is kept as a small history of timestamped
observations from which "the group at the latest resolution" is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from webapp.changes import NO_GROUP_INFO, ChatChange

GroupObservation = tuple[datetime, str | None]


class ChatState(NamedTuple):
    """What we know of one conversation. Mirrors the ``Chat`` table, minus bookkeeping.

    A named tuple: immutable like a frozen dataclass, and several times cheaper to build
    (one per chat of a pull window, bench/bench_floor.py).
    """

    conversation_id: str
    created_time: datetime | None = None
    first_seen_time: datetime | None = None
    first_resolved_time: datetime | None = None
    last_resolved_time: datetime | None = None
    status: str | None = None
    status_time: datetime | None = None
    group_history: tuple[GroupObservation, ...] = ()
    spam: bool = False
    deleted: bool = False
    last_change_time: datetime | None = None

    @property
    def current_group_id(self) -> str | None:
        """The group of the newest observation (None when unassigned or never seen)."""
        return self.group_history[-1][1] if self.group_history else None

    def group_at(self, when: datetime) -> tuple[bool, str | None]:
        """(known, group id) as of ``when``: the newest observation not after it.

        When no observation precedes ``when`` the earliest one is used: a chat's first
        group is the best evidence we have of where it was before anyone said otherwise.
        """
        if not self.group_history:
            return False, None
        chosen = self.group_history[0]
        for observation in self.group_history:
            if observation[0] <= when:
                chosen = observation
            else:
                break
        return True, chosen[1]


def _sort_key(observation: GroupObservation) -> tuple[datetime, str]:
    # Ties at the same instant need a stable, order-independent winner.
    return observation[0], observation[1] or ""


def merge(state: ChatState, change: ChatChange) -> ChatState:
    """Fold one change into a state. Commutative and idempotent by construction."""
    return merge_all(state, (change,))


def merge_all(state: ChatState, changes: Sequence[ChatChange]) -> ChatState:
    """Fold all of a chat's changes into its state, building one state at the end.

    The rules are those of folding the changes one by one (minima, maxima, flags that only
    turn on, a sorted history of distinct observations), applied in one pass: building a
    state per change was most of merging a pull window (bench/bench_floor.py).
    """
    if not changes:
        return state
    (
        conversation_id,
        created,
        seen,
        first_resolved,
        last_resolved,
        status,
        status_time,
        history,
        spam,
        deleted,
        last_change,
    ) = state
    observations: list[GroupObservation] | None = None
    for change in changes:
        # One unpacking, in ChatChange's field order: cheaper than ten attribute reads.
        (
            change_id,
            at,
            created_time,
            resolved,
            said,
            group_id,
            change_spam,
            change_deleted,
            group_time,
            arrival_unknown,
        ) = change
        if change_id != conversation_id:
            raise ValueError("change is for another conversation")
        if created_time is not None:
            if created is None or created_time < created:
                created = created_time
            if seen is None or created_time < seen:
                seen = created_time
        if not arrival_unknown and (seen is None or at < seen):
            seen = at
        if resolved is not None:
            if first_resolved is None or resolved < first_resolved:
                first_resolved = resolved
            if last_resolved is None or resolved > last_resolved:
                last_resolved = resolved
        if said is not None and (
            status_time is None
            or at > status_time
            or (at == status_time and said.lower() > (status or "").lower())
        ):
            status, status_time = said.lower(), at
        if group_id != NO_GROUP_INFO:
            observation = (group_time or at, group_id)
            if observations is None:
                observations = [*history, observation]
            elif observation not in observations:
                observations.append(observation)
        if change_spam:
            spam = True
        if change_deleted:
            deleted = True
        if last_change is None or at > last_change:
            last_change = at
    if observations is not None:
        history = _history_with(history, observations)
    # The C tuple constructor in field order: the named tuple's ``__new__`` (a Python
    # function) and ``dataclasses.replace`` before it cost more than the merge itself.
    return _new_state(
        ChatState,
        (
            conversation_id,
            created,
            seen,
            first_resolved,
            last_resolved,
            status,
            status_time,
            history,
            spam,
            deleted,
            last_change,
        ),
    )


_new_state = tuple.__new__


def _history_with(
    history: tuple[GroupObservation, ...], observations: list[GroupObservation]
) -> tuple[GroupObservation, ...]:
    """``history`` followed by ``observations`` (the first ``len(history)`` of which are
    ``history`` itself, then new ones, possibly repeating stored ones), distinct and sorted
    stably, like inserting them one by one."""
    count = len(history)
    if count:
        # A change may repeat an observation already stored (a replayed file).
        observations = observations[:count] + [
            observation for observation in observations[count:] if observation not in history
        ]
        if len(observations) == count:
            return history
    if len(observations) == 1:
        return (observations[0],)
    if len(observations) == 2:
        first, second = observations
        if first == second:
            return (first,)
        if first[0] < second[0]:  # most chats: a group at creation, one at resolution
            return (first, second)
        if second[0] < first[0]:  # the same, heard in the other order
            return (second, first)
    # Stable, like inserting one by one: ties keep the order observations came in.
    return tuple(sorted(dict.fromkeys(observations), key=_sort_key))
