"""Reading the derived interval table: ranges, queues, exports.

Queues are keyed by Freshchat group id in storage; here they are named the way planners
see them (group name as Freshchat spells it, or Undefined_Queue). Two groups that share a
name make one queue of that name, since the queue *is* the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, SQL, Case, fn

from webapp.chats import state_from_row
from webapp.chunked import csv_chunks, json_array_chunks
from webapp.counting import RULES_IN_WORDS, UNDEFINED_QUEUE, UNDEFINED_QUEUE_KEY, why_here
from webapp.models import Chat, Group, Integration, IntervalStat
from webapp.refusals import N_, Refusal
from webapp.timeutil import iso_z

MAX_RANGE = timedelta(days=400)
CSV_HEADER = ("queue", "interval_start", "contacts")

Row = tuple[str, datetime, int]


class QueryError(Refusal):
    """A range or queue the admin asked for that we refuse, with the reason."""


def queue_name_expression():  # type: ignore[no-untyped-def]
    return Case(
        None,
        [(IntervalStat.queue_key == UNDEFINED_QUEUE_KEY, UNDEFINED_QUEUE)],
        fn.COALESCE(Group.name, IntervalStat.queue_key),
    )


def _stats_with_names(integration: Integration):  # type: ignore[no-untyped-def]
    return (
        IntervalStat.select()
        .join(
            Group,
            JOIN.LEFT_OUTER,
            on=(
                (Group.integration == IntervalStat.integration)
                & (Group.group_id == IntervalStat.queue_key)
            ),
        )
        .where(IntervalStat.integration == integration)
    )


@dataclass(frozen=True, slots=True)
class Queue:
    """A source queue as planners see it: a name, and the group ids counted under it."""

    name: str
    keys: tuple[str, ...]
    undefined: bool = False
    # True when Freshchat no longer lists any group of this name (its past contacts stay).
    deleted: bool = False


def _distinct_stat_keys(integration: Integration) -> list[str]:
    """Queue keys that have statistics, by index seeks instead of a scan.

    A DISTINCT over the statistics reads every row of the integration (hundreds of
    thousands after a year); asking for the next key above the last one found costs one
    index seek per queue, and there are only a handful of queues.
    """
    keys: list[str] = []
    while True:
        query = IntervalStat.select(fn.MIN(IntervalStat.queue_key)).where(
            IntervalStat.integration == integration
        )
        if keys:
            query = query.where(IntervalStat.queue_key > keys[-1])
        key = query.scalar()
        if key is None:
            return keys
        keys.append(key)


def queue_catalog(integration: Integration) -> list[Queue]:
    """Every queue found: groups Freshchat lists (even without contacts yet), groups gone
    from Freshchat that still have contacts, and Undefined_Queue, which is always shown.

    Named queues come first in name order; Undefined_Queue last, as the page shows it apart.
    """
    stat_keys = set(_distinct_stat_keys(integration))
    names: dict[str, list[str]] = {}
    all_deleted: dict[str, bool] = {}
    groups = Group.select(Group.group_id, Group.name, Group.deleted).where(
        Group.integration == integration
    )
    seen_groups: set[str] = set()
    for group_id, name, deleted in groups.tuples():
        seen_groups.add(group_id)
        if deleted and group_id not in stat_keys:
            continue
        names.setdefault(name, []).append(group_id)
        all_deleted[name] = all_deleted.get(name, True) and bool(deleted)
    for key in sorted(stat_keys - seen_groups - {UNDEFINED_QUEUE_KEY}):
        # Counted under a group id we never saw listed: show the id rather than hide it.
        names.setdefault(key, []).append(key)
        all_deleted[key] = True
    queues = [
        Queue(name, tuple(keys), deleted=all_deleted[name])
        for name, keys in sorted(names.items(), key=lambda item: (item[0].casefold(), item[0]))
        if name != UNDEFINED_QUEUE
    ]
    undefined_keys = (UNDEFINED_QUEUE_KEY, *names.get(UNDEFINED_QUEUE, []))
    queues.append(Queue(UNDEFINED_QUEUE, undefined_keys, undefined=True))
    return queues


def queue_keys_by_name(integration: Integration) -> dict[str, list[str]]:
    """Every known queue, name → group ids (see ``queue_catalog``)."""
    return {queue.name: list(queue.keys) for queue in queue_catalog(integration)}


@dataclass(frozen=True)
class RangeQuery:
    integration: Integration
    start: datetime
    end: datetime
    queue_keys: list[str] | None  # None: every queue
    queue_names: list[str] | None

    @classmethod
    def build(
        cls,
        integration: Integration,
        start: datetime,
        end: datetime,
        queue_names: Iterable[str] | None = None,
        *,
        now: datetime | None = None,
    ) -> RangeQuery:
        """Check a half-open range [start, end) and the queue names before any row is read.

        Refusals are raised here, not while streaming, so that an export either starts with
        a complete answer ahead of it or fails with a status and a reason. ``now`` (when
        given) refuses ranges that start in the future, where no contact can exist yet.
        """
        if start == end:
            raise QueryError(N_("The range is empty: “to” must be after “from”."))
        if start > end:
            raise QueryError(
                N_("“from” (%(start)s) is after “to” (%(end)s): swap them."),
                start=iso_z(start),
                end=iso_z(end),
            )
        if end - start > MAX_RANGE:
            raise QueryError(
                N_(
                    "The range is too long (%(days)d days): at most %(most)d days at a time; "
                    "split it into several exports."
                ),
                days=(end - start).days,
                most=MAX_RANGE.days,
            )
        if now is not None and start >= now:
            raise QueryError(
                N_(
                    "The range starts in the future (%(start)s, now is %(now)s): "
                    "there are no contacts there yet."
                ),
                start=iso_z(start),
                now=iso_z(now.replace(microsecond=0)),
            )
        keys = None
        names = None
        if queue_names:
            known = queue_keys_by_name(integration)
            names = list(dict.fromkeys(queue_names))
            unknown = [n for n in names if n not in known]
            if unknown:
                listed = ", ".join(sorted(known)) or "none yet"
                raise QueryError(
                    N_("Unknown queue: %(unknown)s. Known queues: %(known)s."),
                    unknown=", ".join(unknown),
                    known=listed,
                )
            keys = [k for n in names for k in known[n]]
        return cls(integration, start, end, keys, names)


def export_rows(query: RangeQuery) -> Iterator[Row]:
    """(queue, interval start, contacts) ordered by interval then queue; streamed."""
    name = queue_name_expression()
    select = _stats_with_names(query.integration).where(
        (IntervalStat.interval_start >= query.start) & (IntervalStat.interval_start < query.end)
    )
    if query.queue_keys is not None:
        select = select.where(IntervalStat.queue_key.in_(query.queue_keys))
    # Grouped by the output column: PostgreSQL cannot match the expression's bound
    # parameters between SELECT and GROUP BY. The alias is a name no table column has.
    by_name = SQL('"queue_name"')
    rows = (
        select.select(
            name.alias("queue_name"), IntervalStat.interval_start, fn.SUM(IntervalStat.contacts)
        )
        .group_by(IntervalStat.interval_start, by_name)
        .order_by(IntervalStat.interval_start, by_name)
        .tuples()
        .iterator()
    )
    for queue_name, interval_start, contacts in rows:
        yield queue_name, _as_datetime(interval_start), int(contacts)


def _as_datetime(value: datetime | str) -> datetime:
    """Aggregate selects may hand back SQLite's text form of a stored datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# Cells a spreadsheet would read as a formula (OWASP "CSV Injection"): =, +, -, @, tab, CR.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A text cell made safe to open in a spreadsheet: a leading ``'`` stops a queue name
    (free text typed in Freshchat) such as ``=HYPERLINK(...)`` from running as a formula.
    Numbers and other text pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Row], *, chunk_rows: int = 500) -> Iterator[str]:
    """CSV text in chunks of ``chunk_rows`` rows: few large writes for the server, while
    memory stays bounded by one chunk whatever the range."""
    # Every text cell quoted (OWASP's advice, and a queue name holding a carriage return
    # stays one cell); counts stay bare numbers.
    return csv_chunks(
        CSV_HEADER,
        ((name, iso_z(start), contacts) for name, start, contacts in rows),
        cell=csv_cell,
        chunk_rows=chunk_rows,
    )


def json_objects(rows: Iterable[Row]) -> Iterator[dict]:
    for queue_name, interval_start, contacts in rows:
        yield {"queue": queue_name, "interval_start": iso_z(interval_start), "contacts": contacts}


def json_chunks(rows: Iterable[Row], *, chunk_rows: int = 500) -> Iterator[str]:
    """A JSON array written piece by piece, so an export never holds its rows in memory."""
    return json_array_chunks(json_objects(rows), chunk_rows=chunk_rows)


# --------------------------------------------------------------------------- page queries


def contacts_by_key(integration: Integration, start: datetime, end: datetime) -> dict[str, int]:
    """Contacts per queue key in [start, end)."""
    query = (
        IntervalStat.select(IntervalStat.queue_key, fn.SUM(IntervalStat.contacts))
        .where(
            (IntervalStat.integration == integration)
            & (IntervalStat.interval_start >= start)
            & (IntervalStat.interval_start < end)
        )
        .group_by(IntervalStat.queue_key)
        .tuples()
    )
    return {key: int(total) for key, total in query}


def queue_totals(queues: Iterable[Queue], by_key: Mapping[str, int]) -> list[tuple[Queue, int]]:
    """Each queue with its contacts, from ``contacts_by_key``."""
    return [(queue, sum(by_key.get(key, 0) for key in queue.keys)) for queue in queues]


def interval_series(
    integration: Integration,
    start: datetime,
    end: datetime,
    queue_keys: Sequence[str] | None = None,
) -> dict[datetime, int]:
    """Contacts per interval start in [start, end), for some queue keys or all of them.

    Only intervals with contacts are returned; callers lay them on the full grid of
    intervals so that empty ones show as zero.
    """
    select = IntervalStat.select(IntervalStat.interval_start, fn.SUM(IntervalStat.contacts)).where(
        (IntervalStat.integration == integration)
        & (IntervalStat.interval_start >= start)
        & (IntervalStat.interval_start < end)
    )
    if queue_keys is not None:
        select = select.where(IntervalStat.queue_key.in_(list(queue_keys)))
    query = select.group_by(IntervalStat.interval_start).tuples()
    return {_as_datetime(when): int(total) for when, total in query}


@dataclass(frozen=True, slots=True)
class ExplainedChat:
    """One chat behind a count, with what it says about why it landed where it did."""

    conversation_id: str
    created_time: datetime | None
    resolved_time: datetime | None
    queue_name: str
    group_name: str | None  # group at its latest resolution, when known
    reason: str  # counting's reason, cached on the chat row with the contact
    reopened: bool = False  # reopened after that resolution, open now (still counts)


@dataclass(frozen=True, slots=True)
class Explanation:
    interval_start: datetime
    total: int
    page: int
    pages: int
    per_page: int
    chats: list[ExplainedChat]
    rules: str = RULES_IN_WORDS  # what the counts obey, in counting's words

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_number(self) -> int:
        return (self.page - 1) * self.per_page + len(self.chats)


def explain_interval(
    integration: Integration,
    interval_start: datetime,
    queue_keys: Sequence[str] | None = None,
    *,
    page: int = 1,
    per_page: int = 20,
) -> Explanation:
    """The chats counted in one interval (for some queues or all), a page at a time.

    Reads the contact cached on each chat row, the same rows the statistics are rebuilt
    from, so the listed chats always add up to the count shown.
    """
    condition = (Chat.integration == integration) & (Chat.interval_start == interval_start)
    if queue_keys is None:
        condition &= Chat.queue_key.is_null(False)
    else:
        condition &= Chat.queue_key.in_(list(queue_keys))
    total = Chat.select().where(condition).count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = (
        Chat.select()
        .where(condition)
        .order_by(Chat.created_time, Chat.conversation_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .dicts()
    )
    names = {
        group_id: name
        for group_id, name in Group.select(Group.group_id, Group.name)
        .where(Group.integration == integration)
        .tuples()
    }
    chats = []
    for row in rows:
        why = why_here(state_from_row(row))
        key = row["queue_key"]
        chats.append(
            ExplainedChat(
                conversation_id=row["conversation_id"],
                created_time=why.arrived,
                resolved_time=why.resolved,
                queue_name=UNDEFINED_QUEUE if key == UNDEFINED_QUEUE_KEY else names.get(key, key),
                group_name=names.get(why.group_id, why.group_id) if why.group_id else None,
                reason=row["count_reason"] or "",
                reopened=why.reopened,
            )
        )
    return Explanation(interval_start, total, page, pages, per_page, chats)
