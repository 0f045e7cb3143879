"""Moves the wall clock of every Python process started with this folder on PYTHONPATH.

CI runs the suite a second time with ``TEST_TIME_SHIFT_DAYS`` set, so a test that silently
depends on today's date fails there. The shift applies to the test process and to the
Python subprocesses it starts (the demo command), which inherit the environment. Monotonic
clocks and sleeps are untouched. (libfaketime was the first choice, but its 0.9.10 build
makes Python's ``time.sleep`` fail with EINVAL.)
"""

import os

_days = os.environ.get("TEST_TIME_SHIFT_DAYS")
if _days:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=float(_days)), tick=True).start()
