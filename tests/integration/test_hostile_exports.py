"""Exports that are not what the app expects: refused whole, explained, repaired later.

The whole pull pipeline against the simulator (both dialects), with the downloaded files
rewritten on their way in, as a real account could send them: group column missing
everywhere, a Created file without its time column, a file whose rows mostly fail, a few
odd rows, an expired download link. Also the re-import of a range.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import requests

from tests.integration.test_sync_pipeline import NOW, OVERLAP, make_world, snapshot
from webapp.models import Chat, Integration, IntervalStat, SyncRun


def stored() -> tuple[list, list]:
    """``snapshot()`` without row ids: a chat stored again gets a new one."""
    cells, chats = snapshot()
    return cells, [{k: v for k, v in chat.items() if k != "id"} for chat in chats]


Rewrite = Callable[[str, list[list[str]]], list[list[str]]]


def event_of(member: str) -> str:
    for event in ("Conversation-Created", "Conversation-Group-Assigned", "Conversation-Resolved"):
        if member.startswith(event):
            return event
    raise AssertionError(f"no event in member name {member!r}")


def rewrite_zip(data: bytes, rewrite: Rewrite) -> bytes:
    """Every CSV of an Extract zip passed through ``rewrite(event, rows)``."""
    if not data or not zipfile.is_zipfile(io.BytesIO(data)):
        return data  # an empty window's 0-byte or header-only file
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w") as target,
    ):
        for info in source.infolist():
            rows = list(csv.reader(io.StringIO(source.read(info).decode("utf-8"))))
            if rows:
                rows = rewrite(event_of(info.filename), rows)
            text = io.StringIO()
            csv.writer(text, lineterminator="\r\n").writerows(rows)
            target.writestr(info.filename, text.getvalue())
    return out.getvalue()


class _Body(io.BytesIO):
    """A replacement ``response.raw``: the client streams downloads with ``read1``."""

    def read1(self, size: int = -1, decode_content: bool = True) -> bytes:  # type: ignore[override]
        return super().read1(size)


class AlteringSession(requests.Session):
    """A real session whose answers to URLs containing ``part`` arrive altered."""

    def __init__(self, part: str, alter: Callable[[bytes], bytes]) -> None:
        super().__init__()
        self.part = part
        self.alter = alter

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        if self.part in url and method == "GET" and response.status_code == 200:
            response._content = self.alter(response.content)
            response._content_consumed = True
            response.raw = _Body(response._content)
        return response


def RewritingSession(rewrite: Rewrite) -> AlteringSession:
    """Report downloads arrive with every CSV passed through ``rewrite``."""
    return AlteringSession("/download/", lambda data: rewrite_zip(data, rewrite))


def without_columns(*names: str, events: tuple[str, ...] | None = None) -> Rewrite:
    lowered = {name.lower().replace(" ", "_") for name in names}

    def rewrite(event: str, rows: list[list[str]]) -> list[list[str]]:
        if events is not None and event not in events:
            return rows
        keep = [
            i for i, name in enumerate(rows[0]) if name.lower().replace(" ", "_") not in lowered
        ]
        return [[row[i] for i in keep if i < len(row)] for row in rows]

    return rewrite


def spoil_times(event_name: str, every: int) -> Rewrite:
    """Make the time of every ``every``-th row of one event unreadable."""

    def rewrite(event: str, rows: list[list[str]]) -> list[list[str]]:
        if event != event_name:
            return rows
        header = [name.lower().replace(" ", "_") for name in rows[0]]
        column = next(i for i, name in enumerate(header) if name in ("resolved_time", "created_at"))
        for index, row in enumerate(rows[1:], 1):
            if index % every == 0:
                row[column] = "soon"
        return rows

    return rewrite


def test_exports_without_any_group_column_fail_the_run_and_the_next_good_sync_repairs(
    server, database
):
    world = make_world(server)
    no_groups = without_columns("group_id", "group_name")

    def rewrite(event: str, rows: list[list[str]]) -> list[list[str]]:
        # No transfer in the window (an empty Group-Assigned export), no group elsewhere.
        return [] if event == "Conversation-Group-Assigned" else no_groups(event, rows)

    world.client_options["session"] = RewritingSession(rewrite)
    failed = world.sync()
    assert not failed.ok
    assert "None of this window's exports has a group column" in failed.message
    assert "Undefined_Queue" in failed.message and "Headers received: " in failed.message
    assert "the next sync retries" in failed.message
    assert world.integration.watermark is None
    assert IntervalStat.select().count() == 0  # nothing of the window was applied

    del world.client_options["session"]
    repaired = world.sync()
    assert repaired.ok, repaired.message
    world.assert_matches_oracle(NOW - timedelta(days=10), NOW)


def test_a_created_file_without_its_time_column_is_refused_before_any_row(server, database):
    world = make_world(server)
    assert world.sync().ok
    before = snapshot()
    world.clock.now = NOW + timedelta(hours=6)
    world.client_options["session"] = RewritingSession(
        without_columns(
            "created_time", "created_at", "event_time", events=("Conversation-Created",)
        )
    )
    failed = world.sync()
    assert not failed.ok
    assert failed.message.startswith(
        "Conversation-Created file refused: its header lacks the chat creation time. "
        "Header received: ["
    )
    assert "Nothing of this window was applied" in failed.message
    assert snapshot() == before
    assert world.integration.watermark == NOW

    del world.client_options["session"]
    assert world.sync().ok
    world.assert_matches_oracle(NOW - timedelta(days=10), world.clock.now)


def test_a_file_with_more_than_five_percent_bad_rows_fails_and_applies_nothing(server, database):
    world = make_world(server)
    world.client_options["session"] = RewritingSession(spoil_times("Conversation-Resolved", 10))
    failed = world.sync()
    assert not failed.ok
    assert "Conversation-Resolved file refused:" in failed.message
    assert "rows could not be read (event time is not a timestamp" in failed.message
    assert "soon" not in failed.message
    assert Chat.select().count() == 0 and world.integration.watermark is None


def test_a_few_bad_rows_are_skipped_one_by_one_and_reported(server, database):
    world = make_world(server)
    world.client_options["session"] = RewritingSession(spoil_times("Conversation-Resolved", 40))
    outcome = world.sync()
    assert outcome.ok, outcome.message
    assert "unreadable report row(s): Conversation-Resolved: " in outcome.message
    assert "is not a timestamp" in outcome.message
    assert world.integration.watermark == NOW


def test_the_first_sync_records_each_events_header_and_how_it_was_read(server, database):
    world = make_world(server)
    outcome = world.sync()
    assert outcome.ok, outcome.message
    details = SyncRun.get_by_id(outcome.run.id).details
    for event in ("Conversation-Created", "Conversation-Group-Assigned", "Conversation-Resolved"):
        assert event in details
    assert "→ chat id" in details and "→ group id" in details
    if world.sim.dialect == "real":
        assert "created_at → event time" in details
        assert "Created At → chat creation time" in details
        assert "interaction_id → chat id" in details  # used where conversation_id is blank
    world.clock.now = NOW + timedelta(hours=1)
    later = world.sync()
    assert SyncRun.get_by_id(later.run.id).details is None  # only the first import


def test_an_expired_download_link_is_refreshed_by_polling_the_job_once(server, database):
    world = make_world(server)
    polls_before = world.sim.requests_to("/reports/raw/", "GET")
    world.sim.faults.inject("expired_link", path_contains="/download/")
    outcome = world.sync()
    assert outcome.ok, outcome.message
    world.assert_matches_oracle(NOW - timedelta(days=10), NOW)
    # One extra job poll for fresh links, on top of the usual ones of three jobs.
    usual = 3 * (2 if world.sim.dialect == "classic" else 3)
    assert world.sim.requests_to("/reports/raw/", "GET") - polls_before == usual + 1


def test_a_link_that_stays_expired_fails_the_run_clearly(server, database):
    world = make_world(server)
    world.sim.faults.inject("expired_link", times=2, path_contains="/download/")
    outcome = world.sync()
    assert not outcome.ok
    assert "its link has probably expired" in outcome.message
    assert world.integration.watermark is None


def test_reimporting_a_range_repairs_lost_chats_exactly_and_a_replay_changes_nothing(
    server, database
):
    world = make_world(server)
    start = NOW - timedelta(days=10)
    assert world.sync().ok
    good = stored()
    # An export problem lost three days of chats (rows Freshchat added too late).
    since = NOW - timedelta(days=3)
    lost = Chat.delete().where(Chat.created_time >= since).execute()
    IntervalStat.delete().where(IntervalStat.interval_start >= since).execute()
    assert lost > 0 and stored() != good

    outcome = world.sync(now=NOW, since=since, trigger="reimport")
    assert outcome.ok, outcome.message
    run = SyncRun.get_by_id(outcome.run.id)
    assert (run.window_from, run.trigger) == (since, "reimport")
    assert "→ chat id" in run.details
    assert stored() == good
    world.assert_matches_oracle(start, NOW)

    again = world.sync(now=NOW, since=since)
    assert again.ok and again.run.contacts_changed == 0
    assert stored() == good
    assert world.integration.watermark == NOW


def test_reimporting_before_the_imported_history_counts_it_like_a_longer_first_import(
    server, database
):
    world = make_world(server, backfill_days=3)
    assert world.sync().ok
    since = NOW - timedelta(days=8)
    outcome = world.sync(now=NOW, since=since)
    assert outcome.ok, outcome.message
    assert Integration.get_by_id(world.integration_id).counted_from == since
    world.assert_matches_oracle(since, NOW)


def one_file_failed(answer: bytes) -> bytes:
    """A completed job answer rewritten so that its last file says FAILED."""
    body = json.loads(answer)
    links = body.get("links") or ([body.pop("link")] if "link" in body else [])
    if body.get("status") == "COMPLETED" and links:
        links = [{"link": item.get("link", item), "status": "SUCCESS"} for item in links]
        links[-1]["status"] = "FAILED"
        body["links"] = links
    return json.dumps(body).encode()


def test_a_window_with_a_failed_file_is_not_read_and_the_watermark_stays(server, database):
    world = make_world(server)
    world.client_options["session"] = AlteringSession("/reports/raw/", one_file_failed)
    failed = world.sync()
    assert not failed.ok
    assert "still had 1 file(s) FAILED" in failed.message
    assert "the window was not read" in failed.message
    assert world.integration.watermark is None and Chat.select().count() == 0

    del world.client_options["session"]
    assert world.sync().ok
    world.assert_matches_oracle(NOW - timedelta(days=10), NOW)


def test_a_reimport_starting_after_the_watermark_still_reads_from_the_watermark(server, database):
    world = make_world(server)
    assert world.sync().ok
    later = NOW + timedelta(days=2)
    world.clock.now = later
    outcome = world.sync(now=later, since=later - timedelta(hours=3))
    assert outcome.ok, outcome.message
    assert outcome.run.window_from == NOW - OVERLAP  # no gap between the two imports
    world.assert_matches_oracle(NOW - timedelta(days=10), later)
