"""Defects a new administrator met on a first walk through the pages (issue 9), read with
an HTML parser: the form's read-only and locked fields, one message per mistake, long
domains, one time zone per table, sync triggers in words, overlapping kept statistics."""

from __future__ import annotations

from datetime import datetime

import pytest
import responses

from tests.conftest import add_integration
from tests.html import one, parse, text
from tests.web.test_integrations_web import ACCOUNT, CONFIG_URL, form_data
from webapp import integrations as service
from webapp import scheduler, sync_jobs
from webapp.changes import ChatChange
from webapp.chats import apply_changes
from webapp.extensions import db
from webapp.models import Integration, SyncRun

AT = datetime(2026, 11, 2, 9, 0)


@pytest.fixture
def freshchat():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(CONFIG_URL, json=ACCOUNT)
        yield mock


def _new(admin_client, **overrides) -> int:
    response = admin_client.post("/integrations/new/freshchat", form_data(**overrides))
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _import_one_chat(integration_id: int, counted_from: datetime | None = AT) -> None:
    with db.connection_context():
        apply_changes(integration_id, [ChatChange("c1", AT, created_time=AT, resolved_time=AT)])
        if counted_from is not None:
            Integration.update(counted_from=counted_from).where(
                Integration.id == integration_id
            ).execute()


def _errors(soup, field: str) -> list[str]:
    return [text(li) for li in one(soup, f"#errors-{field}").select("li")]


# 4 ----------------------------------------------------------------------------------------


def test_history_days_are_locked_after_the_first_sync(admin_client, freshchat):
    integration_id = _new(admin_client)
    edit = f"/integrations/{integration_id}/edit"
    before = parse(admin_client.get(edit))
    assert not one(before, "#backfill_days").has_attr("readonly")  # nothing imported yet

    _import_one_chat(integration_id)
    soup = parse(admin_client.get(edit))
    days = one(soup, "#backfill_days")
    assert days.has_attr("readonly") and days["value"] == "30"
    assert "Fixed by the first sync" in text(one(soup, "#help-backfill_days"))
    assert "2026-11-02" in text(one(soup, "#help-backfill_days"))

    refused = admin_client.post(edit, form_data(backfill_days="90", api_key=""))
    assert refused.status_code == 422
    assert _errors(parse(refused), "backfill_days") == [
        "The history was imported by the first sync; it stays 30 days."
    ]
    kept = admin_client.post(edit, form_data(backfill_days="30", api_key="", name="Renamed"))
    assert kept.status_code == 303
    with db.connection_context():
        saved = Integration.get_by_id(integration_id)
        assert (saved.name, saved.backfill_days) == ("Renamed", 30)


# 5 ----------------------------------------------------------------------------------------


def test_domain_is_read_only_on_edit_with_one_sentence(admin_client, freshchat):
    integration_id = _new(admin_client)
    edit = f"/integrations/{integration_id}/edit"
    domain = one(parse(admin_client.get(edit)), "#domain")
    assert domain.has_attr("readonly") and domain["value"] == "acme.freshchat.com"

    calls = len(freshchat.calls)
    for path, htmx in (("/edit", False), ("/test-connection", True), ("/validate", True)):
        response = admin_client.post(
            f"/integrations/{integration_id}{path}",
            form_data(domain="other.freshchat.com", api_key=""),
            htmx=htmx,
            trigger_name="domain",
        )
        soup = parse(response)
        messages = (
            [text(one(soup, ".connection-result"))]
            if path == "/test-connection"
            else _errors(soup, "domain")
        )
        assert len(messages) == 1 and "The domain cannot change" in messages[0], messages
        assert "new domain needs its own API key" not in response.get_data(as_text=True)
    assert len(freshchat.calls) == calls  # the stored key went nowhere
    with db.connection_context():
        assert Integration.get_by_id(integration_id).domain == "acme.freshchat.com"


# 7 ----------------------------------------------------------------------------------------


def test_long_domain_has_a_limit_and_a_short_message(admin_client):
    soup = parse(admin_client.get("/integrations/new/freshchat"))
    assert int(one(soup, "#domain")["maxlength"]) <= 500
    for length in (300, 600):
        response = admin_client.post(
            "/integrations/validate",
            form_data(domain="a" * length + ".freshchat.com"),
            htmx=True,
            trigger_name="domain",
        )
        (message,) = _errors(parse(response), "domain")
        assert len(message) < 160, message


# 11 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["2.5", "abc", "0", "366"])
def test_one_mistake_in_history_days_gives_one_message(admin_client, typed):
    for path, htmx in (("/integrations/validate", True), ("/integrations/new/freshchat", False)):
        response = admin_client.post(
            path, form_data(backfill_days=typed), htmx=htmx, trigger_name="backfill_days"
        )
        (message,) = _errors(parse(response), "backfill_days")
        assert message.startswith("Enter a whole number of days from 1 to 365"), message


# 6 ----------------------------------------------------------------------------------------


def test_integrations_table_uses_one_zone_named_in_its_header(app, admin_client):
    finished = datetime(2026, 11, 20, 12, 0)
    for name, zone in (("Berlin", "Europe/Berlin"), ("Tokyo", "Asia/Tokyo")):
        add_integration(
            app,
            name,
            f"{name.lower()}.freshchat.com",
            "key-12345678",
            display_timezone=zone,
            last_sync_finished_at=finished,
        )
    soup = parse(admin_client.get("/integrations"))
    headers = [text(th) for th in soup.select("table.list thead th")]
    assert "Last sync (UTC)" in headers and "Next sync (UTC)" in headers
    cells = {
        text(row.select("td")[0].a): text(row.select("td")[3]) for row in soup.select("tbody tr")
    }
    assert cells == {"Berlin": "2026-11-20 12:00 UTC", "Tokyo": "2026-11-20 12:00 UTC"}

    # One zone for all: that zone.
    with db.connection_context():
        Integration.update(display_timezone="Europe/Berlin").execute()
    soup = parse(admin_client.get("/integrations"))
    assert "Last sync (Europe/Berlin)" in [text(th) for th in soup.select("table.list thead th")]
    assert {text(r.select("td")[3]) for r in soup.select("tbody tr")} == {"2026-11-20 13:00 CET"}


# 9 ----------------------------------------------------------------------------------------


def test_sync_history_names_each_trigger_in_words(app, admin_client):
    integration_id = add_integration(
        app, "Support", "acme.freshchat.com", "key-12345678", display_timezone="Europe/Berlin"
    )
    words = {
        "first": "First sync (after saving)",
        "schedule": "Scheduled",
        "manual": "Sync now",
        "cli": "Command line",
        "demo": "Demo start",
    }
    with db.connection_context():
        for minute, trigger in enumerate(words):
            SyncRun.create(
                integration=integration_id,
                trigger=trigger,
                started_at=datetime(2026, 11, 20, 12, minute),
                finished_at=datetime(2026, 11, 20, 12, minute, 30),
                outcome="ok",
            )
    soup = parse(admin_client.get(f"/integrations/{integration_id}"))
    table = one(soup, "table.sync-history")
    assert text(table.select("thead th")[0]) == "Started (Europe/Berlin)"
    shown = {text(row.select("td")[2]) for row in table.select("tbody tr")}
    assert shown == set(words.values())


def test_the_sync_save_starts_is_recorded_as_first_not_schedule(app, monkeypatch):
    new_id = add_integration(app, "New", "acme.freshchat.com", "key-12345678")
    paused_id = add_integration(app, "Held", "held.freshchat.com", "key-12345678", paused=True)
    synced_id = add_integration(
        app,
        "Old",
        "old.freshchat.com",
        "key-12345678",
        last_sync_started_at=datetime(2000, 1, 1),
        last_sync_finished_at=datetime(2000, 1, 1),
    )
    seen: list[tuple[int, str]] = []
    monkeypatch.setattr(
        sync_jobs, "sync_for_app", lambda _app, ident, trigger: seen.append((ident, trigger))
    )
    monkeypatch.setattr(scheduler, "_app", app)
    for ident in (new_id, paused_id, synced_id):
        scheduler._run_sync(ident)
    assert seen == [(new_id, "first"), (synced_id, "schedule")]


# 12 ---------------------------------------------------------------------------------------


def test_re_adding_an_account_a_deleted_integration_covers_warns_and_marks_current(
    admin_client, freshchat
):
    old_id = _new(admin_client, name="Old chats")
    _import_one_chat(old_id)
    with db.connection_context():
        service.delete(Integration.get_by_id(old_id), remove_data=False)

    # The form warns as the domain is left, without refusing it.
    check = admin_client.post(
        "/integrations/validate",
        form_data(name="New chats", submission_id="sub-2"),
        htmx=True,
        trigger_name="domain",
    )
    soup = parse(check)
    assert _errors(soup, "domain") == []
    warning = text(one(soup, "#field-domain .field-warning"))
    assert "“Old chats” kept statistics of acme.freshchat.com" in warning
    assert "never add them up" in warning and "current one" in warning

    new_id = _new(admin_client, name="New chats", submission_id="sub-2")
    detail = parse(admin_client.get(f"/integrations/{new_id}"))
    flashes = [text(f) for f in detail.select("#flash .flash-warning")]
    assert any("“Old chats” kept statistics" in f for f in flashes)
    assert text(one(detail, "#overlap-note")).startswith("Current for acme.freshchat.com.")

    listing = parse(admin_client.get("/integrations"))
    row = one(listing, "tbody tr")
    assert text(one(row, ".badge-current")) == "Current"
    assert "“Old chats” (deleted) kept older statistics" in text(one(row, ".overlap-note"))
    deleted = text(one(listing, ".deleted-list li"))
    assert "not current: acme.freshchat.com is now imported by “New chats”" in deleted

    old_page = parse(admin_client.get(f"/integrations/{old_id}"))
    assert text(one(old_page, "#overlap-note")).startswith(
        "Not current: acme.freshchat.com is now imported by “New chats”"
    )


def test_no_overlap_note_without_a_kept_twin(admin_client, freshchat):
    integration_id = _new(admin_client)
    assert parse(admin_client.get(f"/integrations/{integration_id}")).select("#overlap-note") == []
    assert parse(admin_client.get("/integrations")).select(".badge-current") == []


# 15 ---------------------------------------------------------------------------------------


def test_empty_state_says_add_integration_and_form_breadcrumb_follows_the_path(admin_client):
    empty = parse(admin_client.get("/integrations"))
    assert text(one(empty, ".empty-state a.button")) == "Add integration"
    crumbs = one(parse(admin_client.get("/integrations/new/freshchat")), "nav.breadcrumbs")
    assert [text(a) for a in crumbs.select("a")] == [
        "Account",
        "Integrations",
        "Templates",
        "Freshworks",
    ]
    assert text(one(crumbs, "[aria-current=page]")) == "Freshchat"
    assert [a["href"] for a in crumbs.select("a")][2:] == [
        "/integrations/gallery",
        "/integrations/gallery/freshworks",
    ]


# 3 (without JavaScript) -------------------------------------------------------------------


def test_plain_save_after_the_session_ended_goes_to_sign_in_and_back(client):
    from tests.conftest import ADMIN_PASSWORD, ADMIN_USER
    from webapp.models import Admin
    from webapp.security import hash_password

    with db.connection_context():
        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    response = client.post(
        "/integrations/new/freshchat",
        data=form_data(csrf_token="from-a-session-that-ended"),
        headers={"Referer": "http://localhost/integrations/new/freshchat"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == ("/login?next=/integrations/new/freshchat&expired=1")
    page = parse(client.get(response.headers["Location"]))
    assert "Your session has ended" in text(one(page, "#session-ended"))
    assert one(page, "input[name=next]")["value"] == "/integrations/new/freshchat"
    with db.connection_context():
        assert Integration.select().count() == 0
