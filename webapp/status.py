"""An integration's status in plain words, read from the database (never the scheduler)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from webapp import pause
from webapp.models import Integration, SyncRun
from webapp.timeutil import utcnow


@dataclass(frozen=True)
class Status:
    state: str  # never | syncing | healthy | failing | interrupted | paused | deleted
    label: str
    detail: str
    next_sync: datetime | None
    run: SyncRun | None = None


def lease_held(integration: Integration, now: datetime | None = None) -> bool:
    """Whether some process (this one or another) holds the integration's sync lease."""
    return integration.lease_until is not None and integration.lease_until >= (now or utcnow())


def active_run(integration: Integration) -> SyncRun | None:
    """The running sync, if its lease is still held (a crashed run's lease expires)."""
    if not lease_held(integration):
        return None
    return (
        SyncRun.select()
        .where((SyncRun.integration == integration) & (SyncRun.outcome == "running"))
        .order_by(SyncRun.id.desc())
        .first()
    )


def describe(integration: Integration) -> Status:
    if integration.is_deleted:
        return Status("deleted", _("Deleted"), _("Statistics kept, read-only."), None)
    run = active_run(integration)
    if run is not None:
        progress = run.progress_text or _("Starting…")
        return Status("syncing", _("Syncing"), progress, integration.next_sync_at, run)
    if integration.paused:
        return Status("paused", _("Paused"), str(pause.STATUS_DETAIL), None)
    if integration.last_sync_outcome is None:
        return Status(
            "never",
            _("Never synced"),
            _("The first sync has not run yet."),
            integration.next_sync_at,
        )
    if integration.last_sync_outcome == "error":
        return Status(
            "failing",
            _("Failing"),
            integration.last_error or _("The last sync failed."),
            integration.next_sync_at,
        )
    if integration.last_sync_outcome == "interrupted":
        return Status(
            "interrupted",
            _("Interrupted"),
            integration.last_error or _("The last sync was interrupted."),
            integration.next_sync_at,
        )
    return Status("healthy", _("Healthy"), _("The last sync succeeded."), integration.next_sync_at)
