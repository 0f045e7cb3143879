"""Opening the database from a URL, with the pragmas every SQLite connection needs."""

from __future__ import annotations

import sqlite3

from peewee import Database, SqliteDatabase
from playhouse.db_url import connect

from webapp.extensions import db
from webapp.models import ALL_MODELS

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -32000,
}


def open_database(url: str) -> Database:
    """Bind the shared proxy to the database at ``url`` and create missing tables.

    Pragmas are passed at construction so that *every* connection (request threads,
    scheduler threads) gets WAL, foreign keys and a busy timeout, not only the first one.
    """
    if url.startswith("sqlite"):
        database = connect(url, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    else:
        database = connect(url)
    db.initialize(database)
    with database.connection_context():
        database.create_tables(ALL_MODELS, safe=True)
    if is_sqlite(database) and database.database not in ("", ":memory:"):
        # SQLite checkpoints the WAL and syncs the file whenever its *last* connection
        # closes, and every request closes its own: without this idle anchor (opened once
        # the file is in WAL mode) each request paid that, ~5 ms. Checkpoints still run
        # automatically every 1000 pages; the anchor lives as long as the database object.
        anchor = sqlite3.connect(database.database, check_same_thread=False)
        anchor.execute("SELECT count(*) FROM sqlite_master").fetchall()
        database._wal_anchor = anchor  # type: ignore[attr-defined]
    return database


def is_sqlite(database: Database) -> bool:
    """SQLite needs batch sizes kept under its bound-variable limit."""
    return isinstance(database, SqliteDatabase)
