"""How fast are the statistics pages, and does the export stream? Run by hand:

    .venv/bin/python bench/bench_stats.py [--sizes 100000 1000000] [--repeat 15]

For each size, a fresh temporary SQLite file gets that many counted chats spread over the
365 days before now (business-hours heavy, six queues plus 4 % Undefined_Queue), written by
bulk insert with the interval statistics rebuilt by one ``INSERT … SELECT`` (the funnel's own
speed is bench_apply.py's business). Then, through the Flask test client (server time only,
median of ``--repeat`` requests):

* the integration's page (the stats panel shows a full week),
* one week's panel as an htmx partial (chart + table + queue totals),
* one day's panel, and one explanation page of the busiest interval,
* CSV exports of 7, 30, 90 and 365 days, each consumed chunk by chunk while tracemalloc
  records the peak of Python allocations: a streaming export keeps that peak flat while
  the number of rows grows.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app
from webapp.chats import refresh_groups
from webapp.counting import REASON_GROUP, REASON_SPAM, UNDEFINED_QUEUE_KEY
from webapp.display_time import local_today, zone
from webapp.extensions import db
from webapp.models import Admin, Chat, Integration, IntervalStat
from webapp.timeutil import floor_interval, utcnow

GROUPS = [
    {"id": f"g-{i}", "name": name}
    for i, name in enumerate(["Customer Support", "Billing", "Sales", "Tech", "VIP", "Returns"])
]
DAYS = 365
TZ = "Europe/Berlin"
CHAT_COLUMNS = (
    "integration_id",
    "conversation_id",
    "created_time",
    "first_seen_time",
    "first_resolved_time",
    "last_resolved_time",
    "status",
    "status_time",
    "group_history",
    "spam",
    "deleted",
    "last_change_time",
    "queue_key",
    "interval_start",
    "count_reason",
)


def chat_rows(integration_id: int, n: int, end: datetime, seed: int = 5) -> Iterator[tuple]:
    """N counted chats over the DAYS before ``end``; arrivals peak in office hours."""
    rng = random.Random(seed)
    start = end - timedelta(days=DAYS)
    span = (end - start).total_seconds()
    for i in range(n):
        # Two of three chats in 07:00-18:00 UTC, the rest at any time.
        day_offset = rng.randrange(DAYS) * 86400
        seconds = rng.uniform(7 * 3600, 18 * 3600) if rng.random() < 0.67 else rng.uniform(0, 86400)
        created = start + timedelta(seconds=min(day_offset + seconds, span - 1))
        resolved = created + timedelta(minutes=rng.randrange(2, 600))
        group = GROUPS[min(int(rng.expovariate(0.7)), len(GROUPS) - 1)]["id"]
        spam = rng.random() < 0.04
        history = json.dumps([[created.isoformat(), group]])
        yield (
            integration_id,
            f"conv-{i:08d}",
            created,
            created,
            resolved,
            resolved,
            "resolved",
            resolved,
            history,
            spam,
            False,
            resolved,
            UNDEFINED_QUEUE_KEY if spam else group,
            floor_interval(created),
            REASON_SPAM if spam else REASON_GROUP,
        )


def fill(integration_id: int, n: int, end: datetime) -> None:
    chat_table = Chat._meta.table_name
    stat_table = IntervalStat._meta.table_name
    placeholders = ", ".join("?" for _ in CHAT_COLUMNS)
    sql = f'INSERT INTO "{chat_table}" ({", ".join(CHAT_COLUMNS)}) VALUES ({placeholders})'
    rows = chat_rows(integration_id, n, end)
    while True:
        batch = [row for _, row in zip(range(50_000), rows, strict=False)]
        if not batch:
            break
        with db.atomic():
            db.cursor().executemany(sql, batch)
    with db.atomic():
        db.execute_sql(
            f'INSERT INTO "{stat_table}" (integration_id, queue_key, interval_start, contacts) '
            f'SELECT integration_id, queue_key, interval_start, COUNT(*) FROM "{chat_table}" '
            "WHERE integration_id = ? AND queue_key IS NOT NULL "
            "GROUP BY integration_id, queue_key, interval_start",
            (integration_id,),
        )
    db.execute_sql("ANALYZE")


def median_ms(client, url: str, repeat: int, htmx: bool = False) -> float:
    headers = {"HX-Request": "true"} if htmx else {}
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(url, headers=headers)
        response.get_data()
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def consume(client, url: str) -> tuple[int, int]:
    """Read a streamed export chunk by chunk, as a slow client would: (rows, bytes)."""
    response = client.get(url)
    assert response.status_code == 200 and response.is_streamed
    size = lines = 0
    for chunk in response.response:
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        size += len(data)
        lines += data.count(b"\n")
    response.close()
    return lines - 1, size


def export_run(client, url: str) -> tuple[float, int, int, int]:
    """(seconds, rows, bytes, peak traced bytes) of one streamed export.

    Timed on a plain run; the peak of Python allocations is taken on a second run under
    tracemalloc (which slows allocation down several times).
    """
    began = time.perf_counter()
    rows, size = consume(client, url)
    elapsed = time.perf_counter() - began
    tracemalloc.start()
    consume(client, url)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, rows, size, peak


def run(n: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "INSTANCE_PATH": Path(tmp) / "instance",
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "SECRET_KEY": "bench",
            }
        )
        now = utcnow()
        with db.connection_context():
            admin = Admin.create(username="bench", password_hash="not-used")
            integration = Integration.create(
                name="Bench",
                name_key="bench",
                domain="bench.freshchat.com",
                api_key_encrypted="x",
                api_key_last4="abcd",
                display_timezone=TZ,
            )
            refresh_groups(integration.id, GROUPS)
            began = time.perf_counter()
            fill(integration.id, n, now - timedelta(hours=1))
            fill_seconds = time.perf_counter() - began
            stat_rows = IntervalStat.select().count()
            chats = Chat.select().count()
            busiest = (
                IntervalStat.select(IntervalStat.interval_start)
                .order_by(IntervalStat.contacts.desc())
                .first()
                .interval_start
            )
        print(
            f"\n== {chats:,} chats, {stat_rows:,} interval rows (filled in {fill_seconds:.1f} s) =="
        )
        client = app.test_client()
        with client.session_transaction() as session:
            session["admin_id"] = admin.id
        base = f"/integrations/{integration.id}"
        last_week = local_today(zone(TZ), now) - timedelta(days=7)
        day = last_week.isoformat()
        busiest_iso = busiest.isoformat() + "Z" if isinstance(busiest, datetime) else busiest
        cases = [
            ("integration page (week panel)", f"{base}?span=week&date={day}", False),
            ("week panel, htmx partial", f"{base}/stats?span=week&date={day}", True),
            (
                "week panel, one queue, partial",
                f"{base}/stats?span=week&date={day}&queue=Billing",
                True,
            ),
            ("day panel, htmx partial", f"{base}/stats?span=day&date={day}", True),
            ("explain busiest interval", f"{base}/stats/explain?interval={busiest_iso}", True),
        ]
        for label, url, htmx in cases:
            print(f"  {label:<34} median {median_ms(client, url, repeat, htmx):7.1f} ms")
        today = local_today(zone(TZ), now)
        print("  CSV export (all queues), streamed:")
        for days in (7, 30, 90, 365):
            first = (today - timedelta(days=days - 1)).isoformat()
            url = f"{base}/stats/export?from={first}&to={today.isoformat()}&format=csv"
            seconds, rows, size, peak = export_run(client, url)
            print(
                f"    {days:>3} days: {rows:>9,} rows, {size / 1e6:6.2f} MB "
                f"in {seconds * 1000:7.1f} ms"
                f" ({seconds * 1e6 / max(rows, 1):5.2f} µs/row), peak Python memory "
                f"{peak / 1024:7.1f} KiB"
            )
        db.initialize(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for n in args.sizes:
        run(n, args.repeat)


if __name__ == "__main__":
    main()
