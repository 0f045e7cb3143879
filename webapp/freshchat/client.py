"""HTTP access to one Freshchat account, with errors an administrator can act on.

Why it looks like this:

* Every failure becomes one ``FreshchatError`` subclass whose ``str()`` is a sentence for
  the admin and whose ``kind`` is a stable code for the UI and the sync history, so callers
  never have to interpret HTTP status codes or ``requests`` exceptions themselves.
* The API key is the admin's full-access token. It is wrapped in ``_Secret`` so it cannot
  leak through ``repr()``/``vars()`` dumps, it is sent only to the API's own scheme+host,
  redirects are never followed with it, and nothing logged or raised contains it.
* Time and randomness are injected (``sleep``, ``clock``, ``rng``) so retry and polling
  logic is tested without real waiting.

Choices made where FRESHCHAT_API.md is silent (change them here if a real account
disagrees):

* A 403 is "plan without API access" only when the error body's ``status``/``message``
  mentions a plan, feature or subscription (``looks_like_plan_restriction``); any other
  403 is taken as "the key's user is not an Account Administrator".
* ``X-RateLimit-Reset`` is Unix seconds; values above 10^12 are taken as milliseconds.
  ``Retry-After`` may be seconds or an HTTP date.
* Connection errors (DNS included) are retried like 5xx: a DNS blip must not fail a sync.
  An interactive credential check that wants a fast answer passes ``max_retries=0``.
* URLs that cannot be built or sent at all (bad domain text) raise ``Unreachable`` at once.
* ``download`` follows up to three redirects by hand, because short-lived file links
  commonly bounce to object storage; the token is only attached to the API's own origin,
  at every hop. API calls never follow redirects: a 3xx there means a wrong host.
* A download refused with 401/403/404/410 by a host other than the API is reported as
  ``NotFound`` ("link expired"), not as a key problem, since our key was never sent there.
* Extract link ``from``/``to`` are parsed to naive UTC datetimes; unreadable ones become
  ``None`` rather than failing a whole job status.
"""

from __future__ import annotations

import io
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests

from webapp.freshchat.retry_after import retry_after_seconds
from webapp.freshchat.streaming import DownloadTooSlow, iter_body
from webapp.timeutil import parse_timestamp, to_naive_utc

logger = logging.getLogger(__name__)

GROUPS_PER_PAGE = 50
MAX_DOWNLOAD_REDIRECTS = 3
_DETAIL_LIMIT = 200


# --------------------------------------------------------------------------- errors


class FreshchatError(Exception):
    """Base of every failure talking to Freshchat; ``str()`` is meant for the admin."""

    kind: str = "freshchat_error"
    default_message = "Freshchat answered in a way this app does not understand."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.status = status
        self.retry_after = retry_after
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, status={self.status!r})"


class Unreachable(FreshchatError):
    kind = "unreachable"
    default_message = (
        "Freshchat could not be reached: unknown domain or Freshchat not reachable. "
        "Check the domain and this server's internet access."
    )


class Timeout(FreshchatError):
    kind = "timeout"
    default_message = "Freshchat did not answer in time. Try again in a few minutes."


class KeyRejected(FreshchatError):
    kind = "key_rejected"
    default_message = (
        "Freshchat rejected the API key (401). "
        "Copy a current key from Freshchat > Admin > API Tokens."
    )


class NotAdmin(FreshchatError):
    kind = "not_admin"
    default_message = (
        "Freshchat accepted the API key but refused access (403): the key's user needs "
        "the Account Administrator role. Use an API key of an Account Administrator."
    )


class PlanWithoutApi(FreshchatError):
    kind = "plan_without_api"
    default_message = (
        "Freshchat refused access because this account's plan does not include the API "
        "(403). A Freshchat Pro or Enterprise plan is needed."
    )


class NotFound(FreshchatError):
    kind = "not_found"
    default_message = "Freshchat says the requested item does not exist (404)."


class LinkExpired(NotFound):
    """A report file's pre-signed link was refused by its host: ask the job for fresh links."""

    kind = "link_expired"


class RateLimited(FreshchatError):
    kind = "rate_limited"
    default_message = "Freshchat is limiting requests for this account (429)."


class ServerError(FreshchatError):
    kind = "server_error"
    default_message = "Freshchat had an internal error. Try again later."


class BadRequest(FreshchatError):
    kind = "bad_request"
    default_message = "Freshchat refused the request as invalid."


class MalformedResponse(FreshchatError):
    kind = "malformed_response"
    default_message = (
        "Freshchat's answer was not the data expected; check that the domain is the "
        "account's Freshchat host (for example example.freshchat.com)."
    )


class ExtractFailed(FreshchatError):
    kind = "extract_failed"
    default_message = "Freshchat could not prepare the requested report. The next sync retries it."


# A file of a completed job is ready only with one of these statuses (or none at all).
FILE_READY = frozenset({"SUCCESS", "COMPLETED"})


_PLAN_WORDS = frozenset({"plan", "plans", "feature", "features", "subscription", "subscriptions"})


def looks_like_plan_restriction(body: object) -> bool:
    """Whether a 403 body blames the plan rather than the user's role.

    Freshchat documents no distinct code for "your plan has no API", so this is our
    assumption: the error's ``status`` or ``message`` mentions a plan, feature or
    subscription (``FEATURE_NOT_AVAILABLE``, "not available in your plan", ...).
    """
    if not isinstance(body, dict):
        return False
    text = " ".join(str(body.get(key) or "") for key in ("status", "message"))
    return bool(_PLAN_WORDS.intersection(re.split(r"[^a-z]+", text.lower())))


# --------------------------------------------------------------------------- records


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


class _Secret:
    """Holds the API key so that no repr, vars() dump or f-string can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<hidden>"

    __str__ = __repr__


# --------------------------------------------------------------------------- helpers


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _loggable(url: str) -> str:
    # Download links are usually signed in their query string; paths are enough to debug.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _parse_optional_time(value: object) -> datetime | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, OSError):
        return None


def _iso_ms(value: datetime) -> str:
    return to_naive_utc(value).isoformat(timespec="milliseconds") + "Z"


def _group_items(page: dict[str, Any], detail: str) -> list[dict[str, Any]]:
    """The ``groups`` of one page, refusing anything that is not a list of objects with ids.

    ``detail`` (Freshchat's own words, if the body carried a ``message``) is appended
    because a 200 holding an error object is the likeliest way to get here.
    """
    groups = page.get("groups")
    if not isinstance(groups, list):
        raise MalformedResponse(
            "Freshchat's answer to the list of groups held no list of groups; "
            "queues were left as they were. The next sync asks again." + detail
        )
    for item in groups:
        raw_id = item.get("id") if isinstance(item, dict) else None
        usable = isinstance(raw_id, str) and raw_id.strip()
        usable = usable or (isinstance(raw_id, int) and not isinstance(raw_id, bool))
        if not usable:
            raise MalformedResponse(
                "Freshchat's list of groups held an entry that is not a group with an id; "
                "queues were left as they were. The next sync asks again."
            )
    return groups


def _total_items(page: dict[str, Any]) -> int | None:
    """``pagination.total_items`` when stated as a whole number, else None (not all pages say)."""
    pagination = page.get("pagination")
    total = pagination.get("total_items") if isinstance(pagination, dict) else None
    if isinstance(total, bool):
        return None
    if isinstance(total, int):
        return max(total, 0)
    if isinstance(total, str) and total.strip().isdigit():
        return int(total.strip())
    return None


# --------------------------------------------------------------------------- client


class FreshchatClient:
    """One account's API. Knows nothing of Flask or the database; safe to use per thread."""

    def __init__(
        self,
        domain: str,
        api_key: str,
        *,
        api_url_template: str = "https://{domain}/v2",
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_retries: int = 4,
        backoff_base: float = 1.0,
        max_wait: float = 120.0,
        download_deadline: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.domain = domain.strip()
        self.base_url = api_url_template.format(domain=self.domain).rstrip("/")
        self._origin = _origin(self.base_url)
        self._key = _Secret(api_key)
        self._session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.max_wait = max_wait
        self.download_deadline = download_deadline  # whole file, however it trickles
        self._sleep = sleep
        self._clock = clock
        self.rng = rng or random.Random()
        self.calls = 0
        self._rate_limit_seen: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"FreshchatClient(base_url={self.base_url!r})"

    def wrap_waits(
        self, wrap: Callable[[Callable[[float], None]], Callable[[float], None]]
    ) -> None:
        """Route every wait (job polls, retry pauses) through ``wrap(sleep)``: the sync
        renews its lease there and stops on shutdown without waiting the pause out."""
        self._sleep = wrap(self._sleep)

    # ----------------------------------------------------------------- public API

    def get_configuration(self) -> dict[str, Any]:
        """The cheapest authenticated call: proves domain, key and rights in one request."""
        body = self._get_json(self._url("/accounts/configuration"))
        if not isinstance(body, dict):
            raise MalformedResponse(
                "Freshchat's account configuration was not the expected object; "
                "check that the domain is the account's Freshchat host."
            )
        return body

    def iter_groups(self) -> Iterator[dict[str, Any]]:
        """Every group, page by page, following Freshchat's own ``next_page`` links.

        The caller marks every group missing from this listing as deleted and recounts its
        chats into Undefined_Queue, so an answer that merely *looks* short must fail here
        rather than pass for a complete listing:

        * a page without a ``groups`` list (``{}``, ``{"groups": null}``, an error object
          sent with 200) or with items that are not objects with an id is malformed;
        * an empty page ends the listing only when it links nowhere. An empty page that
          links onwards is refused rather than followed: pages are numbered, so nothing
          short of a page cap would stop a server that keeps linking to empty pages, and a
          listing with a hole in it is exactly what must not be trusted. The sync fails
          and the next one asks again;
        * when pages state ``pagination.total_items``, reading fewer distinct groups than
          the largest total stated means a group was missed (pages shift when groups are
          added or deleted while we read), so the listing is refused too.

        Groups are yielded as pages arrive; a refusal can come after some were yielded, so
        callers must read the whole listing before acting on it (``list(...)``).
        """
        url = self._url("/groups") + "?" + urlencode({"page": 1, "items_per_page": GROUPS_PER_PAGE})
        seen_urls: set[str] = set()
        seen_ids: set[str] = set()
        stated_total = 0
        while url:
            seen_urls.add(url)
            page = self._get_json(url)
            if not isinstance(page, dict):
                raise MalformedResponse("Freshchat's list of groups was not the expected object.")
            groups = _group_items(page, self._detail(page))
            stated_total = max(stated_total, _total_items(page) or 0)
            for group in groups:
                group_id = str(group["id"]).strip()
                if group_id not in seen_ids:
                    seen_ids.add(group_id)
                    yield group
            next_url = self._next_page_url(page)
            if next_url is None:
                break
            if not groups:
                raise MalformedResponse(
                    "Freshchat sent an empty page of groups that still links to a next page; "
                    "the listing is incomplete, so queues were left as they were. "
                    "The next sync asks again."
                )
            if next_url in seen_urls:
                raise MalformedResponse(
                    "Freshchat's list of groups pointed back to a page already read; "
                    "stopped to avoid an endless loop."
                )
            url = next_url
        if len(seen_ids) < stated_total:
            raise MalformedResponse(
                f"Freshchat said it has {stated_total} groups but listed only {len(seen_ids)}; "
                "the listing is incomplete (groups may have changed while it was read), so "
                "queues were left as they were. The next sync asks again."
            )

    def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        """One conversation; used to learn the group of a chat resolved without one."""
        url = self._url("/conversations/" + quote(str(conversation_id), safe=""))
        body = self._get_json(url)
        if not isinstance(body, dict):
            raise MalformedResponse("Freshchat's conversation was not the expected object.")
        return body

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

    # ----------------------------------------------------------------- internals

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _absolute(self, href: str) -> str:
        href = href.strip()
        if urlsplit(href).scheme:
            return href
        return self._origin + ("" if href.startswith("/") else "/") + href

    def _next_page_url(self, page: dict[str, Any]) -> str | None:
        links = page.get("links")
        next_page = links.get("next_page") if isinstance(links, dict) else None
        href = next_page.get("href") if isinstance(next_page, dict) else None
        if not isinstance(href, str) or not href.strip():
            return None
        url = self._absolute(href)
        if _origin(url) != self._origin:
            raise MalformedResponse(
                "Freshchat's list pointed to another host; stopped rather than send the key there."
            )
        return url

    @property
    def rate_limit_seen(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers of the latest answer that had any."""
        return dict(self._rate_limit_seen)

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

    def _headers(self, url: str, *, download: bool) -> dict[str, str]:
        headers = {"Accept": "*/*" if download else "application/json"}
        if _origin(url) == self._origin:
            headers["Authorization"] = "Bearer " + self._key.reveal()
        return headers

    def _get_json(self, url: str) -> Any:
        return self._json(self._send("GET", url))

    def _json(self, response: requests.Response) -> Any:
        content_type = response.headers.get("Content-Type", "").lower()
        if "html" in content_type or response.content[:512].lstrip()[:1] == b"<":
            raise MalformedResponse(
                f"{_host(response.url or self.base_url)} answered with a web page instead of "
                "API data: this is probably not the account's Freshchat domain "
                "(expected something like example.freshchat.com)."
            )
        try:
            return response.json()
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise MalformedResponse(
                "Freshchat's answer was not valid JSON; try again later, and check the domain "
                "if it persists."
            ) from None

    def _send(
        self,
        method: str,
        url: str,
        *,
        json_body: dict[str, Any] | None = None,
        download: bool = False,
        sink: BinaryIO | None = None,
    ) -> requests.Response:
        attempt = 0
        while True:
            error, wait = self._attempt(
                method, url, attempt, json_body=json_body, download=download, sink=sink
            )
            if isinstance(error, requests.Response):
                return error
            if wait is None or attempt >= self.max_retries:
                raise error
            if wait > self.max_wait:
                if isinstance(error, RateLimited):
                    raise RateLimited(_rate_limit_message(wait), status=429, retry_after=wait)
                wait = self.max_wait
            attempt += 1
            logger.info(
                "Freshchat %s %s: %s; retry %d of %d in %.1f s",
                method,
                _loggable(url),
                error.kind,
                attempt,
                self.max_retries,
                wait,
            )
            self._sleep(wait)

    def _attempt(
        self,
        method: str,
        url: str,
        attempt: int,
        *,
        json_body: dict[str, Any] | None,
        download: bool,
        sink: BinaryIO | None = None,
    ) -> tuple[requests.Response | FreshchatError, float | None]:
        """One request: (response, None) on success, else (error, wait or None if final).

        With a ``sink`` a successful body is streamed into it rather than held in memory;
        a failure while streaming is handled like one during the request (it is one).
        """
        host = _host(url)
        self.calls += 1
        try:
            response = self._session.request(
                method,
                url,
                headers=self._headers(url, download=download),
                json=json_body,
                timeout=self.timeout,
                allow_redirects=False,
                stream=sink is not None,
            )
            if sink is not None and 200 <= response.status_code < 300:
                sink.seek(0)
                sink.truncate()
                deadline = time.monotonic() + self.download_deadline
                for chunk in iter_body(response, deadline=deadline):
                    sink.write(chunk)
        except DownloadTooSlow:
            return Timeout(
                f"A report file from {host} was still arriving after "
                f"{self.download_deadline:g} seconds; stopped waiting for it. "
                "The next sync asks for it again."
            ), None
        except requests.exceptions.Timeout:
            logger.debug("Freshchat %s %s: timed out", method, _loggable(url))
            return Timeout(
                f"Freshchat ({host}) did not answer in time. Try again in a few minutes."
            ), self._backoff(attempt)
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ):
            return Unreachable(
                f"'{host}' is not a usable Freshchat address: unknown domain or Freshchat "
                "not reachable. Check the domain."
            ), None
        except requests.exceptions.SSLError:
            logger.debug("Freshchat %s %s: TLS error", method, _loggable(url))
            return Unreachable(
                f"Could not open a secure connection to {host}: unknown domain or Freshchat "
                "not reachable. Check the domain, and any proxy between this server and "
                "the internet."
            ), self._backoff(attempt)
        except requests.exceptions.RequestException:
            logger.debug("Freshchat %s %s: connection failed", method, _loggable(url))
            return Unreachable(
                f"Could not connect to {host}: unknown domain or Freshchat not reachable. "
                "Check the domain and this server's internet access."
            ), self._backoff(attempt)
        logger.debug("Freshchat %s %s -> %s", method, _loggable(url), response.status_code)
        limits = {k: v for k, v in response.headers.items() if k.lower().startswith("x-ratelimit")}
        if limits:
            self._rate_limit_seen = limits
        return self._classify(response, attempt, download=download)

    def _classify(
        self, response: requests.Response, attempt: int, *, download: bool
    ) -> tuple[requests.Response | FreshchatError, float | None]:
        status = response.status_code
        if 200 <= status < 300:
            return response, None
        if 300 <= status < 400:
            if download and response.headers.get("Location"):
                return response, None
            target = _host(response.headers.get("Location", "")) or "another address"
            return MalformedResponse(
                f"Freshchat answered with a redirect ({status}) to {target} instead of data; "
                "this is probably not the account's Freshchat API domain. The redirect was not "
                "followed, so the API key was not sent there.",
                status=status,
            ), None
        body = self._error_body(response)
        detail = self._detail(body)
        if (
            download
            and not (response.url or "").startswith(self.base_url + "/")
            and status
            in (
                401,
                403,
                404,
                410,
            )
        ):
            return LinkExpired(
                f"The report file could not be downloaded ({status}); its link has probably "
                "expired. The next sync asks for the report again.",
                status=status,
            ), None
        if status == 401:
            return KeyRejected(status=status), None
        if status == 403:
            if looks_like_plan_restriction(body):
                return PlanWithoutApi(PlanWithoutApi.default_message + detail, status=status), None
            return NotAdmin(NotAdmin.default_message + detail, status=status), None
        if status == 404:
            return NotFound(NotFound.default_message + detail, status=status), None
        if status == 429:
            retry_after = self._retry_after(response)
            wait = retry_after if retry_after is not None else self._backoff(attempt)
            return RateLimited(
                _rate_limit_message(retry_after), status=status, retry_after=retry_after
            ), wait
        if status >= 500:
            return ServerError(
                f"Freshchat had an internal error ({status}). Try again later." + detail,
                status=status,
            ), self._backoff(attempt)
        if 400 <= status < 500:
            return BadRequest(
                f"Freshchat refused the request as invalid ({status})." + detail, status=status
            ), None
        return MalformedResponse(
            f"Freshchat answered with an unexpected HTTP status {status}.", status=status
        ), None

    def _error_body(self, response: requests.Response) -> object:
        try:
            return response.json()
        except (ValueError, RecursionError):
            return None

    def _detail(self, body: object) -> str:
        """Freshchat's own words, short and scrubbed, appended to our sentence."""
        if not isinstance(body, dict):
            return ""
        text = body.get("message") or body.get("status")
        if not isinstance(text, str) or not text.strip():
            return ""
        text = " ".join(text.split())[:_DETAIL_LIMIT]
        key = self._key.reveal()
        if key:
            text = text.replace(key, "<hidden>")
        return f' Freshchat said: "{text}"'

    def _retry_after(self, response: requests.Response) -> float | None:
        return retry_after_seconds(response.headers, self._clock())

    def _backoff(self, attempt: int) -> float:
        # Full jitter (AWS architecture blog): spreads the retries of many syncs apart.
        ceiling = self.backoff_base * (2 ** min(attempt, 30))
        return self.rng.uniform(0.0, min(self.max_wait, ceiling))


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


def _rate_limit_message(retry_after: float | None) -> str:
    if retry_after is None:
        return "Freshchat is limiting requests for this account (429). Try again in a few minutes."
    seconds = max(1, round(retry_after))
    when = f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
    return f"Freshchat is limiting requests for this account (429). Try again in about {when}."
