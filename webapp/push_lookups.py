"""Group lookups for pushed events whose resolution leaves the chat's queue unknown.

A resolution without a group, on a chat never seen with one, needs ``GET
/conversations/<id>``. That call never happens inside a request (the marketplace gives a
batch ~6 s); such events wait, and ``webapp.push.apply_pending_for`` settles them here.

Choices:

* A lookup answering 404 means the chat was deleted (Undefined_Queue). The group it
  reports is recorded as observed at the conversation's ``updated_time``: that is a true
  statement, and it never overrides what we saw at the resolution itself.
* A 404 for a conversation this app has **never seen** (no stored chat, no creation in
  the batch) is not a deleted chat: Freshchat answers 404 alike for a deleted chat and for
  an id it never had, and only our own history tells them apart. Such a resolution is not
  counted; the event is kept, marked with the reason, and shows on the integration page.
  So Undefined_Queue's "deleted" contacts are chats seen alive, then gone.
* When Freshchat cannot answer (key rejected, unreachable...), the events stay pending and
  are retried; after ``LOOKUP_GIVE_UP`` they are applied without the group (the next pull
  brings it anyway) and the error is kept on the event for the admin to see. The first
  failure other than 404 stops lookups for the run: the account or the network is in
  trouble.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from webapp.changes import ChatChange
from webapp.chatstate import ChatState, merge
from webapp.clients import ClientFactory
from webapp.counting import group_unknown
from webapp.database import padded_in_lists, prepared_sql
from webapp.extensions import db
from webapp.freshchat.client import FreshchatClient, FreshchatError, NotFound
from webapp.models import Chat, Integration
from webapp.timeutil import parse_timestamp, utcnow

LOOKUP_GIVE_UP = timedelta(hours=6)


@dataclass(slots=True)
class Item:
    """A stored event on its way into the funnel."""

    event_id: int
    changes: tuple[ChatChange, ...]
    envelope: dict[str, Any]
    received_at: datetime | None = None


def lookup_needed(integration_id: int, items: Sequence[Item]) -> set[str]:
    """Conversations whose queue hangs on a group nobody has told us, even after this batch:
    ``counting.group_unknown`` of what the batch says of each chat.

    A chat stored with any group observation has a known group at every time (its earliest
    group stands in, as for the pull: ``ChatState.group_at``), so it needs no lookup either.
    """
    said: dict[str, ChatState] = {}
    for item in items:
        for change in item.changes:
            cid = change.conversation_id
            said[cid] = merge(said.get(cid) or ChatState(cid), change)
    candidates = sorted(cid for cid, state in said.items() if group_unknown(state))
    if not candidates:
        return set()
    known: set[str] = set()
    for size, values in padded_in_lists(candidates):
        sql = prepared_sql(
            ("push.histories", size),
            lambda size=size: Chat.select(Chat.conversation_id, Chat.group_history).where(
                (Chat.integration == 0) & Chat.conversation_id.in_([""] * size)
            ),
        )
        cursor = db.execute_sql(sql, [integration_id, *values])
        known.update(cid for cid, history in cursor if history and history != "[]")
    return set(candidates) - known


def lookup(client: FreshchatClient, conversation_id: str, at: datetime) -> ChatChange:
    """What ``GET /conversations/<id>`` says about the chat's group (404: deleted)."""
    try:
        body = client.get_conversation(conversation_id)
    except NotFound:
        return ChatChange(conversation_id, at, deleted=True)
    raw_group = body.get("assigned_group_id")
    group_id = None
    if raw_group is not None and not isinstance(raw_group, bool) and str(raw_group).strip():
        group_id = str(raw_group).strip()
    try:
        updated = parse_timestamp(body.get("updated_time"))
    except (ValueError, OverflowError, OSError, TypeError):
        updated = None
    return ChatChange(conversation_id, updated or utcnow(), group_id=group_id)


@dataclass(slots=True)
class Settled:
    """One chunk of pending events sorted out: what to apply now and what still waits."""

    ready: list[Item] = field(default_factory=list)
    extra: list[ChatChange] = field(default_factory=list)  # what lookups learnt
    errors: dict[int, str] = field(default_factory=dict)  # applied anyway, with a note
    waiting: dict[int, str] = field(default_factory=dict)  # event id → why it waits


class Lookups:
    """Lookups for one integration's run: one client, one cache, stop at first failure."""

    def __init__(
        self, integration: Integration, client_factory: ClientFactory | None, now: datetime
    ) -> None:
        self.integration = integration
        self.client_factory = client_factory
        self.now = now
        self.client: FreshchatClient | None = None
        self.error: str | None = None
        self.looked_up: dict[str, ChatChange] = {}

    def _client(self) -> FreshchatClient | None:
        if self.error is None and self.client is None:
            try:
                if self.client_factory is None:
                    raise FreshchatError("no Freshchat client is available here")
                self.client = self.client_factory(self.integration)
            except (FreshchatError, ValueError) as exc:
                self.error = str(exc)
        return self.client if self.error is None else None

    def settle(self, items: Sequence[Item]) -> Settled:
        """Look up what ``items`` need, then sort them into ready and waiting."""
        needed = lookup_needed(self.integration.id, items)
        latest: dict[str, datetime] = {}
        for c in (c for item in items for c in item.changes if c.conversation_id in needed):
            if c.conversation_id not in latest or c.at > latest[c.conversation_id]:
                latest[c.conversation_id] = c.at
        failed: dict[str, str] = {}
        for conversation_id in sorted(needed - set(self.looked_up)):
            client = self._client()
            if client is None:
                failed[conversation_id] = self.error or "no Freshchat client"
                continue
            try:
                at = latest.get(conversation_id, self.now)
                self.looked_up[conversation_id] = lookup(client, conversation_id, at)
            except FreshchatError as exc:
                self.error = str(exc)
                failed[conversation_id] = self.error
        never_known = self._never_known(items, needed)
        settled = Settled()
        for item in items:
            gone = sorted({c.conversation_id for c in item.changes} & never_known)
            if gone:
                settled.errors[item.event_id] = (
                    f"not counted: Freshchat does not know conversation {gone[0]} (404) and "
                    "it was never seen here, so it is not a deleted chat"
                )
                kept = tuple(c for c in item.changes if c.conversation_id not in never_known)
                item = Item(item.event_id, kept, item.envelope, item.received_at)
            blocked = [c.conversation_id for c in item.changes if c.conversation_id in failed]
            if not blocked:
                settled.ready.append(item)
                continue
            message = f"group lookup failed: {failed[blocked[0]]}"
            if item.received_at is not None and self.now - item.received_at >= LOOKUP_GIVE_UP:
                settled.ready.append(item)
                settled.errors[item.event_id] = "applied without its group; " + message
            else:
                settled.waiting[item.event_id] = message
        settled.extra = [
            self.looked_up[cid] for cid in sorted(needed - never_known) if cid in self.looked_up
        ]
        return settled

    def _never_known(self, items: Sequence[Item], needed: set[str]) -> set[str]:
        """Conversations Freshchat answered 404 for that were never seen here."""
        missing = {cid for cid in needed if cid in self.looked_up and self.looked_up[cid].deleted}
        if not missing:
            return set()
        created = {
            c.conversation_id
            for item in items
            for c in item.changes
            if c.created_time is not None and c.conversation_id in missing
        }
        stored = {
            cid
            for (cid,) in Chat.select(Chat.conversation_id)
            .where(
                (Chat.integration == self.integration.id)
                & Chat.conversation_id.in_(sorted(missing))
            )
            .tuples()
        }
        return missing - created - stored
