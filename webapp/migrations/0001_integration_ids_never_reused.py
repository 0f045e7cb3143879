"""Integration ids are never reused: AUTOINCREMENT on SQLite (PostgreSQL never reused them)."""

from peewee import Database, SqliteDatabase

atomic = False  # SQLite's table rebuild manages its own transaction and foreign-key switch


def up(migrator, db: Database) -> None:  # type: ignore[no-untyped-def]
    if isinstance(db, SqliteDatabase):
        from webapp.engines.sqlite import rebuild_with_autoincrement

        rebuild_with_autoincrement(db, "integration")
