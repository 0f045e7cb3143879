"""One set of rules for an integration's settings: the page's form and
``flask integrations add|edit`` refuse the same input with the same sentence, and warn
the same way (``webapp.integration_rules``)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import add_integration
from tests.html import one, parse, text
from tests.web.test_integrations_web import form_data
from webapp import integration_rules as rules
from webapp import integrations as service
from webapp.changes import ChatChange
from webapp.chats import apply_changes
from webapp.extensions import db
from webapp.models import Integration

DOMAIN = "acme.freshchat.com"
KEY = "good-key-12345678"
AT = datetime(2026, 11, 2, 9, 0)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def cli_refusal(result) -> str:
    """The one ``Error:`` line of a refused command, without its prefix."""
    assert result.exit_code != 0, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ")
    return line.removeprefix("Error: ")


def form_refusal(response, field: str) -> str:
    assert response.status_code == 422, response.get_data(as_text=True)
    (message,) = [text(li) for li in one(parse(response), f"#errors-{field}").select("li")]
    return message


def add_by_cli(cli, *extra: str):
    values = {"--name": "Support chats", "--domain": DOMAIN, "--api-key": KEY}
    values.update(dict(zip(extra[::2], extra[1::2], strict=True)))
    flat = [part for pair in values.items() for part in pair]
    return cli("integrations", "add", *flat, "--no-check")


def stored(integration_id: int) -> Integration:
    with db.connection_context():
        return Integration.get_by_id(integration_id)


@pytest.mark.parametrize(
    ("form_field", "form_value", "cli_option", "expected"),
    [
        ("api_key", "k", "--api-key", rules.KEY_SHAPE),
        ("api_key", "short12", "--api-key", rules.KEY_SHAPE),
        (
            "display_timezone",
            "US/Eastern",  # known to zoneinfo, but an old alias the list does not offer
            "--timezone",
            "“US/Eastern” is an unknown time zone; choose one such as Europe/Berlin or UTC.",
        ),
        ("display_timezone", "Mars/Olympus", "--timezone", None),
        (
            "backfill_days",
            "0",
            "--backfill-days",
            f"Enter a whole number of days from 1 to {rules.BACKFILL_MAX_DAYS}, e.g. 30.",
        ),
        ("name", "x" * 81, "--name", rules.NAME_TOO_LONG),
    ],
    ids=["one-character-key", "seven-character-key", "alias-zone", "no-zone", "zero-days", "long"],
)
def test_add_refuses_in_the_cli_what_the_form_refuses_with_the_same_words(
    admin_client, cli, form_field, form_value, cli_option, expected
):
    response = admin_client.post(
        "/integrations/new/freshchat", form_data(**{form_field: form_value})
    )
    from_form = form_refusal(response, form_field)
    from_cli = cli_refusal(add_by_cli(cli, cli_option, form_value))
    assert from_cli == from_form
    if expected is not None:
        assert from_form == expected
    with db.connection_context():
        assert Integration.select().count() == 0


def test_edit_refuses_a_new_domain_in_the_cli_as_on_the_page(app, admin_client, cli):
    integration_id = add_integration(app, "Support chats", DOMAIN, KEY)
    response = admin_client.post(
        f"/integrations/{integration_id}/edit",
        form_data(domain="other.freshchat.com", api_key="", backfill_days="2"),
    )
    from_form = form_refusal(response, "domain")
    result = cli("integrations", "edit", "Support chats", "--domain", "other.freshchat.com")
    assert cli_refusal(result) == from_form == rules.DOMAIN_FIXED
    assert stored(integration_id).domain == DOMAIN
    # The stored domain itself (as pasted from the address bar) is accepted.
    same = cli("integrations", "edit", "Support chats", "--domain", f"https://{DOMAIN}/a/1")
    assert same.exit_code == 0, same.output


def test_edit_refuses_new_history_after_the_first_sync_in_the_cli_as_on_the_page(
    app, admin_client, cli
):
    integration_id = add_integration(app, "Support chats", DOMAIN, KEY)
    changed = cli("integrations", "edit", "Support chats", "--backfill-days", "9")
    assert changed.exit_code == 0, changed.output  # nothing imported yet: still free
    assert stored(integration_id).backfill_days == 9

    with db.connection_context():
        apply_changes(integration_id, [ChatChange("c1", AT, created_time=AT, resolved_time=AT)])
        Integration.update(counted_from=AT).where(Integration.id == integration_id).execute()
    response = admin_client.post(
        f"/integrations/{integration_id}/edit", form_data(backfill_days="90", api_key="")
    )
    from_form = form_refusal(response, "backfill_days")
    result = cli("integrations", "edit", "Support chats", "--backfill-days", "90")
    assert cli_refusal(result) == from_form
    assert from_form == "The history was imported by the first sync; it stays 9 days."
    assert stored(integration_id).backfill_days == 9


def test_edit_in_the_cli_keeps_what_is_not_given_and_checks_what_is(app, cli):
    integration_id = add_integration(app, "Support chats", DOMAIN, KEY)
    result = cli(
        "integrations", "edit", "Support chats", "--name", "Help desk", "--sync-every", "60"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Saved integration {integration_id}: Help desk ({DOMAIN}).\n"
    saved = stored(integration_id)
    assert (saved.name, saved.sync_every_minutes, saved.display_timezone) == (
        "Help desk",
        60,
        "UTC",
    )
    assert cli_refusal(cli("integrations", "edit", "Help desk", "--api-key", "k")) == (
        rules.KEY_SHAPE
    )


def test_add_in_the_cli_prints_the_overlap_warning_the_form_shows(app, admin_client, cli):
    old_id = add_integration(app, "Old chats", DOMAIN, KEY)
    with db.connection_context():
        apply_changes(old_id, [ChatChange("c1", AT, created_time=AT, resolved_time=AT)])
        service.delete(Integration.get_by_id(old_id), remove_data=False)
    check = admin_client.post(
        "/integrations/validate", form_data(name="New chats"), htmx=True, trigger_name="domain"
    )
    shown = text(one(parse(check), "#field-domain .field-warning"))
    assert "“Old chats” kept statistics of acme.freshchat.com" in shown

    result = add_by_cli(cli, "--name", "New chats")
    assert result.exit_code == 0, result.output
    (warning,) = result.stderr.strip().splitlines()
    assert warning == f"Warning: {shown}"
    assert result.stdout.startswith("Added integration")
