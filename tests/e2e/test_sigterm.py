"""SIGTERM to ``flask sync`` and ``flask serve`` in the middle of a sync (issue 13, item 2).

Real subprocesses, a real signal. The sync is parked in a long ``Retry-After`` wait (the
simulated Freshchat answers 429 with ``Retry-After: 240``) when the signal arrives; the
process must stop at that safe point, mark the run interrupted and release the lease, so
the page does not show a frozen step and **Sync now** is not refused for 20 minutes.
Every wait below is on a condition (a request seen, a row written, the process ended).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import add_integration, make_test_app
from tests.e2e.processes import free_port as _free_port
from tests.e2e.processes import healthy as _healthy
from tests.e2e.processes import server_env
from tests.e2e.processes import start_flask as _start
from webapp.extensions import db
from webapp.freshchat.simulator import FreshchatSimulator, SimAccount, serve_in_thread
from webapp.models import Integration, SyncRun
from webapp.sync import acquire_lease

DOMAIN = "acme.freshchat.com"
ADMIN_KEY = "sim-admin-key-0003"
DEADLINE = 60.0  # seconds for any condition below; far longer than any of them needs


def wait_for(condition: Callable[[], object], what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"process ended ({process.returncode}) before {what}:\n{output}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling interval of the condition, not a synchronisation


@pytest.fixture
def sim() -> Iterator[FreshchatSimulator]:
    account = SimAccount(DOMAIN, seed=3, chats_per_day=12, history_days=4, admin_key=ADMIN_KEY)
    simulator = FreshchatSimulator([account], pending_polls=0)
    with serve_in_thread(simulator) as server:
        simulator.server = server
        yield simulator


@pytest.fixture
def setup(tmp_path, sim):
    """An app database with one integration, and the environment a subprocess needs."""
    api_url = sim.server.api_url_template
    app = make_test_app(tmp_path, FRESHCHAT_API_URL=api_url)
    integration_id = add_integration(app, "Acme", DOMAIN, ADMIN_KEY)
    env = server_env(app, tmp_path, api_url)
    # The first request of a sync (the groups list) is told to come back in 4 minutes.
    sim.faults.inject("429", times=None, retry_after=240, path_contains="/groups")
    yield app, integration_id, env
    db.initialize(None)


def _groups_asked(sim: FreshchatSimulator) -> bool:
    return any(path.endswith("/groups") for _method, path, _status in list(sim.request_log))


def _assert_cleanly_interrupted(app, integration_id: int) -> None:
    with app.app_context(), db.connection_context():
        integration = Integration.get_by_id(integration_id)
        assert integration.lease_owner is None and integration.lease_until is None
        assert integration.last_sync_outcome == "interrupted"
        assert integration.watermark is None
        (run,) = SyncRun.select().where(SyncRun.integration == integration_id)
        assert run.outcome == "interrupted" and run.finished_at is not None
        assert "server was stopping" in run.error
        # The lease is free at once: Sync now would not be refused.
        assert acquire_lease(integration_id, "next-run")


def test_sigterm_stops_flask_sync_at_a_safe_point(setup, sim):
    app, integration_id, env = setup
    process = _start(["sync", "Acme"], env)
    try:
        wait_for(lambda: _groups_asked(sim), "the sync to reach Freshchat", process)
        process.send_signal(signal.SIGTERM)
        output = _stopped_output(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, output
    assert "Error: Acme: Interrupted: the server was stopping" in output
    _assert_cleanly_interrupted(app, integration_id)


def _stopped_output(process: subprocess.Popen) -> str:
    """Its output once it has ended; on a hang, every thread's stack (faulthandler)."""
    try:
        return process.communicate(timeout=DEADLINE)[0]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER prints the stacks
        pytest.fail("did not stop after SIGTERM:\n" + process.communicate()[0])


def test_sigterm_stops_serve_and_its_running_sync(setup, sim):
    app, integration_id, env = setup
    port = _free_port()
    process = _start(["serve", "--port", str(port)], env)
    try:
        wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), "the server", process)
        # The scheduler starts the never-synced integration's first sync at once.
        wait_for(lambda: _groups_asked(sim), "the scheduled sync to reach Freshchat", process)
        process.send_signal(signal.SIGTERM)
        output = _stopped_output(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert not _healthy(f"http://127.0.0.1:{port}/healthz")
    _assert_cleanly_interrupted(app, integration_id)
