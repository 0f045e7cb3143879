"""The statistics presenter, called directly: plain inputs in, small dataclasses out (no
Flask, no database)."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from webapp.display_time import shown_zone
from webapp.series import SeriesOptions
from webapp.stats import Queue
from webapp.stats_explain import back_query, refusal
from webapp.stats_export_form import (
    ExportForm,
    download_query,
    form_view,
    hidden_fields,
    panel_values,
    submitted_hidden,
    submitted_panel_query,
)
from webapp.stats_nav import navigation
from webapp.stats_panel import NOT_IMPORTED, NOT_YET, PanelData, build_panel, queue_rows
from webapp.stats_state import PanelState, PanelUrls, parse_state

URLS = PanelUrls(
    host=lambda query: "/host?" + urlencode(query),
    page=lambda query: "/panel?" + urlencode(query),
    explain=lambda query: "/explain" + ("?" + urlencode(query) if query else ""),
    explain_closed="/closed",
)
PARIS = shown_zone("Europe/Paris")
# Wednesday 2026-11-18, 14:07 UTC (15:07 in Paris).
NOW = datetime(2026, 11, 18, 14, 7)
WEEK = PanelState("week", date(2026, 11, 16), None)
CATALOG = [
    Queue("Billing", ("g1",)),
    Queue("Sales", ("g2", "g3")),
    Queue("Old", ("g4",), deleted=True),
    Queue("Undefined_Queue", ("__undefined__",), undefined=True),
]


def _data(series=None, by_key=None, counted_from=None, synced=True) -> PanelData:
    return PanelData(
        integration_id=7,
        catalog=CATALOG,
        by_key=by_key or {},
        series=series or {},
        counted_from=counted_from,
        synced=synced,
    )


def _panel(state: PanelState = WEEK, **data):  # type: ignore[no-untyped-def]
    from webapp.stats_state import Parsed

    form = form_view(panel_values(state, 7), None, hidden_fields(state), CATALOG, PARIS.tz, None)
    return build_panel(
        Parsed(state), _data(**data), zone=PARIS, now=NOW, urls=URLS, export_form=form
    )


def test_each_queue_row_carries_its_link_total_and_deleted_flag():
    all_queues, named, undefined = queue_rows(
        WEEK, URLS, _data(by_key={"g1": 4, "g2": 1, "g3": 2, "g4": 5, "__undefined__": 3})
    )
    assert [(row.name, row.total, row.deleted) for row in named] == [
        ("Billing", 4, False),
        ("Sales", 3, False),
        ("Old", 5, True),
    ]
    assert (undefined.name, undefined.total) == ("Undefined_Queue", 3)
    assert all_queues.name == "All queues"
    assert all_queues.total == 15  # Undefined_Queue included
    assert all_queues.link.current and not named[0].link.current
    assert named[1].link.href == "/host?span=week&date=2026-11-16&queue=Sales"
    assert named[1].link.hx_get == "/panel?span=week&date=2026-11-16&queue=Sales"


def test_week_navigation_stops_at_now_and_lists_the_seven_days():
    nav = navigation(WEEK, URLS, PARIS, NOW)
    assert nav.previous.href == "/host?span=week&date=2026-11-09"
    assert nav.next.disabled  # next week starts after now
    assert nav.today.label == "This week" and nav.today.current
    assert [link.label for link in nav.week_days][:2] == ["Mon 16", "Tue 17"]
    assert len(nav.week_days) == 7
    # From a week holding today, "Day" opens today.
    day, week = nav.spans
    assert day.href == "/host?span=day&date=2026-11-18" and week.current


def test_a_past_day_can_go_forward_and_its_week_opens_on_monday():
    nav = navigation(PanelState("day", date(2026, 11, 10), "Sales"), URLS, PARIS, NOW)
    assert not nav.next.disabled
    assert nav.next.href == "/host?span=day&date=2026-11-11&queue=Sales"
    assert nav.spans[1].href == "/host?span=week&date=2026-11-09&queue=Sales"
    assert nav.week_days == []


def test_a_day_lists_intervals_in_local_time_and_never_shows_unmeasured_ones_as_zero():
    counted_from = datetime(2026, 11, 18, 8, 0)  # 09:00 in Paris
    panel = _panel(
        PanelState("day", date(2026, 11, 18), None),
        series={datetime(2026, 11, 18, 9, 15): 3},
        counted_from=counted_from,
    )
    (day,) = panel.days
    rows = {row.label: row for row in day.rows}
    assert panel.interval_count == 96
    assert rows["08:45 CET"].absent == NOT_IMPORTED
    assert rows["09:00 CET"].absent is None and rows["09:00 CET"].contacts == 0
    counted = rows["10:15 CET"]
    assert counted.contacts == 3
    assert counted.explain_url == "/explain?interval=2026-11-18T09%3A15%3A00Z"
    assert counted.push_url.endswith("&interval=2026-11-18T09%3A15%3A00Z")
    assert rows["15:15 CET"].absent == NOT_YET
    assert panel.measured_count == sum(1 for row in day.rows if row.absent is None)
    assert panel.series_total == 3 and day.total == 3
    assert len(panel.chart_legend) == 2
    assert panel.notices[0].startswith("History imported from Wed 2026-11-18 09:00 CET")


def test_an_empty_measured_week_says_so_and_whether_a_sync_ever_finished():
    panel = _panel(synced=False)
    assert panel.notices == ["No contacts in any queue this week. No sync has finished yet."]
    assert panel.all_queues.total == 0


def test_a_future_week_says_there_is_nothing_yet():
    panel = _panel(PanelState("week", date(2026, 11, 30), None))
    assert panel.notices == [
        "This week is in the future: there are no contacts yet. Use “This week” to come back."
    ]
    assert panel.measured_count == 0


def test_a_day_of_the_autumn_change_has_100_intervals():
    panel = build_panel(
        parse_state({"span": "day", "date": "2026-10-25"}, PARIS.tz, NOW, set()),
        _data(),
        zone=PARIS,
        now=NOW,
        urls=URLS,
        export_form=form_view({}, None, {}, CATALOG, PARIS.tz, None),
    )
    assert panel.interval_count == 100
    assert panel.self_url == "/panel?span=day&date=2026-10-25"


def test_parse_state_keeps_a_working_panel_next_to_each_refusal():
    parsed = parse_state(
        {"span": "month", "date": "soon", "queue": "Nope", "interval": "08:07"},
        ZoneInfo("Europe/Paris"),
        NOW,
        {"Billing"},
    )
    assert parsed.state == PanelState("week", date(2026, 11, 16), None)
    assert len(parsed.errors) == 4


def test_the_export_form_starts_on_the_period_and_keeps_the_panel_state():
    state = PanelState("week", date(2026, 11, 16), "Sales", datetime(2026, 11, 17, 8, 0))
    values = panel_values(state, 7)
    assert (values["from"], values["to"], values["queues"]) == (
        "2026-11-16",
        "2026-11-22",
        ["Sales"],
    )
    assert values["format"] == "csv"
    assert hidden_fields(state) == {"span": "week", "date": "2026-11-16", "panel_queue": "Sales"}
    submitted = {"span": "day", "date": "2026-11-17", "panel_queue": " ", "from": "x"}
    assert submitted_hidden(submitted) == {"span": "day", "date": "2026-11-17", "panel_queue": " "}
    assert submitted_panel_query(submitted) == {"span": "day", "date": "2026-11-17"}
    view = form_view(values, "No.", {}, CATALOG, PARIS.tz, datetime(2026, 11, 17, 6, 0))
    assert view.imported_from == "Tue 2026-11-17 07:00 CET" and view.tz_name == "Europe/Paris"


def test_the_download_query_names_only_what_differs_from_the_format_defaults():
    form = ExportForm(
        {"from": " 2026-11-16", "to": "2026-11-17 ", "queues": ["Sales"]},
        options=SeriesOptions(fmt="json", complete=True),
    )
    assert download_query(form) == {
        "from": "2026-11-16",
        "to": "2026-11-17",
        "queue": ["Sales"],
        "series": "complete",
        "format": "json",
    }


def test_the_list_of_chats_refuses_clearly_and_leads_back_to_its_day():
    interval = datetime(2026, 11, 17, 23, 30)
    assert refusal(None, None, {}, "1") == "Choose an interval: “interval” is missing."
    assert refusal(interval, "Nope", {"Sales": 1}, "1") == "There is no queue named “Nope”."
    assert refusal(interval, None, {}, "0").startswith("“page” must be a whole number")
    assert refusal(interval, "Sales", {"Sales": 1}, "2") is None
    # 23:30 UTC is already the next day in Paris.
    assert back_query(interval, "Sales", PARIS.tz) == {
        "span": "day",
        "date": "2026-11-18",
        "queue": "Sales",
    }


def test_an_unknown_zone_is_shown_as_utc_with_the_fallback_flag():
    odd = shown_zone("Mars/Olympus_Mons")
    assert (odd.name, odd.fallback, odd.chosen) == ("UTC", True, "Mars/Olympus_Mons")
    assert not shown_zone("Europe/Paris").fallback
    assert not shown_zone("").fallback and shown_zone(None).name == "UTC"
