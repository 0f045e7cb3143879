"""The schema upgrade is one locked transaction: all of it happens, or none.

(Processes upgrading at the same moment: ``tests/e2e/test_concurrent_upgrade.py``.)
"""

from __future__ import annotations

import pytest

from tests.engines import ON_POSTGRES, sqlite_only
from tests.old_schema import old_database, raw_database
from tests.unit.test_schema_migrations import _columns, _rows
from webapp import schema
from webapp.database import open_database
from webapp.engines.sqlite import rebuild_with_autoincrement
from webapp.extensions import db


def _history_table_exists(url: str) -> bool:
    raw = raw_database(url)
    with raw.connection_context():
        exists = schema.HISTORY_TABLE in raw.get_tables()
    raw.close()
    return exists


def test_an_upgrade_failing_part_way_changes_nothing(tmp_path, monkeypatch):
    url = old_database(tmp_path)
    raw = raw_database(url)
    old_columns = _columns(raw)
    before = _rows(raw, old_columns)
    raw.close()

    def fail(database):  # type: ignore[no-untyped-def]
        raise RuntimeError("the last step failed")

    # The migrations have run by then (0001 rebuilt SQLite's integration table).
    monkeypatch.setattr(schema, "add_missing_columns", fail)
    with pytest.raises(RuntimeError, match="the last step failed"):
        open_database(url)
    db.initialize(None)

    assert not _history_table_exists(url)  # no migration recorded, none kept
    raw = raw_database(url)
    assert _columns(raw) == old_columns and _rows(raw, old_columns) == before
    if not ON_POSTGRES:
        with raw.connection_context():
            (ddl,) = raw.execute_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'integration'"
            ).fetchone()
        assert "AUTOINCREMENT" not in ddl  # the rebuild was rolled back too
    raw.close()

    monkeypatch.undo()  # the next start does it all
    try:
        assert any(line.startswith("migration 0001") for line in open_database(url).schema_changes)
    finally:
        db.initialize(None)


@sqlite_only
def test_the_sqlite_rebuild_refuses_where_foreign_keys_cannot_be_switched_off(database):
    """Inside a transaction SQLite ignores the switch; dropping the old table would then
    delete (cascade) every row that refers to it. The upgrade switches them off first."""
    with database.atomic():
        assert database.execute_sql("PRAGMA foreign_keys").fetchone() == (1,)
        with pytest.raises(RuntimeError, match="foreign keys are enforced"):
            rebuild_with_autoincrement(database, "sync_run")
