"""The sync section of an integration's page: each status, Sync now, polling, history,
and scheduling from the web (create, edit, pause, resume, delete).

Freshchat is the simulator served on loopback, so "Sync now" runs a real sync (inline,
``SYNC_NOW_INLINE``) through the real client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import add_integration, make_test_app
from webapp import scheduler
from webapp.extensions import db
from webapp.freshchat.simulator import FreshchatSimulator, SimAccount, serve_in_thread
from webapp.models import Integration, SyncRun
from webapp.templating import when
from webapp.timeutil import utcnow

DOMAIN = "acme.freshchat.com"
ADMIN_KEY = "sim-admin-key-0001"
WRONG_KEY = "sim-wrong-key-9999"
POLLING = 'hx-trigger="every 1s"'


@pytest.fixture(scope="module")
def sim_server():
    account = SimAccount(DOMAIN, seed=3, chats_per_day=24, history_days=6, admin_key=ADMIN_KEY)
    sim = FreshchatSimulator([account], pending_polls=0)
    with serve_in_thread(sim) as server:
        yield server


@pytest.fixture
def app(tmp_path, sim_server):
    """Like the shared ``app`` fixture (CSRF on), but Freshchat is the local simulator."""
    application = make_test_app(
        tmp_path,
        FRESHCHAT_API_URL=sim_server.api_url_template,
        SYNC_NOW_INLINE=True,
        EXTRACT_POLL_SECONDS=0.0,
    )
    yield application
    scheduler.shutdown()
    db.initialize(None)


def add(app, name="Support", api_key=ADMIN_KEY, **fields) -> int:
    return add_integration(app, name, DOMAIN, api_key, **fields)


def get_row(integration_id: int) -> Integration:
    with db.connection_context():
        return Integration.get_by_id(integration_id)


def runs(integration_id: int) -> list[SyncRun]:
    with db.connection_context():
        return list(SyncRun.select().where(SyncRun.integration == integration_id))


def panel_of(page: str) -> str:
    match = re.search(r'<div id="sync-panel".*?</table>|<div id="sync-panel".*?No sync', page, re.S)
    assert match, "no sync panel on the page"
    return match.group(0)


def panel_tag(html: str) -> str:
    match = re.search(r'<div id="sync-panel"[^>]*>', html)
    assert match
    return match.group(0)


def history_rows(html: str) -> list[str]:
    body = re.search(
        r'<table class="list compact sync-history">.*?<tbody>(.*?)</tbody>', html, re.S
    )
    return re.findall(r"<tr class=\"run-[a-z]+\">(.*?)</tr>", body.group(1), re.S) if body else []


def cells(row_html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)
    ]


# --------------------------------------------------------------------------- states


def test_never_synced_shows_the_state_and_a_csrf_protected_sync_button(admin_client, app):
    integration_id = add(app)
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    tag = panel_tag(page)
    assert 'data-state="never"' in tag and POLLING not in tag
    assert "Never synced" in page and "No sync has run yet." in page
    form = re.search(
        rf'<form method="post" action="/integrations/{integration_id}/sync".*?</form>', page, re.S
    )
    assert form and 'name="csrf_token"' in form.group(0) and "Sync now" in form.group(0)
    # No scheduler in this process: the page says so instead of inventing a time.
    assert "scheduler runs (every 15 min)" in page


def test_sync_now_requires_the_csrf_token(admin_client, app):
    integration_id = add(app)
    response = admin_client.client.post(f"/integrations/{integration_id}/sync", data={})
    assert response.status_code == 400
    assert runs(integration_id) == []


def test_sync_now_runs_and_the_page_turns_healthy_with_a_history_row(admin_client, app):
    integration_id = add(app)
    response = admin_client.post(f"/integrations/{integration_id}/sync")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/integrations/{integration_id}")
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "Sync started." in page  # flashed
    [run] = runs(integration_id)
    assert run.outcome == "ok" and run.trigger == "manual", run.error
    assert run.api_calls > 0 and run.chats_seen > 0 and run.contacts_changed > 0
    tag = panel_tag(page)
    assert 'data-state="healthy"' in tag and POLLING not in tag
    assert "Healthy" in page and "The last sync succeeded." in page
    row = get_row(integration_id)
    assert when(row.last_sync_finished_at, "UTC") in panel_of(page)
    [history] = history_rows(page)
    started, finished, trigger, outcome, calls, seen, changed, details = cells(history)
    assert started == when(run.started_at, "UTC")
    assert finished.startswith(when(run.finished_at, "UTC"))
    assert (trigger, outcome) == ("Sync now", "Succeeded")
    assert (calls, seen, changed) == (
        str(run.api_calls),
        str(run.chats_seen),
        str(run.contacts_changed),
    )
    assert details.startswith("Read ")
    assert row.watermark is not None and row.watermark > utcnow() - timedelta(minutes=5)


def test_sync_now_over_htmx_returns_the_finished_panel_only(admin_client, app):
    integration_id = add(app)
    response = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'data-state="healthy"' in panel_tag(html)
    assert POLLING not in html and "Sync started." in html
    assert response.headers["HX-Trigger"] == "sync-changed"
    assert len(history_rows(html)) == 1


def test_failing_sync_shows_the_error_in_plain_words(admin_client, app):
    integration_id = add(app, api_key=WRONG_KEY)
    page = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True).get_data(
        as_text=True
    )
    assert 'data-state="failing"' in panel_tag(page)
    assert "The last sync failed: Freshchat rejected the API key (401)." in page
    [row] = history_rows(page)
    assert cells(row)[3] == "Failed" and "rejected the API key" in cells(row)[7]
    assert WRONG_KEY not in page
    full = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "Failing" in full and "Freshchat rejected the API key (401)." in full
    assert get_row(integration_id).last_sync_outcome == "error"


def test_syncing_polls_every_second_and_stops_once_finished(admin_client, app):
    integration_id = add(app)
    with db.connection_context():
        run = SyncRun.create(
            integration=integration_id,
            trigger="schedule",
            progress_done=2,
            progress_total=7,
            progress_text="Window 1/2 (…): new chats: waiting for Freshchat's report…",
        )
        Integration.update(
            lease_owner="other-process", lease_until=utcnow() + timedelta(minutes=5)
        ).where(Integration.id == integration_id).execute()
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    tag = panel_tag(page)
    assert 'data-state="syncing"' in tag and POLLING in tag
    assert f'hx-get="/integrations/{integration_id}/sync?polling=1&amp;run={run.id}"' in tag
    assert 'aria-valuenow="29"' in page  # 2 of 7 steps
    assert "Step 2 of 7: Window 1/2" in page
    assert re.search(r"<button[^>]*disabled[^>]*>Sync now</button>", page)
    assert cells(history_rows(page)[0])[3] == "Running"

    # Sync now while the lease is held elsewhere: said plainly, nothing started.
    busy = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True)
    assert "already running" in busy.get_data(as_text=True)
    assert len(runs(integration_id)) == 1

    poll_url = f"/integrations/{integration_id}/sync?polling=1&run={run.id}"
    poll = admin_client.get(poll_url, htmx=True)
    assert POLLING in panel_tag(poll.get_data(as_text=True))
    assert "HX-Trigger" not in poll.headers  # the page already showed this run

    with db.connection_context():
        finished = utcnow()
        SyncRun.update(outcome="ok", finished_at=finished, progress_done=7, api_calls=12).where(
            SyncRun.id == run.id
        ).execute()
        Integration.update(
            lease_owner=None,
            lease_until=None,
            last_sync_outcome="ok",
            last_sync_finished_at=finished,
        ).where(Integration.id == integration_id).execute()
    done = admin_client.get(poll_url, htmx=True)
    html = done.get_data(as_text=True)
    assert "hx-trigger" not in panel_tag(html) and "hx-get" not in panel_tag(html)
    assert 'data-state="healthy"' in panel_tag(html)
    assert done.headers["HX-Trigger"] == "sync-changed"
    assert cells(history_rows(html)[0])[3] == "Succeeded"


def test_a_crashed_run_is_not_shown_as_syncing(admin_client, app):
    integration_id = add(app, last_sync_outcome="ok", last_sync_finished_at=utcnow())
    with db.connection_context():
        SyncRun.create(integration=integration_id, progress_text="Reading groups…")
        # The process died: its lease ran out and nobody released it.
        Integration.update(lease_owner="dead", lease_until=utcnow() - timedelta(seconds=1)).where(
            Integration.id == integration_id
        ).execute()
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert 'data-state="healthy"' in panel_tag(page) and POLLING not in page
    assert cells(history_rows(page)[0])[3] == "Interrupted"


def test_paused_shows_no_sync_button_and_resume_reads_since_the_watermark(admin_client, app):
    watermark = (utcnow() - timedelta(days=3)).replace(microsecond=0)
    integration_id = add(
        app,
        paused=True,
        watermark=watermark,
        last_sync_outcome="ok",
        last_sync_finished_at=watermark,
    )
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert 'data-state="paused"' in panel_tag(page) and "Paused" in page
    assert "none while paused" in page and ">Sync now<" not in page
    refused = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True)
    assert "paused: resume it to sync" in refused.get_data(as_text=True)
    assert runs(integration_id) == []

    assert admin_client.post(f"/integrations/{integration_id}/resume").status_code == 303
    admin_client.post(f"/integrations/{integration_id}/sync")
    [run] = runs(integration_id)
    assert run.outcome == "ok", run.error
    # Everything since the watermark (less the re-read overlap), not just the last period.
    assert run.window_from == watermark - timedelta(minutes=app.config["SYNC_OVERLAP_MINUTES"])
    assert run.chats_seen > 0
    assert get_row(integration_id).watermark > utcnow() - timedelta(minutes=5)


def test_history_shows_the_ten_most_recent_runs_newest_first(admin_client, app):
    integration_id = add(
        app, last_sync_outcome="error", last_error="Freshchat had an internal error."
    )
    base = datetime(2026, 1, 5, 8, 0)
    with db.connection_context():
        for n in range(12):
            SyncRun.create(
                integration=integration_id,
                started_at=base + timedelta(hours=n),
                finished_at=base + timedelta(hours=n, seconds=30),
                outcome="error" if n == 11 else "ok",
                error="Freshchat had an internal error." if n == 11 else None,
                progress_text=f"run {n}",
            )
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    rows = [cells(r) for r in history_rows(page)]
    assert len(rows) == 10
    assert [r[0] for r in rows] == [
        when(base + timedelta(hours=n), "UTC") for n in range(11, 1, -1)
    ]
    assert rows[0][3] == "Failed" and rows[0][7] == "Freshchat had an internal error."
    assert rows[0][1] == when(base + timedelta(hours=11, seconds=30), "UTC") + " (30.0 s)"
    assert rows[1][7] == "run 10"


def test_deleted_integration_has_no_sync_button_and_refuses_sync(admin_client, app):
    integration_id = add(app, deleted_at=utcnow(), paused=True)
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert 'data-state="deleted"' in panel_tag(page) and ">Sync now<" not in page
    assert admin_client.post(f"/integrations/{integration_id}/sync").status_code == 410


def test_panel_url_without_htmx_redirects_to_the_page(admin_client, app):
    integration_id = add(app)
    response = admin_client.get(f"/integrations/{integration_id}/sync")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/integrations/{integration_id}")


# ------------------------------------------------------------- scheduling from the web


def form(**overrides):
    data = {
        "name": "Support chats",
        "domain": DOMAIN,
        "api_key": ADMIN_KEY,
        "sync_every_minutes": "15",
        "backfill_days": "2",
        "display_timezone": "UTC",
        "submission_id": "sub-1",
    }
    data.update(overrides)
    return data


def job(integration_id: int):
    return scheduler._scheduler.get_job(scheduler.job_id(integration_id))


def test_create_edit_pause_resume_delete_drive_the_schedule(admin_client, app, monkeypatch):
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    scheduler.start(app, paused=True)  # real scheduler, jobs never fire
    created = admin_client.post("/integrations/new/freshchat", form())
    assert created.status_code == 303, created.get_data(as_text=True)
    integration_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert job(integration_id).trigger.interval == timedelta(minutes=15)
    next_run = scheduler.next_run_time(integration_id)
    assert get_row(integration_id).next_sync_at == next_run
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert re.search(r'id="sync-next">' + re.escape(when(next_run, "UTC")) + "<", page)

    edited = admin_client.post(
        f"/integrations/{integration_id}/edit", form(sync_every_minutes="30", api_key="")
    )
    assert edited.status_code == 303, edited.get_data(as_text=True)
    assert job(integration_id).trigger.interval == timedelta(minutes=30)

    admin_client.post(f"/integrations/{integration_id}/pause")
    assert job(integration_id) is None and get_row(integration_id).next_sync_at is None
    admin_client.post(f"/integrations/{integration_id}/resume")
    assert job(integration_id).trigger.interval == timedelta(minutes=30)
    assert get_row(integration_id).next_sync_at is not None

    admin_client.post(f"/integrations/{integration_id}/delete", {"remove_data": ""})
    assert get_row(integration_id).is_deleted
    assert job(integration_id) is None and scheduler.next_run_time(integration_id) is None


def test_background_sync_now_keeps_polling_until_its_run_appears(admin_client, app, monkeypatch):
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    app.config["SYNC_NOW_INLINE"] = False
    integration_id = add(app)
    scheduler.start(app, paused=True)
    response = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True)
    html = response.get_data(as_text=True)
    tag = panel_tag(html)
    assert POLLING in tag and "after=0" in tag and "Waiting for the sync to start" in html
    assert "HX-Trigger" not in response.headers
    assert scheduler._scheduler.get_job(f"sync-now-{integration_id}") is not None
    poll_url = re.search(r'hx-get="([^"]+)"', tag).group(1).replace("&amp;", "&")

    still = admin_client.get(poll_url, htmx=True)
    assert POLLING in panel_tag(still.get_data(as_text=True))
    with db.connection_context():  # the background run happens (here: by hand)
        SyncRun.create(integration=integration_id, outcome="ok", finished_at=utcnow())
        Integration.update(last_sync_outcome="ok", last_sync_finished_at=utcnow()).where(
            Integration.id == integration_id
        ).execute()
    done = admin_client.get(poll_url, htmx=True)
    assert "hx-trigger" not in panel_tag(done.get_data(as_text=True))
    assert done.headers["HX-Trigger"] == "sync-changed"

    # A wait that ran out stops polling even if no run ever appeared.
    expired = re.sub(r"until=[0-9.]+", f"until={datetime.now(UTC).timestamp() - 1}", poll_url)
    expired = expired.replace("after=0", "after=999")
    assert "hx-trigger" not in panel_tag(
        admin_client.get(expired, htmx=True).get_data(as_text=True)
    )


# --------------------------------------------- other regions follow a run's start and end


def start_running_run(integration_id: int, **fields) -> SyncRun:
    """What a background sync writes when it starts: a running row and a held lease."""
    with db.connection_context():
        run = SyncRun.create(integration=integration_id, trigger="manual", **fields)
        Integration.update(
            lease_owner="background", lease_until=utcnow() + timedelta(minutes=5)
        ).where(Integration.id == integration_id).execute()
        return run


def finish(run: SyncRun) -> None:
    with db.connection_context():
        finished = utcnow()
        SyncRun.update(outcome="ok", finished_at=finished).where(SyncRun.id == run.id).execute()
        Integration.update(
            lease_owner=None,
            lease_until=None,
            last_sync_outcome="ok",
            last_sync_finished_at=finished,
        ).where(Integration.id == run.integration_id).execute()


def poll_url_of(html: str) -> str:
    return re.search(r'hx-get="([^"]+)"', panel_tag(html)).group(1).replace("&amp;", "&")


def test_sync_changed_fires_once_when_the_run_starts_and_once_when_it_ends(
    admin_client, app, monkeypatch
):
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    app.config["SYNC_NOW_INLINE"] = False
    integration_id = add(app, last_sync_outcome="ok", last_sync_finished_at=utcnow())
    scheduler.start(app, paused=True)
    pressed = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True)
    assert "HX-Trigger" not in pressed.headers  # nothing has started yet
    waiting_url = poll_url_of(pressed.get_data(as_text=True))
    assert "HX-Trigger" not in admin_client.get(waiting_url, htmx=True).headers

    run = start_running_run(integration_id, progress_total=4, progress_text="Reading groups…")
    first = admin_client.get(waiting_url, htmx=True)
    html = first.get_data(as_text=True)
    assert 'data-state="syncing"' in panel_tag(html)
    assert first.headers["HX-Trigger"] == "sync-changed"  # idle -> running
    running_url = poll_url_of(html)
    assert f"run={run.id}" in running_url
    # The heading badge refetched on that event now says Syncing.
    badge = admin_client.get(f"/integrations/{integration_id}/status-badge", htmx=True)
    assert "Syncing" in badge.get_data(as_text=True)

    for _ in range(3):  # later polls of the same run stay quiet: no refresh loop
        again = admin_client.get(running_url, htmx=True)
        assert POLLING in panel_tag(again.get_data(as_text=True))
        assert "HX-Trigger" not in again.headers

    finish(run)
    done = admin_client.get(running_url, htmx=True)
    assert done.headers["HX-Trigger"] == "sync-changed"  # running -> done
    assert 'data-state="healthy"' in panel_tag(done.get_data(as_text=True))


def test_a_new_run_seen_by_a_poll_of_an_older_one_fires_sync_changed(admin_client, app):
    integration_id = add(app)
    older = start_running_run(integration_id)
    finish(older)
    newer = start_running_run(integration_id)
    response = admin_client.get(
        f"/integrations/{integration_id}/sync?polling=1&run={older.id}", htmx=True
    )
    assert response.headers["HX-Trigger"] == "sync-changed"
    assert f"run={newer.id}" in poll_url_of(response.get_data(as_text=True))


def test_sync_now_whose_run_is_already_running_fires_sync_changed(admin_client, app, monkeypatch):
    integration_id = add(app)
    started: list[SyncRun] = []

    def fast_start(_app, ident, trigger="manual"):
        started.append(start_running_run(ident))

    monkeypatch.setattr(scheduler, "run_soon", fast_start)
    response = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True)
    html = response.get_data(as_text=True)
    assert 'data-state="syncing"' in panel_tag(html) and started
    assert response.headers["HX-Trigger"] == "sync-changed"
    # The next poll carries the run it showed, so it does not fire again.
    assert f"run={started[0].id}" in poll_url_of(html)
    assert "HX-Trigger" not in admin_client.get(poll_url_of(html), htmx=True).headers


def test_sync_now_refused_while_paused_fires_nothing(admin_client, app):
    integration_id = add(app, paused=True)
    response = admin_client.post(f"/integrations/{integration_id}/sync", htmx=True)
    assert "paused" in response.get_data(as_text=True)
    assert "HX-Trigger" not in response.headers


def test_progress_says_starting_before_the_first_step(admin_client, app):
    integration_id = add(app)
    run = start_running_run(
        integration_id, progress_done=0, progress_total=4, progress_text="Reading groups…"
    )
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "Starting… Reading groups…" in page and "Step 0" not in page
    with db.connection_context():
        SyncRun.update(progress_text="Starting…").where(SyncRun.id == run.id).execute()
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert re.search(r'id="sync-progress-text">Starting…</p>', page)


# ------------------------------------------------------------ wording and narrow layout


def test_one_run_is_worded_in_the_singular(admin_client, app):
    integration_id = add(app)
    admin_client.post(f"/integrations/{integration_id}/sync")
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "The only run so far." in page and "The 1 most recent" not in page
    details = cells(history_rows(page)[0])[7]
    # Two days of backfill fit in one Extract window.
    assert " over 1 window; " in details and "(s)" not in details, details
    [run] = runs(integration_id)
    assert f"; {run.contacts_changed} contacts changed." in details


def test_wide_tables_scroll_inside_their_own_box(admin_client, app):
    integration_id = add(app)
    admin_client.post(f"/integrations/{integration_id}/sync")
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert re.search(
        r'<div class="table-scroll"[^>]*>\s*<table class="list compact sync-history">', page
    )
    listing = admin_client.get("/integrations").get_data(as_text=True)
    assert re.search(r'<div class="table-scroll"[^>]*>\s*<table class="list">', listing)


def test_the_list_shows_why_an_integration_is_failing(admin_client, app):
    long_error = "Freshchat had an internal error (500). " + "Details follow. " * 12
    add(app, name="Broken", last_sync_outcome="error", last_error=long_error.strip())
    add(app, name="Fine", last_sync_outcome="ok", last_sync_finished_at=utcnow())
    listing = admin_client.get("/integrations").get_data(as_text=True)
    shown = re.findall(r'<div class="list-error" title="([^"]*)">([^<]*)</div>', listing)
    assert len(shown) == 1  # only for the failing one
    title, text = shown[0]
    assert title == long_error.strip()
    assert text.startswith("Freshchat had an internal error (500).")
    assert text.endswith("...") and len(text) <= 93
    # The HTMX refresh of the list (on sync-changed) shows it too.
    fragment = admin_client.get("/integrations", htmx=True).get_data(as_text=True)
    assert 'class="list-error"' in fragment and "<html" not in fragment


def test_only_deleted_integrations_say_no_active_one_and_keep_the_deleted_list(admin_client, app):
    add(app, name="Old chats", deleted_at=utcnow(), paused=True)
    listing = admin_client.get("/integrations").get_data(as_text=True)
    assert "No active integration" in listing and "No integration yet" not in listing
    assert "Deleted integrations" in listing and "Old chats" in listing


def test_every_page_links_a_favicon_that_is_served(admin_client, app):
    page = admin_client.get("/integrations").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    icon = admin_client.client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data
