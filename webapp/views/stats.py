"""Source queues and contacts per interval: page, HTMX partials, explanation, export.

Thin: parse, read (``stats_page``), render. One panel (``stats/_panel.html``) is rendered
in two places: on the integration's page and on ``/integrations/<id>/stats``, which is
also the URL its day/week/queue links fetch with htmx. Its figures and links are built by
``webapp.stats_panel`` from the query string; see ``webapp.stats_state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, current_app, render_template, request, url_for

from webapp import stats
from webapp.display_time import DateInputError, zone
from webapp.formatting import localized
from webapp.models import Integration
from webapp.stats_explain import explain_view
from webapp.stats_export_form import (
    download_query,
    form_view,
    read_export_form,
    submitted_hidden,
    submitted_panel_query,
)
from webapp.stats_page import HOST_DETAIL, HOST_PAGE, export_response, load_panel, panel_urls
from webapp.stats_panel import StatsPanel
from webapp.stats_state import parse_interval
from webapp.timeutil import now_from
from webapp.views.integrations import get_integration

bp = Blueprint("stats", __name__)


def _wants_partial() -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _host_for_request(integration: Integration) -> str:
    """Which page an htmx request came from, so its links push that page's URL."""
    current = request.htmx.current_url if request.htmx else None
    detail_path = url_for(HOST_DETAIL, integration_id=integration.id)
    if current and urlsplit(current).path == detail_path:
        return HOST_DETAIL
    return HOST_PAGE


def _render_page(integration: Integration, panel: StatsPanel, status: int):  # type: ignore[no-untyped-def]
    return render_template(
        "stats/page.html",
        integration=integration,
        panel=panel,
        export_error=panel.export_form.error,
    ), status


@bp.get("/integrations/<int:integration_id>/stats")
def page(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id, allow_deleted=True)
    if _wants_partial():
        host = _host_for_request(integration)
        panel = load_panel(integration, request.args, host)
        status = 400 if panel.errors else 200
        response = current_app.make_response(
            (render_template("stats/_panel.html", integration=integration, panel=panel), status)
        )
        if request.htmx.trigger != "stats-panel":
            # The canonical URL (a week starts on Monday) of the page hosting the panel; a
            # refresh of the panel itself (after a sync) is not a navigation.
            response.headers["HX-Push-Url"] = url_for(
                host, integration_id=integration.id, **panel.state.query()
            )
        return response
    panel = load_panel(integration, request.args, HOST_PAGE)
    return _render_page(integration, panel, 400 if panel.errors else 200)


# --------------------------------------------------------------------------- explain


def _close_href_from_current(integration: Integration) -> str | None:
    """The hosting page's current URL without ``interval``: where Close takes the admin.

    htmx sends the page's URL with each request; only the integration's own pages count,
    so a forged header cannot turn Close into a link elsewhere.
    """
    current = request.htmx.current_url if request.htmx else None
    if not current:
        return None
    parts = urlsplit(current)
    hosts = {url_for(host, integration_id=integration.id) for host in (HOST_DETAIL, HOST_PAGE)}
    if parts.path not in hosts:
        return None
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "interval"]
    return parts.path + ("?" + urlencode(kept) if kept else "")


@bp.get("/integrations/<int:integration_id>/stats/explain")
def explain(integration_id: int):  # type: ignore[no-untyped-def]
    """The chats behind one count: which chats, when, and why they are in that queue."""
    integration = get_integration(integration_id, allow_deleted=True)
    catalog = {queue.name: queue for queue in stats.queue_catalog(integration)}
    interval = None
    error = None
    try:
        interval = parse_interval(request.args.get("interval"))
    except DateInputError as exc:
        error = localized(exc)
    view = explain_view(
        integration,
        zone(integration.display_timezone),
        catalog,
        interval,
        request.args.get("queue") or None,
        panel_urls(integration.id, HOST_PAGE),
        page_text=request.args.get("page") or "1",
        error=error,
    )
    status = 400 if view.error else 200
    if _wants_partial():
        view = replace(view, close_href=_close_href_from_current(integration) or view.back_url)
        return render_template("stats/_explain.html", explain=view), status
    return render_template(
        "stats/explain.html", integration=integration, explain=view, back_url=view.back_url
    ), status


@bp.get("/integrations/<int:integration_id>/stats/explain/closed")
def explain_closed(integration_id: int):  # type: ignore[no-untyped-def]
    """The empty place of the list of chats, which Close swaps in (the URL is pushed by
    the Close link itself)."""
    get_integration(integration_id, allow_deleted=True)
    return render_template("stats/_explain_closed.html")


# --------------------------------------------------------------------------- export


def _export_form_partial(  # type: ignore[no-untyped-def]
    integration: Integration, values: Mapping[str, Any], error: str | None
):
    """The export form alone, with its message: the htmx answer to a check or a refusal."""
    form = form_view(
        values,
        error,
        submitted_hidden(request.args),
        stats.queue_catalog(integration),
        zone(integration.display_timezone),
        integration.counted_from,
    )
    return render_template("stats/_export.html", integration=integration, export_form=form)


@bp.get("/integrations/<int:integration_id>/stats/export/check")
def export_check(integration_id: int):  # type: ignore[no-untyped-def]
    """Inline check of the export form as the admin changes it: the form with its message
    (or without one, which clears an earlier message)."""
    integration = get_integration(integration_id, allow_deleted=True)
    form = read_export_form(integration, request.args, now_from(current_app.config))
    return _export_form_partial(integration, form.values, form.error)


@bp.get("/integrations/<int:integration_id>/stats/export")
def export(integration_id: int):  # type: ignore[no-untyped-def]
    """Download from the page.

    With htmx the form is checked first: a refusal comes back as the form with its message
    (swapped next to the Download button, the chart untouched), an accepted form as an
    ``HX-Redirect`` to this same URL without htmx, which the browser saves as a file.
    Without JavaScript a refusal is the statistics page, as it was, with the message on top.
    """
    integration = get_integration(integration_id, allow_deleted=True)
    form = read_export_form(integration, request.args, now_from(current_app.config))
    if _wants_partial():
        if form.error is not None:
            return _export_form_partial(integration, form.values, form.error)
        response = current_app.make_response(("", 204))
        response.headers["HX-Redirect"] = url_for(
            "stats.export", integration_id=integration.id, **download_query(form)
        )
        return response
    if form.error is not None or form.query is None:
        panel = load_panel(
            integration,
            submitted_panel_query(request.args),
            HOST_PAGE,
            export_error=form.error,
            export_values=form.values,
        )
        return _render_page(integration, panel, 400)
    return export_response(form.query, form.options, filename=form.filename)
