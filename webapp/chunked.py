"""Text streamed in chunks of rows: few large writes for the server, while memory stays
bounded by one chunk whatever the length of the export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence

CHUNK_ROWS = 500


def csv_chunks(
    header: Sequence[object] | None,
    rows: Iterable[Sequence[object]],
    *,
    cell: Callable[[object], object],
    delimiter: str = ",",
    quoting: int = csv.QUOTE_NONNUMERIC,
    lineterminator: str = "\n",
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[str]:
    """CSV text; every cell passes through ``cell`` (the formula guard) on its way out."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=lineterminator)
    if header is not None:
        writer.writerow([cell(value) for value in header])
    pending = 0
    for row in rows:
        writer.writerow([cell(value) for value in row])
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    tail = buffer.getvalue()
    if tail:
        yield tail


def json_array_chunks(items: Iterable[object], *, chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """A JSON array written piece by piece, one item a line."""
    parts = ["["]
    separator = "\n"
    for item in items:
        parts.append(separator + json.dumps(item, ensure_ascii=False))
        separator = ",\n"
        if len(parts) >= chunk_rows:
            yield "".join(parts)
            parts = []
    parts.append("\n]\n" if separator == ",\n" else "]\n")
    yield "".join(parts)
