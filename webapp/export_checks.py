"""Refusals of an export range that the generic range check would word badly.

The page's form speaks in the integration's local days, so its refusals do too (the
generic check in ``stats.RangeQuery`` names UTC instants). A range wholly before the
imported history would download an empty file that reads as "no contacts": it is refused
with the day the history starts. The API refuses a ``to`` in the future, as documented.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext

from webapp.display_time import local_today, long_label, period_range, to_local
from webapp.i18n import current_language
from webapp.timeutil import INTERVAL, floor_interval, iso_z


def page_range_refusal(
    first: date, last: date, tz: ZoneInfo, now: datetime, counted_from: datetime | None
) -> str | None:
    """Why the local days ``first``..``last`` (both included) cannot be exported, or None."""
    today = local_today(tz, now)
    if first > today:
        return gettext(
            "The range starts in the future: %(first)s is after today (%(today)s in "
            "%(zone)s); there are no contacts there yet.",
            first=first.isoformat(),
            today=today.isoformat(),
            zone=tz.key,
        )
    if counted_from is not None:
        _, end = period_range("day", last, tz)
        if end <= counted_from:
            return gettext(
                "This integration's history was imported from %(since)s; %(first)s to "
                "%(last)s is earlier, so nothing there was counted (a file would be empty, "
                "not zeros). Choose days from %(day)s.",
                since=long_label(counted_from, tz, locale=current_language()),
                first=first.isoformat(),
                last=last.isoformat(),
                day=to_local(counted_from, tz).date().isoformat(),
            )
    return None


def latest_end(now: datetime) -> datetime:
    """The latest ``to`` the API accepts: the end of the interval under way."""
    return floor_interval(now) + INTERVAL


def api_end_refusal(end: datetime, now: datetime) -> str | None:
    """Why an API ``to`` is refused (in the future beyond the current interval), or None."""
    latest = latest_end(now)
    if end > latest:
        return (
            f"“to” ({iso_z(end)}) is in the future: the latest accepted is {iso_z(latest)}, "
            "the end of the current 15-minute interval."
        )
    return None
