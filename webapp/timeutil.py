"""Time helpers. Inside the app every datetime is *naive UTC*.

Naive values compare and sort the same in Python and in SQLite's text columns; aware values
would be stored with an offset suffix and break ordering. Conversion happens only at the
edges: parsing Freshchat's ISO strings and rendering in a display time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

INTERVAL = timedelta(minutes=15)
UTC_NAME = "UTC"


def utcnow() -> datetime:
    """Current time, naive UTC, truncated to milliseconds like Freshchat's timestamps."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_naive_utc(value: datetime) -> datetime:
    """Aware → naive UTC; naive values are taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_timestamp(text: str | int | float | None) -> datetime | None:
    """Parse Freshchat's time forms: ISO 8601 (``Z`` or offset) or epoch milliseconds.

    Returns ``None`` for blank input and raises ``ValueError`` for anything unreadable so
    parsers can report the bad field instead of guessing.
    """
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        return datetime.fromtimestamp(text / 1000, UTC).replace(tzinfo=None)
    value = str(text).strip()
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC).replace(tzinfo=None)
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
    return to_naive_utc(parsed)


def iso_z(value: datetime) -> str:
    """Render naive UTC as ISO 8601 with ``Z`` (seconds precision unless sub-second)."""
    value = to_naive_utc(value)
    if value.microsecond:
        return value.isoformat(timespec="milliseconds") + "Z"
    return value.isoformat(timespec="seconds") + "Z"


def floor_interval(value: datetime) -> datetime:
    """Start of the 15-minute UTC interval (:00, :15, :30, :45) that holds ``value``."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    # The constructor rather than ``replace``: three keywords cost three times as much, and
    # a pull window floors every chat's arrival (bench/bench_floor.py).
    return datetime(
        value.year, value.month, value.day, value.hour, value.minute - value.minute % 15
    )


def now_from(config: Mapping[str, Any]) -> datetime:
    """ "Now" as the app sees it: the ``CLOCK`` setting (a callable) when one is given.

    Tests and the demo pin one clock for the simulator, the sync planner and the views, so
    what a page calls "now" matches the data on any calendar day.
    """
    clock = config.get("CLOCK")
    return clock() if clock is not None else utcnow()
