"""Server-rendered SVG bar charts: a pure function from numbers to markup.

Rendering on the server keeps the page free of chart libraries and CDNs (the product runs
offline), makes the chart identical for every browser and testable as text, and lets each
bar be an ordinary link (to the explanation of that count) that works with or without htmx.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Plot geometry in SVG user units; the SVG scales to its container through the viewBox.
LEFT = 44
RIGHT = 8
TOP = 10
BOTTOM = 30


@dataclass(frozen=True, slots=True)
class Bar:
    """One interval: its count, a tooltip that names it, and an optional link.

    ``absent`` names why an interval has no count at all (e.g. before the imported history,
    or later than now): such a slot draws no bar but a band, so that it never reads as a
    measured zero. ``attributes`` are extra attributes of this bar's link only.
    """

    value: int
    title: str
    href: str | None = None
    absent: str | None = None
    attributes: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Band:
    """How a run of absent slots of one kind is drawn: a label (shown when the run is wide
    enough, and as its tooltip) and a hatch or a plain shade."""

    label: str
    hatched: bool = False


@dataclass(frozen=True, slots=True)
class Tick:
    """A label on the x axis, drawn at the left edge of bar ``index``."""

    index: int
    label: str


def nice_ceiling(value: int) -> int:
    """Top of the y axis: four equal steps of 1, 2 or 5 times a power of ten, covering value.

    Four whole steps keep every gridline label an integer, as counts are.
    """
    if value <= 4:
        return 4
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            candidate = step * magnitude
            if candidate * 4 >= value:
                return candidate * 4
        magnitude *= 10


def _fmt(number: float) -> str:
    """Compact coordinates: two decimals at most, no trailing zeros."""
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def _attrs(attributes: Mapping[str, str]) -> str:
    return "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())


def bar_chart_svg(
    bars: Sequence[Bar],
    ticks: Sequence[Tick] = (),
    *,
    title: str,
    width: int = 960,
    height: int = 220,
    link_attributes: Mapping[str, str] | None = None,
    empty_text: str = "No contacts in this range",
    chart_id: str = "chart",
    bands: Mapping[str, Band] | None = None,
) -> Markup:
    """An accessible bar chart; bars with a count of zero draw nothing and link nowhere.

    ``link_attributes`` are added to every bar link (e.g. ``hx-target``), with ``{href}``
    in a value replaced by that bar's link, so the caller decides how links behave.
    Consecutive absent bars of one kind are drawn as one band, styled by ``bands``.
    """
    plot_width = width - LEFT - RIGHT
    plot_height = height - TOP - BOTTOM
    count = max(len(bars), 1)
    slot = plot_width / count
    gap = slot * 0.15 if slot >= 3 else 0.0
    top_value = nice_ceiling(max((bar.value for bar in bars), default=0))
    scale = plot_height / top_value
    baseline = TOP + plot_height
    runs = absent_runs(bars)
    hatch_id = f"{chart_id}-hatch"

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="bar-chart" id="{chart_id}" '
        f'data-bars="{len(bars)}" data-max="{top_value}" '
        f'data-absent="{sum(end - start for _kind, start, end in runs)}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    parts.extend(background_svg(runs, slot, plot_height, top_value, width, bands, hatch_id))
    for tick in ticks:
        x = LEFT + tick.index * slot
        parts.append(
            f'<line class="tick" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{TOP}" y2="{baseline + 4}"/>'
            f'<text class="x-label" x="{_fmt(x + 2)}" y="{baseline + 16}">'
            f"{escape(tick.label)}</text>"
        )
    # One Tab stop for the whole chart (roving tabindex): the first linked bar takes focus,
    # arrow keys move between bars (static/app.js); hundreds of bars stay out of Tab's way.
    tab_stop_given = False
    for index, bar in enumerate(bars):
        if bar.value <= 0:
            continue
        bar_height = bar.value * scale
        rect = (
            f'<rect class="bar-rect" x="{_fmt(LEFT + index * slot + gap / 2)}" '
            f'y="{_fmt(baseline - bar_height)}" width="{_fmt(max(slot - gap, 0.5))}" '
            f'height="{_fmt(bar_height)}"><title>{escape(bar.title)}</title></rect>'
        )
        if bar.href:
            extra = {
                name: value.replace("{href}", bar.href)
                for name, value in (link_attributes or {}).items()
            }
            extra.update(bar.attributes or {})
            extra["tabindex"] = "-1" if tab_stop_given else "0"
            tab_stop_given = True
            parts.append(
                f'<a href="{escape(bar.href)}" aria-label="{escape(bar.title)}"'
                f"{_attrs(extra)}>{rect}</a>"
            )
        else:
            parts.append(rect)
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{width - RIGHT}" y1="{baseline}" y2="{baseline}"/>'
    )
    present = [i for i, bar in enumerate(bars) if bar.absent is None or bar.value > 0]
    if empty_text and (present or not bars) and not any(bar.value > 0 for bar in bars):
        # Centred over the slots that were measured, not over bands that say why not.
        first, last = (present[0], present[-1] + 1) if present else (0, count)
        parts.append(
            f'<text class="empty" x="{_fmt(LEFT + (first + last) * slot / 2)}" '
            f'y="{_fmt(TOP + plot_height / 2)}" text-anchor="middle">{escape(empty_text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def background_svg(
    runs: Sequence[tuple[str, int, int]],
    slot: float,
    plot_height: float,
    top_value: int,
    width: int,
    bands: Mapping[str, Band] | None,
    hatch_id: str,
) -> list[str]:
    """The bands of absent slots and the gridlines with their values, behind the bars."""
    parts: list[str] = []
    baseline = TOP + plot_height
    scale = plot_height / top_value
    if runs:
        parts.append(
            f'<defs><pattern id="{hatch_id}" patternUnits="userSpaceOnUse" width="6" '
            'height="6" patternTransform="rotate(45)">'
            '<rect class="hatch-ground" width="6" height="6" fill="#f4f5f8"/>'
            '<line class="hatch-line" x1="0" y1="0" x2="0" y2="6" stroke="#c5cad4" '
            'stroke-width="2"/></pattern></defs>'
        )
    for kind, start, end in runs:
        style = (bands or {}).get(kind) or Band(kind.replace("-", " "))
        x = LEFT + start * slot
        band_width = (end - start) * slot
        fill = f"url(#{hatch_id})" if style.hatched else "#f4f5f8"
        parts.append(
            f'<rect class="band band-{escape(kind)}" x="{_fmt(x)}" y="{TOP}" '
            f'width="{_fmt(band_width)}" height="{_fmt(plot_height)}" fill="{fill}" '
            f'data-first="{start}" data-count="{end - start}">'
            f"<title>{escape(style.label)}</title></rect>"
        )
        if band_width >= 7 * len(style.label):
            parts.append(
                f'<text class="band-label" x="{_fmt(x + band_width / 2)}" '
                f'y="{_fmt(TOP + plot_height / 2)}" text-anchor="middle">'
                f"{escape(style.label)}</text>"
            )
    # Horizontal gridlines with their values: four steps of a round number.
    for step in range(5):
        value = top_value * step // 4
        y = baseline - value * scale
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>'
            f'<text class="y-label" x="{LEFT - 6}" y="{_fmt(y + 3)}" '
            f'text-anchor="end">{value}</text>'
        )
    return parts


def absent_runs(bars: Sequence[Bar]) -> list[tuple[str, int, int]]:
    """(kind, first index, end index) of each run of consecutive absent bars of one kind."""
    runs: list[tuple[str, int, int]] = []
    for index, bar in enumerate(bars):
        if bar.absent is None or bar.value > 0:
            continue
        if runs and runs[-1][0] == bar.absent and runs[-1][2] == index:
            runs[-1] = (bar.absent, runs[-1][1], index + 1)
        else:
            runs.append((bar.absent, index, index + 1))
    return runs
