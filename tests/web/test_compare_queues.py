"""The queue comparison page on the 25-hour day (fixture of test_export_options)."""

from __future__ import annotations

from xml.etree import ElementTree

from tests.web.test_export_options import setup  # noqa: F401  (the fixture)


def chart_of(html: str) -> ElementTree.Element:
    start = html.index("<svg")
    end = html.index("</svg>", start) + len("</svg>")
    return ElementTree.fromstring(html[start:end])


def test_compare_page_stacked_and_side_by_side(setup):  # noqa: F811
    _app, reader, integration_id = setup
    base = f"/integrations/{integration_id}/stats/compare?span=day&date=2026-10-25"
    stacked = reader.get(base).get_data(as_text=True)
    chart = chart_of(stacked)
    assert chart.get("data-mode") == "stacked" and chart.get("data-slots") == "25"
    assert chart.get("data-queues") == "1"  # only queues with contacts get a colour
    bar = next(r for r in chart.iter("{http://www.w3.org/2000/svg}rect") if r.get("data-queue"))
    assert bar.get("data-value") == "6"
    assert "Support, Sun 2026-10-25 02:00 (UTC+01:00): 6 contacts" in stacked
    grouped = reader.get(base + "&mode=grouped")
    assert chart_of(grouped.get_data(as_text=True)).get("data-mode") == "grouped"
    week = chart_of(reader.get(base.replace("span=day", "span=week")).get_data(as_text=True))
    assert week.get("data-slots") == str(7 * 24 + 1)  # the week holds the 25-hour day
    refused = reader.get(base + "&mode=pie")
    assert refused.status_code == 400 and "“mode” must be stacked or grouped" in refused.get_data(
        as_text=True
    )


def test_the_panel_links_to_the_comparison(setup):  # noqa: F811
    _app, reader, integration_id = setup
    panel = reader.get(f"/integrations/{integration_id}/stats?span=week&date=2026-10-25")
    assert (
        f"/integrations/{integration_id}/stats/compare?span=week&amp;date=2026-10-19"
        in panel.get_data(as_text=True)
    )
