"""One Freshchat account's API, for the sync, the push lookups and the checks.

Built in layers, each in its own module: ``transport`` (the key, retries, waits, typed
errors from ``errors``), ``extract_api`` (report jobs), and here the listing endpoints
(account configuration, groups, one conversation). Import from here: every public name
of the layers is re-exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from webapp.freshchat.errors import (
    BadRequest,
    ExtractFailed,
    FreshchatError,
    KeyRejected,
    LinkExpired,
    MalformedResponse,
    NotAdmin,
    NotFound,
    PlanWithoutApi,
    RateLimited,
    ServerError,
    Timeout,
    Unreachable,
    looks_like_plan_restriction,
)
from webapp.freshchat.extract_api import FILE_READY, ExtractApi, ExtractLink, ExtractStatus
from webapp.freshchat.transport import _origin

__all__ = [
    "FILE_READY",
    "BadRequest",
    "ExtractFailed",
    "ExtractLink",
    "ExtractStatus",
    "FreshchatClient",
    "FreshchatError",
    "KeyRejected",
    "LinkExpired",
    "MalformedResponse",
    "NotAdmin",
    "NotFound",
    "PlanWithoutApi",
    "RateLimited",
    "ServerError",
    "Timeout",
    "Unreachable",
    "looks_like_plan_restriction",
]

GROUPS_PER_PAGE = 50


def _group_items(page: dict[str, Any], detail: str) -> list[dict[str, Any]]:
    """The ``groups`` of one page, refusing anything that is not a list of objects with ids.

    ``detail`` (Freshchat's own words, if the body carried a ``message``) is appended
    because a 200 holding an error object is the likeliest way to get here.
    """
    groups = page.get("groups")
    if not isinstance(groups, list):
        raise MalformedResponse(
            "Freshchat's answer to the list of groups held no list of groups; "
            "queues were left as they were. The next sync asks again." + detail
        )
    for item in groups:
        raw_id = item.get("id") if isinstance(item, dict) else None
        usable = isinstance(raw_id, str) and raw_id.strip()
        usable = usable or (isinstance(raw_id, int) and not isinstance(raw_id, bool))
        if not usable:
            raise MalformedResponse(
                "Freshchat's list of groups held an entry that is not a group with an id; "
                "queues were left as they were. The next sync asks again."
            )
    return groups


def _total_items(page: dict[str, Any]) -> int | None:
    """``pagination.total_items`` when stated as a whole number, else None (not all pages say)."""
    pagination = page.get("pagination")
    total = pagination.get("total_items") if isinstance(pagination, dict) else None
    if isinstance(total, bool):
        return None
    if isinstance(total, int):
        return max(total, 0)
    if isinstance(total, str) and total.strip().isdigit():
        return int(total.strip())
    return None


class FreshchatClient(ExtractApi):
    """One account's API. Knows nothing of Flask or the database; safe to use per thread."""

    def get_configuration(self) -> dict[str, Any]:
        """The cheapest authenticated call: proves domain, key and rights in one request."""
        body = self._get_json(self._url("/accounts/configuration"))
        if not isinstance(body, dict):
            raise MalformedResponse(
                "Freshchat's account configuration was not the expected object; "
                "check that the domain is the account's Freshchat host."
            )
        return body

    def iter_groups(self) -> Iterator[dict[str, Any]]:
        """Every group, page by page, following Freshchat's own ``next_page`` links.

        The caller marks every group missing from this listing as deleted and recounts its
        chats into Undefined_Queue, so an answer that merely *looks* short must fail here
        rather than pass for a complete listing:

        * a page without a ``groups`` list (``{}``, ``{"groups": null}``, an error object
          sent with 200) or with items that are not objects with an id is malformed;
        * an empty page ends the listing only when it links nowhere. An empty page that
          links onwards is refused rather than followed: pages are numbered, so nothing
          short of a page cap would stop a server that keeps linking to empty pages, and a
          listing with a hole in it is exactly what must not be trusted. The sync fails
          and the next one asks again;
        * when pages state ``pagination.total_items``, reading fewer distinct groups than
          the largest total stated means a group was missed (pages shift when groups are
          added or deleted while we read), so the listing is refused too.

        Groups are yielded as pages arrive; a refusal can come after some were yielded, so
        callers must read the whole listing before acting on it (``list(...)``).
        """
        url = self._url("/groups") + "?" + urlencode({"page": 1, "items_per_page": GROUPS_PER_PAGE})
        seen_urls: set[str] = set()
        seen_ids: set[str] = set()
        stated_total = 0
        while url:
            seen_urls.add(url)
            page = self._get_json(url)
            if not isinstance(page, dict):
                raise MalformedResponse("Freshchat's list of groups was not the expected object.")
            groups = _group_items(page, self._detail(page))
            stated_total = max(stated_total, _total_items(page) or 0)
            for group in groups:
                group_id = str(group["id"]).strip()
                if group_id not in seen_ids:
                    seen_ids.add(group_id)
                    yield group
            next_url = self._next_page_url(page)
            if next_url is None:
                break
            if not groups:
                raise MalformedResponse(
                    "Freshchat sent an empty page of groups that still links to a next page; "
                    "the listing is incomplete, so queues were left as they were. "
                    "The next sync asks again."
                )
            if next_url in seen_urls:
                raise MalformedResponse(
                    "Freshchat's list of groups pointed back to a page already read; "
                    "stopped to avoid an endless loop."
                )
            url = next_url
        if len(seen_ids) < stated_total:
            raise MalformedResponse(
                f"Freshchat said it has {stated_total} groups but listed only {len(seen_ids)}; "
                "the listing is incomplete (groups may have changed while it was read), so "
                "queues were left as they were. The next sync asks again."
            )

    def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        """One conversation; used to learn the group of a chat resolved without one."""
        url = self._url("/conversations/" + quote(str(conversation_id), safe=""))
        body = self._get_json(url)
        if not isinstance(body, dict):
            raise MalformedResponse("Freshchat's conversation was not the expected object.")
        return body

    def _next_page_url(self, page: dict[str, Any]) -> str | None:
        links = page.get("links")
        next_page = links.get("next_page") if isinstance(links, dict) else None
        href = next_page.get("href") if isinstance(next_page, dict) else None
        if not isinstance(href, str) or not href.strip():
            return None
        url = self._absolute(href)
        if _origin(url) != self._origin:
            raise MalformedResponse(
                "Freshchat's list pointed to another host; stopped rather than send the key there."
            )
        return url
