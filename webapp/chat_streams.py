"""Several streams of changes applied as one, grouped by chat: what a pull window needs.

A window's Extract files come per event (Created, Group-Assigned, Resolved), and the same
chat appears in two or three of them. Applied file after file, each chat was read and
written once per file; most of a sync's time went to rewriting rows it had just inserted
(bench/bench_floor.py). Here the files are read together, in time order (a chunk at a
time, always from the file furthest behind: each event's export lists its rows in time
order, so a chat's creation and its resolution arrive close together), and changes wait
in a bounded buffer of chats. When the buffer is full, the chats seen first leave it in
one batch (``chats.apply_grouped``): each is read once and written once with everything
the buffer knew of it. Chats seen ending leave first, so at a million chats a window the
buffer holds mostly chats still waiting for their resolution.

Memory stays flat: at most ``buffer_chats`` chats wait, whatever the window's size. Order
is a matter of speed only: a chat whose changes are far apart (resolved days later, or
files not in time order) is written once per batch that holds some of its changes, and
the order-independent merge gives the same state either way.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice

from webapp.changes import ChatChange
from webapp.chats import ApplyResult, apply_grouped
from webapp.gc_quiet import fewer_collections

# Chats waiting for more of their changes; about 1 KB each with their changes.
BUFFER_CHATS = 8_000
# Chats written per transaction when the buffer is full (the oldest first).
FLUSH_CHATS = 4_000
# Changes read from one stream at a time (interleaving item by item cost more than the
# buffer's own work; chunks of a few hours of chats keep a chat's changes together).
CHUNK_CHANGES = 1_000


def _chunk_start(chunk: list[ChatChange]) -> datetime:
    """Where a chunk stands in time: its first chat's creation when the row says it (every
    event's export does, and may list rows by chat creation), else the change's time."""
    first = chunk[0]
    return first.created_time or first.at


def _chunked(stream: Iterable[ChatChange]) -> Iterator[list[ChatChange]]:
    iterator = iter(stream)
    while chunk := list(islice(iterator, CHUNK_CHANGES)):
        yield chunk


def _chunks_in_time_order(
    chunk_streams: Iterable[Iterable[list[ChatChange]]],
) -> Iterator[list[ChatChange]]:
    """Chunks of every stream, each time from the stream whose next chunk starts earliest."""
    iterators = [iter(stream) for stream in chunk_streams]
    heads: list[tuple[datetime, int, list[ChatChange]]] = []
    for index, iterator in enumerate(iterators):
        if chunk := next(iterator, None):
            heads.append((_chunk_start(chunk), index, chunk))
    heapq.heapify(heads)
    while heads:
        _start, index, chunk = heads[0]
        yield chunk
        if following := next(iterators[index], None):
            heapq.heapreplace(heads, (_chunk_start(following), index, following))
        else:
            heapq.heappop(heads)


def apply_streams(
    integration_id: int,
    streams: Iterable[Iterable[ChatChange]],
    *,
    checkpoint: Callable[[], None] = lambda: None,
    buffer_chats: int = BUFFER_CHATS,
    flush_chats: int = FLUSH_CHATS,
) -> ApplyResult:
    """Apply every change of ``streams`` with each chat read and written once per batch.

    ``checkpoint`` runs before each batch's transaction and may raise to stop (the sync's
    lease and shutdown checks); batches already committed stay, and a replay of the whole
    window changes nothing more.
    """
    return apply_chunk_streams(
        integration_id,
        [_chunked(stream) for stream in streams],
        checkpoint=checkpoint,
        buffer_chats=buffer_chats,
        flush_chats=flush_chats,
    )


def apply_chunk_streams(
    integration_id: int,
    chunk_streams: Iterable[Iterable[list[ChatChange]]],
    *,
    checkpoint: Callable[[], None] = lambda: None,
    buffer_chats: int = BUFFER_CHATS,
    flush_chats: int = FLUSH_CHATS,
) -> ApplyResult:
    """``apply_streams`` over streams that hand out lists of changes (in time order each,
    like ``reports.iter_extract_chunks``), as a pull window's files are read."""
    if not 1 <= flush_chats <= buffer_chats:
        raise ValueError("need 1 <= flush_chats <= buffer_chats")
    result = ApplyResult()
    # Chats with no ending seen yet, oldest first; and chats seen ending (resolved, spam or
    # deleted), in the order they ended. Ended chats leave the buffer first: one rarely
    # hears more (a reopening), while an open one still waits for its resolution.
    open_chats: dict[str, list[ChatChange]] = {}
    ended: dict[str, list[ChatChange]] = {}

    def flush() -> None:
        batch = _take(ended, flush_chats)
        batch.update(_take(open_chats, flush_chats - len(batch)))
        checkpoint()
        result.add(apply_grouped(integration_id, batch))

    with fewer_collections():
        _buffer_and_flush(chunk_streams, open_chats, ended, buffer_chats, flush)
        while open_chats or ended:
            flush()
    return result


def _buffer_and_flush(
    chunk_streams: Iterable[Iterable[list[ChatChange]]],
    open_chats: dict[str, list[ChatChange]],
    ended: dict[str, list[ChatChange]],
    buffer_chats: int,
    flush: Callable[[], None],
) -> None:
    """Buffer every change by chat, flushing the oldest chats whenever the buffer is full."""
    for chunk in _chunks_in_time_order(chunk_streams):
        for change in chunk:
            conversation_id = change.conversation_id
            changes = open_chats.get(conversation_id)
            if changes is None:
                changes = ended.get(conversation_id)
                if changes is None:
                    if len(open_chats) + len(ended) >= buffer_chats:
                        flush()
                    changes = open_chats[conversation_id] = []
            changes.append(change)
            if (change.resolved_time is not None or change.spam or change.deleted) and (
                conversation_id in open_chats
            ):
                ended[conversation_id] = open_chats.pop(conversation_id)


def _take(chats: dict[str, list[ChatChange]], count: int) -> dict[str, list[ChatChange]]:
    """Remove and return the first ``count`` chats of ``chats`` (oldest first)."""
    taken = dict(islice(chats.items(), max(count, 0)))
    for conversation_id in taken:
        del chats[conversation_id]
    return taken
