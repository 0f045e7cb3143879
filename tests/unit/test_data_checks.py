"""Check data access kept in the database: one running check per integration, progress and
result readable by any process, a silent worker shown as interrupted, nothing secret or
personal stored. Freshchat is a stand-in here; the web and two-process tests use the
simulator."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

import pytest
from cryptography.fernet import Fernet

from webapp import data_checks, integrations
from webapp.data_checks import RUNNING, STALE_AFTER_SECONDS
from webapp.database import now_seconds_sql
from webapp.diagnose import Diagnosis, EventReport, HeaderReport
from webapp.extensions import db
from webapp.models import DataCheck, Integration
from webapp.security import SecretBox

NOW = datetime(2026, 3, 29, 1, 30)  # any fixed day: the check's window only
API_KEY = "fc-admin-key-do-not-store-in-check"


class Clock:
    """The database's clock, played by the test: seconds it moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def integration(database) -> Integration:
    box = SecretBox(Fernet.generate_key().decode())
    return integrations.create(
        integrations.IntegrationInput("Support chats", "acme.freshchat.com", API_KEY), box
    )


def _filled(diagnosis: Diagnosis) -> Diagnosis:
    """A finished check as ``run_diagnosis`` leaves one (values of each kind)."""
    diagnosis.state = "done"
    diagnosis.progress = "Done."
    diagnosis.done = 4
    diagnosis.groups_listed = 3
    diagnosis.rate_limit = {"X-RateLimit-Limit": "500"}
    diagnosis.events = [
        EventReport(
            "Conversation-Resolved",
            outcome="ok",
            seconds=1.5,
            job_status="COMPLETED",
            files=1,
            rows=7,
            would_apply=6,
            skipped={"no conversation id": 1},
            chats=6,
            sample_chat_ids=["0123456789abcdef"],
            headers=[
                HeaderReport("a.csv", [{"column": "conversation_id", "understood_as": "chat"}], [])
            ],
            has_group=True,
        )
    ]
    diagnosis.findings = ["Everything the sync needs was found."]
    diagnosis.finished_at = NOW
    return diagnosis


def test_one_check_at_a_time_and_its_progress_and_result_read_back(integration, clock):
    started = data_checks.begin(integration, NOW, clock=clock)
    assert started is not None
    assert data_checks.begin(integration, NOW, clock=clock) is None  # refused while running
    shown = data_checks.latest(integration, clock=clock)
    assert (shown.state, shown.progress, shown.window_to) == (RUNNING, "Starting…", NOW)

    started.diagnosis.progress = "Conversation-Created: waiting for Freshchat's report"
    started.diagnosis.done = 1
    clock.now += 10
    data_checks.save(started, clock=clock)
    shown = data_checks.latest(integration, clock=clock)
    assert (shown.progress, shown.done) == (started.diagnosis.progress, 1)

    _filled(started.diagnosis)
    data_checks.save(started, clock=clock)
    shown = data_checks.latest(integration, clock=clock)
    assert shown == started.diagnosis  # every field the page and the download read
    assert shown.as_json() == started.diagnosis.as_json()
    again = data_checks.begin(integration, NOW, clock=clock)  # a finished check is replaced
    assert again is not None and data_checks.latest(integration, clock=clock).state == RUNNING


def test_the_stored_check_holds_no_name_and_no_key(integration, clock):
    started = data_checks.begin(integration, NOW, clock=clock)
    data_checks.save(started, clock=clock)
    (row,) = DataCheck.select()
    stored = " ".join(str(value) for value in row.__data__.values())
    assert "Support chats" not in stored and API_KEY not in stored
    assert "integration" not in json.loads(row.body)
    # The name shown is the integration's, read when shown.
    Integration.update(name="Renamed").execute()
    assert data_checks.latest(Integration.get_by_id(integration.id)).integration == "Renamed"


def test_a_running_check_whose_worker_went_silent_is_interrupted_and_may_be_replaced(
    integration, clock
):
    first = data_checks.begin(integration, NOW, clock=clock)
    clock.now += STALE_AFTER_SECONDS
    assert data_checks.latest(integration, clock=clock).state == RUNNING  # not yet
    assert data_checks.begin(integration, NOW, clock=clock) is None
    assert data_checks.beat(first, clock=clock)  # a beat keeps it alive
    clock.now += STALE_AFTER_SECONDS + 0.5
    assert data_checks.latest(integration, clock=clock).state == data_checks.INTERRUPTED

    second = data_checks.begin(integration, NOW, clock=clock)
    assert second is not None and second.token != first.token
    assert data_checks.latest(integration, clock=clock).state == RUNNING
    # The first worker, had it only been frozen, can no longer write over the new check.
    assert not data_checks.beat(first, clock=clock)
    first.diagnosis.state = "done"
    with pytest.raises(data_checks.Superseded):
        data_checks.save(first, clock=clock)
    assert data_checks.latest(integration, clock=clock).state == RUNNING


def test_the_worker_beats_while_inside_and_stops_after(integration, clock):
    started = data_checks.begin(integration, NOW, clock=clock)
    clock.now += 100
    deadline = time.monotonic() + 30
    with data_checks.beating(started, 0.01, clock=clock):
        while DataCheck.get().beat_at != clock.now:
            assert time.monotonic() < deadline, "no beat"
            time.sleep(0.01)  # polling interval of the condition
    threads = [t.name for t in threading.enumerate()]
    assert f"check-beat-{integration.id}" not in threads  # joined on the way out


class StandIn:
    """Freshchat as far as the first step goes: the group listing."""

    def __init__(self, listing: object) -> None:
        self.rate_limit_seen: dict[str, str] = {}
        self.listing = listing
        self.asked = 0

    def iter_groups(self):  # type: ignore[no-untyped-def]
        self.asked += 1
        if isinstance(self.listing, Exception):
            raise self.listing
        return iter(self.listing)


def test_a_worker_whose_check_was_replaced_stops_before_asking_freshchat(integration, clock):
    first = data_checks.begin(integration, NOW, clock=clock)
    clock.now += STALE_AFTER_SECONDS + 1
    second = data_checks.begin(integration, NOW, clock=clock)
    freshchat = StandIn([])
    data_checks.run(first, freshchat, inline=True, clock=clock)  # type: ignore[arg-type]
    assert freshchat.asked == 0
    (row,) = DataCheck.select()
    assert (row.token, row.state) == (second.token, RUNNING)


def test_an_internal_error_ends_the_check_as_failed_for_every_process(integration, clock):
    started = data_checks.begin(integration, NOW, clock=clock)
    freshchat = StandIn(RuntimeError("bug"))
    data_checks.run(started, freshchat, inline=True, clock=clock)  # type: ignore[arg-type]
    shown = data_checks.latest(integration, clock=clock)
    assert shown.state == "failed" and "Internal error during the check" in shown.progress
    assert data_checks.begin(integration, NOW, clock=clock) is not None


def test_removing_the_integration_row_removes_its_check(integration, clock):
    data_checks.begin(integration, NOW, clock=clock)
    other = Integration.create(
        name="Other",
        name_key="other",
        domain="o.freshchat.com",
        api_key_encrypted="x",
        api_key_last4="xxxx",
    )
    data_checks.begin(other, NOW, clock=clock)
    Integration.delete().where(Integration.id == integration.id).execute()  # ON DELETE CASCADE
    assert [row.integration_id for row in DataCheck.select()] == [other.id]


def database_seconds() -> float:
    return db.execute_sql(f"SELECT {now_seconds_sql()}").fetchone()[0]


def test_the_clockless_default_is_the_databases_clock(integration):
    started = data_checks.begin(integration, NOW)
    assert data_checks.latest(integration).state == RUNNING
    assert data_checks.begin(integration, NOW) is None
    assert data_checks.beat(started)
    (row,) = DataCheck.select()
    assert abs(row.beat_at - database_seconds()) < 60  # Unix seconds now, on its clock
