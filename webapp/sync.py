"""One pull sync of one integration: lease, windows, Extract jobs, progress, history.

Strategy (see README "How the pull sync reads Freshchat"): Freshchat has no endpoint that
lists conversations, and walking users → conversations costs several calls per chat. The
Extract (raw reports) API returns every chat event of a window as CSV files, so a sync
costs a handful of calls per window *whatever the number of chats*: per window of at most
28 days, one job request, a few polls and one download per file for each of three events,
plus the paged groups list.

Safety: the watermark moves only after a whole window has been applied, and applying is
idempotent, so an interrupted sync simply re-reads the unfinished window.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from webapp import chats, pause, pull_window
from webapp.clients import ClientFactory
from webapp.extensions import db
from webapp.freshchat.client import FreshchatClient, FreshchatError
from webapp.freshchat.extract_columns import HeaderRefused
from webapp.freshchat.reports import MalformedReport
from webapp.models import Integration, SyncRun
from webapp.reimport import reimport_counted_from
from webapp.sync_guard import GuardedSink, IntegrationGone, LeaseLost, RunGuard, SyncStopped
from webapp.timeutil import floor_interval, utcnow

log = logging.getLogger(__name__)

EXTRACT_EVENTS = (
    ("Conversation-Created", "new chats"),
    ("Conversation-Group-Assigned", "group transfers"),
    ("Conversation-Resolved", "resolutions, spam and deletions"),
)
MAX_WINDOW = timedelta(days=28)  # the Extract API's longest window
LEASE_TIME = timedelta(minutes=20)
MAX_PROBLEMS_SHOWN = 3


class SyncBusy(RuntimeError):
    """Another sync of this integration holds the lease."""


@dataclass
class SyncOutcome:
    run: SyncRun
    ok: bool
    message: str
    stopped: bool = False  # ended on purpose (shutdown, lease lost, integration deleted)


def lease_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(integration_id: int, owner: str, now: datetime | None = None) -> bool:
    """One UPDATE touching one row: only one process can win, whatever schedulers exist."""
    now = now or utcnow()
    updated = (
        Integration.update(lease_owner=owner, lease_until=now + LEASE_TIME)
        .where(
            (Integration.id == integration_id)
            & Integration.deleted_at.is_null()
            & (Integration.lease_until.is_null() | (Integration.lease_until < now))
        )
        .execute()
    )
    return updated == 1


def renew_lease(integration_id: int, owner: str) -> bool:
    """Push the lease's end forward; False when this owner no longer holds it."""
    updated = (
        Integration.update(lease_until=utcnow() + LEASE_TIME)
        .where((Integration.id == integration_id) & (Integration.lease_owner == owner))
        .execute()
    )
    return updated == 1


def release_lease(integration_id: int, owner: str) -> None:
    Integration.update(lease_owner=None, lease_until=None).where(
        (Integration.id == integration_id) & (Integration.lease_owner == owner)
    ).execute()


def plan_windows(
    integration: Integration, now: datetime, overlap: timedelta, since: datetime | None = None
) -> list[tuple[datetime, datetime]]:
    """Half-open windows [start, end) of at most 28 days from the watermark to now.

    The first sync starts ``backfill_days`` ago; later ones re-read ``overlap`` before the
    watermark because Freshchat's reports can receive rows late. A re-import starts at
    ``since`` (aligned to an interval), or where a normal sync would if that is earlier: the
    watermark must never jump over a range that was not read.
    """
    if since is not None:
        start = min(floor_interval(since), now)
        if integration.watermark is not None:
            start = min(start, integration.watermark - overlap)
    elif integration.watermark is None:
        # A retried first backfill keeps the start its first attempt planned (and counted
        # from): planning again from a later "now" would leave partial intervals counted.
        # Aligned to an interval, so the first interval imported is a whole one.
        start = integration.counted_from or floor_interval(
            now - timedelta(days=integration.backfill_days)
        )
    else:
        start = min(integration.watermark - overlap, now)
    windows = []
    while start < now:
        end = min(start + MAX_WINDOW, now)
        windows.append((start, end))
        start = end
    return windows


class _Progress:
    """Writes progress to the SyncRun row, where the UI panel and the CLI read it."""

    def __init__(self, run: SyncRun, on_step: Callable[[SyncRun], None] | None) -> None:
        self.run = run
        self.on_step = on_step
        self.client: FreshchatClient | None = None

    def count_calls(self) -> None:
        """API calls so far, read from the run's own client: a failed run counts them too."""
        if self.client is not None:
            self.run.api_calls = self.client.calls

    def update(self, text: str, *, step_done: bool = False, **counters: int) -> None:
        if step_done:
            self.run.progress_done += 1
        self.run.progress_text = text[:255]
        for name, value in counters.items():
            setattr(self.run, name, getattr(self.run, name) + value)
        self.count_calls()
        self.run.save()
        if self.on_step:
            self.on_step(self.run)


def _window_label(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def run_sync(
    integration_id: int,
    client_factory: ClientFactory,
    *,
    trigger: str = "schedule",
    overlap: timedelta = timedelta(minutes=60),
    now: datetime | None = None,
    poll_interval: float = 5.0,
    on_step: Callable[[SyncRun], None] | None = None,
    since: datetime | None = None,
) -> SyncOutcome:
    """Run one sync to completion (or to a clear error). Raises SyncBusy if leased.

    ``since`` re-imports from that time (``reimport.py``): every chat of the range is read
    again and its intervals recomputed; applying is idempotent, so nothing counts twice.
    """
    owner = lease_owner_id()
    if not acquire_lease(integration_id, owner):
        raise SyncBusy("A sync of this integration is already running.")
    try:
        integration = Integration.get_by_id(integration_id)
        now = now or utcnow()
        windows = plan_windows(integration, now, overlap, since)
        first_import = integration.watermark is None or since is not None
        if since is not None:
            reimport_counted_from(integration, windows)
        elif integration.watermark is None and integration.counted_from is None and windows:
            # Chats that arrived before the backfill are only partly known: not counted.
            integration.counted_from = windows[0][0]
            Integration.update(counted_from=integration.counted_from).where(
                Integration.id == integration_id
            ).execute()
        run = SyncRun.create(
            integration=integration,
            trigger=trigger,
            window_from=windows[0][0] if windows else now,
            window_to=now,
            progress_total=1 + len(windows) * len(EXTRACT_EVENTS),
            progress_text="Starting…",
        )
        # The next sync is due one period after this start, whichever process runs it
        # (see webapp.scheduler): written now so every process shows and follows it.
        every = timedelta(minutes=integration.sync_every_minutes)
        Integration.update(
            last_sync_started_at=run.started_at,
            next_sync_at=run.started_at + every if pause.may_sync(integration) else None,
        ).where(Integration.id == integration_id).execute()
        progress = _Progress(run, on_step)
        guard = RunGuard(integration_id, lambda: renew_lease(integration_id, owner))
        ok = False
        try:
            message = _sync_windows(
                integration, client_factory, windows, progress, guard, poll_interval, first_import
            )
            ok = True
        except SyncStopped as exc:
            progress.count_calls()
            return _finish_stopped(integration, run, exc)
        except (FreshchatError, chats.EmptyGroupListing) as exc:
            message = str(exc)
        except (HeaderRefused, pull_window.WindowRefused) as exc:
            message = (
                f"{str(exc).rstrip('.')}. Nothing of this window was applied and the watermark "
                "stays before it: the next sync retries it, and repairs the counts once the "
                "export is right. Check data access shows what Freshchat sends."
            )
        except MalformedReport as exc:
            message = (
                f"Freshchat sent a report this app cannot read: {str(exc).rstrip('.')}. "
                "Nothing from it was applied; the next sync retries."
            )
        except Exception as exc:
            if Integration.get_or_none(Integration.id == integration_id) is None:
                # Deleted with its data between two safe points: a write found it gone.
                return _finish_stopped(integration, run, IntegrationGone())
            log.exception("sync of integration %s failed", integration_id)
            message = (
                f"Internal error during sync ({exc.__class__.__name__}); "
                "the next sync retries. See the server log."
            )
        progress.count_calls()
        return _finish(integration, run, ok=ok, message=message)
    finally:
        release_lease(integration_id, owner)


def _sync_windows(
    integration: Integration,
    client_factory: ClientFactory,
    windows: list[tuple[datetime, datetime]],
    progress: _Progress,
    guard: RunGuard,
    poll_interval: float,
    first_import: bool = False,
) -> str:
    client = client_factory(integration)
    # Waits (job polls, Retry-After) renew the lease and end early on shutdown.
    client.wrap_waits(guard.guarded_sleep)
    progress.client = client
    run = progress.run
    progress.update("Reading groups…")
    groups = list(client.iter_groups())
    guard.checkpoint()
    refresh = chats.refresh_groups(integration.id, groups)
    # Contacts moved by a group appearing or disappearing are changes of this run too.
    progress.update(
        f"{len(groups)} groups",
        step_done=True,
        contacts_changed=refresh.recount.contacts_changed,
    )
    problems: list[str] = []
    what_of = dict(EXTRACT_EVENTS)
    for index, (start, end) in enumerate(windows, 1):
        label = f"Window {index}/{len(windows)} ({_window_label(start, end)})"
        with pull_window.read_window(
            client,
            list(what_of),
            start,
            end,
            poll_interval=poll_interval,
            checkpoint=guard.checkpoint,
            wrap_sink=lambda spool: GuardedSink(spool, guard),
            before_event=lambda event, label=label: progress.update(
                f"{label}: {what_of[event]}: waiting for Freshchat's report…"
            ),
            after_event=lambda files, label=label: progress.update(
                f"{label}: {what_of[files.event]}: {_count(files.rows, 'row')} read",
                step_done=True,
            ),
        ) as window:
            if first_import and index == 1:
                run.details = pull_window.header_summary(window)
            progress.update(f"{label}: applying…")
            # Each batch of chats is a safe point (lease and shutdown checks).
            result = pull_window.apply_window(integration.id, window, problems, guard.checkpoint)
            progress.update(
                f"{label}: applied",
                chats_seen=result.chats_seen,
                contacts_changed=result.contacts_changed,
            )
        # The whole window is applied: only now may the watermark pass it.
        guard.checkpoint()
        Integration.update(watermark=end).where(Integration.id == integration.id).execute()
    summary = (
        f"Read {_count(run.chats_seen, 'chat record')} over {_count(len(windows), 'window')}; "
        f"{_count(run.contacts_changed, 'contact')} changed."
    )
    if refresh.removed:
        summary += f" Groups gone from Freshchat: {', '.join(refresh.removed)}."
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > 3 else ""
        summary += f" Skipped {len(problems)} unreadable report row(s): {shown}{more}."
    return summary


def _count(number: int, noun: str) -> str:
    """Singular or plural by count ("1 window", "2 windows"): people read the summary."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _finish(integration: Integration, run: SyncRun, *, ok: bool, message: str) -> SyncOutcome:
    finished = utcnow()
    with db.atomic():
        run.finished_at = finished
        run.outcome = "ok" if ok else "error"
        run.error = None if ok else message
        run.progress_text = message[:255]
        run.save()
        Integration.update(
            last_sync_finished_at=finished,
            last_sync_outcome=run.outcome,
            last_error=None if ok else message,
        ).where(Integration.id == integration.id).execute()
    return SyncOutcome(run, ok, message)


def _finish_stopped(integration: Integration, run: SyncRun, reason: SyncStopped) -> SyncOutcome:
    """A run ended on purpose. Its own history row says so; the integration's state is
    written only on shutdown (this process still owns it), never after losing the lease
    or the integration, when another process or nobody does."""
    message = str(reason)
    log.info("integration %s: %s", integration.id, message)
    finished = utcnow()
    with db.atomic():
        run.finished_at = finished
        run.outcome = "interrupted"
        run.error = message
        run.progress_text = message[:255]
        run.save()
        if not isinstance(reason, LeaseLost | IntegrationGone):
            Integration.update(
                last_sync_finished_at=finished, last_sync_outcome="interrupted", last_error=message
            ).where(Integration.id == integration.id).execute()
    return SyncOutcome(run, False, message, stopped=True)
