"""How fast does the push endpoint take events? Run by hand: ``python bench/bench_push.py``.

Targets: issue 5, at least 1,000 events/s with p99 under 50 ms per request (SQLite); issue
12, on PostgreSQL with 4 processes at least 2,000 single-event requests/s with p99 under
50 ms, and SQLite as before or better. Run with ``--rate-limit 1000000`` for the shared
limit on (far above the load: every request is checked and counted, none refused).

Honest set-up: the app is served by waitress (what ``flask serve`` uses) in ``--processes``
*separate processes*, each on its own loopback port, over one fresh database: a SQLite
file, or with ``--engine postgresql`` a new database on the server ``BENCH_DATABASE_URL``
(else ``TEST_DATABASE_URL``) names, e.g. under ``.ci/with-postgres``. The load generator
(``push_load``) runs in ``--client-workers`` processes with ``--clients`` keep-alive
connections in all, spread round-robin over the ports (what a reverse proxy balancing
per connection does), and posts realistic envelopes (the simulator's companion-app events
of a busy account, in time order, none repeated): a warm-up, then one event per request,
then batches. Every request stores and applies its events before it is answered (202),
and a request counts only if it was answered 202 with every event it carried stored.

Prints, per mode: events/s and requests/s over the run, p50/p99/max latency per request,
and the CPU time per request (read from the OS) of the app's processes, of the PostgreSQL
server's processes, and of the load generator: on a small machine all three share the
CPUs, and these columns tell which side a figure is limited by.

``--profile N`` instead profiles N requests in-process (Flask test client, cProfile on
CPU time) and prints the top costs; ``--profile-batch`` sets the events per request.
``BENCH_PROFILE_SERVER=FILE`` with ``--threads 1`` writes a cProfile of what one served
process spent on its requests when the run ends.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from push_load import drive

NOW = datetime(2026, 11, 20, 12, 0)
DOMAIN = "bench.freshchat.com"
SEED = 3
EVENTS_PATH = "/api/v1/freshchat/events"


def _account(chats_per_day: int):  # type: ignore[no-untyped-def]
    from webapp.freshchat.simulator import SimAccount

    return SimAccount(DOMAIN, seed=SEED, chats_per_day=chats_per_day, history_days=6,
                      clock=lambda: NOW)  # fmt: skip


def database_for(engine: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    """A fresh, empty database for one run: a SQLite file in ``workdir``, or a new database
    on the PostgreSQL server ``BENCH_DATABASE_URL`` (else ``TEST_DATABASE_URL``, which
    ``.ci/with-postgres`` sets) names; and how to drop it afterwards."""
    if engine == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    import psycopg

    server = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or ""
    if not server.startswith(("postgres://", "postgresql://")):
        raise SystemExit("--engine postgresql needs BENCH_DATABASE_URL or TEST_DATABASE_URL")
    name = f"bench_push_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(urlsplit(server)._replace(path=f"/{name}")), drop


def _make_app(workdir: Path, database_url: str):  # type: ignore[no-untyped-def]
    from webapp import create_app

    return create_app(
        {
            "INSTANCE_PATH": workdir / "instance",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench",
            # 0 = no limit; ``--rate-limit`` sets one far above the load, to measure what
            # checking it costs per request (it is shared: one row per key in the database).
            "PUSH_RATE_LIMIT_PER_MINUTE": int(os.environ.get("BENCH_RATE_LIMIT", "0")),
        }
    )


def _app_with_key(workdir: Path, database_url: str, account):  # type: ignore[no-untyped-def]
    """A fresh app and database with one integration, its groups and a companion key."""
    from webapp import chats
    from webapp import integrations as service
    from webapp.extensions import db

    app = _make_app(workdir, database_url)
    with db.connection_context():
        integration = service.create(
            service.IntegrationInput("Bench", DOMAIN, account.admin_key),
            app.extensions["secret_box"],
        )
        chats.refresh_groups(integration.id, [g.as_json() for g in account.live_groups])
        key = service.issue_app_key(integration).plaintext
    return app, key


def serve(workdir: Path, database_url: str, threads: int) -> None:
    """Child process: open the prepared database, serve until killed (one of N)."""
    from waitress.server import create_server

    app = _make_app(workdir, database_url)
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="bench")
    print(json.dumps({"port": server.effective_port}), flush=True)
    profile_to = os.environ.get("BENCH_PROFILE_SERVER")
    if profile_to:
        _profile_until_terminated(server, app, Path(profile_to))
    server.run()


def _profile_until_terminated(server, app, path: Path) -> None:  # type: ignore[no-untyped-def]
    """cProfile every request the app serves (run with one waitress thread: a profiler
    follows one thread); the stats go to ``path`` when the process is terminated."""
    import cProfile
    import signal

    profiler = cProfile.Profile()
    inner = server.application

    def profiled(environ, start_response):  # type: ignore[no-untyped-def]
        profiler.enable()
        try:
            return list(inner(environ, start_response))
        finally:
            profiler.disable()

    def dump(_signum: int, _frame: object) -> None:
        profiler.dump_stats(str(path))
        raise SystemExit(0)

    server.application = profiled
    signal.signal(signal.SIGTERM, dump)


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


class DatabaseCpu:
    """CPU time of the PostgreSQL server's processes (backends of this database and the
    cluster's background processes), read from /proc: on one box it competes with the
    app's. None for SQLite, which runs inside the app's processes."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url if database_url.startswith("postgres") else ""

    def _pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " OR datname IS NULL"
            ).fetchall()
            mine = connection.execute("SELECT pg_backend_pid()").fetchone()
        return [pid for (pid,) in rows if mine is None or pid != mine[0]]

    def snapshot(self) -> dict[int, float]:
        if not self.url:
            return {}
        return {pid: cpu for pid in self._pids() if (cpu := cpu_seconds(pid)) is not None}

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        # A backend born during the run started at 0 s.
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _bodies(chunk: list[dict], size: int) -> list[tuple[bytes, int]]:  # type: ignore[type-arg]
    return [
        (
            json.dumps(chunk[i] if size == 1 else chunk[i : i + size]).encode(),
            min(size, len(chunk) - i),
        )
        for i in range(0, len(chunk), size)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=3000, help="events sent one per request")
    parser.add_argument("--batched", type=int, default=20000, help="events sent in batches")
    parser.add_argument("--batch", type=int, nargs="*", default=[10, 100], help="batch sizes")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="server processes (one port each)")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive connections in all")
    parser.add_argument("--client-workers", type=int, default=2, help="load generator processes")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads per process")
    parser.add_argument("--warmup", type=int, default=300, help="single-event requests first")
    parser.add_argument("--profile", type=int, default=0, help="profile N requests in-process")
    parser.add_argument("--profile-batch", type=int, default=1, help="events per profiled request")
    parser.add_argument("--rate-limit", type=int, default=0, help="push limit per key (0: off)")
    parser.add_argument(
        "--limit-cost", type=int, default=0, help="time N checks of the shared push limit alone"
    )
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_RATE_LIMIT"] = str(args.rate_limit)
    if args.serve:
        serve(Path(args.serve[0]), args.serve[1], args.threads)
        return
    if args.profile:
        profile(args.engine, args.profile, args.profile_batch)
        return
    if args.limit_cost:
        limit_cost(args.limit_cost)
        return

    needed = args.warmup + args.singles + args.batched * len(args.batch)
    # ~2.4 events per chat over six days of history, with a margin.
    account = _account(max(100, needed // 12))
    t0 = time.perf_counter()
    envelopes = account.push_envelopes(NOW - timedelta(days=8), NOW)
    if len(envelopes) < needed:
        raise SystemExit(f"only {len(envelopes)} envelopes generated, {needed} needed")
    print(f"generated {len(envelopes)} envelopes in {time.perf_counter() - t0:.1f} s")

    with tempfile.TemporaryDirectory() as workdir:
        database_url, drop = database_for(args.engine, Path(workdir))
        children: list[subprocess.Popen] = []  # type: ignore[type-arg]
        try:
            app, key = _app_with_key(Path(workdir), database_url, account)
            from webapp.extensions import db

            db.close_all() if hasattr(db.obj, "close_all") else db.close()
            del app
            for _ in range(args.processes):
                children.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            __file__,
                            "--serve",
                            workdir,
                            database_url,
                            "--threads",
                            str(args.threads),
                            "--rate-limit",
                            str(args.rate_limit),
                        ],
                        stdout=subprocess.PIPE,
                        text=True,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    )
                )
            ports = []
            for child in children:
                assert child.stdout is not None
                ports.append(json.loads(child.stdout.readline())["port"])
            run(args, envelopes, ports, key, [c.pid for c in children], database_url)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(timeout=10)
            drop()


def run(args, envelopes, ports, key, server_pids, database_url) -> None:  # type: ignore[no-untyped-def]
    """Warm up, then each mode once; one line of figures per mode."""
    database_cpu = DatabaseCpu(database_url)
    engine = "PostgreSQL" if database_cpu.url else "SQLite WAL file"
    print(
        f"server: waitress, {args.processes} process(es) x {args.threads} threads, one port "
        f"each; client: {args.clients} keep-alive connections from {args.client_workers} "
        f"process(es), round-robin over the ports; {engine}; shared push limit "
        f"{'off' if args.rate_limit <= 0 else f'{args.rate_limit}/min per key'}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )
    cursor = args.warmup
    drive(
        ports, EVENTS_PATH, key, _bodies(envelopes[:cursor], 1), args.clients, args.client_workers
    )
    print(
        f"{'mode':<10}{'events':>7}{'requests':>9}{'events/s':>9}{'req/s':>7}"
        f"{'p50 ms':>7}{'p99 ms':>7}{'max ms':>7}"
        f"{'app CPU':>9}{'db CPU':>8}{'load CPU':>9}   (CPU in µs per request)"
    )
    plans = [("single", 1, args.singles)] + [
        (f"batch {size}", size, args.batched) for size in args.batch
    ]
    for label, size, total in plans:
        if total <= 0:
            continue
        chunk = envelopes[cursor : cursor + total]
        cursor += total
        bodies = _bodies(chunk, size)
        servers_before = [cpu_seconds(pid) or 0.0 for pid in server_pids]
        database_before = database_cpu.snapshot()
        load = drive(ports, EVENTS_PATH, key, bodies, args.clients, args.client_workers)
        server_cpu = sum(cpu_seconds(pid) or 0.0 for pid in server_pids) - sum(servers_before)
        database_after = database_cpu.snapshot()
        per_request = 1e6 / len(bodies)
        db_cpu = (
            f"{DatabaseCpu.spent(database_before, database_after) * per_request:>8.0f}"
            if database_cpu.url
            else f"{'-':>8}"
        )
        p99 = percentile(load.latencies, 0.99)
        print(
            f"{label:<10}{len(chunk):>7}{len(bodies):>9}{len(chunk) / load.elapsed:>9.0f}"
            f"{len(bodies) / load.elapsed:>7.0f}"
            f"{statistics.median(load.latencies) * 1000:>7.1f}{p99 * 1000:>7.1f}"
            f"{max(load.latencies) * 1000:>7.1f}"
            f"{server_cpu * per_request:>9.0f}{db_cpu}{load.client_cpu * per_request:>9.0f}"
        )


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


def profile(engine: str, requests_count: int, batch: int) -> None:
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
        database_url, drop = database_for(engine, Path(workdir))
        app, key = _app_with_key(Path(workdir), database_url, account)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def post(body: bytes) -> None:
            response = client.post("/api/v1/freshchat/events", data=body, headers=headers)
            if response.status_code != 202:
                raise SystemExit(f"{response.status_code} {response.get_data(as_text=True)}")

        for body in bodies[:warmup]:
            post(body)
        started, cpu = time.perf_counter(), time.process_time()
        for body in bodies[warmup : warmup + requests_count // 2]:
            post(body)
        plain = (time.perf_counter() - started) / (requests_count // 2)
        plain_cpu = (time.process_time() - cpu) / (requests_count // 2)
        # CPU time, not wall: on a shared box waiting for the database would drown the rest.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for body in bodies[warmup + requests_count // 2 :]:
            post(body)
        profiler.disable()
        from webapp.extensions import db

        db.close_all() if hasattr(db.obj, "close_all") else db.close()
        drop()
    print(
        f"{batch} event(s) per request, test client, no profiler: {plain * 1e6:.0f} µs/request "
        f"({plain / batch * 1e6:.0f} µs/event), of which {plain_cpu * 1e6:.0f} µs of this "
        f"process's CPU; profile of {requests_count - requests_count // 2} requests:"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(r"webapp|peewee.py:.*(commit|execute)", 30)
    stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
