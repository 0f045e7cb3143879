"""How fast does the push endpoint take events? Run by hand: ``python bench/bench_push.py``.

Target (issue 5): at least 1,000 events/s sustained with p99 under 50 ms per request.

Honest set-up: the app is served by waitress (what ``flask serve`` uses) in a *separate
process* on a loopback port, over a fresh SQLite file, so the client's work does not share
the server's GIL. The client posts realistic envelopes (the simulator's companion-app
events of a busy account, in time order, none repeated) with ``--clients`` keep-alive
connections, first one event per request, then batches. Every request stores and applies
its events before it is answered (202), so the figures include the whole durable path.

Prints, per mode: events/s sustained over the run, requests/s, p50/p99/max latency per
request and the cost per event.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = datetime(2026, 11, 20, 12, 0)
DOMAIN = "bench.freshchat.com"
SEED = 3
TARGET_RATE = 1000.0  # events/s
TARGET_P99 = 0.050  # seconds per request


def _account(chats_per_day: int):  # type: ignore[no-untyped-def]
    from webapp.freshchat.simulator import SimAccount

    return SimAccount(DOMAIN, seed=SEED, chats_per_day=chats_per_day, history_days=6,
                      clock=lambda: NOW)  # fmt: skip


def serve(workdir: Path, threads: int) -> None:
    """Child process: build the app, one integration with a key, serve until killed."""
    from waitress.server import create_server

    from webapp import chats, create_app
    from webapp import integrations as service
    from webapp.extensions import db

    app = create_app(
        {
            "INSTANCE_PATH": workdir / "instance",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "SECRET_KEY": "bench",
            "PUSH_RATE_LIMIT_PER_MINUTE": 0,  # 0 = no limit: we measure throughput here
        }
    )
    account = _account(1)
    with db.connection_context():
        integration = service.create(
            service.IntegrationInput("Bench", DOMAIN, account.admin_key),
            app.extensions["secret_box"],
        )
        chats.refresh_groups(integration.id, [g.as_json() for g in account.live_groups])
        key = service.issue_app_key(integration).plaintext
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="bench")
    print(json.dumps({"port": server.effective_port, "key": key}), flush=True)
    server.run()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def drive(url: str, key: str, bodies: list[bytes], clients: int) -> tuple[float, list[float]]:
    """Send every body once over ``clients`` connections; (elapsed s, latencies in s)."""
    import requests

    latencies: list[float] = []
    lock = threading.Lock()
    position = [0]
    failures: list[str] = []

    def worker() -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        mine: list[float] = []
        while True:
            with lock:
                index = position[0]
                position[0] += 1
            if index >= len(bodies):
                break
            started = time.perf_counter()
            response = session.post(url, data=bodies[index], headers=headers, timeout=30)
            mine.append(time.perf_counter() - started)
            if response.status_code != 202:
                failures.append(f"{response.status_code} {response.text[:200]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, first: {failures[0]}")
    return elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=3000, help="events sent one per request")
    parser.add_argument("--batched", type=int, default=20000, help="events sent in batches")
    parser.add_argument("--batch", type=int, nargs="*", default=[10, 100], help="batch sizes")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve), args.threads)
        return

    needed = args.singles + args.batched * len(args.batch)
    # ~2.4 events per chat over six days of history, with a margin.
    account = _account(max(100, needed // 12))
    t0 = time.perf_counter()
    envelopes = account.push_envelopes(NOW - timedelta(days=8), NOW)
    if len(envelopes) < needed:
        raise SystemExit(f"only {len(envelopes)} envelopes generated, {needed} needed")
    print(f"generated {len(envelopes)} envelopes in {time.perf_counter() - t0:.1f} s")

    with tempfile.TemporaryDirectory() as workdir:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", workdir, "--threads", str(args.threads)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert child.stdout is not None
            info = json.loads(child.stdout.readline())
            url = f"http://127.0.0.1:{info['port']}/api/v1/freshchat/events"
            print(
                f"server: waitress, {args.threads} threads, own process; "
                f"client: {args.clients} connections; SQLite WAL file; "
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
            )
            print(
                f"{'mode':<12}{'events':>8}{'requests':>10}{'events/s':>11}{'req/s':>9}"
                f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'µs/event':>10}"
            )
            cursor = 0
            plans = [("single", 1, args.singles)] + [
                (f"batch {size}", size, args.batched) for size in args.batch
            ]
            for label, size, total in plans:
                chunk = envelopes[cursor : cursor + total]
                cursor += total
                bodies = [
                    json.dumps(chunk[i] if size == 1 else chunk[i : i + size]).encode()
                    for i in range(0, len(chunk), size)
                ]
                elapsed, latencies = drive(url, info["key"], bodies, args.clients)
                rate = len(chunk) / elapsed
                p99 = percentile(latencies, 0.99)
                verdict = "meets" if rate >= TARGET_RATE and p99 < TARGET_P99 else "misses"
                print(
                    f"{label:<12}{len(chunk):>8}{len(bodies):>10}{rate:>11.0f}"
                    f"{len(bodies) / elapsed:>9.0f}"
                    f"{statistics.median(latencies) * 1000:>9.1f}"
                    f"{p99 * 1000:>9.1f}"
                    f"{max(latencies) * 1000:>9.1f}"
                    f"{elapsed / len(chunk) * 1e6:>10.0f}  {verdict} target"
                )
        finally:
            child.terminate()
            child.wait(timeout=10)


if __name__ == "__main__":
    main()
