"""Opening the database from a URL, with the pragmas every SQLite connection needs."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from peewee import Database, Field, Model, Query, SqliteDatabase
from playhouse.db_url import connect, parse

from webapp import schema
from webapp.engines import postgresql as engine_postgresql
from webapp.engines import sqlite as engine_sqlite
from webapp.extensions import db

_M = TypeVar("_M", bound=Model)
_T = TypeVar("_T")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -32000,
}


def open_database(url: str) -> Database:
    """Bind the shared proxy to the database at ``url`` and bring its schema up to date.

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
        database = connect(
            url,
            pragmas=SQLITE_PRAGMAS,
            check_same_thread=False,
            field_types=engine_sqlite.FIELD_TYPES,
            **pool,
        )
    else:
        # psycopg 3 with peewee's pool: a request's close hands the connection back.
        params = parse(url)
        if not params.get("database"):
            raise ValueError(f"{url!r} has no database name (postgresql://host/dbname)")
        database = engine_postgresql.PooledPsycopg3PingIdle(
            **params,
            field_types=engine_postgresql.FIELD_TYPES,
            max_connections=32,
            stale_timeout=300,
        )
    db.initialize(database)
    if is_sqlite(database) and database.database not in ("", ":memory:"):
        # SQLite checkpoints the WAL and syncs the file whenever its *last* connection
        # closes, and every request closes its own: without this idle anchor each request
        # paid that, ~5 ms. Checkpoints still run automatically every 1000 pages; the
        # anchor lives as long as the database object. Opened first, it is also what puts
        # the file in WAL mode (processes starting together on a new file need that).
        database._wal_anchor = engine_sqlite.wal_anchor(  # type: ignore[attr-defined]
            database.database, SQLITE_PRAGMAS["busy_timeout"] / 1000
        )
    database.schema_changes = schema.upgrade(database)  # type: ignore[attr-defined]
    return database


def is_sqlite(database: Database) -> bool:
    """SQLite needs batch sizes kept under its bound-variable limit."""
    return isinstance(database, SqliteDatabase)


def write_transaction(
    *, integration_id: int | None = None, table: type[Model] | None = None
) -> AbstractContextManager[Any]:
    """A write transaction that reads first: serialised with other writers of the same
    integration (or ``table``) on either engine, so read-then-write steps stay exact."""
    engine = engine_sqlite if is_sqlite(db.obj) else engine_postgresql
    return engine.write_transaction(
        db.obj,
        integration_id=integration_id,
        table=table._meta.table_name if table is not None else None,
    )


def now_seconds_sql() -> str:
    """SQL for "now" in Unix seconds on the *database's* clock: one clock for every
    process, wherever they run (time limits shared between processes need that)."""
    engine = engine_sqlite if is_sqlite(db.obj) else engine_postgresql
    return engine.NOW_SECONDS_SQL


# --------------------------------------------------------------------------- prepared text

# SQLite builds before 3.32 allow 999 bound variables per statement; stay under that so the
# same code runs on any build (and on PostgreSQL, whose limit is far higher).
MAX_VARIABLES = 900
IN_LIST_SIZES = (1, 8, 64, 256, MAX_VARIABLES)


def padded_in_lists(values: Sequence[_T]) -> Iterator[tuple[int, list[_T]]]:
    """``values`` in chunks that fit one ``IN (...)`` list, as (size, padded chunk).

    Each chunk is padded to one of ``IN_LIST_SIZES`` by repeating its last value, which
    changes the result of no ``IN`` test, so that a handful of prepared statements
    (``prepared_sql`` keyed by size) serve every length.
    """
    for start in range(0, len(values), MAX_VARIABLES):
        chunk = list(values[start : start + MAX_VARIABLES])
        size = next(size for size in IN_LIST_SIZES if size >= len(chunk))
        yield size, chunk + [chunk[-1]] * (size - len(chunk))


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
