"""What the integrations list shows: rows, deleted ones, one time zone for the table, and
which integration is current where a deleted one kept statistics of the same account."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from webapp.models import Integration
from webapp.status import Status, describe
from webapp.timeutil import UTC_NAME


@dataclass(frozen=True)
class LiveRow:
    integration: Integration
    status: Status
    kept: list[Integration] = field(default_factory=list)  # deleted, same account


@dataclass(frozen=True)
class DeletedRow:
    integration: Integration
    current: Integration | None  # the live integration of the same account, if any


@dataclass(frozen=True)
class IntegrationList:
    rows: list[LiveRow]
    deleted: list[DeletedRow]
    zone: str  # every time in the list is shown in this one zone, named in the header


def table_zone(integrations: Iterable[Integration]) -> str:
    """The zone all these integrations display in, or UTC when they differ."""
    zones = {i.display_timezone or UTC_NAME for i in integrations}
    return zones.pop() if len(zones) == 1 else UTC_NAME


def build(live: list[Integration], deleted: list[Integration]) -> IntegrationList:
    current = {i.domain: i for i in live}
    kept: dict[str, list[Integration]] = {}
    for gone in deleted:
        if gone.domain in current:
            kept.setdefault(gone.domain, []).append(gone)
    return IntegrationList(
        rows=[LiveRow(i, describe(i), kept.get(i.domain, [])) for i in live],
        deleted=[DeletedRow(i, current.get(i.domain)) for i in deleted],
        zone=table_zone([*live, *deleted]),
    )
