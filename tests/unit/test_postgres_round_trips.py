"""PostgreSQL round trips the push path no longer pays: a second lock of an integration its
transaction already holds, and a ping of a pool connection that was in use a moment ago."""

from __future__ import annotations

import pytest

from tests.engines import database_url, postgres_only
from webapp.database import open_database, write_transaction
from webapp.extensions import db
from webapp.models import Integration

pytestmark = postgres_only


@pytest.fixture
def database(tmp_path):
    database = open_database(database_url(tmp_path, "trips"))
    yield database
    database.close_all()


@pytest.fixture
def statements(database, monkeypatch):
    """Every statement the database runs through peewee, in order."""
    seen: list[str] = []
    execute = type(database).execute_sql

    def recording(self, sql, params=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sql)
        return execute(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(type(database), "execute_sql", recording)
    return seen


def _integration(name: str) -> int:
    return Integration.create(name=name, name_key=name, domain=f"{name}.freshchat.com",
                              api_key_encrypted="x", api_key_last4="1234").id  # fmt: skip


def _locks(statements: list[str]) -> int:
    return sum("FOR UPDATE" in sql for sql in statements)


def test_nested_write_transactions_of_one_integration_lock_it_once(database, statements):
    with db.connection_context():
        first, second = _integration("one"), _integration("two")
        statements.clear()
        with write_transaction(integration_id=first):
            with (
                write_transaction(integration_id=first),
                write_transaction(integration_id=first),
            ):
                pass
            assert _locks(statements) == 1
            with write_transaction(integration_id=second):  # another row: locked too
                pass
            assert _locks(statements) == 2
        with write_transaction(integration_id=first):  # a new transaction locks again
            pass
        assert _locks(statements) == 3


def test_a_lock_released_by_a_rolled_back_savepoint_is_taken_again(database, statements):
    with db.connection_context():
        first, second = _integration("one"), _integration("two")
        statements.clear()
        with write_transaction(integration_id=first):
            with pytest.raises(ZeroDivisionError), write_transaction(integration_id=second):
                1 / 0  # noqa: B018
            # PostgreSQL released the row lock with the savepoint: it must be asked again.
            with write_transaction(integration_id=second):
                pass
        assert _locks(statements) == 3


def test_a_connection_just_handed_back_is_reused_without_a_ping(database, statements):
    with db.connection_context():
        db.execute_sql("SELECT 41")
    statements.clear()
    pings: list[object] = []
    database._adapter.is_connection_closed = lambda conn: pings.append(conn) or False
    with db.connection_context():
        db.execute_sql("SELECT 42")
    assert pings == []
    database.PING_AFTER_IDLE = 0.0  # as if it had sat idle: pinged before use
    with db.connection_context():
        db.execute_sql("SELECT 43")
    assert len(pings) == 1


def test_a_connection_cut_while_idle_is_replaced_not_handed_out(database):
    with db.connection_context():
        victim = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    database.PING_AFTER_IDLE = 0.0
    import psycopg

    params = {"dbname": database.database, **database.connect_params}
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (victim,))
    with db.connection_context():
        now = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    assert now != victim
