"""Writers of interval exports: long or wide CSV and JSON, and the WFM import CSV.

Every writer streams text in chunks of rows (the server writes few large pieces, memory
holds one chunk whatever the range) and is deterministic: the same stored counts give
the same bytes, so a re-export of a range can be compared with ``cmp``. Every text cell
of every CSV goes through ``stats.csv_cell`` (queue names are free text typed in
Freshchat and must never run as spreadsheet formulas).

The historical layout (sparse, 15 minutes, UTC, long) is still written by ``stats`` so
that scripts written against it see exactly the bytes they always did.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from webapp import stats
from webapp.chunked import csv_chunks, json_array_chunks
from webapp.series import (
    COUNTED,
    SeriesOptions,
    Slot,
    complete_series,
    series_queues,
)
from webapp.timeutil import iso_z

WFM_HEADER = ("Queue", "Date", "Time", "IncomingCalls", "AnsweredCalls", "AHT")


def slot_label(slot: Slot, options: SeriesOptions) -> str:
    """ISO 8601: ``…Z`` on the UTC clock, the local time with its offset otherwise."""
    if options.basis == "utc":
        return iso_z(slot.start)
    return slot.local.isoformat(timespec="seconds")


def _csv_chunks(
    header: Sequence[object] | None, rows: Iterable[Sequence[object]], **dialect: object
) -> Iterator[str]:
    return csv_chunks(header, rows, cell=stats.csv_cell, **dialect)  # type: ignore[arg-type]


def _kept(slots: Iterable[Slot], options: SeriesOptions) -> Iterator[Slot]:
    """A sparse series keeps only slots with contacts; a complete one keeps every slot."""
    for slot in slots:
        if options.complete or (slot.counts is not None and any(slot.counts)):
            yield slot


def _long_rows(
    slots: Iterable[Slot], names: Sequence[str], options: SeriesOptions
) -> Iterator[tuple[str, str, int | None, str]]:
    """(queue, interval start, contacts or None, status), interval by interval."""
    for slot in _kept(slots, options):
        label = slot_label(slot, options)
        for position, name in enumerate(names):
            contacts = None if slot.counts is None else slot.counts[position]
            if options.complete or contacts:
                yield name, label, contacts, slot.status


def long_csv(slots: Iterable[Slot], names: Sequence[str], options: SeriesOptions) -> Iterator[str]:
    """``queue, interval_start, contacts`` (and ``status`` for a complete series, where an
    interval that was not measured has an empty contacts cell and says why)."""
    rows = _long_rows(slots, names, options)
    if options.complete:
        return _csv_chunks(
            ("queue", "interval_start", "contacts", "status"),
            ((name, label, "" if n is None else n, status) for name, label, n, status in rows),
        )
    return _csv_chunks(stats.CSV_HEADER, (row[:3] for row in rows))


def wide_csv(slots: Iterable[Slot], names: Sequence[str], options: SeriesOptions) -> Iterator[str]:
    """``interval_start, [status,] <one column per queue>``, queues in catalog order."""
    header = ("interval_start", *(("status",) if options.complete else ()), *names)

    def rows() -> Iterator[tuple[object, ...]]:
        for slot in _kept(slots, options):
            counts = slot.counts if slot.counts is not None else ("",) * len(names)
            status = (slot.status,) if options.complete else ()
            yield (slot_label(slot, options), *status, *counts)

    return _csv_chunks(header, rows())


def long_json(slots: Iterable[Slot], names: Sequence[str], options: SeriesOptions) -> Iterator[str]:
    def items() -> Iterator[dict]:
        for name, label, contacts, status in _long_rows(slots, names, options):
            item: dict[str, object] = {"queue": name, "interval_start": label, "contacts": contacts}
            if options.complete:
                item["status"] = status
            yield item

    return json_array_chunks(items())


def wide_json(slots: Iterable[Slot], names: Sequence[str], options: SeriesOptions) -> Iterator[str]:
    def items() -> Iterator[dict]:
        for slot in _kept(slots, options):
            item: dict[str, object] = {"interval_start": slot_label(slot, options)}
            if options.complete:
                item["status"] = slot.status
            item["contacts"] = {
                name: None if slot.counts is None else slot.counts[position]
                for position, name in enumerate(names)
            }
            yield item

    return json_array_chunks(items())


def wfm_csv(slots: Iterable[Slot], names: Sequence[str], options: SeriesOptions) -> Iterator[str]:
    """``Queue;Date;Time;IncomingCalls;AnsweredCalls;AHT``: dd/mm/yyyy and hh:mm on the
    chosen clock, contacts as both offered and answered, AHT empty (handle time is not
    imported). One row per queue and measured interval, zeros included; an interval that
    was not measured has no row at all, since the importer would read any number as a
    measurement."""

    def rows() -> Iterator[tuple[object, ...]]:
        for slot in slots:
            if slot.status != COUNTED or slot.counts is None:
                continue
            day = f"{slot.local.day:02d}/{slot.local.month:02d}/{slot.local.year:04d}"
            time = f"{slot.local.hour:02d}:{slot.local.minute:02d}"
            for position, name in enumerate(names):
                contacts = slot.counts[position]
                yield name, day, time, contacts, contacts, ""

    return _csv_chunks(
        WFM_HEADER, rows(), delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n"
    )


WRITERS = {
    ("csv", "long"): long_csv,
    ("csv", "wide"): wide_csv,
    ("json", "long"): long_json,
    ("json", "wide"): wide_json,
    ("wfm", "long"): wfm_csv,
}


def export_chunks(
    query: stats.RangeQuery,
    options: SeriesOptions,
    *,
    catalog: Sequence[stats.Queue],
    tz: ZoneInfo,
    now: datetime,
) -> Iterator[str]:
    """The export's text, streamed, in the layout ``options`` asks for."""
    if options.historical:
        rows = stats.export_rows(query)
        if options.fmt == "csv":
            return stats.csv_lines(rows)
        return stats.json_chunks(rows)
    queues = series_queues(catalog, query)
    slots = complete_series(
        query, queues, options, tz=tz, now=now, counted_from=query.integration.counted_from
    )
    return WRITERS[(options.fmt, options.shape)](slots, [queue.name for queue in queues], options)
