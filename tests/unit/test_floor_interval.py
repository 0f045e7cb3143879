"""Every chat's arrival is floored to its 15-minute UTC interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from webapp.timeutil import floor_interval


@pytest.mark.parametrize(
    ("when", "start"),
    [
        (datetime(2026, 3, 1, 9, 0), datetime(2026, 3, 1, 9, 0)),
        (datetime(2026, 3, 1, 9, 14, 59, 999999), datetime(2026, 3, 1, 9, 0)),
        (datetime(2026, 3, 1, 9, 15), datetime(2026, 3, 1, 9, 15)),
        (datetime(2026, 12, 31, 23, 59, 59), datetime(2026, 12, 31, 23, 45)),
        # Aware times are UTC first: 10:40 at +01:00 is 09:40 UTC.
        (
            datetime(2026, 3, 1, 10, 40, tzinfo=timezone(timedelta(hours=1))),
            datetime(2026, 3, 1, 9, 30),
        ),
        (datetime(2026, 3, 1, 0, 5, tzinfo=UTC), datetime(2026, 3, 1, 0, 0)),
    ],
)
def test_the_interval_start_is_naive_utc_at_a_quarter_hour(when, start):
    floored = floor_interval(when)
    assert floored == start
    assert floored.tzinfo is None
