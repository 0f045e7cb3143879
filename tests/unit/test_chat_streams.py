"""A window's event streams applied as one, grouped by chat (``chat_streams``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.unit.test_chats import BILLING, SUPPORT, T0, lifecycle, make_integration, stats
from webapp import chat_row_values
from webapp.changes import ChatChange
from webapp.chat_streams import apply_streams
from webapp.chats import apply_changes, refresh_groups, row_values_from_state
from webapp.chatstate import ChatState
from webapp.counting import Contact
from webapp.models import Chat


def by_event(changes: list[ChatChange]) -> list[list[ChatChange]]:
    """Three time-ordered streams like a window's exports: creations, group moves, the rest."""
    creations = sorted((c for c in changes if c.created_time is not None), key=lambda c: c.at)
    moves = sorted(
        (c for c in changes if c.created_time is None and c.says_group and not c.status),
        key=lambda c: c.at,
    )
    rest = [c for c in changes if c not in creations and c not in moves]
    return [creations, moves, sorted(rest, key=lambda c: c.at)]


def stored_rows(integration_id: int) -> list[dict]:
    rows = Chat.select().where(Chat.integration == integration_id).order_by(Chat.conversation_id)
    return [
        {k: v for k, v in row.items() if k not in ("id", "integration")} for row in rows.dicts()
    ]


@pytest.fixture
def two_integrations(database) -> tuple[int, int]:
    pair = make_integration("Streams"), make_integration("Changes")
    for integration_id in pair:
        refresh_groups(integration_id, [SUPPORT, BILLING])
    return pair


@pytest.mark.parametrize(("buffer_chats", "flush_chats"), [(1000, 1000), (3, 2), (1, 1)])
def test_streams_store_what_applying_every_change_stores(
    two_integrations, buffer_chats, flush_chats
):
    streamed, reference = two_integrations
    changes = lifecycle(40)
    apply_streams(streamed, by_event(changes), buffer_chats=buffer_chats, flush_chats=flush_chats)
    apply_changes(reference, changes)
    assert stored_rows(streamed) == stored_rows(reference)
    assert stats(streamed) == stats(reference)
    assert stats(streamed)  # the lifecycle makes contacts


def test_each_chat_is_written_once_when_its_changes_fit_the_buffer(two_integrations):
    streamed, _ = two_integrations
    changes = lifecycle(40)
    chats_in_changes = {change.conversation_id for change in changes}
    result = apply_streams(streamed, by_event(changes))
    assert result.chats_seen == result.chats_created == len(chats_in_changes)


def test_a_small_buffer_writes_again_and_counts_the_same(two_integrations):
    streamed, reference = two_integrations
    changes = lifecycle(40)
    result = apply_streams(streamed, by_event(changes), buffer_chats=2, flush_chats=1)
    apply_changes(reference, changes)
    # Chats resolved a day later left the buffer before their resolution came.
    assert result.chats_seen > result.chats_created
    assert stats(streamed) == stats(reference)


def test_replaying_a_window_changes_nothing(two_integrations):
    streamed, _ = two_integrations
    changes = lifecycle(20)
    apply_streams(streamed, by_event(changes))
    before = stored_rows(streamed), stats(streamed)
    again = apply_streams(streamed, by_event(changes), buffer_chats=4, flush_chats=3)
    assert again.contacts_changed == 0
    assert (stored_rows(streamed), stats(streamed)) == before


class Stop(Exception):
    pass


def test_checkpoint_runs_before_each_batch_and_stops_keeping_what_was_committed(
    two_integrations,
):
    streamed, _ = two_integrations
    changes = [
        ChatChange(f"c{i}", T0 + timedelta(minutes=i), created_time=T0 + timedelta(minutes=i))
        for i in range(10)
    ]
    calls = []

    def checkpoint() -> None:
        calls.append(Chat.select().where(Chat.integration == streamed).count())
        if len(calls) == 3:
            raise Stop

    with pytest.raises(Stop):
        apply_streams(streamed, [changes], checkpoint=checkpoint, buffer_chats=4, flush_chats=4)
    # Batches of 4: the third checkpoint saw two committed batches, and they stay.
    assert calls == [0, 4, 8]
    assert Chat.select().where(Chat.integration == streamed).count() == 8


def test_buffer_sizes_are_checked(two_integrations):
    streamed, _ = two_integrations
    with pytest.raises(ValueError):
        apply_streams(streamed, [], buffer_chats=2, flush_chats=3)
    with pytest.raises(ValueError):
        apply_streams(streamed, [], flush_chats=0)


def test_streams_out_of_time_order_still_count_the_same(two_integrations):
    streamed, reference = two_integrations
    changes = lifecycle(30)
    shuffled = [list(reversed(stream)) for stream in by_event(changes)]
    apply_streams(streamed, shuffled, buffer_chats=5, flush_chats=2)
    apply_changes(reference, changes)
    assert stats(streamed) == stats(reference)


def test_sqlite_values_are_the_text_the_driver_would_store():
    at = datetime(2026, 3, 1, 9, 7, 30, 123000)
    states = [
        ChatState("a"),
        ChatState(
            "b",
            created_time=at,
            first_seen_time=at,
            first_resolved_time=at + timedelta(minutes=5),
            last_resolved_time=at + timedelta(hours=1),
            status="resolved",
            status_time=at + timedelta(hours=1),
            group_history=((at, "g-support"), (at + timedelta(minutes=3), None)),
            last_change_time=at + timedelta(hours=2),
        ),
        ChatState("c", created_time=datetime(2026, 3, 1), first_seen_time=at, spam=True),
        # Most chats: history times that are the arrival's and the resolution's.
        ChatState(
            "d",
            created_time=at,
            first_seen_time=at,
            first_resolved_time=datetime(2026, 3, 1, 10),
            last_resolved_time=datetime(2026, 3, 1, 10),
            status="resolved",
            status_time=datetime(2026, 3, 1, 10),
            group_history=((at, "g-1"), (datetime(2026, 3, 1, 10), 'g-"2"')),
            last_change_time=datetime(2026, 3, 1, 10),
        ),
        ChatState("e", created_time=at, group_history=((at, None),)),
        ChatState(
            "f",
            created_time=at,
            last_resolved_time=at + timedelta(hours=3),
            group_history=tuple((at + timedelta(hours=n), f"g{n}") for n in range(4)),
        ),
    ]
    contact = Contact("g-support", datetime(2026, 3, 1, 9), "group at its latest resolution")
    for state in states:
        for made in (None, contact):
            plain = chat_row_values.write_values(7, state, made)
            as_text = tuple(
                value.isoformat(" ") if isinstance(value, datetime) else value for value in plain
            )
            assert chat_row_values.sqlite_write_values(7, state, made) == as_text
            assert row_values_from_state(state, made)["conversation_id"] == state.conversation_id


def test_chats_seen_ending_leave_the_buffer_before_open_ones(two_integrations):
    streamed, reference = two_integrations
    b_created = ChatChange("b", T0, created_time=T0, group_id="g-support")
    a_created = ChatChange("a", T0 + timedelta(minutes=1), created_time=T0 + timedelta(minutes=1))
    a_resolved = ChatChange(
        "a", T0 + timedelta(minutes=2), resolved_time=T0 + timedelta(minutes=2), status="resolved"
    )
    c_created = ChatChange("c", T0 + timedelta(minutes=3), created_time=T0 + timedelta(minutes=3))
    b_resolved = ChatChange(
        "b", T0 + timedelta(minutes=4), resolved_time=T0 + timedelta(minutes=4), status="resolved"
    )
    changes = [b_created, a_created, a_resolved, c_created, b_resolved]
    result = apply_streams(streamed, [changes], buffer_chats=2, flush_chats=1)
    # "a" (ended) left when "c" came; "b", the oldest but still open, waited for its
    # resolution: every chat written once.
    assert result.chats_seen == result.chats_created == 3
    apply_changes(reference, changes)
    assert stored_rows(streamed) == stored_rows(reference)
    assert stats(streamed) == stats(reference)
