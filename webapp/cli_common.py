"""What every ``flask`` command shares: one way to fail, one way to find an integration."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from webapp import integrations as service
from webapp.models import Integration


def fail(message: str) -> NoReturn:
    """One line on stderr and a non-zero exit, so scripts can test the outcome."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def find(name: str) -> Integration:
    """The live integration of this name (names ignore case), or fail."""
    integration = service.live().where(Integration.name_key == service.name_key(name)).first()
    if integration is None:
        fail(f"no integration named “{name}”.")
    return integration
