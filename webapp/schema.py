"""Bringing a database's schema to what this version of the code declares.

A new database gets every table as the models declare them, and every migration is
recorded as already applied. An existing one (an on-prem box pulling a new release over
its file) gets, in order: the tables it lacks, the versioned migrations it has not had
(``webapp/migrations/NNNN_what.py``, each saying in one line what it does, run by
peewee's migration runner and recorded in ``schema_migration``), and finally any nullable
or defaulted column a model declares and the table lacks. Anything else that differs is a
migration to write; starting refuses with a clear message rather than run on a schema the
code does not expect.

Several processes may start at once (servers behind a proxy, ``flask db upgrade``): the
whole upgrade holds the engine's upgrade lock, and what is missing is decided only once
it is held, so the first process does the work and the others find nothing to do.
"""

from __future__ import annotations

from pathlib import Path

from peewee import Database
from playhouse.migrate import SchemaMigrator, migrate
from playhouse.migrations import Migration, Runner

from webapp import engines
from webapp.models import ALL_MODELS

MIGRATIONS = Path(__file__).with_name("migrations")
HISTORY_TABLE = "schema_migration"


def runner(database: Database) -> Runner:
    return Runner(database, str(MIGRATIONS), table_name=HISTORY_TABLE)


def upgrade(database: Database) -> list[str]:
    """Apply what this database lacks; returns what was done, one line each (nothing when
    another process did it first)."""
    engine = engines.for_database(database)
    with database.connection_context(), engine.upgrade_lock(database):
        done = _upgrade_locked(database)
        engine.after_upgrade(database)
    return done


def _upgrade_locked(database: Database) -> list[str]:
    migrations = runner(database)
    if not [name for name in database.get_tables() if name != HISTORY_TABLE]:
        database.create_tables(ALL_MODELS)
        migrations.fake()
        return ["created every table"]
    database.create_tables(ALL_MODELS, safe=True)
    done = [f"migration {name}: {describe(name)}" for name in migrations.up()]
    return done + [f"added column {column}" for column in add_missing_columns(database)]


def status(database: Database) -> list[tuple[str, bool, str]]:
    """(name, applied, what it does) for every migration the code knows."""
    with database.connection_context():
        return [
            (migration.name, migration.applied is not None, describe(migration.name))
            for migration in runner(database).status()
            if migration.path is not None
        ]


def describe(name: str) -> str:
    """A migration's one line: the first line of its docstring."""
    module = Migration(0, name, str(MIGRATIONS / f"{name}.py"), None).load()
    return (module.__doc__ or name).strip().splitlines()[0]


def add_missing_columns(database: Database) -> list[str]:
    """Add columns that newer code declares but an older database lacks.

    Only additive changes are done here (nullable columns or columns with a default),
    through peewee's own migrator; anything else needs a written migration and stops the
    start with a clear message.
    """
    migrator = SchemaMigrator.from_database(database)
    operations = []
    added: list[str] = []
    for model in ALL_MODELS:
        table = model._meta.table_name
        present = {column.name for column in database.get_columns(table)}
        for field in model._meta.sorted_fields:
            if field.column_name in present:
                continue
            if not field.null and field.default is None:
                raise RuntimeError(
                    f"The database lacks column {table}.{field.column_name}, which cannot be "
                    "added automatically (not nullable, no default): a migration is needed."
                )
            operations.append(migrator.add_column(table, field.column_name, field))
            added.append(f"{table}.{field.column_name}")
    if operations:
        with database.atomic():
            migrate(*operations)
    return added
