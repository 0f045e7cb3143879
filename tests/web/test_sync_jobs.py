"""Whoever schedules a sync (the scheduler, **Sync now**, ``flask sync``) calls one
orchestrator, ``sync_jobs.sync_then_apply``: sync, then apply the pushed events that
waited. And pausing is decided by ``webapp.pause`` alone: a paused integration runs no sync
of any kind and keeps pushed events unapplied until it is resumed."""

from __future__ import annotations

import pytest

from tests.conftest import add_integration
from tests.web.test_push import created, make_integration, post, resolved, stats
from webapp import integrations as service
from webapp import pause, push, scheduler, sync_jobs
from webapp.extensions import db
from webapp.models import InboundEvent, Integration, SyncRun
from webapp.sync import SyncOutcome


@pytest.fixture
def calls(monkeypatch):
    """What the orchestrator did, in order; the sync itself is faked (no Freshchat)."""
    seen: list[tuple[str, int, str]] = []
    outcome = {"ok": True}

    def fake_run_sync(integration_id, client_factory, *, trigger, **_options):
        seen.append(("sync", integration_id, trigger))
        return SyncOutcome(SyncRun(), outcome["ok"], "done" if outcome["ok"] else "failed")

    def fake_apply(integration_id, client_factory, **_options):
        seen.append(("apply", integration_id, ""))
        return 0

    monkeypatch.setattr(sync_jobs, "run_sync", fake_run_sync)
    monkeypatch.setattr(push, "apply_pending_for", fake_apply)
    seen_outcome = seen, outcome
    return seen_outcome


def test_the_scheduler_syncs_then_applies_what_waits(app, calls, monkeypatch):
    seen, _outcome = calls
    integration_id = add_integration(app, "Support", "acme.freshchat.com", "key-12345678")
    monkeypatch.setattr(scheduler, "_app", app)
    scheduler._run_sync(integration_id)
    assert seen == [("sync", integration_id, "first"), ("apply", integration_id, "")]


def test_sync_now_syncs_then_applies_what_waits(app, admin_client, calls):
    seen, _outcome = calls
    integration_id = add_integration(app, "Support", "acme.freshchat.com", "key-12345678")
    response = admin_client.post(f"/integrations/{integration_id}/sync")
    assert response.status_code == 303
    assert seen == [("sync", integration_id, "manual"), ("apply", integration_id, "")]


def test_the_cli_syncs_then_applies_what_waits(app, calls):
    seen, _outcome = calls
    integration_id = add_integration(app, "Support", "acme.freshchat.com", "key-12345678")
    result = app.test_cli_runner().invoke(args=["sync", "Support"])
    assert result.exit_code == 0, result.output
    assert seen == [("sync", integration_id, "cli"), ("apply", integration_id, "")]


def test_a_failed_sync_leaves_the_waiting_events_for_the_minute_job(app, calls):
    seen, outcome = calls
    outcome["ok"] = False
    integration_id = add_integration(app, "Support", "acme.freshchat.com", "key-12345678")
    with app.app_context(), db.connection_context():
        result = sync_jobs.sync_for_app(app, integration_id, trigger="manual")
    assert result is not None and not result.ok
    assert seen == [("sync", integration_id, "manual")]


def test_held_pushed_events_are_applied_by_the_sync_that_follows(app, client, monkeypatch):
    """Real applying: events waiting (their groups unknown) are settled after the sync."""
    integration_id, key = make_integration(app)
    with db.connection_context():
        Integration.update(paused=True).where(Integration.id == integration_id).execute()
    assert post(client, key, [created(), resolved()]).status_code == 202
    assert stats(integration_id) == {}
    with db.connection_context():
        Integration.update(paused=False).where(Integration.id == integration_id).execute()
    monkeypatch.setattr(
        sync_jobs,
        "run_sync",
        lambda integration_id, *_args, **_options: SyncOutcome(SyncRun(), True, "done"),
    )
    with app.app_context(), db.connection_context():
        assert sync_jobs.sync_for_app(app, integration_id, trigger="manual").ok
        assert not InboundEvent.select().where(InboundEvent.applied_at.is_null()).exists()
    assert sum(stats(integration_id).values()) == 1


# --------------------------------------------------------------------------- the pause rule


def test_paused_no_sync_of_any_kind_runs(app, admin_client, calls, monkeypatch):
    seen, _outcome = calls
    integration_id = add_integration(
        app, "Support", "acme.freshchat.com", "key-12345678", paused=True
    )
    monkeypatch.setattr(scheduler, "_app", app)
    scheduler._run_sync(integration_id)  # scheduled: skipped
    scheduler._run_sync(integration_id, "manual")  # even if asked for directly
    refused = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True)
    assert str(pause.SYNC_REFUSED) in refused.get_data(as_text=True)
    reimport = admin_client.post(
        f"/integrations/{integration_id}/reimport", {"since": "2026-11-01"}
    )
    assert reimport.status_code in (302, 303)
    cli = app.test_cli_runner().invoke(args=["sync", "Support"])
    assert cli.exit_code != 0 and cli.stderr.strip() == f"Error: “Support”: {pause.SYNC_REFUSED}"
    every = app.test_cli_runner().invoke(args=["sync"])
    assert every.exit_code == 0 and every.stdout == "No active integration to sync.\n"
    assert seen == []


def test_paused_pushed_events_are_kept_then_applied_on_resume_only(app, client):
    integration_id, key = make_integration(app)
    with db.connection_context():
        integration = Integration.get_by_id(integration_id)
        service.set_paused(integration, True)
        assert not pause.may_sync(integration) and not pause.applies_pushed(integration)
    response = post(client, key, [created(), resolved()])
    assert response.status_code == 202
    assert response.json["note"] == pause.PUSH_NOTE
    with app.app_context(), db.connection_context():
        assert sync_jobs.apply_waiting_for_app(app) == 0
        # A sync asked for by hand does not run either, so nothing is applied by it.
        assert sync_jobs.sync_for_app(app, integration_id, trigger="manual") is None
    assert stats(integration_id) == {}
    with db.connection_context():
        integration = Integration.get_by_id(integration_id)
        service.set_paused(integration, False)
        assert pause.may_sync(integration) and pause.applies_pushed(integration)
    with app.app_context(), db.connection_context():
        assert sync_jobs.apply_waiting_for_app(app) == 2
    assert sum(stats(integration_id).values()) == 1


def test_the_status_of_a_paused_integration_says_the_rule(app):
    from webapp.status import describe

    integration_id = add_integration(
        app, "Support", "acme.freshchat.com", "key-12345678", paused=True
    )
    with db.connection_context():
        status = describe(Integration.get_by_id(integration_id))
    assert (status.state, status.detail) == ("paused", pause.STATUS_DETAIL)


def test_pausing_and_resuming_from_the_page_say_the_rule(app, admin_client):
    integration_id = add_integration(app, "Support", "acme.freshchat.com", "key-12345678")
    paused = admin_client.post(f"/integrations/{integration_id}/pause", follow_redirects=True)
    assert str(pause.PAUSED_DONE) in paused.get_data(as_text=True)
    with db.connection_context():
        assert not pause.may_sync(Integration.get_by_id(integration_id))
    resumed = admin_client.post(f"/integrations/{integration_id}/resume", follow_redirects=True)
    assert str(pause.RESUMED_DONE) in resumed.get_data(as_text=True)
    with db.connection_context():
        assert pause.may_sync(Integration.get_by_id(integration_id))
