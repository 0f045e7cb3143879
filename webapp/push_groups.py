"""Pushed events naming a group the app has not listed yet wait for the group listing.

A group id missing from the stored listing is not a deleted group: the app may simply not
have listed groups yet (before the first sync) or the group may be newer than the last
listing. Counting such a chat would put it in Undefined_Queue ("its group no longer
exists") by mistake, so its events wait, shown on the integration page as "waiting for
group names", while ``webapp.push.apply_pending_for`` fetches the listing promptly: at
most once every ``LISTING_EVERY`` per integration, claimed by a conditional update of
``Integration.groups_asked_at`` so that every process and command (``serve``, ``demo``,
``sync``) shares the same minute. Only a complete listing stored *after* an event arrived
(``Integration.groups_listed_at``, set by ``chats.refresh_groups`` whoever called it) and
still without the id lets the event through, to Undefined_Queue.

Group names revealed by events rename *known* groups only (``rename_groups``), and only
with an event newer than the group's last sighting, so a late re-delivery cannot bring back
an old name. Unknown group ids create nothing: which groups are alive is decided by the
complete listing (a deleted group still appears in old chats' events).

A listing that fails leaves the events waiting: there is no give-up time, since applying
them without one is exactly the miscount this avoids. The page shows the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from webapp import chats
from webapp.clients import ClientFactory
from webapp.database import padded_in_lists, prepared_sql
from webapp.extensions import db
from webapp.freshchat.client import FreshchatError
from webapp.freshchat.events import group_name_from
from webapp.models import Group, InboundEvent, Integration
from webapp.push_lookups import Item
from webapp.timeutil import parse_timestamp, utcnow

LISTING_EVERY = timedelta(minutes=1)
WAITING_FOR_GROUPS = "group names"


def _mentioned(item: Item) -> set[str]:
    return {c.group_id for c in item.changes if c.says_group and c.group_id}


def waiting_for_groups(integration_id: int, items: Sequence[Item]) -> dict[int, set[str]]:
    """Event id → group ids it waits for: not in the stored listing, and no complete
    listing was stored since the event arrived."""
    mentioned = {item.event_id: _mentioned(item) for item in items}
    wanted = set().union(*mentioned.values()) if mentioned else set()
    if not wanted:
        return {}
    known: set[str] = set()
    for size, values in padded_in_lists(sorted(wanted)):
        sql = prepared_sql(  # on every pushed event: built once, not per request
            ("push.known_groups", size),
            lambda size=size: Group.select(Group.group_id).where(
                (Group.integration == 0) & Group.group_id.in_([""] * size)
            ),
        )
        known.update(group_id for (group_id,) in db.execute_sql(sql, [integration_id, *values]))
    if wanted <= known:
        return {}
    listed_at = (
        Integration.select(Integration.groups_listed_at)
        .where(Integration.id == integration_id)
        .scalar()
    )
    waiting: dict[int, set[str]] = {}
    for item in items:
        unknown = mentioned[item.event_id] - known
        arrived = item.received_at
        if unknown and (listed_at is None or arrived is None or arrived > listed_at):
            waiting[item.event_id] = unknown
    # The chat's other events wait with them: a resolution applied alone would count the
    # chat without the group that is still on its way.
    held = {c.conversation_id for item in items if item.event_id in waiting for c in item.changes}
    for item in items:
        if item.event_id not in waiting and any(c.conversation_id in held for c in item.changes):
            waiting[item.event_id] = set()
    return waiting


def mark_waiting(event_ids: Sequence[int], reason: str = WAITING_FOR_GROUPS) -> None:
    """Say on the stored events why they wait (the page counts them)."""
    if event_ids:
        InboundEvent.update(waiting_for=reason).where(
            InboundEvent.id.in_(list(event_ids))
        ).execute()


def fetch_listing(
    integration: Integration, client_factory: ClientFactory | None, now: datetime
) -> str | None:
    """Read and store Freshchat's group listing if this minute's turn is ours.

    Returns an error text when the listing could not be read (events keep waiting), else
    None (read, or another process/run asked less than a minute ago).
    """
    claimed = (
        Integration.update(groups_asked_at=now)
        .where(
            (Integration.id == integration.id)
            & (
                Integration.groups_asked_at.is_null()
                | (Integration.groups_asked_at <= now - LISTING_EVERY)
            )
        )
        .execute()
    )
    if not claimed:
        return None
    try:
        if client_factory is None:
            raise FreshchatError("no Freshchat client is available here")
        groups = list(client_factory(integration).iter_groups())
        chats.refresh_groups(integration.id, groups)
    except (FreshchatError, chats.EmptyGroupListing, ValueError) as exc:
        return f"group listing failed: {exc}"
    return None


def rename_groups(integration_id: int, items: Sequence[Item]) -> None:
    """Keep known groups' names current between pulls; newest event wins."""
    newest: dict[str, tuple[datetime, str]] = {}
    for item in items:
        revealed = group_name_from(item.envelope)
        if revealed is None:
            continue
        try:
            at = parse_timestamp(item.envelope.get("timestamp"))
        except (ValueError, OverflowError, OSError):
            at = None
        if at is None:
            continue
        group_id, name = revealed
        if group_id not in newest or newest[group_id][0] < at:
            newest[group_id] = (at, name)
    if not newest:
        return
    sql = prepared_sql(
        "push.rename_group",
        lambda: Group.update(name="", seen_at=utcnow()).where(
            (Group.integration == 0)
            & (Group.group_id == "")
            & (Group.name != "")
            & (Group.seen_at < utcnow())
        ),
    )
    for group_id, (at, name) in newest.items():
        seen_at = Group.seen_at.db_value(at)
        db.execute_sql(sql, [name, seen_at, integration_id, group_id, name, seen_at])
