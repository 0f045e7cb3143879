"""Local days and weeks as UTC ranges, across daylight-saving changes."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from webapp.display_time import (
    DateInputError,
    day_range,
    interval_label,
    interval_starts,
    parse_day,
    parse_instant,
    period_range,
    zone,
)

BERLIN = zone("Europe/Berlin")


def intervals(span: str, day: date, tz=BERLIN) -> list[datetime]:
    return list(interval_starts(*period_range(span, day, tz)))


def test_ordinary_berlin_day_starts_at_local_midnight():
    assert day_range(date(2026, 11, 16), BERLIN) == (
        datetime(2026, 11, 15, 23, 0),
        datetime(2026, 11, 16, 23, 0),
    )
    assert len(intervals("day", date(2026, 11, 16))) == 96


def test_spring_forward_day_has_92_intervals():
    got = intervals("day", date(2026, 3, 29))
    assert len(got) == 92
    assert got[0] == datetime(2026, 3, 28, 23, 0)  # 00:00 CET
    assert got[-1] == datetime(2026, 3, 29, 21, 45)  # 23:45 CEST
    labels = [interval_label(when, BERLIN) for when in got]
    assert "01:45 CET" in labels and "03:00 CEST" in labels
    assert not any(label.startswith("02:") for label in labels)  # the hour that never was


def test_fall_back_day_has_100_intervals_and_the_repeated_hour_is_told_apart():
    got = intervals("day", date(2026, 10, 25))
    assert len(got) == 100
    labels = [interval_label(when, BERLIN) for when in got]
    assert labels.count("02:15 CEST") == 1 and labels.count("02:15 CET") == 1
    assert len(set(labels)) == 100


def test_week_runs_monday_to_monday_whatever_day_is_given():
    start, end = period_range("week", date(2026, 11, 19), BERLIN)
    assert (start, end) == (datetime(2026, 11, 15, 23, 0), datetime(2026, 11, 22, 23, 0))
    # The week holding the October change has one hour (4 intervals) more.
    assert len(intervals("week", date(2026, 10, 21))) == 7 * 96 + 4
    assert len(intervals("week", date(2026, 3, 25))) == 7 * 96 - 4


def test_utc_and_other_zones():
    assert len(intervals("day", date(2026, 3, 29), zone("UTC"))) == 96
    # New York changes on other dates than Europe.
    assert len(intervals("day", date(2026, 3, 8), zone("America/New_York"))) == 92
    assert len(intervals("day", date(2026, 11, 1), zone("America/New_York"))) == 100
    # Kathmandu is UTC+05:45: local midnight is still on a quarter hour.
    start, _ = day_range(date(2026, 1, 1), zone("Asia/Kathmandu"))
    assert start == datetime(2025, 12, 31, 18, 15)


def test_unknown_zone_falls_back_to_utc():
    assert zone("Mars/Olympus_Mons").key == "UTC"
    assert zone(None).key == "UTC"


@pytest.mark.parametrize("text", ["garbage", "2026-13-01", "2026-02-30", "16/11/2026", "9" * 30])
def test_parse_day_refuses_with_a_message(text):
    with pytest.raises(DateInputError, match="YYYY-MM-DD"):
        parse_day(text)


@pytest.mark.parametrize("text", ["1900-01-01", "9999-12-31"])
def test_parse_day_refuses_absurd_years(text):
    with pytest.raises(DateInputError, match="between"):
        parse_day(text)


def test_parse_day_blank_is_none():
    assert parse_day("") is None and parse_day(None) is None
    assert parse_day(" 2026-11-16 ") == date(2026, 11, 16)


def test_parse_instant_forms():
    assert parse_instant("2026-11-16", name="from") == datetime(2026, 11, 16)
    assert parse_instant("2026-11-16T09:15:00Z", name="from") == datetime(2026, 11, 16, 9, 15)
    assert parse_instant("2026-11-16T10:15:00+01:00", name="from") == datetime(2026, 11, 16, 9, 15)
    assert parse_instant("2026-11-16T09:15", name="from") == datetime(2026, 11, 16, 9, 15)
    assert parse_instant(" ", name="from") is None
    for bad in ("yesterday", "2026-11-16T25:00Z", "0001-01-01T00:00:00+14:00"):
        with pytest.raises(DateInputError):
            parse_instant(bad, name="from")
