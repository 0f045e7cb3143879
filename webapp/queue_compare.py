"""Queues side by side for one local day or week: the data of the comparison chart.

Hourly slots on the integration's clock (a 23- or 25-hour day has 23 or 25 of them), built
by ``series.complete_series`` so the chart and the exports agree on every number and on
which hours were not measured. Only queues with contacts in the period get a colour: a
legend of idle queues would hide the ones that matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import lazy_gettext as _l

from webapp import stats
from webapp.charts import Band, Tick
from webapp.compare_chart import Slot
from webapp.display_time import LONG_PATTERNS, period_range
from webapp.models import Integration
from webapp.series import NOT_IMPORTED, NOT_YET, SeriesOptions, complete_series

BANDS = {NOT_IMPORTED: Band(_l("Not imported"), hatched=True), NOT_YET: Band(_l("Not yet"))}
HOURLY = SeriesOptions("csv", True, 60, "local", "long")


@dataclass(frozen=True)
class Comparison:
    names: list[str]
    slots: list[Slot]
    ticks: list[Tick]
    totals: list[tuple[str, int]]

    @property
    def measured(self) -> bool:
        return any(slot.values is not None for slot in self.slots)


def build_comparison(
    integration: Integration,
    span: str,
    first_day: date,
    tz: ZoneInfo,
    now: datetime,
    *,
    locale: str = "en",
) -> Comparison:
    start, end = period_range(span, first_day, tz)
    query = stats.RangeQuery.build(integration, start, end)
    catalog = stats.queue_catalog(integration)
    hours = list(
        complete_series(
            query, catalog, HOURLY, tz=tz, now=now, counted_from=integration.counted_from
        )
    )
    sums = [0] * len(catalog)
    for hour in hours:
        for position, value in enumerate(hour.counts or ()):
            sums[position] += value
    kept = [position for position, total in enumerate(sums) if total]
    names = [catalog[position].name for position in kept]
    slots: list[Slot] = []
    ticks: list[Tick] = []
    previous_day: date | None = None
    for index, hour in enumerate(hours):
        local = hour.local
        pattern = LONG_PATTERNS.get(locale, LONG_PATTERNS["en"])
        label = f"{format_datetime(local, pattern, locale=locale)} ({local.tzname()})"
        values = None if hour.counts is None else tuple(hour.counts[p] for p in kept)
        slots.append(Slot(label, values, None if hour.counts is not None else hour.status))
        if span == "week" and local.date() != previous_day:
            ticks.append(Tick(index, format_datetime(local, "EEE dd", locale=locale)))
        elif span == "day" and local.hour % 3 == 0:
            ticks.append(Tick(index, f"{local:%H:%M}"))
        previous_day = local.date()
    return Comparison(names, slots, ticks, [(names[i], sums[p]) for i, p in enumerate(kept)])
