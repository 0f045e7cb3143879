"""Two real ``flask serve`` processes (and a ``flask sync``) on one database (issue 12).

As behind a reverse proxy: two servers on loopback ports, ``TRUSTED_PROXIES=1`` (the test
plays the proxy and names the client in ``X-Forwarded-For``), one database from
``tests.engines.database_url`` (a SQLite file, or PostgreSQL in the CI run), the Freshchat
simulator in this process. Every wait is on a condition: a request seen by the simulator,
a line in a server's log, a row in the database.

Proven, each by its own test, in this order on the same pair of servers:

* a sync started with **Sync now** in one server is refused as already running by
  **Sync now** in either server and by ``flask sync`` while it runs, and neither
  scheduler adds a run of its own (the integration last synced a minute before they
  started: both follow the database's next sync, 14 minutes away);
* **Sync now** works from both, and both pages then show the same next sync, one period
  after the last start (not the old schedule's time);
* the sign-in throttle and the push limits (per key, and failed keys per address) count
  hits made to either server against one limit;
* **Check data access** started in one server shows its progress and result in the
  other, which refuses a second check while the first runs.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import requests

from tests.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    add_integration,
    csrf_token_from,
    make_test_app,
)
from tests.e2e.processes import free_port, healthy, server_env, start_flask
from webapp import integrations as service
from webapp.extensions import db
from webapp.freshchat.simulator import FreshchatSimulator, SimAccount, serve_in_thread
from webapp.models import Admin, Integration, SyncRun
from webapp.security import hash_password
from webapp.templating import when
from webapp.timeutil import utcnow

DOMAIN = "acme.freshchat.com"
ADMIN_KEY = "sim-admin-key-0012"
DEADLINE = 90.0  # seconds for any condition below; far longer than any of them needs
PUSH_LIMIT = 4
FAILED_KEYS_LIMIT = 3


class GatedSimulator(FreshchatSimulator):
    """The simulator, holding every groups request until ``gate`` opens: a sync that
    reached Freshchat stays running for as long as the test needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.held = threading.Event()  # a groups request is waiting at the gate

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").endswith("/groups") and not self.gate.is_set():
            self.held.set()
            self.gate.wait(DEADLINE)
        return super().__call__(environ, start_response)


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str
    lines: list[str] = field(default_factory=list)
    # This server's browser session, signed in by the fixture. One per server: a cookie
    # one process has just refreshed can carry a signing time a few ms ahead of another
    # process's clock (the time-shifted CI run gives each process its own small offset;
    # so can hosts), and Flask refuses signatures from the future.
    session: requests.Session = field(default_factory=requests.Session)

    def read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def said(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))


@dataclass
class Cluster:
    app: Any
    sim: GatedSimulator
    integration_id: int
    push_key: str
    env: dict[str, str]
    servers: list[Server]


def wait_for(condition: Callable[[], object], what: str, servers: list[Server]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        for server in servers:
            if server.process.poll() is not None:
                pytest.fail(f"{server.name} ended before {what}:\n{''.join(server.lines)}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {s.name}\n{''.join(s.lines)}" for s in servers)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.05)  # polling interval of the condition, not a synchronisation


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("two-processes")
    account = SimAccount(DOMAIN, seed=12, chats_per_day=10, history_days=2, admin_key=ADMIN_KEY)
    sim = GatedSimulator([account], pending_polls=0)
    with serve_in_thread(sim) as sim_server:
        api_url = sim_server.api_url_template
        app = make_test_app(folder, FRESHCHAT_API_URL=api_url)
        integration_id = add_integration(
            app, "Acme", DOMAIN, ADMIN_KEY, last_sync_started_at=utcnow() - timedelta(minutes=1)
        )
        with app.app_context(), db.connection_context():
            Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
            push_key = service.issue_app_key(Integration.get_by_id(integration_id)).plaintext
        env = server_env(
            app,
            folder,
            api_url,
            EXTRACT_POLL_SECONDS="0.05",
            FRESHCHAT_TIMEOUT_SECONDS=str(DEADLINE),  # a request held at the gate waits
            PUSH_RATE_LIMIT_PER_MINUTE=str(PUSH_LIMIT),
            PUSH_AUTH_FAILURES_PER_MINUTE=str(FAILED_KEYS_LIMIT),
            TRUSTED_PROXIES="1",
        )
        servers = []
        for name in ("A", "B"):
            port = free_port()
            process = start_flask(["serve", "--host", "127.0.0.1", "--port", str(port)], env)
            server = Server(name, process, f"http://127.0.0.1:{port}")
            threading.Thread(target=server.read_output, daemon=True).start()
            servers.append(server)
        try:
            for server in servers:
                wait_for(
                    lambda server=server: healthy(f"{server.url}/healthz"),
                    f"{server.name}",
                    servers,
                )
            cluster = Cluster(app, sim, integration_id, push_key, env, servers)
            for server in servers:
                assert _sign_in(server, ADMIN_PASSWORD, client="192.0.2.1") == 303
            yield cluster
        finally:
            sim.gate.set()
            for server in servers:
                server.process.terminate()
            for server in servers:
                try:
                    server.process.wait(timeout=DEADLINE)
                except subprocess.TimeoutExpired:
                    server.process.kill()
                server.session.close()
            db.initialize(None)


def _sign_in(server: Server, password: str, *, client: str) -> int:
    forwarded = {"X-Forwarded-For": client}
    page = server.session.get(f"{server.url}/login", headers=forwarded, timeout=30)
    response = server.session.post(
        f"{server.url}/login",
        data={
            "username": ADMIN_USER,
            "password": password,
            "csrf_token": csrf_token_from(page.text),
        },
        headers=forwarded,
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def _sync_now(cluster: Cluster, server: Server) -> str:
    """Press Sync now on ``server``'s integration page; the panel's message."""
    page = f"{server.url}/integrations/{cluster.integration_id}"
    token = csrf_token_from(server.session.get(page, timeout=30).text)
    response = server.session.post(
        f"{page}/sync",
        headers={"HX-Request": "true", "X-CSRFToken": token},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.text


def _row(cluster: Cluster) -> Integration:
    with cluster.app.app_context(), db.connection_context():
        return Integration.get_by_id(cluster.integration_id)


def _runs(cluster: Cluster) -> list[SyncRun]:
    with cluster.app.app_context(), db.connection_context():
        query = SyncRun.select().where(SyncRun.integration == cluster.integration_id)
        return list(query.order_by(SyncRun.id))


def _all_finished(cluster: Cluster) -> bool:
    runs = _runs(cluster)
    return bool(runs) and all(run.outcome != "running" for run in runs)


def test_one_sync_at_a_time_across_two_servers_and_the_cli(cluster):
    a, b = cluster.servers
    assert "Sync started." in _sync_now(cluster, a)
    wait_for(cluster.sim.held.is_set, "the sync to reach Freshchat", cluster.servers)
    # While it runs, Sync now is refused in both servers, and so is `flask sync`.
    for server in (b, a):
        assert "A sync is already running" in _sync_now(cluster, server)
    cli = start_flask(["sync", "Acme"], cluster.env)
    output = cli.communicate(timeout=DEADLINE)[0]
    assert cli.returncode == 1, output
    assert "another sync of it is running; skipped" in output

    cluster.sim.gate.set()
    wait_for(lambda: _all_finished(cluster), "the sync to finish", cluster.servers)
    (run,) = _runs(cluster)  # one run: neither scheduler added one
    assert run.outcome == "ok" and run.trigger == "manual"
    assert _row(cluster).lease_owner is None


def _next_shown(cluster: Cluster, server: Server) -> str:
    page = server.session.get(
        f"{server.url}/integrations/{cluster.integration_id}", timeout=30
    ).text
    assert 'id="sync-next">' in page, f"{server.name}: no next sync shown:\n{page}"
    start = page.index('id="sync-next">') + len('id="sync-next">')
    return page[start : page.index("<", start)]


@pytest.mark.parametrize("index", [0, 1])
def test_sync_now_works_from_either_server_and_both_show_the_next_sync(cluster, index):
    server = cluster.servers[index]
    wait_for(lambda: _all_finished(cluster), "earlier syncs to finish", cluster.servers)
    before = len(_runs(cluster))
    assert "Sync started." in _sync_now(cluster, server)
    wait_for(
        lambda: len(_runs(cluster)) > before and _all_finished(cluster),
        f"the sync started from {server.name} to finish",
        cluster.servers,
    )
    runs = _runs(cluster)
    assert len(runs) == before + 1  # the other scheduler did not add a run of its own
    assert runs[-1].trigger == "manual" and runs[-1].outcome == "ok"
    integration = _row(cluster)
    # Due one period after this run started, whichever process runs it next: both pages
    # show that, and each server's scheduler follows it (see test_scheduler).
    expected = runs[-1].started_at + timedelta(minutes=integration.sync_every_minutes)
    assert integration.next_sync_at == expected
    shown = when(expected, integration.display_timezone)
    for other in cluster.servers:
        assert _next_shown(cluster, other) == shown


def test_the_sign_in_throttle_is_shared(cluster):
    from webapp.views.auth import LOGIN_MAX_FAILURES

    a, b = cluster.servers
    guesser = "203.0.113.7"
    answers = [
        _sign_in((a, b)[n % 2], "wrong password", client=guesser) for n in range(LOGIN_MAX_FAILURES)
    ]
    assert answers == [200] * LOGIN_MAX_FAILURES  # the form again, with the error
    # Spread over both servers, the failures add up: both refuse now, the right password
    # too; another client is not held up.
    for server in (a, b):
        assert _sign_in(server, ADMIN_PASSWORD, client=guesser) == 429
    assert _sign_in(b, ADMIN_PASSWORD, client="198.51.100.2") == 303


def _events(cluster: Cluster) -> list[dict]:
    (account,) = cluster.sim.accounts.values()
    now = account.clock()
    return account.push_envelopes(now - timedelta(days=1), now)


def _push(server: Server, key: str, body: object, client: str) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/freshchat/events",
        json=body,
        headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": client},
        timeout=30,
    )


def test_the_push_limits_are_shared(cluster):
    a, b = cluster.servers
    events = _events(cluster)
    assert len(events) > PUSH_LIMIT
    answers = [
        _push((a, b)[n % 2], cluster.push_key, events[n], "192.0.2.10").status_code
        for n in range(PUSH_LIMIT)
    ]
    assert answers == [202] * PUSH_LIMIT
    for server in (a, b):  # the key's limit is used up on both servers
        refused = _push(server, cluster.push_key, events[PUSH_LIMIT], "192.0.2.10")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1

    # Failed keys from one address: spread over both servers, they add up too.
    wrong = cluster.push_key + "x"
    answers = [
        _push((a, b)[n % 2], wrong, events[0], "203.0.113.8").status_code
        for n in range(FAILED_KEYS_LIMIT)
    ]
    assert answers == [401] * FAILED_KEYS_LIMIT
    for server in (a, b):
        flooded = _push(server, wrong, events[0], "203.0.113.8")
        assert flooded.status_code == 429
        assert flooded.json() == {"error": "too many failed keys from this address"}
    assert _push(a, wrong, events[0], "198.51.100.3").status_code == 401  # another client


def _check_panel(cluster: Cluster, server: Server, *, start: bool = False) -> str:
    """The data access panel as ``server``'s page polls it, or as pressing Check answers."""
    url = f"{server.url}/integrations/{cluster.integration_id}/diagnose"
    if not start:
        response = server.session.get(url, headers={"HX-Request": "true"}, timeout=30)
    else:
        page = f"{server.url}/integrations/{cluster.integration_id}"
        token = csrf_token_from(server.session.get(page, timeout=30).text)
        headers = {"HX-Request": "true", "X-CSRFToken": token}
        response = server.session.post(url, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.text


def _download(cluster: Cluster, server: Server) -> requests.Response:
    url = f"{server.url}/integrations/{cluster.integration_id}/diagnostic.json"
    return server.session.get(url, timeout=30)


def test_check_data_access_runs_in_one_server_and_shows_in_the_other(cluster):
    a, b = cluster.servers
    cluster.sim.gate.clear()  # the check's first request, the group listing, waits here
    cluster.sim.held.clear()
    try:
        started = _check_panel(cluster, a, start=True)
        assert 'data-state="running"' in started and "already running" not in started
        wait_for(cluster.sim.held.is_set, "the check to reach Freshchat", cluster.servers)
        # B, where none of it runs, shows it running and polls for more.
        seen = _check_panel(cluster, b)
        assert 'data-state="running"' in seen and 'hx-trigger="every 1s"' in seen
        assert "Step 1 of 4: Reading the group listing" in seen
        assert _download(cluster, b).status_code == 404  # nothing finished to download
        for server in (b, a):  # a second check is refused by either server
            refused = _check_panel(cluster, server, start=True)
            assert "A check is already running" in refused
            assert 'data-state="running"' in refused
    finally:
        cluster.sim.gate.set()
    wait_for(
        lambda: 'data-state="done"' in _check_panel(cluster, b),
        "B to show the check done",
        cluster.servers,
    )
    result = _check_panel(cluster, b)
    for event in ("Conversation-Created", "Conversation-Group-Assigned", "Conversation-Resolved"):
        assert f"{event}: ok" in result
    assert "Everything the sync needs was found." in result
    report = _download(cluster, b).json()
    assert report["groups_listed"] == 3 and len(report["events"]) == 3

    # Once it is over, either server may start the next one.
    again = _check_panel(cluster, b, start=True)
    assert "already running" not in again
    wait_for(
        lambda: 'data-state="done"' in _check_panel(cluster, a),
        "A to show the check B started done",
        cluster.servers,
    )
