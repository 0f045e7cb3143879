"""The integration page's data section: Check data access, its download, Re-import a range;
``flask diagnose``; the credential check's 403 wording. Freshchat is the simulator."""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from peewee import SQL

from tests.conftest import add_integration, make_test_app
from webapp import data_checks, scheduler
from webapp.clients import ClientSettings
from webapp.connection import check_credentials
from webapp.database import now_seconds_sql
from webapp.extensions import db
from webapp.freshchat.simulator import FreshchatSimulator, SimAccount, serve_in_thread
from webapp.models import DataCheck, Integration, SyncRun
from webapp.timeutil import utcnow

DOMAIN = "acme.freshchat.com"
ADMIN_KEY = "sim-admin-key-0003"


@pytest.fixture(scope="module", params=["classic", "real"])
def sim(request):
    account = SimAccount(DOMAIN, seed=9, chats_per_day=48, history_days=4, admin_key=ADMIN_KEY)
    simulator = FreshchatSimulator([account], pending_polls=0, dialect=request.param)
    with serve_in_thread(simulator) as server:
        simulator.server = server
        simulator.account = account
        yield simulator


@pytest.fixture
def app(tmp_path, sim):
    application = make_test_app(
        tmp_path,
        FRESHCHAT_API_URL=sim.server.api_url_template,
        SYNC_NOW_INLINE=True,
        EXTRACT_POLL_SECONDS=0.0,
    )
    yield application
    scheduler.shutdown()
    db.initialize(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(app, admin_client):
    return admin_client


class Texts(HTMLParser):
    """Text of the elements with an id, and every link's href: what a reader sees."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.by_id: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self._href: str | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        attributes = dict(attrs)
        if tag in ("input", "br", "meta", "link", "img"):
            return
        self.stack.append(attributes.get("id"))
        if attributes.get("id"):
            self.by_id.setdefault(attributes["id"], "")
        if tag == "a":
            self._href = attributes.get("href")
            self.links[self._href or ""] = ""

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag in ("input", "br", "meta", "link", "img"):
            return
        if self.stack:
            self.stack.pop()
        if tag == "a":
            self._href = None

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        for element_id in filter(None, self.stack):
            self.by_id[element_id] += data
        if self._href is not None:
            self.links[self._href] += data


def read(html: str) -> Texts:
    parser = Texts()
    parser.feed(html)
    return parser


def test_check_data_access_shows_each_events_header_and_rows_then_downloads_safe_json(
    app, admin, sim
):
    integration_id = add_integration(app, "Support", DOMAIN, ADMIN_KEY)
    page = read(admin.get(f"/integrations/{integration_id}").get_data(as_text=True))
    assert "Check data access" in page.by_id["data"]

    answer = admin.post(f"/integrations/{integration_id}/diagnose", htmx=True)
    assert answer.status_code == 200
    panel = read(answer.get_data(as_text=True))
    result = panel.by_id["diagnosis-result"]
    for event in ("Conversation-Created", "Conversation-Group-Assigned", "Conversation-Resolved"):
        assert f"{event}: ok" in result
    assert "Groups listed3" in " ".join(result.split())
    assert "X-RateLimit-Limit: 500" in result
    assert "chat id" in result and "group id" in result and "would be applied" in result
    assert "Everything the sync needs was found." in panel.by_id["diagnosis-findings"]
    download_url = f"/integrations/{integration_id}/diagnostic.json"
    assert panel.links[download_url] == "Download diagnostic"
    with app.app_context(), db.connection_context():
        assert SyncRun.select().count() == 0  # nothing applied, nothing stored

    download = admin.get(download_url)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    assert download.headers["Cache-Control"] == "no-store"
    body = download.get_data(as_text=True)
    report = json.loads(body)
    events = {e["event"]: e for e in report["events"]}
    resolved = events["Conversation-Resolved"]
    assert resolved["rows"] > 0 and resolved["would_apply"] == resolved["rows"]
    assert all(len(h) == 16 for h in resolved["sample_chat_ids"])
    columns = [c["column"] for c in resolved["headers"][0]["columns"]]
    assert "conversation_id" in columns
    # Safe to send: no conversation id in clear, no group or agent name, no cell value.
    now = utcnow()
    chats = list(sim.account.iter_chats(now - timedelta(days=3), now))
    assert chats and not any(chat.conversation_id in body for chat in chats)
    for group in sim.account.groups:
        assert group.name not in body
    assert report["groups_listed"] == 3


def test_the_check_shows_progress_while_it_runs_and_refuses_a_second_one(app, admin):
    integration_id = add_integration(app, "Support", DOMAIN, ADMIN_KEY)
    with app.app_context(), db.connection_context():
        running = data_checks.begin(Integration.get_by_id(integration_id), utcnow())
        running.diagnosis.progress = "Conversation-Created: waiting for Freshchat's report"
        data_checks.save(running)
    html = admin.get(f"/integrations/{integration_id}/diagnose", htmx=True).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and '<progress class="progress"' in html
    assert "Step 1 of 4: Conversation-Created: waiting" in read(html).by_id["diagnosis-progress"]
    again = admin.post(f"/integrations/{integration_id}/diagnose", htmx=True)
    assert "A check is already running" in again.get_data(as_text=True)
    assert admin.get(f"/integrations/{integration_id}/diagnostic.json").status_code == 404
    # Without HTMX the panel's URL is the page.
    plain = admin.get(f"/integrations/{integration_id}/diagnose")
    assert plain.status_code == 303 and plain.headers["Location"].endswith("#data")


def test_a_check_whose_process_went_silent_is_shown_interrupted_and_may_be_run_again(app, admin):
    integration_id = add_integration(app, "Support", DOMAIN, ADMIN_KEY)
    with app.app_context(), db.connection_context():
        data_checks.begin(Integration.get_by_id(integration_id), utcnow())
        # Its worker's last beat, just over the limit ago on the database's clock.
        silent_since = SQL(now_seconds_sql()) - (data_checks.STALE_AFTER_SECONDS + 1)
        DataCheck.update(beat_at=silent_since).execute()
    html = admin.get(f"/integrations/{integration_id}/diagnose", htmx=True).get_data(as_text=True)
    panel = read(html)
    assert "was interrupted" in panel.by_id["diagnosis-interrupted"]
    assert 'data-state="interrupted"' in html and "hx-trigger" not in html  # no more polling
    assert "<progress" not in html and "disabled" not in html
    assert admin.get(f"/integrations/{integration_id}/diagnostic.json").status_code == 404

    again = admin.post(f"/integrations/{integration_id}/diagnose", htmx=True)
    assert (
        "Everything the sync needs was found."
        in read(again.get_data(as_text=True)).by_id["diagnosis-findings"]
    )
    assert admin.get(f"/integrations/{integration_id}/diagnostic.json").status_code == 200


def test_deleting_the_integration_removes_its_check(app, admin):
    kept = add_integration(app, "Kept", DOMAIN, ADMIN_KEY)
    gone = add_integration(app, "Gone", DOMAIN, ADMIN_KEY)
    for integration_id in (kept, gone):
        admin.post(f"/integrations/{integration_id}/diagnose", htmx=True)
    answer = admin.post(f"/integrations/{gone}/delete", {"confirm_name": "Gone"})
    assert answer.status_code == 303
    with app.app_context(), db.connection_context():
        assert [row.integration_id for row in DataCheck.select()] == [kept]
    html = admin.get(f"/integrations/{gone}/diagnose", htmx=True).get_data(as_text=True)
    assert 'data-state="none"' in html
    # Deleted with its statistics: the row goes with the integration's.
    answer = admin.post(
        f"/integrations/{kept}/delete", {"remove_data": "y", "confirm_name": "Kept"}
    )
    assert answer.status_code == 303
    with app.app_context(), db.connection_context():
        assert DataCheck.select().count() == 0


def test_a_rejected_key_is_reported_per_event_and_by_the_cli(app, admin, tmp_path):
    integration_id = add_integration(app, "Broken", DOMAIN, "sim-wrong-key")
    html = admin.post(f"/integrations/{integration_id}/diagnose", htmx=True).get_data(as_text=True)
    result = read(html).by_id["diagnosis-result"]
    assert "Conversation-Created: failed" in result
    assert "rejected the API key (401)" in result

    out = tmp_path / "diagnostic.json"
    cli = app.test_cli_runner().invoke(args=["diagnose", "Broken", "--out", str(out)])
    assert cli.exit_code == 1
    assert "Conversation-Resolved: failed" in cli.output
    assert json.loads(out.read_text())["events"][0]["outcome"] == "failed"


def test_flask_diagnose_prints_the_report_and_writes_the_json(app, tmp_path):
    add_integration(app, "Support", DOMAIN, ADMIN_KEY)
    out = tmp_path / "d.json"
    result = app.test_cli_runner().invoke(args=["diagnose", "Support", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "[4/4] Conversation-Resolved: ok" in result.output
    assert "header" in result.output and "→ chat id" in result.output
    assert "Finding: Everything the sync needs was found." in result.output
    report = json.loads(out.read_text())
    assert [e["event"] for e in report["events"]] == [
        "Conversation-Created",
        "Conversation-Group-Assigned",
        "Conversation-Resolved",
    ]
    failed = app.test_cli_runner().invoke(args=["diagnose", "Nope"])
    assert failed.exit_code == 1 and "no integration named" in failed.output


def test_reimport_a_range_from_the_page(app, admin):
    integration_id = add_integration(app, "Support", DOMAIN, ADMIN_KEY)
    since = (utcnow() - timedelta(days=2)).date().isoformat()
    answer = admin.post(f"/integrations/{integration_id}/reimport", {"since": since})
    assert answer.status_code == 303
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Re-import from " in read(page).by_id["flash"]
    with app.app_context(), db.connection_context():
        [run] = SyncRun.select()
        assert (run.trigger, run.outcome) == ("reimport", "ok")
        assert run.window_from.date().isoformat() == since

    bad = admin.post(f"/integrations/{integration_id}/reimport", {"since": "soon"})
    page = admin.get(bad.headers["Location"]).get_data(as_text=True)
    assert "a date such as 2026-11-02" in read(page).by_id["flash"]
    with app.app_context(), db.connection_context():
        assert SyncRun.select().count() == 1


def test_a_403_shows_freshchats_words_and_the_wrong_host_hint(sim):
    result = check_credentials(
        DOMAIN,
        "demo-agent-key",
        ClientSettings(api_url_template=sim.server.api_url_template, read_timeout=5.0),
    )
    assert not result.ok
    assert "Account Administrator role" in result.message
    assert 'Freshchat said: "Only an Account Administrator may use this API"' in result.message
    assert "A wrong host or region also answers 403 “Auth failure”" in result.message
    assert "api.eu.freshchat.com" in result.message


def test_the_first_syncs_header_summary_is_shown_in_the_sync_history(app, admin):
    integration_id = add_integration(app, "Support", DOMAIN, ADMIN_KEY)
    admin.post(f"/integrations/{integration_id}/sync")
    page = admin.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "Headers read" in page
    summary = page.split('<details class="run-details">', 1)[1].split("</details>", 1)[0]
    for event in ("Conversation-Created", "Conversation-Group-Assigned", "Conversation-Resolved"):
        assert event in summary
    assert "→ chat id" in summary and "→ group id" in summary
