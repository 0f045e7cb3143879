"""Jinja filters and globals shared by all templates.

They only format what a view passed: none reads the database (a page's data is built by
its presenter, e.g. ``webapp.integration_page``), and none comes from a view module.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from webapp.display_time import zone
from webapp.timeutil import UTC_NAME, to_naive_utc
from webapp.wording import quantity


def when(value: datetime | None, tz: str | None = None) -> str:
    """Render a stored (naive UTC) time; in the given zone when one is passed.

    A zone unknown on this server (removed from the tz database by an upgrade) shows UTC,
    as the statistics do (``display_time.zone``), rather than failing the whole page.
    """
    if value is None:
        return "never"
    value = to_naive_utc(value)
    shown = zone(tz)
    if shown.key != UTC_NAME:
        local = value.replace(tzinfo=zone(UTC_NAME)).astimezone(shown)
        return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or shown.key)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def register(app: Flask) -> None:
    app.jinja_env.filters["when"] = when
    app.jinja_env.globals["quantity"] = quantity
