"""Counting the SQL statements the app runs, and telling which ones a template ran."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from webapp.extensions import db


@dataclass(frozen=True)
class Statement:
    sql: str
    template: str | None  # the template whose code was running, if any


def _running_template() -> str | None:
    """Jinja compiles templates to Python code named after their file: a frame of such
    code on the stack means a template (or a global it called) asked for the query."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.endswith(".html"):
            return frame.f_code.co_filename
        frame = frame.f_back
    return None


@contextmanager
def recorded_statements() -> Iterator[list[Statement]]:
    """Every statement the app's database executes inside the block, in order."""
    database = db.obj
    assert database is not None, "no database bound: create the app first"
    real = database.execute_sql
    statements: list[Statement] = []

    def spy(sql, *args, **kwargs):  # type: ignore[no-untyped-def]
        statements.append(Statement(sql, _running_template()))
        return real(sql, *args, **kwargs)

    database.execute_sql = spy
    try:
        yield statements
    finally:
        del database.execute_sql
