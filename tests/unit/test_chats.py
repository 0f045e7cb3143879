"""The funnel, case by case: changes in, interval statistics out (PRODUCT.md "Data rules")."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from peewee import IntegrityError

from webapp.changes import NO_GROUP_INFO, ChatChange
from webapp.chats import (
    ApplyResult,
    EmptyGroupListing,
    apply_changes,
    delete_chat_data,
    queue_names,
    recount,
    refresh_groups,
    row_values_from_state,
    state_from_row,
)
from webapp.chatstate import ChatState, merge_all
from webapp.counting import (
    REASON_DELETED,
    REASON_GROUP,
    REASON_GROUP_GONE,
    REASON_NO_GROUP,
    REASON_SPAM,
    UNDEFINED_QUEUE,
    contact_for,
)
from webapp.models import Chat, Group, Integration, IntervalStat

SUPPORT = {"id": "g-support", "name": "Customer Support"}
BILLING = {"id": "g-billing", "name": "Billing"}
T0 = datetime(2024, 3, 4, 9, 7, 30)  # in the 09:00 interval


# --------------------------------------------------------------------------- helpers


def created(cid: str, at: datetime, group: str | None = "g-support") -> ChatChange:
    return ChatChange(cid, at=at, created_time=at, status="new", group_id=group)


def resolved(cid: str, at: datetime, group: str | None = NO_GROUP_INFO) -> ChatChange:  # type: ignore[assignment]
    return ChatChange(cid, at=at, resolved_time=at, status="resolved", group_id=group)


def reopened(cid: str, at: datetime) -> ChatChange:
    return ChatChange(cid, at=at, status="new")


def assigned(cid: str, at: datetime, group: str | None) -> ChatChange:
    return ChatChange(cid, at=at, group_id=group)


def make_integration(name: str = "Main") -> int:
    row = Integration.create(
        name=name,
        name_key=name.lower(),
        domain=f"{name.lower()}.freshchat.com",
        api_key_encrypted="x",
        api_key_last4="abcd",
    )
    return row.id


def stats(integration_id: int) -> list[tuple[str, str, int]]:
    """(queue name, interval start, contacts), sorted: what a planner would read."""
    names = queue_names(integration_id)
    rows = IntervalStat.select().where(IntervalStat.integration == integration_id)
    return sorted(
        (names[row.queue_key], row.interval_start.isoformat(), row.contacts) for row in rows
    )


def reason_of(integration_id: int, cid: str) -> str | None:
    chat = Chat.get((Chat.integration == integration_id) & (Chat.conversation_id == cid))
    return chat.count_reason


@pytest.fixture
def integration(database) -> int:
    integration_id = make_integration()
    refresh_groups(integration_id, [SUPPORT, BILLING])
    return integration_id


def lifecycle(n: int = 12) -> list[ChatChange]:
    """A mixed set of chats: transfers, reopenings, spam, deletion, no group, open."""
    changes: list[ChatChange] = []
    for i in range(n):
        cid = f"c{i}"
        start = T0 + timedelta(minutes=7 * i)
        changes.append(created(cid, start, "g-support" if i % 2 else "g-billing"))
        if i % 3 == 0:
            changes.append(assigned(cid, start + timedelta(minutes=2), "g-support"))
        if i % 5 != 4:
            changes.append(resolved(cid, start + timedelta(minutes=20)))
        if i % 4 == 0:
            changes.append(reopened(cid, start + timedelta(hours=1)))
            changes.append(assigned(cid, start + timedelta(hours=1, minutes=1), "g-billing"))
            changes.append(resolved(cid, start + timedelta(days=1)))
        if i == 7:
            changes.append(ChatChange(cid, at=start + timedelta(hours=3), spam=True))
        if i == 10:
            changes.append(ChatChange(cid, at=start + timedelta(hours=3), deleted=True))
    changes.append(created("nogroup", T0, None))
    changes.append(resolved("nogroup", T0 + timedelta(minutes=1)))
    return changes


# --------------------------------------------------------------------------- data rules


def test_created_and_resolved_chat_is_one_contact_in_its_group(integration):
    result = apply_changes(
        integration, [created("c1", T0), resolved("c1", T0 + timedelta(minutes=3))]
    )

    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 1)]
    assert result == ApplyResult(
        chats_seen=1, chats_created=1, contacts_changed=1, intervals_recomputed=1
    )
    assert reason_of(integration, "c1") == REASON_GROUP


def test_resolved_next_day_counts_in_the_arrival_interval(integration):
    apply_changes(integration, [created("c1", T0), resolved("c1", T0 + timedelta(days=1))])

    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 1)]


def test_resolution_in_a_later_batch_counts_in_the_arrival_interval(integration):
    apply_changes(integration, [created("c1", T0)])
    assert stats(integration) == []

    apply_changes(integration, [resolved("c1", T0 + timedelta(days=1))])

    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 1)]


def test_reopened_and_resolved_again_is_still_one_contact(integration):
    apply_changes(integration, [created("c1", T0), resolved("c1", T0 + timedelta(minutes=5))])
    result = apply_changes(
        integration,
        [
            reopened("c1", T0 + timedelta(hours=2)),
            resolved("c1", T0 + timedelta(hours=3)),
            reopened("c1", T0 + timedelta(hours=4)),
            resolved("c1", T0 + timedelta(days=2)),
        ],
    )

    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 1)]
    assert result.contacts_changed == 0
    assert result.intervals_recomputed == 0


def test_transfer_counts_in_the_group_at_the_latest_resolution(integration):
    apply_changes(
        integration,
        [
            created("c1", T0, "g-support"),
            assigned("c1", T0 + timedelta(minutes=1), "g-billing"),
            resolved("c1", T0 + timedelta(minutes=30)),
        ],
    )

    assert stats(integration) == [("Billing", "2024-03-04T09:00:00", 1)]


def test_transfer_after_resolution_without_new_resolution_keeps_the_queue(integration):
    apply_changes(
        integration,
        [
            created("c1", T0, "g-support"),
            resolved("c1", T0 + timedelta(minutes=30)),
            assigned("c1", T0 + timedelta(hours=1), "g-billing"),
        ],
    )

    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 1)]


def test_reopened_chat_moved_and_resolved_again_moves_its_contact(integration):
    apply_changes(integration, [created("c1", T0), resolved("c1", T0 + timedelta(minutes=5))])
    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 1)]

    result = apply_changes(
        integration,
        [
            reopened("c1", T0 + timedelta(hours=1)),
            assigned("c1", T0 + timedelta(hours=1, minutes=1), "g-billing"),
            resolved("c1", T0 + timedelta(hours=2)),
        ],
    )

    assert stats(integration) == [("Billing", "2024-03-04T09:00:00", 1)]
    assert result.contacts_changed == 1
    assert result.intervals_recomputed == 1


def test_spam_after_resolution_moves_the_contact_to_undefined(integration):
    apply_changes(integration, [created("c1", T0), resolved("c1", T0 + timedelta(minutes=5))])

    apply_changes(integration, [ChatChange("c1", at=T0 + timedelta(hours=1), spam=True)])

    assert stats(integration) == [(UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1)]
    assert reason_of(integration, "c1") == REASON_SPAM


def test_deleted_chat_counts_in_undefined(integration):
    apply_changes(
        integration,
        [created("c1", T0), ChatChange("c1", at=T0 + timedelta(minutes=2), deleted=True)],
    )

    assert stats(integration) == [(UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1)]
    assert reason_of(integration, "c1") == REASON_DELETED


def test_deleted_after_resolution_moves_once(integration):
    apply_changes(integration, [created("c1", T0), resolved("c1", T0 + timedelta(minutes=5))])
    apply_changes(integration, [ChatChange("c1", at=T0 + timedelta(days=3), deleted=True)])

    assert stats(integration) == [(UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1)]


def test_chat_without_group_counts_in_undefined(integration):
    apply_changes(integration, [created("c1", T0, None), resolved("c1", T0 + timedelta(1))])

    assert stats(integration) == [(UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1)]
    assert reason_of(integration, "c1") == REASON_NO_GROUP


def resolve_one_chat_per_group(integration) -> None:
    """c1 in g-support and c2 in g-billing, both resolved five minutes after arriving."""
    apply_changes(
        integration,
        [
            created("c1", T0, "g-support"),
            resolved("c1", T0 + timedelta(minutes=5)),
            created("c2", T0, "g-billing"),
            resolved("c2", T0 + timedelta(minutes=5)),
        ],
    )


def test_group_deleted_in_freshchat_moves_to_undefined_and_back(integration):
    resolve_one_chat_per_group(integration)
    assert stats(integration) == [
        ("Billing", "2024-03-04T09:00:00", 1),
        ("Customer Support", "2024-03-04T09:00:00", 1),
    ]

    gone = refresh_groups(integration, [BILLING])

    assert gone.removed == ["Customer Support"]
    assert gone.recount.contacts_changed == 1
    assert stats(integration) == [
        ("Billing", "2024-03-04T09:00:00", 1),
        (UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1),
    ]
    assert reason_of(integration, "c1") == REASON_GROUP_GONE

    back = refresh_groups(integration, [SUPPORT, BILLING])

    assert back.restored == ["Customer Support"]
    assert stats(integration) == [
        ("Billing", "2024-03-04T09:00:00", 1),
        ("Customer Support", "2024-03-04T09:00:00", 1),
    ]


def test_chat_in_a_group_never_listed_waits_in_undefined_until_listed(database):
    integration = make_integration()
    refresh_groups(integration, [BILLING])
    apply_changes(integration, [created("c1", T0, "g-new"), resolved("c1", T0)])
    assert stats(integration) == [(UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1)]

    outcome = refresh_groups(integration, [BILLING, {"id": "g-new", "name": "New desk"}])

    assert outcome.added == ["New desk"]
    assert stats(integration) == [("New desk", "2024-03-04T09:00:00", 1)]


def test_open_chats_do_not_count(integration):
    result = apply_changes(
        integration,
        [
            created("c1", T0),
            assigned("c1", T0 + timedelta(minutes=1), "g-billing"),
            reopened("c2", T0),
        ],
    )

    assert stats(integration) == []
    assert result.chats_created == 2
    assert result.contacts_changed == 0
    assert Chat.select().where(Chat.queue_key.is_null(False)).count() == 0


def test_interval_boundaries(integration):
    before = datetime(2024, 3, 4, 9, 14, 59, 999000)
    after = datetime(2024, 3, 4, 9, 15, 0, 0)
    apply_changes(
        integration,
        [
            created("a", before),
            resolved("a", after + timedelta(minutes=1)),
            created("b", after),
            resolved("b", after + timedelta(minutes=1)),
            created("c", datetime(2024, 3, 4, 23, 59, 59, 999000)),
            resolved("c", datetime(2024, 3, 5, 0, 1)),
        ],
    )

    assert stats(integration) == [
        ("Customer Support", "2024-03-04T09:00:00", 1),
        ("Customer Support", "2024-03-04T09:15:00", 1),
        ("Customer Support", "2024-03-04T23:45:00", 1),
    ]


def test_milliseconds_survive_the_row(integration):
    at = datetime(2024, 3, 4, 9, 14, 59, 999000)
    apply_changes(integration, [created("a", at), resolved("a", at)])

    again = apply_changes(integration, [created("a", at), resolved("a", at)])

    assert again == ApplyResult(chats_seen=1)
    assert Chat.get().created_time == at


# --------------------------------------------------------------------------- order and repetition


def test_applying_the_same_changes_twice_changes_nothing(integration):
    changes = lifecycle()
    apply_changes(integration, changes)
    first = stats(integration)

    replay = apply_changes(integration, changes)

    assert stats(integration) == first
    assert replay.chats_created == 0
    assert replay.contacts_changed == 0
    assert replay.intervals_recomputed == 0


def test_duplicates_inside_one_batch_count_once(integration):
    changes = [created("c1", T0), resolved("c1", T0 + timedelta(minutes=5))]
    result = apply_changes(integration, changes * 3)

    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 1)]
    assert result.chats_seen == 1


def _order_variants() -> list[tuple[str, list[ChatChange]]]:
    changes = lifecycle()
    variants = [("reversed", list(reversed(changes)))]
    for seed in (1, 2, 3, 4, 5):
        mixed = list(changes)
        random.Random(seed).shuffle(mixed)
        variants.append((f"seed {seed}", mixed))
    return variants


@pytest.mark.parametrize(("label", "mixed"), _order_variants(), ids=lambda v: str(v)[:8])
def test_order_does_not_matter(database, label, mixed):
    in_order, shuffled = make_integration("Ordered"), make_integration("Shuffled")
    for integration_id in (in_order, shuffled):
        refresh_groups(integration_id, [SUPPORT, BILLING])
    apply_changes(in_order, lifecycle())

    # Small batches also spread one chat's changes over several transactions.
    apply_changes(shuffled, mixed, batch_size=4)

    assert stats(in_order), "the example must count something"
    assert stats(shuffled) == stats(in_order), label


def test_small_batches_give_the_same_result_as_one_batch(database):
    changes = lifecycle()
    one, small = make_integration("One"), make_integration("Small")
    for integration_id in (one, small):
        refresh_groups(integration_id, [SUPPORT, BILLING])

    apply_changes(one, changes)
    apply_changes(small, changes, batch_size=3)

    assert stats(small) == stats(one)
    state_columns = ("created_time", "last_resolved_time", "group_history", "queue_key")

    def chat_rows(integration_id: int) -> list[tuple]:
        query = (
            Chat.select().where(Chat.integration == integration_id).order_by(Chat.conversation_id)
        )
        return [tuple(getattr(c, name) for name in state_columns) for c in query]

    assert chat_rows(small) == chat_rows(one)


def test_expected_counts_of_the_mixed_example(integration):
    apply_changes(integration, lifecycle())

    # 13 chats; only c9 is still open (c4 ends with its resolution the next day).
    # c7 (spam) and c10 (deleted) go to Undefined_Queue with "nogroup".
    total = sum(contacts for _, _, contacts in stats(integration))
    assert total == 12
    undefined = [s for s in stats(integration) if s[0] == UNDEFINED_QUEUE]
    assert sum(s[2] for s in undefined) == 3


def test_generator_input_is_consumed_lazily(integration):
    consumed: list[int] = []

    def changes():
        for i in range(10):
            consumed.append(i)
            yield created(f"c{i}", T0)
            yield resolved(f"c{i}", T0)

    result = apply_changes(integration, changes(), batch_size=4)

    assert consumed == list(range(10))
    assert result.chats_created == 10
    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 10)]


def test_a_failing_batch_rolls_back_alone(integration):
    good = [created("c1", T0), resolved("c1", T0)]
    # Mixing an aware time into naive ones makes merge fail inside the second batch.
    bad = [created("c2", T0), resolved("c2", T0.replace(tzinfo=UTC))]

    with pytest.raises(TypeError):
        apply_changes(integration, good + bad, batch_size=2)

    assert [c.conversation_id for c in Chat.select()] == ["c1"]
    assert stats(integration) == [("Customer Support", "2024-03-04T09:00:00", 1)]


def test_unknown_integration_is_refused(database):
    with pytest.raises(IntegrityError):
        apply_changes(404, [created("c1", T0), resolved("c1", T0)])

    assert Chat.select().count() == 0


def test_batch_size_must_be_positive(integration):
    with pytest.raises(ValueError):
        apply_changes(integration, [], batch_size=0)


# --------------------------------------------------------------------------- groups and names


def test_rename_changes_names_not_stats(integration):
    apply_changes(integration, [created("c1", T0), resolved("c1", T0)])
    before = IntervalStat.select().dicts()[:]

    outcome = refresh_groups(integration, [{"id": "g-support", "name": "Help Desk"}, BILLING])

    assert outcome.renamed == ["Customer Support → Help Desk"]
    assert not outcome.live_set_changed
    assert outcome.recount == ApplyResult()
    assert IntervalStat.select().dicts()[:] == before
    assert stats(integration) == [("Help Desk", "2024-03-04T09:00:00", 1)]


def test_deleted_group_keeps_its_last_name_and_unknown_keys_show_their_id(integration):
    refresh_groups(integration, [BILLING])
    IntervalStat.create(integration=integration, queue_key="g-ghost", interval_start=T0, contacts=1)

    names = queue_names(integration)

    assert names == {
        "": UNDEFINED_QUEUE,
        "g-support": "Customer Support",
        "g-billing": "Billing",
        "g-ghost": "g-ghost",
    }
    assert Group.get(Group.group_id == "g-support").deleted is True


def test_refresh_rejects_a_group_without_id_and_changes_nothing(integration):
    with pytest.raises(ValueError, match="without an id"):
        refresh_groups(integration, [BILLING, {"name": "Broken"}])
    with pytest.raises(ValueError, match="not an object"):
        refresh_groups(integration, [BILLING, "g-support"])  # type: ignore[list-item]

    assert Group.select().where(Group.deleted == False).count() == 2  # noqa: E712


def test_refresh_is_idempotent(integration):
    outcome = refresh_groups(integration, [SUPPORT, BILLING])

    assert (outcome.added, outcome.renamed, outcome.removed, outcome.restored) == (
        [],
        [],
        [],
        [],
    )


def test_recount_repairs_stale_cached_contacts(integration):
    apply_changes(integration, lifecycle())
    expected = stats(integration)
    # As if the counting rules had changed since these answers were cached.
    Chat.update(queue_key="g-billing").where(Chat.queue_key.is_null(False)).execute()

    result = recount(integration)

    assert stats(integration) == expected
    assert result.chats_seen == Chat.select().count()
    assert recount(integration).contacts_changed == 0


# --------------------------------------------------------------------------- isolation, deletion


def test_two_integrations_are_isolated(database):
    first, second = make_integration("First"), make_integration("Second")
    refresh_groups(first, [SUPPORT])
    refresh_groups(second, [{"id": "g-support", "name": "Their Support"}])

    apply_changes(first, [created("c1", T0), resolved("c1", T0)])
    apply_changes(second, [created("c1", T0, None), resolved("c1", T0 + timedelta(days=9))])
    apply_changes(second, [created("c2", T0), resolved("c2", T0)])

    assert stats(first) == [("Customer Support", "2024-03-04T09:00:00", 1)]
    assert stats(second) == [
        ("Their Support", "2024-03-04T09:00:00", 1),
        (UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1),
    ]

    refresh_groups(first, [{"id": "g-other", "name": "Other"}])  # g-support gone in first only

    assert stats(second) == [
        ("Their Support", "2024-03-04T09:00:00", 1),
        (UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1),
    ]

    delete_chat_data(first)

    assert stats(first) == []
    assert Group.select().where(Group.integration == first).count() == 0
    assert Chat.select().where(Chat.integration == first).count() == 0
    assert Chat.select().where(Chat.integration == second).count() == 2


# --------------------------------------------------------------------------- row mapping


def test_state_round_trips_through_the_row(integration):
    state = merge_all(
        ChatState("c1"),
        [
            created("c1", datetime(2024, 3, 4, 9, 0, 0, 123000), "g-support"),
            assigned("c1", T0, None),
            assigned("c1", T0 + timedelta(minutes=1), "g-billing"),
            resolved("c1", T0 + timedelta(minutes=2)),
            ChatChange("c1", at=T0 + timedelta(minutes=3), spam=True),
        ],
    )
    contact = contact_for(state, {"g-support", "g-billing"})
    values = row_values_from_state(state, contact)

    Chat.insert(integration=integration, **values).execute()

    assert state_from_row(Chat.get()) == state
    assert state_from_row(Chat.select().dicts().get()) == state
    assert Chat.get().count_reason == REASON_SPAM


# --------------------------------------------------------------------------- empty group listings
# One odd answer from Freshchat must not move every contact to Undefined_Queue.


def test_empty_listing_while_groups_hold_contacts_is_refused_and_changes_nothing(integration):
    resolve_one_chat_per_group(integration)
    cells, chat_rows = IntervalStat.select().dicts()[:], Chat.select().dicts()[:]

    with pytest.raises(EmptyGroupListing) as caught:
        refresh_groups(integration, [])

    message = str(caught.value)
    assert "Freshchat listed no groups" in message
    assert "(Billing, Customer Support)" in message
    assert "queues were left as they were" in message
    assert isinstance(caught.value, ValueError)
    assert Group.select().where(Group.deleted == True).count() == 0  # noqa: E712
    assert IntervalStat.select().dicts()[:] == cells
    assert Chat.select().dicts()[:] == chat_rows


def test_refusal_names_at_most_three_queues(database):
    integration = make_integration()
    groups = [{"id": f"g{i}", "name": f"Queue {i}"} for i in range(5)]
    refresh_groups(integration, groups)
    changes = []
    for i in range(5):
        changes += [created(f"c{i}", T0, f"g{i}"), resolved(f"c{i}", T0)]
    apply_changes(integration, changes)

    with pytest.raises(EmptyGroupListing, match=r"\(Queue 0, Queue 1, Queue 2, …\)"):
        refresh_groups(integration, [])


def test_empty_listing_is_accepted_when_no_stored_group_holds_contacts(integration):
    # Only an open chat and a chat counted in Undefined_Queue: deleting the groups moves
    # no count, so an account that really has no groups left is followed.
    apply_changes(
        integration,
        [created("c1", T0, "g-support"), created("c2", T0, None), resolved("c2", T0)],
    )
    before = stats(integration)

    outcome = refresh_groups(integration, [])

    assert sorted(outcome.removed) == ["Billing", "Customer Support"]
    assert Group.select().where(Group.deleted == False).count() == 0  # noqa: E712
    assert stats(integration) == before == [(UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1)]


def test_empty_listing_for_an_integration_without_groups_is_a_no_op(database):
    integration = make_integration()
    outcome = refresh_groups(integration, [])
    assert not outcome.live_set_changed
    assert Group.select().count() == 0


def test_contacts_in_an_already_deleted_group_do_not_block_an_empty_listing(integration):
    apply_changes(integration, [created("c1", T0, "g-support"), resolved("c1", T0)])
    refresh_groups(integration, [BILLING])  # Support deleted: c1 now in Undefined_Queue

    outcome = refresh_groups(integration, [])

    assert outcome.removed == ["Billing"]
    assert stats(integration) == [(UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1)]


def test_a_listing_naming_only_a_new_group_still_deletes_the_old_ones(integration):
    # The way out the refusal message gives an account whose groups were all deleted.
    apply_changes(
        integration,
        [created("c1", T0, "g-support"), resolved("c1", T0)],
    )

    outcome = refresh_groups(integration, [{"id": "g-fresh", "name": "Fresh start"}])

    assert outcome.added == ["Fresh start"]
    assert sorted(outcome.removed) == ["Billing", "Customer Support"]
    assert stats(integration) == [(UNDEFINED_QUEUE, "2024-03-04T09:00:00", 1)]
    assert reason_of(integration, "c1") == REASON_GROUP_GONE


def test_refusal_is_per_integration(database):
    first, second = make_integration("First"), make_integration("Second")
    refresh_groups(first, [SUPPORT])
    refresh_groups(second, [SUPPORT])
    apply_changes(second, [created("c1", T0), resolved("c1", T0)])

    refresh_groups(first, [])  # second's contacts do not make first's listing suspicious

    with pytest.raises(EmptyGroupListing):
        refresh_groups(second, [])
    assert Group.get(Group.integration == first).deleted is True
    assert Group.get(Group.integration == second).deleted is False
