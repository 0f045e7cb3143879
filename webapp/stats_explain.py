"""The chats behind one count, as ``stats/_explain.html`` shows them (in the panel or on
their own page): which chats, when, and why they are in that queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext

from webapp import stats
from webapp.display_time import DateInputError, interval_label, long_label, to_local
from webapp.formatting import localized
from webapp.i18n import current_language
from webapp.models import Integration
from webapp.stats_state import PanelUrls
from webapp.timeutil import INTERVAL, iso_z

EXPLAIN_PER_PAGE = 20


@dataclass(frozen=True)
class ExplainView:
    """What the list shows. ``close_href`` is where Close goes: the hosting page without
    ``interval``, set only where the list is shown inside a panel."""

    tz: ZoneInfo
    queue_name: str | None
    interval: datetime | None
    explanation: stats.Explanation | None
    error: str | None
    back_url: str
    close_hx: str
    urls: PanelUrls
    pager_query: Mapping[str, str]  # interval and (a known) queue: the pages' common query
    close_href: str | None = None

    @property
    def tz_name(self) -> str:
        return self.tz.key

    @property
    def interval_label(self) -> str:
        return (
            long_label(self.interval, self.tz, locale=current_language()) if self.interval else ""
        )

    @property
    def interval_end_label(self) -> str:
        return interval_label(self.interval + INTERVAL, self.tz) if self.interval else ""

    def page_url(self, number: int) -> str:
        return self.urls.explain({**self.pager_query, "page": str(number)})

    def local(self, value: datetime | None) -> str:
        return long_label(value, self.tz, locale=current_language()) if value else "—"


def back_query(interval: datetime | None, queue: str | None, tz: ZoneInfo) -> dict[str, str]:
    """The statistics page on the day of the interval, for the list's own page."""
    query: dict[str, str] = {"span": "day"}
    if interval is not None:
        query["date"] = to_local(interval, tz).date().isoformat()
    if queue:
        query["queue"] = queue
    return query


def refusal(
    interval: datetime | None, queue_name: str | None, known: Mapping[str, object], page_text: str
) -> str | None:
    """Why the list cannot be shown, or None."""
    if interval is None:
        return gettext("Choose an interval: “interval” is missing.")
    if queue_name is not None and queue_name not in known:
        return gettext("There is no queue named “%(queue)s”.", queue=queue_name[:80])
    if not page_text.isdigit() or int(page_text) < 1 or len(page_text) > 9:
        return gettext("“page” must be a whole number from 1, not “%(page)s”.", page=page_text[:20])
    return None


def explain_view(
    integration: Integration,
    tz: ZoneInfo,
    catalog: Mapping[str, stats.Queue],
    interval: datetime | None,
    queue_name: str | None,
    urls: PanelUrls,
    *,
    page_text: str,
    error: str | None = None,
) -> ExplainView:
    """Check the request, then read one page of chats (nothing is read for a refusal)."""
    error = error or refusal(interval, queue_name, catalog, page_text)
    explanation = None
    if error is None and interval is not None:
        try:
            keys = list(catalog[queue_name].keys) if queue_name else None
            explanation = stats.explain_interval(
                integration, interval, keys, page=int(page_text), per_page=EXPLAIN_PER_PAGE
            )
        except DateInputError as exc:
            error = localized(exc)
    pager_query = {"interval": iso_z(interval)} if interval else {}
    if queue_name and queue_name in catalog:
        pager_query["queue"] = queue_name
    return ExplainView(
        tz=tz,
        queue_name=queue_name,
        interval=interval,
        explanation=explanation,
        error=error,
        back_url=urls.page(back_query(interval, queue_name, tz)),
        close_hx=urls.explain_closed,
        urls=urls,
        pager_query=pager_query,
    )
