"""The one funnel: every change to a chat, pulled or pushed, goes through this module.

Pull (Extract reports) and push (companion-app events) only translate Freshchat's words into
``ChatChange`` records; here they are merged into the stored chat state with the
order-independent rules of ``chatstate.merge``, the contact each chat makes is recomputed
with ``counting.contact_for`` and cached on the row, and the interval statistics of every
interval a batch touched are *rebuilt from the chat rows* in the same transaction. Nothing
is ever incremented, so replays, duplicates and reordering cannot change a count.

Everything works in bounded batches so that memory stays flat for millions of changes, and
each batch is one short write transaction (``BEGIN IMMEDIATE`` on SQLite: the batch reads
rows it then rewrites, and pull and push may run in different threads).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from webapp.changes import ChatChange
from webapp.chat_groups import EmptyGroupListing, GroupRefresh, queue_names, refresh_groups
from webapp.chat_recount import RECOUNT_BATCH_SIZE, ApplyResult, Rewrites, recount
from webapp.chat_row_values import row_values_from_state, state_from_row, stored_triple
from webapp.chat_rows import counting_inputs, load_rows
from webapp.chatstate import ChatState, merge_all
from webapp.counting import contact_for
from webapp.database import write_transaction
from webapp.models import Chat, Group, IntervalStat

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "RECOUNT_BATCH_SIZE",
    "ApplyResult",
    "EmptyGroupListing",
    "GroupRefresh",
    "apply_changes",
    "apply_grouped",
    "delete_chat_data",
    "group_by_conversation",
    "queue_names",
    "recount",
    "refresh_groups",
    "row_values_from_state",
    "state_from_row",
]

DEFAULT_BATCH_SIZE = 2000


def _batches(changes: Iterable[ChatChange], size: int) -> Iterator[list[ChatChange]]:
    iterator = iter(changes)
    while batch := list(islice(iterator, size)):
        yield batch


def group_by_conversation(changes: Iterable[ChatChange]) -> dict[str, list[ChatChange]]:
    """Changes by conversation id, each chat's in the order given."""
    by_conversation: dict[str, list[ChatChange]] = {}
    for change in changes:
        found = by_conversation.get(change.conversation_id)
        if found is None:
            by_conversation[change.conversation_id] = [change]
        else:
            found.append(change)
    return by_conversation


def apply_changes(
    integration_id: int,
    changes: Iterable[ChatChange],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ApplyResult:
    """Merge changes into stored chats and keep their interval statistics derived.

    The iterable is consumed ``batch_size`` changes at a time and never held whole, so a
    backfill of millions of changes runs in flat memory; each batch commits on its own, so
    an interrupted import keeps what it applied and a replay of it changes nothing.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    result = ApplyResult()
    for batch in _batches(changes, batch_size):
        result.add(apply_grouped(integration_id, group_by_conversation(batch)))
    return result


def apply_grouped(
    integration_id: int, by_conversation: Mapping[str, list[ChatChange]]
) -> ApplyResult:
    """Apply changes already grouped by chat, in one write transaction.

    Each chat's stored row is read once (one ``IN`` list per 900 chats), merged with all of
    its changes and written at most once; the intervals whose contacts moved are rebuilt
    before the commit. The caller bounds the batch: it is held whole.
    """
    result = ApplyResult(chats_seen=len(by_conversation))
    with write_transaction(integration_id=integration_id):
        # Read under the write lock, like the chats: a group refresh committed between two
        # batches (another thread) must not leave chats counted against the old group set.
        live, counted_from = counting_inputs(integration_id)
        stored = load_rows(integration_id, list(by_conversation))
        rewrites = Rewrites(integration_id, result)
        no_contact: tuple[Any, Any, Any] = (None, None, None)
        for conversation_id, conversation_changes in by_conversation.items():
            row = stored.get(conversation_id)
            if row is None:
                before = ChatState(conversation_id)
                before_triple = no_contact
                result.chats_created += 1
            else:
                before = state_from_row(row)
                before_triple = stored_triple(row)
            state = merge_all(before, conversation_changes)
            contact = contact_for(state, live, counted_from)
            # A Contact is the (queue, interval, reason) triple itself: a named tuple.
            after_triple = no_contact if contact is None else contact
            if row is not None and after_triple == before_triple and state == before:
                continue
            rewrites.add(state, contact, before_triple, after_triple)
        rewrites.write()
    return result


def delete_chat_data(integration_id: int) -> None:
    """Remove an integration's chats, statistics and groups (admin chose to drop its data)."""
    with write_transaction(integration_id=integration_id):
        IntervalStat.delete().where(IntervalStat.integration == integration_id).execute()
        Chat.delete().where(Chat.integration == integration_id).execute()
        Group.delete().where(Group.integration == integration_id).execute()
