"""APScheduler wiring: one interval job per active integration, started in one place.

The scheduler only decides *when*; whether a sync may run is decided by the database
lease in ``webapp.sync``, so a second scheduler (reloader, several workers) cannot make
one integration sync twice at once. Two more guards keep extra schedulers harmless:

* ``start`` refuses to run in the werkzeug reloader's watcher process, which never
  serves requests but would otherwise fire every job a second time;
* a scheduled job skips an integration whose last sync *started* less than one period
  ago, so when several server processes each run a scheduler the account is still read
  once per period, not once per process.

**When** is one fact in the database, the same for every process: the next sync is due
one period after the last one *started* (scheduled, **Sync now** or ``flask sync``, in
any process). A sync writes that time (``next_sync_at``) as it starts; after every run or
skip a job moves to it (``_follow_database``), and so does every other process's job at
its next ``reconcile``. So after a **Sync now** the page shows the time the next sync
really happens, not a run that the period check would then skip.

Jobs are rebuilt from the database every minute (``reconcile``), so integrations
created, edited, paused, deleted or synced by another process (the CLI, a second worker)
get their schedule without a restart.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from webapp import pause, rate_limit, sync_guard
from webapp.extensions import db
from webapp.models import Integration
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)

JOB_PREFIX = "sync-"
PENDING_EVENTS_JOB = "apply-pending-events"
RECONCILE_JOB = "reconcile-schedules"
# A scheduled run this close to a full period after the last start still counts as due:
# job fire times and run start times differ by the time it takes to begin a run.
DUE_SLACK = timedelta(minutes=1)

_scheduler: BackgroundScheduler | None = None
_app: Flask | None = None


def job_id(integration_id: int) -> str:
    return f"{JOB_PREFIX}{integration_id}"


def in_reloader_watcher(environ: Mapping[str, str] | None = None) -> bool:
    """True in the process that ``flask run --debug`` keeps only to watch files.

    Werkzeug's reloader loads the app in a watcher process, then serves from a child it
    starts with ``WERKZEUG_RUN_MAIN=true``; a scheduler in the watcher would duplicate
    every job. Only ``flask run`` uses that reloader (``flask serve`` uses waitress).
    """
    environ = os.environ if environ is None else environ
    if environ.get("WERKZEUG_RUN_MAIN") == "true":
        return False
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.command.name == "run" and "reload" in ctx.params:
            reload = ctx.params["reload"]
            if reload is None:  # flask run's default: reload when debugging
                from flask.helpers import get_debug_flag

                reload = get_debug_flag()
            return bool(reload)
        ctx = ctx.parent
    return False


def start(
    app: Flask, *, paused: bool = False, environ: Mapping[str, str] | None = None
) -> BackgroundScheduler | None:
    """Start this process's scheduler and schedule every active integration.

    ``paused`` creates the jobs without firing them (tests inspect them that way).
    Returns None, starting nothing, in the reloader's watcher process.
    """
    global _scheduler, _app
    if _scheduler is not None:
        return _scheduler
    if in_reloader_watcher(environ):
        log.info("scheduler not started: this is the reloader's watcher process")
        return None
    _app = app
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"misfire_grace_time": 600})
    scheduler.start(paused=paused)
    _scheduler = scheduler
    with app.app_context(), db.connection_context():
        reconcile()
    scheduler.add_job(
        _run_pending_events,
        IntervalTrigger(minutes=1, timezone=UTC),
        id=PENDING_EVENTS_JOB,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        _run_reconcile,
        IntervalTrigger(minutes=1, timezone=UTC),
        id=RECONCILE_JOB,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
    )
    log.info("scheduler started")
    return scheduler


def shutdown(*, wait: bool = False) -> None:
    """Stop the scheduler; ``wait`` lets running jobs reach their end (on SIGTERM a sync
    stops at its next safe point, so that end comes quickly)."""
    global _scheduler
    # Forgotten first: a job that ends while APScheduler shuts down (holding its job-store
    # lock while it joins the job threads) must not call back into it, or both wait.
    scheduler, _scheduler = _scheduler, None
    if scheduler is not None:
        scheduler.shutdown(wait=wait)


def is_running() -> bool:
    return _scheduler is not None


def schedule_integration(integration: Integration) -> None:
    """(Re)schedule an integration's job after a create, edit, pause or resume.

    The first run is due one period after the last sync started (at once when that is
    past or there was none), so resuming after a long pause syncs right away and
    the sync itself reads everything since the watermark.
    """
    if _scheduler is None:
        return
    if not pause.may_sync(integration) or integration.is_deleted:
        unschedule_integration(integration.id)
        Integration.update(next_sync_at=None).where(Integration.id == integration.id).execute()
        return
    first = due_at(integration)
    assert first is not None  # neither paused nor deleted
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


def reconcile() -> int:
    """Make the jobs match the database; returns how many jobs changed.

    Needs an open database connection. Jobs that already match are left alone so their
    next run time does not move.
    """
    if _scheduler is None:
        return 0
    wanted = {
        integration.id: integration
        for integration in Integration.select().where(
            Integration.deleted_at.is_null() & pause.running()
        )
    }
    # A paused or deleted integration has no next sync, whoever scheduled it last.
    Integration.update(next_sync_at=None).where(
        Integration.next_sync_at.is_null(False)
        & (Integration.deleted_at.is_null(False) | pause.stopped())
    ).execute()
    changed = 0
    for job in _scheduler.get_jobs():
        if not job.id.startswith(JOB_PREFIX) or not job.id[len(JOB_PREFIX) :].isdigit():
            continue
        integration_id = int(job.id[len(JOB_PREFIX) :])
        if integration_id not in wanted:
            unschedule_integration(integration_id)
            Integration.update(next_sync_at=None).where(Integration.id == integration_id).execute()
            changed += 1
    for integration in wanted.values():
        job = _scheduler.get_job(job_id(integration.id))
        every = timedelta(minutes=integration.sync_every_minutes)
        if job is None or getattr(job.trigger, "interval", None) != every:
            schedule_integration(integration)
            changed += 1
        elif _move_job(integration):
            changed += 1
    rate_limit.prune()
    return changed


def due_at(integration: Integration, now: datetime | None = None) -> datetime | None:
    """When the next sync is due (aware UTC): one period after the last one started, or
    now when that is past or none did; None for a paused or deleted integration."""
    if not pause.may_sync(integration) or integration.is_deleted:
        return None
    now = now or datetime.now(UTC)
    if integration.last_sync_started_at is None:
        return now
    every = timedelta(minutes=integration.sync_every_minutes)
    return max(now, integration.last_sync_started_at.replace(tzinfo=UTC) + every)


def _move_job(integration: Integration, *, at_least: timedelta = timedelta(0)) -> bool:
    """Move this process's job to the database's due time (and no sooner than
    ``at_least`` from now); True when it moved. Within ``DUE_SLACK`` it stays put, so a
    job that matches keeps its time."""
    scheduler = _scheduler
    job = scheduler.get_job(job_id(integration.id)) if scheduler is not None else None
    now = datetime.now(UTC)
    due = due_at(integration, now)
    if job is None or due is None or scheduler is None:
        return False
    due = max(due, now + at_least)
    if job.next_run_time is not None and abs(job.next_run_time - due) <= DUE_SLACK:
        return False
    scheduler.modify_job(job.id, next_run_time=due)
    return True


def next_run_time(integration_id: int) -> datetime | None:
    """When this process's scheduler will next sync the integration (naive UTC)."""
    scheduler = _scheduler
    if scheduler is None or sync_guard.STOP.is_set():  # shutting down: no next run here
        return None
    job = scheduler.get_job(job_id(integration_id))
    if job is None or job.next_run_time is None:
        return None
    return job.next_run_time.astimezone(UTC).replace(tzinfo=None)


def is_due(integration: Integration, now: datetime | None = None) -> bool:
    """Whether a *scheduled* run should sync now, or another scheduler already did."""
    if not pause.may_sync(integration) or integration.is_deleted:
        return False
    if integration.last_sync_started_at is None:
        return True
    now = now or utcnow()
    every = timedelta(minutes=integration.sync_every_minutes)
    return integration.last_sync_started_at <= now - every + DUE_SLACK


def _run_sync(
    integration_id: int, trigger: str = "schedule", since: datetime | None = None
) -> None:
    from webapp import sync_jobs

    assert _app is not None
    with _app.app_context(), db.connection_context():
        integration = Integration.get_or_none(Integration.id == integration_id)
        if integration is None:
            return
        if trigger == "schedule" and integration.last_sync_started_at is None:
            # A new integration's job starts at once: the sync Save asked for, not a period
            # (is_due still applies: a paused integration is not synced).
            trigger = "first" if is_due(integration) else trigger
        if trigger != "schedule" or is_due(integration):
            extra = {"since": since} if since is not None else {}
            sync_jobs.sync_for_app(_app, integration_id, trigger=trigger, **extra)
        else:
            log.info("integration %s: synced recently by another process", integration_id)
        _follow_database(integration_id)


def _follow_database(integration_id: int) -> None:
    """After a run or a skip: this process's job goes to the due time the database says
    (the last start, by any process, plus one period); never sooner than a minute ahead,
    so a sync that outlasts its period elsewhere is not retried in a loop."""
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None or sync_guard.STOP.is_set():
        return
    _move_job(integration, at_least=DUE_SLACK)


def _run_pending_events() -> None:
    from webapp import sync_jobs

    assert _app is not None
    with _app.app_context(), db.connection_context():
        sync_jobs.apply_waiting_for_app(_app)


def _run_reconcile() -> None:
    assert _app is not None
    with _app.app_context(), db.connection_context():
        reconcile()


def run_soon(
    app: Flask, integration_id: int, trigger: str = "manual", since: datetime | None = None
) -> None:
    """ "Sync now": a one-off job when the scheduler runs, else a background thread.

    ``SYNC_NOW_INLINE`` (tests) runs the sync in the request instead.
    """
    if app.config.get("SYNC_NOW_INLINE"):
        global _app
        _app = app
        _run_sync(integration_id, trigger, since)
        return
    if _scheduler is not None:
        _scheduler.add_job(
            _run_sync,
            args=[integration_id, trigger, *([since] if since is not None else [])],
            id=f"sync-now-{integration_id}",
            replace_existing=True,
            max_instances=1,
        )
        return
    _app_for_thread = app

    def _target() -> None:
        global _app
        _app = _app_for_thread
        _run_sync(integration_id, trigger, since)

    threading.Thread(target=_target, name=f"sync-now-{integration_id}", daemon=True).start()
