"""webapp.series and webapp.export_formats: complete series on DST days, checked against
series computed by hand (Europe/Berlin: 2026-03-29 has 23 hours, 2026-10-25 has 25)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from webapp import stats
from webapp.chats import refresh_groups
from webapp.export_formats import export_chunks
from webapp.models import Integration, IntervalStat
from webapp.series import (
    NOT_IMPORTED,
    NOT_YET,
    SeriesOptions,
    check_range,
    complete_series,
    parse_options,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 12, 0)  # after both days: everything measured
# Local days as naive-UTC ranges (CET is +01:00, CEST +02:00).
SPRING = (datetime(2026, 3, 28, 23, 0), datetime(2026, 3, 29, 22, 0))  # 23 hours
AUTUMN = (datetime(2026, 10, 24, 22, 0), datetime(2026, 10, 25, 23, 0))  # 25 hours
STORED = [
    # spring: 00:45Z is 01:45 CET, 01:00Z is 03:00 CEST (02:00-03:00 local does not exist)
    ("g-s", datetime(2026, 3, 29, 0, 45), 3),
    ("g-s", datetime(2026, 3, 29, 1, 0), 5),
    ("g-s", datetime(2026, 3, 29, 1, 15), 1),
    ("g-b", datetime(2026, 3, 29, 1, 30), 2),
    # autumn: 00:45Z is 02:45 CEST, 01:00Z is the second 02:00 (CET), 01:45Z 02:45 CET
    ("g-b", datetime(2026, 10, 25, 0, 30), 1),
    ("g-s", datetime(2026, 10, 25, 0, 45), 4),
    ("g-s", datetime(2026, 10, 25, 1, 0), 6),
    ("g-s", datetime(2026, 10, 25, 1, 45), 2),
]


@pytest.fixture
def berlin(database) -> Integration:
    integration = Integration.create(
        name="Berlin",
        name_key="berlin",
        domain="berlin.freshchat.com",
        api_key_encrypted="x",
        api_key_last4="abcd",
        display_timezone="Europe/Berlin",
    )
    refresh_groups(
        integration.id, [{"id": "g-s", "name": "Support"}, {"id": "g-b", "name": "Billing"}]
    )
    for key, when, contacts in STORED:
        IntervalStat.create(
            integration=integration, queue_key=key, interval_start=when, contacts=contacts
        )
    return integration


def export_text(integration: Integration, start, end, options, *, now=NOW, queues=None) -> str:
    query = stats.RangeQuery.build(integration, start, end, queues)
    check_range(query, options, BERLIN)
    return "".join(
        export_chunks(query, options, catalog=stats.queue_catalog(integration), tz=BERLIN, now=now)
    )


def hours(day: str, offset: str, numbers) -> list[str]:
    return [f"{day}T{h:02d}:00:00{offset}" for h in numbers]


def steps(start: datetime, count: int, minutes: int) -> list[str]:
    return [(start + timedelta(minutes=minutes * i)).isoformat() + "Z" for i in range(count)]


def local_steps(day: str, offset: str, first: str, last: str, minutes: int) -> list[str]:
    start = datetime.fromisoformat(f"{day}T{first}")
    end = datetime.fromisoformat(f"{day}T{last}")
    out = []
    while start <= end:
        out.append(start.isoformat() + offset)
        start += timedelta(minutes=minutes)
    return out


# Each case: range, minutes, clock, every slot label in order, and the non-zero counts.
CASES = {
    "spring-60-local": (
        SPRING,
        60,
        "local",
        hours("2026-03-29", "+01:00", (0, 1)) + hours("2026-03-29", "+02:00", range(3, 24)),
        {
            ("Support", "2026-03-29T01:00:00+01:00"): 3,
            ("Support", "2026-03-29T03:00:00+02:00"): 6,
            ("Billing", "2026-03-29T03:00:00+02:00"): 2,
        },
    ),
    "spring-60-utc": (
        SPRING,
        60,
        "utc",
        steps(SPRING[0], 23, 60),
        {
            ("Support", "2026-03-29T00:00:00Z"): 3,
            ("Support", "2026-03-29T01:00:00Z"): 6,
            ("Billing", "2026-03-29T01:00:00Z"): 2,
        },
    ),
    "spring-30-local": (
        SPRING,
        30,
        "local",
        local_steps("2026-03-29", "+01:00", "00:00", "01:30", 30)
        + local_steps("2026-03-29", "+02:00", "03:00", "23:30", 30),
        {
            ("Support", "2026-03-29T01:30:00+01:00"): 3,
            ("Support", "2026-03-29T03:00:00+02:00"): 6,
            ("Billing", "2026-03-29T03:30:00+02:00"): 2,
        },
    ),
    "spring-30-utc": (
        SPRING,
        30,
        "utc",
        steps(SPRING[0], 46, 30),
        {
            ("Support", "2026-03-29T00:30:00Z"): 3,
            ("Support", "2026-03-29T01:00:00Z"): 6,
            ("Billing", "2026-03-29T01:30:00Z"): 2,
        },
    ),
    "spring-15-local": (
        SPRING,
        15,
        "local",
        local_steps("2026-03-29", "+01:00", "00:00", "01:45", 15)
        + local_steps("2026-03-29", "+02:00", "03:00", "23:45", 15),
        {
            ("Support", "2026-03-29T01:45:00+01:00"): 3,
            ("Support", "2026-03-29T03:00:00+02:00"): 5,
            ("Support", "2026-03-29T03:15:00+02:00"): 1,
            ("Billing", "2026-03-29T03:30:00+02:00"): 2,
        },
    ),
    "spring-15-utc": (
        SPRING,
        15,
        "utc",
        steps(SPRING[0], 92, 15),
        {
            ("Support", "2026-03-29T00:45:00Z"): 3,
            ("Support", "2026-03-29T01:00:00Z"): 5,
            ("Support", "2026-03-29T01:15:00Z"): 1,
            ("Billing", "2026-03-29T01:30:00Z"): 2,
        },
    ),
    "autumn-60-local": (
        AUTUMN,
        60,
        "local",
        hours("2026-10-25", "+02:00", (0, 1, 2)) + hours("2026-10-25", "+01:00", range(2, 24)),
        {
            ("Support", "2026-10-25T02:00:00+02:00"): 4,
            ("Support", "2026-10-25T02:00:00+01:00"): 8,
            ("Billing", "2026-10-25T02:00:00+02:00"): 1,
        },
    ),
    "autumn-60-utc": (
        AUTUMN,
        60,
        "utc",
        steps(AUTUMN[0], 25, 60),
        {
            ("Support", "2026-10-25T00:00:00Z"): 4,
            ("Support", "2026-10-25T01:00:00Z"): 8,
            ("Billing", "2026-10-25T00:00:00Z"): 1,
        },
    ),
    "autumn-30-local": (
        AUTUMN,
        30,
        "local",
        local_steps("2026-10-25", "+02:00", "00:00", "02:30", 30)
        + local_steps("2026-10-25", "+01:00", "02:00", "23:30", 30),
        {
            ("Support", "2026-10-25T02:30:00+02:00"): 4,
            ("Support", "2026-10-25T02:00:00+01:00"): 6,
            ("Support", "2026-10-25T02:30:00+01:00"): 2,
            ("Billing", "2026-10-25T02:30:00+02:00"): 1,
        },
    ),
    "autumn-30-utc": (
        AUTUMN,
        30,
        "utc",
        steps(AUTUMN[0], 50, 30),
        {
            ("Support", "2026-10-25T00:30:00Z"): 4,
            ("Support", "2026-10-25T01:00:00Z"): 6,
            ("Support", "2026-10-25T01:30:00Z"): 2,
            ("Billing", "2026-10-25T00:30:00Z"): 1,
        },
    ),
    "autumn-15-local": (
        AUTUMN,
        15,
        "local",
        local_steps("2026-10-25", "+02:00", "00:00", "02:45", 15)
        + local_steps("2026-10-25", "+01:00", "02:00", "23:45", 15),
        {
            ("Support", "2026-10-25T02:45:00+02:00"): 4,
            ("Support", "2026-10-25T02:00:00+01:00"): 6,
            ("Support", "2026-10-25T02:45:00+01:00"): 2,
            ("Billing", "2026-10-25T02:30:00+02:00"): 1,
        },
    ),
    "autumn-15-utc": (
        AUTUMN,
        15,
        "utc",
        steps(AUTUMN[0], 100, 15),
        {
            ("Support", "2026-10-25T00:45:00Z"): 4,
            ("Support", "2026-10-25T01:00:00Z"): 6,
            ("Support", "2026-10-25T01:45:00Z"): 2,
            ("Billing", "2026-10-25T00:30:00Z"): 1,
        },
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_complete_long_series_on_dst_days_matches_the_hand_computed_one(berlin, case):
    (start, end), minutes, basis, labels, nonzero = CASES[case]
    options = SeriesOptions("csv", True, minutes, basis, "long")
    rows = list(csv.reader(io.StringIO(export_text(berlin, start, end, options))))
    assert rows[0] == ["queue", "interval_start", "contacts", "status"]
    # Every slot, every queue (catalog order: Billing, Support, Undefined_Queue), zeros
    # written.
    expected = [
        [queue, label, str(nonzero.get((queue, label), 0)), "counted"]
        for label in labels
        for queue in ("Billing", "Support", "Undefined_Queue")
    ]
    assert rows[1:] == expected
    assert len(labels) == {15: 4, 30: 2, 60: 1}[minutes] * (23 if start == SPRING[0] else 25)


@pytest.mark.parametrize("case", ["spring-60-local", "autumn-30-utc", "autumn-15-local"])
def test_wide_series_has_one_column_per_queue_in_catalog_order(berlin, case):
    (start, end), minutes, basis, labels, nonzero = CASES[case]
    options = SeriesOptions("csv", True, minutes, basis, "wide")
    # Asked in the opposite order: the columns stay in catalog order.
    text = export_text(berlin, start, end, options, queues=["Support", "Billing"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["interval_start", "status", "Billing", "Support"]
    assert rows[1:] == [
        [
            label,
            "counted",
            str(nonzero.get(("Billing", label), 0)),
            str(nonzero.get(("Support", label), 0)),
        ]
        for label in labels
    ]


def test_sparse_series_keeps_only_slots_with_contacts(berlin):
    options = SeriesOptions("json", False, 60, "local", "long")
    items = json.loads(export_text(berlin, *AUTUMN, options))
    assert items == [
        {"queue": "Billing", "interval_start": "2026-10-25T02:00:00+02:00", "contacts": 1},
        {"queue": "Support", "interval_start": "2026-10-25T02:00:00+02:00", "contacts": 4},
        {"queue": "Support", "interval_start": "2026-10-25T02:00:00+01:00", "contacts": 8},
    ]


def test_unmeasured_slots_are_marked_never_written_as_zero(berlin):
    # Imported from 01:30Z: the 01:00Z hour is only half imported, so it is not measured
    # either. Now is 03:10Z: the 03:00Z hour has not fully happened yet, nor any later.
    berlin.counted_from = datetime(2026, 3, 29, 1, 30)
    now = datetime(2026, 3, 29, 3, 10)
    options = SeriesOptions("json", True, 60, "utc", "wide")
    items = json.loads(export_text(berlin, *SPRING, options, now=now))
    statuses = [(item["interval_start"][11:16], item["status"]) for item in items[:6]]
    assert statuses == [
        ("23:00", NOT_IMPORTED),
        ("00:00", NOT_IMPORTED),
        ("01:00", NOT_IMPORTED),
        ("02:00", "counted"),
        ("03:00", NOT_YET),
        ("04:00", NOT_YET),
    ]
    assert items[0]["contacts"] == {"Billing": None, "Support": None, "Undefined_Queue": None}
    assert items[3]["contacts"] == {"Billing": 0, "Support": 0, "Undefined_Queue": 0}
    assert all(item["status"] == NOT_YET for item in items[4:])


def test_wfm_format_rows_in_local_time_with_zeros_and_no_unmeasured_rows(berlin):
    berlin.counted_from = datetime(2026, 10, 25, 0, 0)
    options = parse_options(
        {"format": "wfm", "minutes": "60", "zone": "local"}, default_format="csv"
    )
    assert options.complete
    text = export_text(berlin, *AUTUMN, options)
    lines = text.split("\r\n")
    assert lines[0] == "Queue;Date;Time;IncomingCalls;AnsweredCalls;AHT"
    # 00:00 and 01:00 CEST (22:00Z, 23:00Z) were not imported: no rows, not zeros.
    assert lines[1:7] == [
        "Billing;25/10/2026;02:00;1;1;",
        "Support;25/10/2026;02:00;4;4;",
        "Undefined_Queue;25/10/2026;02:00;0;0;",
        "Billing;25/10/2026;02:00;0;0;",
        "Support;25/10/2026;02:00;8;8;",
        "Undefined_Queue;25/10/2026;02:00;0;0;",
    ]
    assert lines[-1] == "" and len(lines) == 1 + 23 * 3 + 1
    assert text == export_text(berlin, *AUTUMN, options)  # re-export: the same bytes


def test_wfm_and_wide_csv_guard_queue_names_against_formulas(berlin):
    refresh_groups(
        berlin.id,
        [{"id": "g-s", "name": "=HYPERLINK(1)"}, {"id": "g-b", "name": "Billing"}],
    )
    wfm = export_text(berlin, *SPRING, parse_options({"format": "wfm"}, default_format="csv"))
    assert "\r\n'=HYPERLINK(1);29/03/2026;" in wfm and "\n=HYPERLINK" not in wfm
    wide = export_text(berlin, *SPRING, SeriesOptions("csv", True, 15, "utc", "wide"))
    assert wide.splitlines()[0] == (
        '"interval_start","status","' + "'=HYPERLINK(1)" + '","Billing","Undefined_Queue"'
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"format": "wfm", "series": "sparse"}, "always lists every interval"),
        ({"format": "wfm", "shape": "wide"}, "one row per queue and interval"),
        ({"minutes": "20"}, "“minutes” must be 15, 30 or 60, not “20”"),
        ({"zone": "paris"}, "“zone” must be utc or local"),
        ({"shape": "tall"}, "“shape” must be long or wide"),
    ],
)
def test_refused_options_say_why(args, message):
    with pytest.raises(stats.QueryError, match=message):
        parse_options(args, default_format="csv")


def test_a_range_that_cuts_an_hour_in_two_is_refused(berlin):
    query = stats.RangeQuery.build(berlin, datetime(2026, 3, 29, 0, 30), datetime(2026, 3, 29, 2))
    with pytest.raises(stats.QueryError, match="“from” must fall on an interval boundary"):
        check_range(query, SeriesOptions("csv", True, 60, "utc", "long"), BERLIN)
    check_range(query, SeriesOptions("csv", True, 30, "utc", "long"), BERLIN)  # 30 min: fine


def test_series_reads_the_stored_rows_once_in_order(berlin):
    """Slots come out one at a time from an ordered read (the generator is lazy)."""
    query = stats.RangeQuery.build(berlin, *SPRING)
    options = SeriesOptions("csv", True, 60, "local", "long")
    slots = complete_series(
        query, stats.queue_catalog(berlin), options, tz=BERLIN, now=NOW, counted_from=None
    )
    first = next(slots)
    assert first.local.isoformat() == "2026-03-29T00:00:00+01:00" and first.counts == (0, 0, 0)
    assert next(slots).counts == (0, 3, 0)
    assert next(slots).counts == (2, 6, 0)
