"""Adds table rate_limit: push and sign-in limits kept in the database, shared by processes.

No existing table or column changes. On PostgreSQL the table is made unlogged at start
(``webapp.engines.postgresql.after_upgrade``): its counts may be lost in a crash, as they
were when they lived in process memory.
"""

from peewee import Database


def up(migrator, db: Database) -> None:  # type: ignore[no-untyped-def]
    # Nothing existing changes. Start-up creates missing tables before migrations run (see
    # webapp.schema), so this only records the change; creating it here too keeps the
    # migration complete on its own.
    from webapp.models import RateLimit

    db.create_tables([RateLimit], safe=True)
