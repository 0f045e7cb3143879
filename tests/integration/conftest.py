"""The simulator every integration test runs against, once per export dialect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from webapp.freshchat.sim_dialects import DIALECTS
from webapp.freshchat.simulator import FreshchatSimulator, SimServer, serve_in_thread


@pytest.fixture(scope="module", params=DIALECTS)
def server(request) -> Iterator[SimServer]:
    """One simulator per export dialect for the module (a server per test costs ~0.5 s).

    Every test of this module runs in both dialects (``sim_dialects``): the classic export
    and the one public code saw from real accounts (times in ``created_at``, zone-less
    times, empty and multi-CSV zips, single ``link``, files IN_PROGRESS then SUCCESS),
    against the same oracle.
    """
    sim = FreshchatSimulator(
        pending_polls=1, days_per_file=7, dialect=request.param, rows_per_member=90
    )
    with serve_in_thread(sim) as running:
        running.sim = sim  # type: ignore[attr-defined]
        yield running
