"""Merging observations into one chat's state, as a pure function.

The result must not depend on the order or repetition of changes, because pull and push
deliver the same facts in any interleaving. So every attribute merges with a commutative,
idempotent rule: times that mark a start are minima, times that mark "latest" are maxima,
flags only ever turn on, and the group is kept as a small history of timestamped
observations from which "the group at the latest resolution" is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from webapp.changes import ChatChange

GroupObservation = tuple[datetime, str | None]


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass(frozen=True, slots=True)
class ChatState:
    """What we know of one conversation. Mirrors the ``Chat`` table, minus bookkeeping."""

    conversation_id: str
    created_time: datetime | None = None
    first_seen_time: datetime | None = None
    first_resolved_time: datetime | None = None
    last_resolved_time: datetime | None = None
    status: str | None = None
    status_time: datetime | None = None
    group_history: tuple[GroupObservation, ...] = field(default_factory=tuple)
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
    if change.conversation_id != state.conversation_id:
        raise ValueError("change is for another conversation")
    history = state.group_history
    if change.says_group:
        observation = (change.group_observed_at, change.group_id)
        if observation not in history:
            history = tuple(sorted((*history, observation), key=_sort_key))
    status, status_time = state.status, state.status_time
    if change.status is not None and (
        status_time is None
        or change.at > status_time
        or (change.at == status_time and change.status.lower() > (status or "").lower())
    ):
        status, status_time = change.status.lower(), change.at
    # The constructor, positionally in field order: ``dataclasses.replace`` cost more than
    # the whole merge on a backfill (bench/bench_floor.py).
    return ChatState(
        state.conversation_id,
        _min(state.created_time, change.created_time),
        _min(
            state.first_seen_time,
            _min(change.created_time, None if change.arrival_unknown else change.at),
        ),
        _min(state.first_resolved_time, change.resolved_time),
        _max(state.last_resolved_time, change.resolved_time),
        status,
        status_time,
        history,
        state.spam or change.spam,
        state.deleted or change.deleted,
        _max(state.last_change_time, change.at),
    )


def merge_all(state: ChatState, changes: list[ChatChange]) -> ChatState:
    """Fold many changes; a convenience for tests and batch application."""
    for change in changes:
        state = merge(state, change)
    return state
