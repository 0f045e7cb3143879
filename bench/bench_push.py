"""How fast does the push endpoint take events? Run by hand: ``python bench/bench_push.py``.

Target (issue 5): at least 1,000 events/s sustained with p99 under 50 ms per request.

Honest set-up: the app is served by waitress (what ``flask serve`` uses) in a *separate
process* on a loopback port, over a fresh SQLite file, so the client's work does not share
the server's GIL. The client posts realistic envelopes (the simulator's companion-app
events of a busy account, in time order, none repeated) with ``--clients`` keep-alive
connections (``http.client``: ``requests`` spent ~0.6 ms of CPU per request, more than half
the server's own cost for a single event, and on a 2-CPU machine that CPU was taken from
the server), first one event per request, then batches. Every request stores and applies
its events before it is answered (202), so the figures include the whole durable path.

Prints, per mode: events/s sustained over the run, requests/s, p50/p99/max latency per
request, the wall time per event, and the CPU time per event of the server process and of
this client process (read from the OS): on a small machine the client's CPU competes with
the server's, and these two columns tell which side a figure is limited by.

``--profile N`` instead profiles N single-event requests in-process (Flask test client,
cProfile) and prints the top costs; ``--profile-batch`` sets the events per request.
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


def _app_with_key(workdir: Path, account):  # type: ignore[no-untyped-def]
    """A fresh app and database with one integration, its groups and a companion key."""
    from webapp import chats, create_app
    from webapp import integrations as service
    from webapp.extensions import db

    app = create_app(
        {
            "INSTANCE_PATH": workdir / "instance",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "SECRET_KEY": "bench",
            # 0 = no limit (default: we measure throughput); ``--rate-limit`` sets one far
            # above the load, to measure what checking it costs per request.
            "PUSH_RATE_LIMIT_PER_MINUTE": int(os.environ.get("BENCH_RATE_LIMIT", "0")),
        }
    )
    with db.connection_context():
        integration = service.create(
            service.IntegrationInput("Bench", DOMAIN, account.admin_key),
            app.extensions["secret_box"],
        )
        chats.refresh_groups(integration.id, [g.as_json() for g in account.live_groups])
        key = service.issue_app_key(integration).plaintext
    return app, key


def serve(workdir: Path, threads: int) -> None:
    """Child process: build the app, one integration with a key, serve until killed."""
    from waitress.server import create_server

    app, key = _app_with_key(workdir, _account(1))
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="bench")
    print(json.dumps({"port": server.effective_port, "key": key}), flush=True)
    server.run()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def drive(url: str, key: str, bodies: list[bytes], clients: int) -> tuple[float, list[float]]:
    """Send every body once over ``clients`` connections; (elapsed s, latencies in s)."""
    import http.client
    from urllib.parse import urlsplit

    target = urlsplit(url)
    latencies: list[float] = []
    lock = threading.Lock()
    position = [0]
    failures: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        mine: list[float] = []
        while True:
            with lock:
                index = position[0]
                position[0] += 1
            if index >= len(bodies):
                break
            started = time.perf_counter()
            connection.request("POST", target.path, body=bodies[index], headers=headers)
            response = connection.getresponse()
            text = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 202:
                failures.append(f"{response.status} {text[:200]!r}")
        connection.close()
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
    parser.add_argument("--profile", type=int, default=0, help="profile N requests in-process")
    parser.add_argument("--profile-batch", type=int, default=1, help="events per profiled request")
    parser.add_argument("--rate-limit", type=int, default=0, help="push limit per key (0: off)")
    parser.add_argument(
        "--limit-cost", type=int, default=0, help="time N checks of the shared push limit alone"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_RATE_LIMIT"] = str(args.rate_limit)
    if args.serve:
        serve(Path(args.serve), args.threads)
        return
    if args.profile:
        profile(args.profile, args.profile_batch)
        return
    if args.limit_cost:
        limit_cost(args.limit_cost)
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
                f"{'server CPU':>12}{'client CPU':>12}"
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
                server_before, client_before = cpu_seconds(child.pid), time.process_time()
                elapsed, latencies = drive(url, info["key"], bodies, args.clients)
                server_after, client_cpu = cpu_seconds(child.pid), time.process_time()
                client_cpu -= client_before
                server_cpu = (
                    f"{(server_after - server_before) / len(chunk) * 1e6:>12.0f}"
                    if server_after is not None and server_before is not None
                    else f"{'?':>12}"
                )
                rate = len(chunk) / elapsed
                p99 = percentile(latencies, 0.99)
                verdict = "meets" if rate >= TARGET_RATE and p99 < TARGET_P99 else "misses"
                print(
                    f"{label:<12}{len(chunk):>8}{len(bodies):>10}{rate:>11.0f}"
                    f"{len(bodies) / elapsed:>9.0f}"
                    f"{statistics.median(latencies) * 1000:>9.1f}"
                    f"{p99 * 1000:>9.1f}"
                    f"{max(latencies) * 1000:>9.1f}"
                    f"{elapsed / len(chunk) * 1e6:>10.0f}"
                    f"{server_cpu}{client_cpu / len(chunk) * 1e6:>12.0f}  {verdict} target"
                )
        finally:
            child.terminate()
            child.wait(timeout=10)


def limit_cost(checks: int) -> None:
    """What the push path's shared rate limit costs per request: ``checks`` allowed checks
    (one upsert each) on the database ``BENCH_DATABASE_URL`` names (default: a fresh
    SQLite file), best of five rounds, wall and CPU time of this process."""
    from webapp.database import open_database
    from webapp.extensions import db
    from webapp.rate_limit import SCOPE_PUSH, SharedLimit

    with tempfile.TemporaryDirectory() as workdir:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir}/limit.db"
        open_database(url)
        limit = SharedLimit(SCOPE_PUSH, 10**9)  # far above the load: every check passes
        best_wall = best_cpu = float("inf")
        with db.connection_context():
            for _round in range(5):
                wall, cpu = time.perf_counter(), time.process_time()
                for n in range(checks):
                    assert limit.check(f"key{n % 4}") is None
                best_wall = min(best_wall, (time.perf_counter() - wall) / checks)
                best_cpu = min(best_cpu, (time.process_time() - cpu) / checks)
        engine = url.split(":", 1)[0]
        print(
            f"{engine}: one shared-limit check {best_wall * 1e6:.0f} µs wall, "
            f"{best_cpu * 1e6:.0f} µs CPU (best of 5 rounds of {checks})"
        )


def profile(requests_count: int, batch: int) -> None:
    """cProfile of the endpoint in-process: where a request's time goes, server side only."""
    import cProfile
    import pstats

    warmup = 50
    account = _account(max(100, (requests_count + warmup) * batch // 12 + 100))
    envelopes = account.push_envelopes(NOW - timedelta(days=8), NOW)
    total = (requests_count + warmup) * batch
    if len(envelopes) < total:
        raise SystemExit(f"only {len(envelopes)} envelopes generated, {total} needed")
    bodies = [
        json.dumps(envelopes[i] if batch == 1 else envelopes[i : i + batch]).encode()
        for i in range(0, total, batch)
    ]
    with tempfile.TemporaryDirectory() as workdir:
        app, key = _app_with_key(Path(workdir), account)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def post(body: bytes) -> None:
            response = client.post("/api/v1/freshchat/events", data=body, headers=headers)
            if response.status_code != 202:
                raise SystemExit(f"{response.status_code} {response.get_data(as_text=True)}")

        for body in bodies[:warmup]:
            post(body)
        started = time.perf_counter()
        for body in bodies[warmup : warmup + requests_count // 2]:
            post(body)
        plain = (time.perf_counter() - started) / (requests_count // 2)
        profiler = cProfile.Profile()
        profiler.enable()
        for body in bodies[warmup + requests_count // 2 :]:
            post(body)
        profiler.disable()
    print(
        f"{batch} event(s) per request, test client, no profiler: {plain * 1e6:.0f} µs/request "
        f"({plain / batch * 1e6:.0f} µs/event); profile of {requests_count - requests_count // 2}"
        " requests:"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(r"webapp|peewee.py:.*(commit|execute)", 30)
    stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
