"""Pushed events must come from the integration's own Freshchat account.

A companion-app key installed in a second account (or leaked to one) would otherwise
count that account's chats here. Two fields of the envelope say whose it is:

* ``domain`` is compared with the integration's domain as hosts (scheme, path, port,
  case and a trailing dot ignored). Freshchat serves one account under several hosts (a
  suite account's ``<org>.myfreshworks.com`` beside ``<org>.freshchat.com``), and
  FRESHCHAT_API.md does not say which one an envelope names, so two Freshchat hosts with
  the same first label are the same account.
* ``account_id`` is not known when the integration is added: the first accepted event
  that carries one pins it (``Integration.push_account_id``); later events naming another
  are refused. A batch whose events name two accounts is refused before anything is
  pinned.

Envelopes without these fields pass: the fields are Freshchat's, not ours to demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from webapp.models import Integration
from webapp.push_body import BatchRefused, IncomingEvent, Problem

FRESHCHAT_SUFFIXES = (".freshchat.com", ".myfreshworks.com", ".freshworks.com")


def _host(value: object) -> str:
    text = str(value).strip()
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    except ValueError:
        return text.lower()
    return host.rstrip(".").lower()


def same_account_host(sent: str, ours: str) -> bool:
    """Whether an envelope's domain names the integration's account (see docstring)."""
    sent_host, our_host = _host(sent), _host(ours)
    if sent_host == our_host:
        return True
    freshchat = all(h.endswith(FRESHCHAT_SUFFIXES) for h in (sent_host, our_host))
    return freshchat and sent_host.split(".")[0] == our_host.split(".")[0]


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def foreign_events(integration: Integration, events: Sequence[IncomingEvent]) -> list[Problem]:
    """Why events of this batch belong to another account; [] when none do."""
    problems: list[Problem] = []
    pinned = integration.push_account_id
    seen: dict[str, int] = {}
    for index, event in enumerate(events):
        domain = _text(event.envelope.get("domain"))
        if domain is not None and not same_account_host(domain, integration.domain):
            problems.append(
                Problem(index, "domain", f"{_host(domain)} is not this integration's account")
            )
        account_id = _text(event.envelope.get("account_id"))
        if account_id is None:
            continue
        if pinned is not None and account_id != pinned:
            problems.append(
                Problem(index, "account_id", "another Freshchat account than earlier events")
            )
        seen.setdefault(account_id, index)
    if pinned is None and len(seen) > 1:
        problems.extend(
            Problem(index, "account_id", "the batch names several Freshchat accounts")
            for index in sorted(seen.values())[1:]
        )
    return problems


def check_account(integration: Integration, events: Sequence[IncomingEvent]) -> None:
    """Raise ``BatchRefused`` (400) when events of the batch belong to another account."""
    problems = foreign_events(integration, events)
    if problems:
        raise BatchRefused(
            400,
            "events from another Freshchat account than this integration's; nothing was stored",
            problems,
            short="another account",
        )


def pin_account(integration: Integration, events: Sequence[IncomingEvent]) -> None:
    """Remember the account the first accepted events came from (once)."""
    if integration.push_account_id is not None:
        return
    for event in events:
        account_id = _text(event.envelope.get("account_id"))
        if account_id is not None:
            Integration.update(push_account_id=account_id[:64]).where(
                (Integration.id == integration.id) & Integration.push_account_id.is_null()
            ).execute()
            integration.push_account_id = account_id[:64]
            return
