"""Pushed companion-app events: store first, apply through the same funnel as the pull.

The life of one ``POST /api/v1/freshchat/events`` (``webapp.views.api`` is the thin door):

1. The whole body is read and every envelope validated and translated (``read_batch``);
   one bad envelope refuses the batch, so nothing is ever half-stored.
2. ``store`` writes the envelopes that are new (deduplicated by ``events.dedup_key``) and
   applies them through ``chats.apply_changes``, the pull's funnel, marking them applied,
   all in one transaction; only once it commits does the server answer 202. Applying runs
   in a savepoint, so if it fails the events still commit, unapplied, and are applied
   later. Everything here is local database work (no Freshchat call): the answer is fast.

Why some events wait: a resolution that leaves the chat's group unknown (no group in the
event, and the stored chat has never been seen with a group) needs ``GET
/conversations/<id>``. A Freshchat call inside the request would blow the marketplace's
~6 s budget for a batch, so such events stay pending and ``apply_pending`` looks them up
and applies them. It runs every minute (scheduler), at server start and at the end of
every sync, which is also what makes a crash between storing and applying harmless.

Choices:

* A lookup answering 404 means the chat was deleted (Undefined_Queue). The group it
  reports is recorded as observed at the conversation's ``updated_time``: that is a true
  statement, and it never overrides what we saw at the resolution itself.
* When Freshchat cannot answer (key rejected, unreachable...), the events stay pending and
  are retried; after ``LOOKUP_GIVE_UP`` they are applied without the group (the next pull
  brings it anyway) and the error is kept on the event for the admin to see.
* A **paused** integration's events are accepted and stored (the companion app must not
  fail or retry) but not applied: pausing freezes the statistics. They are applied once it
  is resumed (next scheduler minute) or synced by hand. A **deleted** integration's key is
  refused with 401 "integration deleted".
* Group names revealed by events rename *known* groups only, and only with an event newer
  than the group's last sighting, so a late re-delivery cannot bring back an old name.
  Unknown group ids create nothing: which groups are alive is decided by the complete
  listing the pull reads (a deleted group still appears in old chats' events).
* Applied events are kept ``EVENT_RETENTION`` (they are the deduplication memory; a
  re-delivery after that is applied again, which changes nothing), refusals
  ``REFUSAL_RETENTION``.
* The rate limit counts requests (a batch is one), per key, over a sliding minute, in
  process memory: one server process is the supported deployment. 0 turns it off.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from peewee import __exception_wrapper__ as _as_peewee_errors
from peewee import fn

from webapp import chats
from webapp.changes import ChatChange
from webapp.database import is_sqlite, padded_in_lists, prepared_sql
from webapp.display_time import local_midnight_utc, local_today, zone
from webapp.extensions import db
from webapp.freshchat.client import FreshchatClient, FreshchatError, NotFound
from webapp.freshchat.events import (
    dedup_key,
    envelope_to_changes,
    group_name_from,
    needs_group_lookup,
    validate_envelope,
)
from webapp.models import ApiKey, Chat, Group, InboundEvent, Integration, RefusedRequest
from webapp.timeutil import parse_timestamp, utcnow

log = logging.getLogger(__name__)

EVENT_NAME_MAX = 64  # InboundEvent.event_name; the full name stays in the body
REASON_MAX = 255  # RefusedRequest.reason
MAX_PROBLEMS_LISTED = 200
PENDING_CHUNK = 500
LOOKUP_GIVE_UP = timedelta(hours=6)
EVENT_RETENTION = timedelta(days=30)
REFUSAL_RETENTION = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)
REFUSALS_SHOWN_DAYS = 7
KEY_USE_PRECISION = timedelta(minutes=1)  # "last used" is not worth a write per request

ClientFactory = Callable[[Integration], FreshchatClient]


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a batch was refused, named by envelope position and field path."""

    index: int | None
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f"[{self.index}] " if self.index is not None else ""
        return f"{where}{self.field}: {self.message}"


class BatchRefused(Exception):
    """The body cannot be stored; ``status`` is 400 or 413 and nothing was written."""

    def __init__(
        self, status: int, message: str, problems: Sequence[Problem] = (), *, short: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)
        self.short = short or message

    def reason(self) -> str:
        """One line for the refusal log; the response body lists every problem."""
        if not self.problems:
            return self.short[:REASON_MAX]
        text = "; ".join(str(problem) for problem in self.problems[:3])
        if len(self.problems) > 3:
            text += f" (and {len(self.problems) - 3} more)"
        return f"{self.short}: {text}"[:REASON_MAX]

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.problems:
            body["errors"] = [problem.as_json() for problem in self.problems[:MAX_PROBLEMS_LISTED]]
            if len(self.problems) > MAX_PROBLEMS_LISTED:
                body["errors_truncated"] = len(self.problems) - MAX_PROBLEMS_LISTED
        return body


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One validated envelope, translated once and reused for storing and applying."""

    envelope: dict[str, Any]
    dedup_key: str
    event_name: str
    body: str
    changes: tuple[ChatChange, ...]


def _split_problem(text: str) -> tuple[str, str]:
    field_name, sep, message = text.partition(": ")
    return (field_name, message) if sep else ("envelope", text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_batch(raw: bytes, *, max_events: int) -> list[IncomingEvent]:
    """Decode, validate and translate a whole body; raise ``BatchRefused`` on any problem.

    The body is one envelope or a JSON array of them. Validation covers every envelope
    before anything is stored, so the answer lists all problems at once.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchRefused(
            400, "the body is not UTF-8 text", [Problem(None, "body", str(exc))]
        ) from None
    try:
        decoded = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BatchRefused(
            400, "the body is not valid JSON", [Problem(None, "body", str(exc))]
        ) from None
    if isinstance(decoded, dict):
        envelopes: list[Any] = [decoded]
    elif isinstance(decoded, list):
        envelopes = decoded
    else:
        raise BatchRefused(
            400,
            "the body must be one event object or an array of them",
            [Problem(None, "body", f"got a JSON {type(decoded).__name__}")],
        )
    if not envelopes:
        raise BatchRefused(
            400, "the batch is empty", [Problem(None, "body", "an array of at least one event")]
        )
    if len(envelopes) > max_events:
        raise BatchRefused(
            413,
            f"the batch holds {len(envelopes)} events; at most {max_events} are accepted "
            "per request",
        )
    events: list[IncomingEvent] = []
    problems: list[Problem] = []
    for index, envelope in enumerate(envelopes):
        found: list[str] = []
        try:
            # Translation validates first; the full list of problems is only needed for
            # an answer that refuses, so it is not computed twice for good envelopes.
            changes = tuple(envelope_to_changes(envelope))
        except ValueError as exc:
            found = validate_envelope(envelope) or [f"envelope: {exc}"]
        if found:
            problems.extend(Problem(index, *_split_problem(text)) for text in found)
            continue
        events.append(
            IncomingEvent(
                envelope=envelope,
                dedup_key=dedup_key(envelope),
                event_name=envelope["event"].strip()[:EVENT_NAME_MAX],
                body=json.dumps(envelope, separators=(",", ":"), ensure_ascii=False),
                changes=changes,
            )
        )
    if problems:
        raise BatchRefused(
            400,
            f"{len(problems)} bad field(s); the batch was refused as a whole, nothing was stored",
            problems,
            short="bad fields",
        )
    return events


# --------------------------------------------------------------------------- storing


# Request threads queue here for their write transactions. SQLite would make them wait
# too, but in its busy handler, which sleeps 1, 2, 5, 10... ms between tries: with a few
# concurrent pushes that sleeping, not the work, made the slowest answers.
_WRITE_LOCK = threading.RLock()  # re-entered by the savepoint that applies


@contextmanager
def _write_transaction() -> Iterator[None]:
    """Take SQLite's write lock up front (see ``chats``): we read, then write."""
    with _WRITE_LOCK, db.atomic("IMMEDIATE") if is_sqlite(db.obj) else db.atomic():
        yield


def _known_keys_sql(size: int) -> str:
    return prepared_sql(
        ("push.known_keys", size),
        lambda: InboundEvent.select(InboundEvent.id, InboundEvent.dedup_key).where(
            (InboundEvent.integration == 0) & InboundEvent.dedup_key.in_([""] * size)
        ),
    )


def _known_keys(integration_id: int, keys: Sequence[str]) -> dict[str, int]:
    """Stored events of this integration among ``keys``: event id by dedup key."""
    found: dict[str, int] = {}
    for size, values in padded_in_lists(keys):
        cursor = db.execute_sql(_known_keys_sql(size), [integration_id, *values])
        found.update((key, event_id) for event_id, key in cursor)
    return found


@dataclass(slots=True)
class Stored:
    """What ``store`` wrote: the new events by id, duplicates, and what was applied."""

    new: list[tuple[int, IncomingEvent]] = field(default_factory=list)
    duplicates: int = 0
    applied: int = 0
    pending: int = 0


def _insert_sql() -> str:
    """One-row INSERT text for the bound dialect, built once and run with ``executemany``.

    Building the statement through the query builder cost more than the insert itself
    (bench/bench_push.py); the driver loops over the rows in C.
    """
    return prepared_sql(
        "push.insert_event",
        lambda: InboundEvent.insert(
            integration=0, dedup_key="", event_name="", received_at=None, body=""
        ),
    )


def store(
    integration_id: int,
    events: Sequence[IncomingEvent],
    api_key: ApiKey | None = None,
    *,
    apply: bool = True,
) -> Stored:
    """Write the envelopes not seen before and apply them, in one transaction.

    Duplicates are recognised against stored events and inside the batch itself. Applying
    runs in a savepoint: if it fails, only it is rolled back, the events still commit
    (pending, for ``apply_pending``) and the caller still gets its 202.
    """
    unique: dict[str, IncomingEvent] = {}
    for event in events:
        unique.setdefault(event.dedup_key, event)
    result = Stored(duplicates=len(events) - len(unique))
    now = utcnow()
    with _write_transaction():
        keys = list(unique)
        existing = _known_keys(integration_id, keys)
        result.duplicates += len(existing)
        fresh = [unique[key] for key in keys if key not in existing]
        if fresh:
            received_at = InboundEvent.received_at.db_value(now)
            rows = [
                (integration_id, event.dedup_key, event.event_name, received_at, event.body)
                for event in fresh
            ]
            with _as_peewee_errors:
                db.cursor().executemany(_insert_sql(), rows)
            ids = _known_keys(integration_id, [event.dedup_key for event in fresh])
            result.new = [(ids[event.dedup_key], event) for event in fresh]
        if api_key is not None and (
            api_key.last_used_at is None or now - api_key.last_used_at >= KEY_USE_PRECISION
        ):
            ApiKey.update(last_used_at=now).where(ApiKey.id == api_key.id).execute()
        result.pending = len(result.new)
        if apply and result.new:
            try:
                applied = apply_stored(integration_id, result.new)
            except Exception:
                log.exception("integration %s: applying pushed events failed", integration_id)
            else:
                result.applied, result.pending = applied.applied, applied.pending
    return result


# --------------------------------------------------------------------------- applying


@dataclass(slots=True)
class _Item:
    """A stored event on its way into the funnel."""

    event_id: int
    changes: tuple[ChatChange, ...]
    envelope: dict[str, Any]
    received_at: datetime | None = None


def _lookup_needed(integration_id: int, items: Sequence[_Item]) -> set[str]:
    """Conversations whose resolution leaves the group unknown even after this batch.

    The group is known when any change of the batch says it, or when the stored chat was
    already seen with a group (its earliest group then stands in, as for the pull).
    """
    says = {c.conversation_id for item in items for c in item.changes if c.says_group}
    candidates = sorted(
        {
            c.conversation_id
            for item in items
            for c in item.changes
            if needs_group_lookup(c) and c.conversation_id not in says
        }
    )
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


def _rename_groups(integration_id: int, items: Sequence[_Item]) -> None:
    """Keep known groups' names current between pulls; newest event wins."""
    newest: dict[str, tuple[datetime, str]] = {}
    for item in items:
        revealed = group_name_from(item.envelope)
        if revealed is None:
            continue
        try:
            at = parse_timestamp(item.envelope.get("timestamp"))
        except (ValueError, OverflowError, OSError):
            at = None
        if at is None:
            continue
        group_id, name = revealed
        if group_id not in newest or newest[group_id][0] < at:
            newest[group_id] = (at, name)
    if not newest:
        return
    sql = prepared_sql(
        "push.rename_group",
        lambda: Group.update(name="", seen_at=utcnow()).where(
            (Group.integration == 0)
            & (Group.group_id == "")
            & (Group.name != "")
            & (Group.seen_at < utcnow())
        ),
    )
    for group_id, (at, name) in newest.items():
        seen_at = Group.seen_at.db_value(at)
        db.execute_sql(sql, [name, seen_at, integration_id, group_id, name, seen_at])


def _apply_items(
    integration_id: int,
    items: Sequence[_Item],
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
    with _write_transaction():
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
        _rename_groups(integration_id, items)
    return result


@dataclass(slots=True)
class Applied:
    """Counts for the response and the logs."""

    applied: int = 0
    pending: int = 0


def apply_stored(integration_id: int, new: Sequence[tuple[int, IncomingEvent]]) -> Applied:
    """Apply just-stored events now, except those waiting for a Freshchat lookup."""
    items = [_Item(event_id, event.changes, event.envelope) for event_id, event in new]
    if not items:
        return Applied()
    needed = _lookup_needed(integration_id, items)
    ready = [item for item in items if not any(c.conversation_id in needed for c in item.changes)]
    if ready:
        _apply_items(integration_id, ready)
    return Applied(applied=len(ready), pending=len(items) - len(ready))


def _lookup(client: FreshchatClient, conversation_id: str, at: datetime) -> ChatChange:
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


def apply_pending_for(
    integration_id: int,
    client_factory: ClientFactory | None,
    *,
    now: datetime | None = None,
) -> int:
    """Apply every stored, unapplied event of one integration; returns how many.

    Lookups happen outside the write transactions (they are network calls). The first
    Freshchat failure other than 404 stops lookups for this run: the account or the network
    is in trouble, and the events wait for the next run.
    """
    now = now or utcnow()
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        return 0
    client: FreshchatClient | None = None
    lookup_error: str | None = None
    looked_up: dict[str, ChatChange] = {}
    total = 0
    last_id = 0
    while True:
        rows = list(
            InboundEvent.select(InboundEvent.id, InboundEvent.body, InboundEvent.received_at)
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
        items: list[_Item] = []
        unreadable: dict[int, str] = {}
        for event_id, body, received_at in rows:
            try:
                envelope = json.loads(body)
                changes = tuple(envelope_to_changes(envelope))
            except (ValueError, TypeError) as exc:
                unreadable[event_id] = f"stored event could not be read: {exc}"
                continue
            items.append(_Item(event_id, changes, envelope, received_at))
        if unreadable:  # kept for inspection, never retried
            for event_id, message in unreadable.items():
                InboundEvent.update(applied_at=now, error=message[:2000]).where(
                    InboundEvent.id == event_id
                ).execute()
        needed = _lookup_needed(integration_id, items)
        latest: dict[str, datetime] = {}
        for c in (c for item in items for c in item.changes if c.conversation_id in needed):
            if c.conversation_id not in latest or c.at > latest[c.conversation_id]:
                latest[c.conversation_id] = c.at
        failed: dict[str, str] = {}
        for conversation_id in sorted(needed - set(looked_up)):
            if lookup_error is None and client is None:
                try:
                    if client_factory is None:
                        raise FreshchatError("no Freshchat client is available here")
                    client = client_factory(integration)
                except (FreshchatError, ValueError) as exc:
                    lookup_error = str(exc)
            if lookup_error is not None or client is None:
                failed[conversation_id] = lookup_error or "no Freshchat client"
                continue
            try:
                at = latest.get(conversation_id, now)
                looked_up[conversation_id] = _lookup(client, conversation_id, at)
            except FreshchatError as exc:
                lookup_error = str(exc)
                failed[conversation_id] = lookup_error
        ready: list[_Item] = []
        errors: dict[int, str] = {}
        waiting: dict[int, str] = {}
        for item in items:
            blocked = [c.conversation_id for c in item.changes if c.conversation_id in failed]
            if not blocked:
                ready.append(item)
                continue
            message = f"group lookup failed: {failed[blocked[0]]}"
            if item.received_at is not None and now - item.received_at >= LOOKUP_GIVE_UP:
                ready.append(item)
                errors[item.event_id] = "applied without its group; " + message
            else:
                waiting[item.event_id] = message
        extra = [looked_up[cid] for cid in sorted(needed) if cid in looked_up]
        if ready:
            _apply_items(integration_id, ready, extra, errors)
            total += len(ready)
        for event_id, message in waiting.items():
            InboundEvent.update(error=message[:2000]).where(InboundEvent.id == event_id).execute()
    return total


_last_prune: dict[int, float] = {}


def prune(now: datetime | None = None) -> None:
    """Drop applied events and refusals past their retention (see module docstring)."""
    now = now or utcnow()
    InboundEvent.delete().where(
        InboundEvent.applied_at.is_null(False) & (InboundEvent.received_at < now - EVENT_RETENTION)
    ).execute()
    RefusedRequest.delete().where(RefusedRequest.at < now - REFUSAL_RETENTION).execute()


def apply_pending(app: Any) -> int:
    """Apply what is stored but unapplied, for every live, unpaused integration.

    Called at server start, every minute by the scheduler, and (per integration) at the
    end of each sync; returns the number of events applied. One integration's failure is
    logged and does not stop the others.
    """
    from webapp.sync import client_factory_for

    factory = client_factory_for(app.config, app.extensions["secret_box"])
    waiting = (
        InboundEvent.select(InboundEvent.integration)
        .where(InboundEvent.applied_at.is_null())
        .distinct()
    )
    integration_ids = [
        integration_id
        for (integration_id,) in Integration.select(Integration.id)
        .where(
            Integration.deleted_at.is_null()
            & (Integration.paused == False)  # noqa: E712
            & Integration.id.in_(waiting)
        )
        .tuples()
    ]
    total = 0
    for integration_id in integration_ids:
        try:
            total += apply_pending_for(integration_id, factory)
        except Exception:
            log.exception("integration %s: applying pushed events failed", integration_id)
    key = id(app)
    if time.monotonic() - _last_prune.get(key, -math.inf) >= PRUNE_EVERY.total_seconds():
        _last_prune[key] = time.monotonic()
        prune()
    return total


def apply_after_sync(integration_id: int, client_factory: ClientFactory) -> None:
    """Hook for ``sync.run_sync``: a sync also applies what was pushed (even if paused,
    since the admin asked for this sync). Never fails the sync."""
    try:
        apply_pending_for(integration_id, client_factory)
    except Exception:
        log.exception("integration %s: applying pushed events after sync failed", integration_id)


# --------------------------------------------------------------------------- refusals, limits


def record_refusal(integration_id: int | None, status_code: int, reason: str) -> None:
    """Count a refused request against its integration (None: the key was not ours)."""
    RefusedRequest.create(integration=integration_id, status_code=status_code, reason=reason[:255])


# --------------------------------------------------------------------------- the page


@dataclass(frozen=True, slots=True)
class RefusalLine:
    status_code: int
    reason: str
    count: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class PushSummary:
    """The push path's figures for the integration page."""

    last_received_at: datetime | None
    events_today: int
    pending: int
    failed: int
    last_error: str | None
    refusals: list[RefusalLine]
    refusals_total: int
    refusal_days: int
    paused: bool


def _local_midnight(now: datetime, timezone: str) -> datetime:
    """Start of today in the integration's display time zone, as naive UTC."""
    tz = zone(timezone)
    return local_midnight_utc(local_today(tz, now), tz)


def _as_datetime(value: object, default: datetime) -> datetime:
    """Aggregates come back as text on SQLite."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return default


def summary(integration: Integration, now: datetime | None = None) -> PushSummary:
    """Figures shown on the integration page (a handful of indexed queries)."""
    now = now or utcnow()
    mine = InboundEvent.integration == integration.id
    last_id = InboundEvent.select(fn.MAX(InboundEvent.id)).where(mine).scalar()
    last = (
        InboundEvent.select(InboundEvent.received_at).where(InboundEvent.id == last_id).scalar()
        if last_id
        else None
    )
    today = (
        InboundEvent.select()
        .where(
            mine & (InboundEvent.received_at >= _local_midnight(now, integration.display_timezone))
        )
        .count()
    )
    pending = InboundEvent.select().where(mine & InboundEvent.applied_at.is_null()).count()
    with_error = InboundEvent.error.is_null(False)
    failed = InboundEvent.select().where(mine & with_error).count()
    last_error = (
        InboundEvent.select(InboundEvent.error)
        .where(mine & with_error)
        .order_by(InboundEvent.id.desc())
        .scalar()
        if failed
        else None
    )
    since = now - timedelta(days=REFUSALS_SHOWN_DAYS)
    query = (
        RefusedRequest.select(
            RefusedRequest.status_code,
            RefusedRequest.reason,
            fn.COUNT(RefusedRequest.id),
            fn.MAX(RefusedRequest.at),
        )
        .where((RefusedRequest.integration == integration.id) & (RefusedRequest.at >= since))
        .group_by(RefusedRequest.status_code, RefusedRequest.reason)
        .order_by(fn.MAX(RefusedRequest.at).desc())
        .tuples()
    )
    lines = [
        RefusalLine(status, reason, count, _as_datetime(last_at, now))
        for status, reason, count, last_at in query
    ]
    return PushSummary(
        last_received_at=last,
        events_today=today,
        pending=pending,
        failed=failed,
        last_error=last_error,
        refusals=lines,
        refusals_total=sum(line.count for line in lines),
        refusal_days=REFUSALS_SHOWN_DAYS,
        paused=bool(integration.paused),
    )
