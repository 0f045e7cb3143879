"""A whole pull sync against a local fake Freshchat. Run by hand: ``python bench/bench_sync.py``.

The product promises three things about the pull sync, and this prints each one per size:

* **API calls**: Extract jobs cost a handful of calls per 28-day window whatever the number
  of chats, so calls per 1,000 chats must fall as chats grow and stay at least 100 times below
  "one call per conversation" (what walking users → conversations would cost, at best);
* **speed**: 1M chats in under 10 minutes on this machine;
* **memory**: peak RSS flat as the number of chats grows.

Each size runs in a fresh interpreter, so its peak RSS (``ru_maxrss``) is its own. By default
the simulated Freshchat runs in a second process, as the real one runs on Freshworks'
servers: the app's process then holds only the app, and the time the simulator spends
generating and zipping CSV is reported separately (its CPU seconds). ``--same-process``
serves it from a thread of the app's process instead (both then share one GIL, and the
peak RSS includes the simulator's day cache).

The time is split by step. "download" is mostly the simulator generating and zipping the
file while it streams it (a real Freshchat prepares files while the job is PENDING, so
there it is network time); "check" is the first read of each file, which lets a damaged
file, a header lacking a needed column or a file of mostly bad rows be refused before any
of the window is applied.

Every run then makes the scheduled sync that follows (15 minutes later: it re-reads the
overlap and must change nothing) and ends with a correctness check: the contacts stored
per (queue, interval) must equal ``SimAccount.expected_contacts``, the oracle written
from PRODUCT.md.

    python bench/bench_sync.py                      # 10k, 100k and 1M
    python bench/bench_sync.py --sizes 10k,100k     # some of them
    python bench/bench_sync.py --sizes 100k --profile /tmp/sync.prof
    python bench/bench_sync.py --sizes 10k --dialect real   # the real-account export shapes
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from webapp import chats, integrations, pull_window
from webapp.clients import client_factory_for
from webapp.database import open_database
from webapp.freshchat.client import FreshchatClient
from webapp.freshchat.simulator import FreshchatSimulator, SimAccount, serve_in_thread
from webapp.models import Chat, IntervalStat
from webapp.security import SecretBox
from webapp.sync import EXTRACT_EVENTS, MAX_WINDOW, run_sync

# A Monday, midnight UTC: with a UTC account and history_days == backfill days, the
# backfill window [NOW - 30 days, NOW) holds every chat the account has, so the stored
# totals must equal the oracle's exactly (no chat straddles the window's start).
NOW = datetime(2026, 3, 2)
BACKFILL_DAYS = 30
DOMAIN = "bench.freshchat.com"
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
RESULT_PREFIX = "RESULT "
NEXT_SYNC = timedelta(minutes=15)  # the default schedule


def parse_size(text: str) -> int:
    text = text.strip()
    if text in SIZES:
        return SIZES[text]
    lowered = text.lower()
    factor = 1
    if lowered.endswith("k"):
        factor, lowered = 1_000, lowered[:-1]
    elif lowered.endswith("m"):
        factor, lowered = 1_000_000, lowered[:-1]
    return int(float(lowered) * factor)


def label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_account(chats: int, seed: int) -> SimAccount:
    """A frozen account whose backfill window holds about ``chats`` chats."""
    return SimAccount(
        DOMAIN,
        seed=seed,
        chats_per_day=math.ceil(chats / BACKFILL_DAYS),
        timezone="UTC",
        history_days=BACKFILL_DAYS,
        clock=lambda: NOW,
    )


class TimedSimulator:
    """WSGI wrapper adding up the CPU time the simulator's request threads use.

    ``thread_time`` counts only the serving thread's own CPU, including generating and
    zipping the body while it streams, and not the time it waits on the socket.
    """

    def __init__(self, sim: FreshchatSimulator) -> None:
        self.sim = sim
        self.cpu = 0.0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        began = time.thread_time()
        body = self.sim(environ, start_response)
        return self._stream(body, began)

    def _stream(self, body: Any, began: float) -> Iterator[bytes]:
        try:
            for chunk in body:
                paused = time.thread_time()
                yield chunk
                began += time.thread_time() - paused
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            with self._lock:
                self.cpu += time.thread_time() - began

    def stats(self) -> dict[str, Any]:
        log = list(self.sim.request_log)
        return {
            "requests": len(log),
            "by_kind": dict(Counter(_request_kind(method, path) for method, path, _ in log)),
            "errors": sum(1 for _m, _p, status in log if status >= 400),
            "cpu": self.cpu,
            "peak_rss_mib": peak_rss_mib(),
        }


def _request_kind(method: str, path: str) -> str:
    if "/download/" in path:
        return "download"
    if path.endswith("/groups"):
        return "groups"
    if path.endswith("/reports/raw"):
        return "extract request"
    if "/reports/raw/" in path:
        return "extract poll"
    return f"{method} other"


def _serve_sim_process(chats: int, seed: int, conn: Any, dialect: str = "classic") -> None:
    """Child process: serve the simulator, answer "stats", stop on "stop"."""
    timed = TimedSimulator(FreshchatSimulator([make_account(chats, seed)], dialect=dialect))
    server = serve_in_thread(timed)  # type: ignore[arg-type]
    conn.send(server.api_url_template)
    try:
        while True:
            command = conn.recv()
            if command == "stats":
                conn.send(timed.stats())
            else:
                break
    finally:
        server.shutdown()


class SimHandle:
    """The simulator, served either in another process (default) or in this one."""

    def __init__(self, chats: int, seed: int, same_process: bool, dialect: str = "classic") -> None:
        self._process: Any = None
        if same_process:
            self._timed = TimedSimulator(
                FreshchatSimulator([make_account(chats, seed)], dialect=dialect)
            )
            self._server = serve_in_thread(self._timed)  # type: ignore[arg-type]
            self.api_url_template = self._server.api_url_template
            return
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_sim_process, args=(chats, seed, child, dialect), daemon=True
        )
        self._process.start()
        self.api_url_template = self._conn.recv()

    def stats(self) -> dict[str, Any]:
        if self._process is None:
            return self._timed.stats()
        self._conn.send("stats")
        return self._conn.recv()

    def close(self) -> None:
        if self._process is None:
            self._server.shutdown()
            return
        self._conn.send("stop")
        self._process.join(timeout=10)


class Phases:
    """Wall and CPU time of the sync's steps, by wrapping the functions it calls.

    Parsing is lazy (the funnel pulls changes from the CSV stream), so the time spent
    inside the change iterator is measured apart and taken out of "apply".
    """

    def __init__(self) -> None:
        self.wall: Counter[str] = Counter()
        self.cpu: Counter[str] = Counter()

    def add(self, name: str, wall0: float, cpu0: float) -> None:
        self.wall[name] += time.perf_counter() - wall0
        self.cpu[name] += time.thread_time() - cpu0

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(name, wall0, cpu0)

        return timed

    def wrap_iterator(self, name: str, func: Callable[..., Iterator[Any]]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            iterator = func(*args, **kwargs)
            while True:
                wall0, cpu0 = time.perf_counter(), time.thread_time()
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    self.add(name, wall0, cpu0)
                yield item

        return timed

    def install(self) -> None:
        """Wrap what the sync calls per report file (names as ``pull_window`` uses them)."""
        FreshchatClient.download_to = self.wrap("download", FreshchatClient.download_to)  # type: ignore[method-assign]
        pull_window.check_extract = self.wrap("check", pull_window.check_extract)
        pull_window.iter_extract_chunks = self.wrap_iterator(
            "parse", pull_window.iter_extract_chunks
        )
        pull_window.apply_chunk_streams = self.wrap("apply", pull_window.apply_chunk_streams)

    def breakdown(self, wall: float, cpu: float) -> dict[str, tuple[float, float]]:
        steps = {
            "download (waits for the simulator)": ("download",),
            "check (1st read: header, bad-row share)": ("check",),
            "CSV -> changes (2nd read)": ("parse",),
            "funnel (merge, count, SQLite)": ("apply",),
        }
        out = {}
        for label_, names in steps.items():
            out[label_] = (sum(self.wall[n] for n in names), sum(self.cpu[n] for n in names))
        apply_wall, apply_cpu = out["funnel (merge, count, SQLite)"]
        out["funnel (merge, count, SQLite)"] = (
            apply_wall - self.wall["parse"],
            apply_cpu - self.cpu["parse"],
        )
        out["other (jobs, polls, groups, progress)"] = (
            wall - sum(w for w, _c in out.values()),
            cpu - sum(c for _w, c in out.values()),
        )
        return out


def stored_contacts(integration_id: int) -> dict[tuple[str, datetime], int]:
    names = chats.queue_names(integration_id)
    query = IntervalStat.select(
        IntervalStat.queue_key, IntervalStat.interval_start, IntervalStat.contacts
    ).where(IntervalStat.integration == integration_id)
    return {
        (names.get(queue_key, queue_key), interval): contacts
        for queue_key, interval, contacts in query.tuples()
    }


def run_one(chats_wanted: int, args: argparse.Namespace) -> dict[str, Any]:
    """One size, in this (fresh) interpreter; prints a report and returns the figures."""
    rss_start = peak_rss_mib()
    sim = SimHandle(chats_wanted, args.seed, args.same_process, args.dialect)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            database = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
            database.connect(reuse_if_open=True)
            box = SecretBox(Fernet.generate_key().decode())
            account = make_account(chats_wanted, args.seed)
            integration = integrations.create(
                integrations.IntegrationInput(
                    name="Bench",
                    domain=DOMAIN,
                    api_key=account.admin_key,
                    backfill_days=BACKFILL_DAYS,
                ),
                box,
            )
            factory = client_factory_for(
                {"FRESHCHAT_API_URL": sim.api_url_template, "FRESHCHAT_TIMEOUT_SECONDS": 120},
                box,
            )
            phases = Phases()
            phases.install()
            profiler = cProfile.Profile() if args.profile else None
            wall0, cpu0, thread0 = time.perf_counter(), cpu_seconds(), time.thread_time()
            if profiler:
                profiler.enable()
            outcome = run_sync(integration.id, factory, trigger="cli", now=NOW, poll_interval=0.0)
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
            wall = time.perf_counter() - wall0
            app_thread_cpu = time.thread_time() - thread0
            process_cpu = cpu_seconds() - cpu0
            rss_peak = peak_rss_mib()  # before the oracle below adds its own objects
            sim_stats = sim.stats()
            steps = phases.breakdown(wall, app_thread_cpu)

            # The scheduled sync that follows: re-reads the overlap, must change nothing.
            next0 = time.perf_counter()
            following = run_sync(
                integration.id, factory, trigger="schedule", now=NOW + NEXT_SYNC, poll_interval=0.0
            )
            next_wall = time.perf_counter() - next0

            run = outcome.run
            stored = Chat.select().where(Chat.integration == integration.id).count()
            got = stored_contacts(integration.id)
            check0 = time.perf_counter()
            expected = account.expected_contacts(NOW - timedelta(days=BACKFILL_DAYS), NOW)
            created = sum(1 for _ in account.iter_chats(NOW - timedelta(days=60), NOW))
            check_time = time.perf_counter() - check0
            database.close()
    finally:
        sim.close()

    mismatched = sorted(
        key for key in expected.keys() | got.keys() if expected.get(key, 0) != got.get(key, 0)
    )
    figures = {
        "size": chats_wanted,
        "ok": outcome.ok,
        "message": outcome.message,
        "chats_in_account": created,
        "chats_stored": stored,
        "contacts_stored": sum(got.values()),
        "contacts_expected": sum(expected.values()),
        "cells_mismatched": len(mismatched),
        "api_calls": run.api_calls,
        "sim_requests": sim_stats["requests"],
        "sim_by_kind": sim_stats["by_kind"],
        "sim_errors": sim_stats["errors"],
        "wall": wall,
        "app_thread_cpu": app_thread_cpu,
        "process_cpu": process_cpu,
        "sim_cpu": sim_stats["cpu"],
        "sim_peak_rss_mib": sim_stats["peak_rss_mib"],
        "peak_rss_mib": rss_peak,
        "rss_at_start_mib": rss_start,
        "same_process": args.same_process,
        "dialect": args.dialect,
        "phases": steps,
        "next_ok": following.ok,
        "next_calls": following.run.api_calls,
        "next_wall": next_wall,
        "next_contacts_changed": following.run.contacts_changed,
        "load_average": os.getloadavg(),
    }
    print_one(figures, mismatched[:5], check_time)
    return figures


def print_one(f: dict[str, Any], examples: list[Any], check_time: float) -> None:
    n = f["chats_stored"]
    calls = f["api_calls"]
    where = "a thread of this process" if f["same_process"] else "its own process"
    print(f"--- {label(f['size'])} chats (simulator in {where})")
    print(f"sync:      {'ok' if f['ok'] else 'FAILED'}: {f['message']}")
    print(
        f"chats:     {n} stored ({f['chats_in_account']} in the account, all created in the "
        f"{BACKFILL_DAYS}-day backfill)"
    )
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(f["sim_by_kind"].items()))
    print(
        f"API calls: {calls} counted by the sync run, {f['sim_requests']} seen by the "
        f"simulator ({kinds}; {f['sim_errors']} errors)"
    )
    print(
        f"           {calls / n * 1000:.3f} calls per 1,000 chats; one call per conversation "
        f"would be {n} calls: {n / calls:,.0f}x fewer"
    )
    print(
        f"time:      {f['wall']:.1f} s wall, {n / f['wall']:,.0f} chats/s; CPU: app thread "
        f"{f['app_thread_cpu']:.1f} s, simulator {f['sim_cpu']:.1f} s"
    )
    for name, (step_wall, step_cpu) in f["phases"].items():
        print(f"           {name:<38} {step_wall:7.1f} s wall {step_cpu:7.1f} s CPU")
    if f["same_process"]:
        app_only = max(f["wall"] - f["sim_cpu"], 1e-9)
        print(
            f"           without the simulator's share (one GIL): ~{app_only:.1f} s, "
            f"~{n / app_only:,.0f} chats/s"
        )
    print(
        f"memory:    peak RSS {f['peak_rss_mib']:.0f} MiB (this process; "
        f"{f['rss_at_start_mib']:.0f} MiB after imports)"
        + ("" if f["same_process"] else f", simulator process {f['sim_peak_rss_mib']:.0f} MiB")
    )
    print(
        f"next sync: {'ok' if f['next_ok'] else 'FAILED'}, {NEXT_SYNC.seconds // 60} min later "
        f"(re-reads the overlap): {f['next_calls']} calls, {f['next_wall']:.1f} s, "
        f"{f['next_contacts_changed']} contacts changed"
    )
    load = ", ".join(f"{value:.1f}" for value in f["load_average"])
    print(f"machine:   {os.cpu_count()} cores, load average at the end {load}")
    verdict = "OK" if f["cells_mismatched"] == 0 else "MISMATCH"
    print(
        f"check:     {verdict}: {f['contacts_stored']} contacts stored, "
        f"{f['contacts_expected']} expected by the oracle, {f['cells_mismatched']} "
        f"(queue, interval) cells differ ({check_time:.1f} s to check)"
    )
    for key in examples:
        print(f"           differs: {key}")
    sys.stdout.flush()


def print_summary(results: list[dict[str, Any]]) -> None:
    windows = math.ceil(BACKFILL_DAYS / MAX_WINDOW.days)
    print()
    print(
        f"Summary ({BACKFILL_DAYS}-day backfill = {windows} Extract windows x "
        f"{len(EXTRACT_EVENTS)} events; targets: >=100x fewer calls than one per chat, "
        "1M in < 600 s, flat memory)"
    )
    header = (
        f"{'size':>5} {'chats':>9} {'calls':>5} {'calls/1k':>9} {'x fewer':>8} "
        f"{'wall s':>7} {'chats/s':>8} {'app cpu':>8} {'sim cpu':>8} {'peak MiB':>9} {'check':>6}"
        f" {'next sync':>9}"
    )
    print(header)
    for f in results:
        n, calls = f["chats_stored"], f["api_calls"]
        print(
            f"{label(f['size']):>5} {n:>9} {calls:>5} {calls / n * 1000:>9.3f} "
            f"{n / calls:>8,.0f} {f['wall']:>7.1f} {n / f['wall']:>8,.0f} "
            f"{f['app_thread_cpu']:>8.1f} {f['sim_cpu']:>8.1f} {f['peak_rss_mib']:>9.0f} "
            f"{'ok' if f['ok'] and f['cells_mismatched'] == 0 else 'FAIL':>6}"
            f" {f['next_calls']:>3} calls"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10k,100k,1M", help="comma-separated chat counts (10k, 100k, 1M, 250k…)"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="serve the simulator from a thread of the app's process",
    )
    parser.add_argument("--profile", help="write a cProfile of the sync (app thread) to this file")
    parser.add_argument(
        "--dialect",
        choices=("classic", "real"),
        default="classic",
        help="the simulator's export dialect (webapp/freshchat/sim_dialects.py)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one size, here
    args = parser.parse_args()

    if args.one is not None:
        figures = run_one(args.one, args)
        print(RESULT_PREFIX + json.dumps(figures, default=str))
        return

    results = []
    for text in args.sizes.split(","):
        command = [sys.executable, __file__, "--one", str(parse_size(text))]
        command += ["--seed", str(args.seed), "--dialect", args.dialect]
        if args.same_process:
            command.append("--same-process")
        if args.profile:
            command += ["--profile", args.profile]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            for line in child.stdout:
                if line.startswith(RESULT_PREFIX):
                    results.append(json.loads(line[len(RESULT_PREFIX) :]))
                else:
                    print(line, end="", flush=True)
        if child.returncode != 0:
            sys.exit(f"the {text} run failed (exit status {child.returncode})")
    print_summary(results)


if __name__ == "__main__":
    main()
