"""Figures of the two real-time paths, for the integration page (pure reads, no Flask).

Both paths store into ``InboundEvent``; webhook events are named ``webhook.<action>``
(``webapp.freshchat.webhooks.EVENT_PREFIX``), companion-app events by their marketplace
name. Both count refusals in ``RefusedRequest``; the webhook path's reasons start with
``webhook_intake.REASON_PREFIX``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import fn

from webapp.freshchat.webhooks import EVENT_PREFIX, fingerprint
from webapp.models import InboundEvent, Integration, RefusedRequest, WebhookEndpoint
from webapp.timeutil import utcnow
from webapp.webhook_intake import REASON_PREFIX

REFUSALS_SHOWN_DAYS = 7
COMPANION = "Companion app"
WEBHOOKS = "Freshchat webhooks"


@dataclass(frozen=True, slots=True)
class Refusal:
    status_code: int
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class PathFigures:
    """One path's line in the real-time table."""

    name: str
    received: int
    last_received_at: datetime | None
    refusals: list[Refusal]

    @property
    def refused(self) -> int:
        return sum(refusal.count for refusal in self.refusals)


@dataclass(frozen=True, slots=True)
class RealtimeSection:
    """Everything the install and webhook sections show."""

    server_url: str
    paths: list[PathFigures]
    refusal_days: int
    webhook_url: str | None
    webhook_fingerprint: str | None
    webhook_updated_at: datetime | None


def _as_datetime(value: object) -> datetime | None:
    """Aggregates come back as text on SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _path(integration_id: int, name: str, webhook: bool, since: datetime) -> PathFigures:
    named = InboundEvent.event_name.startswith(EVENT_PREFIX)
    events = InboundEvent.select(fn.COUNT(InboundEvent.id), fn.MAX(InboundEvent.received_at)).where(
        (InboundEvent.integration == integration_id) & (named if webhook else ~named)
    )
    received, last = events.tuples().get()
    prefixed = RefusedRequest.reason.startswith(REASON_PREFIX)
    rows = (
        RefusedRequest.select(
            RefusedRequest.status_code, RefusedRequest.reason, fn.SUM(RefusedRequest.count)
        )
        .where(
            (RefusedRequest.integration == integration_id)
            & (prefixed if webhook else ~prefixed)
            & (RefusedRequest.at >= since)
        )
        .group_by(RefusedRequest.status_code, RefusedRequest.reason)
        .order_by(fn.SUM(RefusedRequest.count).desc(), RefusedRequest.reason)
        .tuples()
    )
    cut = len(REASON_PREFIX) if webhook else 0
    refusals = [Refusal(status, reason[cut:], count) for status, reason, count in rows]
    return PathFigures(name, int(received or 0), _as_datetime(last), refusals)


def path_figures(integration_id: int, now: datetime | None = None) -> list[PathFigures]:
    since = (now or utcnow()) - timedelta(days=REFUSALS_SHOWN_DAYS)
    return [
        _path(integration_id, COMPANION, False, since),
        _path(integration_id, WEBHOOKS, True, since),
    ]


def build_section(
    integration: Integration,
    *,
    server_url: str,
    webhook_url: str | None,
    endpoint: WebhookEndpoint | None,
    now: datetime | None = None,
) -> RealtimeSection:
    return RealtimeSection(
        server_url=server_url,
        paths=path_figures(integration.id, now),
        refusal_days=REFUSALS_SHOWN_DAYS,
        webhook_url=webhook_url,
        webhook_fingerprint=fingerprint(endpoint.public_key_pem) if endpoint else None,
        webhook_updated_at=endpoint.updated_at if endpoint else None,
    )
