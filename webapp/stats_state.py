"""What the statistics panel shows, as its query string says: read, checked, written back.

The state lives only in the query string (``span``, ``date``, ``queue``, and ``interval``
for the opened list of chats), so any view can be bookmarked and reloaded. Pure: no Flask,
no database; a refusal becomes a sentence and the default for that value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext

from webapp.display_time import (
    SPANS,
    DateInputError,
    local_today,
    parse_day,
    parse_instant,
    period_start,
)
from webapp.formatting import localized
from webapp.refusals import N_
from webapp.timeutil import iso_z

DEFAULT_SPAN = "week"


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


@dataclass(frozen=True)
class PanelUrls:
    """The panel's addresses, made by the view (``url_for``): here, functions of a query."""

    host: Callable[[Mapping[str, str]], str]  # the page hosting the panel (pushed, no-JS)
    page: Callable[[Mapping[str, str]], str]  # the statistics page: the panel's own URL
    explain: Callable[[Mapping[str, str]], str]  # the chats behind a count
    explain_closed: str  # the empty place of that list, which Close swaps in


@dataclass
class Parsed:
    state: PanelState
    errors: list[str] = field(default_factory=list)


def parse_interval(text: str | None) -> datetime:
    """The start of a 15-minute interval, from the query string (naive UTC)."""
    value = parse_instant(text, name="interval")
    if value is None:
        raise DateInputError(N_("Choose an interval: “interval” is missing."))
    if value.minute % 15 or value.second or value.microsecond:
        raise DateInputError(
            N_("%(value)s is not the start of a 15-minute interval (:00, :15, :30, :45)."),
            value=iso_z(value),
        )
    return value


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
        errors.append(
            gettext(
                "“span” must be “day” or “week”, not “%(span)s”; showing a week.", span=span[:20]
            )
        )
        span = DEFAULT_SPAN
    # ``date`` is canonical; ``day`` is accepted too, as people naturally write it.
    name = "date" if "date" in args or "day" not in args else "day"
    try:
        day = parse_day(args.get(name), name=name) or local_today(tz, now)
    except DateInputError as exc:
        errors.append(
            localized(exc)
            + " "
            + (
                gettext("Showing the current day instead.")
                if span == "day"
                else gettext("Showing the current week instead.")
            )
        )
        day = local_today(tz, now)
    queue = args.get("queue")
    if queue is not None and not queue.strip():
        queue = None
    if queue is not None and queue not in known_queues:
        errors.append(
            gettext(
                "There is no queue named “%(queue)s” in this integration; showing all "
                "queues. Queue names are spelled exactly as in Freshchat.",
                queue=queue[:80],
            )
        )
        queue = None
    interval = None
    if (args.get("interval") or "").strip():
        try:
            interval = parse_interval(args.get("interval"))
        except DateInputError as exc:
            errors.append(localized(exc) + " " + gettext("No chats are listed."))
    return Parsed(PanelState(span, period_start(span, day), queue, interval), errors)
