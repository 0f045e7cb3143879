"""Push and pull agree: the same simulated history through both paths, in any interleaving.

The simulator serves the Freshchat API on loopback (pull: Extract reports; lookups:
``GET /conversations/<id>``) and produces the companion-app envelopes of the very same
history; envelopes go through the real endpoint with the real key. The reference is the
simulator's ``expected_contacts`` oracle, written from PRODUCT.md independently of the
app's counting code.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask

from tests.conftest import make_test_app
from webapp import chats
from webapp import integrations as service
from webapp.clients import client_factory_for
from webapp.counting import REASON_DELETED, REASON_GROUP, REASON_NO_GROUP, UNDEFINED_QUEUE_KEY
from webapp.extensions import db
from webapp.freshchat.simulator import (
    CREATED,
    DELETED,
    RESOLVED,
    FreshchatSimulator,
    SimAccount,
    SimServer,
    serve_in_thread,
)
from webapp.models import Chat, InboundEvent, IntervalStat
from webapp.sync_jobs import SyncSettings, apply_waiting_for_app, sync_then_apply

DOMAIN = "acme.freshchat.com"
NOW = datetime(2026, 11, 20, 12, 0)
HISTORY_DAYS = 3
START = NOW - timedelta(days=HISTORY_DAYS + 2)
URL = "/api/v1/freshchat/events"
BATCH = 40


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    account = SimAccount(
        DOMAIN, seed=11, chats_per_day=60, history_days=HISTORY_DAYS, clock=lambda: NOW
    )
    sim = FreshchatSimulator([account], pending_polls=0)
    with serve_in_thread(sim) as running:
        running.sim = sim  # type: ignore[attr-defined]
        running.account = account  # type: ignore[attr-defined]
        yield running


@pytest.fixture(scope="module")
def envelopes(server) -> list[dict]:
    found = server.account.push_envelopes(START, NOW + timedelta(milliseconds=1))
    assert len(found) > 300
    return found


@pytest.fixture
def app(tmp_path, server) -> Iterator[Flask]:
    application = make_test_app(
        tmp_path,
        "push_pull.db",
        strict=False,
        SECRET_KEY="test",
        FRESHCHAT_API_URL=server.api_url_template,
        PUSH_RATE_LIMIT_PER_MINUTE=0,  # unlimited: the tests send fast on purpose
    )
    yield application
    db.initialize(None)


def new_integration(app: Flask, account: SimAccount, name: str) -> tuple[int, str]:
    with db.connection_context():
        integration = service.create(
            service.IntegrationInput(
                name, account.domain, account.admin_key, backfill_days=HISTORY_DAYS + 2
            ),
            app.extensions["secret_box"],
        )
        return integration.id, service.issue_app_key(integration).plaintext


def pull(app: Flask, integration_id: int) -> None:
    """Sync as the scheduler does: then apply what the push left waiting."""
    factory = client_factory_for(app.config, app.extensions["secret_box"])
    settings = SyncSettings(factory, poll_interval=0.0, clock=lambda: NOW)
    with db.connection_context():
        outcome = sync_then_apply(settings, integration_id, trigger="manual")
    assert outcome is not None and outcome.ok, outcome and outcome.message


def send(app: Flask, key: str, envelopes: list[dict]) -> int:
    """POST in batches; returns how many events were left waiting for a lookup."""
    client = app.test_client()
    pending = 0
    for start in range(0, len(envelopes), BATCH):
        response = client.post(
            URL,
            data=json.dumps(envelopes[start : start + BATCH]),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        pending += response.json["pending"]
    return pending


def contacts(integration_id: int) -> dict[tuple[str, datetime], int]:
    with db.connection_context():
        names = chats.queue_names(integration_id)
        return {
            (names[row.queue_key], row.interval_start): row.contacts
            for row in IntervalStat.select().where(IntervalStat.integration == integration_id)
        }


def pending_events(integration_id: int) -> int:
    with db.connection_context():
        return (
            InboundEvent.select()
            .where((InboundEvent.integration == integration_id) & InboundEvent.applied_at.is_null())
            .count()
        )


def shuffled(items: list[dict], seed: int) -> list[dict]:
    copy = items[:]
    random.Random(seed).shuffle(copy)
    return copy


# --------------------------------------------------------------------------- agreement


def test_pull_alone_matches_the_oracle(app, server):
    integration_id, _key = new_integration(app, server.account, "Pull only")
    pull(app, integration_id)
    expected = server.account.expected_contacts(START, NOW)
    assert sum(expected.values()) > 100
    assert contacts(integration_id) == expected


def test_push_shuffled_then_pull_and_the_sync_applies_what_waits(app, server, envelopes):
    integration_id, key = new_integration(app, server.account, "Push then pull")
    lookups_before = server.sim.requests_to("/conversations/", "GET")
    waiting = send(app, key, shuffled(envelopes, seed=1))
    # Group-less resolutions that arrived before their creation wait for a lookup.
    assert waiting > 0 and pending_events(integration_id) == waiting
    pull(app, integration_id)  # the sync also applies what was waiting
    assert pending_events(integration_id) == 0
    # The sync's own reports told each chat's group: no lookup was needed any more.
    assert server.sim.requests_to("/conversations/", "GET") == lookups_before
    assert contacts(integration_id) == server.account.expected_contacts(START, NOW)


def test_pull_then_push_shuffled(app, server, envelopes):
    integration_id, key = new_integration(app, server.account, "Pull then push")
    pull(app, integration_id)
    before = contacts(integration_id)
    send(app, key, shuffled(envelopes, seed=2))
    with app.app_context(), db.connection_context():
        apply_waiting_for_app(app)
    assert pending_events(integration_id) == 0
    assert contacts(integration_id) == before == server.account.expected_contacts(START, NOW)


def test_push_and_pull_interleaved_with_redeliveries(app, server, envelopes):
    integration_id, key = new_integration(app, server.account, "Interleaved")
    middle = len(envelopes) // 2
    send(app, key, envelopes[middle:])  # the later half first
    pull(app, integration_id)
    send(app, key, shuffled(envelopes[: middle + 50], seed=3))  # the rest, some again
    with app.app_context(), db.connection_context():
        apply_waiting_for_app(app)
    pull(app, integration_id)  # a second sync re-reads everything: no change
    assert pending_events(integration_id) == 0
    assert contacts(integration_id) == server.account.expected_contacts(START, NOW)


def test_push_alone_agrees_with_pull_alone_chat_by_chat(app, server, envelopes):
    """Every chat gets the same contact from either path alone.

    Deletions are never pushed (no event says so; the app learns of one only from a 404
    on a lookup), so chats deleted in Freshchat are left out of the comparison.
    """
    account = server.account
    pulled_id, _ = new_integration(app, account, "Pulled")
    pushed_id, key = new_integration(app, account, "Pushed")
    pull(app, pulled_id)
    with db.connection_context():
        # Which groups exist comes from Freshchat's group listing, as for the pull.
        chats.refresh_groups(pushed_id, [group.as_json() for group in account.live_groups])
    send(app, key, envelopes)
    with app.app_context(), db.connection_context():
        apply_waiting_for_app(app)
    deleted = {
        chat.conversation_id
        for chat in account.iter_chats(START, NOW)
        if any(event.kind == DELETED for event in chat.timeline(until=NOW))
    }

    def made(integration_id: int) -> dict[str, tuple]:
        with db.connection_context():
            query = Chat.select().where(Chat.integration == integration_id)
            return {
                chat.conversation_id: (chat.queue_key, chat.interval_start)
                for chat in query
                if chat.conversation_id not in deleted
            }

    pulled, pushed = made(pulled_id), made(pushed_id)
    assert len(pulled) > 100
    assert pushed == pulled


def test_lookups_through_the_simulator(app, server, envelopes):
    """Resolutions that leave the group unknown are looked up in (simulated) Freshchat.

    Three kinds, sent alone (no creation event): a chat in a group whose resolution event
    lost its group fields (lookup gives the group), a chat that never had a group (lookup
    says none), and a deleted chat (lookup answers 404: deleted, Undefined_Queue).
    """
    account = server.account
    integration_id, key = new_integration(app, account, "Lookups")
    with db.connection_context():
        chats.refresh_groups(integration_id, [group.as_json() for group in account.live_groups])
    live = {group.id for group in account.live_groups}
    by_kind: dict[str, str] = {}
    for chat in account.iter_chats(START, NOW):
        kinds = [event.kind for event in chat.timeline(until=NOW)]
        group = chat.timeline()[0].group_id
        if kinds == [CREATED, RESOLVED] and group in live:
            by_kind.setdefault("grouped", chat.conversation_id)
        elif kinds == [CREATED, RESOLVED] and group is None:
            by_kind.setdefault("groupless", chat.conversation_id)
        elif kinds[:2] == [CREATED, RESOLVED] and kinds[-1] == DELETED:
            by_kind.setdefault("deleted", chat.conversation_id)
    assert set(by_kind) == {"grouped", "groupless", "deleted"}
    wanted = set(by_kind.values())
    resolutions = []
    for envelope in envelopes:
        conversation = envelope["data"]["conversation"]
        if conversation["conversation_id"] in wanted and conversation["status"] == "resolved":
            stripped = json.loads(json.dumps(envelope))
            stripped["data"]["conversation"].pop("assigned_group_id", None)
            stripped["data"].pop("associations", None)
            resolutions.append(stripped)
    assert len(resolutions) == 3
    lookups_before = server.sim.requests_to("/conversations/", "GET")
    assert send(app, key, resolutions) == 3
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 3
    assert server.sim.requests_to("/conversations/", "GET") == lookups_before + 3
    with db.connection_context():
        made = {
            chat.conversation_id: (chat.queue_key, chat.count_reason)
            for chat in Chat.select().where(Chat.integration == integration_id)
        }
    grouped = account.find_chat(by_kind["grouped"])
    assert grouped is not None
    assert made[by_kind["grouped"]] == (grouped.timeline()[0].group_id, REASON_GROUP)
    assert made[by_kind["groupless"]] == (UNDEFINED_QUEUE_KEY, REASON_NO_GROUP)
    assert made[by_kind["deleted"]] == (UNDEFINED_QUEUE_KEY, REASON_DELETED)
