"""The server-rendered SVG chart: a pure function, checked as markup."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from webapp.charts import Bar, Tick, bar_chart_svg, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


@pytest.mark.parametrize(
    ("value", "top"), [(0, 4), (3, 4), (4, 4), (5, 8), (9, 20), (20, 20), (41, 80), (999, 2000)]
)
def test_nice_ceiling_gives_four_whole_steps(value, top):
    assert nice_ceiling(value) == top
    assert top % 4 == 0 and top >= value


def test_bars_scale_to_the_axis_and_zero_bars_are_not_drawn():
    bars = [Bar(0, "a"), Bar(4, "b", "/explain?b"), Bar(2, "c")]
    svg = parse(bar_chart_svg(bars, [Tick(0, "00:00")], title="T", width=300, height=130))
    rects = svg.findall(f".//{SVG}rect")
    assert len(rects) == 2  # the zero bar draws nothing
    heights = [float(r.get("height")) for r in rects]
    assert heights[0] == pytest.approx(2 * heights[1])  # 4 vs 2
    assert svg.get("data-bars") == "3" and svg.get("data-max") == "4"
    # Only the bar with a link is wrapped in one.
    links = svg.findall(f".//{SVG}a")
    assert [link.get("href") for link in links] == ["/explain?b"]
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "x-label"] == ["00:00"]


def test_link_attributes_carry_each_bars_href():
    markup = bar_chart_svg(
        [Bar(1, "x", "/e?i=1"), Bar(2, "y", "/e?i=2")],
        title="T",
        link_attributes={"hx-get": "{href}", "hx-target": "#explain"},
    )
    assert re.findall(r'hx-get="([^"]+)"', markup) == ["/e?i=1", "/e?i=2"]
    assert markup.count('hx-target="#explain"') == 2


def test_text_is_escaped():
    markup = bar_chart_svg(
        [Bar(1, "<script>alert(1)</script>", '/e?a=1&b="2"')], [Tick(0, "a&b")], title="Q & <A>"
    )
    assert "<script>" not in markup
    svg = parse(markup)  # well-formed XML despite the hostile text
    assert svg.find(f"{SVG}title").text == "Q & <A>"
    assert svg.find(f".//{SVG}a").get("href") == '/e?a=1&b="2"'


def test_empty_chart_says_so():
    svg = parse(bar_chart_svg([Bar(0, "a")] * 96, title="T", empty_text="Nothing here"))
    assert svg.find(f".//{SVG}rect") is None
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "empty"] == ["Nothing here"]
    assert parse(bar_chart_svg([], title="T")).get("data-bars") == "0"
