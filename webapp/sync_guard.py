"""When a running sync must stop: the process is shutting down, or its lease is gone.

A sync holds its integration's lease (one row in the database) for ``sync.LEASE_TIME``. Two
things end a run early, and both are only acted on at *safe points* (between Extract
requests and files, in waits, between chunks of a download: never inside a write
transaction), so a stopped run leaves nothing half-applied:

* **Shutdown** (SIGTERM to ``serve`` or ``flask sync``): the signal handler only sets a
  process-wide event. Waits inside the sync watch that event, so a run parked in a
  ``Retry-After`` or a job poll stops at once rather than when the wait ends.
* **Lost lease**: waits are where a run can outlive its lease (a job that polls for
  minutes, a long ``Retry-After``), so the lease is renewed there, not only after each
  download. A renewal that touches no row means another process took over (or the
  integration was deleted): this run stops without writing anything more.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from webapp.models import Integration

# Set once the process has been asked to stop; never cleared in a serving process.
STOP = threading.Event()

RENEW_EVERY_SECONDS = 60.0  # far below the 20-minute lease, far above a database write
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class SyncStopped(Exception):
    """A run ended early on purpose; ``str()`` says why, for the history and the CLI."""


class StopRequested(SyncStopped):
    def __init__(self) -> None:
        super().__init__(
            "Interrupted: the server was stopping. Nothing half-read was kept; "
            "the next sync resumes from the last complete window."
        )


class LeaseLost(SyncStopped):
    def __init__(self) -> None:
        super().__init__(
            "Stopped: another process took over this integration's sync lease while this "
            "run was waiting; this run wrote nothing more."
        )


class IntegrationGone(SyncStopped):
    def __init__(self) -> None:
        super().__init__("The integration was deleted during the sync; the sync stopped.")


def request_stop(*_args: Any) -> None:
    """Signal handler (and test hook): ask every running sync of this process to stop."""
    STOP.set()


@contextmanager
def stop_on_signals(then: Callable[[], None] | None = None) -> Iterator[None]:
    """While inside: SIGTERM (and SIGINT) stop syncs at their next safe point, then call
    ``then``. The previous handlers come back on exit.

    ``then`` lets ``serve`` leave its HTTP loop; ``flask sync`` just lets the run stop.
    Only the main thread may set signal handlers; elsewhere this changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        request_stop()
        if then is not None:
            then()

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class RunGuard:
    """Checks (and renews) one run's right to go on; raises ``SyncStopped`` when it ends."""

    def __init__(
        self,
        integration_id: int,
        renew: Callable[[], bool],
        *,
        stop: threading.Event = STOP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.integration_id = integration_id
        self.renew = renew  # True while this run still holds the lease
        self.stop = stop
        self.clock = clock
        self._renewed_at = clock()

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise StopRequested()

    def checkpoint(self) -> None:
        """A safe point: stop if asked to, else renew the lease (or stop if it is gone)."""
        self.check_stop()
        if not self.renew():
            if Integration.get_or_none(Integration.id == self.integration_id) is None:
                raise IntegrationGone()
            raise LeaseLost()
        self._renewed_at = self.clock()

    def tick(self) -> None:
        """Cheap enough per downloaded chunk: stop check always, lease now and then."""
        self.check_stop()
        if self.clock() - self._renewed_at >= RENEW_EVERY_SECONDS:
            self.checkpoint()

    def guarded_sleep(self, sleep: Callable[[float], None]) -> Callable[[float], None]:
        """The client's wait, cut into slices with a checkpoint after each.

        The real ``time.sleep`` is replaced by a wait on the stop event, so shutdown
        interrupts it; an injected test sleep is kept (and sliced the same way).
        """

        def wait(seconds: float) -> None:
            self.checkpoint()
            remaining = max(0.0, seconds)
            while True:
                step = min(remaining, RENEW_EVERY_SECONDS)
                if sleep is time.sleep:
                    self.stop.wait(step)
                else:
                    sleep(step)
                remaining -= step
                self.checkpoint()
                if remaining <= 0:
                    return

        return wait


class GuardedSink:
    """A file-like sink for downloads that checks the guard at every chunk written."""

    def __init__(self, sink: Any, guard: RunGuard) -> None:
        self._sink = sink
        self._guard = guard

    def write(self, data: bytes) -> int:
        self._guard.tick()
        return self._sink.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sink, name)  # seek, truncate, tell, flush: the sink's own
