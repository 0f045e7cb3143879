"""The counting rules of PRODUCT.md "Data rules", and nothing else.

Pure functions from a chat's state to the contact it makes (queue, interval) or to nothing.
Interval statistics are *derived* from these answers, so replaying data, duplicate events
or reordering cannot change a count: the same state always gives the same contact.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from webapp.chatstate import ChatState
from webapp.refusals import N_  # words translated where shown
from webapp.timeutil import floor_interval

UNDEFINED_QUEUE = "Undefined_Queue"
# Queues are keyed by Freshchat group id (names can be renamed or repeated); this key
# stands for Undefined_Queue.
UNDEFINED_QUEUE_KEY = ""

REASON_GROUP = "group at its latest resolution"
REASON_SPAM = "marked as spam: group cannot be determined"
REASON_DELETED = "deleted: group cannot be determined"
REASON_NO_GROUP = "no group assigned when resolved"
REASON_GROUP_GONE = "its group no longer exists in Freshchat"

# The rules in plain words, for the pages that explain a count.
RULES_IN_WORDS = N_(
    "Each chat counts once, when it has ended (resolved, spam or deleted), in the 15-minute "
    "interval in which it was created, in the queue of its group at its latest resolution."
)


class Contact(NamedTuple):
    """One counted contact: where it lands and a plain-words reason why (a named tuple:
    immutable, and cheap to build for every chat of a pull window)."""

    queue_key: str
    interval_start: datetime
    reason: str


def has_ended(state: ChatState) -> bool:
    """A chat counts once it has ended at least once: resolved, deleted or spam."""
    return state.first_resolved_time is not None or state.spam or state.deleted


def arrival_time(state: ChatState) -> datetime | None:
    """The customer's arrival: Freshchat's created time, else the earliest time we saw."""
    return state.created_time or state.first_seen_time


def group_at_resolution(state: ChatState) -> tuple[bool, str | None]:
    """(known, group id) at the chat's latest resolution: the group whose queue it joins."""
    if state.last_resolved_time is None:
        return False, None
    return state.group_at(state.last_resolved_time)


def group_unknown(state: ChatState) -> bool:
    """Whether the queue of this chat hangs on a group nobody has told us yet: resolved,
    neither spam nor deleted (those go to Undefined_Queue whatever the group), and no group
    known at its latest resolution. Asking Freshchat can change only such a chat's count."""
    if state.deleted or state.spam or state.last_resolved_time is None:
        return False
    known, _group_id = group_at_resolution(state)
    return not known


def queue_for(state: ChatState, live_group_ids: Container[str]) -> tuple[str, str]:
    """(queue key, reason) for an ended chat."""
    if state.deleted:
        return UNDEFINED_QUEUE_KEY, REASON_DELETED
    if state.spam:
        return UNDEFINED_QUEUE_KEY, REASON_SPAM
    known, group_id = group_at_resolution(state)
    if not known or not group_id:
        return UNDEFINED_QUEUE_KEY, REASON_NO_GROUP
    if group_id not in live_group_ids:
        return UNDEFINED_QUEUE_KEY, REASON_GROUP_GONE
    return group_id, REASON_GROUP


def contact_for(
    state: ChatState, live_group_ids: Container[str], counted_from: datetime | None = None
) -> Contact | None:
    """The contact a chat makes, or None while it has not ended (or has no known time).

    ``live_group_ids`` are the groups Freshchat currently lists; a chat whose group is
    gone is counted in Undefined_Queue, as PRODUCT.md asks. ``counted_from`` is where the
    imported history starts: an earlier chat is known only by what happened to it later
    (a resolution inside the window), so counting it would make the intervals before the
    backfill look like real but partial volumes.
    """
    if not has_ended(state):
        return None
    arrived = arrival_time(state)
    if arrived is None or (counted_from is not None and arrived < counted_from):
        return None
    queue_key, reason = queue_for(state, live_group_ids)
    return _new_contact(Contact, (queue_key, floor_interval(arrived), reason))


# The C tuple constructor: the named tuple's own ``__new__`` is a Python function, and a
# pull window makes a contact for every chat (bench/bench_floor.py).
_new_contact = tuple.__new__


@dataclass(frozen=True, slots=True)
class WhyHere:
    """What placed a counted chat, for the explanation of a count.

    ``arrived`` chose the interval, ``group_id`` (the group at ``resolved``, the latest
    resolution) chose the queue; ``reopened`` says the chat was reopened after that
    resolution and is open now: it still counts (it ended once), and a later resolution
    would move it to the group it has then.
    """

    arrived: datetime | None
    resolved: datetime | None
    group_id: str | None
    reopened: bool


def why_here(state: ChatState) -> WhyHere:
    """The facts of ``state`` the rules above read, as the explanation shows them."""
    known, group_id = group_at_resolution(state)
    if not known and state.group_history and state.last_resolved_time is None:
        group_id = state.current_group_id  # spam or deleted before any resolution
    reopened = (
        state.last_resolved_time is not None
        and state.status is not None
        and state.status != "resolved"
        and state.status_time is not None
        and state.status_time > state.last_resolved_time
    )
    return WhyHere(arrival_time(state), state.last_resolved_time, group_id, reopened)
