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

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any

from peewee import EXCLUDED, DateTimeField, Expression, fn
from peewee import __exception_wrapper__ as _as_peewee_errors

from webapp.changes import ChatChange
from webapp.chatstate import ChatState, GroupObservation, merge
from webapp.counting import UNDEFINED_QUEUE, UNDEFINED_QUEUE_KEY, Contact, contact_for
from webapp.database import MAX_VARIABLES, padded_in_lists, prepared_sql, write_transaction
from webapp.extensions import db
from webapp.models import Chat, Group, Integration, IntervalStat
from webapp.timeutil import utcnow

DEFAULT_BATCH_SIZE = 2000
# Chats read per transaction when recounting from stored state.
RECOUNT_BATCH_SIZE = 2000

# Columns that hold a chat's merged state, in ChatState field order.
_STATE_FIELDS: tuple[str, ...] = (
    "created_time",
    "first_seen_time",
    "first_resolved_time",
    "last_resolved_time",
    "status",
    "status_time",
    "group_history",
    "spam",
    "deleted",
    "last_change_time",
)
# Columns caching the contact the state makes (counting.contact_for).
_CONTACT_FIELDS: tuple[str, ...] = ("queue_key", "interval_start", "count_reason")
# Everything an upsert writes; (integration, conversation_id) is the conflict target.
_WRITE_FIELDS: tuple[str, ...] = (
    "integration",
    "conversation_id",
    *_STATE_FIELDS,
    *_CONTACT_FIELDS,
)


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


class EmptyGroupListing(ValueError):
    """Freshchat listed no groups while stored groups hold contacts; nothing was changed.

    ``str()`` is a sentence for the admin, shown as the failed sync's message.
    """


@dataclass(slots=True)
class GroupRefresh:
    """Group names affected by a refresh, in plain words for the sync history.

    ``renamed`` entries read ``"old → new"``. ``recount`` tells what the recount triggered by
    a change in the set of live groups did (all zeros when none was needed).
    """

    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    recount: ApplyResult = field(default_factory=ApplyResult)

    @property
    def live_set_changed(self) -> bool:
        """True when counting may have changed (renames alone never change a count)."""
        return bool(self.added or self.removed or self.restored)


# --------------------------------------------------------------------------- row <-> state


def _history_to_json(history: Sequence[GroupObservation]) -> str:
    """The text ``json.dumps([[when.isoformat(), group_id], ...])`` gives, built directly:
    the encoder's set-up cost more than the rest of writing a chat (bench_floor.py)."""
    return (
        "["
        + ", ".join(
            f'["{when.isoformat()}", {"null" if group_id is None else _json_string(group_id)}]'
            for when, group_id in history
        )
        + "]"
    )


def _history_from_json(text: str | None) -> tuple[GroupObservation, ...]:
    if not text:
        return ()
    return tuple((datetime.fromisoformat(when), group_id) for when, group_id in json.loads(text))


def state_from_row(row: Chat | Mapping[str, Any]) -> ChatState:
    """Rebuild the merged state stored in a ``Chat`` row (model instance or ``.dicts()`` row).

    The row is the only memory of a chat between batches, so this must be the exact inverse
    of ``row_values_from_state``: merging nothing new must give an equal state, which is how
    unchanged chats are recognised and left unwritten.
    """
    data: Mapping[str, Any] = row.__data__ if isinstance(row, Chat) else row
    return ChatState(
        conversation_id=data["conversation_id"],
        created_time=data["created_time"],
        first_seen_time=data["first_seen_time"],
        first_resolved_time=data["first_resolved_time"],
        last_resolved_time=data["last_resolved_time"],
        status=data["status"],
        status_time=data["status_time"],
        group_history=_history_from_json(data["group_history"]),
        spam=bool(data["spam"]),
        deleted=bool(data["deleted"]),
        last_change_time=data["last_change_time"],
    )


def row_values_from_state(state: ChatState, contact: Contact | None) -> dict[str, Any]:
    """Column values (by ``Chat`` field name) for a state and the contact it makes.

    The contact is cached on the row so that interval statistics can be rebuilt with one
    ``GROUP BY`` and every count can be traced back to its chats and their reasons.
    """
    return dict(zip(_WRITE_FIELDS[1:], _write_values(0, state, contact)[1:], strict=True))


def _write_values(integration_id: int, state: ChatState, contact: Contact | None) -> tuple:
    """The upsert's parameters (``_WRITE_FIELDS`` order), built without an interim dict."""
    return (
        integration_id,
        state.conversation_id,
        state.created_time,
        state.first_seen_time,
        state.first_resolved_time,
        state.last_resolved_time,
        state.status,
        state.status_time,
        _history_to_json(state.group_history),
        state.spam,
        state.deleted,
        state.last_change_time,
        *((contact.queue_key, contact.interval_start, contact.reason) if contact else _NO_CONTACT),
    )


_NO_CONTACT = (None, None, None)


def _contact_triple(contact: Contact | None) -> tuple[str | None, datetime | None, str | None]:
    if contact is None:
        return None, None, None
    return contact.queue_key, contact.interval_start, contact.reason


def _stored_triple(row: Mapping[str, Any]) -> tuple[str | None, datetime | None, str | None]:
    return row["queue_key"], row["interval_start"], row["count_reason"]


# --------------------------------------------------------------------------- helpers


# Statements run once per batch are prepared once (``prepared_sql``): for the small
# batches of pushed events, building their text cost more than running them.


def _live_group_ids(integration_id: int) -> frozenset[str]:
    sql = prepared_sql(
        "chats.live_groups",
        lambda: Group.select(Group.group_id).where(
            (Group.integration == 0) & (Group.deleted == False)  # noqa: E712
        ),
    )
    cursor = db.execute_sql(sql, [integration_id, Group.deleted.db_value(False)])
    return frozenset(group_id for (group_id,) in cursor)


def _counted_from(integration_id: int) -> datetime | None:
    """Start of the imported history (set by the first sync); None: count everything."""
    sql = prepared_sql(
        "chats.counted_from",
        lambda: Integration.select(Integration.counted_from).where(Integration.id == 0),
    )  # by primary key: one row at most
    row = db.execute_sql(sql, [integration_id]).fetchone()
    return Integration.counted_from.python_value(row[0]) if row else None


# What _apply_batch reads of a stored chat (state_from_row, _stored_triple).
_LOAD_FIELDS: tuple[str, ...] = ("conversation_id", *_STATE_FIELDS, *_CONTACT_FIELDS)


def _datetime_reader(field: DateTimeField) -> Callable[[Any], Any]:
    """The field's own converter, after a direct ``fromisoformat`` of the text SQLite keeps
    (peewee's general parser was a tenth of loading a batch; PostgreSQL gives datetimes)."""
    convert = field.python_value

    def read(value: Any) -> Any:
        if value.__class__ is str:
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        return convert(value)

    return read


_LOAD_CONVERTERS = tuple(
    (index, _datetime_reader(getattr(Chat, name)))
    for index, name in enumerate(_LOAD_FIELDS)
    if isinstance(getattr(Chat, name), DateTimeField)
)


def _load_sql(size: int) -> str:
    """``SELECT`` of ``_LOAD_FIELDS`` for ``size`` conversation ids, prepared once per size:
    building a 900-value ``IN`` list for every batch cost more than the lookup itself."""
    return prepared_sql(
        ("chats.load_rows", size),
        lambda: Chat.select(*(getattr(Chat, name) for name in _LOAD_FIELDS)).where(
            (Chat.integration == 0) & Chat.conversation_id.in_([""] * size)
        ),
    )


def _load_rows(integration_id: int, conversation_ids: Sequence[str]) -> dict[str, dict]:
    """Stored rows of these conversations by id, as ``.dicts()`` would give them.

    Runs prepared text with the driver (``padded_in_lists``) and converts dates with the
    fields' own converters.
    """
    rows: dict[str, dict] = {}
    for size, chunk in padded_in_lists(conversation_ids):
        for raw in db.execute_sql(_load_sql(size), [integration_id, *chunk]):
            values = list(raw)
            for index, convert in _LOAD_CONVERTERS:
                if values[index] is not None:
                    values[index] = convert(values[index])
            rows[values[0]] = dict(zip(_LOAD_FIELDS, values, strict=True))
    return rows


def _upsert_query() -> Any:
    fields = [getattr(Chat, name) for name in _WRITE_FIELDS]
    update = {
        getattr(Chat, name): getattr(EXCLUDED, getattr(Chat, name).column_name)
        for name in (*_STATE_FIELDS, *_CONTACT_FIELDS)
    }
    return Chat.insert_many([(None,) * len(fields)], fields=fields).on_conflict(
        conflict_target=[Chat.integration, Chat.conversation_id], update=update
    )


def _upsert_sql() -> str:
    """One-row upsert statement, generated by peewee once per dialect (it was ~15% of a
    single pushed event's request when rebuilt on every call)."""
    return prepared_sql("chats.upsert", _upsert_query)


def _upsert(rows: list[tuple]) -> None:
    """Insert new chats and rewrite changed ones in one prepared statement.

    ``executemany`` of a one-row upsert lets the driver loop in C; building multi-row
    ``INSERT`` statements through the query builder cost more than the database work itself
    (measured with bench/bench_apply.py). The values are plain driver types already.
    """
    if not rows:
        return
    with _as_peewee_errors:  # same exception types (IntegrityError...) as peewee queries
        db.cursor().executemany(_upsert_sql(), rows)


def _recompute_intervals(integration_id: int, intervals: set[datetime]) -> int:
    """Rebuild the statistics of ``intervals`` from the chat rows; returns how many.

    Must run in the transaction that changed the chats, so a reader never sees counts that
    disagree with the chats behind them.
    """
    ordered = sorted(intervals)
    for size, chunk in padded_in_lists(ordered):
        values = [IntervalStat.interval_start.db_value(value) for value in chunk]
        delete_sql, insert_sql = _recompute_sql(size)
        db.execute_sql(delete_sql, [integration_id, *values])
        db.execute_sql(insert_sql, [integration_id, *values])
    return len(ordered)


def _recompute_sql(size: int) -> tuple[str, str]:
    """``DELETE`` then ``INSERT … SELECT`` rebuilding ``size`` intervals' statistics."""
    placeholders = [datetime(2000, 1, 1)] * size

    def delete() -> Any:
        return IntervalStat.delete().where(
            (IntervalStat.integration == 0) & IntervalStat.interval_start.in_(placeholders)
        )

    def insert() -> Any:
        target = [
            IntervalStat.integration,
            IntervalStat.queue_key,
            IntervalStat.interval_start,
            IntervalStat.contacts,
        ]
        counts = (
            Chat.select(Chat.integration, Chat.queue_key, Chat.interval_start, fn.COUNT(Chat.id))
            .where(
                (Chat.integration == 0)
                & Chat.interval_start.in_(placeholders)
                & Chat.queue_key.is_null(False)
            )
            .group_by(Chat.integration, Chat.queue_key, Chat.interval_start)
        )
        return IntervalStat.insert_from(counts, target)

    return (
        prepared_sql(("chats.recompute_delete", size), delete),
        prepared_sql(("chats.recompute_insert", size), insert),
    )


def _batches(changes: Iterable[ChatChange], size: int) -> Iterator[list[ChatChange]]:
    iterator = iter(changes)
    while batch := list(islice(iterator, size)):
        yield batch


# --------------------------------------------------------------------------- apply


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
        result.add(_apply_batch(integration_id, batch))
    return result


def _counting_inputs(integration_id: int) -> tuple[frozenset[str], datetime | None]:
    """What counting needs besides the chat: the live groups and where history starts."""
    return _live_group_ids(integration_id), _counted_from(integration_id)


class _Rewrites:
    """Chat rows one transaction rewrites, and the intervals whose counts they move.

    Shared by applying changes and recounting: both end by upserting the rows and
    recomputing exactly the intervals a contact left or entered.
    """

    def __init__(self, integration_id: int, result: ApplyResult) -> None:
        self.integration_id = integration_id
        self.result = result
        self.rows: list[tuple] = []
        self.touched: set[datetime] = set()

    def add(self, state: ChatState, contact: Contact | None, before: tuple, after: tuple) -> None:
        self.rows.append(_write_values(self.integration_id, state, contact))
        if before[:2] != after[:2]:
            self.result.contacts_changed += 1
            self.touched.update(t for t in (before[1], after[1]) if t is not None)

    def write(self) -> None:
        _upsert(self.rows)
        if self.touched:
            self.result.intervals_recomputed += _recompute_intervals(
                self.integration_id, self.touched
            )


def _apply_batch(integration_id: int, batch: list[ChatChange]) -> ApplyResult:
    by_conversation: dict[str, list[ChatChange]] = {}
    for change in batch:
        by_conversation.setdefault(change.conversation_id, []).append(change)
    result = ApplyResult(chats_seen=len(by_conversation))
    with write_transaction(integration_id=integration_id):
        # Read under the write lock, like the chats: a group refresh committed between two
        # batches (another thread) must not leave chats counted against the old group set.
        live, counted_from = _counting_inputs(integration_id)
        stored = _load_rows(integration_id, list(by_conversation))
        rewrites = _Rewrites(integration_id, result)
        for conversation_id, conversation_changes in by_conversation.items():
            row = stored.get(conversation_id)
            if row is None:
                before = ChatState(conversation_id)
                before_triple: tuple[Any, Any, Any] = (None, None, None)
                result.chats_created += 1
            else:
                before = state_from_row(row)
                before_triple = _stored_triple(row)
            state = before
            for change in conversation_changes:
                state = merge(state, change)
            contact = contact_for(state, live, counted_from)
            after_triple = _contact_triple(contact)
            if row is not None and state == before and after_triple == before_triple:
                continue
            rewrites.add(state, contact, before_triple, after_triple)
        rewrites.write()
    return result


# --------------------------------------------------------------------------- recount


def recount(integration_id: int) -> ApplyResult:
    """Recompute every chat's contact from its stored state and fix the statistics.

    Needed when what counting depends on, other than the chat itself, has changed (the set
    of live groups, or the counting rules in a new release). Reads chats by id ranges, one
    transaction per range, so memory stays flat however many chats there are.
    """
    return _recount(integration_id)


def _recount(integration_id: int, only: Expression | None = None) -> ApplyResult:
    result = ApplyResult()
    last_id = 0
    while True:
        with write_transaction(integration_id=integration_id):
            live, counted_from = _counting_inputs(integration_id)
            condition = (Chat.integration == integration_id) & (Chat.id > last_id)
            if only is not None:
                condition &= only
            query = Chat.select().where(condition).order_by(Chat.id).limit(RECOUNT_BATCH_SIZE)
            rows = list(query.dicts())
            if not rows:
                break
            last_id = rows[-1]["id"]
            result.chats_seen += len(rows)
            rewrites = _Rewrites(integration_id, result)
            for row in rows:
                state = state_from_row(row)
                contact = contact_for(state, live, counted_from)
                before_triple = _stored_triple(row)
                after_triple = _contact_triple(contact)
                if after_triple == before_triple:
                    continue
                rewrites.add(state, contact, before_triple, after_triple)
            rewrites.write()
    return result


# --------------------------------------------------------------------------- groups


def refresh_groups(integration_id: int, groups: Iterable[Mapping[str, Any]]) -> GroupRefresh:
    """Make the stored groups match a *complete, successful* Freshchat group listing.

    Groups are keyed by Freshchat id and keep their latest name; a group no longer listed is
    marked deleted (its last name is kept for display) and comes back if listed again.
    Calling this with a partial listing would wrongly move chats to Undefined_Queue, so the
    caller passes only a listing that was read to the end. An *empty* listing while stored
    groups still hold contacts is refused with ``EmptyGroupListing``: one odd answer must
    not move every contact to Undefined_Queue, and an account really left without any
    group is far rarer than a glitch (see ``_refuse_if_queues_would_empty``).

    Counting depends on which groups are alive, so when that set changes the affected chats
    are recounted in the same transaction: the groups and the counts change together.
    """
    listed: dict[str, str] = {}
    for entry in groups:
        if not isinstance(entry, Mapping):
            raise ValueError(f"Freshchat listed a group that is not an object: {entry!r}")
        raw_id = entry.get("id")
        if raw_id is None or not str(raw_id).strip():
            raise ValueError(f"Freshchat listed a group without an id: {dict(entry)!r}")
        name = entry.get("name")
        listed[str(raw_id).strip()] = name if isinstance(name, str) and name.strip() else ""

    outcome = GroupRefresh()
    now = utcnow()
    with write_transaction(integration_id=integration_id):
        if not listed:
            _refuse_if_queues_would_empty(integration_id)
        existing = {
            group.group_id: group
            for group in Group.select().where(Group.integration == integration_id)
        }
        removed_ids: list[str] = []
        for group_id, name in listed.items():
            group = existing.get(group_id)
            if group is None:
                # A group listed without a name still needs a label; its id is honest.
                Group.create(
                    integration=integration_id,
                    group_id=group_id,
                    name=name or group_id,
                    deleted=False,
                    seen_at=now,
                )
                outcome.added.append(name or group_id)
                continue
            new_name = name or group.name
            if group.deleted:
                outcome.restored.append(new_name)
            if new_name != group.name:
                outcome.renamed.append(f"{group.name} → {new_name}")
            group.name = new_name
            group.deleted = False
            group.seen_at = now
            group.save()
        for group_id, group in existing.items():
            if group_id not in listed and not group.deleted:
                group.deleted = True
                group.save()
                outcome.removed.append(group.name)
                removed_ids.append(group_id)
        if outcome.live_set_changed:
            outcome.recount = _recount(integration_id, _affected_by_group_change(removed_ids))
        # Pushed events naming a group missing from this listing stop waiting (push_groups).
        Integration.update(groups_listed_at=now).where(Integration.id == integration_id).execute()
    return outcome


def _refuse_if_queues_would_empty(integration_id: int) -> None:
    """Raise ``EmptyGroupListing`` if an empty listing would empty queues holding contacts.

    Stored groups without contacts may go: marking them deleted moves no count, and the next
    listing that names them brings them back. Interval statistics answer "holds contacts"
    through their (integration, queue_key) index, without reading the chats.
    """
    holding = (
        Group.select(Group.name)
        .where(
            (Group.integration == integration_id)
            & (Group.deleted == False)  # noqa: E712
            & fn.EXISTS(
                IntervalStat.select(IntervalStat.id).where(
                    (IntervalStat.integration == integration_id)
                    & (IntervalStat.queue_key == Group.group_id)
                    & (IntervalStat.contacts > 0)
                )
            )
        )
        .order_by(Group.name)
        .limit(4)
    )
    names = [group.name for group in holding]
    if not names:
        return
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    raise EmptyGroupListing(
        f"Freshchat listed no groups, although queues here still hold contacts ({shown}); "
        "the answer was not trusted and queues were left as they were. The next sync asks "
        "again. If every group really was deleted in Freshchat, create one group there and "
        "sync: the deleted ones then move to Undefined_Queue."
    )


def _affected_by_group_change(removed_ids: list[str]) -> Expression | None:
    """Chats whose contact can change when groups appear or disappear.

    Only two kinds can: chats counted in a group that is now gone, and chats in
    Undefined_Queue (among them those whose group was gone and is now back). Every other
    ended chat is in a live group that stays live; open chats count nowhere.
    """
    if len(removed_ids) > MAX_VARIABLES:
        return None  # recount everything rather than build a statement SQLite refuses
    condition = Chat.queue_key == UNDEFINED_QUEUE_KEY
    if removed_ids:
        condition |= Chat.queue_key.in_(removed_ids)
    return condition


# --------------------------------------------------------------------------- names, deletion


def queue_names(integration_id: int) -> dict[str, str]:
    """Display name of every queue key of an integration.

    Stats are keyed by group id so that a rename needs no recount; names are joined here.
    Deleted groups keep their last name (their past contacts still belong to them); a key
    with no group row at all shows its raw id rather than vanish.
    """
    names = {UNDEFINED_QUEUE_KEY: UNDEFINED_QUEUE}
    groups = Group.select(Group.group_id, Group.name).where(Group.integration == integration_id)
    for group_id, name in groups.tuples():
        names[group_id] = name
    keys = (
        IntervalStat.select(IntervalStat.queue_key)
        .where(IntervalStat.integration == integration_id)
        .distinct()
    )
    for (queue_key,) in keys.tuples():
        names.setdefault(queue_key, queue_key)
    return names


def delete_chat_data(integration_id: int) -> None:
    """Remove an integration's chats, statistics and groups (admin chose to drop its data)."""
    with write_transaction(integration_id=integration_id):
        IntervalStat.delete().where(IntervalStat.integration == integration_id).execute()
        Chat.delete().where(Chat.integration == integration_id).execute()
        Group.delete().where(Group.integration == integration_id).execute()
