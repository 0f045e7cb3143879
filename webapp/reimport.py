"""Re-import a past range: repair counts after an export problem, as exactly as a first import.

A re-import is an ordinary sync whose windows start at ``since`` instead of the watermark
(``sync.run_sync(since=...)``): every chat event of the range is read again and applied
through the same funnel. Applying is idempotent (newest Freshchat time wins per attribute,
first resolution and creation are minima) and intervals are recomputed from chat state, so
nothing is counted twice. Starting earlier than the imported history moves its start
(``counted_from``) back to ``since``, as a first import with that backfill would set it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _

from webapp.integrations import BACKFILL_MAX_DAYS
from webapp.models import Integration
from webapp.timeutil import parse_timestamp


class SinceError(ValueError):
    """The start of a re-import is unusable; ``str()`` is for the admin."""


def parse_since(text: str | None, now: datetime) -> datetime:
    """A date (``2026-11-02``) or ISO time, UTC, in the past and within the backfill limit."""
    value = (text or "").strip()
    try:
        since = parse_timestamp(value)
    except (ValueError, OverflowError, OSError):
        since = None
    if since is None:
        raise SinceError(
            _("Give the start as a date such as 2026-11-02 or an ISO 8601 time (UTC).")
        )
    if since >= now:
        raise SinceError(_("The start of a re-import must be in the past."))
    if since < now - timedelta(days=BACKFILL_MAX_DAYS):
        raise SinceError(
            _("A re-import reaches back %(days)d days at most.", days=BACKFILL_MAX_DAYS)
        )
    return since


def reimport_counted_from(
    integration: Integration, windows: list[tuple[datetime, datetime]]
) -> None:
    """Move the start of the imported history back to the re-import's start if earlier."""
    if not windows:
        return
    start = windows[0][0]
    if integration.counted_from is None or start < integration.counted_from:
        integration.counted_from = start
        Integration.update(counted_from=start).where(Integration.id == integration.id).execute()
