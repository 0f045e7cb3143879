"""Reading what the statistics panel shows for a request, for the views that host it.

Both the integration's page and the statistics page show the panel: this is where its
figures are read (``stats``), its URLs made (``url_for``) and the pure presenter
(``stats_panel``) called, so neither view imports the other. The export's streamed
response lives here too: the page and the API send the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Response, current_app, stream_with_context, url_for

from webapp import stats
from webapp.display_time import period_days, period_range, shown_zone, zone
from webapp.export_formats import export_chunks
from webapp.models import Integration
from webapp.series import SeriesOptions
from webapp.stats_explain import explain_view
from webapp.stats_export_form import form_view, hidden_fields, panel_values
from webapp.stats_panel import PanelData, StatsPanel, build_panel
from webapp.stats_state import PanelUrls, parse_state
from webapp.timeutil import now_from

HOST_DETAIL = "integrations.detail"
HOST_PAGE = "stats.page"


def panel_urls(integration_id: int, host: str) -> PanelUrls:
    def url(endpoint: str):  # type: ignore[no-untyped-def]
        return lambda query: url_for(endpoint, integration_id=integration_id, **query)

    return PanelUrls(
        host=url(host),
        page=url(HOST_PAGE),
        explain=url("stats.explain"),
        explain_closed=url_for("stats.explain_closed", integration_id=integration_id),
    )


def load_panel(
    integration: Integration,
    args: Mapping[str, str],
    host: str,
    *,
    export_error: str | None = None,
    export_values: Mapping[str, Any] | None = None,
) -> StatsPanel:
    """The panel for this query string: a handful of indexed reads, then the presenter."""
    shown = shown_zone(integration.display_timezone)
    tz = shown.tz
    now = now_from(current_app.config)
    catalog = stats.queue_catalog(integration)
    by_name = {queue.name: queue for queue in catalog}
    parsed = parse_state(args, tz, now, set(by_name))
    state = parsed.state
    start, end = period_range(state.span, state.day, tz)
    selected = by_name.get(state.queue) if state.queue else None
    data = PanelData(
        integration_id=integration.id,
        catalog=catalog,
        by_key=stats.contacts_by_key(integration, start, end),
        series=stats.interval_series(
            integration, start, end, list(selected.keys) if selected else None
        ),
        counted_from=integration.counted_from,
        synced=integration.last_sync_finished_at is not None,
    )
    urls = panel_urls(integration.id, host)
    explain = None
    if state.interval is not None:
        explain = explain_view(
            integration, tz, by_name, state.interval, state.queue, urls, page_text="1"
        )
        explain = replace(explain, close_href=urls.host(state.query(interval=None)))
    values = {**panel_values(state, period_days(state.span)), **(export_values or {})}
    export_form = form_view(
        values, export_error, hidden_fields(state), catalog, tz, integration.counted_from
    )
    return build_panel(
        parsed, data, zone=shown, now=now, urls=urls, export_form=export_form, explain=explain
    )


def export_response(
    query: stats.RangeQuery, options: SeriesOptions, *, filename: str | None = None
) -> Response:
    """Stream rows as they are read, so a year of intervals costs no more memory than one."""
    integration = query.integration
    body = export_chunks(
        query,
        options,
        catalog=stats.queue_catalog(integration),
        tz=zone(integration.display_timezone),
        now=now_from(current_app.config),
    )
    response = Response(stream_with_context(body), mimetype=options.mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
