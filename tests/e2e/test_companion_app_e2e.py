"""End to end: the companion app's real handler code, in Node, against a live server.

The simulator's history becomes marketplace product events (with the iparams, actor
names and message texts the platform adds); ``companion-app/testing/deliver.js`` runs
``server/server.js`` on each of them, through the shipped request templates, over HTTP to
this server on loopback. What arrives, once the sync has run, must give the simulator
oracle's counts, and nothing the app must not forward may be stored.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from waitress import create_server

from tests.conftest import make_test_app
from webapp import chats
from webapp import integrations as service
from webapp.clients import client_factory_for
from webapp.extensions import db
from webapp.freshchat.simulator import DELETED, FreshchatSimulator, SimAccount, serve_in_thread
from webapp.models import Chat, InboundEvent, IntervalStat
from webapp.sync import run_sync
from webapp.sync_jobs import apply_waiting_for_app

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "companion-app"
NOW = datetime(2026, 11, 20, 12, 0)
DAYS = 2
START = NOW - timedelta(days=DAYS + 2)
SECRET_MARKERS = ("iparams", "camille@example.org", "Camille", "commande")


@pytest.fixture(scope="module")
def sim() -> Iterator:
    account = SimAccount(
        "acme.freshchat.com", seed=23, chats_per_day=40, history_days=DAYS, clock=lambda: NOW
    )
    with serve_in_thread(FreshchatSimulator([account], pending_polls=0)) as running:
        running.account = account  # type: ignore[attr-defined]
        yield running


@pytest.fixture
def live(tmp_path, sim) -> Iterator[tuple]:
    app = make_test_app(
        tmp_path,
        "e2e.db",
        strict=False,
        FRESHCHAT_API_URL=sim.api_url_template,
        PUSH_RATE_LIMIT_PER_MINUTE=0,
    )
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="e2e")
    thread = threading.Thread(target=server.run, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield app, server.effective_port
    finally:
        server.close()
        thread.join(timeout=5)
        db.initialize(None)


def product_events(account: SimAccount) -> list[dict]:
    """The platform's payloads: actor details, and a customer message after each creation."""
    events = []
    for envelope in account.push_envelopes(START, NOW + timedelta(milliseconds=1)):
        envelope["data"]["actor"] = {
            "type": "user",
            "first_name": "Camille",
            "email": "camille@example.org",
        }
        events.append(envelope)
        if envelope["event"] == "onConversationCreate":
            conversation = envelope["data"]["conversation"]
            events.append(
                {
                    "event": "onMessageCreate",
                    "timestamp": envelope["timestamp"] + 30_000,
                    "account_id": envelope["account_id"],
                    "data": {
                        "actor": {"type": "user", "email": "camille@example.org"},
                        "message": {
                            "conversation_id": conversation["conversation_id"],
                            "created_time": conversation["created_time"],
                            "message_parts": [{"text": {"content": "Ma commande, SVP"}}],
                        },
                    },
                }
            )
    return events


def test_handlers_in_node_deliver_what_the_oracle_counts(live, sim, tmp_path):
    node = shutil.which("node")
    assert node, "Node.js is needed (bash .ci/run installs it)"
    app, port = live
    account = sim.account
    with db.connection_context():
        integration = service.create(
            service.IntegrationInput(
                "Node E2E", account.domain, account.admin_key, backfill_days=DAYS + 2
            ),
            app.extensions["secret_box"],
        )
        key = service.issue_app_key(integration).plaintext
        chats.refresh_groups(integration.id, [g.as_json() for g in account.live_groups])
    events = product_events(account)
    assert {e["event"] for e in events} == {
        "onConversationCreate",
        "onConversationUpdate",
        "onMessageCreate",
    }
    spool = tmp_path / "events.json"
    iparams = {"server_url": f"https://127.0.0.1:{port}", "api_key": key}
    spool.write_text(json.dumps({"iparams": iparams, "payloads": events}))

    run = subprocess.run(
        [node, "testing/deliver.js", str(spool)],
        cwd=APP_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert (outcome["delivered"], outcome["failed"]) == (len(events), 0), outcome["logs"]
    assert outcome["requests"] == len(events)

    with db.connection_context():
        bodies = [event.body for event in InboundEvent.select()]
    assert len(bodies) == len(events)
    for marker in (*SECRET_MARKERS, key):
        assert not any(marker in body for body in bodies), marker

    with app.app_context(), db.connection_context():
        apply_waiting_for_app(app)  # group lookups go to the simulator
    factory = client_factory_for(app.config, app.extensions["secret_box"])

    # Before any sync, what the app pushed gives each chat the contact the pull gives it
    # (deleted chats aside: no event says "deleted", only a later lookup or the pull).
    deleted = {
        chat.conversation_id
        for chat in account.iter_chats(START, NOW)
        if any(event.kind == DELETED for event in chat.timeline(until=NOW))
    }
    with db.connection_context():
        pulled = service.create(
            service.IntegrationInput(
                "Pulled", account.domain, account.admin_key, backfill_days=DAYS + 2
            ),
            app.extensions["secret_box"],
        )
        assert run_sync(pulled.id, factory, now=NOW, poll_interval=0.0).ok

        def made(integration_id: int) -> dict[str, tuple]:
            rows = Chat.select().where(Chat.integration == integration_id)
            return {
                c.conversation_id: (c.queue_key, c.interval_start)
                for c in rows
                if c.conversation_id not in deleted
            }

        by_pull = made(pulled.id)
        assert len(by_pull) > 40
        assert made(integration.id) == by_pull

    with db.connection_context():
        assert run_sync(integration.id, factory, now=NOW, poll_interval=0.0).ok
        names = chats.queue_names(integration.id)
        counted = {
            (names[row.queue_key], row.interval_start): row.contacts
            for row in IntervalStat.select().where(IntervalStat.integration == integration.id)
        }
    expected = account.expected_contacts(START, NOW)
    assert sum(expected.values()) > 40
    assert counted == expected
