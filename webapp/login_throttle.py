"""Slowing down password guessing: a few failed logins per client, then a pause.

Kept in process memory on purpose: the app runs as one server process (see README), and a
restart clearing the counts is harmless, whereas a table would make every failed login a
write.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 300.0


class LoginThrottle:
    """Counts failures per client address within a sliding window."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def wait_seconds(self, client: str) -> int:
        """0 when this client may try again, else how long it must wait."""
        with self._lock:
            now = self.clock()
            failures = self._recent(client, now)
            if len(failures) < self.max_failures:
                return 0
            return max(1, int(failures[0] + self.window - now + 0.999))

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client, self.clock()).append(self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
