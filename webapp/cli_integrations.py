"""``flask integrations …``: add, edit, list, delete, companion-app key, webhooks.

Input is checked by ``webapp.integration_rules``, the same checks as the page's form, so a
script is refused what the page refuses, with the same sentence, and warned the same way.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from webapp import integration_rules as rules
from webapp import integrations as service
from webapp.cli_common import fail, find
from webapp.clients import ClientSettings
from webapp.connection import check_credentials
from webapp.extensions import db
from webapp.models import Integration

# AppGroup commands run inside the app context, so they also work through
# ``app.test_cli_runner()``, which does not go through FlaskGroup.
integrations_cli = AppGroup("integrations", help="Manage Freshchat integrations.")

_SYNC_CHOICES = click.Choice([str(minutes) for minutes in rules.SYNC_CHOICES])
_API_KEY_HELP = (
    "An Account Administrator's API key; '-' reads it from stdin, and without the option "
    "it comes from FRESHCHAT_API_KEY (either keeps it out of the process list)."
)


def _checked(check, *args):  # type: ignore[no-untyped-def]
    """Run one of the shared checks; its refusal ends the command with its sentence."""
    try:
        return check(*args)
    except rules.InputRefused as exc:
        fail(str(exc))


def _try_credentials(host: str, api_key: str) -> None:
    result = check_credentials(host, api_key, ClientSettings.from_config(current_app.config))
    if not result.ok:
        fail(result.message)


@integrations_cli.command("add")
@click.option("--name", required=True)
@click.option("--domain", required=True, help="e.g. example.freshchat.com")
@click.option("--api-key", envvar="FRESHCHAT_API_KEY", help=_API_KEY_HELP)
@click.option("--sync-every", type=_SYNC_CHOICES, default=str(rules.SYNC_DEFAULT))
@click.option("--backfill-days", type=int, default=rules.BACKFILL_DEFAULT)
@click.option("--timezone", "display_timezone", default=rules.ZONE_DEFAULT)
@click.option("--no-check", is_flag=True, help="Save without trying the credentials.")
def add_command(name, domain, api_key, sync_every, backfill_days, display_timezone, no_check):  # type: ignore[no-untyped-def]
    """Add a Freshchat integration (credentials are tried first unless --no-check)."""
    with db.connection_context():
        name = _checked(rules.check_name, name)
        verdict = _checked(
            rules.check_domain, domain, current_app.config["FRESHCHAT_ALLOWED_HOSTS"]
        )
        api_key = _checked(rules.check_api_key, _read_api_key(api_key))
        backfill_days = _checked(rules.check_backfill_days, backfill_days)
        display_timezone = _checked(rules.check_zone, display_timezone)
        for warning in verdict.warnings:
            click.echo(f"Warning: {warning}", err=True)
        if not no_check:
            _try_credentials(verdict.host, api_key)
        try:
            integration = service.create(
                service.IntegrationInput(
                    name, verdict.host, api_key, int(sync_every), backfill_days, display_timezone
                ),
                current_app.extensions["secret_box"],
            )
        except service.IntegrationError as exc:
            fail(str(exc))
        click.echo(f"Added integration {integration.id}: {integration.name} ({verdict.host}).")


@integrations_cli.command("edit")
@click.argument("current_name", metavar="NAME")
@click.option("--name", help="A new name.")
@click.option("--domain", help="Cannot change: given, it must be the stored one.")
@click.option("--api-key", help="A new key; '-' reads it from stdin. Blank keeps the stored one.")
@click.option("--sync-every", type=_SYNC_CHOICES)
@click.option("--backfill-days", type=int, help="Fixed once the first sync has run.")
@click.option("--timezone", "display_timezone")
@click.option("--no-check", is_flag=True, help="Save a new key without trying it.")
def edit_command(
    current_name, name, domain, api_key, sync_every, backfill_days, display_timezone, no_check
):  # type: ignore[no-untyped-def]
    """Change an integration's settings; what is not given is kept."""
    from webapp import scheduler

    with db.connection_context():
        integration = find(current_name)
        if domain is not None:
            _checked(
                rules.check_domain,
                domain,
                current_app.config["FRESHCHAT_ALLOWED_HOSTS"],
                integration,
            )
        new_name = (
            integration.name if name is None else _checked(rules.check_name, name, integration)
        )
        new_key = None
        if api_key is not None:
            new_key = _checked(rules.check_api_key, _read_api_key(api_key), integration)
        days = integration.backfill_days if backfill_days is None else backfill_days
        days = _checked(rules.check_backfill_days, days, integration)
        zone = display_timezone or integration.display_timezone
        zone = _checked(rules.check_zone, zone, integration)
        if new_key and not no_check:
            _try_credentials(integration.domain, new_key)
        every = integration.sync_every_minutes if sync_every is None else int(sync_every)
        values = service.IntegrationInput(new_name, integration.domain, new_key, every, days, zone)
        try:
            saved = service.update(integration, values, current_app.extensions["secret_box"])
        except service.IntegrationError as exc:
            fail(str(exc))
        scheduler.schedule_integration(saved)
        click.echo(f"Saved integration {saved.id}: {saved.name} ({saved.domain}).")


def _read_api_key(option: str | None) -> str:
    """The key from ``--api-key``, stdin (``-``) or ``FRESHCHAT_API_KEY`` (click fills the
    option from it). A key typed on the command line shows in ``ps`` to every local user."""
    if option is not None and option.strip() == "-":
        option = sys.stdin.readline()
    key = (option or "").strip()
    if not key:
        fail(
            "no API key: pass --api-key - and write the key to stdin, or set "
            "FRESHCHAT_API_KEY (or pass --api-key KEY, visible to other local users)."
        )
    return key


@integrations_cli.command("list")
def list_command() -> None:
    """List integrations with their status."""
    from webapp.status import describe

    with db.connection_context():
        rows = list(service.live().order_by(Integration.name_key))
        if not rows:
            click.echo("No integrations.")
        for integration in rows:
            status = describe(integration)
            last = integration.last_sync_finished_at
            nxt = integration.next_sync_at
            click.echo(
                "\t".join(
                    (
                        str(integration.id),
                        integration.name,
                        integration.domain,
                        status.label,
                        f"every {integration.sync_every_minutes} min",
                        f"last sync: {f'{last:%Y-%m-%d %H:%M} UTC' if last else 'never'}",
                        f"next sync: {f'{nxt:%Y-%m-%d %H:%M} UTC' if nxt else '-'}",
                    )
                )
            )


@integrations_cli.command("delete")
@click.argument("name")
@click.option("--remove-data", is_flag=True, help="Also remove imported queues and statistics.")
def delete_command(name: str, remove_data: bool) -> None:
    """Delete an integration (statistics are kept unless --remove-data)."""
    from webapp import scheduler

    with db.connection_context():
        integration = find(name)
        scheduler.unschedule_integration(integration.id)
        service.delete(integration, remove_data=remove_data)
        click.echo(
            f"Deleted “{integration.name}”"
            + (" and its data." if remove_data else "; statistics kept.")
        )


@integrations_cli.command("app-key")
@click.argument("name")
def app_key_command(name: str) -> None:
    """Generate (or regenerate) the companion-app key and print it once."""
    with db.connection_context():
        integration = find(name)
        new_key = service.issue_app_key(integration)
        click.echo(new_key.plaintext)
        click.echo("Store it now: it cannot be shown again. Any previous key is revoked.", err=True)


@integrations_cli.command("webhooks")
@click.argument("name")
@click.option(
    "--public-key",
    "public_key",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="File holding the public key shown in Freshchat's webhook settings (PEM).",
)
@click.option("--base-url", help="This server's public URL (default: PUBLIC_BASE_URL).")
def webhooks_command(name: str, public_key, base_url: str | None) -> None:  # type: ignore[no-untyped-def]
    """Receive Freshchat webhooks: store Freshchat's public key, print the webhook URL last."""
    from webapp import webhook_intake
    from webapp.freshchat.webhooks import WebhookKeyError

    with db.connection_context():
        integration = find(name)
        try:
            endpoint = webhook_intake.configure(integration, public_key.read())
        except WebhookKeyError as exc:
            fail(str(exc))
    base = base_url or current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        base = "http://127.0.0.1:8000"
        click.echo(f"No --base-url or PUBLIC_BASE_URL: assuming {base}.", err=True)
    click.echo(f"Public key saved for “{integration.name}”. Paste this URL in Freshchat:")
    click.echo(webhook_intake.webhook_url(base, endpoint.token))
