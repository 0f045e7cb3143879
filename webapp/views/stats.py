"""Source queues and contacts per interval: page, HTMX partials, explanation, export.

One panel (``stats/_panel.html``) is rendered in two places: on the integration's page
(through the ``stats_panel`` template global) and on ``/integrations/<id>/stats``, which is
also the URL its day/week/queue links fetch with htmx. The state lives only in the query
string (``span``, ``date``, ``queue``, and ``interval`` for the opened explanation), so
any view can be bookmarked and reloaded, and links push the URL of the page that hosts the
panel.

Intervals with no measurement are never shown as zero: those before the imported history
(``Integration.counted_from``) and those later than now show "—" and a band in the chart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from markupsafe import Markup

from webapp import stats
from webapp.charts import Band, Bar, Tick, bar_chart_svg
from webapp.counting import UNDEFINED_QUEUE
from webapp.display_time import (
    SPANS,
    DateInputError,
    interval_label,
    interval_starts,
    local_today,
    long_label,
    parse_day,
    parse_instant,
    period_days,
    period_range,
    period_start,
    to_local,
    zone,
)
from webapp.export_checks import page_range_refusal
from webapp.export_formats import export_chunks
from webapp.models import Integration
from webapp.series import NOT_IMPORTED as SERIES_NOT_IMPORTED
from webapp.series import NOT_YET as SERIES_NOT_YET
from webapp.series import SeriesOptions, check_range, export_kind, option_values, parse_options
from webapp.series import absence as series_absence
from webapp.timeutil import INTERVAL, iso_z, now_from
from webapp.views.integrations import get_integration
from webapp.wording import quantity

bp = Blueprint("stats", __name__)

EXPLAIN_PER_PAGE = 20
DEFAULT_SPAN = "week"
HOST_DETAIL = "integrations.detail"
HOST_PAGE = "stats.page"
# Why an interval has no count (see ``_absence``): CSS classes, chart bands, table titles.
NOT_IMPORTED = "not-imported"
NOT_YET = "not-yet"
BANDS = {
    NOT_IMPORTED: Band("Not imported", hatched=True),
    NOT_YET: Band("Not yet"),
}
ABSENT_TITLES = {
    NOT_IMPORTED: "Before the imported history: not imported, so not counted",
    NOT_YET: "Later than now: nothing to count yet",
}


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class PanelState:
    """What the panel shows; serialised to and from the query string."""

    span: str
    day: date  # first local day of the period
    queue: str | None  # None: all queues together
    interval: datetime | None = None  # the interval whose chats are listed, if any

    def query(self, **changes: Any) -> dict[str, str]:
        state = replace(self, **changes)
        values = {"span": state.span, "date": state.day.isoformat()}
        if state.queue is not None:
            values["queue"] = state.queue
        if state.interval is not None:
            values["interval"] = iso_z(state.interval)
        return values


@dataclass
class Parsed:
    state: PanelState
    errors: list[str] = field(default_factory=list)


def parse_state(
    args: Mapping[str, str], tz: ZoneInfo, now: datetime, known_queues: set[str]
) -> Parsed:
    """Read the panel state from a query string; every refusal becomes a message.

    A bad value falls back to the default for that value (this week, all queues) so the
    admin still sees a working panel next to the explanation of what was wrong.
    """
    errors: list[str] = []
    span = (args.get("span") or DEFAULT_SPAN).strip().lower()
    if span not in SPANS:
        errors.append(f"“span” must be “day” or “week”, not “{span[:20]}”; showing a week.")
        span = DEFAULT_SPAN
    # ``date`` is canonical; ``day`` is accepted too, as people naturally write it.
    name = "date" if "date" in args or "day" not in args else "day"
    try:
        day = parse_day(args.get(name), name=name) or local_today(tz, now)
    except DateInputError as exc:
        errors.append(f"{exc} Showing the current {span} instead.")
        day = local_today(tz, now)
    queue = args.get("queue")
    if queue is not None and not queue.strip():
        queue = None
    if queue is not None and queue not in known_queues:
        errors.append(
            f"There is no queue named “{queue[:80]}” in this integration; showing all "
            "queues. Queue names are spelled exactly as in Freshchat."
        )
        queue = None
    interval = None
    if (args.get("interval") or "").strip():
        try:
            interval = _parse_interval(args.get("interval"))
        except DateInputError as exc:
            errors.append(f"{exc} No chats are listed.")
    return Parsed(PanelState(span, period_start(span, day), queue, interval), errors)


def _host_for_request(integration: Integration) -> str:
    """Which page an htmx request came from, so its links push that page's URL."""
    current = request.htmx.current_url if request.htmx else None
    detail_path = url_for(HOST_DETAIL, integration_id=integration.id)
    if current and urlsplit(current).path == detail_path:
        return HOST_DETAIL
    return HOST_PAGE


def _url(endpoint: str, integration: Integration, query: Mapping[str, str]) -> str:
    return url_for(endpoint, integration_id=integration.id, **query)


# --------------------------------------------------------------------------- panel


@dataclass(frozen=True)
class Link:
    label: str
    href: str  # the hosting page's URL: pushed to history, used without JS
    hx_get: str  # the partial
    current: bool = False
    disabled: bool = False


@dataclass(frozen=True)
class TableRow:
    start: datetime
    iso: str
    label: str
    contacts: int
    explain_url: str | None
    push_url: str | None = None  # the hosting page with this interval's chats listed
    absent: str | None = None  # NOT_IMPORTED or NOT_YET: shown as "—", never as 0


@dataclass(frozen=True)
class DayGroup:
    label: str
    rows: list[TableRow]

    @property
    def total(self) -> int:
        return sum(row.contacts for row in self.rows)

    @property
    def measured(self) -> bool:
        """False when no interval of the day was imported yet (or it is all to come)."""
        return any(row.absent is None for row in self.rows)


def _absence(when: datetime, now: datetime, counted_from: datetime | None) -> str | None:
    """Why an interval without contacts has no measurement at all, or None for a real 0
    (the exports' rule, ``series.absence``, named with the page's CSS classes)."""
    return _ABSENCE_CLASSES.get(series_absence(when, now, counted_from))


_ABSENCE_CLASSES = {SERIES_NOT_IMPORTED: NOT_IMPORTED, SERIES_NOT_YET: NOT_YET}


def _period_label(span: str, first: date) -> str:
    if span == "day":
        return first.strftime("%A %Y-%m-%d")
    last = first + timedelta(days=6)
    week = first.isocalendar()
    return f"Week {week.week} of {week.year}: {first:%a %Y-%m-%d} to {last:%a %Y-%m-%d}"


def _span_word(span: str) -> str:
    return "day" if span == "day" else "week"


def panel_context(
    integration: Integration,
    args: Mapping[str, str],
    host: str,
    *,
    export_error: str | None = None,
    export_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything ``stats/_panel.html`` shows, computed from the query string."""
    tz = zone(integration.display_timezone)
    now = now_from(current_app.config)
    catalog = stats.queue_catalog(integration)
    by_name = {queue.name: queue for queue in catalog}
    parsed = parse_state(args, tz, now, set(by_name))
    state = parsed.state
    start, end = period_range(state.span, state.day, tz)
    counted_from = integration.counted_from

    by_key = stats.contacts_by_key(integration, start, end)
    totals = stats.queue_totals(catalog, by_key)
    named = [(queue, total) for queue, total in totals if not queue.undefined]
    undefined = next((item for item in totals if item[0].undefined), None)
    selected = by_name.get(state.queue) if state.queue else None
    keys = list(selected.keys) if selected else None
    series = stats.interval_series(integration, start, end, keys)

    def link(label: str, **changes: Any) -> Link:
        target = replace(state, **changes)
        query = state.query(
            span=target.span,
            day=period_start(target.span, target.day),
            queue=target.queue,
            interval=None,  # moving elsewhere closes the list of chats
        )
        return Link(
            label,
            _url(host, integration, query),
            _url(HOST_PAGE, integration, query),
            current=query == state.query(interval=None),
        )

    explain_base = _url("stats.explain", integration, {"queue": state.queue} if state.queue else {})
    explain_base += "&interval=" if "?" in explain_base else "?interval="
    # ``state.query()`` always holds span and date, so the URL already has a query string.
    push_base = _url(host, integration, state.query(interval=None)) + "&interval="
    rows: list[TableRow] = []
    bars: list[Bar] = []
    ticks: list[Tick] = []
    days: list[DayGroup] = []
    absent_kinds: set[str] = set()
    previous_local_day: date | None = None
    # A week has 672 intervals: this loop is the page's hot path, so labels are built with
    # f-strings from one local time per interval rather than with strftime.
    for index, when in enumerate(interval_starts(start, end)):
        local = to_local(when, tz)
        count = series.get(when, 0)
        absent = None if count else _absence(when, now, counted_from)
        iso = when.isoformat() + "Z"  # interval starts are whole minutes, naive UTC
        quoted = iso.replace(":", "%3A")
        explain_url = explain_base + quoted if count else None
        push_url = push_base + quoted if count else None
        label = f"{local.hour:02d}:{local.minute:02d} {local.tzname()}"
        row = TableRow(when, iso, label, count, explain_url, push_url, absent)
        if local.date() != previous_local_day:
            previous_local_day = local.date()
            days.append(DayGroup(local.strftime("%A %Y-%m-%d"), []))
            if state.span == "week":
                ticks.append(Tick(index, local.strftime("%a %d")))
        if state.span == "day" and local.minute == 0 and local.hour % 3 == 0:
            ticks.append(Tick(index, label[:5]))
        days[-1].rows.append(row)
        rows.append(row)
        if count:
            title = f"{local:%a %Y-%m-%d} {label}: {quantity(count, 'contact')}"
            bars.append(Bar(count, title, explain_url, attributes={"hx-push-url": push_url or ""}))
        else:
            bars.append(Bar(0, "", absent=absent))
            if absent:
                absent_kinds.add(absent)
    measured = sum(1 for row in rows if row.absent is None)

    queue_title = state.queue or "All queues"
    chart = bar_chart_svg(
        bars,
        ticks,
        title=f"{queue_title}: contacts per 15-minute interval, "
        f"{_period_label(state.span, state.day)} ({tz.key})",
        link_attributes={
            "hx-get": "{href}",
            "hx-target": "#stats-explain",
            "hx-swap": "outerHTML",
        },
        chart_id=f"stats-chart-{integration.id}",
        bands=BANDS,
    )

    step = timedelta(days=period_days(state.span))
    next_start, _ = period_range(state.span, state.day + step, tz)
    today = local_today(tz, now)
    word = _span_word(state.span)
    nav = {
        "previous": link(f"← Previous {word}", day=state.day - step),
        "next": replace(link(f"Next {word} →", day=state.day + step), disabled=next_start > now),
        "today": link("Today" if state.span == "day" else "This week", day=today),
        "spans": [
            link(
                "Day", span="day", day=state.day if state.span == "day" else _day_in(state, today)
            ),
            link("Week", span="week", day=period_start("week", state.day)),
        ],
        "queues": [link("All queues", queue=None)]
        + [link(queue.name, queue=queue.name) for queue, _ in named]
        + ([link(UNDEFINED_QUEUE, queue=UNDEFINED_QUEUE)] if undefined else []),
        "week_days": [
            link(f"{day:%a %d}", span="day", day=day)
            for day in (state.day + timedelta(days=i) for i in range(7))
        ]
        if state.span == "week"
        else [],
    }
    total = sum(series.values())
    notices = _notices(
        integration,
        word=word,
        start=start,
        end=end,
        now=now,
        tz=tz,
        total=total,
        measured=measured,
        where=queue_title if state.queue else "any queue",
        today_label=nav["today"].label,
    )
    legend = []
    if NOT_IMPORTED in absent_kinds:
        legend.append("Hatched, “—” in the table: before the imported history, not imported.")
    if NOT_YET in absent_kinds:
        legend.append("Shaded, “—” in the table: later than now.")
    export = {
        "from": state.day.isoformat(),
        "to": (state.day + step - timedelta(days=1)).isoformat(),
        "queues": [state.queue] if state.queue else [],
        **option_values({}),
    }
    if export_values:
        export.update(export_values)
    explain_html = None
    if state.interval is not None:
        context = explain_context(
            integration, tz, by_name, state.interval, state.queue, page_text="1"
        )
        context["close_href"] = _url(host, integration, state.query(interval=None))
        explain_html = Markup(render_template("stats/_explain.html", **context))
    return {
        "integration": integration,
        "state": state,
        "host": host,
        "tz_name": tz.key,
        "tz_fallback": tz.key != (integration.display_timezone or "UTC"),
        "period_label": _period_label(state.span, state.day),
        "start": start,
        "end": end,
        "interval_count": len(rows),
        "measured_count": measured,
        "named": named,
        "undefined": undefined,
        "selected": selected,
        "queue_title": queue_title,
        "series_total": total,
        "chart": chart,
        "chart_legend": legend,
        "days": days,
        "absent_titles": ABSENT_TITLES,
        "nav": nav,
        "errors": parsed.errors,
        "notices": notices,
        "explain_html": explain_html,
        "self_url": _url(HOST_PAGE, integration, state.query()),
        **_export_context(integration, catalog, tz, export, export_error, _export_state(state)),
    }


def _notices(
    integration: Integration,
    *,
    word: str,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
    total: int,
    measured: int,
    where: str,
    today_label: str,
) -> list[str]:
    """Plain sentences for periods that are not (fully) measured, or measured and empty."""
    notices: list[str] = []
    counted_from = integration.counted_from
    if counted_from is not None and start < counted_from:
        # Said first: it is why the numbers below are partial or missing.
        imported = f"History imported from {long_label(counted_from, tz)}"
        if end <= counted_from:
            notices.append(
                f"{imported}; earlier intervals were not imported, so this {word} has no "
                "counts (shown as “—”, not 0)."
            )
        else:
            notices.append(
                f"{imported}; earlier intervals were not imported: they show “—”, not 0, "
                f"and the totals of this {word} start from there."
            )
    if start >= now:
        notices.append(
            f"This {word} is in the future: there are no contacts yet. "
            f"Use “{today_label}” to come back."
        )
    elif total == 0 and measured:
        notices.append(
            f"No contacts in {where} this {word}."
            + (" No sync has finished yet." if integration.last_sync_finished_at is None else "")
        )
    return notices


def _day_in(state: PanelState, today: date) -> date:
    """Switching a week to day view shows today when today is in that week."""
    if state.day <= today < state.day + timedelta(days=7):
        return today
    return state.day


def render_panel(integration: Integration, args: Mapping[str, str], host: str) -> Markup:
    context = panel_context(integration, args, host)
    return Markup(render_template("stats/_panel.html", **context))


def detail_panel(integration: Integration) -> Markup:
    """The panel on the integration's page (its query string is the panel's)."""
    return render_panel(integration, request.args, HOST_DETAIL)


def _wants_partial() -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


@bp.get("/integrations/<int:integration_id>/stats")
def page(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id, allow_deleted=True)
    if _wants_partial():
        host = _host_for_request(integration)
        context = panel_context(integration, request.args, host)
        status = 400 if context["errors"] else 200
        response = current_app.make_response(
            (render_template("stats/_panel.html", **context), status)
        )
        if request.htmx.trigger != "stats-panel":
            # The canonical URL (a week starts on Monday) of the page hosting the panel; a
            # refresh of the panel itself (after a sync) is not a navigation.
            response.headers["HX-Push-Url"] = _url(host, integration, context["state"].query())
        return response
    context = panel_context(integration, request.args, HOST_PAGE)
    status = 400 if context["errors"] else 200
    return render_template("stats/page.html", **context), status


# --------------------------------------------------------------------------- explain


def _parse_interval(text: str | None) -> datetime:
    value = parse_instant(text, name="interval")
    if value is None:
        raise DateInputError("Choose an interval: “interval” is missing.")
    if value.minute % 15 or value.second or value.microsecond:
        raise DateInputError(
            f"{iso_z(value)} is not the start of a 15-minute interval (:00, :15, :30, :45)."
        )
    return value


def explain_context(
    integration: Integration,
    tz: ZoneInfo,
    catalog: Mapping[str, stats.Queue],
    interval: datetime | None,
    queue_name: str | None,
    *,
    page_text: str,
    error: str | None = None,
) -> dict[str, Any]:
    """What ``stats/_explain.html`` shows, inline in the panel or on its own page.

    ``close_href`` is None here; the caller sets it where the list is shown inside a panel
    (the hosting page's URL without ``interval``), which is where a Close control belongs.
    """
    explanation = None
    try:
        if error is not None:
            raise DateInputError(error)
        if interval is None:
            raise DateInputError("Choose an interval: “interval” is missing.")
        if queue_name is not None and queue_name not in catalog:
            raise DateInputError(f"There is no queue named “{queue_name[:80]}”.")
        if not page_text.isdigit() or int(page_text) < 1 or len(page_text) > 9:
            raise DateInputError(f"“page” must be a whole number from 1, not “{page_text[:20]}”.")
        keys = list(catalog[queue_name].keys) if queue_name else None
        explanation = stats.explain_interval(
            integration, interval, keys, page=int(page_text), per_page=EXPLAIN_PER_PAGE
        )
    except DateInputError as exc:
        error = str(exc)
    base_query = {"interval": iso_z(interval)} if interval else {}
    if queue_name and queue_name in catalog:
        base_query["queue"] = queue_name
    return {
        "integration": integration,
        "tz": tz,
        "tz_name": tz.key,
        "queue_name": queue_name,
        "interval": interval,
        "interval_label": long_label(interval, tz) if interval else "",
        "interval_end_label": interval_label(interval + INTERVAL, tz) if interval else "",
        "explanation": explanation,
        "error": error,
        "page_url": lambda number: _url(
            "stats.explain", integration, {**base_query, "page": str(number)}
        ),
        "back_url": _back_url(integration, interval, queue_name, tz),
        "close_href": None,
        "close_hx": url_for("stats.explain_closed", integration_id=integration.id),
        "local": lambda value: long_label(value, tz) if value else "—",
    }


def _close_href_from_current(integration: Integration) -> str | None:
    """The hosting page's current URL without ``interval``: where Close takes the admin.

    htmx sends the page's URL with each request; only the integration's own pages count,
    so a forged header cannot turn Close into a link elsewhere.
    """
    current = request.htmx.current_url if request.htmx else None
    if not current:
        return None
    parts = urlsplit(current)
    hosts = {_url(HOST_DETAIL, integration, {}), _url(HOST_PAGE, integration, {})}
    if parts.path not in hosts:
        return None
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "interval"]
    return parts.path + ("?" + urlencode(kept) if kept else "")


@bp.get("/integrations/<int:integration_id>/stats/explain")
def explain(integration_id: int):  # type: ignore[no-untyped-def]
    """The chats behind one count: which chats, when, and why they are in that queue."""
    integration = get_integration(integration_id, allow_deleted=True)
    tz = zone(integration.display_timezone)
    catalog = {queue.name: queue for queue in stats.queue_catalog(integration)}
    interval = None
    error = None
    try:
        interval = _parse_interval(request.args.get("interval"))
    except DateInputError as exc:
        error = str(exc)
    context = explain_context(
        integration,
        tz,
        catalog,
        interval,
        request.args.get("queue") or None,
        page_text=request.args.get("page") or "1",
        error=error,
    )
    status = 400 if context["error"] else 200
    if _wants_partial():
        context["close_href"] = _close_href_from_current(integration) or context["back_url"]
        return render_template("stats/_explain.html", **context), status
    return render_template("stats/explain.html", **context), status


@bp.get("/integrations/<int:integration_id>/stats/explain/closed")
def explain_closed(integration_id: int):  # type: ignore[no-untyped-def]
    """The empty place of the list of chats, which Close swaps in (the URL is pushed by
    the Close link itself)."""
    get_integration(integration_id, allow_deleted=True)
    return render_template("stats/_explain_closed.html")


def _back_url(
    integration: Integration, interval: datetime | None, queue: str | None, tz: ZoneInfo
) -> str:
    query: dict[str, str] = {"span": "day"}
    if interval is not None:
        query["date"] = to_local(interval, tz).date().isoformat()
    if queue:
        query["queue"] = queue
    return _url(HOST_PAGE, integration, query)


# --------------------------------------------------------------------------- export


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


def export_filename(integration: Integration, first: str, last: str, options: SeriesOptions) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", integration.name.casefold()).strip("-") or "integration"
    kind = "" if options.historical else export_kind(options)
    return f"{slug}-contacts-{first}-to-{last}{kind}.{options.extension}"


# Hidden fields of the export form that carry the panel's state, so that a refused export
# without JavaScript shows the page as it was rather than the week of the first day asked.
PANEL_FIELDS = {"span": "span", "date": "date", "panel_queue": "queue"}


def _export_state(state: PanelState) -> dict[str, str]:
    query = state.query(interval=None)
    return {field: query[key] for field, key in PANEL_FIELDS.items() if key in query}


def _export_context(
    integration: Integration,
    catalog: list[stats.Queue],
    tz: ZoneInfo,
    values: Mapping[str, Any],
    error: str | None,
    panel_state: Mapping[str, str],
) -> dict[str, Any]:
    """What ``stats/_export.html`` shows: in the panel, or alone as an htmx answer."""
    return {
        "integration": integration,
        "export": values,
        "export_error": error,
        "export_state": panel_state,
        "all_queues": catalog,
        "tz_name": tz.key,
        "imported_from": long_label(integration.counted_from, tz)
        if integration.counted_from
        else None,
    }


@dataclass
class ExportForm:
    """The export form as submitted: the values to show again, and either a query to run
    or the reason it was refused."""

    values: dict[str, Any]
    query: stats.RangeQuery | None = None
    error: str | None = None
    options: SeriesOptions = field(default_factory=SeriesOptions)
    filename: str = ""


def read_export_form(integration: Integration, args: Mapping[str, str]) -> ExportForm:
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
            raise stats.QueryError("Choose both the first and the last day to export.")
        if first > last:
            raise stats.QueryError(
                f"The first day ({first.isoformat()}) is after the last day "
                f"({last.isoformat()}): swap them."
            )
        now = now_from(current_app.config)
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
        form.error = str(exc)
    return form


def _download_url(integration: Integration, form: ExportForm) -> str:
    query: dict[str, Any] = {"from": form.values["from"].strip(), "to": form.values["to"].strip()}
    if form.values["queues"]:
        query["queue"] = form.values["queues"]
    chosen = form.options.query_values()
    plain = SeriesOptions(fmt=form.options.fmt).query_values()
    query.update({key: value for key, value in chosen.items() if value != plain[key]})
    query["format"] = form.options.fmt
    return url_for("stats.export", integration_id=integration.id, **query)


def _export_form_partial(integration: Integration, form: ExportForm):  # type: ignore[no-untyped-def]
    """The export form alone, with its message: the htmx answer to a check or a refusal."""
    tz = zone(integration.display_timezone)
    panel_state = {field: request.args.get(field, "") for field in PANEL_FIELDS}
    context = _export_context(
        integration,
        stats.queue_catalog(integration),
        tz,
        form.values,
        form.error,
        {field: value for field, value in panel_state.items() if value},
    )
    return render_template("stats/_export.html", **context)


@bp.get("/integrations/<int:integration_id>/stats/export/check")
def export_check(integration_id: int):  # type: ignore[no-untyped-def]
    """Inline check of the export form as the admin changes it: the form with its message
    (or without one, which clears an earlier message)."""
    integration = get_integration(integration_id, allow_deleted=True)
    return _export_form_partial(integration, read_export_form(integration, request.args))


@bp.get("/integrations/<int:integration_id>/stats/export")
def export(integration_id: int):  # type: ignore[no-untyped-def]
    """Download from the page.

    With htmx the form is checked first: a refusal comes back as the form with its message
    (swapped next to the Download button, the chart untouched), an accepted form as an
    ``HX-Redirect`` to this same URL without htmx, which the browser saves as a file.
    Without JavaScript a refusal is the statistics page, as it was, with the message on top.
    """
    integration = get_integration(integration_id, allow_deleted=True)
    form = read_export_form(integration, request.args)
    if _wants_partial():
        if form.error is not None:
            return _export_form_partial(integration, form)
        response = current_app.make_response(("", 204))
        response.headers["HX-Redirect"] = _download_url(integration, form)
        return response
    if form.error is not None or form.query is None:
        panel_args = {
            key: request.args[field]
            for field, key in PANEL_FIELDS.items()
            if request.args.get(field, "").strip()
        }
        context = panel_context(
            integration,
            panel_args,
            HOST_PAGE,
            export_error=form.error,
            export_values=form.values,
        )
        return render_template("stats/page.html", **context), 400
    return export_response(form.query, form.options, filename=form.filename)
