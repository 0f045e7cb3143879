"""The shared request limit (GCRA in one database row per key), with an injected clock.

Two ``SharedLimit`` objects stand for two processes: they share nothing but the database.
"""

from __future__ import annotations

import itertools
import threading

from tests.engines import outside_query, postgres_only
from webapp import rate_limit
from webapp.extensions import db
from webapp.models import RateLimit
from webapp.rate_limit import SharedLimit, prune


def test_a_burst_of_the_limit_passes_then_one_per_interval(database):
    now = [1000.0]
    limit = SharedLimit("push", 3, window=60, clock=lambda: now[0])
    assert [limit.check("k") for _ in range(3)] == [None, None, None]
    assert limit.check("k") == 20  # one hit's share of the window: 60 s / 3
    assert limit.check("other") is None  # per key
    now[0] += 19
    assert limit.check("k") == 1
    now[0] += 1
    assert limit.check("k") is None  # refusals were not counted: waiting is enough
    assert limit.check("k") == 20
    now[0] += 60
    assert [limit.check("k") for _ in range(3)] == [None, None, None]  # a full window idle


def test_two_processes_count_against_one_limit(database):
    now = [1000.0]
    first = SharedLimit("push", 4, window=60, clock=lambda: now[0])
    second = SharedLimit("push", 4, window=60, clock=lambda: now[0])
    assert [first.check("k"), second.check("k"), first.check("k"), second.check("k")] == [None] * 4
    assert first.check("k") and second.check("k")
    # Other scopes are other limits, even for the same subject.
    assert SharedLimit("sign-in", 4, clock=lambda: now[0]).check("k") is None
    # The count is in the database, committed: what another process reads.
    (stored,) = outside_query(
        database,
        'SELECT "tat" FROM "rate_limit" WHERE "scope" = ? AND "subject" = ?',
        ("push", "k"),
    )
    assert stored == 1000.0 + 4 * 15


def test_record_wait_and_forget(database):
    now = [0.0]
    failures = SharedLimit("sign-in", 2, window=60, clock=lambda: now[0])
    assert failures.wait_seconds("a") == 0
    failures.record("a")
    assert failures.wait_seconds("a") == 0
    failures.record("a")
    assert failures.wait_seconds("a") == 30 and failures.wait_seconds("b") == 0
    failures.record("a")  # recorded even past the limit: the wait grows
    assert failures.wait_seconds("a") == 60
    now[0] = 45.0
    assert failures.wait_seconds("a") == 15
    failures.forget("a")
    assert failures.wait_seconds("a") == 0
    with db.connection_context():
        assert RateLimit.select().count() == 0


def test_a_limit_of_zero_is_off_and_writes_nothing(database):
    off = SharedLimit("push", 0)
    assert [off.check("k") for _ in range(50)] == [None] * 50
    off.record("k")
    assert off.wait_seconds("k") == 0
    assert RateLimit.select().count() == 0


def test_prune_drops_only_keys_whose_hits_ran_out(database):
    now = [1000.0]
    limit = SharedLimit("push", 2, window=60, clock=lambda: now[0])
    limit.check("old")
    now[0] += 31
    limit.check("recent")
    assert prune(lambda: now[0]) == 1
    assert [row.subject for row in RateLimit.select()] == ["recent"]
    assert limit.check("recent") is None and limit.check("recent") == 30


def test_without_a_scheduler_expired_keys_go_every_few_hundred_hits(database, monkeypatch):
    """No scheduler runs ``prune`` here: the hits themselves delete expired rows, once per
    ``PRUNE_EVERY`` (the others add no statement), and never inside a transaction."""
    assert rate_limit.PRUNE_EVERY >= 100  # a rare statement, not one per push request
    monkeypatch.setattr(rate_limit, "PRUNE_EVERY", 4)
    monkeypatch.setattr(rate_limit, "_hits", itertools.count(1))
    monkeypatch.setattr(rate_limit, "_prune_due", False)
    now = [1000.0]
    push = SharedLimit("push", 100, window=60, clock=lambda: now[0])
    failures = SharedLimit("sign-in", 5, window=60, clock=lambda: now[0])

    def subjects() -> set[str]:
        return {row.subject for row in RateLimit.select()}

    push.check("gone-client")  # hit 1
    now[0] += 61  # its hit has run out
    for subject in ("a", "b"):  # hits 2 and 3
        push.check(subject)
    assert subjects() == {"gone-client", "a", "b"}  # no prune yet
    with db.atomic():  # the 4th hit is counted inside a transaction (as a stored push)
        push.check("a")
    assert "gone-client" in subjects()  # due, but not while other rows could stay locked
    failures.record("address")  # the next hit outside one: the prune runs
    assert subjects() == {"a", "b", "address"}
    now[0] += 61
    for subject in ("c", "d", "e"):  # hits 6 to 8: pruned again at the 8th
        push.check(subject)
    assert subjects() == {"c", "d", "e"}


def test_concurrent_checks_never_pass_more_than_the_limit(database):
    """The check and the count are one statement: no two threads can both take the last
    place (threads, each with its own connection, stand for processes here)."""
    limit = SharedLimit("push", 5, window=3600)
    results: list[int | None] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def attempt() -> None:
        start.wait()
        with db.connection_context():
            answer = limit.check("k")
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(None) == 5 and len(results) == 12


@postgres_only
def test_on_postgresql_the_counts_skip_the_write_ahead_log(database):
    (persistence,) = outside_query(
        database, "SELECT relpersistence FROM pg_class WHERE relname = 'rate_limit'"
    )
    assert persistence == "u"  # unlogged: no disk flush per push request


def test_without_a_given_clock_the_database_clock_counts(database):
    """The default: every process reads the time from the database, one clock for all."""
    limit = SharedLimit("push", 2, window=60)
    assert limit.check("k") is None and limit.check("k") is None
    assert 29 <= limit.check("k") <= 30 and 29 <= limit.wait_seconds("k") <= 30
    assert prune() == 0  # its hits have not run out
    assert RateLimit.select().count() == 1
