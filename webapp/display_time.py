"""Days and weeks in an integration's display time zone, as naive-UTC ranges.

Intervals are stored in UTC; planners read them in their own zone. A local day is the span
between two local midnights, so it holds 92 intervals on a spring-forward day and 100 on a
fall-back day in Europe: the ranges here are computed from the midnights, never as
"start + 24 hours". Pure functions (no Flask, no database) so they are tested directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

from webapp.refusals import N_, Refusal
from webapp.timeutil import INTERVAL, UTC_NAME, floor_interval, to_naive_utc

SPANS = ("day", "week")
# Dates outside this window are refused before any arithmetic can overflow.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2199, 12, 31)


class DateInputError(Refusal):
    """A date or time from a query string that we cannot use, with a message for people."""


def zone(name: str | None) -> ZoneInfo:
    """The zone named by the integration; UTC when the name is unknown to this system.

    A stored zone may vanish from the system's tz database after an upgrade; showing UTC
    (and saying so in the page header) beats refusing to show any statistics.
    """
    try:
        return ZoneInfo(name or UTC_NAME)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_NAME)


@dataclass(frozen=True, slots=True)
class ShownZone:
    """The zone a page shows times in, and the name the integration chose.

    They differ only when the chosen zone is unknown here (see ``zone``): pages then show
    UTC and say why, in one note (``macros/zone.html``).
    """

    tz: ZoneInfo
    chosen: str

    @property
    def name(self) -> str:
        return self.tz.key

    @property
    def fallback(self) -> bool:
        return self.tz.key != (self.chosen or UTC_NAME)


def shown_zone(name: str | None) -> ShownZone:
    return ShownZone(zone(name), name or "")


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The naive-UTC instant of the first moment of ``day`` in ``tz``.

    Where midnight itself does not exist (a zone that springs forward at 00:00), the day
    starts at the first existing instant: ``fold=0`` maps the gap forward, which is that.
    """
    local = datetime(day.year, day.month, day.day, tzinfo=tz)
    return local.astimezone(UTC).replace(tzinfo=None)


def day_range(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in naive UTC of one local calendar day."""
    return local_midnight_utc(day, tz), local_midnight_utc(day + timedelta(days=1), tz)


def week_start(day: date) -> date:
    """Monday of the ISO week that holds ``day``."""
    return day - timedelta(days=day.weekday())


def period_start(span: str, day: date) -> date:
    """The first local day of the day or week that holds ``day``."""
    return week_start(day) if span == "week" else day


def period_days(span: str) -> int:
    return 7 if span == "week" else 1


def period_range(span: str, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in naive UTC of the day or ISO week (Monday first) holding ``day``."""
    first = period_start(span, day)
    start = local_midnight_utc(first, tz)
    end = local_midnight_utc(first + timedelta(days=period_days(span)), tz)
    return floor_interval(start), _ceil_interval(end)


def _ceil_interval(value: datetime) -> datetime:
    floored = floor_interval(value)
    return floored if floored == value else floored + INTERVAL


def interval_starts(start: datetime, end: datetime) -> Iterator[datetime]:
    """Every 15-minute interval start in [start, end), naive UTC."""
    current = floor_interval(start)
    while current < end:
        yield current
        current += INTERVAL


def to_local(value: datetime, tz: ZoneInfo) -> datetime:
    """Naive UTC → aware local time."""
    return to_naive_utc(value).replace(tzinfo=UTC).astimezone(tz)


def local_today(tz: ZoneInfo, now: datetime) -> date:
    return to_local(now, tz).date()


def interval_label(value: datetime, tz: ZoneInfo) -> str:
    """``09:15 CET``: the zone abbreviation tells apart the repeated hour of a fall-back day."""
    local = to_local(value, tz)
    return local.strftime("%H:%M ") + (local.tzname() or "")


# Babel patterns of a day and time: English keeps its ISO dates, French reads as French.
LONG_PATTERNS = {"en": "EEE yyyy-MM-dd HH:mm", "fr": "EEE d MMM y HH:mm"}
DAY_PATTERNS = {"en": "EEEE yyyy-MM-dd", "fr": "EEEE d MMMM y"}
SHORT_DAY_PATTERNS = {"en": "EEE yyyy-MM-dd", "fr": "EEE d MMM y"}


def long_label(value: datetime, tz: ZoneInfo, *, locale: str = "en") -> str:
    """``Mon 2026-11-16 09:15 CET``; ``lun. 16 nov. 2026 09:15 CET`` in French."""
    local = to_local(value, tz)
    pattern = LONG_PATTERNS.get(locale, LONG_PATTERNS["en"])
    return format_datetime(local, pattern, locale=locale) + " " + (local.tzname() or "")


def parse_day(text: str | None, *, name: str = "date") -> date | None:
    """A ``YYYY-MM-DD`` query value, ``None`` when blank; refuses anything else clearly."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise DateInputError(
            N_(
                "“%(value)s” is not a date: use the form YYYY-MM-DD for “%(name)s”, "
                "for example 2026-11-16."
            ),
            value=_shorten(value),
            name=name,
        ) from None
    check_day(parsed, name=name)
    return parsed


def check_day(day: date, *, name: str = "date") -> None:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise DateInputError(
            N_("“%(name)s” must be between %(first)s and %(last)s."),
            name=name,
            first=FIRST_DATE.isoformat(),
            last=LAST_DATE.isoformat(),
        )


def parse_instant(text: str | None, *, name: str) -> datetime | None:
    """An ISO 8601 date or date-time from an API query, as naive UTC.

    A date means its midnight in UTC and a time without an offset is UTC, which is what
    the exported ``interval_start`` values are in, so a client can feed them back.
    """
    value = (text or "").strip()
    if not value:
        return None
    normalised = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        if len(normalised) == 10:
            parsed_day = date.fromisoformat(normalised)
            check_day(parsed_day, name=name)
            return datetime(parsed_day.year, parsed_day.month, parsed_day.day)
        parsed = datetime.fromisoformat(normalised)
        check_day(parsed.date(), name=name)
        return to_naive_utc(parsed)
    except DateInputError:
        raise
    except (ValueError, OverflowError):
        raise DateInputError(
            N_(
                "“%(value)s” is not a valid “%(name)s”: use ISO 8601, for example "
                "2026-11-16 or 2026-11-16T09:15:00Z."
            ),
            value=_shorten(value),
            name=name,
        ) from None


def _shorten(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
