"""webapp.stats: the queue catalog, range checks, series, explanations and export writers."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from webapp import stats
from webapp.changes import ChatChange
from webapp.chats import apply_changes, refresh_groups
from webapp.counting import REASON_DELETED, REASON_GROUP_GONE, RULES_IN_WORDS, UNDEFINED_QUEUE
from webapp.models import Group, Integration, IntervalStat

T0 = datetime(2026, 11, 16, 8, 5)


def make_integration(name: str = "Main") -> Integration:
    return Integration.create(
        name=name,
        name_key=name.lower(),
        domain=f"{name.lower()}.freshchat.com",
        api_key_encrypted="x",
        api_key_last4="abcd",
    )


def ended(cid: str, at: datetime, group: str | None, **flags: bool) -> list[ChatChange]:
    later = at + timedelta(minutes=30)
    return [
        ChatChange(cid, at=at, created_time=at, status="new", group_id=group),
        ChatChange(cid, at=later, resolved_time=later, status="resolved", **flags),
    ]


@pytest.fixture
def acme(database) -> Integration:
    integration = make_integration()
    refresh_groups(
        integration.id,
        [
            {"id": "g-a", "name": "Support"},
            {"id": "g-b", "name": "Billing"},
            {"id": "g-a2", "name": "Support"},  # two groups, one name: one queue
            {"id": "g-old", "name": "Legacy"},
            {"id": "g-idle", "name": "Idle"},
        ],
    )
    changes = [
        *ended("a1", T0, "g-a"),
        *ended("a2", T0 + timedelta(minutes=20), "g-a2"),
        *ended("b1", T0, "g-b"),
        *ended("d1", T0, "g-b", deleted=True),
        *ended("o1", T0 + timedelta(hours=1), "g-old"),
    ]
    apply_changes(integration.id, changes)
    # Legacy disappears from Freshchat: its chat moves to Undefined_Queue.
    refresh_groups(
        integration.id,
        [
            {"id": "g-a", "name": "Support"},
            {"id": "g-b", "name": "Billing"},
            {"id": "g-a2", "name": "Support"},
            {"id": "g-idle", "name": "Idle"},
        ],
    )
    return integration


def test_catalog_names_queues_as_planners_see_them(acme):
    catalog = stats.queue_catalog(acme)
    assert [q.name for q in catalog] == ["Billing", "Idle", "Support", UNDEFINED_QUEUE]
    by_name = {q.name: q for q in catalog}
    assert sorted(by_name["Support"].keys) == ["g-a", "g-a2"]
    assert by_name[UNDEFINED_QUEUE].undefined
    # A deleted group without contacts is not a queue any more.
    assert "Legacy" not in by_name
    assert stats.queue_keys_by_name(acme)["Idle"] == ["g-idle"]


def test_catalog_keeps_deleted_groups_and_unknown_ids_that_have_contacts(acme):
    IntervalStat.create(integration=acme, queue_key="g-old", interval_start=T0, contacts=2)
    IntervalStat.create(integration=acme, queue_key="g-ghost", interval_start=T0, contacts=1)
    by_name = {q.name: q for q in stats.queue_catalog(acme)}
    assert by_name["Legacy"].deleted and by_name["Legacy"].keys == ("g-old",)
    assert by_name["g-ghost"].deleted  # never listed: shown by its id
    assert not by_name["Support"].deleted


def test_catalog_of_an_empty_integration_still_has_undefined(database):
    integration = make_integration("Empty")
    assert [q.name for q in stats.queue_catalog(integration)] == [UNDEFINED_QUEUE]


def test_totals_and_series(acme):
    start, end = T0.replace(hour=0, minute=0), T0.replace(hour=23, minute=0)
    totals = dict(
        (q.name, n)
        for q, n in stats.queue_totals(
            stats.queue_catalog(acme), stats.contacts_by_key(acme, start, end)
        )
    )
    assert totals == {"Billing": 1, "Idle": 0, "Support": 2, UNDEFINED_QUEUE: 2}
    series = stats.interval_series(acme, start, end)
    assert series == {
        datetime(2026, 11, 16, 8, 0): 3,
        datetime(2026, 11, 16, 8, 15): 1,
        datetime(2026, 11, 16, 9, 0): 1,
    }
    support = stats.interval_series(acme, start, end, ["g-a", "g-a2"])
    assert support == {datetime(2026, 11, 16, 8, 0): 1, datetime(2026, 11, 16, 8, 15): 1}
    # The range is half-open: an interval starting at ``end`` is not in it.
    assert stats.interval_series(acme, start, datetime(2026, 11, 16, 8, 15)) == {
        datetime(2026, 11, 16, 8, 0): 3
    }


def test_explanation_adds_up_to_the_count_and_says_why(acme):
    interval = datetime(2026, 11, 16, 8, 0)
    everything = stats.explain_interval(acme, interval)
    assert (
        everything.total
        == 3
        == stats.interval_series(acme, interval, interval + timedelta(minutes=15))[interval]
    )
    reasons = {chat.conversation_id: chat.reason for chat in everything.chats}
    assert reasons["d1"] == REASON_DELETED
    deleted = next(chat for chat in everything.chats if chat.conversation_id == "d1")
    assert deleted.queue_name == UNDEFINED_QUEUE and deleted.group_name == "Billing"
    gone = stats.explain_interval(acme, datetime(2026, 11, 16, 9, 0))
    assert [c.reason for c in gone.chats] == [REASON_GROUP_GONE]
    assert gone.chats[0].group_name == "Legacy"  # the deleted group keeps its last name
    only_b = stats.explain_interval(acme, interval, ["g-b"])
    assert [c.conversation_id for c in only_b.chats] == ["b1"]


def test_explanation_asks_counting_why_a_reopened_chat_is_still_here(acme):
    reopen_at = T0 + timedelta(hours=2)
    apply_changes(acme.id, [ChatChange("a1", at=reopen_at, status="new")])
    explanation = stats.explain_interval(acme, datetime(2026, 11, 16, 8, 0))
    why = {chat.conversation_id: chat for chat in explanation.chats}
    assert why["a1"].reopened and why["a1"].group_name == "Support"  # still counted there
    assert not why["b1"].reopened
    assert explanation.rules == RULES_IN_WORDS


def test_explanation_pages(acme):
    interval = datetime(2026, 11, 16, 8, 0)
    first = stats.explain_interval(acme, interval, page=1, per_page=2)
    second = stats.explain_interval(acme, interval, page=2, per_page=2)
    assert (first.pages, first.first_number, first.last_number) == (2, 1, 2)
    assert (second.page, second.first_number, second.last_number) == (2, 3, 3)
    ids = [c.conversation_id for c in first.chats + second.chats]
    assert sorted(ids) == ["a1", "b1", "d1"] and len(set(ids)) == 3
    empty = stats.explain_interval(acme, datetime(2020, 1, 1), page=5)
    assert (empty.total, empty.page, empty.pages, empty.first_number) == (0, 1, 1, 0)


@pytest.mark.parametrize(
    ("start", "end", "queues", "message"),
    [
        (T0, T0, None, "The range is empty"),
        (T0, T0 - timedelta(days=1), None, "is after"),
        (T0, T0 + timedelta(days=401), None, "too long"),
        (T0, T0 + timedelta(days=1), ["Nope"], "Unknown queue: Nope"),
    ],
)
def test_range_refusals(acme, start, end, queues, message):
    with pytest.raises(stats.QueryError, match=message):
        stats.RangeQuery.build(acme, start, end, queues)


def test_future_is_refused_only_when_now_is_given(acme):
    later = T0 + timedelta(days=1)
    with pytest.raises(stats.QueryError, match="future"):
        stats.RangeQuery.build(acme, later, later + timedelta(days=1), now=T0)
    assert stats.RangeQuery.build(acme, T0 - timedelta(days=1), later, now=T0).end == later


def test_export_writers_stream_valid_documents(acme):
    query = stats.RangeQuery.build(
        acme, T0.replace(hour=0), T0.replace(hour=23), ["Support", UNDEFINED_QUEUE]
    )
    rows = list(stats.export_rows(query))
    assert rows == [
        ("Support", datetime(2026, 11, 16, 8, 0), 1),
        (UNDEFINED_QUEUE, datetime(2026, 11, 16, 8, 0), 1),
        ("Support", datetime(2026, 11, 16, 8, 15), 1),
        (UNDEFINED_QUEUE, datetime(2026, 11, 16, 9, 0), 1),
    ]
    chunks = list(stats.csv_lines(rows, chunk_rows=3))
    assert len(chunks) == 2  # header + 2 rows, then 2 rows
    parsed = list(csv.reader(io.StringIO("".join(chunks))))
    assert parsed[0] == ["queue", "interval_start", "contacts"]
    assert parsed[1] == ["Support", "2026-11-16T08:00:00Z", "1"] and len(parsed) == 5
    for size in (1, 2, 500):
        text = "".join(stats.json_chunks(rows, chunk_rows=size))
        assert json.loads(text)[3] == {
            "queue": UNDEFINED_QUEUE,
            "interval_start": "2026-11-16T09:00:00Z",
            "contacts": 1,
        }
    assert json.loads("".join(stats.json_chunks([]))) == []
    assert list(stats.csv_lines([])) == ['"queue","interval_start","contacts"\n']


def test_group_rename_renames_the_queue_everywhere(acme):
    Group.update(name="Customer Care").where(Group.group_id == "g-b").execute()
    names = [q.name for q in stats.queue_catalog(acme)]
    assert "Customer Care" in names and "Billing" not in names
    query = stats.RangeQuery.build(acme, T0.replace(hour=0), T0.replace(hour=23), ["Customer Care"])
    assert [row[0] for row in stats.export_rows(query)] == ["Customer Care"]
