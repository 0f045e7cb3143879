"""Shared fixtures: every test gets its own temporary SQLite *file* (WAL needs a file)."""

from __future__ import annotations

import pytest

from webapp.database import open_database
from webapp.extensions import db


@pytest.fixture
def database(tmp_path):
    """A fresh database bound to the models, connected for the test's thread."""
    database = open_database(f"sqlite:///{tmp_path / 'test.db'}")
    database.connect(reuse_if_open=True)
    yield database
    if not database.is_closed():
        database.close()
    db.initialize(None)
