"""The one record both data paths translate into.

Parsers (Extract CSV rows, pushed events) only say *what Freshchat told us* about a chat at a
given time; they never decide how it counts. Keeping this record small and plain is what lets
pull and push feed the same state and agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

# Sentinel meaning "this change says nothing about the group" (as opposed to group_id=None,
# which means "Freshchat says the chat has no group at this time").
NO_GROUP_INFO = "\x00no-group-info"


class ChatChange(NamedTuple):
    """One observation about one Freshchat conversation, at Freshchat's time ``at`` (UTC).

    Every field except ``conversation_id`` and ``at`` is optional; ``None`` means "not said".
    A named tuple rather than a frozen dataclass: as immutable, and built several times
    cheaper (a pull window builds one per CSV row, bench/bench_floor.py).
    """

    conversation_id: str
    at: datetime
    created_time: datetime | None = None
    resolved_time: datetime | None = None
    status: str | None = None
    group_id: str | None = NO_GROUP_INFO
    spam: bool = False
    deleted: bool = False
    # When the group observation holds, if earlier than ``at``: a pushed resolution is
    # stamped after Freshchat's ``resolved_time``, but its group is the one at that time.
    group_time: datetime | None = None
    # True when ``at`` says nothing of when the chat arrived: a pull row of another event
    # than Conversation-Created (the Created export is where arrivals come from, so a chat
    # seen only through its resolution was created before the imported history).
    arrival_unknown: bool = False

    @property
    def group_observed_at(self) -> datetime:
        """The time the group information (if any) describes."""
        return self.group_time or self.at

    @property
    def says_group(self) -> bool:
        """True when the change carries group information (possibly "no group")."""
        return self.group_id != NO_GROUP_INFO
