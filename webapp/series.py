"""Complete interval series for planners: every interval of a range, in 15, 30 or 60
minutes, on UTC or on the integration's local clock.

The stored table is sparse (a row only where a queue had contacts) and in 15-minute UTC
intervals. A forecasting tool wants the opposite: every interval, zeros written, in the
planners' own clock. This module lays the stored rows on that grid while reading them in
order, so a year costs the memory of one interval. Intervals that were never imported
(before ``Integration.counted_from``) or that lie in the future are *marked*, never
written as 0: a forecast trained on invented zeros is worse than one told of a gap.

Local slots are cut on the local wall clock from the UTC offset in force at each
15-minute interval, so a spring-forward day in Europe has 23 hourly slots and a fall-back
day 25, the repeated hour told apart by its offset. Pure over its inputs apart from one
ordered read of ``IntervalStat``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from webapp.display_time import local_midnight_utc, parse_instant
from webapp.models import IntervalStat
from webapp.refusals import N_
from webapp.stats import QueryError, Queue, RangeQuery
from webapp.timeutil import INTERVAL, floor_interval, iso_z

MINUTES = (15, 30, 60)
BASES = ("utc", "local")
SHAPES = ("long", "wide")
FORMATS = ("csv", "json", "wfm")
SERIES = ("sparse", "complete")

# Why a slot has no count. The values are what the exports write in their status column.
COUNTED = "counted"
NOT_IMPORTED = "not_imported"
NOT_YET = "not_yet"


@dataclass(frozen=True, slots=True)
class SeriesOptions:
    """How an export lays out its rows. The defaults are the historical export (sparse,
    15 minutes, UTC, long), so scripts written before these options keep their output."""

    fmt: str = "csv"
    complete: bool = False
    minutes: int = 15
    basis: str = "utc"
    shape: str = "long"

    @property
    def historical(self) -> bool:
        """True for the layout every export had before these options existed."""
        return (
            self.fmt in ("csv", "json")
            and not self.complete
            and self.minutes == 15
            and self.basis == "utc"
            and self.shape == "long"
        )

    @property
    def extension(self) -> str:
        return "json" if self.fmt == "json" else "csv"

    @property
    def mimetype(self) -> str:
        return "application/json" if self.fmt == "json" else "text/csv"

    def query_values(self) -> dict[str, str]:
        """The options as query-string values (for links back to the same export)."""
        return {
            "format": self.fmt,
            "series": "complete" if self.complete else "sparse",
            "minutes": str(self.minutes),
            "zone": self.basis,
            "shape": self.shape,
        }


def _choice(args: Mapping[str, str], name: str, allowed: Sequence[str], default: str) -> str:
    value = (args.get(name) or default).strip().lower()
    if value not in allowed:
        listed = ", ".join(allowed[:-1]) + " or " + allowed[-1]
        raise QueryError(
            N_("“%(name)s” must be %(listed)s, not “%(value)s”."),
            name=name,
            listed=listed,
            value=value[:20],
        )
    return value


def parse_options(args: Mapping[str, str], *, default_format: str) -> SeriesOptions:
    """Read ``format``, ``series``, ``minutes``, ``zone`` and ``shape`` from a query
    string (or the CLI's options); a refusal is a QueryError with the reason."""
    fmt = _choice(args, "format", FORMATS, default_format)
    minutes = int(_choice(args, "minutes", [str(m) for m in MINUTES], "15"))
    basis = _choice(args, "zone", BASES, "utc")
    shape = _choice(args, "shape", SHAPES, "long")
    # The WFM format is a complete series by definition: its importer reads a missing row
    # as a gap, so zeros must be written.
    series = _choice(args, "series", SERIES, "complete" if fmt == "wfm" else "sparse")
    if fmt == "wfm" and series == "sparse":
        raise QueryError(
            N_(
                "The WFM import format always lists every interval with its zeros; "
                "choose the complete series or another format."
            )
        )
    if fmt == "wfm" and shape == "wide":
        raise QueryError(
            N_(
                "The WFM import format has one row per queue and interval; "
                "it cannot be wide. Choose the long shape or another format."
            )
        )
    return SeriesOptions(fmt, series == "complete", minutes, basis, shape)


def option_values(args: Mapping[str, str]) -> dict[str, str]:
    """The options as a form shows them again: what was chosen where it is allowed, the
    default where it is missing or refused (the refusal itself is said elsewhere)."""
    chosen = {
        "format": (args.get("format") or "csv").strip().lower(),
        "minutes": (args.get("minutes") or "15").strip(),
        "zone": (args.get("zone") or "utc").strip().lower(),
        "shape": (args.get("shape") or "long").strip().lower(),
    }
    chosen["series"] = (
        (args.get("series") or ("complete" if chosen["format"] == "wfm" else "sparse"))
        .strip()
        .lower()
    )
    allowed = {
        "format": FORMATS,
        "minutes": [str(m) for m in MINUTES],
        "zone": BASES,
        "shape": SHAPES,
        "series": SERIES,
    }
    defaults = SeriesOptions().query_values()
    return {
        name: value if value in allowed[name] else defaults[name] for name, value in chosen.items()
    }


def export_kind(options: SeriesOptions) -> str:
    """A file-name suffix naming the layout, so two exports of one range do not collide."""
    parts = ["wfm" if options.fmt == "wfm" else ("complete" if options.complete else "sparse")]
    parts += [f"{options.minutes}min", options.basis]
    if options.fmt != "wfm":
        parts.append(options.shape)
    return "-" + "-".join(parts)


@dataclass(frozen=True, slots=True)
class Slot:
    """One interval of the series: where it starts (UTC and on the chosen clock), whether
    it was measured, and the contacts of each queue in the order of ``queues``."""

    start: datetime  # naive UTC
    local: datetime  # aware, on the chosen clock (UTC or the integration's zone)
    status: str
    counts: tuple[int, ...] | None  # None unless status is COUNTED


def slot_start(when: datetime, minutes: int, tz: ZoneInfo | None) -> tuple[datetime, datetime]:
    """The slot holding the 15-minute interval ``when``: (UTC start, aware local start).

    The local start is ``when``'s local wall time floored to ``minutes``; its offset is
    the one in force at ``when``. European zones change offset on the hour, so a slot
    never straddles a change.
    """
    if tz is None:
        offset = timedelta(0)
        clock: timezone | ZoneInfo = UTC
    else:
        offset = when.replace(tzinfo=UTC).astimezone(tz).utcoffset() or timedelta(0)
        clock = timezone(offset)
    wall = when + offset
    floored = wall - timedelta(minutes=wall.minute % minutes)
    return floored - offset, floored.replace(tzinfo=clock)


def absence(when: datetime, now: datetime, counted_from: datetime | None) -> str | None:
    """Why the 15-minute interval ``when`` has no measurement, or None when it has one.

    An interval counts as imported when it ends after ``counted_from``; one that began
    after now has not happened. ``counted_from`` is None before the first sync: then
    nothing is known about what was imported, and past intervals count as they are.
    """
    if when > now:
        return NOT_YET
    if counted_from is not None and when + INTERVAL <= counted_from:
        return NOT_IMPORTED
    return None


def range_end(text: str | None, name: str, options: SeriesOptions, tz: ZoneInfo) -> datetime | None:
    """An API range end: a date is midnight on the chosen clock (UTC, or the integration's
    zone with ``zone=local``, so ``from=2026-03-29&to=2026-03-30`` is that local day);
    a time without an offset is UTC, as ``parse_instant`` reads it."""
    value = parse_instant(text, name=name)
    if value is not None and options.basis == "local" and len((text or "").strip()) == 10:
        return local_midnight_utc(value.date(), tz)
    return value


def check_range(query: RangeQuery, options: SeriesOptions, tz: ZoneInfo) -> None:
    """Refuse a range whose ends cut a slot in two: a half slot would read as a quiet one."""
    if options.historical:
        return
    clock = tz if options.basis == "local" else None
    for name, value in (("from", query.start), ("to", query.end)):
        start, local = slot_start(floor_interval(value), options.minutes, clock)
        if start != value:
            raise QueryError(
                N_(
                    "With %(minutes)d-minute intervals “%(name)s” must fall on an interval "
                    "boundary of the chosen clock; %(value)s does not (the interval holding "
                    "it starts at %(start)s)."
                ),
                minutes=options.minutes,
                name=name,
                value=iso_z(value),
                start=local.isoformat(timespec="minutes"),
            )


def series_queues(catalog: Sequence[Queue], query: RangeQuery) -> list[Queue]:
    """The queues of the export in a stable order: the catalog's (named queues by name,
    Undefined_Queue last), whatever order the request listed them in."""
    if query.queue_names is None:
        return list(catalog)
    wanted = set(query.queue_names)
    return [queue for queue in catalog if queue.name in wanted]


def _stored_rows(query: RangeQuery, keys: Sequence[str]) -> Iterator[tuple[str, datetime, int]]:
    select = (
        IntervalStat.select(
            IntervalStat.queue_key, IntervalStat.interval_start, IntervalStat.contacts
        )
        .where(
            (IntervalStat.integration == query.integration)
            & (IntervalStat.interval_start >= query.start)
            & (IntervalStat.interval_start < query.end)
            & IntervalStat.queue_key.in_(list(keys))
        )
        .order_by(IntervalStat.interval_start)
        .tuples()
        .iterator()
    )
    for key, when, contacts in select:
        yield key, when if isinstance(when, datetime) else datetime.fromisoformat(when), contacts


def complete_series(
    query: RangeQuery,
    queues: Sequence[Queue],
    options: SeriesOptions,
    *,
    tz: ZoneInfo,
    now: datetime,
    counted_from: datetime | None,
) -> Iterator[Slot]:
    """Every slot of [query.start, query.end) with each queue's contacts, streamed.

    A slot is measured only when all its 15-minute intervals are; otherwise it carries
    the reason of its first unmeasured one and no counts.
    """
    index = {key: position for position, queue in enumerate(queues) for key in queue.keys}
    rows = _stored_rows(query, list(index))
    pending = next(rows, None)
    clock = tz if options.basis == "local" else None
    current: tuple[datetime, datetime] | None = None
    counts = [0] * len(queues)
    status = COUNTED
    when = floor_interval(query.start)
    while when < query.end:
        bounds = slot_start(when, options.minutes, clock)
        if current is not None and bounds[0] != current[0]:
            yield Slot(current[0], current[1], status, _final(counts, status))
            counts = [0] * len(queues)
            status = COUNTED
        current = bounds
        missing = absence(when, now, counted_from)
        if missing is not None and status == COUNTED:
            status = missing
        while pending is not None and pending[1] <= when:
            if pending[1] == when:
                counts[index[pending[0]]] += pending[2]
            pending = next(rows, None)
        when += INTERVAL
    if current is not None:
        yield Slot(current[0], current[1], status, _final(counts, status))


def _final(counts: list[int], status: str) -> tuple[int, ...] | None:
    return tuple(counts) if status == COUNTED else None
