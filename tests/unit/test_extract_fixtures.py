"""Extract job answers and export shapes from ``tests/fixtures/extract`` (FRESHCHAT_API.md):
the client's job handling and the reader's meaning-by-event, on the documented shapes."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path

import pytest
import responses

from webapp.freshchat.client import BadRequest, ExtractFailed, FreshchatClient
from webapp.freshchat.reports import parse_extract

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extract"
BASE = "https://acme.freshchat.com/v2"
JOB = "7f4a1c2e-9b3d-4e5f-8a6b-1c2d3e4f5a6b"
STATUS_URL = f"{BASE}/reports/raw/{JOB}"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(waits):
    return FreshchatClient(
        "acme.freshchat.com", "key", sleep=waits.append, clock=lambda: 0.0, rng=random.Random(1)
    )


def test_the_job_request_answer_gives_the_job_id(rsps, client):
    rsps.post(f"{BASE}/reports/raw", json=fixture("job_created.json"))
    assert (
        client.request_extract(
            "Conversation-Resolved", datetime(2026, 11, 1), datetime(2026, 11, 2)
        )
        == JOB
    )


def test_the_current_answer_lists_every_file_with_its_window(rsps, client):
    rsps.get(STATUS_URL, json=fixture("job_pending.json"))
    rsps.get(STATUS_URL, json=fixture("job_completed_links.json"))
    status = client.wait_for_extract(JOB, poll_interval=5.0)
    assert [link.status for link in status.links] == ["SUCCESS", "COMPLETED"]
    assert status.links[1].from_ == datetime(2026, 11, 8)
    assert "part-2.zip" in status.links[1].href


def test_the_older_answer_with_one_link_and_no_links_is_one_file(rsps, client):
    rsps.get(STATUS_URL, json=fixture("job_completed_single_link.json"))
    status = client.wait_for_extract(JOB)
    [link] = status.links
    assert link.href.startswith("https://exports.example-bucket.s3.amazonaws.com/raw/only.zip")
    assert link.status is None


def test_a_job_request_answer_is_not_taken_for_a_file(rsps, client):
    # The POST answer's own link (rel "extracts") points at the job, not at a file.
    rsps.get(STATUS_URL, json={"status": "COMPLETED", **fixture("job_created.json")})
    rsps.get(STATUS_URL, json=fixture("job_completed_single_link.json"))
    assert len(client.wait_for_extract(JOB, poll_interval=0).links) == 1


def test_a_file_in_progress_is_polled_again_until_success(rsps, client, waits):
    rsps.get(STATUS_URL, json=fixture("job_completed_file_in_progress.json"))
    rsps.get(STATUS_URL, json=fixture("job_completed_links.json"))
    status = client.wait_for_extract(JOB, poll_interval=3.0)
    assert [link.status for link in status.links] == ["SUCCESS", "COMPLETED"]
    assert waits == [3.0]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("job_completed_file_failed.json", "1 file(s) FAILED (of 1)"),
        ("job_completed_file_in_progress.json", "1 file(s) IN_PROGRESS (of 2)"),
        ("job_completed_no_file.json", "no file at all"),
    ],
)
def test_files_not_ready_are_polled_a_bounded_number_of_times_then_fail_clearly(
    rsps, client, waits, name, words
):
    for _ in range(4):
        rsps.get(STATUS_URL, json=fixture(name))
    with pytest.raises(ExtractFailed) as info:
        client.wait_for_extract(JOB, poll_interval=2.0, file_polls=3)
    message = str(info.value)
    assert words in message and "after 4 checks" in message
    assert "the window was not read" in message and "next sync" in message
    assert waits == [2.0, 2.0, 2.0]


def test_a_failed_job_fails_at_once(rsps, client):
    rsps.get(STATUS_URL, json=fixture("job_failed.json"))
    with pytest.raises(ExtractFailed, match="job FAILED"):
        client.wait_for_extract(JOB)


def test_the_no_matching_event_error_shows_freshchats_words(rsps, client):
    rsps.post(f"{BASE}/reports/raw", status=400, json=fixture("error_no_matching_event.json"))
    with pytest.raises(BadRequest, match='Freshchat said: "No matching event name"'):
        client.request_extract("Conversation-Bogus", datetime(2026, 11, 1), datetime(2026, 11, 2))


def test_resolved_rows_with_only_created_at_are_resolutions():
    data = (FIXTURES / "resolved_created_at_only.csv").read_bytes()
    [change] = parse_extract(data, "Conversation-Resolved").changes
    assert change.resolved_time == datetime(2026, 11, 2, 10, 15, 3, 400000)
    assert change.created_time is None and change.arrival_unknown
    assert change.group_id == "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def test_group_assigned_rows_with_only_created_at_are_assignments():
    data = (FIXTURES / "group_assigned_created_at_only.csv").read_bytes()
    [change] = parse_extract(data, "Conversation-Group-Assigned").changes
    assert change.at == datetime(2026, 11, 2, 9, 5) and change.created_time is None


def test_created_rows_with_a_spaced_header_and_zone_less_times():
    data = (FIXTURES / "created_spaced_header.csv").read_bytes()
    [change] = parse_extract(data, "Conversation-Created").changes
    assert change.created_time == datetime(2026, 11, 2, 9, 3, 12, 345000)
    assert change.group_id == "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
