"""Pushed companion-app events: store first, apply through the same funnel as the pull.

The life of one ``POST /api/v1/freshchat/events`` (``webapp.views.api`` is the thin door):

1. The whole body is read and every envelope validated and translated
   (``webapp.push_body.read_batch``); one bad envelope refuses the batch, so nothing is
   ever half-stored.
2. ``store`` writes the envelopes that are new (deduplicated by ``events.dedup_key``) and
   applies them through ``chats.apply_changes``, the pull's funnel, marking them applied,
   all in one transaction; only once it commits does the server answer 202. Applying runs
   in a savepoint, so if it fails the events still commit, unapplied, and are applied
   later. Everything here is local database work (no Freshchat call): the answer is fast.

Why some events wait: a resolution that leaves the chat's group unknown needs a Freshchat
call (``webapp.push_lookups``), so such events stay pending and ``apply_pending`` settles
them. It runs every minute (scheduler), at server start and after every sync
(``webapp.sync_jobs``), which is also what makes a crash between storing and applying
harmless.

Choices:

* A **paused** integration's events are accepted and stored (the companion app must not
  fail or retry) but not applied: pausing freezes the statistics (``webapp.pause``). They
  are applied once it is resumed (next scheduler minute). A **deleted** integration's key is
  refused with 401 "integration deleted".
* Group names revealed by events rename known groups only (``push_groups``).
* Applied events are kept ``EVENT_RETENTION`` (they are the deduplication memory; a
  re-delivery after that is applied again, which changes nothing), refusals
  ``REFUSAL_RETENTION``.
* The rate limit counts requests (a batch is one), per key, in the database, so every
  server process counts against the same limit (``webapp.rate_limit``). 0 turns it off.
  A request that will be stored is counted first inside its own write transaction
  (``store(admit=...)``): one commit per request, not two.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from peewee import Model

from webapp import chats, pause, push_groups
from webapp.changes import ChatChange
from webapp.clients import ClientFactory
from webapp.database import is_sqlite, padded_in_lists, prepared_sql
from webapp.database import write_transaction as database_write_transaction
from webapp.extensions import db
from webapp.freshchat.events import envelope_to_changes
from webapp.models import ApiKey, InboundEvent, Integration, RefusedRequest
from webapp.push_body import IncomingEvent
from webapp.push_insert import insert_new
from webapp.push_lookups import Item, Lookups, lookup_needed
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)

PENDING_CHUNK = 500
EVENT_RETENTION = timedelta(days=30)
REFUSAL_RETENTION = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)
KEY_USE_PRECISION = timedelta(minutes=1)  # "last used" is not worth a write per request


# --------------------------------------------------------------------------- storing


# Request threads queue here for their write transactions. SQLite would make them wait
# too, but in its busy handler, which sleeps 1, 2, 5, 10... ms between tries: with a few
# concurrent pushes that sleeping, not the work, made the slowest answers.
_WRITE_LOCK = threading.RLock()  # re-entered by the savepoint that applies


@contextmanager
def write_transaction(
    integration_id: int | None = None, *, table: type[Model] | None = None
) -> Iterator[None]:
    """Serialised with other writers of the integration (see ``database``): we read, then
    write. On SQLite, this process's threads also queue on a lock first."""
    queue = _WRITE_LOCK if is_sqlite(db.obj) else nullcontext()
    with queue, database_write_transaction(integration_id=integration_id, table=table):
        yield


@dataclass(slots=True)
class Stored:
    """What ``store`` wrote: the new events by id, duplicates, and what was applied;
    ``retry_after`` when the request was over its rate limit (then nothing was written)."""

    new: list[tuple[int, IncomingEvent]] = field(default_factory=list)
    duplicates: int = 0
    applied: int = 0
    pending: int = 0
    retry_after: int | None = None


# How a stored body is read again (an event left pending is applied later from its body),
# by prefix of its stored event name; the companion app's envelopes are the default.
# Another source of events (native webhooks) registers its own with ``register_reader``.
StoredReader = Callable[[dict[str, Any]], list[ChatChange]]
_READERS: dict[str, StoredReader] = {}


def register_reader(event_name_prefix: str, reader: StoredReader) -> None:
    """Read stored events whose name starts with ``event_name_prefix`` with ``reader``."""
    _READERS[event_name_prefix] = reader


def _changes_of_stored(event_name: str, envelope: dict[str, Any]) -> list[ChatChange]:
    for prefix, reader in _READERS.items():
        if event_name.startswith(prefix):
            return reader(envelope)
    return envelope_to_changes(envelope)


def store(
    integration_id: int,
    events: Sequence[IncomingEvent],
    api_key: ApiKey | None = None,
    *,
    apply: bool = True,
    admit: Callable[[], int | None] | None = None,
) -> Stored:
    """Store these events for one integration and apply them, in one transaction.

    The one entry for every pushed source: each ``IncomingEvent`` carries its trimmed
    envelope, a dedup key, its name, the body to store and the ``ChatChange`` records it
    means. A source other than the companion app must also ``register_reader`` for its
    event names, so that an event left pending can be read again from its body.

    ``admit`` runs first inside the transaction (the shared rate limit: its count commits
    with the events, one transaction per request instead of two); when it returns seconds
    to wait, nothing is stored and ``retry_after`` says so.

    Duplicates are recognised against stored events and inside the batch itself. Applying
    runs in a savepoint: if it fails, only it is rolled back, the events still commit
    (pending, for ``apply_pending``) and the caller still gets its 202.
    """
    unique: dict[str, IncomingEvent] = {}
    for event in events:
        unique.setdefault(event.dedup_key, event)
    result = Stored(duplicates=len(events) - len(unique))
    now = utcnow()
    with write_transaction(integration_id):
        if admit is not None:
            result.retry_after = admit()
            if result.retry_after is not None:
                return Stored(retry_after=result.retry_after)
        fresh = list(unique.values())
        ids = insert_new(integration_id, fresh, now)
        result.duplicates += len(fresh) - len(ids)
        result.new = [(ids[e.dedup_key], e) for e in fresh if e.dedup_key in ids]
        if api_key is not None and (
            api_key.last_used_at is None or now - api_key.last_used_at >= KEY_USE_PRECISION
        ):
            ApiKey.update(last_used_at=now).where(ApiKey.id == api_key.id).execute()
        result.pending = len(result.new)
        if apply and result.new:
            try:
                applied = apply_stored(integration_id, result.new, now)
            except Exception:
                log.exception("integration %s: applying pushed events failed", integration_id)
            else:
                result.applied, result.pending = applied.applied, applied.pending
    return result


# --------------------------------------------------------------------------- applying


def _apply_items(
    integration_id: int,
    items: Sequence[Item],
    extra: Sequence[ChatChange] = (),
    errors: dict[int, str] | None = None,
) -> chats.ApplyResult:
    """Apply the items' changes and mark them applied, in one transaction.

    ``extra`` carries what lookups learnt; ``errors`` notes kept on events applied anyway.
    If this fails, nothing is marked and the events are retried later: applying twice
    changes nothing, so a retry is always safe.
    """
    changes = [change for item in items for change in item.changes]
    changes.extend(extra)
    now = utcnow()
    with write_transaction(integration_id):
        result = chats.apply_changes(integration_id, changes)
        plain = [item.event_id for item in items if not errors or item.event_id not in errors]
        applied_at = InboundEvent.applied_at.db_value(now)
        for size, values in padded_in_lists(plain):
            sql = prepared_sql(
                ("push.mark_applied", size),
                lambda size=size: InboundEvent.update(applied_at=now, error=None).where(
                    InboundEvent.id.in_([0] * size)
                ),
            )
            db.execute_sql(sql, [applied_at, None, *values])
        for event_id, message in (errors or {}).items():
            InboundEvent.update(applied_at=now, error=message[:2000]).where(
                InboundEvent.id == event_id
            ).execute()
        push_groups.rename_groups(integration_id, items)
    return result


@dataclass(slots=True)
class Applied:
    """Counts for the response and the logs."""

    applied: int = 0
    pending: int = 0


def apply_stored(
    integration_id: int, new: Sequence[tuple[int, IncomingEvent]], now: datetime | None = None
) -> Applied:
    """Apply just-stored events now, except those waiting for a Freshchat lookup or for
    the group listing (``push_groups``)."""
    now = now or utcnow()
    items = [Item(event_id, event.changes, event.envelope, now) for event_id, event in new]
    if not items:
        return Applied()
    needed = lookup_needed(integration_id, items)
    for_groups = push_groups.waiting_for_groups(integration_id, items)
    ready = [
        item
        for item in items
        if item.event_id not in for_groups
        and not any(c.conversation_id in needed for c in item.changes)
    ]
    if ready:
        _apply_items(integration_id, ready)
    push_groups.mark_waiting(sorted(for_groups))
    return Applied(applied=len(ready), pending=len(items) - len(ready))


def apply_pending_for(
    integration_id: int,
    client_factory: ClientFactory | None,
    *,
    now: datetime | None = None,
) -> int:
    """Apply every stored, unapplied event of one integration; returns how many.

    Lookups happen outside the write transactions (they are network calls).
    """
    now = now or utcnow()
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        return 0
    lookups = Lookups(integration, client_factory, now)
    listing_error: str | None = None
    listing_tried = False
    total = 0
    last_id = 0
    while True:
        rows = list(
            InboundEvent.select(
                InboundEvent.id,
                InboundEvent.body,
                InboundEvent.received_at,
                InboundEvent.event_name,
            )
            .where(
                (InboundEvent.integration == integration_id)
                & InboundEvent.applied_at.is_null()
                & (InboundEvent.id > last_id)
            )
            .order_by(InboundEvent.id)
            .limit(PENDING_CHUNK)
            .tuples()
        )
        if not rows:
            break
        last_id = rows[-1][0]
        items: list[Item] = []
        unreadable: dict[int, str] = {}
        for event_id, body, received_at, event_name in rows:
            try:
                envelope = json.loads(body)
                changes = tuple(_changes_of_stored(event_name, envelope))
            except (ValueError, TypeError) as exc:
                unreadable[event_id] = f"stored event could not be read: {exc}"
                continue
            items.append(Item(event_id, changes, envelope, received_at))
        if unreadable:  # kept for inspection, never retried
            for event_id, message in unreadable.items():
                InboundEvent.update(applied_at=now, error=message[:2000]).where(
                    InboundEvent.id == event_id
                ).execute()
        for_groups = push_groups.waiting_for_groups(integration_id, items)
        if for_groups and not listing_tried:
            listing_tried = True
            listing_error = push_groups.fetch_listing(integration, client_factory, now)
            for_groups = push_groups.waiting_for_groups(integration_id, items)
        settled = lookups.settle([item for item in items if item.event_id not in for_groups])
        if settled.ready:
            _apply_items(integration_id, settled.ready, settled.extra, settled.errors)
            total += len(settled.ready)
        push_groups.mark_waiting(sorted(for_groups))
        push_groups.mark_waiting(sorted(settled.waiting), "group lookup")
        waiting = dict(settled.waiting)
        if listing_error:
            waiting.update(dict.fromkeys(for_groups, listing_error))
        for event_id, message in waiting.items():
            InboundEvent.update(error=message[:2000]).where(InboundEvent.id == event_id).execute()
    return total


_last_prune = -math.inf  # monotonic time of the last prune in this process


def prune(now: datetime | None = None) -> None:
    """Drop applied events and refusals past their retention (see module docstring)."""
    now = now or utcnow()
    InboundEvent.delete().where(
        InboundEvent.applied_at.is_null(False) & (InboundEvent.received_at < now - EVENT_RETENTION)
    ).execute()
    RefusedRequest.delete().where(RefusedRequest.at < now - REFUSAL_RETENTION).execute()


def apply_pending(client_factory: ClientFactory | None) -> int:
    """Apply what is stored but unapplied, for every live integration that is not paused
    (``webapp.pause``); returns the number of events applied.

    Called at server start and every minute by the scheduler (``webapp.sync_jobs``), which
    also settles one integration's events after each of its syncs (``apply_pending_for``).
    One integration's failure is logged and does not stop the others.
    """
    waiting = (
        InboundEvent.select(InboundEvent.integration)
        .where(InboundEvent.applied_at.is_null())
        .distinct()
    )
    integration_ids = [
        integration_id
        for (integration_id,) in Integration.select(Integration.id)
        .where(Integration.deleted_at.is_null() & pause.running() & Integration.id.in_(waiting))
        .tuples()
    ]
    total = 0
    for integration_id in integration_ids:
        try:
            total += apply_pending_for(integration_id, client_factory)
        except Exception:
            log.exception("integration %s: applying pushed events failed", integration_id)
    global _last_prune
    if time.monotonic() - _last_prune >= PRUNE_EVERY.total_seconds():
        _last_prune = time.monotonic()
        prune()
    return total
