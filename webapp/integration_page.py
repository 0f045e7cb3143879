"""The integration page's data, read once per request into one object the templates format.

The heading, its badge and the sync panel all show the status, so it is computed once
here; so are the sync history, the push and real-time figures and the overlap note, which
templates used to fetch through globals (sixteen queries hidden in HTML). What only a
request knows (the URLs this server is reached at, the push limits of its settings, the
statistics panel for the query string) is passed in by the view as plain values, so no
Flask is needed here. HTMX endpoints that re-render one section call the function that
builds that section, so the page and its partials cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp import data_checks, diagnose, overlaps, push_summary, webhook_intake
from webapp.display_time import ShownZone, shown_zone
from webapp.integrations import current_app_key
from webapp.models import ApiKey, Integration, SyncRun
from webapp.realtime import RealtimeSection, build_section
from webapp.stats_panel import StatsPanel
from webapp.status import Status, describe

HISTORY_LIMIT = 10


@dataclass(frozen=True, slots=True)
class PushLimits:
    """The push endpoint's limits as the settings say, for the page to quote."""

    max_body_bytes: int
    max_events: int
    rate_limit: int


@dataclass(frozen=True, slots=True)
class PushSection:
    """Everything ``integrations/_push_section.html`` shows."""

    summary: push_summary.PushSummary
    url: str
    key: ApiKey | None
    max_body: str
    max_events: int
    rate_limit: int


@dataclass(frozen=True, slots=True)
class SyncSection:
    """The sync panel: the status and the most recent runs, newest first."""

    status: Status
    history: list[SyncRun]


@dataclass(frozen=True, slots=True)
class IntegrationPage:
    """Everything ``integrations/detail.html`` and its partials show.

    ``push`` and ``realtime`` are None for a deleted integration: its key is revoked and
    the page shows neither section, so nothing is read for them.
    """

    integration: Integration
    sync: SyncSection
    zone: ShownZone
    app_key: ApiKey | None
    overlap: overlaps.Overlap
    diagnosis: diagnose.Diagnosis | None
    stats: StatsPanel  # built by the view, for its query string (``stats_page``)
    push: PushSection | None
    realtime: RealtimeSection | None

    @property
    def status(self) -> Status:
        return self.sync.status


def sync_history(integration: Integration, limit: int = HISTORY_LIMIT) -> list[SyncRun]:
    """The most recent runs, newest first: the full page and the panel show the same."""
    return list(
        SyncRun.select()
        .where(SyncRun.integration == integration)
        .order_by(SyncRun.id.desc())
        .limit(limit)
    )


def sync_section(integration: Integration) -> SyncSection:
    return SyncSection(describe(integration), sync_history(integration))


def size_text(size: int) -> str:
    """``1 MiB``, ``256 KiB``, ``1000 bytes``: a limit as people read it."""
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def push_section(
    integration: Integration, *, events_url: str, limits: PushLimits, key: ApiKey | None
) -> PushSection:
    return PushSection(
        summary=push_summary.summary(integration),
        url=events_url,
        key=key,
        max_body=size_text(limits.max_body_bytes),
        max_events=limits.max_events,
        rate_limit=limits.rate_limit,
    )


def realtime_section(integration: Integration, *, server_url: str) -> RealtimeSection:
    """The install, real-time paths and webhook sections' figures (one read for all three)."""
    endpoint = webhook_intake.endpoint_for(integration)
    return build_section(
        integration,
        server_url=server_url,
        webhook_url=webhook_intake.webhook_url(server_url, endpoint.token) if endpoint else None,
        endpoint=endpoint,
    )


def build(
    integration: Integration,
    *,
    events_url: str,
    server_url: str,
    limits: PushLimits,
    stats: StatsPanel,
) -> IntegrationPage:
    key = current_app_key(integration)
    live = not integration.is_deleted
    return IntegrationPage(
        integration=integration,
        sync=sync_section(integration),
        zone=shown_zone(integration.display_timezone),
        app_key=key,
        overlap=overlaps.overlap_of(integration),
        diagnosis=data_checks.latest(integration),
        stats=stats,
        push=push_section(integration, events_url=events_url, limits=limits, key=key)
        if live
        else None,
        realtime=realtime_section(integration, server_url=server_url) if live else None,
    )
