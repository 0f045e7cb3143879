"""Does a complete, wide, 60-minute export stream? Run by hand:

    .venv/bin/python bench/bench_series_export.py [--days 30 365] [--queues 7]

One temporary SQLite file is filled with a year of interval statistics (every 15-minute
interval of every queue has a row with probability 0.6, as a busy desk would). Then, for
each ``--days``, a **fresh interpreter** asks the API for the last N local days as
``series=complete&shape=wide&minutes=60&zone=local&format=csv`` and reads the answer
chunk by chunk, as a client would. Each child prints its rows, bytes, time, the peak of
Python allocations (tracemalloc) and its own peak RSS (``ru_maxrss``, a high-water mark,
hence one interpreter per size). Streaming means the peaks stay flat while the rows grow.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app
from webapp.chats import refresh_groups
from webapp.extensions import db
from webapp.models import Admin, Integration, IntervalStat

END = datetime(2026, 11, 30)  # a local midnight in Berlin is 23:00Z the day before
NOW = datetime(2026, 12, 1, 12)
TZ = "Europe/Berlin"


def make_app(folder: Path):  # type: ignore[no-untyped-def]
    return create_app(
        {
            "INSTANCE_PATH": folder / "instance",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "SECRET_KEY": "bench",
            "CLOCK": lambda: NOW,
            "LOGIN_DISABLED": True,
        }
    )


def fill(folder: Path, queues: int) -> None:
    make_app(folder)
    rng = random.Random(7)
    with db.connection_context():
        Admin.create(username="bench", password_hash="not-used")
        integration = Integration.create(
            name="Bench",
            name_key="bench",
            domain="bench.freshchat.com",
            api_key_encrypted="x",
            api_key_last4="abcd",
            display_timezone=TZ,
        )
        refresh_groups(
            integration.id, [{"id": f"g-{i}", "name": f"Queue {i}"} for i in range(queues)]
        )
        start = END - timedelta(days=366)
        rows = []
        when = start
        while when < END:
            for i in range(queues):
                if rng.random() < 0.6:
                    rows.append((integration.id, f"g-{i}", when, rng.randrange(1, 9)))
            when += timedelta(minutes=15)
        with db.atomic():
            for offset in range(0, len(rows), 5000):
                IntervalStat.insert_many(
                    rows[offset : offset + 5000],
                    fields=[
                        IntervalStat.integration,
                        IntervalStat.queue_key,
                        IntervalStat.interval_start,
                        IntervalStat.contacts,
                    ],
                ).execute()
    print(f"filled {len(rows):,} interval rows, {queues} queues + Undefined_Queue")


def child(folder: Path, days: int) -> None:
    app = make_app(folder)
    client = app.test_client()
    with client.session_transaction() as session, app.app_context(), db.connection_context():
        session["admin_id"] = Admin.get().id
    first = (END - timedelta(days=days)).date().isoformat()
    query = (
        f"from={first}&to={END.date().isoformat()}"
        "&series=complete&shape=wide&minutes=60&zone=local&format=csv"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    began = time.perf_counter()
    response = client.get(f"/api/v1/integrations/1/intervals?{query}", buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    elapsed = time.perf_counter() - began
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "days": days,
                "rows": lines - 1,
                "bytes": size,
                "seconds": round(elapsed, 2),
                "python_peak_kib": peak // 1024,
                "rss_before_mib": round(rss_before / 1024, 1),
                "peak_rss_mib": round(rss / 1024, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--queues", type=int, default=7)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.folder), args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        fill(Path(tmp), args.queues)
        print("| days | rows | bytes | time | Python peak | RSS before | peak RSS |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for days in args.days:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(days), "--folder", tmp],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(
                f"| {r['days']} | {r['rows']:,} | {r['bytes']:,} | {r['seconds']} s | "
                f"{r['python_peak_kib']:,} KiB | {r['rss_before_mib']} MiB | "
                f"{r['peak_rss_mib']} MiB |"
            )


if __name__ == "__main__":
    main()
