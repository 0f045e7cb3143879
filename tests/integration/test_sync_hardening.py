"""What an adversarial run broke in the pull sync (issue 13, items 1, 3, 6).

Same world as ``test_sync_pipeline``: the simulated account on loopback, the real client,
``run_sync`` called directly. Faults and "another process" are armed from the hooks the
client offers (its injected ``sleep`` and the Extract request hook), at exact moments.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.integration import test_sync_pipeline as pipeline
from tests.integration.test_sync_pipeline import NOW, make_world, queue_totals
from webapp import integrations
from webapp.freshchat.simulator import UNDEFINED_QUEUE
from webapp.models import Chat, Integration, IntervalStat, SyncRun
from webapp.sync import MAX_WINDOW
from webapp.timeutil import utcnow

world = pipeline.world  # the world fixture, shared (``server`` comes from conftest.py)

# --------------------------------------------------------------------------- item 1


def test_a_retried_first_backfill_keeps_the_counted_from_of_its_first_attempt(server, database):
    world = make_world(server, backfill_days=40, chats_per_day=20)
    start = NOW - timedelta(days=40)

    def storm_in_first_window(event: str, window_start: datetime, _end: datetime) -> None:
        if window_start == start and event == "Conversation-Group-Assigned":
            world.sim.faults.inject("500", times=None)

    world.on_extract = storm_in_first_window
    failed = world.sync()
    world.sim.faults.clear()
    assert not failed.ok
    assert world.integration.watermark is None  # window 1 was never finished
    assert world.integration.counted_from == start
    # A window is applied only once every event's files are read (pull_window), so the
    # storm left nothing of window 1 applied; the plan must still be kept on retry.
    assert not Chat.select().exists()

    # Retried two days later: the plan is the first attempt's, not "40 days before now".
    world.on_extract = None
    later = NOW + timedelta(days=2)
    world.clock.now = later
    retried = world.sync()
    assert retried.ok, retried.message
    assert world.integration.counted_from == start
    assert retried.run.window_from == start
    windows = sorted({(s, e) for _event, s, e in world.clients[-1].extracts})
    assert windows[0] == (start, start + MAX_WINDOW) and windows[-1][1] == later
    world.assert_matches_oracle(start, later)


# --------------------------------------------------------------------------- item 3


def test_the_lease_is_renewed_during_retry_after_waits(world):
    """Two 429 waits in a row, no download between them: the lease is renewed after each."""
    seen_leases: list[datetime] = []

    def sleep(_seconds: float) -> None:
        integration = world.integration
        seen_leases.append(integration.lease_until)
        # Time passes in the wait: make the lease look nearly spent.
        Integration.update(lease_until=utcnow() + timedelta(seconds=1)).where(
            Integration.id == world.integration_id
        ).execute()

    world.client_options["sleep"] = sleep
    world.sim.faults.inject("429", times=2, retry_after=7, path_contains="/reports/raw")
    outcome = world.sync()
    assert outcome.ok, outcome.message
    assert len(seen_leases) >= 2
    # The second wait found the lease renewed to a full term after the first one.
    assert seen_leases[1] > utcnow() + timedelta(minutes=10)


def test_a_run_that_lost_its_lease_while_waiting_stops_without_writing(world):
    def taken_over(_seconds: float) -> None:
        # Another process found the lease expired (this one was stuck) and took it.
        Integration.update(lease_owner="other-process", lease_until=utcnow() + MAX_WINDOW).where(
            Integration.id == world.integration_id
        ).execute()

    world.client_options["sleep"] = taken_over
    world.sim.faults.inject("429", times=1, retry_after=7, path_contains="/reports/raw")
    outcome = world.sync()
    assert not outcome.ok
    assert "another" in outcome.message and "lease" in outcome.message
    assert not Chat.select().exists() and not IntervalStat.select().exists()
    integration = world.integration
    assert integration.watermark is None
    assert integration.lease_owner == "other-process"  # not released by the loser
    assert integration.last_sync_outcome is None  # the owner's state is not overwritten
    assert SyncRun.get_by_id(outcome.run.id).outcome == "interrupted"


# --------------------------------------------------------------------------- item 5


class AbsurdRetryAfterSession(requests.Session):
    """A real session whose first ``GET /groups`` answer becomes a 429 with ``value``."""

    def __init__(self, value: str) -> None:
        super().__init__()
        self.value = value
        self.sent = False

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        if not self.sent and urlsplit(url).path.endswith("/v2/groups"):
            self.sent = True
            response.status_code = 429
            response.headers["Retry-After"] = self.value
        return response


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-30"])
def test_an_absurd_retry_after_in_a_sync_is_ignored_for_a_backoff(world, value):
    world.client_options["session"] = AbsurdRetryAfterSession(value)
    outcome = world.sync()
    assert outcome.ok, outcome.message
    (wait,) = world.waits() or [0.0]  # a jittered backoff, possibly zero
    assert math.isfinite(wait) and 0 <= wait <= world.clients[0].max_wait
    world.assert_matches_oracle(NOW - timedelta(days=10), NOW)


# --------------------------------------------------------------------------- item 6


def test_the_run_summary_counts_contacts_moved_by_a_group_deleted_in_freshchat(world):
    start = NOW - timedelta(days=10)
    assert world.sync().ok
    before = queue_totals(world.counted(start, NOW))
    assert before["Sales"] > 0
    sales = next(g for g in world.account.live_groups if g.name == "Sales")
    world.account.delete_group(sales.id)

    outcome = world.sync()
    assert outcome.ok, outcome.message
    after = queue_totals(world.counted(start, NOW))
    assert after[UNDEFINED_QUEUE] == before[UNDEFINED_QUEUE] + before["Sales"]
    assert outcome.run.contacts_changed >= before["Sales"]
    assert f"{outcome.run.contacts_changed} contacts changed" in outcome.message


def test_deleting_the_integration_with_its_data_during_a_sync_ends_it_plainly(world):
    def delete_midway(event: str, _start: datetime, _end: datetime) -> None:
        if event == "Conversation-Resolved":
            integrations.delete(world.integration, remove_data=True)

    world.on_extract = delete_midway
    outcome = world.sync()
    assert not outcome.ok
    assert outcome.message == "The integration was deleted during the sync; the sync stopped."
    assert Integration.get_or_none(Integration.id == world.integration_id) is None
    assert not Chat.select().exists() and not SyncRun.select().exists()
