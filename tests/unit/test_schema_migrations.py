"""Versioned migrations: an older database upgrades in place and keeps every row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cryptography.fernet import Fernet

from tests.conftest import make_test_app
from tests.engines import ON_POSTGRES, database_url, postgres_only, sqlite_only
from webapp import integrations, schema
from webapp.database import open_database
from webapp.extensions import db
from webapp.models import ALL_MODELS, DataCheck, Integration
from webapp.security import SecretBox

FIXTURE = Path(__file__).parents[1] / "fixtures" / "schema" / "main-2026-12-01.sql"
TABLES = ("admin", "integration", "api_key", "group", "chat", "interval_stat", "sync_run")
MIGRATIONS = (
    "0001_integration_ids_never_reused",
    "0002_shared_rate_limits",
    "0003_shared_data_checks",
)
# Tables the fixture's schema lacks, made by the upgrade.
NEW_TABLES = {"rate_limit", "data_check"}


def _rows(database, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Every row of the tables, limited to ``columns`` (the ones an older schema had)."""
    with database.connection_context():
        columns = columns or {
            table: [column.name for column in database.get_columns(table)] for table in TABLES
        }
        return {
            table: sorted(
                database.execute_sql(
                    "SELECT " + ", ".join(f'"{c}"' for c in columns[table]) + f' FROM "{table}"'
                ).fetchall(),
                key=repr,
            )
            for table in TABLES
        }


def _columns(database) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    with database.connection_context():
        return {table: [c.name for c in database.get_columns(table)] for table in TABLES}


def _add(name: str, domain: str) -> Integration:
    box = SecretBox(Fernet.generate_key().decode())
    return integrations.create(integrations.IntegrationInput(name, domain, "key-" + name), box)


def _ids_are_never_reused(database) -> None:  # type: ignore[no-untyped-def]
    with database.connection_context():
        newest = Integration.select().order_by(Integration.id.desc()).get()
        integrations.delete(newest, remove_data=True)  # the row itself goes
        again = _add("Again", "again.freshchat.com")
        assert again.id > newest.id


@sqlite_only
def test_a_database_file_from_before_migrations_upgrades_and_keeps_every_row(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(FIXTURE.read_text())
    raw = open_database_raw(path)
    assert NEW_TABLES.isdisjoint(raw.get_tables())
    old_columns = _columns(raw)
    before = _rows(raw, old_columns)

    database = open_database(f"sqlite:///{path}")
    try:
        migrations = [line for line in database.schema_changes if line.startswith("migration")]
        added = database.schema_changes[len(migrations) :]
        assert migrations == [f"migration {name}: {schema.describe(name)}" for name in MIGRATIONS]
        # Columns newer models declare, nullable or defaulted, come after the migrations.
        assert added and all(line.startswith("added column ") for line in added)
        assert _rows(database, old_columns) == before
        with database.connection_context():
            assert set(database.get_tables()) >= NEW_TABLES
            (ddl,) = database.execute_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'integration'"
            ).fetchone()
            assert "AUTOINCREMENT" in ddl
            assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
            assert database.execute_sql("PRAGMA foreign_keys").fetchone() == (1,)
        assert [applied for _, applied, _ in schema.status(database)] == [True] * len(MIGRATIONS)
        _ids_are_never_reused(database)
        # A second start finds nothing to do.
        db.initialize(None)
        assert open_database(f"sqlite:///{path}").schema_changes == []
    finally:
        db.initialize(None)


def open_database_raw(path: Path):  # type: ignore[no-untyped-def]
    """The file as peewee sees it, without the upgrade open_database would run."""
    from peewee import SqliteDatabase

    return SqliteDatabase(str(path))


@postgres_only
def test_a_postgresql_database_from_before_migrations_upgrades_and_keeps_every_row(tmp_path):
    from playhouse.db_url import connect

    url = database_url(tmp_path)
    # Today's schema on PostgreSQL: plain serial ids, no migration history.
    old = connect(
        url.replace("postgresql://", "psycopg3://"), field_types={"NEVER_REUSED_ID": "SERIAL"}
    )
    db.initialize(old)
    with old.connection_context():
        old.create_tables([model for model in ALL_MODELS if model is not DataCheck])
        for name in ("One", "Two", "Three"):
            _add(name, f"{name.lower()}.freshchat.com")
    before = _rows(old)
    old.close()

    database = open_database(url)
    try:
        assert [line.split(":")[0] for line in database.schema_changes] == [
            f"migration {name}" for name in MIGRATIONS
        ]  # the old tables here were made from today's models: no column is missing
        assert _rows(database) == before
        with database.connection_context():
            assert "data_check" in database.get_tables()
        _ids_are_never_reused(database)
    finally:
        db.initialize(None)


def test_a_new_database_records_every_migration_and_never_reuses_an_id(database):
    assert database.schema_changes == ["created every table"]
    assert all(applied for _, applied, _ in schema.status(database))
    for round_ in range(2):
        _add(f"First {round_}", f"first{round_}.freshchat.com")
    _ids_are_never_reused(database)


def test_every_migration_says_what_it_does_in_one_line():
    for path in sorted(schema.MIGRATIONS.glob("[0-9]*.py")):
        line = schema.describe(path.stem)
        assert line and line != path.stem and len(line) <= 100, path.name


def test_db_upgrade_command_lists_the_migrations(tmp_path):
    app = make_test_app(tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0] == "created every table"
        assert lines[1].startswith("applied  0001_integration_ids_never_reused  Integration ids")
        status = app.test_cli_runner().invoke(args=["db", "status"])
        assert status.output.splitlines() == lines[1:]
    finally:
        db.initialize(None)


def test_engine_under_test_is_the_one_configured(tmp_path):
    """Guards the PostgreSQL run against silently testing SQLite."""
    database = open_database(database_url(tmp_path))
    try:
        assert type(database).__name__.startswith("Pooled")
        assert ("Psycopg3" in type(database).__name__) == ON_POSTGRES
    finally:
        db.initialize(None)
