"""Why a chat counts where it does, in the reader's language.

``counting`` is pure and stores its reasons as fixed English sentences in each chat's row
(the key, so to speak); pages translate them here when they show them. A reason stored by
an older version and no longer known is shown as stored.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp.counting import (
    REASON_DELETED,
    REASON_GROUP,
    REASON_GROUP_GONE,
    REASON_NO_GROUP,
    REASON_SPAM,
)

WORDS = {
    REASON_GROUP: _l("group at its latest resolution"),
    REASON_SPAM: _l("marked as spam: group cannot be determined"),
    REASON_DELETED: _l("deleted: group cannot be determined"),
    REASON_NO_GROUP: _l("no group assigned when resolved"),
    REASON_GROUP_GONE: _l("its group no longer exists in Freshchat"),
}


def reason_words(reason: str) -> str:
    """The stored reason in the request's language."""
    words = WORDS.get(reason)
    return str(words) if words is not None else reason
