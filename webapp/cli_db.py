"""``flask db``: the schema's versioned migrations, for operators who script upgrades."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp import schema
from webapp.extensions import db

db_cli = AppGroup("db", help="Schema migrations.")


@db_cli.command("upgrade")
def upgrade_command() -> None:
    """Apply pending migrations (starting the app applies them too) and list them all."""
    done = list(getattr(db.obj, "schema_changes", [])) + schema.upgrade(db.obj)
    for line in done or ["schema already up to date"]:
        click.echo(line)
    _print_status()


@db_cli.command("status")
def status_command() -> None:
    """List every migration, applied or not, with what it does."""
    _print_status()


def _print_status() -> None:
    for name, applied, what in schema.status(db.obj):
        click.echo(f"{'applied' if applied else 'PENDING'}  {name}  {what}")
