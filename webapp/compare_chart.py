"""Server-rendered SVG comparing queues: stacked or side by side, one colour per queue.

The same geometry as ``charts.bar_chart_svg`` (bands for slots without a measurement,
four round gridlines), so the two charts read alike. Pure: numbers in, markup out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import ngettext
from markupsafe import Markup, escape

from webapp.charts import (
    BOTTOM,
    LEFT,
    RIGHT,
    TOP,
    Band,
    Bar,
    Tick,
    _fmt,
    absent_runs,
    background_svg,
    nice_ceiling,
)

MODES = ("stacked", "grouped")
# Distinguishable for the common colour-vision deficiencies (Okabe and Ito's palette).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
LEGEND_ROW = 18
LEGEND_PER_ROW = 4


@dataclass(frozen=True, slots=True)
class Slot:
    """One x position: its name for tooltips, each queue's count, or why there is none."""

    label: str
    values: tuple[int, ...] | None
    absent: str | None = None


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def compare_chart_svg(
    slots: Sequence[Slot],
    names: Sequence[str],
    ticks: Sequence[Tick] = (),
    *,
    mode: str,
    title: str,
    chart_id: str,
    bands: Mapping[str, Band] | None = None,
    width: int = 960,
    height: int = 240,
) -> Markup:
    """Stacked: one column per slot, a segment per queue (the column is the total).
    Grouped: one thin bar per queue side by side in each slot. A legend names the colours."""
    legend_rows = -(-len(names) // LEGEND_PER_ROW)
    total_height = height + legend_rows * LEGEND_ROW
    plot_width = width - LEFT - RIGHT
    plot_height = height - TOP - BOTTOM
    count = max(len(slots), 1)
    slot_width = plot_width / count
    gap = slot_width * 0.15 if slot_width >= 3 else 0.0
    measured = [slot.values for slot in slots if slot.values is not None]
    peak = max(
        (sum(values) if mode == "stacked" else max(values, default=0) for values in measured),
        default=0,
    )
    top_value = nice_ceiling(peak)
    scale = plot_height / top_value
    baseline = TOP + plot_height
    runs = absent_runs([Bar(0, "", absent=slot.absent) for slot in slots])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total_height}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="bar-chart compare-chart" '
        f'id="{chart_id}" data-mode="{escape(mode)}" data-slots="{len(slots)}" '
        f'data-queues="{len(names)}" data-max="{top_value}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    parts += background_svg(
        runs, slot_width, plot_height, top_value, width, bands, f"{chart_id}-hatch"
    )
    for tick in ticks:
        x = LEFT + tick.index * slot_width
        parts.append(
            f'<line class="tick" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{TOP}" y2="{baseline + 4}"/>'
            f'<text class="x-label" x="{_fmt(x + 2)}" y="{baseline + 16}">'
            f"{escape(tick.label)}</text>"
        )
    inner = max(slot_width - gap, 0.5)
    for index, slot in enumerate(slots):
        if slot.values is None:
            continue
        left = LEFT + index * slot_width + gap / 2
        stacked_top = baseline
        for position, value in enumerate(slot.values):
            if value <= 0:
                continue
            bar_height = value * scale
            if mode == "stacked":
                x, bar_width = left, inner
                stacked_top -= bar_height
                y = stacked_top
            else:
                bar_width = inner / len(names)
                x, y = left + position * bar_width, baseline - bar_height
            count = ngettext("%(num)d contact", "%(num)d contacts", value)
            parts.append(
                f'<rect class="bar-rect queue-{position}" x="{_fmt(x)}" y="{_fmt(y)}" '
                f'width="{_fmt(max(bar_width, 0.3))}" height="{_fmt(bar_height)}" '
                f'fill="{colour(position)}" data-queue="{escape(names[position])}" '
                f'data-value="{value}"><title>{escape(names[position])}, {escape(slot.label)}: '
                f"{count}</title></rect>"
            )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{width - RIGHT}" y1="{baseline}" y2="{baseline}"/>'
    )
    column = plot_width / LEGEND_PER_ROW
    for position, name in enumerate(names):
        x = LEFT + (position % LEGEND_PER_ROW) * column
        y = height + (position // LEGEND_PER_ROW) * LEGEND_ROW
        parts.append(
            f'<g class="legend-item"><rect x="{_fmt(x)}" y="{y - 10}" width="12" height="12" '
            f'fill="{colour(position)}"/><text x="{_fmt(x + 16)}" y="{y}">{escape(name)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
