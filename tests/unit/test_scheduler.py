"""APScheduler wiring with a real BackgroundScheduler, started paused: jobs are inspected,
never waited for, so nothing here talks to Freshchat or sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
import pytest
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask.cli import run_command

from webapp import scheduler, sync_jobs
from webapp.extensions import db
from webapp.models import Integration, SyncRun
from webapp.timeutil import utcnow

SLACK = timedelta(seconds=5)


def make(name: str, **fields) -> int:
    with db.connection_context():
        return Integration.create(
            name=name,
            name_key=name.lower(),
            domain=f"{name.lower()}.freshchat.com",
            api_key_encrypted="not-used",
            api_key_last4="1234",
            **fields,
        ).id


def row(integration_id: int) -> Integration:
    with db.connection_context():
        return Integration.get_by_id(integration_id)


def reschedule(integration_id: int) -> None:
    with db.connection_context():
        scheduler.schedule_integration(Integration.get_by_id(integration_id))


@pytest.fixture
def started(app, monkeypatch):
    """The process scheduler, paused so that no job fires during the test."""
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    yield lambda: scheduler.start(app, paused=True)
    scheduler.shutdown()


def sync_job(integration_id: int):
    return scheduler._scheduler.get_job(scheduler.job_id(integration_id))


def test_start_schedules_one_job_per_active_integration(app, started):
    fresh = make("Fresh", sync_every_minutes=30)
    started_at = utcnow() - timedelta(minutes=5)
    recent = make("Recent", sync_every_minutes=15, last_sync_started_at=started_at)
    paused = make("Paused", paused=True, next_sync_at=utcnow())
    deleted = make("Deleted", deleted_at=utcnow())
    before = datetime.now(UTC)

    assert started() is scheduler._scheduler
    assert scheduler.is_running()

    ids = {job.id for job in scheduler._scheduler.get_jobs()}
    assert ids == {
        scheduler.job_id(fresh),
        scheduler.job_id(recent),
        scheduler.PENDING_EVENTS_JOB,
        scheduler.RECONCILE_JOB,
    }
    for integration_id, minutes in ((fresh, 30), (recent, 15)):
        job = sync_job(integration_id)
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(minutes=minutes)
        assert job.max_instances == 1 and job.coalesce is True
        assert job.func is scheduler._run_sync and list(job.args) == [integration_id]
    # Never synced: due at once. Synced 5 minutes ago every 15: due 10 minutes from now.
    assert before - SLACK <= sync_job(fresh).next_run_time <= datetime.now(UTC)
    expected = (started_at + timedelta(minutes=15)).replace(tzinfo=UTC)
    assert sync_job(recent).next_run_time == expected
    # The UI reads the next run from the database, not from the scheduler object.
    assert row(recent).next_sync_at == scheduler.next_run_time(recent)
    assert row(recent).next_sync_at == expected.replace(tzinfo=None)
    assert row(paused).next_sync_at is None
    assert scheduler.next_run_time(paused) is None and scheduler.next_run_time(deleted) is None
    # Starting twice in one process keeps the one scheduler.
    assert started() is scheduler._scheduler


def test_editing_the_frequency_replaces_the_job(app, started):
    integration_id = make("Main", last_sync_started_at=utcnow() - timedelta(minutes=10))
    started()
    assert sync_job(integration_id).trigger.interval == timedelta(minutes=15)
    with db.connection_context():
        Integration.update(sync_every_minutes=60).where(Integration.id == integration_id).execute()
    reschedule(integration_id)
    jobs = [j for j in scheduler._scheduler.get_jobs() if j.id.startswith("sync-")]
    assert [j.id for j in jobs] == [scheduler.job_id(integration_id)]
    assert jobs[0].trigger.interval == timedelta(minutes=60)
    # Next run: one (new) period after the last sync started.
    started_at = row(integration_id).last_sync_started_at
    assert scheduler.next_run_time(integration_id) == started_at + timedelta(minutes=60)
    assert row(integration_id).next_sync_at == started_at + timedelta(minutes=60)


def test_pause_unschedules_and_resume_is_due_at_once(app, started):
    integration_id = make("Main", last_sync_started_at=utcnow() - timedelta(days=3))
    started()
    assert sync_job(integration_id) is not None
    with db.connection_context():
        Integration.update(paused=True).where(Integration.id == integration_id).execute()
    reschedule(integration_id)
    assert sync_job(integration_id) is None
    assert row(integration_id).next_sync_at is None
    with db.connection_context():
        Integration.update(paused=False).where(Integration.id == integration_id).execute()
    before = utcnow()
    reschedule(integration_id)
    # Three days since the last sync: the first run after resuming is now, not in 15 min.
    assert before - SLACK <= scheduler.next_run_time(integration_id) <= utcnow() + SLACK


def test_unschedule_removes_the_job(app, started):
    integration_id = make("Main")
    started()
    scheduler.unschedule_integration(integration_id)
    assert sync_job(integration_id) is None and scheduler.next_run_time(integration_id) is None
    scheduler.unschedule_integration(integration_id)  # twice is harmless


def test_reconcile_follows_changes_made_by_other_processes(app, started):
    kept = make("Kept")
    gone = make("Gone")
    started()
    # What the CLI or another worker did directly in the database:
    added = make("Added", sync_every_minutes=60)
    with db.connection_context():
        Integration.update(deleted_at=utcnow()).where(Integration.id == gone).execute()
        Integration.update(sync_every_minutes=30).where(Integration.id == kept).execute()
        assert scheduler.reconcile() == 3
        assert scheduler.reconcile() == 0  # already in step: nothing moves
    assert sync_job(gone) is None
    assert sync_job(added).trigger.interval == timedelta(minutes=60)
    assert sync_job(kept).trigger.interval == timedelta(minutes=30)
    assert row(added).next_sync_at is not None
    # A matching job keeps its next run time (reconcile must not postpone syncs).
    next_run = sync_job(kept).next_run_time
    with db.connection_context():
        Integration.update(last_sync_finished_at=utcnow()).where(Integration.id == kept).execute()
        assert scheduler.reconcile() == 0
    assert sync_job(kept).next_run_time == next_run
    # A sync *started* by another process (its Sync now, `flask sync`): this process's
    # job moves to one period after that start, the time every process shows.
    other_start = utcnow()
    with db.connection_context():
        Integration.update(last_sync_started_at=other_start).where(Integration.id == kept).execute()
        assert scheduler.reconcile() == 1
    assert scheduler.next_run_time(kept) == other_start + timedelta(minutes=30)


def test_without_a_scheduler_scheduling_is_a_no_op(app, monkeypatch):
    integration_id = make("Main")
    assert not scheduler.is_running()
    reschedule(integration_id)
    assert scheduler.next_run_time(integration_id) is None
    assert row(integration_id).next_sync_at is None
    with db.connection_context():
        assert scheduler.reconcile() == 0


def test_reloader_watcher_does_not_start_a_scheduler(app, monkeypatch):
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    try:
        with click.Context(run_command, info_name="run") as ctx:
            ctx.params["reload"] = True
            assert scheduler.in_reloader_watcher()
            assert scheduler.start(app, paused=True) is None
            assert not scheduler.is_running()
            # The reloader's serving child is the one that schedules.
            monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
            assert not scheduler.in_reloader_watcher()
            assert scheduler.start(app, paused=True) is not None
        scheduler.shutdown()
        monkeypatch.delenv("WERKZEUG_RUN_MAIN")
        with click.Context(run_command, info_name="run") as ctx:
            ctx.params["reload"] = False  # flask run --no-reload: one process
            assert not scheduler.in_reloader_watcher()
        with click.Context(run_command, info_name="run") as ctx:
            ctx.params["reload"] = None  # default: reload only in debug mode
            monkeypatch.setenv("FLASK_DEBUG", "1")
            assert scheduler.in_reloader_watcher()
            monkeypatch.setenv("FLASK_DEBUG", "0")
            assert not scheduler.in_reloader_watcher()
        assert not scheduler.in_reloader_watcher()  # `flask serve`, tests, waitress
    finally:
        scheduler.shutdown()


def test_scheduled_run_skips_what_another_scheduler_just_synced(app, monkeypatch):
    calls = []
    monkeypatch.setattr(sync_jobs, "sync_for_app", lambda _app, iid, **kw: calls.append(kw))
    monkeypatch.setattr(scheduler, "_app", app)
    recent = make("Recent", last_sync_started_at=utcnow() - timedelta(minutes=3))
    due = make("Due", last_sync_started_at=utcnow() - timedelta(minutes=14, seconds=30))
    never = make("Never")
    paused = make("Paused", paused=True)
    for integration_id in (recent, due, never, paused):
        scheduler._run_sync(integration_id)
    # Due, and never synced: the sync that saving a new integration starts.
    assert calls == [{"trigger": "schedule"}, {"trigger": "first"}]
    # "Sync now" is the admin's explicit wish: no period check.
    scheduler._run_sync(recent, "manual")
    assert calls[-1] == {"trigger": "manual"}


def test_paused_integration_is_not_synced_by_schedule(app):
    integration_id = make("Paused", paused=True)
    with app.app_context(), db.connection_context():
        assert sync_jobs.sync_for_app(app, integration_id, trigger="schedule") is None
        assert SyncRun.select().count() == 0


def test_sync_now_with_a_running_scheduler_adds_a_one_off_job(app, started):
    app.config["SYNC_NOW_INLINE"] = False
    integration_id = make("Main")
    started()
    scheduler.run_soon(app, integration_id)
    job = scheduler._scheduler.get_job(f"sync-now-{integration_id}")
    assert isinstance(job.trigger, DateTrigger)
    assert list(job.args) == [integration_id, "manual"]
    # A one-off job is not a schedule: reconcile leaves it alone.
    with db.connection_context():
        assert scheduler.reconcile() == 0
    assert scheduler._scheduler.get_job(f"sync-now-{integration_id}") is not None


def test_after_sync_now_the_next_sync_shown_is_the_one_that_runs(app, started, monkeypatch):
    """The bug: after Sync now the page showed the old schedule's next run, which the
    period check then skipped as "synced by another process"."""
    from webapp.freshchat.client import FreshchatError

    def offline(_integration):
        raise FreshchatError("offline")  # the run starts, then fails at once: no network

    monkeypatch.setattr(sync_jobs, "client_factory_for", lambda *_args: offline)
    monkeypatch.setattr(scheduler, "_app", app)
    integration_id = make("Main", last_sync_started_at=utcnow() - timedelta(minutes=10))
    started()
    old_next = scheduler.next_run_time(integration_id)  # 5 minutes from now
    assert row(integration_id).next_sync_at == old_next

    scheduler._run_sync(integration_id, "manual")  # Sync now
    sync_now = row(integration_id).last_sync_started_at
    assert sync_now > old_next - timedelta(minutes=15)
    expected = sync_now + timedelta(minutes=15)
    assert row(integration_id).next_sync_at == expected  # what the page shows
    assert scheduler.next_run_time(integration_id) == expected  # when this process runs it

    # The old schedule's time comes (another process's job, not yet reconciled): skipped,
    # and the time shown does not move.
    scheduler._run_sync(integration_id)
    assert row(integration_id).last_sync_started_at == sync_now
    assert row(integration_id).next_sync_at == expected
    assert scheduler.next_run_time(integration_id) == expected
