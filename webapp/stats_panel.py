"""The statistics panel (``stats/_panel.html``) as one small object, from plain inputs.

Pure: the view reads the queues and counts (``stats``) and makes the URLs (``url_for``);
everything here is arithmetic on those, so tests call it without Flask or a database. The
panel is shown on the integration's page and on ``/integrations/<id>/stats``; its links
push the URL of whichever page hosts it (``PanelUrls.host``) and fetch the panel itself
(``PanelUrls.page``).

Intervals with no measurement are never shown as zero: those before the imported history
(``counted_from``) and those later than now show "—" and a band in the chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_date
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from webapp import stats
from webapp.charts import Band, Bar, Tick, bar_chart_svg
from webapp.counting import UNDEFINED_QUEUE
from webapp.display_time import (
    DAY_PATTERNS,
    SHORT_DAY_PATTERNS,
    ShownZone,
    interval_starts,
    long_label,
    period_range,
    to_local,
)
from webapp.i18n import current_language
from webapp.series import NOT_IMPORTED as SERIES_NOT_IMPORTED
from webapp.series import NOT_YET as SERIES_NOT_YET
from webapp.series import absence as series_absence
from webapp.stats_explain import ExplainView
from webapp.stats_export_form import ExportFormView
from webapp.stats_nav import Link, Navigation, link_to, navigation, span_word
from webapp.stats_state import PanelState, PanelUrls, Parsed

# Why an interval has no count (see ``absence``): CSS classes, chart bands, table titles.
NOT_IMPORTED = "not-imported"
NOT_YET = "not-yet"
BANDS = {
    NOT_IMPORTED: Band(_l("Not imported"), hatched=True),
    NOT_YET: Band(_l("Not yet")),
}
ABSENT_TITLES = {
    NOT_IMPORTED: _l("Before the imported history: not imported, so not counted"),
    NOT_YET: _l("Later than now: nothing to count yet"),
}
_ABSENCE_CLASSES = {SERIES_NOT_IMPORTED: NOT_IMPORTED, SERIES_NOT_YET: NOT_YET}


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue table: its name, link, contacts in the period."""

    name: str
    link: Link
    total: int
    deleted: bool = False  # Freshchat no longer lists it; its past contacts stay


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


@dataclass(frozen=True)
class PanelData:
    """What the view read for the period: queues, their totals, the chosen series."""

    integration_id: int
    catalog: list[stats.Queue]
    by_key: Mapping[str, int]  # contacts in the period per queue key
    series: Mapping[datetime, int]  # contacts per interval start, for the chosen queue(s)
    counted_from: datetime | None  # where the imported history starts
    synced: bool  # a sync has finished at least once


@dataclass(frozen=True)
class StatsPanel:
    """Everything ``stats/_panel.html`` shows."""

    state: PanelState
    zone: ShownZone
    errors: list[str]
    notices: list[str]
    nav: Navigation
    period_label: str
    all_queues: QueueRow
    named: list[QueueRow]
    undefined: QueueRow | None
    queue_title: str
    series_total: int
    interval_count: int
    measured_count: int
    chart: Markup
    chart_legend: list[str]
    days: list[DayGroup]
    self_url: str
    export_form: ExportFormView
    explain: ExplainView | None = None

    @property
    def absent_titles(self) -> Mapping[str, str]:
        return ABSENT_TITLES


def absence(when: datetime, now: datetime, counted_from: datetime | None) -> str | None:
    """Why an interval without contacts has no measurement at all, or None for a real 0
    (the exports' rule, ``series.absence``, named with the page's CSS classes)."""
    return _ABSENCE_CLASSES.get(series_absence(when, now, counted_from))


def period_label(span: str, first: date) -> str:
    language = current_language()
    if span == "day":
        return format_date(first, DAY_PATTERNS.get(language, DAY_PATTERNS["en"]), locale=language)
    last = first + timedelta(days=6)
    week = first.isocalendar()
    pattern = SHORT_DAY_PATTERNS.get(language, SHORT_DAY_PATTERNS["en"])
    return gettext(
        "Week %(week)d of %(year)d: %(first)s to %(last)s",
        week=week.week,
        year=week.year,
        first=format_date(first, pattern, locale=language),
        last=format_date(last, pattern, locale=language),
    )


def queue_rows(
    state: PanelState, urls: PanelUrls, data: PanelData
) -> tuple[QueueRow, list[QueueRow], QueueRow | None]:
    """All queues (the sum), each named queue, and Undefined_Queue (shown apart)."""
    totals = stats.queue_totals(data.catalog, data.by_key)
    named = [
        QueueRow(
            queue.name, link_to(state, urls, queue.name, queue=queue.name), total, queue.deleted
        )
        for queue, total in totals
        if not queue.undefined
    ]
    undefined = next(
        (
            QueueRow(
                UNDEFINED_QUEUE, link_to(state, urls, UNDEFINED_QUEUE, queue=UNDEFINED_QUEUE), total
            )
            for queue, total in totals
            if queue.undefined
        ),
        None,
    )
    everything = sum(row.total for row in named) + (undefined.total if undefined else 0)
    everyone = gettext("All queues")
    all_queues = QueueRow(everyone, link_to(state, urls, everyone, queue=None), everything)
    return all_queues, named, undefined


def build_panel(
    parsed: Parsed,
    data: PanelData,
    *,
    zone: ShownZone,
    now: datetime,
    urls: PanelUrls,
    export_form: ExportFormView,
    explain: ExplainView | None = None,
) -> StatsPanel:
    state = parsed.state
    tz = zone.tz
    start, end = period_range(state.span, state.day, tz)
    all_queues, named, undefined = queue_rows(state, urls, data)

    explain_base = urls.explain({"queue": state.queue} if state.queue else {})
    explain_base += "&interval=" if "?" in explain_base else "?interval="
    # ``state.query()`` always holds span and date, so the URL already has a query string.
    push_base = urls.host(state.query(interval=None)) + "&interval="
    language = current_language()
    day_pattern = DAY_PATTERNS.get(language, DAY_PATTERNS["en"])
    short_pattern = SHORT_DAY_PATTERNS.get(language, SHORT_DAY_PATTERNS["en"])
    day_text = ""
    # The translated pattern once, filled per bar (this loop is the page's hot path).
    bar_title = gettext("%(when)s: %(count)s", when="%(when)s", count="%(count)s")
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
        count = data.series.get(when, 0)
        absent = None if count else absence(when, now, data.counted_from)
        iso = when.isoformat() + "Z"  # interval starts are whole minutes, naive UTC
        quoted = iso.replace(":", "%3A")
        explain_url = explain_base + quoted if count else None
        push_url = push_base + quoted if count else None
        label = f"{local.hour:02d}:{local.minute:02d} {local.tzname()}"
        row = TableRow(when, iso, label, count, explain_url, push_url, absent)
        if local.date() != previous_local_day:
            previous_local_day = local.date()
            days.append(DayGroup(format_date(local, day_pattern, locale=language), []))
            day_text = format_date(local, short_pattern, locale=language)
            if state.span == "week":
                ticks.append(Tick(index, format_date(local, "EEE dd", locale=language)))
        if state.span == "day" and local.minute == 0 and local.hour % 3 == 0:
            ticks.append(Tick(index, label[:5]))
        days[-1].rows.append(row)
        rows.append(row)
        if count:
            contacts = ngettext("%(num)d contact", "%(num)d contacts", count)
            title = bar_title % {"when": f"{day_text} {label}", "count": contacts}
            bars.append(Bar(count, title, explain_url, attributes={"hx-push-url": push_url or ""}))
        else:
            bars.append(Bar(0, "", absent=absent))
            if absent:
                absent_kinds.add(absent)
    measured = sum(1 for row in rows if row.absent is None)

    queue_title = state.queue or gettext("All queues")
    chart = bar_chart_svg(
        bars,
        ticks,
        title=gettext(
            "%(queue)s: contacts per 15-minute interval, %(period)s (%(zone)s)",
            queue=queue_title,
            period=period_label(state.span, state.day),
            zone=tz.key,
        ),
        link_attributes={
            "hx-get": "{href}",
            "hx-target": "#stats-explain",
            "hx-swap": "outerHTML",
        },
        chart_id=f"stats-chart-{data.integration_id}",
        empty_text=gettext("No contacts in this range"),
        bands=BANDS,
    )
    nav = navigation(state, urls, zone, now)
    total = sum(data.series.values())
    notices = period_notices(
        data,
        word=span_word(state.span),
        start=start,
        end=end,
        now=now,
        zone=zone,
        total=total,
        measured=measured,
        where=queue_title if state.queue else None,
        today_label=nav.today.label,
    )
    return StatsPanel(
        state=state,
        zone=zone,
        errors=parsed.errors,
        notices=notices,
        nav=nav,
        period_label=period_label(state.span, state.day),
        all_queues=all_queues,
        named=named,
        undefined=undefined,
        queue_title=queue_title,
        series_total=total,
        interval_count=len(rows),
        measured_count=measured,
        chart=chart,
        chart_legend=chart_legend(absent_kinds),
        days=days,
        self_url=urls.page(state.query()),
        export_form=export_form,
        explain=explain,
    )


def chart_legend(absent_kinds: set[str]) -> list[str]:
    legend = []
    if NOT_IMPORTED in absent_kinds:
        legend.append(
            gettext("Hatched, “—” in the table: before the imported history, not imported.")
        )
    if NOT_YET in absent_kinds:
        legend.append(gettext("Shaded, “—” in the table: later than now."))
    return legend


def period_notices(
    data: PanelData,
    *,
    word: str,
    start: datetime,
    end: datetime,
    now: datetime,
    zone: ShownZone,
    total: int,
    measured: int,
    where: str | None,
    today_label: str,
) -> list[str]:
    """Plain sentences for periods that are not (fully) measured, or measured and empty."""
    notices: list[str] = []
    counted_from = data.counted_from
    if counted_from is not None and start < counted_from:
        # Said first: it is why the numbers below are partial or missing.
        since = long_label(counted_from, zone.tz, locale=current_language())
        if end <= counted_from:
            notices.append(
                gettext(
                    "History imported from %(since)s; earlier intervals were not imported, "
                    "so this day has no counts (shown as “—”, not 0).",
                    since=since,
                )
                if word == "day"
                else gettext(
                    "History imported from %(since)s; earlier intervals were not imported, "
                    "so this week has no counts (shown as “—”, not 0).",
                    since=since,
                )
            )
        else:
            notices.append(
                gettext(
                    "History imported from %(since)s; earlier intervals were not imported: "
                    "they show “—”, not 0, and the totals of this day start from there.",
                    since=since,
                )
                if word == "day"
                else gettext(
                    "History imported from %(since)s; earlier intervals were not imported: "
                    "they show “—”, not 0, and the totals of this week start from there.",
                    since=since,
                )
            )
    if start >= now:
        notices.append(
            gettext(
                "This day is in the future: there are no contacts yet. "
                "Use “%(today)s” to come back.",
                today=today_label,
            )
            if word == "day"
            else gettext(
                "This week is in the future: there are no contacts yet. "
                "Use “%(today)s” to come back.",
                today=today_label,
            )
        )
    elif total == 0 and measured:
        if where is None:
            sentence = (
                gettext("No contacts in any queue this day.")
                if word == "day"
                else gettext("No contacts in any queue this week.")
            )
        elif word == "day":
            sentence = gettext("No contacts in %(queue)s this day.", queue=where)
        else:
            sentence = gettext("No contacts in %(queue)s this week.", queue=where)
        if not data.synced:
            sentence += " " + gettext("No sync has finished yet.")
        notices.append(sentence)
    return notices
