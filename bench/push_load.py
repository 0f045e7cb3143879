"""The load generator of ``bench_push.py``: cheap enough not to be what a figure measures.

``http.client`` costs ~0.1-0.2 ms of CPU per request in Python, which on a 2-core box is
taken from the server being measured. Here each worker *process* (no GIL shared with the
others) drives its keep-alive connections from one ``selectors`` loop: a request is one
prebuilt ``bytes`` written to a socket, and a response is read by its ``Content-Length``.
Connections are spread round-robin over the servers' ports (one port per server
process), so every server gets the same number of connections.

A response counts only when it is ``202`` and says ``"stored": <events sent>``: a refusal,
a duplicate or an error stops the run, never inflates it.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import selectors
import socket
import time
from dataclasses import dataclass


@dataclass
class Load:
    """One run: wall seconds from the common start to the last answer, latencies (s),
    and the CPU seconds the load generator's processes spent."""

    elapsed: float
    latencies: list[float]
    client_cpu: float


def _request(path: str, key: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Connection:
    __slots__ = ("buffer", "expected", "sock", "started")

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.started = 0.0
        self.expected = 0


def _answer(buffer: bytes) -> tuple[int, bytes, bytes] | None:
    """(status, body, rest) once ``buffer`` holds a whole response, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].split(b"\r\n")
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if len(buffer) < end + 4 + length:
        return None
    body = buffer[end + 4 : end + 4 + length]
    return int(head[0].split()[1]), body, buffer[end + 4 + length :]


def _worker(
    ports: list[int],
    path: str,
    key: str,
    bodies: list[tuple[bytes, int]],
    connections: int,
    start: multiprocessing.synchronize.Barrier,  # type: ignore[name-defined]
    results: multiprocessing.queues.Queue,  # type: ignore[type-arg, name-defined]
) -> None:
    requests = [(_request(path, key, body), events) for body, events in bodies]
    selector = selectors.DefaultSelector()
    conns = [_Connection(ports[i % len(ports)]) for i in range(connections)]
    latencies: list[float] = []
    position = 0
    failure = ""
    start.wait()
    cpu = resource.getrusage(resource.RUSAGE_SELF)

    def send(conn: _Connection) -> None:
        nonlocal position
        payload, conn.expected = requests[position]
        position += 1
        conn.started = time.perf_counter()
        conn.sock.sendall(payload)
        selector.register(conn.sock, selectors.EVENT_READ, conn)

    for conn in conns:
        if position < len(requests):
            send(conn)
    pending = len(selector.get_map())
    while pending and not failure:
        for selected, _mask in selector.select():
            conn = selected.data
            chunk = conn.sock.recv(65536)
            if not chunk:
                failure = "the server closed a connection"
                break
            conn.buffer += chunk
            answer = _answer(conn.buffer)
            if answer is None:
                continue
            status, body, conn.buffer = answer
            latencies.append(time.perf_counter() - conn.started)
            selector.unregister(conn.sock)
            pending -= 1
            if status != 202 or json.loads(body).get("stored") != conn.expected:
                failure = f"{status} {body[:200]!r}"
                break
            if position < len(requests):
                send(conn)
                pending += 1
    finished = time.perf_counter()
    used = resource.getrusage(resource.RUSAGE_SELF)
    for conn in conns:
        conn.sock.close()
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    results.put((finished, latencies, cpu_seconds, failure))


def drive(
    ports: list[int],
    path: str,
    key: str,
    bodies: list[tuple[bytes, int]],
    connections: int,
    workers: int,
) -> Load:
    """Send each (body, events in it) once over ``connections`` keep-alive connections
    shared out among ``workers`` processes; raise ``SystemExit`` on any answer but a 202
    that stored every event sent."""
    context = multiprocessing.get_context("fork")
    workers = max(1, min(workers, connections))
    start = context.Barrier(workers + 1)  # every connection open, then all start at once
    results = context.Queue()
    processes = []
    for index in range(workers):
        mine = bodies[index::workers]
        share = connections // workers + (1 if index < connections % workers else 0)
        # Each worker's connections continue the round-robin over the ports.
        offset = sum(connections // workers + (1 if i < connections % workers else 0)
                     for i in range(index))  # fmt: skip
        turned = ports[offset % len(ports) :] + ports[: offset % len(ports)]
        process = context.Process(
            target=_worker, args=(turned, path, key, mine, share, start, results)
        )
        process.start()
        processes.append(process)
    start.wait()
    began = time.perf_counter()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    failures = [failure for *_rest, failure in outcomes if failure]
    if failures:
        raise SystemExit(f"{len(failures)} worker(s) saw a failed request, first: {failures[0]}")
    return Load(
        elapsed=max(finished for finished, *_rest in outcomes) - began,
        latencies=[latency for _f, latencies, _c, _e in outcomes for latency in latencies],
        client_cpu=sum(cpu for _f, _l, cpu, _e in outcomes),
    )
