"""What differs between the two database engines, one module each.

Everything else speaks through peewee's query builder, which writes each dialect itself.
"""

from __future__ import annotations

from types import ModuleType

from peewee import Database, SqliteDatabase


def for_database(database: Database) -> ModuleType:
    """The module holding what is specific to ``database``'s engine."""
    from webapp.engines import postgresql, sqlite

    return sqlite if isinstance(database, SqliteDatabase) else postgresql
