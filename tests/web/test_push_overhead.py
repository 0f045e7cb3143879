"""What the cheaper push path must still guarantee (prepared statements, pooled
connections, no session on the events endpoint)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.engines import outside_query
from tests.web.test_push import URL, created, make_integration, post, resolved
from webapp import chats
from webapp import integrations as service
from webapp.changes import ChatChange
from webapp.database import open_database
from webapp.extensions import db
from webapp.models import ApiKey, Chat, InboundEvent, Integration, IntervalStat


def test_a_202_is_committed_before_the_answer(app, client):
    """The pooled connection goes back to the pool, not away: the events must already be
    committed for any other connection (here a fresh one outside peewee)."""
    integration_id, key = make_integration(app)
    response = post(client, key, [created("c1"), resolved("c1")])
    assert response.status_code == 202
    assert response.get_json()["applied"] == 2
    (events,) = outside_query(
        db.obj,
        "SELECT count(*) FROM inbound_event WHERE integration_id = ? AND applied_at IS NOT NULL",
        (integration_id,),
    )
    (contacts,) = outside_query(
        db.obj,
        "SELECT sum(contacts) FROM interval_stat WHERE integration_id = ?",
        (integration_id,),
    )
    assert (events, contacts) == (2, 1)


def test_a_connection_is_reused_and_comes_back_clean(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'pool.db'}")
    try:
        database.connect()
        first = database.connection()
        # A request that dies inside a transaction hands its connection back...
        database.execute_sql("BEGIN")
        database.execute_sql(
            "INSERT INTO integration (name, name_key, kind, domain, api_key_encrypted, "
            "api_key_last4, sync_every_minutes, backfill_days, display_timezone, paused, "
            "created_at, updated_at) VALUES ('x', 'x', 'f', 'd', 'e', '1234', 15, 30, 'UTC', 0, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        database.close()
        database.connect()
        # ...which the next one gets again, rolled back.
        assert database.connection() is first
        assert not database.connection().in_transaction
        assert database.execute_sql("SELECT count(*) FROM integration").fetchone() == (0,)
        assert database.execute_sql("PRAGMA journal_mode").fetchone() == ("wal",)
        assert database.execute_sql("PRAGMA foreign_keys").fetchone() == (1,)
    finally:
        database.close()
        db.initialize(None)


def test_key_check_loads_the_integration_as_peewee_would(app):
    integration_id, key = make_integration(app)
    with db.connection_context():
        Integration.update(
            counted_from=datetime(2026, 10, 1, 0, 0), watermark=datetime(2026, 11, 2, 9, 30, 5)
        ).where(Integration.id == integration_id).execute()
        check = service.check_app_key(f"Bearer {key}")
        expected_key = ApiKey.get(ApiKey.prefix == key.split(".")[0])
        expected = Integration.get_by_id(integration_id)
        assert check.reason is None
        assert check.api_key.__data__ == expected_key.__data__
        assert check.integration.__data__ == expected.__data__
        assert isinstance(check.integration.counted_from, datetime)
        assert not check.api_key.is_dirty() and not check.integration.is_dirty()
        prefix = key.split(".")[0]
        unknown = f"Bearer {prefix[:-1]}{'0' if prefix[-1] != '0' else '1'}.nope"
        assert service.check_app_key(unknown).reason == "unknown API key"
        assert service.check_app_key(f"Bearer {key}x").reason == "wrong API key"


def test_events_endpoint_neither_reads_nor_sets_the_session_cookie(admin_client, app):
    client = admin_client.client
    _, key = make_integration(app)
    response = post(client, key, created("c1"))
    assert response.status_code == 202
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.vary
    # A refusal as well; and the admin's own session is untouched by either.
    assert post(client, None, created("c2")).status_code == 401
    assert client.get("/integrations").status_code == 200
    # Other methods on that path keep the admin's session (an error page, not a login).
    wrong_method = client.get(URL)
    assert wrong_method.status_code == 405


def test_prepared_in_lists_cover_every_chunk_length(app, client):
    """Prepared IN lists are padded to a few lengths; lengths around those edges must
    store, deduplicate and recount exactly as before."""
    integration_id, key = make_integration(app)
    start = 1_793_610_000_000
    sent = 0
    for size in (1, 2, 8, 9, 64, 65):
        batch = [created(f"c{sent + i}", ts=start + (sent + i) * 15 * 60_000) for i in range(size)]
        for i, envelope in enumerate(batch):  # each chat in its own 15-minute interval
            at = datetime(2026, 11, 2, 9, 3) + timedelta(minutes=15 * (sent + i))
            envelope["data"]["conversation"]["created_time"] = at.isoformat() + "Z"
        batch += [
            resolved(f"c{sent + i}", ts=start + (sent + i) * 15 * 60_000 + 60_000)
            for i in range(size)
        ]
        sent += size
        body = post(client, key, batch).get_json()
        assert body["stored"] == 2 * size and body["applied"] == 2 * size, body
        again = post(client, key, batch).get_json()
        assert again["duplicates"] == 2 * size and again["stored"] == 0
    with db.connection_context():
        assert InboundEvent.select().where(InboundEvent.applied_at.is_null()).count() == 0
        stored = {
            (row.queue_key, row.interval_start): row.contacts
            for row in IntervalStat.select().where(IntervalStat.integration == integration_id)
        }
        assert sum(stored.values()) == sent == len(stored)
        assert Chat.select().where(Chat.queue_key.is_null()).count() == 0


def test_recount_of_many_intervals_matches_the_chats(app):
    """The prepared interval rebuild, across the padded IN-list lengths."""
    integration_id, _ = make_integration(app)
    base = datetime(2026, 11, 2, 0, 0)
    with db.connection_context():
        for count in (1, 7, 8, 9, 70):
            changes = []
            for i in range(count):
                at = base + timedelta(minutes=15 * i)
                cid = f"n{count}-{i}"
                done = at + timedelta(minutes=1)
                changes.append(ChatChange(cid, at, created_time=at, group_id="g1"))
                changes.append(ChatChange(cid, done, resolved_time=done, status="resolved"))
            chats.apply_changes(integration_id, changes)
        expected: dict[tuple[str, datetime], int] = {}
        for chat in Chat.select().where(Chat.integration == integration_id):
            key = (chat.queue_key, chat.interval_start)
            expected[key] = expected.get(key, 0) + 1
        stored = {
            (row.queue_key, row.interval_start): row.contacts
            for row in IntervalStat.select().where(IntervalStat.integration == integration_id)
        }
    assert stored == expected
    assert sum(stored.values()) == 1 + 7 + 8 + 9 + 70


def test_stored_body_is_the_compact_envelope(app, client):
    _, key = make_integration(app)
    envelope = created("c9")
    assert post(client, key, envelope).status_code == 202
    with db.connection_context():
        body = InboundEvent.select(InboundEvent.body).scalar()
    assert json.loads(body) == envelope
