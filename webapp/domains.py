"""Normalising what an admin pastes as "Freshchat domain" into a bare host."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import gettext as _

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Room for a pasted address-bar URL; a host itself is at most 253 characters.
DOMAIN_INPUT_MAX = 500
SHOWN_MAX = 60


class DomainError(ValueError):
    """A domain we refuse, with a message that shows the expected form."""


def allowed_suffixes(setting: str) -> list[str]:
    """Parse FRESHCHAT_ALLOWED_HOSTS: comma-separated hosts or ``.suffix`` entries."""
    return [s.strip().lower() for s in setting.split(",") if s.strip()]


def _is_allowed(host: str, suffixes: list[str]) -> bool:
    for suffix in suffixes:
        if suffix.startswith("."):
            if host.endswith(suffix) and len(host) > len(suffix):
                return True
        elif host == suffix:
            return True
    return False


def _clip(text: str) -> str:
    """Echo at most SHOWN_MAX characters of what was typed, so a message stays readable."""
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 1] + "…"


def normalise_domain(text: str, suffixes: list[str]) -> str:
    """``https://Example.freshchat.com/a/123/inbox`` → ``example.freshchat.com``.

    Admins paste whatever is in their address bar; we keep only the host, and refuse
    anything that is not one of the allowed Freshchat hosts so the API key is never sent
    to a stranger.
    """
    value = (text or "").strip()
    example = "example.freshchat.com"
    if not value:
        raise DomainError(
            _("Enter your Freshchat domain, for example %(example)s.", example=example)
        )
    if len(value) > DOMAIN_INPUT_MAX:
        raise DomainError(
            _(
                "That is too long for a domain. Expected a host such as %(example)s.",
                example=example,
            )
        )
    shown = _clip(value)
    if any(ch.isspace() for ch in value):
        raise DomainError(
            _("A domain has no spaces. Expected a host such as %(example)s.", example=example)
        )
    candidate = value if "://" in value else f"//{value}"
    try:
        parts = urlsplit(candidate)
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port
    except ValueError as exc:
        raise DomainError(_not_a_domain(shown, example)) from exc
    if parts.scheme not in ("", "http", "https") or port not in (None, 443):
        raise DomainError(_("Enter only the domain, such as %(example)s.", example=example))
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise DomainError(_not_a_domain(shown, example))
    if any(suffix.lstrip(".") == host for suffix in suffixes):
        raise DomainError(
            _(
                "“%(host)s” lacks your account's subdomain: enter the full domain, "
                "e.g. %(example)s.",
                host=_clip(host),
                example=example,
            )
        )
    if not _is_allowed(host, suffixes):
        shown = ", ".join(f"*{s}" if s.startswith(".") else s for s in suffixes)
        raise DomainError(
            _(
                "“%(host)s” is not a Freshchat domain. Expected a host such as %(example)s "
                "(allowed: %(allowed)s).",
                host=_clip(host),
                example=example,
                allowed=shown,
            )
        )
    return host


def _not_a_domain(shown: str, example: str) -> str:
    return _(
        "“%(shown)s” is not a domain. Expected a host such as %(example)s.",
        shown=shown,
        example=example,
    )
