"""A chat's merged state and its stored ``Chat`` row, and the bulk statements on rows.

The row is the only memory of a chat between batches, so converting both ways must be
exact; and every statement here runs for a whole batch at once (``IN`` lists,
``executemany``, one ``GROUP BY`` per set of intervals), because per-chat statements were
most of a sync's time (bench/bench_floor.py). Statements are prepared once per dialect and
size (``prepared_sql``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any

from peewee import EXCLUDED, DateTimeField, fn
from peewee import __exception_wrapper__ as _as_peewee_errors

from webapp.chatstate import ChatState, GroupObservation
from webapp.counting import Contact
from webapp.database import padded_in_lists, prepared_sql
from webapp.extensions import db
from webapp.models import Chat, Group, Integration, IntervalStat

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


# --------------------------------------------------------------------------- row <-> state


def _history_to_json(history: Sequence[GroupObservation]) -> str:
    """The text ``json.dumps([[when.isoformat(), group_id], ...])`` gives, built directly:
    the encoder's set-up cost more than the rest of writing a chat (bench_floor.py)."""
    if len(history) == 1:  # most chats: one group, said at creation or resolution
        ((when, group_id),) = history
        return f'[["{when.isoformat()}", {"null" if group_id is None else _json_string(group_id)}]]'
    return (
        "["
        + ", ".join(
            [
                f'["{when.isoformat()}", {"null" if group_id is None else _json_string(group_id)}]'
                for when, group_id in history
            ]
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
    return dict(zip(_WRITE_FIELDS[1:], write_values(0, state, contact)[1:], strict=True))


def write_values(integration_id: int, state: ChatState, contact: Contact | None) -> tuple:
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


def sqlite_write_values(integration_id: int, state: ChatState, contact: Contact | None) -> tuple:
    """``write_values`` with times as the text SQLite stores (``str(datetime)``, the same
    ``isoformat(" ")`` the driver's adapter writes): the adapter's per-value call was a
    third of inserting a chat (bench/bench_floor.py)."""
    created, seen = state.created_time, state.first_seen_time
    first, last = state.first_resolved_time, state.last_resolved_time
    status_time, changed = state.status_time, state.last_change_time
    created_text = None if created is None else str(created)
    first_text = None if first is None else str(first)
    last_text = first_text if last is first else None if last is None else str(last)
    return (
        integration_id,
        state.conversation_id,
        created_text,
        created_text if seen is created else None if seen is None else str(seen),
        first_text,
        last_text,
        state.status,
        last_text if status_time is last else None if status_time is None else str(status_time),
        _history_to_json(state.group_history),
        state.spam,
        state.deleted,
        last_text if changed is last else None if changed is None else str(changed),
        *(
            (contact.queue_key, str(contact.interval_start), contact.reason)
            if contact
            else _NO_CONTACT
        ),
    )


_NO_CONTACT = (None, None, None)


def contact_triple(contact: Contact | None) -> tuple[str | None, datetime | None, str | None]:
    if contact is None:
        return None, None, None
    return contact.queue_key, contact.interval_start, contact.reason


def stored_triple(row: Mapping[str, Any]) -> tuple[str | None, datetime | None, str | None]:
    return row["queue_key"], row["interval_start"], row["count_reason"]


# --------------------------------------------------------------------------- helpers


# Statements run once per batch are prepared once (``prepared_sql``): for the small
# batches of pushed events, building their text cost more than running them.


def live_group_ids(integration_id: int) -> frozenset[str]:
    sql = prepared_sql(
        "chats.live_groups",
        lambda: Group.select(Group.group_id).where(
            (Group.integration == 0) & (Group.deleted == False)  # noqa: E712
        ),
    )
    cursor = db.execute_sql(sql, [integration_id, Group.deleted.db_value(False)])
    return frozenset(group_id for (group_id,) in cursor)


def counted_from(integration_id: int) -> datetime | None:
    """Start of the imported history (set by the first sync); None: count everything."""
    sql = prepared_sql(
        "chats.counted_from",
        lambda: Integration.select(Integration.counted_from).where(Integration.id == 0),
    )  # by primary key: one row at most
    row = db.execute_sql(sql, [integration_id]).fetchone()
    return Integration.counted_from.python_value(row[0]) if row else None


# What applying reads of a stored chat (state_from_row, stored_triple).
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


def load_rows(integration_id: int, conversation_ids: Sequence[str]) -> dict[str, dict]:
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


def upsert(rows: list[tuple]) -> None:
    """Insert new chats and rewrite changed ones in one prepared statement.

    ``executemany`` of a one-row upsert lets the driver loop in C; building multi-row
    ``INSERT`` statements through the query builder cost more than the database work itself
    (measured with bench/bench_apply.py). The values are plain driver types already.
    """
    if not rows:
        return
    with _as_peewee_errors:  # same exception types (IntegrityError...) as peewee queries
        db.cursor().executemany(_upsert_sql(), rows)


def recompute_intervals(integration_id: int, intervals: set[datetime]) -> int:
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


def counting_inputs(integration_id: int) -> tuple[frozenset[str], datetime | None]:
    """What counting needs besides the chat: the live groups and where history starts."""
    return live_group_ids(integration_id), counted_from(integration_id)
