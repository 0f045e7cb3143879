"""One-off steps at start that bring stored push data up to what this version keeps.

Events stored by earlier versions kept the whole envelope: ``iparams`` (which can hold
this server's key), message texts, names and emails. ``trim_stored_events`` rewrites
them to what counting reads, once: rows carry a ``trimmed`` flag, so later starts find
nothing to do. Their ``dedup_key`` is left as it was (it only has to stay stable).
"""

from __future__ import annotations

import json
import logging

from webapp.database import is_sqlite
from webapp.extensions import db
from webapp.freshchat.envelope_shape import trim
from webapp.models import InboundEvent

log = logging.getLogger(__name__)

CHUNK = 500


def _trimmed_body(body: str) -> str:
    try:
        envelope = json.loads(body)
    except ValueError:
        return "{}"  # unreadable: nothing of it is worth keeping
    if not isinstance(envelope, dict):
        return "{}"
    return json.dumps(trim(envelope), separators=(",", ":"), ensure_ascii=False)


def trim_stored_events() -> int:
    """Trim every event stored untrimmed; returns how many were rewritten.

    On SQLite the rewrite runs with ``secure_delete`` and ends with a checkpoint, so the
    old bodies do not linger in freed pages or in the write-ahead log.
    """
    untrimmed = InboundEvent.trimmed == False  # noqa: E712
    total = 0
    with db.connection_context():
        if not InboundEvent.select().where(untrimmed).exists():
            return 0
        sqlite = is_sqlite(db.obj)
        if sqlite:
            db.execute_sql("PRAGMA secure_delete = ON")
        try:
            while True:
                with db.atomic():
                    rows = list(
                        InboundEvent.select(InboundEvent.id, InboundEvent.body)
                        .where(untrimmed)
                        .limit(CHUNK)
                        .tuples()
                    )
                    for event_id, body in rows:
                        InboundEvent.update(body=_trimmed_body(body), trimmed=True).where(
                            InboundEvent.id == event_id
                        ).execute()
                total += len(rows)
                if len(rows) < CHUNK:
                    break
            if sqlite:
                db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            if sqlite:
                db.execute_sql("PRAGMA secure_delete = OFF")
    log.info("trimmed %d stored pushed events to the fields counting reads", total)
    return total
