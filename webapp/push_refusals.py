"""Refused push requests: counted per (integration, status, reason, hour), never per request.

A flood of bad requests (an unknown key sent thousands of times a second) must not grow
the database: a refusal adds 1 to its hour's row, and ``views.api`` stops even that for an
address past ``PUSH_AUTH_FAILURES_PER_MINUTE`` failed keys (429, nothing written).
"""

from __future__ import annotations

from datetime import datetime

from webapp.models import RefusedRequest
from webapp.push import write_transaction
from webapp.timeutil import utcnow

REASON_MAX = 255  # RefusedRequest.reason


def record_refusal(
    integration_id: int | None, status_code: int, reason: str, now: datetime | None = None
) -> None:
    """Count a refused request against its integration (None: the key was not ours)."""
    now = now or utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    reason = reason[:REASON_MAX]
    mine = (
        RefusedRequest.integration.is_null()
        if integration_id is None
        else RefusedRequest.integration == integration_id
    )
    with write_transaction(table=RefusedRequest):
        updated = (
            RefusedRequest.update(count=RefusedRequest.count + 1, at=now)
            .where(
                mine
                & (RefusedRequest.hour == hour)
                & (RefusedRequest.status_code == status_code)
                & (RefusedRequest.reason == reason)
            )
            .execute()
        )
        if not updated:
            RefusedRequest.create(
                integration=integration_id,
                status_code=status_code,
                reason=reason,
                at=now,
                hour=hour,
                count=1,
            )
