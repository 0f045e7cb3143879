"""Request limits shared by every process: the push endpoint (requests per key, failed keys
per address) and sign-in (failures per address).

Kept in the database (``RateLimit``), not in process memory: behind a reverse proxy with
several ``serve`` processes, a limit held per process would let a client multiply it by
the number of processes, and a sign-in guesser too.

The algorithm is GCRA (the "generic cell rate algorithm", a token bucket written as one
timestamp): each key stores its *theoretical arrival time* ``tat``. A hit moves it
``window / limit`` seconds on (from now, if it lies in the past), and is allowed while
``tat`` stays within one ``window`` of now. So a key may send ``limit`` hits at once and
then ``limit`` per ``window``, like a sliding window, but the whole check-and-count is
**one** statement on one row (an upsert whose update only happens while allowed): atomic
on both engines without a lock or a transaction of its own, and the same cost whatever
the limit. That statement is the whole price on the push path (see ``bench/README.md``).

Times are Unix seconds from the wall clock, the one clock processes share.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from webapp.extensions import db
from webapp.models import RateLimit

_TABLE = RateLimit._meta.table_name

SCOPE_PUSH = "push"  # requests per companion-app key
SCOPE_PUSH_AUTH = "push-auth"  # failed keys per client address
SCOPE_SIGN_IN = "sign-in"  # failed sign-ins per client address


def _sql(text: str) -> str:
    return text.replace("?", db.obj.param)


class SharedLimit:
    """At most ``limit`` hits per subject in a burst, and ``limit`` per ``window`` seconds
    after it; a ``limit`` of 0 or less turns the limit off (nothing is read or written)."""

    def __init__(
        self,
        scope: str,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.scope = scope
        self.limit = limit
        self.window = window
        self.clock = clock
        self.interval = window / limit if limit > 0 else 0.0
        # A hit is allowed while the key's tat is at most this far ahead of now.
        self.tolerance = window - self.interval

    def _count(self, subject: str, now: float, *, only_if_allowed: bool) -> bool:
        """Move the subject's tat on by one hit; with ``only_if_allowed``, only when the hit
        is within the limit. True when it was counted."""
        sql = (
            f'INSERT INTO "{_TABLE}" ("scope", "subject", "tat") VALUES (?, ?, ?) '
            f'ON CONFLICT ("scope", "subject") DO UPDATE SET "tat" = '
            f'(CASE WHEN "{_TABLE}"."tat" > ? THEN "{_TABLE}"."tat" ELSE ? END) + ?'
        )
        params: list[object] = [self.scope, subject, now + self.interval, now, now, self.interval]
        if only_if_allowed:
            sql += f' WHERE "{_TABLE}"."tat" <= ?'
            params.append(now + self.tolerance)
        cursor = db.execute_sql(_sql(sql), params)
        return cursor.rowcount == 1

    def _wait(self, subject: str, now: float) -> int:
        cursor = db.execute_sql(
            _sql(f'SELECT "tat" FROM "{_TABLE}" WHERE "scope" = ? AND "subject" = ?'),
            (self.scope, subject),
        )
        row = cursor.fetchone()
        if row is None:
            return 0
        ahead = float(row[0]) - now - self.tolerance
        return max(1, math.ceil(ahead)) if ahead > 0 else 0

    def check(self, subject: str) -> int | None:
        """For requests: None when this one may pass (and counts it), else seconds to wait.

        A refused request is not counted, so a client that waits gets through.
        """
        if self.limit <= 0:
            return None
        now = self.clock()
        if self._count(subject, now, only_if_allowed=True):
            return None
        return self._wait(subject, now) or 1  # refused: the row exists and is ahead

    def wait_seconds(self, subject: str) -> int:
        """0 when ``subject`` is under the limit, else seconds until it will be."""
        if self.limit <= 0:
            return 0
        return self._wait(subject, self.clock())

    def record(self, subject: str) -> None:
        """Count one hit (a failed key, say) against ``subject``, allowed or not."""
        if self.limit > 0:
            self._count(subject, self.clock(), only_if_allowed=False)

    def forget(self, subject: str) -> None:
        """Drop ``subject``'s hits (a successful sign-in clears the failures before it)."""
        RateLimit.delete().where(
            (RateLimit.scope == self.scope) & (RateLimit.subject == subject)
        ).execute()


def prune(now: float | None = None) -> int:
    """Delete keys whose hits have all run out (a missing row means the same): the table
    keeps only clients seen in the last window. Returns how many went."""
    now = time.time() if now is None else now
    return RateLimit.delete().where(RateLimit.tat <= now).execute()
