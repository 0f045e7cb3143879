"""A simulated Freshchat account and API, for the demo, the tests and the benchmarks.

No machine that runs this project can reach Freshchat, so everything that speaks Freshchat is
built and tested against this simulator. It serves exactly the shapes documented in
``docs/FRESHCHAT_API.md`` (configuration, groups, conversations, Extract jobs and their zip
downloads, companion-app envelopes) and nothing more, so a real account can correct it in
one place.

Two properties drive the design:

* **Determinism without storage.** Chats are generated per local day from a
  ``random.Random`` seeded by (seed, day), so any window can be produced on demand and a
  million chats never sit in memory at once. Conversation ids encode their day and index, so
  ``GET /conversations/<id>`` finds a chat without an index.
* **Time is a parameter.** An event exists only once its time is ``<= clock()``. With a
  fixed clock the history is frozen (tests); with the real clock new chats keep arriving
  (the demo's "live mode").

Internally times are integer epoch milliseconds (cheap to compare and format); the public
surface speaks naive UTC ``datetime`` like the rest of the app (``webapp.timeutil``).

This module imports neither Flask nor anything from ``webapp`` except ``webapp.timeutil``:
the simulator must stay a stand-in for an external service, not a part of the app.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import random
import secrets
import threading
import time
import uuid
import zipfile
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from webapp.freshchat.sim_dialects import CLASSIC, DIALECTS, Sink, job_links, real_file
from webapp.timeutil import floor_interval, to_naive_utc, utcnow

__all__ = [
    "CSV_COLUMNS",
    "EXTRACT_EVENTS",
    "SIMULATED_EVENTS",
    "UNDEFINED_QUEUE",
    "FaultInjector",
    "FreshchatSimulator",
    "SimAccount",
    "SimChat",
    "SimEvent",
    "SimGroup",
    "SimServer",
    "serve_in_thread",
]

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

UNDEFINED_QUEUE = "Undefined_Queue"

# Event kinds of the ground truth.
CREATED = "created"
ASSIGNED = "assigned"  # moved to another group (a transfer)
RESOLVED = "resolved"
REOPENED = "reopened"
SPAM = "spam"
DELETED = "deleted"
_ENDINGS = frozenset({RESOLVED, SPAM, DELETED})

# The CSV columns of every simulated Extract file. The real columns are not published
# (FRESHCHAT_API.md); these are the names third-party parsers look for.
CSV_COLUMNS = (
    "conversation_id",
    "created_time",
    "resolved_time",
    "event_time",
    "group_id",
    "group_name",
    "agent_id",
    "channel_id",
    "status",
    "is_spam",
    "is_deleted",
)

# Every event name Freshchat documents for Extract jobs; the simulator produces rows for the
# three the app uses and header-only files for the others.
EXTRACT_EVENTS = frozenset(
    {
        "Conversation-Created",
        "Conversation-Agent-Assigned",
        "Conversation-Group-Assigned",
        "Message-Sent",
        "First-Response-Time",
        "Response-Time",
        "Resolution-Time",
        "Conversation-Resolution-Label",
        "Conversation-Resolved",
        "Agent-Activity",
        "Agent-Intelliassign-Activity",
        "CSAT-Score",
        "Chat-Transcript",
    }
)
SIMULATED_EVENTS = ("Conversation-Created", "Conversation-Group-Assigned", "Conversation-Resolved")

_MINUTE = 60_000
_HOUR = 3_600_000
_DAY = 86_400_000
# No simulated chat has an event later than this after its creation. Windows over event
# times look back this far, so keep it tight: it is paid on every report file.
MAX_LIFETIME_MS = 4 * _DAY
MAX_EXTRACT_WINDOW = timedelta(days=28)
_MAX_CHATS_PER_DAY = (1 << 24) - 1  # the index must fit the 24 bits kept in the id

_EPOCH = datetime(1970, 1, 1)
_ONE_MS = timedelta(milliseconds=1)

# Arrival curve by local hour: quiet nights, busy 08:00-20:00, two humps.
_HOURLY_WEIGHTS = (
    0.15, 0.10, 0.08, 0.08, 0.10, 0.15, 0.30, 0.60,
    1.00, 1.20, 1.30, 1.25, 1.10, 1.15, 1.25, 1.20,
    1.10, 1.00, 0.95, 0.90, 0.60, 0.45, 0.30, 0.20,
)  # fmt: skip
_CUM_HOURLY = tuple(sum(_HOURLY_WEIGHTS[: i + 1]) for i in range(24))
_CUM_BEFORE = (0.0, *_CUM_HOURLY[:-1])
_MS_PER_WEIGHT = tuple(_HOUR / weight for weight in _HOURLY_WEIGHTS)
_HOURS = tuple(range(24))
WEEKEND_FACTOR = 0.4

# Lifecycle probabilities (per chat, approximate shares of all chats).
_P_NO_GROUP = 0.04
_P_LEGACY = 0.01
_P_TRANSFER = 0.105  # of chats with a live group (~95%) -> ~10% of all chats
_P_NEXT_DAY = 0.10
_P_REOPEN = 0.08
_P_REOPEN_MOVES = 0.30
# "fate" thresholds, cumulative: spam instead of resolution, deletion instead of
# resolution, spam after resolution, deletion after resolution.
_F_SPAM_OPEN = 0.010
_F_DELETED_OPEN = 0.015
_F_SPAM_AFTER = 0.025
_F_DELETED_AFTER = 0.030

_LIVE_GROUPS = (
    ("Customer Support", "First line: questions from the website and the app", "INTELLIASSIGN"),
    ("Billing", "Invoices, refunds and payment methods", "ROUND_ROBIN"),
    ("Sales", "Pre-sales questions and demos", "INTELLIASSIGN"),
)
_LEGACY_GROUP = ("Legacy Escalations", "Former escalation desk (deleted)", "DISABLED")

# "YYYY-MM-DDTHH:MM:" by epoch minute; bounded, cleared when full.
_MINUTE_PREFIX: dict[int, str] = {}


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _to_ms(value: datetime) -> int:
    """Naive-UTC datetime -> epoch milliseconds (floor)."""
    return (to_naive_utc(value) - _EPOCH) // _ONE_MS


def _from_ms(ms: int) -> datetime:
    """Epoch milliseconds -> naive-UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


def _iso_ms(ms: int) -> str:
    """Epoch ms -> ``2026-11-02T09:03:12.345Z``, fast: rows are formatted by the million."""
    minute, rem = divmod(ms, _MINUTE)
    prefix = _MINUTE_PREFIX.get(minute)
    if prefix is None:
        if len(_MINUTE_PREFIX) >= 50_000:
            _MINUTE_PREFIX.clear()
        prefix = (_EPOCH + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")
        _MINUTE_PREFIX[minute] = prefix
    second, milli = divmod(rem, 1000)
    return f"{prefix}{second:02d}.{milli:03d}Z"


def _uuid_from(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimGroup:
    """A Freshchat group. ``deleted`` groups are absent from ``GET /groups``."""

    id: str
    name: str
    description: str
    routing_type: str
    deleted: bool = False

    def as_json(self) -> dict[str, str]:
        """The object ``GET /groups`` lists."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "routing_type": self.routing_type,
        }


class SimEvent(NamedTuple):
    """One ground-truth event, readable form (the chat keeps raw tuples for speed)."""

    at: datetime
    kind: str
    group_id: str | None
    agent_id: str | None


# Raw event: (epoch ms, kind, group id or None, agent id or None). For CREATED/ASSIGNED the
# group is the chat's new group; for RESOLVED/REOPENED the group it is in; None for
# SPAM/DELETED (the group cannot be determined then).
RawEvent = tuple[int, str, str | None, str | None]


class SimChat:
    """The whole life of one conversation, including events still in the future.

    Plain ``__slots__`` and tuples keep a day of 33k chats cheap to build and to cache.
    """

    __slots__ = ("channel_id", "conversation_id", "created_ms", "events", "last_ms")

    def __init__(
        self, conversation_id: str, created_ms: int, channel_id: str, events: tuple[RawEvent, ...]
    ) -> None:
        self.conversation_id = conversation_id
        self.created_ms = created_ms
        self.channel_id = channel_id
        self.events = events
        self.last_ms = events[-1][0]

    def __repr__(self) -> str:
        kinds = ",".join(event[1] for event in self.events)
        return f"SimChat({self.conversation_id}, {_iso_ms(self.created_ms)}, {kinds})"

    @property
    def created_time(self) -> datetime:
        """Creation time (the customer's arrival), naive UTC."""
        return _from_ms(self.created_ms)

    def timeline(self, until: datetime | None = None) -> list[SimEvent]:
        """Events in time order, optionally only those that exist at ``until``."""
        limit = None if until is None else _to_ms(until)
        return [
            SimEvent(_from_ms(ms), kind, group, agent)
            for ms, kind, group, agent in self.events
            if limit is None or ms <= limit
        ]


class _Day:
    """The chats of one local day, sorted by creation. Weak-referencable for tests."""

    __slots__ = ("__weakref__", "chats", "created", "day", "span_end", "span_start")

    def __init__(self, day: date, span_start: int, span_end: int, chats: list[SimChat]) -> None:
        self.day = day
        self.span_start = span_start
        self.span_end = span_end
        self.chats = chats
        self.created = [chat.created_ms for chat in chats]


@dataclass(slots=True)
class _ConversationState:
    """A chat folded up to some instant: what ``GET /conversations`` and pushes show."""

    status: str = "new"
    group_id: str | None = None
    agent_id: str | None = None
    resolved_ms: int | None = None
    reopened_ms: int | None = None
    updated_ms: int = 0
    deleted: bool = False


def _apply(state: _ConversationState, event: RawEvent) -> str:
    """Fold one event into ``state``; return the status before it."""
    ms, kind, group, agent = event
    before = state.status
    state.updated_ms = ms
    if kind in (CREATED, ASSIGNED):
        state.group_id = group
    elif kind == RESOLVED:
        state.status, state.resolved_ms, state.agent_id = "resolved", ms, agent
    elif kind == REOPENED:
        state.status, state.reopened_ms = "new", ms
    elif kind == SPAM:
        state.status = "spam"
    elif kind == DELETED:
        state.status, state.deleted = "deleted", True
    return before


class SimAccount:
    """One simulated Freshchat account: deterministic chats and the contacts they make.

    ``chats_per_day`` is the average over a week; weekdays get more and weekend days
    ``WEEKEND_FACTOR`` as much. ``history_days`` local days before the clock's date at
    construction hold chats; earlier days are empty, later days fill as the clock moves.
    """

    def __init__(
        self,
        domain: str = "demo.freshchat.com",
        *,
        seed: int = 1,
        chats_per_day: int = 300,
        timezone: str = "Europe/Berlin",
        history_days: int = 45,
        clock: Callable[[], datetime] = utcnow,
        admin_key: str = "demo-admin-key",
        agent_key: str = "demo-agent-key",
        no_api_plan_key: str = "demo-basic-plan-key",
        cache_days: int = 8,
    ) -> None:
        if chats_per_day < 0:
            raise ValueError("chats_per_day must not be negative")
        self.domain = domain.strip().lower()
        self.seed = seed
        self.chats_per_day = chats_per_day
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.history_days = history_days
        self.clock = clock
        self.admin_key = admin_key
        self.agent_key = agent_key
        self.no_api_plan_key = no_api_plan_key
        self.cache_days = max(1, cache_days)
        self._weekday_volume = chats_per_day * 7 / (5 + 2 * WEEKEND_FACTOR)

        rng = random.Random(f"freshchat-sim:{seed}:fixtures")
        self.account_id = _uuid_from(rng)
        self.app_id = _uuid_from(rng)
        groups = [SimGroup(_uuid_from(rng), *spec) for spec in _LIVE_GROUPS]
        legacy = SimGroup(_uuid_from(rng), *_LEGACY_GROUP, deleted=True)
        self.groups: tuple[SimGroup, ...] = (*groups, legacy)
        self.live_groups: tuple[SimGroup, ...] = tuple(groups)
        self.legacy_group = legacy
        self.groups_by_id = {group.id: group for group in self.groups}
        # Routing of generated chats is fixed at construction: renaming or deleting a group
        # later changes what Freshchat lists, never which chats exist (determinism).
        self._routing_ids = tuple(group.id for group in groups)
        self.agent_ids = tuple(_uuid_from(rng) for _ in range(8))
        self.channel_ids = (_uuid_from(rng), _uuid_from(rng))

        self.history_start = self.local_date(self.now()) - timedelta(days=history_days)
        self._cache: OrderedDict[date, _Day] = OrderedDict()
        self._cache_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SimAccount({self.domain!r}, seed={self.seed}, chats_per_day={self.chats_per_day})"

    # ---- groups -----------------------------------------------------------------------

    def rename_group(self, group_id: str, name: str) -> SimGroup:
        """Rename a group, as an admin can in Freshchat; past chats keep their group id."""
        return self._replace_group(group_id, name=name)

    def delete_group(self, group_id: str) -> SimGroup:
        """Delete a group: ``GET /groups`` stops listing it, its chats keep its id."""
        return self._replace_group(group_id, deleted=True)

    def _replace_group(self, group_id: str, **changes: Any) -> SimGroup:
        old = self.groups_by_id.get(group_id)
        if old is None:
            raise KeyError(f"no group {group_id!r} in {self.domain}")
        new = replace(old, **changes)
        groups = tuple(new if group.id == group_id else group for group in self.groups)
        # Rebind whole objects (never mutate in place): server threads read them unlocked.
        self.groups_by_id = {group.id: group for group in groups}
        self.live_groups = tuple(group for group in groups if not group.deleted)
        self.groups = groups
        return new

    # ---- time -------------------------------------------------------------------------

    def now(self) -> datetime:
        """The account's clock, naive UTC."""
        return to_naive_utc(self.clock())

    def now_ms(self) -> int:
        """The account's clock in epoch ms: events at or before it exist."""
        return _to_ms(self.now())

    def local_date(self, when: datetime) -> date:
        """The account's local calendar date at a naive-UTC instant."""
        return to_naive_utc(when).replace(tzinfo=UTC).astimezone(self.tz).date()

    def _span(self, day: date) -> tuple[int, int]:
        """[start, end) in epoch ms of a local day. Consecutive days tile exactly."""
        return self._local_midnight_ms(day), self._local_midnight_ms(day + timedelta(days=1))

    def _local_midnight_ms(self, day: date) -> int:
        midnight = datetime(day.year, day.month, day.day)
        offset = self.tz.utcoffset(midnight) or timedelta(0)
        return _to_ms(midnight - offset)

    def _days_for(self, start_ms: int, end_ms: int) -> Iterator[date]:
        """Local days whose span intersects [start_ms, end_ms), oldest first."""
        if end_ms <= start_ms:
            return
        day = self.local_date(_from_ms(start_ms))
        while self._span(day)[0] > start_ms:
            day -= timedelta(days=1)
        while self._span(day)[1] <= start_ms:
            day += timedelta(days=1)
        while self._span(day)[0] < end_ms:
            yield day
            day += timedelta(days=1)

    # ---- generation -------------------------------------------------------------------

    def _day(self, day: date) -> _Day:
        """A day's chats, from a small LRU: the three reports read the same days."""
        with self._cache_lock:
            cached = self._cache.get(day)
            if cached is not None:
                self._cache.move_to_end(day)
                return cached
        generated = self._generate_day(day)
        with self._cache_lock:
            self._cache[day] = generated
            self._cache.move_to_end(day)
            while len(self._cache) > self.cache_days:
                self._cache.popitem(last=False)
        return generated

    def _generate_day(self, day: date) -> _Day:
        """Build one local day's chats from an RNG seeded by (seed, day) only."""
        span_start, span_end = self._span(day)
        if day < self.history_start:
            return _Day(day, span_start, span_end, [])
        rng = random.Random(f"freshchat-sim:{self.seed}:{day.isoformat()}")
        rnd = rng.random
        factor = WEEKEND_FACTOR if day.weekday() >= 5 else 1.0
        count = round(self._weekday_volume * factor * (0.95 + 0.1 * rnd()))
        count = min(count, _MAX_CHATS_PER_DAY)

        # Local wall-clock hour -> UTC: one offset per hour, taken once per day.
        base = _to_ms(datetime(day.year, day.month, day.day))
        offsets = [
            (self.tz.utcoffset(datetime(day.year, day.month, day.day, hour)) or timedelta(0))
            // _ONE_MS
            for hour in _HOURS
        ]
        # Inverse CDF of the piecewise-constant hourly curve: one draw gives the hour (by
        # bisection) and the position inside it.
        hour_base = [base + hour * _HOUR - offsets[hour] for hour in _HOURS]
        draws = [rnd() * _CUM_HOURLY[-1] for _ in range(count)]
        times = sorted(
            [
                hour_base[hour] + int((u - _CUM_BEFORE[hour]) * _MS_PER_WEIGHT[hour])
                for u, hour in zip(
                    draws, [bisect_right(_CUM_HOURLY, u) for u in draws], strict=True
                )
            ]
        )
        del draws
        # DST days: keep every arrival inside the day's UTC span, so days tile exactly.
        for position in range(len(times)):
            if times[position] >= span_start:
                break
            times[position] = span_start
        for position in range(len(times) - 1, -1, -1):
            if times[position] < span_end:
                break
            times[position] = span_end - 1

        support, billing, sales = self._routing_ids
        others = {support: (billing, sales), billing: (support, sales), sales: (support, billing)}
        legacy = self.legacy_group.id
        agents = self.agent_ids
        n_agents = len(agents)
        channels = self.channel_ids
        getrandbits = rng.getrandbits
        ordinal_bits = day.toordinal() << 24
        chats: list[SimChat] = []
        append = chats.append

        for index, t0 in enumerate(times):
            # An id that looks like a v4 uuid and hides (day, index) under a mask taken
            # from its own first 48 bits, so GET /conversations/<id> needs no index.
            bits = getrandbits(64)
            text = f"{bits:016x}"
            node = (ordinal_bits | index) ^ (bits >> 16)
            conversation_id = (
                f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{0x8000 | (bits & 0x3FFF):04x}-{node:012x}"
            )
            u = rnd()
            if u < _P_NO_GROUP:
                group = None
            elif u < _P_NO_GROUP + _P_LEGACY:
                group = legacy
            else:
                v = (u - _P_NO_GROUP - _P_LEGACY) / (1 - _P_NO_GROUP - _P_LEGACY)
                group = support if v < 0.6 else billing if v < 0.85 else sales
            events: list[RawEvent] = [(t0, CREATED, group, None)]
            t = t0
            movable = group is not None and group != legacy
            if movable and rnd() < _P_TRANSFER:
                t += 2 * _MINUTE + int(rnd() * 28 * _MINUTE)
                group = others[group][rnd() < 0.5]
                events.append((t, ASSIGNED, group, None))
            agent = agents[int(rnd() * n_agents)]
            fate = rnd()
            if fate < _F_SPAM_OPEN:
                events.append((t + _MINUTE + int(rnd() * 29 * _MINUTE), SPAM, None, None))
            elif fate < _F_DELETED_OPEN:
                events.append((t + 10 * _MINUTE + int(rnd() * 20 * _HOUR), DELETED, None, None))
            else:
                if rnd() < _P_NEXT_DAY:
                    t += 14 * _HOUR + int(rnd() * 16 * _HOUR)
                else:
                    t += 5 * _MINUTE + int(rnd() * 85 * _MINUTE)
                events.append((t, RESOLVED, group, agent))
                if rnd() < _P_REOPEN:
                    t += 10 * _MINUTE + int(rnd() * 23 * _HOUR)
                    events.append((t, REOPENED, group, None))
                    if movable and rnd() < _P_REOPEN_MOVES:
                        t += _MINUTE + int(rnd() * 19 * _MINUTE)
                        group = others[group][rnd() < 0.5]
                        events.append((t, ASSIGNED, group, None))
                    t += 5 * _MINUTE + int(rnd() * 85 * _MINUTE)
                    events.append((t, RESOLVED, group, agents[int(rnd() * n_agents)]))
                if fate < _F_SPAM_AFTER:
                    events.append((t + 5 * _MINUTE + int(rnd() * 12 * _HOUR), SPAM, None, None))
                elif fate < _F_DELETED_AFTER:
                    events.append((t + _HOUR + int(rnd() * 23 * _HOUR), DELETED, None, None))
            append(SimChat(conversation_id, t0, channels[u < 0.3], tuple(events)))
        return _Day(day, span_start, span_end, chats)

    # ---- reading the ground truth -----------------------------------------------------

    def _chats_created(self, start_ms: int, end_ms: int) -> Iterator[SimChat]:
        for day in self._days_for(start_ms, end_ms):
            data = self._day(day)
            if start_ms <= data.span_start and data.span_end <= end_ms:
                yield from data.chats
                continue
            for chat in data.chats:
                if start_ms <= chat.created_ms < end_ms:
                    yield chat

    def iter_chats(
        self, start: datetime, end: datetime, *, include_future: bool = False
    ) -> Iterator[SimChat]:
        """Ground-truth chats created in [start, end), in creation order.

        Chats created after ``clock()`` do not exist yet and are left out unless
        ``include_future``; a yielded chat may still hold events after ``clock()``
        (use ``timeline(until=...)`` to see only what exists).
        """
        start_ms, end_ms = _to_ms(start), _to_ms(end)
        if not include_future:
            end_ms = min(end_ms, self.now_ms() + 1)
        yield from self._chats_created(start_ms, end_ms)

    def find_chat(self, conversation_id: str) -> SimChat | None:
        """The chat with this id (future ones included), decoded from the id itself."""
        text = conversation_id.strip().lower()
        if len(text) != 36:
            return None
        try:
            mask = int(text[0:8] + text[9:13], 16)
            node = int(text[24:36], 16) ^ mask
            day = date.fromordinal(node >> 24)
        except ValueError:
            return None
        index = node & 0xFFFFFF
        if day < self.history_start or day > self.local_date(self.now()) + timedelta(days=2):
            return None
        chats = self._day(day).chats
        if index < len(chats) and chats[index].conversation_id == text:
            return chats[index]
        return None

    def conversation_state(self, conversation_id: str) -> dict[str, Any] | None:
        """``GET /conversations/<id>`` as of ``clock()``; None when unknown or deleted."""
        chat = self.find_chat(conversation_id)
        now = self.now_ms()
        if chat is None or chat.created_ms > now:
            return None
        state = _ConversationState()
        for event in chat.events:
            if event[0] > now:
                break
            _apply(state, event)
        if state.deleted:
            return None
        day_index = int(chat.conversation_id[24:36], 16) ^ int(
            chat.conversation_id[0:8] + chat.conversation_id[9:13], 16
        )
        body: dict[str, Any] = {
            "conversation_id": chat.conversation_id,
            "conversation_internal_id": day_index,
            "status": state.status,
            "channel_id": chat.channel_id,
        }
        if state.group_id is not None:
            body["assigned_group_id"] = state.group_id
        if state.agent_id is not None:
            body["assigned_agent_id"] = state.agent_id
        body["created_time"] = _iso_ms(chat.created_ms)
        body["updated_time"] = _iso_ms(state.updated_ms)
        body["properties"] = {}
        return body

    # ---- the oracle -------------------------------------------------------------------

    def expected_contacts(self, start: datetime, end: datetime) -> dict[tuple[str, datetime], int]:
        """Contacts per (queue name, 15-minute UTC interval) for chats created in [start, end).

        The reference the app is tested against, written straight from PRODUCT.md "Data
        rules" over the ground truth (not from the app's counting code): a chat counts once
        it has ended (resolved, spam or deleted) by ``clock()``, in the interval of its
        creation; spam or deleted -> Undefined_Queue; else the group it was in at its
        latest resolution (read from the assignment history, not from the resolution
        event), Undefined_Queue when none or no longer listed by Freshchat.
        """
        now = self.now_ms()
        result: dict[tuple[str, datetime], int] = {}
        for chat in self.iter_chats(start, end):
            ended = False
            undefined = False
            latest_resolution: int | None = None
            for ms, kind, _group, _agent in chat.events:
                if ms > now:
                    break
                if kind in _ENDINGS:
                    ended = True
                if kind in (SPAM, DELETED):
                    undefined = True
                elif kind == RESOLVED:
                    latest_resolution = ms
            if not ended:
                continue
            queue = UNDEFINED_QUEUE
            if not undefined and latest_resolution is not None:
                group_id = None
                for ms, kind, group, _agent in chat.events:
                    if kind in (CREATED, ASSIGNED) and ms <= latest_resolution:
                        group_id = group
                group = self.groups_by_id.get(group_id) if group_id else None
                if group is not None and not group.deleted:
                    queue = group.name
            key = (queue, floor_interval(chat.created_time))
            result[key] = result.get(key, 0) + 1
        return result

    # ---- Extract rows -----------------------------------------------------------------

    def csv_rows(
        self, event: str, start: datetime, end: datetime, *, chunk: int = 5000
    ) -> Iterator[list[tuple[str, ...]]]:
        """Rows (``CSV_COLUMNS`` order) of an Extract file for [start, end), in chunks.

        Rows are for events whose time is in [start, end) and ``<= clock()``, evaluated
        now: a file downloaded later may hold more rows, as real exports do.
        """
        start_ms, end_ms = _to_ms(start), _to_ms(end)
        end_ms = min(end_ms, self.now_ms() + 1)
        if end_ms <= start_ms or event not in SIMULATED_EVENTS:
            return
        names = {group.id: group.name for group in self.groups}
        rows: list[tuple[str, ...]] = []
        if event == "Conversation-Created":
            for chat in self._chats_created(start_ms, end_ms):
                _t, _k, group, _a = chat.events[0]
                created = _iso_ms(chat.created_ms)
                rows.append(
                    (
                        chat.conversation_id, created, "", created,
                        group or "", names.get(group, "") if group else "", "",
                        chat.channel_id, "new", "false", "false",
                    )
                )  # fmt: skip
                if len(rows) >= chunk:
                    yield rows
                    rows = []
        else:
            assigned = event == "Conversation-Group-Assigned"
            for chat in self._chats_created(start_ms - MAX_LIFETIME_MS, end_ms):
                if chat.last_ms < start_ms:
                    continue
                state = _ConversationState()
                created = ""
                for raw in chat.events:
                    ms = raw[0]
                    if ms >= end_ms:
                        break
                    _apply(state, raw)
                    if ms < start_ms:
                        continue
                    kind = raw[1]
                    if not created:
                        created = _iso_ms(chat.created_ms)
                    if assigned:
                        if kind != ASSIGNED:
                            continue
                        group = raw[2]
                        row = (
                            chat.conversation_id, created, "", _iso_ms(ms), group or "",
                            names.get(group, "") if group else "", "", chat.channel_id,
                            state.status, "false", "false",
                        )  # fmt: skip
                    elif kind == RESOLVED:
                        when = _iso_ms(ms)
                        group = raw[2]
                        row = (
                            chat.conversation_id, created, when, when, group or "",
                            names.get(group, "") if group else "", raw[3] or "",
                            chat.channel_id, "resolved", "false", "false",
                        )  # fmt: skip
                    elif kind == SPAM:
                        row = (
                            chat.conversation_id, created, "", _iso_ms(ms), "", "", "",
                            chat.channel_id, "spam", "true", "false",
                        )  # fmt: skip
                    elif kind == DELETED:
                        row = (
                            chat.conversation_id, created, "", _iso_ms(ms), "", "", "",
                            chat.channel_id, "deleted", "false", "true",
                        )  # fmt: skip
                    else:
                        continue
                    rows.append(row)
                if len(rows) >= chunk:
                    yield rows
                    rows = []
        if rows:
            yield rows

    # ---- pushed envelopes -------------------------------------------------------------

    def push_envelopes(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Companion-app envelopes for events in [start, end) that exist at ``clock()``.

        Deletions are not pushed: no documented event says "deleted"; the app learns of
        them from a 404 on ``GET /conversations/<id>``.
        """
        start_ms, end_ms = _to_ms(start), _to_ms(end)
        end_ms = min(end_ms, self.now_ms() + 1)
        envelopes: list[tuple[int, int, dict[str, Any]]] = []
        if end_ms <= start_ms:
            return []
        sequence = 0
        for chat in self._chats_created(start_ms - MAX_LIFETIME_MS, end_ms):
            if chat.last_ms < start_ms:
                continue
            state = _ConversationState()
            for raw in chat.events:
                ms, kind, group, agent = raw
                if ms >= end_ms:
                    break
                before_group = state.group_id
                before_status = _apply(state, raw)
                if ms < start_ms or kind == DELETED:
                    continue
                if kind == CREATED:
                    name, changes = "onConversationCreate", None
                elif kind == ASSIGNED:
                    name = "onConversationUpdate"
                    changes = {"assigned_group_id": [before_group, group]}
                else:
                    name = "onConversationUpdate"
                    changes = {"status": [before_status, state.status]}
                envelope = self._envelope(chat, state, name, ms, changes, agent)
                envelopes.append((ms, sequence, envelope))
                sequence += 1
        envelopes.sort(key=lambda item: (item[0], item[1]))
        return [item[2] for item in envelopes]

    def _envelope(
        self,
        chat: SimChat,
        state: _ConversationState,
        name: str,
        ms: int,
        changes: dict[str, list[str | None]] | None,
        agent: str | None,
    ) -> dict[str, Any]:
        conversation: dict[str, Any] = {
            "conversation_id": chat.conversation_id,
            "status": state.status,
            "channel_id": chat.channel_id,
            "source": "web",
            "created_time": _iso_ms(chat.created_ms),
        }
        if state.group_id is not None:
            conversation["assigned_group_id"] = state.group_id
        if state.agent_id is not None:
            conversation["assigned_agent_id"] = state.agent_id
        if state.status == "resolved" and state.resolved_ms is not None:
            conversation["resolved_time"] = _iso_ms(state.resolved_ms)
        if state.reopened_ms is not None:
            conversation["reopened_time"] = _iso_ms(state.reopened_ms)
        data: dict[str, Any] = {"conversation": conversation}
        if state.group_id is not None:
            group = self.groups_by_id[state.group_id]
            data["associations"] = {"group": {"id": group.id, "name": group.name}}
        if name == "onConversationCreate":
            data["actor"] = {"actor_type": "user"}
        elif agent is not None:
            data["actor"] = {"actor_type": "agent", "actor_id": agent}
        else:
            data["actor"] = {"actor_type": "system"}
        if changes is not None:
            data["changes"] = {"model_changes": changes}
        return {
            "account_id": self.account_id,
            "domain": self.domain,
            "event": name,
            "region": "EU",
            "timestamp": ms,
            "version": "2.0",
            "data": data,
        }

    # ---- account configuration ------------------------------------------------------

    def configuration(self) -> dict[str, str]:
        """The body of ``GET /accounts/configuration``."""
        subdomain = self.domain.split(".", 1)[0]
        return {
            "account_id": self.account_id,
            "app_id": self.app_id,
            "plan_type": "pro",
            "bundle_type": "freshchat",
            "datacenter": "EUC",
            "account_domain": self.domain,
            "organisation_domain": f"{subdomain}.myfreshworks.com",
        }


# --------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------

FAULT_KINDS = frozenset(
    {
        "429",
        "500",
        "503",
        "slow",
        "malformed_json",
        "html",
        "malformed_csv",
        "malformed_zip",
        "expired_link",
    }
)
_DOWNLOAD_ONLY = frozenset({"malformed_csv", "malformed_zip", "expired_link"})


@dataclass(slots=True)
class Fault:
    """One armed fault; ``times`` None means "until cleared"."""

    kind: str
    times: int | None = 1
    path_contains: str | None = None
    retry_after: int = 2
    delay: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The form the control endpoint reports."""
        return {
            "kind": self.kind,
            "times": self.times,
            "path_contains": self.path_contains,
            "retry_after": self.retry_after,
            "delay": self.delay,
        }


@dataclass
class FaultInjector:
    """Armed faults, consumed first-in first-out by the requests they match.

    Faults apply before domain and key checks, like a gateway in front of Freshchat;
    ``malformed_csv``/``malformed_zip`` only match downloads.
    """

    faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inject(
        self,
        kind: str,
        *,
        times: int | None = 1,
        path_contains: str | None = None,
        retry_after: int = 2,
        delay: float = 0.0,
    ) -> Fault:
        """Arm a fault for the next ``times`` matching requests (None: until cleared)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for 'until cleared')")
        if retry_after < 0 or delay < 0:
            raise ValueError("retry_after and delay must not be negative")
        fault = Fault(kind, times, path_contains or None, int(retry_after), float(delay))
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self.faults.clear()

    def take(self, path: str) -> Fault | None:
        """The first fault matching ``path``, counted as used."""
        is_download = "/download/" in path
        with self._lock:
            for fault in self.faults:
                if fault.path_contains is not None and fault.path_contains not in path:
                    continue
                if fault.kind in _DOWNLOAD_ONLY and not is_download:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        """Armed faults as JSON-ready dicts."""
        with self._lock:
            return [fault.as_json() for fault in self.faults]


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------

_PORTAL_PAGE = (
    "<!DOCTYPE html><html><head><title>Freshchat</title></head><body>"
    "<h1>{title}</h1><p>{message}</p></body></html>"
)


@dataclass(slots=True)
class _File:
    domain: str
    event: str
    start_ms: int
    end_ms: int


@dataclass(slots=True)
class _Job:
    id: str
    domain: str
    event: str
    start_ms: int
    end_ms: int
    tokens: list[str]
    polls: int = 0


def _zip_stream(
    chunks: Iterable[list[tuple[str, ...]]], member: str, columns: tuple[str, ...]
) -> Iterator[bytes]:
    """Stream a zip holding one CSV, so a file of any size never sits in memory whole."""
    sink = Sink()
    drop_first = columns[0] != CSV_COLUMNS[0]
    with (
        zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open(member, "w", force_zip64=True) as out,
    ):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(columns)
        for rows in chunks:
            writer.writerows([row[1:] for row in rows] if drop_first else rows)
            out.write(text.getvalue().encode())
            text.seek(0)
            text.truncate()
            if sink.size >= 1 << 18:
                yield sink.take()
        out.write(text.getvalue().encode())
    yield sink.take()


class _RateWindow:
    """Per-account fixed one-minute window, only to fill the X-RateLimit headers."""

    LIMIT = 500

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def headers(self, domain: str) -> dict[str, str]:
        minute = int(time.time()) // 60
        with self._lock:
            window, used = self._windows.get(domain, (minute, 0))
            if window != minute:
                window, used = minute, 0
            used += 1
            self._windows[domain] = (window, used)
        return {
            "X-RateLimit-Limit": str(self.LIMIT),
            "X-RateLimit-Remaining": str(max(0, self.LIMIT - used)),
            "X-RateLimit-Reset": str((window + 1) * 60),
        }


class FreshchatSimulator:
    """A WSGI app serving simulated accounts at ``/sim/<domain>/v2/...``.

    Extract jobs turn ``PENDING`` -> ``COMPLETED`` after ``pending_polls`` polls, and their
    window is split in files of at most ``days_per_file`` days. Downloads are generated on
    demand from the account's ground truth and need no key (like presigned links).
    ``dialect`` chooses how files and job answers are written (``sim_dialects``); in the
    ``real`` one a CSV member holds at most ``rows_per_member`` rows.
    """

    def __init__(
        self,
        accounts: Iterable[SimAccount] = (),
        *,
        pending_polls: int = 1,
        days_per_file: int = 7,
        max_jobs: int = 10_000,
        dialect: str = CLASSIC,
        rows_per_member: int = 50_000,
    ) -> None:
        if days_per_file < 1:
            raise ValueError("days_per_file must be at least 1")
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
        self.dialect = dialect
        self.rows_per_member = max(1, rows_per_member)
        self.accounts: dict[str, SimAccount] = {}
        for account in accounts:
            self.add_account(account)
        self.pending_polls = max(0, pending_polls)
        self.days_per_file = days_per_file
        self.max_jobs = max_jobs
        self.faults = FaultInjector()
        self.request_log: list[tuple[str, str, int]] = []
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._files: dict[str, _File] = {}
        self._lock = threading.Lock()
        self._rate = _RateWindow()

    def add_account(self, account: SimAccount) -> SimAccount:
        """Serve ``account`` under its domain (replacing one with the same domain)."""
        self.accounts[account.domain] = account
        return account

    def requests_to(self, path_contains: str, method: str | None = None) -> int:
        """How many logged requests had a path containing ``path_contains``."""
        return sum(
            1
            for logged_method, path, _status in self.request_log
            if path_contains in path and (method is None or logged_method == method)
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """WSGI entry point."""
        request = Request(environ)
        response = self._dispatch(request)
        self.request_log.append((request.method, request.path, response.status_code))
        return response(environ, start_response)

    # ---- responses --------------------------------------------------------------------

    def _json(
        self,
        body: Any,
        status: int = 200,
        domain: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        response = Response(
            json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json"
        )
        response.headers.update(self._rate.headers(domain or "_"))
        if headers:
            response.headers.update(headers)
        return response

    def _error(self, domain: str | None, code: int, status: str, message: str) -> Response:
        return self._json({"code": code, "status": status, "message": message}, code, domain)

    @staticmethod
    def _html(title: str, message: str, status: int) -> Response:
        page = _PORTAL_PAGE.format(title=title, message=message)
        return Response(page, status=status, mimetype="text/html")

    # ---- dispatch ---------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path.rstrip("/") == "/sim/_control/faults":
            return self._control(request)
        fault = self.faults.take(path)
        if fault is not None:
            answer = self._fault_response(fault, path)
            if answer is not None:
                return answer
        parts = path.split("/")
        # ["", "sim", domain, "v2"|"download", ...]
        if len(parts) < 4 or parts[1] != "sim" or not parts[2]:
            return self._html("Page not found", "There is nothing here.", 404)
        domain = parts[2].lower()
        account = self.accounts.get(domain)
        if account is None:
            return self._html(
                "This Freshchat account does not exist",
                "Check the address or sign up for a new account.",
                404,
            )
        if parts[3] == "download" and len(parts) == 5:
            return self._download(domain, parts[4], fault)
        if parts[3] != "v2":
            return self._html("Page not found", "There is nothing here.", 404)
        denied = self._authenticate(request, account)
        if denied is not None:
            return denied
        return self._route(request, account, "/".join(parts[4:]))

    def _authenticate(self, request: Request, account: SimAccount) -> Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""

        def same(key: str) -> bool:
            return bool(token) and hmac.compare_digest(token.encode(), key.encode())

        domain = account.domain
        if same(account.admin_key):
            return None
        if same(account.agent_key):
            return self._error(
                domain,
                403,
                "ACCESS_DENIED",
                "Only an Account Administrator may use this API",
            )
        if same(account.no_api_plan_key):
            return self._error(
                domain, 403, "PLAN_NOT_SUPPORTED", "Your plan does not include API access"
            )
        return self._error(
            domain, 401, "UNAUTHORIZED", "The API token is missing, invalid or revoked"
        )

    def _route(self, request: Request, account: SimAccount, rest: str) -> Response:
        method = request.method
        domain = account.domain
        if rest == "accounts/configuration" and method == "GET":
            return self._json(account.configuration(), domain=domain)
        if rest == "groups" and method == "GET":
            return self._groups(request, account)
        if rest.startswith("conversations/") and rest.count("/") == 1 and method == "GET":
            body = account.conversation_state(rest.split("/", 1)[1])
            if body is None:
                return self._error(domain, 404, "CONVERSATION_NOT_FOUND", "Conversation not found")
            return self._json(body, domain=domain)
        if rest == "reports/raw" and method == "POST":
            return self._create_job(request, account)
        if rest.startswith("reports/raw/") and rest.count("/") == 2 and method == "GET":
            return self._poll_job(request, account, rest.rsplit("/", 1)[1])
        known = rest in ("accounts/configuration", "groups", "reports/raw") or rest.startswith(
            ("conversations/", "reports/raw/")
        )
        if known:
            return self._error(domain, 405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here")
        return self._error(domain, 404, "NOT_FOUND", f"No such resource: /{rest}")

    # ---- groups -----------------------------------------------------------------------

    def _groups(self, request: Request, account: SimAccount) -> Response:
        domain = account.domain
        try:
            page = int(request.args.get("page", "1"))
            per_page = int(request.args.get("items_per_page", "10"))
        except ValueError:
            return self._error(
                domain, 400, "BAD_REQUEST", "page and items_per_page must be integers"
            )
        if page < 1 or per_page < 1:
            return self._error(
                domain, 400, "BAD_REQUEST", "page and items_per_page must be positive"
            )
        per_page = min(per_page, 50)
        groups = account.live_groups
        total_pages = max(1, -(-len(groups) // per_page))
        chosen = groups[(page - 1) * per_page : page * per_page]
        links: dict[str, Any] = {}
        base = f"/sim/{domain}/v2/groups"
        if page < total_pages:
            links["next_page"] = {"href": f"{base}?page={page + 1}&items_per_page={per_page}"}
        if page > 1:
            previous = min(page - 1, total_pages)
            links["previous_page"] = {"href": f"{base}?page={previous}&items_per_page={per_page}"}
        body = {
            "groups": [group.as_json() for group in chosen],
            "pagination": {
                "total_items": len(groups),
                "total_pages": total_pages,
                "current_page": page,
                "items_per_page": per_page,
            },
            "links": links,
        }
        return self._json(body, domain=domain)

    # ---- Extract jobs -----------------------------------------------------------------

    def _create_job(self, request: Request, account: SimAccount) -> Response:
        domain = account.domain

        def bad(message: str) -> Response:
            return self._error(domain, 400, "BAD_REQUEST", message)

        payload = request.get_json(silent=True, force=True)
        if not isinstance(payload, dict):
            return bad("The body must be a JSON object with start, end, event and format")
        missing = [name for name in ("start", "end", "event") if not payload.get(name)]
        if missing:
            return bad(f"Missing field(s): {', '.join(missing)}")
        try:
            start = _parse_iso(payload["start"])
            end = _parse_iso(payload["end"])
        except ValueError as error:
            return bad(f"Invalid time: {error}")
        if end <= start:
            return bad("end must be after start")
        if end - start > MAX_EXTRACT_WINDOW:
            return bad("The window must not exceed 28 days")
        event = payload["event"]
        if not isinstance(event, str) or event not in EXTRACT_EVENTS:
            return bad(f"Unknown event {event!r}")
        report_format = payload.get("format", "csv")
        if report_format != "csv":
            return bad("format must be 'csv'")

        start_ms, end_ms = _to_ms(start), _to_ms(end)
        job_id = str(uuid.uuid4())
        tokens = []
        step = self.days_per_file * _DAY
        with self._lock:
            for file_start in range(start_ms, end_ms, step):
                token = secrets.token_urlsafe(18)
                self._files[token] = _File(
                    domain, event, file_start, min(end_ms, file_start + step)
                )
                tokens.append(token)
            self._jobs[job_id] = _Job(job_id, domain, event, start_ms, end_ms, tokens)
            while len(self._jobs) > self.max_jobs:
                _old_id, old = self._jobs.popitem(last=False)
                for token in old.tokens:
                    self._files.pop(token, None)
        body = {"id": job_id, "link": {"rel": "extracts", "href": f"/reports/raw/{job_id}"}}
        return self._json(body, domain=domain)

    def _poll_job(self, request: Request, account: SimAccount, job_id: str) -> Response:
        domain = account.domain
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.domain != domain:
                return self._error(domain, 404, "NOT_FOUND", "No such extract job")
            job.polls += 1
            polls = job.polls
        interval = f"{_iso_ms(job.start_ms)}/{_iso_ms(job.end_ms)}"
        if polls <= self.pending_polls:
            return self._json(
                {"id": job.id, "status": "PENDING", "interval": interval, "links": []},
                domain=domain,
            )
        host = request.host_url.rstrip("/")
        hrefs = []
        for token in job.tokens:
            spec = self._files[token]
            href = f"{host}/sim/{domain}/download/{token}"
            hrefs.append((href, _iso_ms(spec.start_ms), _iso_ms(spec.end_ms)))
        body = {"id": job.id, "status": "COMPLETED", "interval": interval}
        body.update(job_links(self.dialect, hrefs, ready=polls > self.pending_polls + 1))
        return self._json(body, domain=domain)

    def _download(self, domain: str, token: str, fault: Fault | None) -> Response:
        spec = self._files.get(token)
        if spec is None or spec.domain != domain:
            return self._json({"code": 404, "status": "NOT_FOUND", "message": "Link expired"}, 404)
        account = self.accounts[domain]
        stamp = _iso_ms(spec.start_ms).replace(":", "").replace("-", "").split(".")[0]
        member = f"{spec.event}-{stamp}.csv"
        if fault is not None and fault.kind == "malformed_zip":
            return Response(b"PK\x03\x04 this is not really a zip", mimetype="application/zip")
        if fault is not None and fault.kind == "expired_link":
            # What an object store answers for a pre-signed link past its expiry.
            body = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            return Response(body, status=403, mimetype="application/xml")
        columns = CSV_COLUMNS[1:] if fault is not None and fault.kind == "malformed_csv" else None
        chunks = account.csv_rows(spec.event, _from_ms(spec.start_ms), _from_ms(spec.end_ms))
        if self.dialect == CLASSIC or columns:
            stream = _zip_stream(chunks, member, columns or CSV_COLUMNS)
        else:
            stream = real_file(spec.event, chunks, member, token, self.rows_per_member)
        response = Response(stream, mimetype="application/zip", direct_passthrough=True)
        response.headers["Content-Disposition"] = f'attachment; filename="{member[:-4]}.zip"'
        return response

    # ---- faults -----------------------------------------------------------------------

    def _fault_response(self, fault: Fault, path: str) -> Response | None:
        kind = fault.kind
        if kind == "slow":
            time.sleep(fault.delay)
            return None
        if kind == "429":
            return self._json(
                {"code": 429, "status": "TOO_MANY_REQUESTS", "message": "Rate limit exceeded"},
                429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if kind == "500":
            return self._json(
                {"code": 500, "status": "INTERNAL_SERVER_ERROR", "message": "Unexpected error"},
                500,
            )
        if kind == "503":
            return self._json(
                {"code": 503, "status": "SERVICE_UNAVAILABLE", "message": "Try again later"},
                503,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if kind == "malformed_json":
            response = Response('{"groups": [{"id": "', status=200, mimetype="application/json")
            return response
        if kind == "html":
            return self._html("Sign in to Freshchat", "Your session has expired.", 200)
        del path
        return None  # malformed_csv / malformed_zip are handled by the download itself

    def _control(self, request: Request) -> Response:
        """``/sim/_control/faults``: arm (POST), list (GET) or clear (DELETE) faults."""
        if request.method == "DELETE":
            self.faults.clear()
            return self._json({"faults": []})
        if request.method == "GET":
            return self._json({"faults": self.faults.snapshot()})
        if request.method != "POST":
            return self._json({"code": 405, "status": "METHOD_NOT_ALLOWED", "message": ""}, 405)
        payload = request.get_json(silent=True, force=True)
        if not isinstance(payload, dict):
            return self._json(
                {"code": 400, "status": "BAD_REQUEST", "message": "JSON object expected"}, 400
            )
        try:
            times = payload.get("times", 1)
            self.faults.inject(
                str(payload.get("kind", "")),
                times=None if times is None else int(times),
                path_contains=payload.get("path_contains") or None,
                retry_after=int(payload.get("retry_after", 2)),
                delay=float(payload.get("delay", 0.0)),
            )
        except (TypeError, ValueError) as error:
            return self._json({"code": 400, "status": "BAD_REQUEST", "message": str(error)}, 400)
        return self._json({"faults": self.faults.snapshot()})


def _parse_iso(value: Any) -> datetime:
    """Strict ISO parsing for Extract windows (epoch numbers are not accepted there)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not an ISO 8601 time")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return to_naive_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None


# --------------------------------------------------------------------------------------
# Serving on loopback
# --------------------------------------------------------------------------------------

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class _QuietHandler(WSGIRequestHandler):
    """No access log: tests and the demo would drown in lines."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the per-request line."""


class SimServer:
    """A simulator served by werkzeug on a loopback port, in a daemon thread."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host = server.host
        self.port = server.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{self.port}"
        self.api_url_template = self.base_url + "/sim/{domain}/v2"

    def shutdown(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def serve_in_thread(sim: FreshchatSimulator, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Serve ``sim`` on a loopback port (0: any free one) until ``shutdown()``.

    Only loopback: the simulator has no real authentication on its control endpoint.
    """
    if host not in _LOOPBACK:
        raise ValueError("the simulator only listens on loopback (127.0.0.1, ::1, localhost)")
    server = make_server(host, port, sim, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="freshchat-sim", daemon=True)
    thread.start()
    return SimServer(server, thread)
