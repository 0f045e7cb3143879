"""APScheduler wiring: one interval job per active integration, started in one place.

The scheduler only decides *when*; whether a sync may run is decided by the database
lease in ``webapp.sync``, so a second scheduler (reloader, several workers) cannot make
one integration sync twice at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from webapp.extensions import db
from webapp.models import Integration

log = logging.getLogger(__name__)

_scheduler: BackgroundScheduler | None = None
_app: Flask | None = None


def job_id(integration_id: int) -> str:
    return f"sync-{integration_id}"


def start(app: Flask) -> BackgroundScheduler:
    """Start the scheduler for this process and schedule every active integration."""
    global _scheduler, _app
    if _scheduler is not None:
        return _scheduler
    _app = app
    _scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"misfire_grace_time": 600})
    _scheduler.start()
    with app.app_context(), db.connection_context():
        for integration in Integration.select().where(Integration.deleted_at.is_null()):
            schedule_integration(integration)
    _scheduler.add_job(
        _run_pending_events,
        "interval",
        minutes=1,
        id="apply-pending-events",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    log.info("scheduler started")
    return _scheduler


def shutdown() -> None:
    global _scheduler
    if _scheduler is not None:
        _scheduler.shutdown(wait=False)
        _scheduler = None


def is_running() -> bool:
    return _scheduler is not None


def schedule_integration(integration: Integration) -> None:
    """(Re)schedule an integration's job after a create, edit, pause or resume."""
    if _scheduler is None:
        return
    if integration.paused or integration.is_deleted:
        unschedule_integration(integration.id)
        Integration.update(next_sync_at=None).where(Integration.id == integration.id).execute()
        return
    every = timedelta(minutes=integration.sync_every_minutes)
    now = datetime.now(UTC)
    if integration.last_sync_finished_at is None:
        first = now
    else:
        first = max(now, integration.last_sync_finished_at.replace(tzinfo=UTC) + every)
    job = _scheduler.add_job(
        _run_sync,
        IntervalTrigger(minutes=integration.sync_every_minutes, timezone=UTC),
        args=[integration.id],
        id=job_id(integration.id),
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        next_run_time=first,
    )
    next_run = job.next_run_time
    Integration.update(
        next_sync_at=next_run.astimezone(UTC).replace(tzinfo=None) if next_run else None
    ).where(Integration.id == integration.id).execute()


def unschedule_integration(integration_id: int) -> None:
    if _scheduler is not None and _scheduler.get_job(job_id(integration_id)):
        _scheduler.remove_job(job_id(integration_id))


def next_run_time(integration_id: int) -> datetime | None:
    if _scheduler is None:
        return None
    job = _scheduler.get_job(job_id(integration_id))
    if job is None or job.next_run_time is None:
        return None
    return job.next_run_time.astimezone(UTC).replace(tzinfo=None)


def _run_sync(integration_id: int, trigger: str = "schedule") -> None:
    from webapp import sync

    assert _app is not None
    with _app.app_context(), db.connection_context():
        sync.run_sync_for_app(_app, integration_id, trigger=trigger)
        integration = Integration.get_or_none(Integration.id == integration_id)
        if integration is not None:
            Integration.update(next_sync_at=next_run_time(integration_id)).where(
                Integration.id == integration_id
            ).execute()


def _run_pending_events() -> None:
    from webapp import push

    assert _app is not None
    with _app.app_context(), db.connection_context():
        push.apply_pending(_app)


def run_soon(app: Flask, integration_id: int, trigger: str = "manual") -> None:
    """ "Sync now": a one-off job when the scheduler runs, else a background thread."""
    if app.config.get("SYNC_NOW_INLINE"):
        global _app
        _app = app
        _run_sync(integration_id, trigger)
        return
    if _scheduler is not None:
        _scheduler.add_job(
            _run_sync,
            args=[integration_id, trigger],
            id=f"sync-now-{integration_id}",
            replace_existing=True,
            max_instances=1,
        )
        return
    _app_for_thread = app

    def _target() -> None:
        global _app
        _app = _app_for_thread
        _run_sync(integration_id, trigger)

    threading.Thread(target=_target, name=f"sync-now-{integration_id}", daemon=True).start()
