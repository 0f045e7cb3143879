"""The export form under the statistics panel: what it shows again, and what it asks for.

Local calendar days, both ends included, checked before any row is read; a refusal is one
sentence shown next to the Download button. The form also carries the panel's state in
hidden fields, so that a refused export without JavaScript shows the page as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from webapp import stats
from webapp.display_time import DateInputError, long_label, parse_day, period_range, zone
from webapp.export_checks import page_range_refusal
from webapp.formatting import localized
from webapp.i18n import current_language
from webapp.models import Integration
from webapp.refusals import N_
from webapp.series import SeriesOptions, check_range, export_kind, option_values, parse_options
from webapp.stats_state import PanelState

# Hidden field → panel query key.
PANEL_FIELDS = {"span": "span", "date": "date", "panel_queue": "queue"}


@dataclass(frozen=True)
class ExportFormView:
    """What ``stats/_export.html`` shows: in the panel, or alone as an htmx answer."""

    values: Mapping[str, Any]  # from, to, queues, and the series options
    error: str | None
    hidden: Mapping[str, str]  # the panel's state (PANEL_FIELDS)
    queues: list[stats.Queue]  # the choices
    tz_name: str
    imported_from: str | None  # where the imported history starts, in words


def form_view(
    values: Mapping[str, Any],
    error: str | None,
    hidden: Mapping[str, str],
    catalog: list[stats.Queue],
    tz: ZoneInfo,
    counted_from: datetime | None,
) -> ExportFormView:
    return ExportFormView(
        values=values,
        error=error,
        hidden=hidden,
        queues=catalog,
        tz_name=tz.key,
        imported_from=long_label(counted_from, tz, locale=current_language())
        if counted_from
        else None,
    )


def panel_values(state: PanelState, days: int) -> dict[str, Any]:
    """The form as the panel first shows it: the period and queue on screen, defaults."""
    return {
        "from": state.day.isoformat(),
        "to": (state.day + timedelta(days=days - 1)).isoformat(),
        "queues": [state.queue] if state.queue else [],
        **option_values({}),
    }


def hidden_fields(state: PanelState) -> dict[str, str]:
    query = state.query(interval=None)
    return {name: query[key] for name, key in PANEL_FIELDS.items() if key in query}


def submitted_hidden(args: Mapping[str, str]) -> dict[str, str]:
    """The hidden fields a submitted form carried, to send back unchanged."""
    return {name: value for name in PANEL_FIELDS if (value := args.get(name, ""))}


def submitted_panel_query(args: Mapping[str, str]) -> dict[str, str]:
    """The panel's query string from a submitted form's hidden fields."""
    return {key: args[name] for name, key in PANEL_FIELDS.items() if args.get(name, "").strip()}


@dataclass
class ExportForm:
    """The export form as submitted: the values to show again, and either a query to run
    or the reason it was refused."""

    values: dict[str, Any]
    query: stats.RangeQuery | None = None
    error: str | None = None
    options: SeriesOptions = field(default_factory=SeriesOptions)
    filename: str = ""


def export_filename(integration: Integration, first: str, last: str, options: SeriesOptions) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", integration.name.casefold()).strip("-") or "integration"
    kind = "" if options.historical else export_kind(options)
    return f"{slug}-contacts-{first}-to-{last}{kind}.{options.extension}"


def read_export_form(
    integration: Integration, args: Mapping[str, str], now: datetime
) -> ExportForm:
    """Check the export form: local calendar days, both ends included, before any row is read."""
    tz = zone(integration.display_timezone)
    getlist = getattr(args, "getlist", None)
    names = getlist("queue") if getlist else ([args["queue"]] if args.get("queue") else [])
    queues = [name for name in names if name.strip()]
    form = ExportForm(
        {
            "from": args.get("from", ""),
            "to": args.get("to", ""),
            "queues": queues,
            **option_values(args),
        }
    )
    try:
        options = parse_options(args, default_format="csv")
        first = parse_day(args.get("from"), name="from")
        last = parse_day(args.get("to"), name="to")
        if first is None or last is None:
            raise stats.QueryError(N_("Choose both the first and the last day to export."))
        if first > last:
            raise stats.QueryError(
                N_("The first day (%(first)s) is after the last day (%(last)s): swap them."),
                first=first.isoformat(),
                last=last.isoformat(),
            )
        refusal = page_range_refusal(first, last, tz, now, integration.counted_from)
        if refusal is not None:
            raise stats.QueryError(refusal)
        start, _ = period_range("day", first, tz)
        _, end = period_range("day", last, tz)
        form.query = stats.RangeQuery.build(integration, start, end, queues or None, now=now)
        check_range(form.query, options, tz)
        form.options = options
        form.filename = export_filename(integration, first.isoformat(), last.isoformat(), options)
    except (DateInputError, stats.QueryError) as exc:
        form.error = localized(exc)
    return form


def download_query(form: ExportForm) -> dict[str, Any]:
    """The accepted form as the download's query string: only what differs from the
    format's defaults, so the URL stays short and reads like what was chosen."""
    query: dict[str, Any] = {"from": form.values["from"].strip(), "to": form.values["to"].strip()}
    if form.values["queues"]:
        query["queue"] = form.values["queues"]
    chosen = form.options.query_values()
    plain = SeriesOptions(fmt=form.options.fmt).query_values()
    query.update({key: value for key, value in chosen.items() if value != plain[key]})
    query["format"] = form.options.fmt
    return query
