"""Opening an Extract file: a zip of CSVs or one plain CSV, read as rows of cells.

Strict about the file as a whole (encoding, archive, CSV syntax): anything that makes it
untrustworthy is a ``MalformedReport``, whenever the reading meets it.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import suppress
from typing import BinaryIO


class MalformedReport(ValueError):
    """The file as a whole cannot be read; the message is meant for the admin."""


def _refuse_unless_csv(head: bytes) -> None:
    """Checks on the first bytes of a file that is not a readable zip archive."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # Zip magic without a readable archive (truncated download): not CSV text.
        raise MalformedReport("The report archive is damaged (incomplete zip file).")
    if b"\x00" in head[:4096]:
        raise MalformedReport("The report file is neither a zip archive nor CSV text.")


def _csv_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    regular = [
        info
        for info in archive.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    members = [info for info in regular if info.filename.lower().endswith(".csv")]
    if regular and not members:
        names = ", ".join(info.filename for info in regular[:5])
        raise MalformedReport(f"The report archive holds no CSV file (found: {names}).")
    return members


def members(file: BinaryIO) -> Iterator[tuple[str, BinaryIO]]:
    """(name, CSV stream) of every CSV in a seekable Extract file, one open at a time."""
    file.seek(0)
    if not zipfile.is_zipfile(file):
        file.seek(0)
        _refuse_unless_csv(file.read(4096))
        file.seek(0)
        yield "", file
        return
    file.seek(0)
    try:
        archive = zipfile.ZipFile(file)
        members = _csv_members(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise MalformedReport(f"The report archive is damaged ({exc}).") from None
    with archive:
        for info in members:
            try:
                member = archive.open(info)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
                raise MalformedReport(f"The report archive is damaged ({exc}).") from None
            with member:
                yield info.filename, member


def csv_rows(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) of every non-blank row, header included.

    Everything that makes the whole file untrustworthy becomes ``MalformedReport`` here,
    whenever the reading meets it. The stream is left open for its owner.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    line = 0
    try:
        for cells in reader:
            first_line, line = line + 1, reader.line_num
            # A first cell starting with a non-space settles it without stripping all.
            if (cells and cells[0][:1].strip()) or any(map(str.strip, cells)):
                yield first_line, cells
    except UnicodeDecodeError:
        raise MalformedReport("The report file is not UTF-8 text.") from None
    except csv.Error as exc:
        raise MalformedReport(f"The report file is not readable CSV ({exc}).") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise MalformedReport(f"The report archive is damaged ({exc}).") from None
    finally:
        with suppress(ValueError):  # the stream was closed already: nothing to hand back
            text.detach()
