"""What an integration's settings may be: one set of checks for the form and the CLI.

The page (``webapp.forms.IntegrationForm``) and ``flask integrations add|edit`` ask these
functions, so both refuse the same input with the same sentence and warn the same way.
Each check raises ``InputRefused`` with the sentence to show, or returns the value to save.
The limits and choices are defined here (or where the data they bound lives) and nowhere
else.

Sentences are in the request's language on a page and English in the CLI (Flask-Babel
answers English outside a request): fixed ones are lazy strings, ones holding what was
typed are translated when raised, so a lazy string (rendered as safe HTML) never holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from webapp import integrations
from webapp.display_time import long_label, zone
from webapp.domains import DOMAIN_INPUT_MAX, DomainError, allowed_suffixes, normalise_domain
from webapp.i18n import current_language
from webapp.models import Integration
from webapp.names import name_problem
from webapp.overlaps import kept_for_domain, overlap_warning
from webapp.timezones import grouped_choices

NAME_MAX = integrations.NAME_MAX
SYNC_CHOICES = integrations.SYNC_CHOICES
SYNC_DEFAULT = 15
BACKFILL_MAX_DAYS = integrations.BACKFILL_MAX_DAYS
BACKFILL_DEFAULT = 30
KEY_MIN = 8
KEY_MAX = 4096
DOMAIN_MAX = DOMAIN_INPUT_MAX
ZONE_DEFAULT = "UTC"

NAME_MISSING = _l("Give the integration a name.")
NAME_TOO_LONG = _l("The name must be 1 to %(most)d characters.", most=NAME_MAX)
DOMAIN_MISSING = _l("Enter your Freshchat domain, for example example.freshchat.com.")
DOMAIN_FIXED = _l(
    "The domain cannot change: this integration's statistics belong to this Freshchat "
    "account. To import another account, add a new integration."
)
KEY_MISSING = _l("Paste the API key of an Account Administrator.")
KEY_SPACES = _l("The key contains spaces or line breaks: copy it again from Freshchat.")
KEY_SHAPE = _l("This does not look like a Freshchat API key.")


def days_hint() -> str:
    """What to type in the history field (no final stop: callers add one or a detail)."""
    return gettext(
        "Enter a whole number of days from 1 to %(most)d, e.g. 30", most=BACKFILL_MAX_DAYS
    )


class InputRefused(ValueError):
    """A value the integration cannot take; ``str()`` is the sentence to show."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))  # a lazy string, rendered in today's language


def _name_taken(name: str) -> str:
    cleaned = integrations.clean_name(name)
    return gettext(
        "An integration named “%(name)s” already exists (names ignore case).", name=cleaned
    )


def check_name(name: str, integration: Integration | None = None) -> str:
    """The cleaned name, unique among live and deleted integrations (names ignore case)."""
    cleaned = integrations.clean_name(name or "")
    if not cleaned:
        raise InputRefused(NAME_MISSING)
    if len(cleaned) > NAME_MAX:
        raise InputRefused(NAME_TOO_LONG)
    if problem := name_problem(cleaned):
        raise InputRefused(problem)
    exclude = integration.id if integration is not None else None
    if integrations.name_taken(cleaned, exclude_id=exclude):
        raise InputRefused(_name_taken(cleaned))
    return cleaned


@dataclass
class DomainVerdict:
    """The host to use, and notes to show without refusing it."""

    host: str
    warnings: list[str] = field(default_factory=list)


def check_domain(
    text: str, allowed_hosts: str, integration: Integration | None = None
) -> DomainVerdict:
    """The Freshchat host in what was typed or pasted. On edit it must stay the stored
    one; a new integration may not connect an account already connected, and is warned
    when a deleted integration kept statistics of the same account."""
    try:
        host = normalise_domain(text or "", allowed_suffixes(allowed_hosts))
    except DomainError as exc:
        raise InputRefused(str(exc)) from exc
    if integration is not None:
        # Shown read-only on Edit: another account's chats would mix with these.
        if host != integration.domain:
            raise InputRefused(DOMAIN_FIXED)
        return DomainVerdict(host)
    twin = integrations.connected_to(host)
    if twin is not None:
        raise InputRefused(
            gettext(
                "%(domain)s is already connected as “%(name)s”: a second integration of "
                "the same account would count its chats twice.",
                domain=host,
                name=twin.name,
            )
        )
    kept = kept_for_domain(host)
    return DomainVerdict(host, [overlap_warning(host, kept)] if kept else [])


def check_api_key(value: str | None, integration: Integration | None = None) -> str | None:
    """The key to store, or None on edit when it was left blank (keep the stored one)."""
    key = (value or "").strip()
    if not key:
        if integration is None:
            raise InputRefused(KEY_MISSING)
        return None
    if any(ch.isspace() for ch in key):
        raise InputRefused(KEY_SPACES)
    if not KEY_MIN <= len(key) <= KEY_MAX:
        raise InputRefused(KEY_SHAPE)
    return key


def history_locked(integration: Integration | None) -> bool:
    """After the first sync the history to import is settled (the setting is read once)."""
    return integration is not None and integration.counted_from is not None


def history_lock_note(integration: Integration) -> str:
    """Why the history cannot change any more, for the field's description."""
    since = long_label(
        integration.counted_from, zone(integration.display_timezone), locale=current_language()
    )
    return gettext(
        "Fixed by the first sync, which imported the history from %(since)s; "
        "changing it now would import nothing.",
        since=since,
    )


def check_backfill_days(days: int | None, integration: Integration | None = None) -> int:
    if days is None or not 1 <= days <= BACKFILL_MAX_DAYS:
        raise InputRefused(days_hint() + ".")
    if history_locked(integration) and days != integration.backfill_days:  # type: ignore[union-attr]
        raise InputRefused(
            gettext(
                "The history was imported by the first sync; it stays %(days)d days.",
                days=integration.backfill_days,  # type: ignore[union-attr]
            )
        )
    return days


def zone_names(current: str | None = None) -> set[str]:
    """The zones offered (canonical names, plus the integration's own if it is an alias)."""
    return {value for items in grouped_choices(current).values() for value, _label in items}


def check_zone(name: str | None, integration: Integration | None = None) -> str:
    current = integration.display_timezone if integration is not None else None
    if not name or name not in zone_names(current):
        shown = (name or "")[:60]
        raise InputRefused(
            gettext(
                "“%(zone)s” is an unknown time zone; choose one such as Europe/Berlin or UTC.",
                zone=shown,
            )
        )
    return name
