"""The push path's figures for the integration page (a handful of indexed queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import fn

from webapp.display_time import local_midnight_utc, local_today, zone
from webapp.models import InboundEvent, Integration, RefusedRequest
from webapp.push_groups import WAITING_FOR_GROUPS
from webapp.timeutil import utcnow

REFUSALS_SHOWN_DAYS = 7


@dataclass(frozen=True, slots=True)
class RefusalLine:
    status_code: int
    reason: str
    count: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class PushSummary:
    """The push path's figures for the integration page."""

    last_received_at: datetime | None
    events_today: int
    pending: int
    waiting_for_groups: int
    failed: int
    last_error: str | None
    refusals: list[RefusalLine]
    refusals_total: int
    refusal_days: int
    paused: bool


def _local_midnight(now: datetime, timezone: str) -> datetime:
    """Start of today in the integration's display time zone, as naive UTC."""
    tz = zone(timezone)
    return local_midnight_utc(local_today(tz, now), tz)


def _as_datetime(value: object, default: datetime) -> datetime:
    """Aggregates come back as text on SQLite."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return default


def summary(integration: Integration, now: datetime | None = None) -> PushSummary:
    """Figures shown on the integration page (a handful of indexed queries)."""
    now = now or utcnow()
    mine = InboundEvent.integration == integration.id
    last_id = InboundEvent.select(fn.MAX(InboundEvent.id)).where(mine).scalar()
    last = (
        InboundEvent.select(InboundEvent.received_at).where(InboundEvent.id == last_id).scalar()
        if last_id
        else None
    )
    today = (
        InboundEvent.select()
        .where(
            mine & (InboundEvent.received_at >= _local_midnight(now, integration.display_timezone))
        )
        .count()
    )
    unapplied = mine & InboundEvent.applied_at.is_null()
    pending = InboundEvent.select().where(unapplied).count()
    waiting_for_groups = (
        InboundEvent.select()
        .where(unapplied & (InboundEvent.waiting_for == WAITING_FOR_GROUPS))
        .count()
        if pending
        else 0
    )
    with_error = InboundEvent.error.is_null(False)
    failed = InboundEvent.select().where(mine & with_error).count()
    last_error = (
        InboundEvent.select(InboundEvent.error)
        .where(mine & with_error)
        .order_by(InboundEvent.id.desc())
        .scalar()
        if failed
        else None
    )
    since = now - timedelta(days=REFUSALS_SHOWN_DAYS)
    query = (
        RefusedRequest.select(
            RefusedRequest.status_code,
            RefusedRequest.reason,
            fn.SUM(RefusedRequest.count),
            fn.MAX(RefusedRequest.at),
        )
        .where((RefusedRequest.integration == integration.id) & (RefusedRequest.at >= since))
        .group_by(RefusedRequest.status_code, RefusedRequest.reason)
        .order_by(fn.MAX(RefusedRequest.at).desc())
        .tuples()
    )
    lines = [
        RefusalLine(status, reason, count, _as_datetime(last_at, now))
        for status, reason, count, last_at in query
    ]
    return PushSummary(
        last_received_at=last,
        events_today=today,
        pending=pending,
        waiting_for_groups=waiting_for_groups,
        failed=failed,
        last_error=last_error,
        refusals=lines,
        refusals_total=sum(line.count for line in lines),
        refusal_days=REFUSALS_SHOWN_DAYS,
        paused=bool(integration.paused),
    )
