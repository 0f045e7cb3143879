"""Starting ``flask --app wsgi …`` subprocesses and telling when a server answers."""

from __future__ import annotations

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
