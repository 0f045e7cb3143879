"""How fast does the funnel apply chats? Run by hand: ``python bench/bench_apply.py [N]``.

The product promise is "1M chats in under 10 minutes" end to end; this measures the part
``chats.apply_changes`` takes, on a fresh temporary SQLite file, so the rest of the budget
(Freshchat calls, CSV parsing) can be judged against it. Two passes:

* first pass: N synthetic chats (created + group, resolved; some transfers, reopenings,
  spam), with each chat's resolution arriving ``--lag`` chats after its creation, as in
  reports split by event type, so most chats are loaded and rewritten twice;
* replay: the very same changes again, which must change nothing (the idempotent path).

Changes are generated lazily, so the peak RSS printed also shows that memory stays flat.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp.changes import ChatChange
from webapp.chats import ApplyResult, apply_changes, refresh_groups
from webapp.database import open_database
from webapp.models import Chat, Integration, IntervalStat

START = datetime(2024, 1, 1)
GROUPS = [{"id": f"g-{i:02d}", "name": f"Queue {i}"} for i in range(12)]


class Counter:
    """Counts the changes a generator yields without holding them."""

    def __init__(self) -> None:
        self.changes = 0


def synthetic_changes(n: int, lag: int, seed: int, counter: Counter) -> Iterator[ChatChange]:
    """Yield the changes of ``n`` chats, about 3.4 per chat, in a stream-like order."""
    rng = random.Random(seed)
    pending: deque[list[ChatChange]] = deque()
    for i in range(n):
        cid = f"conv-{i:08d}"
        created = START + timedelta(seconds=i * 2.7, milliseconds=rng.randrange(1000))
        group = GROUPS[rng.randrange(len(GROUPS))]["id"]
        head = [
            ChatChange(cid, at=created, created_time=created, status="new"),
            ChatChange(cid, at=created + timedelta(seconds=5), group_id=group),
        ]
        tail: list[ChatChange] = []
        resolved = created + timedelta(minutes=rng.randrange(2, 600))
        roll = rng.random()
        if roll < 0.15:  # transfer before resolution
            moved = GROUPS[rng.randrange(len(GROUPS))]["id"]
            tail.append(ChatChange(cid, at=resolved - timedelta(minutes=1), group_id=moved))
        tail.append(ChatChange(cid, at=resolved, resolved_time=resolved, status="resolved"))
        if 0.15 <= roll < 0.25:  # reopened and resolved again, maybe elsewhere
            again = resolved + timedelta(hours=rng.randrange(1, 48))
            tail.append(ChatChange(cid, at=again - timedelta(hours=1), status="new"))
            if roll < 0.2:
                moved = GROUPS[rng.randrange(len(GROUPS))]["id"]
                tail.append(ChatChange(cid, at=again - timedelta(minutes=30), group_id=moved))
            tail.append(ChatChange(cid, at=again, resolved_time=again, status="resolved"))
        if 0.25 <= roll < 0.27:
            tail.append(ChatChange(cid, at=resolved + timedelta(hours=2), spam=True))
        for change in head:
            counter.changes += 1
            yield change
        pending.append(tail)
        if len(pending) > lag:
            for change in pending.popleft():
                counter.changes += 1
                yield change
    while pending:
        for change in pending.popleft():
            counter.changes += 1
            yield change


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_pass(
    label: str, integration_id: int, n: int, args: argparse.Namespace
) -> tuple[float, ApplyResult]:
    counter = Counter()
    began = time.perf_counter()
    result = apply_changes(
        integration_id,
        synthetic_changes(n, args.lag, args.seed, counter),
        batch_size=args.batch_size,
    )
    elapsed = time.perf_counter() - began
    print(
        f"{label:<10} {elapsed:8.1f} s  {n / elapsed:9.0f} chats/s  "
        f"{elapsed / counter.changes * 1e6:6.1f} µs/change  "
        f"({counter.changes} changes, peak RSS {peak_rss_mib():.0f} MiB)"
    )
    print(f"{'':<10} {result}")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chats", nargs="?", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--lag", type=int, default=5000, help="chats between create/resolve")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        database.connect(reuse_if_open=True)
        integration = Integration.create(
            name="Bench",
            name_key="bench",
            domain="bench.freshchat.com",
            api_key_encrypted="x",
            api_key_last4="abcd",
        )
        refresh_groups(integration.id, GROUPS)
        print(f"{args.chats} chats, batch size {args.batch_size}, resolution lag {args.lag}")
        print(f"peak RSS before: {peak_rss_mib():.0f} MiB")
        first, _ = run_pass("first", integration.id, args.chats, args)
        replay, replayed = run_pass("replay", integration.id, args.chats, args)
        assert replayed.contacts_changed == 0 and replayed.chats_created == 0

        contacts = sum(row.contacts for row in IntervalStat.select())
        print(f"chats stored {Chat.select().count()}, contacts counted {contacts}")
        print(
            f"projected for 1M chats: first pass {first * 1_000_000 / args.chats / 60:.1f} min, "
            f"replay {replay * 1_000_000 / args.chats / 60:.1f} min (budget: 10 min end to end)"
        )
        database.close()


if __name__ == "__main__":
    main()
