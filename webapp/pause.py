"""What pausing an integration stops: decided here, and only here.

A paused integration is frozen: **no sync of any kind** runs (scheduled, **Sync now**,
``flask sync``, a re-import), and pushed events (companion app, webhooks) are accepted and
stored but **not applied**, so its statistics do not move. Resuming lets the scheduler sync
it again and apply the stored events within a minute. Deleting is another matter
(``Integration.is_deleted``), not decided here.

Every caller asks these functions and shows these words, so the pages, the CLI, the push
API and the scheduler agree. The words are lazy strings: in the admin's language on a page,
English in the CLI; the push API's note stays English like the rest of the API.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from peewee import Expression

from webapp.models import Integration

SYNC_REFUSED = _l("This integration is paused: resume it to sync.")
REIMPORT_REFUSED = _l("This integration is paused: resume it to re-import.")
PUSH_NOTE = "integration paused: events are kept and applied when it is resumed"
STATUS_DETAIL = _l("No syncs until resumed; pushed events are kept and applied then.")
PAUSED_DONE = _l("Paused: no syncs, and pushed events are kept unapplied, until you resume.")
RESUMED_DONE = _l(
    "Resumed: the next sync imports everything since the last one, and events kept "
    "meanwhile are applied within a minute."
)


def may_sync(integration: Integration) -> bool:
    """Whether any sync (scheduled, manual, CLI, re-import) may run now."""
    return not integration.paused


def applies_pushed(integration: Integration) -> bool:
    """Whether pushed events are applied as they arrive, or only kept until resumed."""
    return not integration.paused


def running() -> Expression:
    """The query condition for integrations that are not paused (syncing and applying)."""
    return Integration.paused == False  # noqa: E712


def stopped() -> Expression:
    """The query condition for paused integrations."""
    return Integration.paused == True  # noqa: E712
