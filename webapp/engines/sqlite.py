"""SQLite: one writer at a time for the whole file."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from peewee import Database

FIELD_TYPES = {"NEVER_REUSED_ID": "INTEGER", "NEVER_REUSED_ID_SUFFIX": "AUTOINCREMENT"}

# Unix seconds (ms precision), the same value everywhere within one statement.
NOW_SECONDS_SQL = "((julianday('now') - 2440587.5) * 86400.0)"


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


def rebuild_with_autoincrement(database: Database, table: str) -> None:
    """Rebuild ``table`` with ``AUTOINCREMENT`` on its id, keeping every row and index.

    SQLite cannot alter a column, so this follows its documented twelve-step rebuild:
    foreign keys off (outside the transaction, or dropping the old table would cascade),
    copy into a new table, swap names, recreate the indexes, check the foreign keys.
    """
    (create_sql,) = database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    if "AUTOINCREMENT" in create_sql.upper():
        return
    marker = '"id" INTEGER NOT NULL PRIMARY KEY'
    if marker not in create_sql:
        raise RuntimeError(f"Unexpected definition of {table}: cannot add AUTOINCREMENT")
    indexes = [
        sql
        for (sql,) in database.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
            " AND sql IS NOT NULL",
            (table,),
        )
    ]
    staging = f"{table}__rebuild"
    new_sql = create_sql.replace(f'"{table}"', f'"{staging}"', 1).replace(
        marker, marker + " AUTOINCREMENT", 1
    )
    database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with database.atomic():
            database.execute_sql(new_sql)
            database.execute_sql(f'INSERT INTO "{staging}" SELECT * FROM "{table}"')
            database.execute_sql(f'DROP TABLE "{table}"')
            database.execute_sql(f'ALTER TABLE "{staging}" RENAME TO "{table}"')
            for sql in indexes:
                database.execute_sql(sql)
            problems = database.execute_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"Rebuilding {table} broke foreign keys: {problems[:3]}")
    finally:
        database.execute_sql("PRAGMA foreign_keys = ON")
