"""Adds table data_check: Check data access kept in the database, shown by every process.

No existing table or column changes. A check that was running in memory when the old
version stopped is simply gone, as it was on any restart before.
"""

from peewee import Database


def up(migrator, db: Database) -> None:  # type: ignore[no-untyped-def]
    # Start-up creates missing tables before migrations run (see webapp.schema), so this
    # only records the change; creating it here too keeps the migration complete on its own.
    from webapp.models import DataCheck

    db.create_tables([DataCheck], safe=True)
