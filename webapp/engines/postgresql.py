"""PostgreSQL: row and table locks where SQLite's file lock did the serialising."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from peewee import Database


@contextmanager
def write_transaction(
    database: Database, *, integration_id: int | None, table: str | None
) -> Iterator[None]:
    """A transaction that first locks what its read-then-write step depends on.

    Under READ COMMITTED, two transactions recounting the same interval would each count
    only their own uncommitted chats and the later commit would win with a wrong total.
    Locking the integration's row (``FOR UPDATE``) makes writers of one integration take
    turns while other integrations, and all readers, go on. ``table`` serialises writers of
    a whole table (first-admin setup) without blocking its readers.
    """
    with database.atomic():
        if table is not None:
            database.execute_sql(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
        if integration_id is not None:
            database.execute_sql(
                'SELECT 1 FROM "integration" WHERE "id" = %s FOR UPDATE', (integration_id,)
            )
        yield
