"""Reading the derived interval table: ranges, queues, exports.

Queues are keyed by Freshchat group id in storage; here they are named the way planners
see them (group name as Freshchat spells it, or Undefined_Queue). Two groups that share a
name make one queue of that name, since the queue *is* the name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, Case, fn

from webapp.counting import UNDEFINED_QUEUE, UNDEFINED_QUEUE_KEY
from webapp.models import Group, Integration, IntervalStat
from webapp.timeutil import iso_z

MAX_RANGE = timedelta(days=400)
CSV_HEADER = ("queue", "interval_start", "contacts")

Row = tuple[str, datetime, int]


class QueryError(ValueError):
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


def queue_keys_by_name(integration: Integration) -> dict[str, list[str]]:
    """Every queue that has (or had) contacts, name → group ids."""
    name = queue_name_expression()
    query = (
        _stats_with_names(integration)
        .select(name.alias("name"), IntervalStat.queue_key)
        .distinct()
        .tuples()
    )
    result: dict[str, list[str]] = {}
    for queue_name, key in query:
        result.setdefault(queue_name, []).append(key)
    return result


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
    ) -> RangeQuery:
        if start >= end:
            raise QueryError("“from” must be before “to”.")
        if end - start > MAX_RANGE:
            raise QueryError(f"The range is too long: at most {MAX_RANGE.days} days at a time.")
        keys = None
        names = None
        if queue_names:
            known = queue_keys_by_name(integration)
            names = list(dict.fromkeys(queue_names))
            unknown = [n for n in names if n not in known]
            if unknown:
                listed = ", ".join(sorted(known)) or "none yet"
                raise QueryError(f"Unknown queue: {', '.join(unknown)}. Known queues: {listed}.")
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
    rows = (
        select.select(
            name.alias("name"), IntervalStat.interval_start, fn.SUM(IntervalStat.contacts)
        )
        .group_by(IntervalStat.interval_start, name)
        .order_by(IntervalStat.interval_start, name)
        .tuples()
        .iterator()
    )
    for queue_name, interval_start, contacts in rows:
        if isinstance(interval_start, str):
            interval_start = datetime.fromisoformat(interval_start)
        yield queue_name, interval_start, int(contacts)


def csv_lines(rows: Iterable[Row]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    for queue_name, interval_start, contacts in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow((queue_name, iso_z(interval_start), contacts))
        yield buffer.getvalue()


def json_objects(rows: Iterable[Row]) -> Iterator[dict]:
    for queue_name, interval_start, contacts in rows:
        yield {"queue": queue_name, "interval_start": iso_z(interval_start), "contacts": contacts}
