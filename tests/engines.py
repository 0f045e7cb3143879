"""Which database engine the suite runs on, and a fresh database per use.

By default every test gets its own SQLite file. When ``TEST_DATABASE_URL`` names a
PostgreSQL server (``.ci/with-postgres`` starts a throwaway one), each call makes a fresh,
empty database there instead, dropped when the test session ends, so the same tests prove
both engines. Tests that only make sense on one engine say so with the marks below.
"""

from __future__ import annotations

import atexit
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

SERVER_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith(("postgres://", "postgresql://"))

sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite-only: the file and its pragmas")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL-only")

_created: dict[tuple[Path, str], str] = {}


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(SERVER_URL, autocommit=True)


def database_url(folder: Path, name: str = "test.db") -> str:
    """A URL to an empty database: a SQLite file in ``folder``, or a new PostgreSQL one."""
    if not ON_POSTGRES:
        return f"sqlite:///{folder / name}"
    database = _created.get((folder, name))
    if database is None:  # the same folder and name reopen the same database, like a file
        database = _created[folder, name] = f"t_{uuid.uuid4().hex[:16]}"
        with _admin() as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{database}"))


@atexit.register
def _drop_created() -> None:
    if not _created:
        return
    with _admin() as connection:
        for database in _created.values():
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def outside_query(database, sql: str, params: tuple = ()) -> tuple:  # type: ignore[no-untyped-def]
    """First row of ``sql`` (``?`` placeholders) read over a brand-new connection that
    peewee knows nothing of: what another process would see, committed data only."""
    if not ON_POSTGRES:
        import sqlite3

        other = sqlite3.connect(database.database)
        try:
            return other.execute(sql, params).fetchone()
        finally:
            other.close()
    import psycopg

    with psycopg.connect(dbname=database.database, **database.connect_params) as other:
        return other.execute(sql.replace("?", "%s"), params).fetchone()


def everything_stored(folder: Path, name: str = "app.db") -> bytes:
    """Every byte the database holds for ``folder``: SQLite's files (main, WAL, shared
    memory: what a backup or a stolen disk would hold), or every row of every table."""
    if not ON_POSTGRES:
        return b"".join(path.read_bytes() for path in sorted(folder.glob(name + "*")))
    import psycopg

    url = database_url(folder, name)
    with psycopg.connect(url) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        return b"".join(
            str(row[0]).encode()
            for table in tables
            for row in connection.execute(f'SELECT t::text FROM "{table}" t')
        )
