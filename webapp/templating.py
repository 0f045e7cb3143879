"""Jinja filters and globals shared by all templates.

They only format what a view passed: none reads the database (a page's data is built by
its presenter, e.g. ``webapp.integration_page``), and none comes from a view module.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from webapp.display_time import shown_zone
from webapp.formatting import moment, number
from webapp.reasons import reason_words
from webapp.wording import quantity


def when(value: datetime | None, tz: str | None = None) -> str:
    """Render a stored (naive UTC) time, in the request's language; in the given zone when
    one is passed (a zone unknown on this server shows UTC, as the statistics do)."""
    return moment(value, tz)


def zone_shown(name: str | None) -> str:
    """The zone ``when`` really shows times in for a chosen ``name`` (UTC when the name is
    unknown here), for table headers that say which zone their times are in."""
    return shown_zone(name).name


def register(app: Flask) -> None:
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["zone_shown"] = zone_shown
    app.jinja_env.globals["quantity"] = quantity
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["reason"] = reason_words
