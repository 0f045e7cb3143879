"""Stored Freshchat groups: keeping them equal to Freshchat's listing, and queue names.

Counting depends on which groups are alive, so a listing that changes that set recounts
the affected chats in the same transaction (``chat_recount``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from peewee import Expression, fn

from webapp.chat_recount import ApplyResult, recount_where
from webapp.counting import UNDEFINED_QUEUE, UNDEFINED_QUEUE_KEY
from webapp.database import MAX_VARIABLES, write_transaction
from webapp.models import Chat, Group, Integration, IntervalStat
from webapp.timeutil import utcnow


class EmptyGroupListing(ValueError):
    """Freshchat listed no groups while stored groups hold contacts; nothing was changed.

    ``str()`` is a sentence for the admin, shown as the failed sync's message.
    """


@dataclass(slots=True)
class GroupRefresh:
    """Group names affected by a refresh, in plain words for the sync history.

    ``renamed`` entries read ``"old → new"``. ``recount`` tells what the recount triggered by
    a change in the set of live groups did (all zeros when none was needed).
    """

    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    recount: ApplyResult = field(default_factory=ApplyResult)

    @property
    def live_set_changed(self) -> bool:
        """True when counting may have changed (renames alone never change a count)."""
        return bool(self.added or self.removed or self.restored)


def refresh_groups(integration_id: int, groups: Iterable[Mapping[str, Any]]) -> GroupRefresh:
    """Make the stored groups match a *complete, successful* Freshchat group listing.

    Groups are keyed by Freshchat id and keep their latest name; a group no longer listed is
    marked deleted (its last name is kept for display) and comes back if listed again.
    Calling this with a partial listing would wrongly move chats to Undefined_Queue, so the
    caller passes only a listing that was read to the end. An *empty* listing while stored
    groups still hold contacts is refused with ``EmptyGroupListing``: one odd answer must
    not move every contact to Undefined_Queue, and an account really left without any
    group is far rarer than a glitch (see ``_refuse_if_queues_would_empty``).

    Counting depends on which groups are alive, so when that set changes the affected chats
    are recounted in the same transaction: the groups and the counts change together.
    """
    listed: dict[str, str] = {}
    for entry in groups:
        if not isinstance(entry, Mapping):
            raise ValueError(f"Freshchat listed a group that is not an object: {entry!r}")
        raw_id = entry.get("id")
        if raw_id is None or not str(raw_id).strip():
            raise ValueError(f"Freshchat listed a group without an id: {dict(entry)!r}")
        name = entry.get("name")
        listed[str(raw_id).strip()] = name if isinstance(name, str) and name.strip() else ""

    outcome = GroupRefresh()
    now = utcnow()
    with write_transaction(integration_id=integration_id):
        if not listed:
            _refuse_if_queues_would_empty(integration_id)
        existing = {
            group.group_id: group
            for group in Group.select().where(Group.integration == integration_id)
        }
        removed_ids: list[str] = []
        for group_id, name in listed.items():
            group = existing.get(group_id)
            if group is None:
                # A group listed without a name still needs a label; its id is honest.
                Group.create(
                    integration=integration_id,
                    group_id=group_id,
                    name=name or group_id,
                    deleted=False,
                    seen_at=now,
                )
                outcome.added.append(name or group_id)
                continue
            new_name = name or group.name
            if group.deleted:
                outcome.restored.append(new_name)
            if new_name != group.name:
                outcome.renamed.append(f"{group.name} → {new_name}")
            group.name = new_name
            group.deleted = False
            group.seen_at = now
            group.save()
        for group_id, group in existing.items():
            if group_id not in listed and not group.deleted:
                group.deleted = True
                group.save()
                outcome.removed.append(group.name)
                removed_ids.append(group_id)
        if outcome.live_set_changed:
            outcome.recount = recount_where(integration_id, _affected_by_group_change(removed_ids))
        # Pushed events naming a group missing from this listing stop waiting (push_groups).
        Integration.update(groups_listed_at=now).where(Integration.id == integration_id).execute()
    return outcome


def _refuse_if_queues_would_empty(integration_id: int) -> None:
    """Raise ``EmptyGroupListing`` if an empty listing would empty queues holding contacts.

    Stored groups without contacts may go: marking them deleted moves no count, and the next
    listing that names them brings them back. Interval statistics answer "holds contacts"
    through their (integration, queue_key) index, without reading the chats.
    """
    holding = (
        Group.select(Group.name)
        .where(
            (Group.integration == integration_id)
            & (Group.deleted == False)  # noqa: E712
            & fn.EXISTS(
                IntervalStat.select(IntervalStat.id).where(
                    (IntervalStat.integration == integration_id)
                    & (IntervalStat.queue_key == Group.group_id)
                    & (IntervalStat.contacts > 0)
                )
            )
        )
        .order_by(Group.name)
        .limit(4)
    )
    names = [group.name for group in holding]
    if not names:
        return
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    raise EmptyGroupListing(
        f"Freshchat listed no groups, although queues here still hold contacts ({shown}); "
        "the answer was not trusted and queues were left as they were. The next sync asks "
        "again. If every group really was deleted in Freshchat, create one group there and "
        "sync: the deleted ones then move to Undefined_Queue."
    )


def _affected_by_group_change(removed_ids: list[str]) -> Expression | None:
    """Chats whose contact can change when groups appear or disappear.

    Only two kinds can: chats counted in a group that is now gone, and chats in
    Undefined_Queue (among them those whose group was gone and is now back). Every other
    ended chat is in a live group that stays live; open chats count nowhere.
    """
    if len(removed_ids) > MAX_VARIABLES:
        return None  # recount everything rather than build a statement SQLite refuses
    condition = Chat.queue_key == UNDEFINED_QUEUE_KEY
    if removed_ids:
        condition |= Chat.queue_key.in_(removed_ids)
    return condition


def queue_names(integration_id: int) -> dict[str, str]:
    """Display name of every queue key of an integration.

    Stats are keyed by group id so that a rename needs no recount; names are joined here.
    Deleted groups keep their last name (their past contacts still belong to them); a key
    with no group row at all shows its raw id rather than vanish.
    """
    names = {UNDEFINED_QUEUE_KEY: UNDEFINED_QUEUE}
    groups = Group.select(Group.group_id, Group.name).where(Group.integration == integration_id)
    for group_id, name in groups.tuples():
        names[group_id] = name
    keys = (
        IntervalStat.select(IntervalStat.queue_key)
        .where(IntervalStat.integration == integration_id)
        .distinct()
    )
    for (queue_key,) in keys.tuples():
        names.setdefault(queue_key, queue_key)
    return names
