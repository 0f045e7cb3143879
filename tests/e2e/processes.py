"""Starting ``flask --app wsgi …`` subprocesses and telling when a server answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def start_flask(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """``flask --app wsgi COMMAND`` from the checkout, output (both streams) piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    """Whether ``url`` (a health page) answers 200 now."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def server_env(app, folder: Path, api_url: str, **settings: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment a ``flask`` subprocess needs to open ``app``'s database and secrets
    and reach the simulated Freshchat at ``api_url``; ``settings`` add more variables."""
    return {
        **os.environ,
        "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SECRET_KEY": "test-secret",
        "ENCRYPTION_KEY": app.config["ENCRYPTION_KEY"],
        "FRESHCHAT_API_URL": api_url,
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",
        **settings,
    }
