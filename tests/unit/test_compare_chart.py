"""webapp.compare_chart: stacked and side-by-side queue comparison as SVG text."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from webapp.compare_chart import Slot, compare_chart_svg

NS = {"svg": "http://www.w3.org/2000/svg"}


def rects(svg: str) -> list[dict[str, str]]:
    root = ElementTree.fromstring(svg)
    return [
        r.attrib for r in root.iter("{http://www.w3.org/2000/svg}rect") if "data-queue" in r.attrib
    ]


SLOTS = [
    Slot("00:00", (3, 1)),
    Slot("01:00", None, "not_imported"),
    Slot("02:00", (0, 2)),
]


def test_stacked_segments_sit_on_each_other_and_scale_to_the_total():
    svg = str(
        compare_chart_svg(SLOTS, ["Support", "Billing"], mode="stacked", title="t", chart_id="c")
    )
    bars = rects(svg)
    assert [(b["data-queue"], b["data-value"]) for b in bars] == [
        ("Support", "3"),
        ("Billing", "1"),
        ("Billing", "2"),
    ]
    support, billing = bars[0], bars[1]
    assert support["x"] == billing["x"] and support["width"] == billing["width"]
    # Billing's segment ends where Support's begins; the axis tops at 4 (the column's total).
    assert float(billing["y"]) + float(billing["height"]) == pytest.approx(
        float(support["y"]), abs=0.02
    )
    assert 'data-max="4"' in svg and 'class="band band-not_imported"' in svg


def test_side_by_side_bars_share_the_slot_and_scale_to_the_largest_value():
    svg = str(
        compare_chart_svg(SLOTS, ["Support", "Billing"], mode="grouped", title="t", chart_id="c")
    )
    support, billing = rects(svg)[:2]
    assert float(billing["x"]) == pytest.approx(
        float(support["x"]) + float(support["width"]), abs=0.02
    )
    assert support["y"] != billing["y"] and 'data-max="4"' in svg
    assert svg.count('class="legend-item"') == 2
    assert "<title>Billing, 02:00: 2 contacts</title>" in svg


def test_queue_names_are_escaped():
    svg = str(
        compare_chart_svg([Slot("x", (1,))], ["<b>&"], mode="stacked", title="t", chart_id="c")
    )
    assert "<b>&" not in svg and "&lt;b&gt;&amp;" in svg
