"""SQLite: one writer at a time for the whole file."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from peewee import Database


def write_transaction(
    database: Database, *, integration_id: int | None, table: str | None
) -> AbstractContextManager[Any]:
    """``BEGIN IMMEDIATE`` takes the file's write lock up front.

    A deferred transaction that reads and then writes can fail with SQLITE_BUSY (which the
    busy timeout cannot cure in WAL mode) when another connection committed in between;
    taking the lock first makes concurrent writers simply wait their turn. The lock covers
    the whole file, so the integration or table asked for needs nothing more.
    """
    return database.atomic("IMMEDIATE")
