"""SQLite: one writer at a time for the whole file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
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


def wal_anchor(path: str, timeout: float) -> sqlite3.Connection:
    """A connection to the file at ``path``, which it puts in WAL mode, kept open by the
    caller for as long as it uses the file.

    Processes opening a brand-new (or rollback-journal) file at the same moment each ask
    for WAL mode, and SQLite answers all but one "database is locked" at once, without
    waiting on the busy timeout. So this asks again until the switch is done (it takes
    milliseconds) or ``timeout`` seconds have passed; in WAL mode every later connection's
    request for it is a no-op.
    """
    deadline = time.monotonic() + timeout
    while True:
        connection = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode = wal").fetchall()
            return connection
        except sqlite3.OperationalError as error:
            connection.close()
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)  # another process is switching the file; ask again shortly


@contextmanager
def upgrade_lock(database: Database) -> Iterator[None]:
    """The whole schema upgrade as one ``BEGIN IMMEDIATE`` transaction: the file's write
    lock, taken before anything is read, so a second process starting at the same moment
    waits (the busy timeout) and then finds the work done.

    Foreign keys are switched off for it first (SQLite ignores that switch inside a
    transaction, and a table rebuild must not cascade its ``DROP``); if anything changed
    they are checked before the commit (not on a start with nothing to do: the check reads
    every table), and switched back on afterwards, as SQLite's documented procedure for
    schema changes says.
    """
    (enforced,) = database.execute_sql("PRAGMA foreign_keys").fetchone()
    database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with database.atomic("IMMEDIATE"):
            before = _changes(database)
            yield
            if _changes(database) != before:
                problems = database.execute_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"The upgrade broke foreign keys: {problems[:3]}")
    finally:
        database.execute_sql(f"PRAGMA foreign_keys = {int(enforced)}")


def _changes(database: Database) -> tuple[int, int]:
    """Schema changes and rows written so far on this connection."""
    (version,) = database.execute_sql("PRAGMA schema_version").fetchone()
    return version, database.connection().total_changes


def after_upgrade(database: Database) -> None:
    """Nothing to adjust on SQLite once the schema is up to date."""


def rebuild_with_autoincrement(database: Database, table: str) -> None:
    """Rebuild ``table`` with ``AUTOINCREMENT`` on its id, keeping every row and index.

    SQLite cannot alter a column, so this follows its documented twelve-step rebuild:
    foreign keys off (outside the transaction, or dropping the old table would cascade),
    copy into a new table, swap names, recreate the indexes, check the foreign keys.
    Inside ``upgrade_lock`` the keys are already off (switching them here is then a no-op);
    anywhere they could not be switched off, this refuses rather than cascade.
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
        if database.execute_sql("PRAGMA foreign_keys").fetchone()[0]:
            raise RuntimeError(f"Cannot rebuild {table}: foreign keys are enforced here")
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
