"""Jinja filters and globals shared by all templates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from webapp.models import Integration
from webapp.status import describe
from webapp.timeutil import UTC_NAME, to_naive_utc


def when(value: datetime | None, tz: str | None = None) -> str:
    """Render a stored (naive UTC) time; in the given zone when one is passed."""
    if value is None:
        return "never"
    value = to_naive_utc(value)
    if tz and tz != UTC_NAME:
        local = value.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz))
        return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or tz)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def events_url(_integration: Integration | None = None) -> str:
    """One definition of the companion app's URL, shared with the push section."""
    from webapp.views.api import events_url as push_events_url

    return push_events_url()


def register(app: Flask) -> None:
    app.jinja_env.filters["when"] = when
    app.jinja_env.globals["status_of"] = describe
    app.jinja_env.globals["events_url"] = events_url
