"""A database as the release before versioned migrations left it, and a raw view of one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from peewee import Database, SqliteDatabase
from playhouse.db_url import connect

from tests.engines import ON_POSTGRES, database_url
from tests.unit.test_schema_migrations import FIXTURE, _add
from webapp.extensions import db
from webapp.models import ALL_MODELS


def raw_database(url: str) -> Database:
    """The database at ``url`` as peewee sees it, without the upgrade ``open_database``
    would run."""
    if url.startswith("sqlite"):
        return SqliteDatabase(url[len("sqlite:///") :])
    return connect(url.replace("postgresql://", "psycopg3://", 1))


def old_database(folder: Path) -> str:
    """URL of a database from before migrations, with rows: the fixture file on SQLite; on
    PostgreSQL today's tables with serial ids and no history, as the release before made."""
    url = database_url(folder, "old.db")
    if not ON_POSTGRES:
        with sqlite3.connect(folder / "old.db") as connection:
            connection.executescript(FIXTURE.read_text())
        return url
    old = connect(
        url.replace("postgresql://", "psycopg3://", 1), field_types={"NEVER_REUSED_ID": "SERIAL"}
    )
    db.initialize(old)
    try:
        with old.connection_context():
            old.create_tables(ALL_MODELS)
            for name in ("One", "Two", "Three"):
                _add(name, f"{name.lower()}.freshchat.com")
    finally:
        old.close()
        db.initialize(None)
    return url
