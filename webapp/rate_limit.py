"""One sliding-window limit, for the push endpoint (requests per key) and sign-in (failures
per address).

Kept in process memory on purpose: the app runs as one server process (see README), and a
restart clearing the counts is harmless, whereas a table would make every hit a write.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimit:
    """At most ``limit`` recorded hits per key in any sliding ``window`` seconds.

    A log of timestamps per key (bounded by ``limit``) gives an exact limit and an exact
    wait; a ``limit`` of 0 or less turns the limit off.
    """

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _wait(self, hits: deque[float], now: float) -> int:
        if self.limit <= 0 or len(hits) < self.limit:
            return 0
        return max(1, math.ceil(hits[0] + self.window - now))

    def wait_seconds(self, key: str) -> int:
        """0 when ``key`` is under the limit, else seconds until it will be."""
        now = self.clock()
        with self._lock:
            return self._wait(self._recent(key, now), now)

    def record(self, key: str) -> None:
        """Count one hit (a failed sign-in, say) against ``key``."""
        now = self.clock()
        with self._lock:
            self._recent(key, now).append(now)

    def forget(self, key: str) -> None:
        """Drop ``key``'s hits (a successful sign-in clears the failures before it)."""
        with self._lock:
            self._hits.pop(key, None)

    def check(self, key: str) -> int | None:
        """For requests: None when this one may pass (and counts it), else seconds to wait.

        A refused request is not counted, so a client that waits gets through.
        """
        if self.limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            hits = self._recent(key, now)
            wait = self._wait(hits, now)
            if wait:
                return wait
            hits.append(now)
            return None
