"""Rewriting chat rows whose contact changed, and recounting chats from stored state.

Applying changes and recounting both end the same way: upsert the rewritten rows, then
rebuild exactly the intervals a contact left or entered, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import Expression

from webapp import chat_row_values, chat_rows
from webapp.chat_row_values import contact_triple, state_from_row, stored_triple
from webapp.chat_rows import counting_inputs
from webapp.chatstate import ChatState
from webapp.counting import Contact, contact_for
from webapp.database import is_sqlite, write_transaction
from webapp.extensions import db
from webapp.models import Chat

# Chats read per transaction when recounting from stored state.
RECOUNT_BATCH_SIZE = 2000


@dataclass(slots=True)
class ApplyResult:
    """What one call changed, for sync history and progress.

    Counts are summed over batches so that memory stays flat: a conversation whose changes
    straddle a batch boundary is seen (and may change its contact) once per batch.
    """

    chats_seen: int = 0
    chats_created: int = 0
    contacts_changed: int = 0
    intervals_recomputed: int = 0

    def add(self, other: ApplyResult) -> None:
        """Accumulate another result (e.g. the recount that follows a group refresh)."""
        self.chats_seen += other.chats_seen
        self.chats_created += other.chats_created
        self.contacts_changed += other.contacts_changed
        self.intervals_recomputed += other.intervals_recomputed


class Rewrites:
    """Chat rows one transaction rewrites, and the intervals whose counts they move.

    Shared by applying changes and recounting: both end by upserting the rows and
    recomputing exactly the intervals a contact left or entered.
    """

    def __init__(self, integration_id: int, result: ApplyResult) -> None:
        self.integration_id = integration_id
        self.result = result
        self.rows: list[tuple] = []
        self.touched: set[datetime] = set()
        self.values = (
            chat_row_values.sqlite_write_values
            if is_sqlite(db.obj)
            else chat_row_values.write_values
        )

    def add(self, state: ChatState, contact: Contact | None, before: tuple, after: tuple) -> None:
        self.rows.append(self.values(self.integration_id, state, contact))
        if before[0] != after[0] or before[1] != after[1]:
            self.result.contacts_changed += 1
            if before[1] is not None:
                self.touched.add(before[1])
            if after[1] is not None:
                self.touched.add(after[1])

    def write(self) -> None:
        chat_rows.upsert(self.rows)
        if self.touched:
            self.result.intervals_recomputed += chat_rows.recompute_intervals(
                self.integration_id, self.touched
            )


def recount(integration_id: int) -> ApplyResult:
    """Recompute every chat's contact from its stored state and fix the statistics.

    Needed when what counting depends on, other than the chat itself, has changed (the set
    of live groups, or the counting rules in a new release). Reads chats by id ranges, one
    transaction per range, so memory stays flat however many chats there are.
    """
    return recount_where(integration_id)


def recount_where(integration_id: int, only: Expression | None = None) -> ApplyResult:
    result = ApplyResult()
    last_id = 0
    while True:
        with write_transaction(integration_id=integration_id):
            live, counted_from = counting_inputs(integration_id)
            condition = (Chat.integration == integration_id) & (Chat.id > last_id)
            if only is not None:
                condition &= only
            query = Chat.select().where(condition).order_by(Chat.id).limit(RECOUNT_BATCH_SIZE)
            rows = list(query.dicts())
            if not rows:
                break
            last_id = rows[-1]["id"]
            result.chats_seen += len(rows)
            rewrites = Rewrites(integration_id, result)
            for row in rows:
                state = state_from_row(row)
                contact = contact_for(state, live, counted_from)
                before_triple = stored_triple(row)
                after_triple = contact_triple(contact)
                if after_triple == before_triple:
                    continue
                rewrites.add(state, contact, before_triple, after_triple)
            rewrites.write()
    return result
