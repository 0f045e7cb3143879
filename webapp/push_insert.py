"""Storing pushed events: skip those already stored and learn the new ones' ids, in one
statement per hundred events (``push.store`` runs it inside the request's transaction).

A select of the stored keys, an insert and a select of the new ids were three round trips
per request; here the unique index on (integration, dedup key) decides what is new and
``RETURNING`` says which ids it got (PostgreSQL, and SQLite from 3.35).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from webapp.database import prepared_sql
from webapp.extensions import db
from webapp.models import InboundEvent
from webapp.push_body import IncomingEvent

INSERT_ROWS_MAX = 100  # rows per INSERT: 6 values each, under SQLite's variable limit


def _insert_sql(rows: int) -> str:
    """INSERT text for ``rows`` events that skips those already stored and returns the new
    ones' ids: deduplication, insert and ids in one statement (the unique index on
    (integration, dedup key) decides), built once per row count and dialect."""
    return prepared_sql(
        ("push.insert_events", rows),
        lambda: (
            InboundEvent.insert_many(
                [
                    {
                        InboundEvent.integration: 0,
                        InboundEvent.dedup_key: "",
                        InboundEvent.event_name: "",
                        InboundEvent.received_at: None,
                        InboundEvent.body: "",
                        InboundEvent.trimmed: True,
                    }
                ]
                * rows
            )
            .on_conflict(
                conflict_target=[InboundEvent.integration, InboundEvent.dedup_key], action="NOTHING"
            )
            .returning(InboundEvent.id, InboundEvent.dedup_key)
        ),
    )


def insert_new(
    integration_id: int, events: Sequence[IncomingEvent], now: datetime
) -> dict[str, int]:
    """Insert the events this integration has not stored yet; their ids by dedup key."""
    received_at = InboundEvent.received_at.db_value(now)
    ids: dict[str, int] = {}
    for start in range(0, len(events), INSERT_ROWS_MAX):
        chunk = events[start : start + INSERT_ROWS_MAX]
        params: list[Any] = []
        for event in chunk:
            params += [integration_id, event.dedup_key, event.event_name, received_at]
            params += [event.body, True]
        cursor = db.execute_sql(_insert_sql(len(chunk)), params)
        ids.update((key, event_id) for event_id, key in cursor)
    return ids
