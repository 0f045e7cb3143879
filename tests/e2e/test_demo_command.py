"""The README's first command, started the way a newcomer starts it, in a subprocess.

Checks the whole promise of demo mode: the server comes up on loopback, prints working
credentials, has already synced the simulated account, and what it stored agrees with the
simulator's own expected counts.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import csrf_token_from
from webapp.freshchat.simulator import SimAccount
from webapp.timeutil import floor_interval, iso_z, utcnow

ROOT = Path(__file__).resolve().parents[2]
SEED = 5
CHATS_PER_DAY = 60
STARTUP_DEADLINE = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


@pytest.fixture
def demo(tmp_path):
    """The demo server in a subprocess; yields (base_url, printed lines, environment)."""
    port = _free_port()
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    command = _flask("demo", "--port", str(port), "--seed", str(SEED))
    command += ["--chats-per-day", str(CHATS_PER_DAY)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    try:
        yield f"http://127.0.0.1:{port}", lines, env, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _read_until(lines: queue.Queue[str], pattern: str, deadline: float) -> tuple[str, list[str]]:
    seen: list[str] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"demo never printed {pattern!r}; output so far:\n{''.join(seen)}")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match.group(1), seen


def _wait_healthy(base_url: str, deadline: float, process: subprocess.Popen) -> dict:
    """Poll the health check (the readiness probe the issue asks for) until it answers."""
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo process exited"
        try:
            answer = requests.get(base_url + "/healthz", timeout=2)
            if answer.status_code == 200:
                return answer.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.2)  # polling interval of the readiness probe, not synchronisation
    pytest.fail("demo never became healthy")


def test_demo_starts_logs_in_and_agrees_with_the_simulator(demo):
    base_url, lines, env, process = demo
    deadline = time.monotonic() + STARTUP_DEADLINE
    username, _ = _read_until(lines, r"Username:\s+(\S+)", deadline)
    password, _ = _read_until(lines, r"Password:\s+(\S+)", deadline)
    sync_line, _ = _read_until(lines, r"First sync:\s+(.+)", deadline)
    assert "contacts changed" in sync_line
    health = _wait_healthy(base_url, deadline, process)
    assert health == {"status": "ok", "demo": True}

    session = requests.Session()
    login_page = session.get(base_url + "/login", timeout=5)
    assert "Demo mode" in login_page.text
    answer = session.post(
        base_url + "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_token_from(login_page.text),
        },
        timeout=5,
    )
    assert answer.status_code == 200 and answer.url.rstrip("/").endswith("/integrations")
    assert "Demo Freshchat" in answer.text

    # Stored counts against the simulator's oracle, over days whose chats have all ended
    # (a simulated chat lives at most four days) inside the imported 30-day window.
    account = SimAccount("demo.freshchat.com", seed=SEED, chats_per_day=CHATS_PER_DAY)
    now = utcnow()
    start = floor_interval(now - timedelta(days=28))
    end = floor_interval(now - timedelta(days=5))
    expected = {
        (queue_name, iso_z(interval)): count
        for (queue_name, interval), count in account.expected_contacts(start, end).items()
    }
    exported = subprocess.run(
        _flask(
            "stats",
            "Demo Freshchat",
            "--from",
            iso_z(start),
            "--to",
            iso_z(end),
            "--format",
            "json",
        ),
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"sqlite:///{Path(env['INSTANCE_PATH']) / 'demo.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    stored = {
        (row["queue"], row["interval_start"]): row["contacts"]
        for row in json.loads(exported.stdout)
    }
    assert sum(expected.values()) > 500
    assert stored == expected

    # The newcomer's first look: the synced queues on the integration's page.
    detail_url = re.search(r'href="(/integrations/\d+)"', answer.text).group(1)
    detail = session.get(base_url + detail_url, timeout=10).text
    for queue_name in ("Customer Support", "Billing", "Sales", "Undefined_Queue"):
        assert queue_name in detail


def test_demo_refuses_to_be_switched_on_from_the_environment(tmp_path):
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path / "instance"), "DEMO_MODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", "from wsgi import app; print(app.config['DEMO_MODE'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"
