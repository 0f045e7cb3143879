"""The statistics panel's links: previous / next / today, day or week, a week's days.

Each link names the panel state it leads to twice: as the hosting page's URL (pushed to
history, followed without JavaScript) and as the panel's own URL (fetched by htmx). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from flask_babel import gettext

from webapp.display_time import ShownZone, local_today, period_days, period_range, period_start
from webapp.i18n import current_language
from webapp.stats_state import PanelState, PanelUrls


@dataclass(frozen=True)
class Link:
    label: str
    href: str  # the hosting page's URL: pushed to history, used without JS
    hx_get: str  # the partial
    current: bool = False
    disabled: bool = False


@dataclass(frozen=True)
class Navigation:
    previous: Link
    next: Link
    today: Link
    spans: list[Link]  # Day, Week
    week_days: list[Link]  # the seven days of a week shown (none for a day)


def span_word(span: str) -> str:
    return "day" if span == "day" else "week"


def day_in(state: PanelState, today: date) -> date:
    """Switching a week to day view shows today when today is in that week."""
    if state.day <= today < state.day + timedelta(days=7):
        return today
    return state.day


def link_to(state: PanelState, urls: PanelUrls, label: str, **changes: Any) -> Link:
    """A link to the panel with ``changes``; moving elsewhere closes the list of chats."""
    target = replace(state, **changes)
    query = state.query(
        span=target.span,
        day=period_start(target.span, target.day),
        queue=target.queue,
        interval=None,
    )
    return Link(
        label, urls.host(query), urls.page(query), current=query == state.query(interval=None)
    )


def navigation(state: PanelState, urls: PanelUrls, zone: ShownZone, now: datetime) -> Navigation:
    """Previous / next (none past now) / today, day or week, and a week's seven days."""
    step = timedelta(days=period_days(state.span))
    next_start, _ = period_range(state.span, state.day + step, zone.tz)
    today = local_today(zone.tz, now)
    word = span_word(state.span)
    return Navigation(
        previous=link_to(
            state,
            urls,
            "← " + (gettext("Previous day") if word == "day" else gettext("Previous week")),
            day=state.day - step,
        ),
        next=replace(
            link_to(
                state,
                urls,
                (gettext("Next day") if word == "day" else gettext("Next week")) + " →",
                day=state.day + step,
            ),
            disabled=next_start > now,
        ),
        today=link_to(
            state,
            urls,
            gettext("Today") if state.span == "day" else gettext("This week"),
            day=today,
        ),
        spans=[
            link_to(
                state,
                urls,
                gettext("Day"),
                span="day",
                day=state.day if state.span == "day" else day_in(state, today),
            ),
            link_to(state, urls, gettext("Week"), span="week", day=period_start("week", state.day)),
        ],
        week_days=[
            link_to(
                state,
                urls,
                format_date(day, "EEE dd", locale=current_language()),
                span="day",
                day=day,
            )
            for day in (state.day + timedelta(days=i) for i in range(7))
        ]
        if state.span == "week"
        else [],
    )
