"""The whole pull pipeline against the simulated Freshchat, checked interval by interval.

Real HTTP on loopback (the simulator served in a thread), the real client, Extract reports,
CSV parsing, the chat funnel and the derived statistics; the simulator's
``expected_contacts`` oracle is written from PRODUCT.md independently of the app's
counting code, so an exact match on every (queue, interval) means the pipeline counts as
the product says. Faults are armed at precise moments to prove that a failed sync says
what went wrong, keeps what it finished, and that the next one repairs everything.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.fernet import Fernet

from webapp import integrations, stats
from webapp.extensions import db
from webapp.freshchat.client import FreshchatClient
from webapp.freshchat.simulator import (
    MAX_LIFETIME_MS,
    UNDEFINED_QUEUE,
    FreshchatSimulator,
    SimAccount,
    SimServer,
)
from webapp.integrations import IntegrationInput
from webapp.models import Chat, Group, Integration, IntervalStat, SyncRun
from webapp.security import SecretBox
from webapp.sync import MAX_WINDOW, run_sync
from webapp.sync_jobs import sync_for_app
from webapp.timeutil import utcnow

DOMAIN = "acme.freshchat.com"
NOW = datetime(2026, 11, 20, 12, 0)  # a Friday; aligned to a 15-minute interval
OVERLAP = timedelta(minutes=60)


class MovableClock:
    """The simulated account's clock; tests move it to let Freshchat's history advance."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingClient(FreshchatClient):
    """The real client, remembering the Extract windows it asked for.

    ``on_extract`` runs just before a job is requested: the hook tests use to arm a
    fault at an exact point of a sync (e.g. "when the second window starts").
    """

    def __init__(self, *args: Any, on_extract: Callable | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extracts: list[tuple[str, datetime, datetime]] = []
        self.on_extract = on_extract

    def request_extract(self, event: str, start: datetime, end: datetime) -> str:
        self.extracts.append((event, start, end))
        if self.on_extract is not None:
            self.on_extract(event, start, end)
        return super().request_extract(event, start, end)


@dataclass
class World:
    """One integration synced from one simulated account, plus the knobs tests turn."""

    server: SimServer
    account: SimAccount
    clock: MovableClock
    box: SecretBox
    integration_id: int
    sleeps: list[float] = field(default_factory=list)
    client_options: dict[str, Any] = field(default_factory=dict)
    on_extract: Callable | None = None
    clients: list[RecordingClient] = field(default_factory=list)

    @property
    def sim(self) -> FreshchatSimulator:
        return self.server.sim  # type: ignore[attr-defined]

    @property
    def integration(self) -> Integration:
        return Integration.get_by_id(self.integration_id)

    def waits(self) -> list[float]:
        """Real waits the client asked for (retries, rate limits), not zero-length polls."""
        return [seconds for seconds in self.sleeps if seconds > 0]

    def factory(self, integration: Integration) -> RecordingClient:
        options: dict[str, Any] = {
            "api_url_template": self.server.api_url_template,
            "sleep": self.sleeps.append,
            "rng": random.Random(0),
            "on_extract": self.on_extract,
        }
        options.update(self.client_options)
        client = RecordingClient(
            integration.domain, self.box.decrypt(integration.api_key_encrypted), **options
        )
        self.clients.append(client)
        return client

    def sync(self, now: datetime | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        """One sync at ``now`` (default: the account's clock), counting the HTTP it caused."""
        logged = len(self.sim.request_log)
        outcome = run_sync(
            self.integration_id,
            self.factory,
            now=now or self.clock.now,
            poll_interval=0,
            overlap=OVERLAP,
            **kwargs,
        )
        outcome.http_requests = len(self.sim.request_log) - logged
        return outcome

    def counted(self, start: datetime, end: datetime) -> dict[tuple[str, datetime], int]:
        query = stats.RangeQuery.build(self.integration, start, end)
        return {(name, interval): count for name, interval, count in stats.export_rows(query)}

    def assert_matches_oracle(self, start: datetime, end: datetime) -> dict:
        expected = self.account.expected_contacts(start, end)
        got = self.counted(start, end)
        wrong = {
            key: (expected.get(key), got.get(key))
            for key in sorted(set(expected) | set(got))
            if expected.get(key) != got.get(key)
        }
        assert not wrong, (
            f"{len(wrong)} intervals differ (expected, got): {list(wrong.items())[:8]}"
        )
        assert sum(got.values()) > 0
        return got


def make_world(server: SimServer, *, backfill_days: int = 10, chats_per_day: int = 60) -> World:
    sim: FreshchatSimulator = server.sim  # type: ignore[attr-defined]
    sim.faults.clear()
    sim.request_log.clear()
    clock = MovableClock(NOW)
    account = sim.add_account(
        SimAccount(DOMAIN, seed=11, chats_per_day=chats_per_day, clock=clock, history_days=50)
    )
    box = SecretBox(Fernet.generate_key().decode())
    integration = integrations.create(
        IntegrationInput("Acme", DOMAIN, account.admin_key, backfill_days=backfill_days), box
    )
    return World(server, account, clock, box, integration.id)


@pytest.fixture
def world(server, database) -> Iterator[World]:
    made = make_world(server)
    yield made
    made.sim.faults.clear()


def queue_totals(counted: dict[tuple[str, datetime], int]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for (queue, _interval), count in counted.items():
        totals[queue] = totals.get(queue, 0) + count
    return totals


def snapshot() -> tuple[list, list]:
    """Every stored count and every chat's state: what "nothing changed" is checked on."""
    cells = list(
        IntervalStat.select(
            IntervalStat.queue_key, IntervalStat.interval_start, IntervalStat.contacts
        )
        .order_by(IntervalStat.interval_start, IntervalStat.queue_key)
        .tuples()
    )
    chats = list(Chat.select().order_by(Chat.conversation_id).dicts())
    return cells, chats


# --------------------------------------------------------------------------- the happy path


def test_backfill_sync_matches_the_oracle_interval_by_interval(world):
    start = NOW - timedelta(days=10)
    outcome = world.sync()
    assert outcome.ok, outcome.message
    got = world.assert_matches_oracle(start, NOW)
    assert {"Customer Support", "Billing", "Sales", UNDEFINED_QUEUE} == set(queue_totals(got))

    run = SyncRun.get_by_id(outcome.run.id)
    assert run.outcome == "ok" and run.error is None and run.finished_at is not None
    assert run.trigger == "schedule"
    assert (run.window_from, run.window_to) == (start, NOW)
    assert run.progress_done == run.progress_total == 1 + 3  # groups + one window x 3 events
    assert run.api_calls == outcome.http_requests  # every request the simulator saw
    assert run.chats_seen >= Chat.select().count() > 0
    assert run.contacts_changed >= sum(got.values())
    assert "contacts changed" in run.progress_text

    integration = world.integration
    assert integration.watermark == NOW
    assert integration.last_sync_outcome == "ok" and integration.last_error is None
    assert integration.lease_owner is None and integration.lease_until is None
    assert {g.name for g in Group.select()} == {"Customer Support", "Billing", "Sales"}


def test_chats_that_arrived_before_the_backfill_are_not_counted(world):
    """They are known only by a resolution inside the window: partial, so left out."""
    start = NOW - timedelta(days=10)
    assert world.sync().ok
    assert world.integration.counted_from == start
    # In the real dialect their creation time is unknown (a Resolved row's created_at is
    # the resolution): they are recognised by having no Created row in the window.
    before = Chat.select().where((Chat.created_time < start) | Chat.created_time.is_null())
    assert before.count() > 0, "the window should hold resolutions of older chats"
    assert not before.where(Chat.interval_start.is_null(False)).exists()
    everything = world.counted(NOW - timedelta(days=60), NOW + timedelta(days=1))
    assert everything == world.account.expected_contacts(start, NOW)

    # A later sync that sees more of those old chats resolved still leaves them out.
    world.clock.now = NOW + timedelta(days=2)
    assert world.sync().ok
    assert not before.where(Chat.interval_start.is_null(False)).exists()
    assert (
        min(interval for _queue, interval in world.counted(start - timedelta(days=5), NOW)) >= start
    )


def test_a_later_sync_with_the_overlap_keeps_matching(world):
    start = NOW - timedelta(days=10)
    assert world.sync().ok
    first = world.counted(start, NOW)

    later = NOW + timedelta(hours=7)
    world.clock.now = later
    outcome = world.sync()
    assert outcome.ok, outcome.message
    run = SyncRun.get_by_id(outcome.run.id)
    assert (run.window_from, run.window_to) == (NOW - OVERLAP, later)
    assert run.progress_total == 1 + 3
    assert run.api_calls == outcome.http_requests
    got = world.assert_matches_oracle(start, later)
    # Chats open at the first sync were resolved (or moved) since: older intervals changed.
    older = {key: count for key, count in got.items() if key[1] < NOW}
    assert older != first
    assert sum(older.values()) > sum(first.values())
    assert world.integration.watermark == later


def test_the_same_sync_twice_or_a_full_replay_changes_nothing(world):
    start = NOW - timedelta(days=10)
    assert world.sync().ok
    before = snapshot()

    again = world.sync()
    assert again.ok and again.run.contacts_changed == 0 and again.run.chats_seen > 0
    assert snapshot() == before

    # Forget the watermark: the whole backfill is read again, nothing is counted twice.
    Integration.update(watermark=None).where(Integration.id == world.integration_id).execute()
    replay = world.sync()
    assert replay.ok and replay.run.contacts_changed == 0
    assert replay.run.window_from == start
    assert snapshot() == before
    world.assert_matches_oracle(start, NOW)


def test_backfill_days_is_honoured_in_windows_of_at_most_28_days(server, database):
    world = make_world(server, backfill_days=40, chats_per_day=20)
    start = NOW - timedelta(days=40)
    outcome = world.sync()
    assert outcome.ok, outcome.message
    (client,) = world.clients
    windows = sorted({(s, e) for _event, s, e in client.extracts})
    assert windows == [(start, start + MAX_WINDOW), (start + MAX_WINDOW, NOW)]
    assert all(e - s <= timedelta(days=28) for s, e in windows)
    assert {event for event, _s, _e in client.extracts} == {
        "Conversation-Created",
        "Conversation-Group-Assigned",
        "Conversation-Resolved",
    }
    assert len(client.extracts) == 2 * 3
    run = SyncRun.get_by_id(outcome.run.id)
    assert run.window_from == start and run.progress_total == 1 + 2 * 3
    world.assert_matches_oracle(start, NOW)
    # Nothing older than the backfill was asked for: the only older chats are those whose
    # later events (resolution, transfer) fell inside it.
    known = Chat.select(Chat.created_time).where(Chat.created_time.is_null(False))
    oldest = known.order_by(Chat.created_time).first().created_time
    assert oldest >= start - timedelta(milliseconds=MAX_LIFETIME_MS)


# --------------------------------------------------------------------------- interruptions


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("500", "internal error (500)"),
        ("malformed_csv", "Conversation-Created file refused: its header lacks the chat id"),
        ("malformed_zip", "report archive is damaged"),
    ],
)
def test_an_interrupted_sync_keeps_its_finished_window_and_the_next_one_resumes(
    server, database, fault, words
):
    world = make_world(server, backfill_days=40, chats_per_day=20)
    start = NOW - timedelta(days=40)
    second_window = start + MAX_WINDOW

    def break_second_window(event: str, window_start: datetime, _end: datetime) -> None:
        if window_start == second_window and event == "Conversation-Created":
            if fault == "500":  # a storm: every request fails until cleared
                world.sim.faults.inject("500", times=None)
            else:
                world.sim.faults.inject(fault, path_contains="/download/")

    world.on_extract = break_second_window
    failed = world.sync()
    world.sim.faults.clear()
    assert not failed.ok
    run = SyncRun.get_by_id(failed.run.id)
    assert run.outcome == "error" and run.finished_at is not None
    assert words in run.error and run.error == failed.message
    assert run.error.isprintable() and ".." not in run.error
    assert "try again" in run.error.lower() or "retries" in run.error  # what happens next
    assert run.api_calls == failed.http_requests
    assert run.progress_done < run.progress_total
    integration = world.integration
    assert integration.watermark == second_window
    assert integration.last_sync_outcome == "error" and integration.last_error == run.error
    assert integration.lease_owner is None
    if fault == "500":
        assert len(world.waits()) == world.clients[0].max_retries

    world.on_extract = None
    resumed = world.sync()
    assert resumed.ok, resumed.message
    assert resumed.run.window_from == second_window - OVERLAP
    world.assert_matches_oracle(start, NOW)
    assert world.integration.last_error is None


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("revoked", "rejected the API key (401)"),
        ("demo-agent-key", "Account Administrator role"),
        ("demo-basic-plan-key", "plan does not include the API"),
    ],
)
def test_a_refused_key_fails_in_plain_words_and_loses_nothing(world, key, words):
    assert world.sync().ok
    before = snapshot()
    if key == "revoked":
        # The admin generated a new token in Freshchat: the stored one is revoked.
        world.account.admin_key = "a-brand-new-token"
    else:
        Integration.update(api_key_encrypted=world.box.encrypt(key)).where(
            Integration.id == world.integration_id
        ).execute()
    world.clock.now = NOW + timedelta(hours=2)
    failed = world.sync()
    assert not failed.ok
    assert words in failed.message
    assert "demo-admin-key" not in failed.message and key not in failed.message
    assert failed.run.api_calls == failed.http_requests == 1  # refused at once, no retries
    assert world.waits() == []
    assert snapshot() == before
    assert world.integration.watermark == NOW


# --------------------------------------------------------------------------- a struggling API


def test_429_retry_after_is_honoured_then_the_sync_succeeds(world):
    world.sim.faults.inject("429", times=2, retry_after=7, path_contains="/reports/raw")
    outcome = world.sync()
    assert outcome.ok, outcome.message
    assert world.waits() == [7.0, 7.0]
    assert outcome.run.api_calls == outcome.http_requests
    world.assert_matches_oracle(NOW - timedelta(days=10), NOW)


def test_429_asking_for_too_long_a_wait_fails_the_run_in_plain_words(world):
    world.client_options["max_wait"] = 120.0
    world.sim.faults.inject("429", retry_after=900, path_contains="/groups")
    outcome = world.sync()
    assert not outcome.ok
    assert "limiting requests" in outcome.message and "15 minutes" in outcome.message
    assert world.waits() == []
    assert world.integration.watermark is None


def test_a_slow_answer_times_out_and_is_retried(world):
    # A read timeout far above a normal answer's time even on a loaded machine, so only
    # the armed slow answer can trip it.
    world.client_options.update(timeout=(2.0, 1.0), max_retries=2)
    world.sim.faults.inject("slow", delay=2.5, path_contains="/groups")
    outcome = world.sync()
    assert outcome.ok, outcome.message
    assert len(world.waits()) == 1  # one backoff before the retry
    world.assert_matches_oracle(NOW - timedelta(days=10), NOW)


def test_an_api_that_keeps_timing_out_fails_the_run(world):
    world.client_options.update(timeout=(2.0, 1.0), max_retries=1)
    world.sim.faults.inject("slow", times=2, delay=2.5, path_contains="/reports/raw")
    outcome = world.sync()
    assert not outcome.ok
    assert "did not answer in time" in outcome.message
    assert world.integration.watermark is None
    world.sim.faults.clear()
    assert world.sync().ok


@pytest.mark.parametrize(
    ("fault", "words"),
    [("malformed_json", "not valid JSON"), ("html", "web page instead of API data")],
)
def test_a_malformed_answer_fails_the_run_clearly_and_the_next_sync_repairs(world, fault, words):
    world.sim.faults.inject(fault, path_contains="/reports/raw/")  # a job status poll
    failed = world.sync()
    assert not failed.ok and words in failed.message
    assert SyncRun.get_by_id(failed.run.id).error == failed.message
    again = world.sync()
    assert again.ok, again.message
    world.assert_matches_oracle(NOW - timedelta(days=10), NOW)


# --------------------------------------------------------------------------- groups change


def test_a_group_renamed_in_freshchat_renames_its_queue(world):
    start = NOW - timedelta(days=10)
    assert world.sync().ok
    before = queue_totals(world.counted(start, NOW))
    billing = next(g for g in world.account.live_groups if g.name == "Billing")
    world.account.rename_group(billing.id, "Billing & Payments")

    outcome = world.sync()  # same clock: only the name changed
    assert outcome.ok, outcome.message
    after = queue_totals(world.assert_matches_oracle(start, NOW))
    assert "Billing" not in after
    assert after["Billing & Payments"] == before["Billing"]
    assert Group.get(Group.group_id == billing.id).name == "Billing & Payments"

    world.clock.now = NOW + timedelta(hours=3)
    assert world.sync().ok
    world.assert_matches_oracle(start, world.clock.now)


def test_a_group_deleted_in_freshchat_moves_its_contacts_to_undefined_queue(world):
    start = NOW - timedelta(days=10)
    assert world.sync().ok
    before = queue_totals(world.counted(start, NOW))
    sales = next(g for g in world.account.live_groups if g.name == "Sales")
    world.account.delete_group(sales.id)

    outcome = world.sync()
    assert outcome.ok, outcome.message
    assert "Groups gone from Freshchat: Sales" in outcome.message
    after = queue_totals(world.assert_matches_oracle(start, NOW))
    assert "Sales" not in after
    assert after[UNDEFINED_QUEUE] == before[UNDEFINED_QUEUE] + before["Sales"]
    assert sum(after.values()) == sum(before.values())
    assert Group.get(Group.group_id == sales.id).deleted

    world.clock.now = NOW + timedelta(hours=3)
    assert world.sync().ok
    world.assert_matches_oracle(start, world.clock.now)


class GroupsAnswerSession(requests.Session):
    """A real session whose ``GET /groups`` answers arrive replaced by ``body`` (still 200)."""

    def __init__(self, body: object) -> None:
        super().__init__()
        self.body = body

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        if method == "GET" and urlsplit(url).path.endswith("/v2/groups"):
            response._content = json.dumps(self.body).encode()
        return response


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "held no list of groups"),
        ({"groups": None}, "held no list of groups"),
        ({"groups": [], "links": {}}, "Freshchat listed no groups"),
    ],
    ids=["empty-object", "null", "empty-list"],
)
def test_an_odd_groups_answer_fails_the_sync_and_moves_no_contact(world, body, words):
    start = NOW - timedelta(days=10)
    assert world.sync().ok
    before = snapshot()
    world.client_options["session"] = GroupsAnswerSession(body)

    failed = world.sync()

    assert not failed.ok and words in failed.message
    assert "queues were left as they were" in failed.message
    assert SyncRun.get_by_id(failed.run.id).error == failed.message
    assert snapshot() == before
    assert Group.select().where(Group.deleted == True).count() == 0  # noqa: E712
    world.assert_matches_oracle(start, NOW)  # every contact still in its own queue

    del world.client_options["session"]
    again = world.sync()
    assert again.ok, again.message
    world.assert_matches_oracle(start, NOW)


# --------------------------------------------------------------------------- the app's entry point


def test_sync_for_app_skips_paused_integrations_on_schedule(app, server):
    sim: FreshchatSimulator = server.sim  # type: ignore[attr-defined]
    sim.faults.clear()
    frozen = utcnow()
    account = sim.add_account(
        SimAccount("paused.freshchat.com", seed=2, chats_per_day=10, clock=lambda: frozen)
    )
    app.config["FRESHCHAT_API_URL"] = server.api_url_template
    with app.app_context(), db.connection_context():
        integration = integrations.create(
            IntegrationInput("Paused", account.domain, account.admin_key, backfill_days=3),
            app.extensions["secret_box"],
        )
        integrations.set_paused(integration, True)
        logged = len(sim.request_log)
        assert sync_for_app(app, integration.id, trigger="schedule") is None
        assert SyncRun.select().count() == 0
        assert len(sim.request_log) == logged  # Freshchat was not even asked

        integrations.set_paused(integration, False)
        outcome = sync_for_app(app, integration.id, trigger="schedule")
        assert outcome is not None and outcome.ok, outcome and outcome.message
        assert outcome.run.trigger == "schedule" and outcome.run.chats_seen > 0
        assert Integration.get_by_id(integration.id).watermark == outcome.run.window_to

        integrations.delete(Integration.get_by_id(integration.id), remove_data=False)
        assert sync_for_app(app, integration.id, trigger="manual") is None


def test_sync_for_app_plans_from_the_apps_clock_not_the_calendar(app, server):
    """The app's ``CLOCK`` setting is "now" for the sync: the backfill of an account whose
    own clock is years away from today still covers that account's days."""
    sim: FreshchatSimulator = server.sim  # type: ignore[attr-defined]
    sim.faults.clear()
    pinned = datetime(2031, 3, 14, 9, 30)
    account = sim.add_account(
        SimAccount("pinned.freshchat.com", seed=3, chats_per_day=20, clock=lambda: pinned)
    )
    app.config.update(FRESHCHAT_API_URL=server.api_url_template, CLOCK=lambda: pinned)
    with app.app_context(), db.connection_context():
        integration = integrations.create(
            IntegrationInput("Pinned", account.domain, account.admin_key, backfill_days=2),
            app.extensions["secret_box"],
        )
        outcome = sync_for_app(app, integration.id, trigger="manual")
        assert outcome is not None and outcome.ok, outcome and outcome.message
        assert outcome.run.window_to == pinned
        assert outcome.run.window_from == datetime(2031, 3, 12, 9, 30)
        assert outcome.run.chats_seen > 0
