"""The server-rendered SVG chart: a pure function, checked as markup."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from webapp.charts import Band, Bar, Tick, bar_chart_svg, nice_ceiling

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


def bands_of(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if "band" in (r.get("class") or "").split()]


def test_absent_slots_are_drawn_as_bands_not_as_zero_bars():
    bars = (
        [Bar(0, "", absent="not-imported")] * 3
        + [Bar(0, ""), Bar(2, "two", "/e?2")]
        + [Bar(0, "", absent="not-yet")] * 2
    )
    styles = {"not-imported": Band("Not imported", hatched=True), "not-yet": Band("Not yet")}
    svg = parse(bar_chart_svg(bars, title="T", width=300, height=130, bands=styles))
    bands = bands_of(svg)
    assert [b.get("class") for b in bands] == ["band band-not-imported", "band band-not-yet"]
    assert [(b.get("data-first"), b.get("data-count")) for b in bands] == [("0", "3"), ("5", "2")]
    assert svg.get("data-absent") == "5"
    # One run is one band whatever its length; each is exactly as wide as its slots.
    slot = (300 - 44 - 8) / 7
    assert float(bands[0].get("width")) == pytest.approx(3 * slot, abs=0.01)
    assert float(bands[1].get("x")) == pytest.approx(44 + 5 * slot, abs=0.01)
    # Hatched bands use the chart's own pattern; the others a plain light shade.
    pattern = svg.find(f".//{SVG}pattern")
    assert bands[0].get("fill") == f"url(#{pattern.get('id')})"
    assert bands[1].get("fill").startswith("#")
    assert [b.find(f"{SVG}title").text for b in bands] == ["Not imported", "Not yet"]
    # Only the measured bar is a bar.
    assert [r.get("class") for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar-rect"] == [
        "bar-rect"
    ]


def test_band_label_is_written_only_where_it_fits():
    wide = parse(
        bar_chart_svg(
            [Bar(0, "", absent="x")] * 90 + [Bar(1, "a")] * 6, title="T", bands={"x": Band("Gone")}
        )
    )
    assert [t.text for t in wide.iter(f"{SVG}text") if t.get("class") == "band-label"] == ["Gone"]
    narrow = parse(
        bar_chart_svg(
            [Bar(0, "", absent="x")] + [Bar(1, "a")] * 95, title="T", bands={"x": Band("Gone")}
        )
    )
    assert not [t for t in narrow.iter(f"{SVG}text") if t.get("class") == "band-label"]


def test_empty_text_covers_only_measured_slots():
    # Half of the chart was not imported and the other half counted nothing.
    svg = parse(
        bar_chart_svg(
            [Bar(0, "", absent="x")] * 4 + [Bar(0, "")] * 4, title="T", width=300, empty_text="None"
        )
    )
    empty = next(t for t in svg.iter(f"{SVG}text") if t.get("class") == "empty")
    slot = (300 - 44 - 8) / 8
    assert float(empty.get("x")) == pytest.approx(44 + 6 * slot, abs=0.01)
    # Nothing measured at all: the bands say why, "no contacts" would be wrong.
    unmeasured = parse(bar_chart_svg([Bar(0, "", absent="x")] * 8, title="T", empty_text="None"))
    assert not [t for t in unmeasured.iter(f"{SVG}text") if t.get("class") == "empty"]


def test_a_count_in_an_absent_slot_is_still_drawn():
    """A stored count wins over the reason it should not exist: data is never hidden."""
    svg = parse(bar_chart_svg([Bar(3, "three", absent="x"), Bar(0, "", absent="x")], title="T"))
    assert len([r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar-rect"]) == 1
    assert [(b.get("data-first"), b.get("data-count")) for b in bands_of(svg)] == [("1", "1")]


def test_per_bar_link_attributes():
    markup = bar_chart_svg(
        [Bar(1, "x", "/e?i=1", attributes={"hx-push-url": "/page?i=1&j=2"}), Bar(2, "y", "/e?i=2")],
        title="T",
        link_attributes={"hx-get": "{href}"},
    )
    links = parse(markup).findall(f".//{SVG}a")
    assert [link.get("hx-push-url") for link in links] == ["/page?i=1&j=2", None]
    assert [link.get("hx-get") for link in links] == ["/e?i=1", "/e?i=2"]
