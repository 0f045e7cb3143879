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

Times are Unix seconds on the database's clock, the one clock every process shares.

Rows whose hits have all run out are deleted by ``prune``: every minute by the scheduler,
and, so that the table stays small where no scheduler runs (``waitress-serve wsgi:app``,
servers started with the scheduler off), by every process once per ``PRUNE_EVERY`` counted
hits. The other hits pay only a counter; the prune itself waits for a hit counted outside
a transaction, so it never holds other keys' rows until a push's commit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from webapp.database import now_seconds_sql
from webapp.extensions import db
from webapp.models import RateLimit

_TABLE = RateLimit._meta.table_name

SCOPE_PUSH = "push"  # requests per companion-app key
SCOPE_PUSH_AUTH = "push-auth"  # failed keys per client address
SCOPE_SIGN_IN = "sign-in"  # failed sign-ins per client address

# Counted hits of this process between two prunes: expired rows stay at most about this
# many (each hit writes at most one row) beyond the keys seen in the last window.
PRUNE_EVERY = 1000
_hits = itertools.count(1)
_prune_due = False


def _now(clock: Callable[[], float] | None) -> tuple[str, list[object]]:
    """The time for a statement: SQL reading the database's clock, or a placeholder and its
    value (a given clock, in tests), that value repeated wherever the SQL is."""
    if clock is None:
        return now_seconds_sql(), []
    return "?", [clock()]


def _execute(sql: str, params: list[object]):  # type: ignore[no-untyped-def]
    return db.execute_sql(sql.replace("?", db.obj.param), params)


class SharedLimit:
    """At most ``limit`` hits per subject in a burst, and ``limit`` per ``window`` seconds
    after it; a ``limit`` of 0 or less turns the limit off (nothing is read or written).

    Time is the database's clock, one for every process even on several hosts (a few ms of
    skew between process clocks would refuse the last hit of a quick burst); ``clock``
    replaces it in tests.
    """

    def __init__(
        self,
        scope: str,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.scope = scope
        self.limit = limit
        self.window = window
        self.clock = clock
        self.interval = window / limit if limit > 0 else 0.0
        # A hit is allowed while the key's tat is at most this far ahead of now.
        self.tolerance = window - self.interval

    def _count(self, subject: str, *, only_if_allowed: bool) -> bool:
        """Move the subject's tat on by one hit; with ``only_if_allowed``, only when the hit
        is within the limit. True when it was counted."""
        now, at = _now(self.clock)
        sql = (
            f'INSERT INTO "{_TABLE}" ("scope", "subject", "tat") VALUES (?, ?, {now} + ?) '
            f'ON CONFLICT ("scope", "subject") DO UPDATE SET "tat" = '
            f'(CASE WHEN "{_TABLE}"."tat" > {now} THEN "{_TABLE}"."tat" ELSE {now} END) + ?'
        )
        params = [self.scope, subject, *at, self.interval, *at, *at, self.interval]
        if only_if_allowed:
            sql += f' WHERE "{_TABLE}"."tat" <= {now} + ?'
            params += [*at, self.tolerance]
        counted = _execute(sql, params).rowcount == 1
        _prune_now_and_then(self.clock)
        return counted

    def _wait(self, subject: str) -> int:
        now, at = _now(self.clock)
        sql = f'SELECT "tat" - {now} FROM "{_TABLE}" WHERE "scope" = ? AND "subject" = ?'
        row = _execute(sql, [*at, self.scope, subject]).fetchone()
        if row is None:
            return 0
        ahead = float(row[0]) - self.tolerance
        return max(1, math.ceil(ahead)) if ahead > 0 else 0

    def check(self, subject: str) -> int | None:
        """For requests: None when this one may pass (and counts it), else seconds to wait.

        A refused request is not counted, so a client that waits gets through.
        """
        if self.limit <= 0:
            return None
        if self._count(subject, only_if_allowed=True):
            return None
        return self._wait(subject) or 1  # refused: the row exists and is ahead

    def wait_seconds(self, subject: str) -> int:
        """0 when ``subject`` is under the limit, else seconds until it will be."""
        if self.limit <= 0:
            return 0
        return self._wait(subject)

    def record(self, subject: str) -> None:
        """Count one hit (a failed key, say) against ``subject``, allowed or not."""
        if self.limit > 0:
            self._count(subject, only_if_allowed=False)

    def forget(self, subject: str) -> None:
        """Drop ``subject``'s hits (a successful sign-in clears the failures before it)."""
        RateLimit.delete().where(
            (RateLimit.scope == self.scope) & (RateLimit.subject == subject)
        ).execute()


def _prune_now_and_then(clock: Callable[[], float] | None) -> None:
    """Prune once every ``PRUNE_EVERY`` hits, at the first one outside a transaction.

    Threads may race on the flag; at worst two prunes run, and the second deletes nothing.
    """
    global _prune_due
    if next(_hits) % PRUNE_EVERY == 0:
        _prune_due = True
    if _prune_due and not db.in_transaction():
        _prune_due = False
        prune(clock)


def prune(clock: Callable[[], float] | None = None) -> int:
    """Delete keys whose hits have all run out (a missing row means the same): the table
    keeps only clients seen in the last window. Returns how many went."""
    now, at = _now(clock)
    return _execute(f'DELETE FROM "{_TABLE}" WHERE "tat" <= {now}', at).rowcount
