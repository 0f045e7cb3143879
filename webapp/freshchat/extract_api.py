"""Extract (raw report) jobs: request one, poll it until its files are ready, download.

* ``download`` follows up to three redirects by hand, because short-lived file links
  commonly bounce to object storage; the token is only attached to the API's own origin,
  at every hop (``Transport._headers``).
* Extract link ``from``/``to`` are parsed to naive UTC datetimes; unreadable ones become
  ``None`` rather than failing a whole job status.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO
from urllib.parse import quote, urljoin, urlsplit

from webapp.freshchat.errors import ExtractFailed, MalformedResponse, Timeout
from webapp.freshchat.transport import Transport
from webapp.timeutil import parse_timestamp, to_naive_utc

MAX_DOWNLOAD_REDIRECTS = 3


# A file of a completed job is ready only with one of these statuses (or none at all).
FILE_READY = frozenset({"SUCCESS", "COMPLETED"})


@dataclass(frozen=True, slots=True)
class ExtractLink:
    """One downloadable file of an Extract job (long ranges are split into several)."""

    href: str
    from_: datetime | None = None
    to: datetime | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractStatus:
    """An Extract job as last polled; ``status`` is upper-cased (PENDING/COMPLETED/FAILED)."""

    id: str
    status: str
    links: list[ExtractLink] = field(default_factory=list)


def _parse_optional_time(value: object) -> datetime | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, OSError):
        return None


def _iso_ms(value: datetime) -> str:
    return to_naive_utc(value).isoformat(timespec="milliseconds") + "Z"


class ExtractApi(Transport):
    """The Extract endpoints, over ``Transport``."""

    def request_extract(self, event: str, start: datetime, end: datetime) -> str:
        """Start an Extract job for ``[start, end)`` and return its id.

        Times are sent with milliseconds and ``Z`` so windows join exactly, never with
        Freshworks' lossy 00:01-23:59 convention.
        """
        if to_naive_utc(end) <= to_naive_utc(start):
            raise ValueError("end must be after start")
        payload = {"start": _iso_ms(start), "end": _iso_ms(end), "event": event, "format": "csv"}
        body = self._json(self._send("POST", self._url("/reports/raw"), json_body=payload))
        job_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(job_id, str | int) or isinstance(job_id, bool) or not str(job_id):
            raise MalformedResponse("Freshchat accepted the report request but gave no job id.")
        return str(job_id)

    def get_extract(self, job_id: str) -> ExtractStatus:
        """The job's state and, once completed, its file links."""
        body = self._get_json(self._url("/reports/raw/" + quote(str(job_id), safe="")))
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            raise MalformedResponse("Freshchat's report job status had an unexpected shape.")
        raw_links = body.get("links")
        if raw_links is None and isinstance(body.get("link"), dict):
            # The older answer: one ``link`` object, no ``links`` (FRESHCHAT_API.md).
            raw_links = [] if body["link"].get("rel") == "extracts" else [body["link"]]
        raw_links = raw_links or []
        if not isinstance(raw_links, list):
            raise MalformedResponse("Freshchat's report job links had an unexpected shape.")
        links = [self._extract_link(item) for item in raw_links]
        return ExtractStatus(
            id=str(body.get("id") or job_id), status=body["status"].strip().upper(), links=links
        )

    def wait_for_extract(
        self,
        job_id: str,
        *,
        poll_interval: float = 5.0,
        timeout: float = 900.0,
        file_polls: int = 12,
    ) -> ExtractStatus:
        """Poll until the job completes and every file of it is ready.

        Jobs can take minutes, so the deadline is generous. A job ``COMPLETED`` whose files
        are missing, still ``PENDING``/``IN_PROGRESS`` or ``FAILED`` is polled again at most
        ``file_polls`` times, then the run ends with the statuses seen: a window is read
        only whole.
        """
        deadline = self._clock() + timeout
        unready = 0
        while True:
            status = self.get_extract(job_id)
            if status.status == "COMPLETED":
                waiting = [link.status for link in status.links if not _file_ready(link)]
                if status.links and not waiting:
                    return status
                unready += 1
                if unready > file_polls:
                    raise ExtractFailed(_unready_message(status, waiting, unready))
            if status.status == "FAILED":
                raise ExtractFailed(
                    "Freshchat reported that it could not prepare the requested report "
                    "(job FAILED). The next sync asks for it again."
                )
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise Timeout(
                    f"Freshchat had not finished preparing the report after {timeout:.0f} "
                    "seconds. The next sync asks for it again."
                )
            self._sleep(min(poll_interval, remaining))

    def download(self, href: str) -> bytes:
        """Fetch one Extract file into memory; ``download_to`` is for files of any size."""
        sink = io.BytesIO()
        self.download_to(href, sink)
        return sink.getvalue()

    def download_to(self, href: str, sink: BinaryIO) -> None:
        """Stream one Extract file into ``sink`` (e.g. a temporary file), replacing its content.

        A month of a busy account is hundreds of megabytes of CSV: streamed to disk, memory
        stays flat however big the file. The token only goes to the API's own scheme and
        host; a body cut off midway is retried like any connection error.
        """
        url = self._absolute(href)
        for _hop in range(MAX_DOWNLOAD_REDIRECTS + 1):
            scheme = urlsplit(url).scheme.lower()
            if scheme not in ("http", "https"):
                raise MalformedResponse("Freshchat gave a report file link that is not a web URL.")
            response = self._send("GET", url, download=True, sink=sink)
            if not 300 <= response.status_code < 400:
                return
            response.close()
            location = response.headers.get("Location", "")
            url = urljoin(url, location)
        raise MalformedResponse("The report file link redirected too many times.")

    @staticmethod
    def _extract_link(item: object) -> ExtractLink:
        if not isinstance(item, dict):
            raise MalformedResponse("Freshchat's report job links had an unexpected shape.")
        link = item.get("link")
        href = link.get("href") if isinstance(link, dict) else item.get("href")
        if not isinstance(href, str) or not href.strip():
            raise MalformedResponse("Freshchat's report job listed a file without a link.")
        status = item.get("status")
        return ExtractLink(
            href=href.strip(),
            from_=_parse_optional_time(item.get("from")),
            to=_parse_optional_time(item.get("to")),
            status=status.strip().upper() if isinstance(status, str) else None,
        )


def _file_ready(link: ExtractLink) -> bool:
    return link.status is None or link.status in FILE_READY


def _unready_message(status: ExtractStatus, waiting: list[str | None], polls: int) -> str:
    if not status.links:
        seen = "no file at all"
    else:
        counts: dict[str, int] = {}
        for word in waiting:
            counts[word or "?"] = counts.get(word or "?", 0) + 1
        seen = ", ".join(f"{n} file(s) {word}" for word, n in sorted(counts.items()))
    return (
        f"Freshchat said its report job was COMPLETED but after {polls} checks it still "
        f"had {seen} (of {len(status.links)}); the window was not read. "
        "The next sync asks for the report again."
    )
