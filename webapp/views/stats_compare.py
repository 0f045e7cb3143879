"""The queues of one day or week compared in one chart, stacked or side by side.

A page of its own (linked from the statistics panel) whose state is the query string
(``span``, ``date``, ``mode``), so it can be bookmarked; plain links, no script.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from webapp.compare_chart import MODES, compare_chart_svg
from webapp.display_time import period_days, period_range, zone
from webapp.i18n import current_language
from webapp.queue_compare import BANDS, build_comparison
from webapp.stats_state import parse_state
from webapp.timeutil import now_from
from webapp.views.integrations import get_integration

bp = Blueprint("stats_compare", __name__)
MODE_LABELS = {"stacked": _l("Stacked"), "grouped": _l("Side by side")}


@bp.get("/integrations/<int:integration_id>/stats/compare")
def page(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id, allow_deleted=True)
    tz = zone(integration.display_timezone)
    now = now_from(current_app.config)
    parsed = parse_state(request.args, tz, now, set())
    state = parsed.state
    errors = list(parsed.errors)
    mode = (request.args.get("mode") or "stacked").strip().lower()
    if mode not in MODES:
        errors.append(
            gettext(
                "“mode” must be stacked or grouped, not “%(mode)s”; showing stacked.",
                mode=mode[:20],
            )
        )
        mode = "stacked"
    comparison = build_comparison(
        integration, state.span, state.day, tz, now, locale=current_language()
    )
    values = {"mode": str(MODE_LABELS[mode]).lower(), "day": state.day.isoformat(), "zone": tz.key}
    title = (
        gettext("Contacts per hour by queue (%(mode)s), day of %(day)s (%(zone)s)", **values)
        if state.span == "day"
        else gettext("Contacts per hour by queue (%(mode)s), week of %(day)s (%(zone)s)", **values)
    )

    def href(**changes: Any) -> str:
        values = {"span": state.span, "date": state.day.isoformat(), "mode": mode, **changes}
        return url_for("stats_compare.page", integration_id=integration.id, **values)

    step = timedelta(days=period_days(state.span))
    next_start, _ = period_range(state.span, state.day + step, tz)
    context = {
        "integration": integration,
        "tz_name": tz.key,
        "state": state,
        "mode": mode,
        "errors": errors,
        "comparison": comparison,
        "chart": compare_chart_svg(
            comparison.slots,
            comparison.names,
            comparison.ticks,
            mode=mode,
            title=title,
            chart_id=f"compare-chart-{integration.id}",
            bands={key: band for key, band in BANDS.items()},
        ),
        "title": title,
        "modes": [(MODE_LABELS[m], href(mode=m), m == mode) for m in MODES],
        "spans": [
            (gettext("Day"), href(span="day"), state.span == "day"),
            (gettext("Week"), href(span="week"), state.span == "week"),
        ],
        "previous": href(date=(state.day - step).isoformat()),
        "next": None if next_start > now else href(date=(state.day + step).isoformat()),
        "back": url_for(
            "stats.page",
            integration_id=integration.id,
            span=state.span,
            date=state.day.isoformat(),
        ),
    }
    return render_template("stats/compare.html", **context), 400 if errors else 200
