"""Opening an older database file: additive schema changes are applied at start."""

from __future__ import annotations

import sqlite3

import pytest

from webapp.database import open_database
from webapp.extensions import db


def _columns(path, table: str) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def test_a_column_added_in_a_newer_version_is_added_to_an_old_file(tmp_path):
    path = tmp_path / "old.db"
    open_database(f"sqlite:///{path}")
    db.initialize(None)
    with sqlite3.connect(path) as connection:  # what a file from before counted_from holds
        connection.execute("ALTER TABLE integration DROP COLUMN counted_from")
    assert "counted_from" not in _columns(path, "integration")

    database = open_database(f"sqlite:///{path}")
    try:
        assert "counted_from" in _columns(path, "integration")
        with database.connection_context():
            assert database.execute_sql("SELECT counted_from FROM integration").fetchall() == []
    finally:
        db.initialize(None)


def test_a_column_that_cannot_be_added_stops_the_start_clearly(tmp_path):
    path = tmp_path / "old.db"
    open_database(f"sqlite:///{path}")
    db.initialize(None)
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE integration DROP COLUMN domain")
    with pytest.raises(RuntimeError, match=r"integration\.domain.*migration is needed"):
        open_database(f"sqlite:///{path}")
    db.initialize(None)
