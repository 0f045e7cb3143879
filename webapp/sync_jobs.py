"""Sync, then apply what waits: the one entry for whoever schedules a sync.

The scheduler, **Sync now**, ``flask sync`` and the demo's start-up call
``sync_then_apply``; the scheduler's minute job and the server start call
``apply_waiting``. ``webapp.sync`` (the pull) and ``webapp.push`` (stored events) know
nothing of each other: pushed events left waiting for a lookup are settled here once a
sync has refreshed the groups. Both take plain values (``SyncSettings``), built from the
app's configuration once by ``settings_from``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from webapp import pause, push
from webapp.clients import ClientFactory, client_factory_for
from webapp.models import Integration, SyncRun
from webapp.sync import SyncBusy, SyncOutcome, run_sync
from webapp.timeutil import now_from

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncSettings:
    """What a sync and the applying of pushed events need, as plain values."""

    client_factory: ClientFactory
    overlap: timedelta = timedelta(minutes=60)
    poll_interval: float = 5.0
    clock: Callable[[], datetime] | None = None  # None: the wall clock (UTC)


def settings_from(app: Any) -> SyncSettings:
    """The settings of a Flask app (``webapp.config``): read here, not in the services."""
    config = app.config
    return SyncSettings(
        client_factory=client_factory_for(config, app.extensions["secret_box"]),
        overlap=timedelta(minutes=int(config["SYNC_OVERLAP_MINUTES"])),
        poll_interval=float(config.get("EXTRACT_POLL_SECONDS", 5.0)),
        clock=lambda: now_from(config),
    )


def sync_then_apply(
    settings: SyncSettings,
    integration_id: int,
    *,
    trigger: str = "schedule",
    on_step: Callable[[SyncRun], None] | None = None,
    since: datetime | None = None,
) -> SyncOutcome | None:
    """Sync one integration, then apply its pushed events that waited (a lookup, the
    group listing): the sync has just read the groups, so most of them settle now.

    None when nothing ran: the integration is gone or paused (``webapp.pause``), or
    another sync holds the lease. Applying never fails the sync.
    """
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None or integration.is_deleted or not pause.may_sync(integration):
        return None
    try:
        outcome = run_sync(
            integration_id,
            settings.client_factory,
            trigger=trigger,
            overlap=settings.overlap,
            poll_interval=settings.poll_interval,
            on_step=on_step,
            now=settings.clock() if settings.clock else None,
            since=since,
        )
    except SyncBusy:
        log.info("integration %s: sync skipped, another one holds the lease", integration_id)
        return None
    if outcome.ok:
        try:
            push.apply_pending_for(integration_id, settings.client_factory)
        except Exception:
            log.exception(
                "integration %s: applying pushed events after sync failed", integration_id
            )
    return outcome


def sync_for_app(app: Any, integration_id: int, **options: Any) -> SyncOutcome | None:
    """``sync_then_apply`` with the app's settings (the scheduler, views, CLI, demo)."""
    return sync_then_apply(settings_from(app), integration_id, **options)


def apply_waiting(settings: SyncSettings) -> int:
    """Apply what was pushed and waits, for every live integration that is not paused
    (the scheduler's minute, server start); returns how many events were applied."""
    return push.apply_pending(settings.client_factory)


def apply_waiting_for_app(app: Any) -> int:
    """``apply_waiting`` with the app's settings."""
    return apply_waiting(settings_from(app))
