"""Opening the database from a URL, with the pragmas every SQLite connection needs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from peewee import Database, Field, Model, Query, SqliteDatabase
from playhouse.db_url import connect

from webapp.extensions import db
from webapp.models import ALL_MODELS

_M = TypeVar("_M", bound=Model)

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

    A plain ``sqlite://`` URL opens a pool: a request's ``close`` hands the connection back
    (rolled back if a transaction was left open) and the next request reuses it. Opening a
    connection and reading the schema again on every request was ~0.2 ms of a 1.5 ms
    pushed event. The pool is unbounded, like plain connections: one per busy thread.
    """
    if url.startswith("sqlite"):
        if url.startswith("sqlite://"):
            url = "sqlite+pool://" + url[len("sqlite://") :]
            pool = {"max_connections": None, "stale_timeout": None}
        else:
            pool = {}
        database = connect(url, pragmas=SQLITE_PRAGMAS, check_same_thread=False, **pool)
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


# --------------------------------------------------------------------------- prepared text

_SQL_CACHE: dict[tuple[type, Hashable], str] = {}


def prepared_sql(key: Hashable, build: Callable[[], Query]) -> str:
    """SQL text of a statement whose shape never changes, built once per dialect.

    Peewee rebuilds a statement's text on every execution, and on the push path (a few
    small statements per request) building cost more than running them. Callers run the
    text with ``db.execute_sql`` and pass the parameters in the order ``build``'s query
    binds them, converted as its fields would (``Field.db_value``).
    """
    cache_key = (type(db.obj), key)
    sql = _SQL_CACHE.get(cache_key)
    if sql is None:
        sql = _SQL_CACHE[cache_key] = build().sql()[0]
    return sql


def model_from_row(model: type[_M], fields: Sequence[Field], values: Sequence[Any]) -> _M:
    """A model instance as peewee would load it (nothing dirty) from selected columns."""
    instance = model(__no_default__=1)
    data = instance.__data__
    for field, value in zip(fields, values, strict=True):
        data[field.name] = field.python_value(value)
    return instance
