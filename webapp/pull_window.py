"""One window of the pull sync: read every Extract file of it whole, judge, then apply.

Why a window is read whole before anything of it is applied (issue "Real Freshchat
accounts"): exports we cannot see from here may lack what counting needs, and applying
them anyway gives a "successful" sync that miscounts silently and moves the watermark past
the damage. So every file of every event is downloaded (to a spool: memory stays flat)
and read once without keeping anything, and the window is refused, with nothing applied
and the watermark left where it was, when:

* a file's header lacks a meaning its event needs (``extract_columns.NEEDED``);
* more than ``MAX_FAILING_SHARE`` of a file's rows cannot be read;
* the window has rows but no event's file carries a group column: every contact would
  land in Undefined_Queue. (Asking Freshchat per resolved chat would learn the groups at
  one ``GET /conversations/<id>`` per chat, the very cost the Extract API avoids; not done.)

Below the share, bad rows are skipped one by one and the first reasons reach the run's
details, as before.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from webapp import chats
from webapp.changes import ChatChange
from webapp.chat_streams import apply_chunk_streams
from webapp.freshchat.client import ExtractLink, FreshchatClient, LinkExpired
from webapp.freshchat.extract_columns import describe_header
from webapp.freshchat.reports import ExtractCheck, check_extract, iter_extract_chunks

SPOOL_IN_MEMORY = 1 << 20  # a window holds all its files at once: bigger ones go to disk
MAX_FAILING_SHARE = 0.05


class WindowRefused(Exception):
    """The window's exports cannot be counted truthfully; ``str()`` is for the admin."""


@dataclass
class EventFiles:
    """The files of one event in one window, downloaded and checked."""

    event: str
    spools: list[BinaryIO] = field(default_factory=list)
    checks: list[ExtractCheck] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(check.rows for check in self.checks)


def download_file(
    client: FreshchatClient, job_id: str, links: list[ExtractLink], index: int, sink: Any
) -> None:
    """Download file ``index`` of a job; on an expired link, ask the job once for fresh ones.

    Pre-signed links expire after a fixed time (FRESHCHAT_API.md); a slow window can
    outlive the first ones. A second refusal ends the run (the next sync asks again).
    """
    try:
        client.download_to(links[index].href, sink)
    except LinkExpired:
        fresh = client.get_extract(job_id).links
        if len(fresh) != len(links):
            raise
        client.download_to(fresh[index].href, sink)


@contextmanager
def read_window(
    client: FreshchatClient,
    events: list[str],
    start: datetime,
    end: datetime,
    *,
    poll_interval: float,
    checkpoint: Callable[[], None] = lambda: None,
    wrap_sink: Callable[[BinaryIO], Any] = lambda spool: spool,
    before_event: Callable[[str], None] = lambda _event: None,
    after_event: Callable[[EventFiles], None] = lambda _files: None,
) -> Iterator[list[EventFiles]]:
    """Every event's files of ``[start, end)``, checked; raises ``WindowRefused`` (or
    ``HeaderRefused``/``MalformedReport``) before the caller can apply any of them.

    ``checkpoint`` runs at each safe point (before a job, after each file) and may raise to
    stop the run; ``wrap_sink`` wraps each download's spool (the sync's stop checks).
    """
    with ExitStack() as stack:
        window: list[EventFiles] = []
        for event in events:
            before_event(event)
            checkpoint()
            job_id = client.request_extract(event, start, end)
            status = client.wait_for_extract(job_id, poll_interval=poll_interval)
            files = EventFiles(event)
            for index in range(len(status.links)):
                spool = stack.enter_context(tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY))
                download_file(client, job_id, status.links, index, wrap_sink(spool))
                check = check_extract(spool, event)
                _refuse_if_too_many_bad_rows(check)
                files.spools.append(spool)
                files.checks.append(check)
                checkpoint()
            window.append(files)
            after_event(files)
        _refuse_without_group_information(window)
        yield window


def apply_window(
    integration_id: int,
    window: list[EventFiles],
    problems: list[str],
    checkpoint: Callable[[], None] = lambda: None,
) -> chats.ApplyResult:
    """Feed every event's checked files to the funnel as one stream grouped by chat
    (``chat_streams``): each chat is read and written once, not once per event."""
    found: list[tuple[str, list[str]]] = [(files.event, []) for files in window]
    streams = [
        _event_stream(files, event_problems)
        for files, (_event, event_problems) in zip(window, found, strict=True)
    ]
    try:
        return apply_chunk_streams(integration_id, streams, checkpoint=checkpoint)
    finally:
        problems.extend(f"{event}: {p}" for event, listed in found for p in listed)


def _event_stream(files: EventFiles, problems: list[str]) -> Iterator[list[ChatChange]]:
    """One event's changes in lists, file after file (each event's files cover the window
    in order)."""
    for spool in files.spools:
        yield from iter_extract_chunks(spool, files.event, problems)


def header_summary(window: list[EventFiles]) -> str:
    """Per event, each header as received and how each column was understood."""
    lines = []
    for files in window:
        readings = [r for check in files.checks for r in check.readings]
        if not readings:
            lines.append(f"{files.event}: no header (empty export, {files.rows} rows)")
            continue
        seen: set[tuple[str, ...]] = set()
        for reading in readings:
            if reading.header in seen:
                continue
            seen.add(reading.header)
            understood = ", ".join(f"{name} → {meaning}" for name, meaning in reading.understood())
            lines.append(f"{files.event} ({files.rows} rows): {understood}")
    return "\n".join(lines)


def _refuse_if_too_many_bad_rows(check: ExtractCheck) -> None:
    if check.rows and check.failed > check.rows * MAX_FAILING_SHARE:
        reasons: dict[str, int] = {}
        for member in check.members:
            for reason, count in member.reasons.items():
                reasons[reason] = reasons.get(reason, 0) + count
        shown = ", ".join(f"{reason} ({count})" for reason, count in sorted(reasons.items()))
        headers = "; ".join(describe_header(r.header) for r in check.readings[:2])
        raise WindowRefused(
            f"{check.event} file refused: {check.failed} of {check.rows} rows could not be "
            f"read ({shown}); header received: {headers}. More than "
            f"{MAX_FAILING_SHARE:.0%} of a file failing means the export is not what this "
            "app expects."
        )


def _refuse_without_group_information(window: list[EventFiles]) -> None:
    if not any(files.rows for files in window):
        return
    if any(check.has_group for files in window for check in files.checks):
        return
    headers = "; ".join(
        f"{files.event} {describe_header(check.readings[0].header)}"
        for files in window
        for check in files.checks[:1]
        if check.readings
    )
    raise WindowRefused(
        "None of this window's exports has a group column, so every contact would be "
        f"counted in Undefined_Queue. Headers received: "
        f"{headers}. Accepted group column names: group_id, assigned_group_id."
    )
