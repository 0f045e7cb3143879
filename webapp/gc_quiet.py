"""Rarer cyclic garbage collections while a pull window is applied.

Applying a window allocates millions of short-lived tuples, lists and dicts, none of which
form reference cycles: reference counting frees them all. Yet with Python's default
thresholds (a young collection every 700 net allocations) the cyclic collector ran
thousands of times during a 100k-chat window, and each older-generation pass walked every
object of the process: a fifth to a quarter of the funnel's CPU (bench/bench_floor.py).

While at least one window is being applied (in any thread), the young generation's
threshold is raised; cycles made meanwhile (by requests served beside a sync) are still
collected, only in larger batches. The previous thresholds come back when the last window
ends, also on error.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Net allocations between young collections while a window is applied (Python's default
# is 700): large enough that collections are rare, small enough to bound what waits.
QUIET_THRESHOLD = 100_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, ...] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young generation's collection threshold for the block (re-entrant and
    shared by threads: restored when the last block ends)."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(QUIET_THRESHOLD, _saved[0]), *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
