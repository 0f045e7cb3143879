"""Statistics kept by a deleted integration that a live one imports again.

Deleting an integration keeps its statistics; adding the same Freshchat account again
imports the same chats once more under the new integration. Both sets are right on their
own, but summing them counts those chats twice, so the pages say which one is current.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext

from webapp.models import Chat, Integration, IntervalStat


def _has_statistics(integration: Integration) -> bool:
    return (
        IntervalStat.select().where(IntervalStat.integration == integration).exists()
        or Chat.select().where(Chat.integration == integration).exists()
    )


def kept_for_domain(domain: str, *, exclude_id: int | None = None) -> list[Integration]:
    """Deleted integrations of this Freshchat host whose statistics were kept, newest first."""
    query = Integration.select().where(
        (Integration.domain == domain) & Integration.deleted_at.is_null(False)
    )
    if exclude_id is not None:
        query = query.where(Integration.id != exclude_id)
    return [i for i in query.order_by(Integration.deleted_at.desc()) if _has_statistics(i)]


def current_for_domain(domain: str) -> Integration | None:
    """The live integration importing this host now (at most one: the form refuses twins)."""
    return (
        Integration.select()
        .where((Integration.domain == domain) & Integration.deleted_at.is_null())
        .first()
    )


@dataclass(frozen=True)
class Overlap:
    """For one integration: the other integrations holding statistics of the same account.

    ``current`` is the live integration of that account (None when none is live);
    ``kept`` the deleted ones whose kept statistics overlap it.
    """

    current: Integration | None
    kept: list[Integration]

    def __bool__(self) -> bool:
        return bool(self.kept) and self.current is not None


def overlap_of(integration: Integration) -> Overlap:
    current = current_for_domain(integration.domain)
    kept = kept_for_domain(integration.domain)
    return Overlap(current, kept)


def overlap_warning(domain: str, kept: list[Integration]) -> str:
    """The sentence the form shows (and Save repeats) before the account is added again."""
    names = ", ".join(f"“{i.name}”" for i in kept)
    return gettext(
        "The deleted integration %(names)s kept statistics of %(domain)s. This new "
        "integration imports the same chats again and becomes the current one: its "
        "statistics and the kept ones overlap, so never add them up (or remove the kept "
        "statistics first).",
        names=names,
        domain=domain,
    )
