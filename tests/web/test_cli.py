"""The ``flask`` commands for on-prem scripting, through Flask's CLI test runner.

Every refusal must exit non-zero with one ``Error: …`` line on stderr, so shell scripts
can test the outcome and show the reason. Freshchat is the simulator on loopback.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import add_integration, make_test_app
from webapp import integrations as service
from webapp.counting import UNDEFINED_QUEUE_KEY
from webapp.extensions import db
from webapp.freshchat.simulator import FreshchatSimulator, SimAccount, serve_in_thread
from webapp.models import Admin, ApiKey, Group, Integration, IntervalStat, SyncRun
from webapp.security import verify_password
from webapp.sync import acquire_lease
from webapp.timeutil import utcnow

DOMAIN = "acme.freshchat.com"
ADMIN_KEY = "sim-admin-key-0002"
WRONG_KEY = "sim-wrong-key-9999"


@pytest.fixture(scope="module")
def sim():
    account = SimAccount(DOMAIN, seed=5, chats_per_day=24, history_days=6, admin_key=ADMIN_KEY)
    simulator = FreshchatSimulator([account], pending_polls=0)
    with serve_in_thread(simulator) as server:
        simulator.server = server
        yield simulator


@pytest.fixture
def app(tmp_path, sim):
    application = make_test_app(
        tmp_path, FRESHCHAT_API_URL=sim.server.api_url_template, EXTRACT_POLL_SECONDS=0.0
    )
    yield application
    db.initialize(None)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(args=list(args), input=input)

    return invoke


def failed_with(result, *fragments: str) -> str:
    """Assert a non-zero exit with one ``Error:`` line holding every fragment."""
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def add(app, name: str = "Support", api_key: str = ADMIN_KEY, **fields) -> int:
    return add_integration(app, name, DOMAIN, api_key, **fields)


def integrations() -> list[Integration]:
    with db.connection_context():
        return list(Integration.select().order_by(Integration.id))


# ------------------------------------------------------------------- integrations add


def test_add_checks_the_credentials_then_saves_encrypted(cli, sim):
    before = sim.requests_to("/accounts/configuration")
    result = cli(
        "integrations",
        "add",
        "--name",
        " Support ",
        "--domain",
        "https://ACME.freshchat.com/a/1/inbox",
        "--api-key",
        ADMIN_KEY,
        "--sync-every",
        "30",
    )
    assert result.exit_code == 0, result.output
    assert sim.requests_to("/accounts/configuration") == before + 1
    [row] = integrations()
    assert result.stdout == f"Added integration {row.id}: Support (acme.freshchat.com).\n"
    assert (row.name, row.domain, row.sync_every_minutes) == ("Support", DOMAIN, 30)
    assert ADMIN_KEY not in row.api_key_encrypted and row.api_key_last4 == "0002"
    assert ADMIN_KEY not in result.output


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--name", "SUPPORT"], ["already exists", "SUPPORT"]),
        (["--domain", "acme.zendesk.com"], ["acme.zendesk.com"]),
        (["--domain", "freshchat.com"], ["subdomain"]),
        (["--api-key", WRONG_KEY], ["rejected the API key (401)"]),
        (["--api-key", "with space"], ["spaces"]),
        (["--timezone", "Mars/Olympus"], ["unknown time zone", "Mars/Olympus"]),
        (["--name", "x" * 81], ["1 to 80"]),
    ],
    ids=[
        "duplicate-other-case",
        "not-freshchat",
        "no-subdomain",
        "key-rejected",
        "key-with-space",
        "bad-timezone",
        "name-too-long",
    ],
)
def test_add_refusals_exit_non_zero_with_one_line_and_save_nothing(app, cli, args, fragments):
    add(app, "Support")
    with db.connection_context():  # free the simulated account for the "Other" attempts
        Integration.update(domain="elsewhere.freshchat.com").execute()
    values = {"--name": "Other", "--domain": DOMAIN, "--api-key": ADMIN_KEY}
    values.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = cli("integrations", "add", *[part for pair in values.items() for part in pair])
    failed_with(result, *fragments)
    assert [i.name for i in integrations()] == ["Support"]
    assert result.stdout == ""


def test_add_no_check_saves_without_calling_freshchat(cli, sim):
    before = len(sim.request_log)
    result = cli(
        "integrations",
        "add",
        "--name",
        "Offline",
        "--domain",
        DOMAIN,
        "--api-key",
        WRONG_KEY,
        "--no-check",
    )
    assert result.exit_code == 0, result.output
    assert len(sim.request_log) == before
    assert [i.name for i in integrations()] == ["Offline"]


# --------------------------------------------------------------- list, delete, app-key


def test_list_shows_each_integration_and_its_status(app, cli):
    assert cli("integrations", "list").stdout == "No integrations.\n"
    first = add(app, "Support")
    second = add(app, "billing", paused=True)
    finished = datetime(2026, 3, 2, 9, 30)
    with db.connection_context():
        Integration.update(last_sync_outcome="ok", last_sync_finished_at=finished).where(
            Integration.id == first
        ).execute()
    result = cli("integrations", "list")
    assert result.exit_code == 0
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines == [
        [
            str(second),
            "billing",
            DOMAIN,
            "Paused",
            "every 15 min",
            "last sync: never",
            "next sync: -",
        ],
        [
            str(first),
            "Support",
            DOMAIN,
            "Healthy",
            "every 15 min",
            "last sync: 2026-03-02 09:30 UTC",
            "next sync: -",
        ],
    ]


def test_delete_keeps_statistics_unless_asked_and_refuses_unknown_names(app, cli):
    kept = add(app, "Support")
    with db.connection_context():
        IntervalStat.create(
            integration=kept, queue_key="g1", interval_start=datetime(2026, 3, 2, 9), contacts=2
        )
    failed_with(cli("integrations", "delete", "Nope"), "no integration named “Nope”")
    result = cli("integrations", "delete", "SUPPORT")  # names ignore case
    assert result.exit_code == 0 and "statistics kept" in result.stdout
    [row] = integrations()
    assert row.is_deleted
    with db.connection_context():
        assert IntervalStat.select().count() == 1
    # Deleted means gone for the commands, and the name is free again.
    failed_with(cli("integrations", "delete", "Support"), "no integration named")
    removed = add(app, "Support")
    result = cli("integrations", "delete", "Support", "--remove-data")
    assert result.exit_code == 0 and "and its data" in result.stdout
    assert removed not in [i.id for i in integrations()]


def test_app_key_is_printed_once_and_regenerating_revokes_the_old_one(app, cli):
    add(app, "Support")
    first = cli("integrations", "app-key", "support")
    assert first.exit_code == 0
    first_key = first.stdout.strip()
    assert "\n" not in first_key and "cannot be shown again" in first.stderr
    second_key = cli("integrations", "app-key", "Support").stdout.strip()
    assert second_key != first_key
    with db.connection_context():
        assert service.check_app_key(f"Bearer {first_key}").reason == "revoked API key"
        assert service.check_app_key(f"Bearer {second_key}").reason is None
        stored = [k.key_hash for k in ApiKey.select()]
    assert first_key not in stored and second_key not in stored
    failed_with(cli("integrations", "app-key", "Nope"), "no integration named")


# --------------------------------------------------------------------------- create-admin


def admin_hash(username: str) -> str:
    with db.connection_context():
        return Admin.get(Admin.username == username).password_hash


def test_create_admin_with_options_then_reset(cli):
    result = cli("create-admin", "--username", "root", "--password", "long enough pw")
    assert result.exit_code == 0 and "Created administrator “root”" in result.stdout
    assert verify_password(admin_hash("root"), "long enough pw")
    result = cli("create-admin", "--username", "root", "--password", "another long pw")
    assert result.exit_code == 0 and "Reset the password" in result.stdout
    assert verify_password(admin_hash("root"), "another long pw")


def test_create_admin_prompts_hidden_and_refuses_bad_input(cli):
    result = cli("create-admin", input="ops\nsecret password\nsecret password\n")
    assert result.exit_code == 0, result.output
    assert "secret password" not in result.output  # hidden input is not echoed
    assert verify_password(admin_hash("ops"), "secret password")
    failed_with(cli("create-admin", input="other\nsecret password\ndifferent one\n"), "differ")
    failed_with(cli("create-admin", "--username", "x", "--password", "short"), "10 characters")
    with db.connection_context():
        assert [a.username for a in Admin.select()] == ["ops"]


# ----------------------------------------------------------------------------------- sync


def test_sync_runs_in_the_foreground_with_progress(app, cli):
    integration_id = add(app, "Support")
    result = cli("sync", "support")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Syncing Support…"
    assert lines[1] == "  [1/4] 3 groups"  # 2 days: one window, three reports
    assert lines[-2].startswith("  [4/4] Window 1/1") and lines[-2].endswith(" rows read")
    assert lines[-1].startswith("  ok: Read ")
    with db.connection_context():
        [run] = SyncRun.select().where(SyncRun.integration == integration_id)
        assert (run.trigger, run.outcome) == ("cli", "ok")
        assert IntervalStat.select().count() > 0


def test_sync_refusals_and_failures_exit_non_zero(app, cli):
    failed_with(cli("sync", "Nope"), "no integration named “Nope”")
    add(app, "Broken", api_key=WRONG_KEY)
    result = cli("sync", "Broken")
    failed_with(result, "Broken: Freshchat rejected the API key (401)")
    paused = add(app, "Resting", paused=True)
    failed_with(cli("sync", "Resting"), "paused")
    busy = add(app, "Busy")
    with db.connection_context():
        assert acquire_lease(busy, "another-process")
    failed_with(cli("sync", "Busy"), "another sync")
    with db.connection_context():
        assert SyncRun.select().where(SyncRun.integration.in_([paused, busy])).count() == 0


def test_sync_without_a_name_syncs_every_active_integration(app, cli):
    good = add(app, "Good")
    add(app, "Resting", paused=True)
    add(app, "Gone", deleted_at=utcnow())
    result = cli("sync")
    assert result.exit_code == 0, result.output
    assert "Syncing Good…" in result.stdout
    assert "Resting" not in result.output and "Gone" not in result.output
    with db.connection_context():
        assert [r.integration_id for r in SyncRun.select()] == [good]
    # With one failing integration the others still sync, and the exit says which failed.
    add(app, "Broken", api_key=WRONG_KEY)
    result = cli("sync")
    failed_with(result, "Broken: Freshchat rejected the API key")
    assert "ok: Read" in result.stdout


def test_sync_since_reimports_a_range_of_one_integration(app, cli):
    integration_id = add(app, "Support")
    assert cli("sync", "Support").exit_code == 0
    since = (utcnow() - timedelta(days=1)).date()
    result = cli("sync", "Support", "--since", since.isoformat())
    assert result.exit_code == 0, result.output
    assert "ok: Read " in result.stdout
    with db.connection_context():
        run = SyncRun.select().order_by(SyncRun.id.desc()).first()
        assert (run.integration_id, run.trigger, run.outcome) == (integration_id, "reimport", "ok")
        assert run.window_from == datetime(since.year, since.month, since.day)
        assert "→ chat id" in run.details
        # Re-reading what is already stored counts nothing twice.
        assert Integration.get_by_id(integration_id).watermark == run.window_to


def test_sync_since_refusals(app, cli):
    add(app, "Support")
    failed_with(cli("sync", "--since", "2026-11-02"), "give its NAME")
    failed_with(cli("sync", "Support", "--since", "last week"), "a date such as 2026-11-02")
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    failed_with(cli("sync", "Support", "--since", tomorrow), "must be in the past")
    with db.connection_context():
        assert SyncRun.select().count() == 0


def test_sync_with_nothing_to_do(cli):
    result = cli("sync")
    assert result.exit_code == 0 and result.stdout == "No active integration to sync.\n"


# ---------------------------------------------------------------------------------- stats

T = datetime(2026, 11, 2, 9, 0)


@pytest.fixture
def with_stats(app):
    integration_id = add(app, "Support")
    with db.connection_context():
        Group.create(integration=integration_id, group_id="g-support", name="Customer Support")
        Group.create(integration=integration_id, group_id="g-billing", name="Billing")
        for minutes, key, contacts in [
            (0, "g-support", 3),
            (0, "g-billing", 1),
            (15, "g-support", 2),
            (15, UNDEFINED_QUEUE_KEY, 4),
            (60, "g-support", 7),  # 10:00, outside [09:00, 10:00)
        ]:
            IntervalStat.create(
                integration=integration_id,
                queue_key=key,
                interval_start=T + timedelta(minutes=minutes),
                contacts=contacts,
            )
    return integration_id


def test_stats_csv_is_utc_with_z_and_the_range_half_open(cli, with_stats):
    result = cli(
        "stats", "support", "--from", "2026-11-02T09:00:00Z", "--to", "2026-11-02T11:00:00+01:00"
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [
        ["queue", "interval_start", "contacts"],
        ["Billing", "2026-11-02T09:00:00Z", "1"],
        ["Customer Support", "2026-11-02T09:00:00Z", "3"],
        ["Customer Support", "2026-11-02T09:15:00Z", "2"],
        ["Undefined_Queue", "2026-11-02T09:15:00Z", "4"],
    ]


def test_stats_json_and_queue_filter(cli, with_stats):
    result = cli(
        "stats",
        "Support",
        "--from",
        "2026-11-02T09:00:00Z",
        "--to",
        "2026-11-02T12:00:00Z",
        "--format",
        "json",
        "--queue",
        "Customer Support",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"queue": "Customer Support", "interval_start": "2026-11-02T09:00:00Z", "contacts": 3},
        {"queue": "Customer Support", "interval_start": "2026-11-02T09:15:00Z", "contacts": 2},
        {"queue": "Customer Support", "interval_start": "2026-11-02T10:00:00Z", "contacts": 7},
    ]
    empty = cli(
        "stats", "Support", "--from", "2025-01-01", "--to", "2025-01-02", "--format", "json"
    )
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--from", "yesterday"], ["--from", "ISO 8601"]),
        (["--to", "2026-13-01T00:00:00Z"], ["--to", "ISO 8601"]),
        (["--to", "2026-11-02T09:00:00Z"], ["“to” must be after “from”"]),
        (["--from", "2026-11-03T00:00:00Z"], ["is after “to”"]),
        (["--queue", "Sales"], ["Unknown queue: Sales", "Customer Support"]),
        (["--name", "Nope"], ["no integration named “Nope”"]),
    ],
    ids=[
        "bad-from",
        "bad-to",
        "from-equals-to",
        "from-after-to",
        "unknown-queue",
        "unknown-integration",
    ],
)
def test_stats_refusals_exit_non_zero_with_one_line(cli, with_stats, args, fragments):
    values = {"--name": "Support", "--from": "2026-11-02T09:00:00Z", "--to": "2026-11-02T12:00Z"}
    values.update(dict(zip(args[::2], args[1::2], strict=True)))
    name = values.pop("--name")
    result = cli("stats", name, *[part for pair in values.items() for part in pair])
    failed_with(result, *fragments)
    assert result.stdout == ""


def test_stats_of_a_deleted_integration_are_still_exported(app, cli, with_stats):
    assert cli("integrations", "delete", "Support").exit_code == 0
    result = cli("stats", "Support", "--from", "2026-11-02T09:00:00Z", "--to", "2026-11-02T10:00Z")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 5


def test_add_refuses_an_account_that_is_already_connected(app, cli):
    add(app, "Support")
    result = cli(
        "integrations", "add", "--name", "Twin", "--domain", DOMAIN, "--api-key", ADMIN_KEY
    )
    failed_with(result, "already connected as “Support”")
    assert [i.name for i in integrations()] == ["Support"]
