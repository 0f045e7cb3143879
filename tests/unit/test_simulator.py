"""The simulated Freshchat account: deterministic, realistic, and faithful to FRESHCHAT_API.md.

Everything that speaks Freshchat is tested against this simulator, so it must itself be
right: same seed gives the same data, the data has the shapes that make counting hard
(transfers, reopenings, spam, deletions, chats without a live group), the HTTP surface
answers like the documented API, and faults can be armed to prove the app's resilience.
HTTP is exercised in process through werkzeug's test client: no sockets needed here.
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from werkzeug.test import Client

from webapp.freshchat.simulator import (
    CSV_COLUMNS,
    UNDEFINED_QUEUE,
    FaultInjector,
    FreshchatSimulator,
    SimAccount,
)
from webapp.timeutil import floor_interval

DOMAIN = "acme.freshchat.com"
NOW = datetime(2026, 11, 20, 12, 0)  # a Friday, 13:00 in Berlin
ADMIN = {"Authorization": "Bearer demo-admin-key"}
API = f"/sim/{DOMAIN}/v2"


class MovableClock:
    """A clock tests move by hand; the simulator's "now" is whatever it says."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def account(**kwargs) -> SimAccount:
    kwargs.setdefault("seed", 3)
    kwargs.setdefault("chats_per_day", 120)
    kwargs.setdefault("history_days", 20)
    kwargs.setdefault("clock", lambda: NOW)
    return SimAccount(DOMAIN, **kwargs)


def fingerprint(acct: SimAccount, start: datetime, end: datetime) -> list[tuple]:
    return [(chat.conversation_id, chat.events) for chat in acct.iter_chats(start, end)]


def http(acct: SimAccount, **kwargs) -> tuple[FreshchatSimulator, Client]:
    sim = FreshchatSimulator([acct], **kwargs)
    return sim, Client(sim)


def unzip_csv(blob: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode()
    return list(csv.DictReader(io.StringIO(text)))


def run_extract(client: Client, event: str, start: str, end: str) -> list[str]:
    """Request a job, poll it to completion, return its download links."""
    job = client.post(
        f"{API}/reports/raw",
        json={"start": start, "end": end, "event": event, "format": "csv"},
        headers=ADMIN,
    )
    assert job.status_code == 200, job.text
    for _ in range(5):
        status = client.get(f"{API}/reports/raw/{job.json['id']}", headers=ADMIN).json
        if status["status"] == "COMPLETED":
            return [item["link"]["href"] for item in status["links"]]
    raise AssertionError("the job never completed")


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_account_and_chats():
    start, end = NOW - timedelta(days=6), NOW
    first, second = account(), account(cache_days=1)
    assert first.account_id == second.account_id
    assert [g.as_json() for g in first.groups] == [g.as_json() for g in second.groups]
    # Read in another order with a one-day cache: days are regenerated, not remembered.
    list(second.iter_chats(end - timedelta(days=1), end))
    assert fingerprint(first, start, end) == fingerprint(second, start, end)
    assert first.expected_contacts(start, end) == second.expected_contacts(start, end)


def test_another_seed_gives_other_data():
    start, end = NOW - timedelta(days=2), NOW
    one, other = account(seed=3), account(seed=4)
    assert one.account_id != other.account_id
    assert fingerprint(one, start, end) != fingerprint(other, start, end)


def test_conversation_ids_are_unique_uuids_that_find_their_chat():
    acct = account()
    chats = list(acct.iter_chats(NOW - timedelta(days=3), NOW))
    ids = [chat.conversation_id for chat in chats]
    assert len(set(ids)) == len(ids)
    for chat in chats[:: max(1, len(chats) // 20)]:
        assert len(chat.conversation_id) == 36 and chat.conversation_id[14] == "4"
        assert acct.find_chat(chat.conversation_id) is chat


# --------------------------------------------------------------------------- realism


def test_live_groups_and_a_deleted_legacy_group():
    acct = account()
    names = {group.name for group in acct.live_groups}
    assert {"Customer Support", "Billing", "Sales"} <= names
    assert acct.legacy_group.deleted
    assert acct.legacy_group not in acct.live_groups


def test_daily_curve_follows_the_accounts_time_zone_and_weekends_are_quieter():
    zone = "Asia/Tokyo"  # far from UTC, so a UTC curve would not pass by luck
    acct = account(timezone=zone, chats_per_day=300)
    tz = ZoneInfo(zone)
    by_hour: Counter[int] = Counter()
    by_day: Counter = Counter()
    for chat in acct.iter_chats(NOW - timedelta(days=15), NOW):
        local = chat.created_time.replace(tzinfo=UTC).astimezone(tz)
        by_hour[local.hour] += 1
        by_day[local.date()] += 1
    daytime = sum(by_hour[h] for h in range(9, 17)) / 8
    night = sum(by_hour[h] for h in range(0, 6)) / 6
    assert daytime > 4 * night

    full_days = sorted(by_day)[1:-1]  # the first and last local days are cut by the range
    weekdays = [by_day[d] for d in full_days if d.weekday() < 5]
    weekend = [by_day[d] for d in full_days if d.weekday() >= 5]
    assert len(weekend) >= 2 and len(weekdays) >= 5
    assert sum(weekend) / len(weekend) < 0.6 * sum(weekdays) / len(weekdays)
    # chats_per_day is the weekly average.
    week = full_days[:7]
    assert 0.85 * 300 * 7 < sum(by_day[d] for d in week) < 1.15 * 300 * 7


def test_chats_have_the_lifecycles_that_make_counting_hard():
    acct = account(chats_per_day=300)
    seen: Counter[str] = Counter()
    live_ids = {group.id for group in acct.live_groups}
    for chat in acct.iter_chats(NOW - timedelta(days=10), NOW - timedelta(days=5)):
        events = chat.timeline()
        kinds = [event.kind for event in events]
        assert kinds[0] == "created" and events[0].at == chat.created_time
        assert [e.at for e in events] == sorted(e.at for e in events)
        first_group = events[0].group_id
        if first_group is None:
            seen["no group"] += 1
        elif first_group == acct.legacy_group.id:
            seen["legacy group"] += 1
        else:
            assert first_group in live_ids
        if "assigned" in kinds:
            seen["transferred"] += 1
        if "reopened" in kinds:
            seen["reopened"] += 1
            assert kinds.count("resolved") == 2
        if "spam" in kinds:
            seen["spam"] += 1
        if "deleted" in kinds:
            seen["deleted"] += 1
        resolutions = [e.at for e in events if e.kind == "resolved"]
        if resolutions and acct.local_date(resolutions[0]) != acct.local_date(chat.created_time):
            seen["resolved another day"] += 1
    for kind in (
        "no group",
        "legacy group",
        "transferred",
        "reopened",
        "spam",
        "deleted",
        "resolved another day",
    ):
        assert seen[kind] >= 3, (kind, seen)


# --------------------------------------------------------------------------- the oracle


def test_expected_contacts_only_counts_chats_that_have_ended():
    clock = MovableClock(NOW)
    acct = account(clock=clock)
    start, end = NOW - timedelta(hours=6), NOW
    chats = list(acct.iter_chats(start, end))
    ended = [
        chat
        for chat in chats
        if any(e.kind in ("resolved", "spam", "deleted") for e in chat.timeline(until=NOW))
    ]
    assert 0 < len(ended) < len(chats)  # the last hours hold chats still open
    expected = acct.expected_contacts(start, end)
    assert sum(expected.values()) == len(ended)
    assert all(interval == floor_interval(interval) for _queue, interval in expected)
    ended_per_interval = Counter(floor_interval(chat.created_time) for chat in ended)
    per_interval: Counter = Counter()
    for (_queue, interval), count in expected.items():
        per_interval[interval] += count
    assert per_interval == ended_per_interval

    clock.now = NOW + timedelta(days=5)  # every simulated chat ends within four days
    assert sum(acct.expected_contacts(start, end).values()) == len(chats)


def test_expected_contacts_puts_spam_and_lost_groups_in_undefined_queue():
    acct = account()
    start, end = NOW - timedelta(days=8), NOW - timedelta(days=5)
    expected = acct.expected_contacts(start, end)
    queues = {queue for queue, _interval in expected}
    assert queues == {"Customer Support", "Billing", "Sales", UNDEFINED_QUEUE}
    undefined = sum(c for (q, _i), c in expected.items() if q == UNDEFINED_QUEUE)
    must_be_undefined = sum(
        1
        for chat in acct.iter_chats(start, end)
        if any(e.kind in ("spam", "deleted") for e in chat.timeline())
        or chat.events[0][2] in (None, acct.legacy_group.id)
    )
    assert undefined >= must_be_undefined > 0


# --------------------------------------------------------------------------- live mode


def test_a_moving_clock_makes_new_chats_appear():
    clock = MovableClock(NOW)
    acct = account(clock=clock)
    _sim, client = http(acct, pending_polls=0)
    far = NOW + timedelta(days=1)
    before = list(acct.iter_chats(NOW - timedelta(hours=1), far))
    newcomer = next(acct.iter_chats(NOW, far, include_future=True))
    assert newcomer.created_time > NOW
    assert newcomer.conversation_id not in {chat.conversation_id for chat in before}
    url = f"{API}/conversations/{newcomer.conversation_id}"
    assert client.get(url, headers=ADMIN).status_code == 404

    clock.now = NOW + timedelta(hours=2)
    after = list(acct.iter_chats(NOW - timedelta(hours=1), far))
    assert len(after) > len(before)
    assert newcomer.conversation_id in {chat.conversation_id for chat in after}
    answer = client.get(url, headers=ADMIN)
    assert answer.status_code == 200 and answer.json["conversation_id"] == newcomer.conversation_id
    (href,) = run_extract(
        client, "Conversation-Created", "2026-11-20T12:00:00.000Z", "2026-11-21T00:00:00.000Z"
    )
    rows = unzip_csv(client.get(href).data)
    assert newcomer.conversation_id in {row["conversation_id"] for row in rows}
    assert all(row["created_time"] <= "2026-11-20T14:00:00.000Z" for row in rows)


# --------------------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        ("not-a-key", 401, "UNAUTHORIZED"),
        ("demo-agent-key", 403, "ACCESS_DENIED"),
        ("demo-basic-plan-key", 403, "PLAN_NOT_SUPPORTED"),
    ],
)
def test_keys_other_than_the_admins_are_refused_as_documented(key, status, code):
    _sim, client = http(account())
    answer = client.get(f"{API}/accounts/configuration", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == status
    assert answer.json["code"] == status and answer.json["status"] == code
    assert key not in answer.text


def test_admin_key_reads_the_configuration_and_missing_key_is_401():
    acct = account()
    _sim, client = http(acct)
    answer = client.get(f"{API}/accounts/configuration", headers=ADMIN)
    assert answer.status_code == 200
    assert answer.json["account_id"] == acct.account_id
    assert answer.json["account_domain"] == DOMAIN
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header in answer.headers
    assert client.get(f"{API}/accounts/configuration").status_code == 401


def test_unknown_account_is_a_portal_page_not_json():
    _sim, client = http(account())
    answer = client.get("/sim/nobody.freshchat.com/v2/groups", headers=ADMIN)
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"


# --------------------------------------------------------------------------- groups, conversations


def test_groups_are_paged_with_next_page_links_that_include_v2():
    acct = account()
    _sim, client = http(acct)
    first = client.get(f"{API}/groups?page=1&items_per_page=2", headers=ADMIN).json
    assert first["pagination"] == {
        "total_items": 3,
        "total_pages": 2,
        "current_page": 1,
        "items_per_page": 2,
    }
    href = first["links"]["next_page"]["href"]
    assert href.startswith(f"/sim/{DOMAIN}/v2/groups?")
    second = client.get(href, headers=ADMIN).json
    assert "next_page" not in second["links"]
    listed = [g["name"] for g in first["groups"] + second["groups"]]
    assert sorted(listed) == sorted(g.name for g in acct.live_groups)
    assert acct.legacy_group.name not in listed
    assert set(first["groups"][0]) == {"id", "name", "description", "routing_type"}
    bad = client.get(f"{API}/groups?page=0", headers=ADMIN)
    assert bad.status_code == 400


def test_renamed_and_deleted_groups_change_the_listing_not_the_chats():
    acct = account()
    _sim, client = http(acct)
    window = (NOW - timedelta(days=3), NOW)
    chats_before = fingerprint(acct, *window)
    billing, sales = acct.live_groups[1], acct.live_groups[2]
    acct.rename_group(billing.id, "Billing & Payments")
    acct.delete_group(sales.id)
    acct._cache.clear()  # regenerate: routing must not depend on the current listing
    assert fingerprint(acct, *window) == chats_before
    listed = client.get(f"{API}/groups", headers=ADMIN).json["groups"]
    assert {g["name"] for g in listed} == {"Customer Support", "Billing & Payments"}
    queues = {queue for queue, _ in acct.expected_contacts(*window)}
    assert "Billing & Payments" in queues and "Sales" not in queues and "Billing" not in queues


def test_conversation_by_id_and_404_for_unknown_or_deleted():
    acct = account()
    _sim, client = http(acct)
    chats = list(acct.iter_chats(NOW - timedelta(days=3), NOW - timedelta(days=2)))
    resolved = next(c for c in chats if [e.kind for e in c.timeline()] == ["created", "resolved"])
    body = client.get(f"{API}/conversations/{resolved.conversation_id}", headers=ADMIN).json
    assert body["conversation_id"] == resolved.conversation_id
    assert body["status"] == "resolved"
    assert body["created_time"] == resolved.created_time.isoformat(timespec="milliseconds") + "Z"
    group = resolved.timeline()[0].group_id
    assert body.get("assigned_group_id") == group

    deleted = next(c for c in chats if "deleted" in [e.kind for e in c.timeline()])
    unknown = "12345678-1234-4123-8123-123456789abc"
    for conversation_id in (deleted.conversation_id, unknown, "not-a-uuid"):
        answer = client.get(f"{API}/conversations/{conversation_id}", headers=ADMIN)
        assert answer.status_code == 404, conversation_id
        assert answer.json["status"] == "CONVERSATION_NOT_FOUND"


# --------------------------------------------------------------------------- Extract jobs


def test_extract_job_goes_pending_then_completed_and_splits_long_windows():
    acct = account()
    _sim, client = http(acct, pending_polls=1, days_per_file=7)
    created = client.post(
        f"{API}/reports/raw",
        json={
            "start": "2026-11-05T00:00:00.000Z",
            "end": "2026-11-15T00:00:00.000Z",
            "event": "Conversation-Created",
            "format": "csv",
        },
        headers=ADMIN,
    ).json
    job_url = f"{API}/reports/raw/{created['id']}"
    assert created["link"]["href"] == f"/reports/raw/{created['id']}"
    pending = client.get(job_url, headers=ADMIN).json
    assert pending["status"] == "PENDING" and pending["links"] == []
    done = client.get(job_url, headers=ADMIN).json
    assert done["status"] == "COMPLETED"
    assert [(item["from"], item["to"]) for item in done["links"]] == [
        ("2026-11-05T00:00:00.000Z", "2026-11-12T00:00:00.000Z"),
        ("2026-11-12T00:00:00.000Z", "2026-11-15T00:00:00.000Z"),
    ]
    rows = []
    for item in done["links"]:
        rows += unzip_csv(client.get(item["link"]["href"]).data)
    window = (datetime(2026, 11, 5), datetime(2026, 11, 15))
    assert [row["conversation_id"] for row in rows] == [
        chat.conversation_id for chat in acct.iter_chats(*window)
    ]
    assert tuple(rows[0]) == CSV_COLUMNS
    assert client.get(f"{API}/reports/raw/no-such-job", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"start": "2026-10-01T00:00:00Z", "end": "2026-10-30T00:00:00Z"}, "28 days"),
        ({"start": "2026-10-02T00:00:00Z", "end": "2026-10-01T00:00:00Z"}, "after start"),
        ({"start": "yesterday", "end": "2026-10-01T00:00:00Z"}, "Invalid time"),
        (
            {"start": "2026-10-01T00:00:00Z", "end": "2026-10-02T00:00:00Z", "event": "Nope"},
            "event",
        ),
        ({"end": "2026-10-02T00:00:00Z"}, "start"),
    ],
)
def test_extract_requests_outside_the_documented_limits_are_400(payload, message):
    _sim, client = http(account())
    body = {"event": "Conversation-Resolved", "format": "csv", **payload}
    answer = client.post(f"{API}/reports/raw", json=body, headers=ADMIN)
    assert answer.status_code == 400
    assert message in answer.json["message"]


def test_resolved_extract_rows_carry_spam_and_deletion_without_a_group():
    acct = account()
    _sim, client = http(acct, pending_polls=0)
    links = run_extract(
        client, "Conversation-Resolved", "2026-11-10T00:00:00.000Z", "2026-11-14T00:00:00.000Z"
    )
    rows = [row for href in links for row in unzip_csv(client.get(href).data)]
    by_status = Counter(row["status"] for row in rows)
    assert set(by_status) == {"resolved", "spam", "deleted"}
    for row in rows:
        assert "2026-11-10" <= row["event_time"] < "2026-11-14"
        if row["status"] != "resolved":
            assert row["group_id"] == "" and row["resolved_time"] == ""
            assert (row["is_spam"], row["is_deleted"]) in (("true", "false"), ("false", "true"))


# --------------------------------------------------------------------------- faults


def test_fault_injector_matches_in_order_and_counts_uses():
    faults = FaultInjector()
    faults.inject("500", times=2, path_contains="/groups")
    faults.inject("malformed_csv")  # downloads only
    assert faults.take("/sim/a/v2/accounts/configuration") is None
    assert faults.take("/sim/a/v2/groups").kind == "500"
    assert faults.take("/sim/a/v2/groups").kind == "500"
    assert faults.take("/sim/a/v2/groups") is None
    assert faults.take("/sim/a/download/tok").kind == "malformed_csv"
    assert faults.snapshot() == []
    forever = faults.inject("slow", times=None, delay=0.0)
    for _ in range(3):
        assert faults.take("/anything") is forever
    faults.clear()
    assert faults.take("/anything") is None
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.inject("teapot")
    with pytest.raises(ValueError):
        faults.inject("500", times=0)


def test_faults_answer_like_a_struggling_freshchat():
    sim, client = http(account())
    url = f"{API}/groups"
    sim.faults.inject("429", retry_after=7)
    limited = client.get(url, headers=ADMIN)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    sim.faults.inject("500")
    assert client.get(url, headers=ADMIN).status_code == 500
    sim.faults.inject("503", retry_after=3)
    unavailable = client.get(url, headers=ADMIN)
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "3"
    sim.faults.inject("malformed_json")
    broken = client.get(url, headers=ADMIN)
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        json.loads(broken.text)
    sim.faults.inject("html")
    assert client.get(url, headers=ADMIN).mimetype == "text/html"
    sim.faults.inject("slow", delay=0.05)
    started = time.perf_counter()
    slow = client.get(url, headers=ADMIN)
    assert time.perf_counter() - started >= 0.05
    assert slow.status_code == 200 and slow.json["groups"]
    # Faults are consumed: the next request is healthy again.
    assert client.get(url, headers=ADMIN).status_code == 200


def test_download_faults_break_the_zip_or_the_csv():
    sim, client = http(account(), pending_polls=0)
    (href,) = run_extract(
        client, "Conversation-Created", "2026-11-10T00:00:00.000Z", "2026-11-11T00:00:00.000Z"
    )
    healthy = unzip_csv(client.get(href).data)
    assert healthy and "conversation_id" in healthy[0]

    sim.faults.inject("malformed_csv")
    rows = unzip_csv(client.get(href).data)
    assert len(rows) == len(healthy)
    assert "conversation_id" not in rows[0]

    sim.faults.inject("malformed_zip")
    damaged = client.get(href).data
    assert damaged.startswith(b"PK")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(damaged))


def test_control_endpoint_arms_lists_and_clears_faults():
    sim, client = http(account())
    control = "/sim/_control/faults"
    armed = client.post(
        control, json={"kind": "429", "times": 2, "path_contains": "/groups", "retry_after": 9}
    )
    assert armed.status_code == 200
    assert armed.json["faults"] == [
        {"kind": "429", "times": 2, "path_contains": "/groups", "retry_after": 9, "delay": 0.0}
    ]
    assert client.get(control).json["faults"] == armed.json["faults"]
    assert client.get(f"{API}/accounts/configuration", headers=ADMIN).status_code == 200
    assert client.get(f"{API}/groups", headers=ADMIN).headers["Retry-After"] == "9"
    assert client.get(control).json["faults"][0]["times"] == 1

    assert client.post(control, json={"kind": "teapot"}).status_code == 400
    assert client.post(control, data="not json").status_code == 400
    assert client.delete(control).json == {"faults": []}
    assert sim.faults.snapshot() == []
    assert client.get(f"{API}/groups", headers=ADMIN).status_code == 200
