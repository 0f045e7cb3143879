"""Sending requests to one Freshchat account: the key, retries, waits and typed errors.

Why it looks like this:

* The API key is the admin's full-access token. It is wrapped in ``_Secret`` so it cannot
  leak through ``repr()``/``vars()`` dumps, it is sent only to the API's own scheme+host,
  redirects are never followed with it, and nothing logged or raised contains it.
* Time and randomness are injected (``sleep``, ``clock``, ``rng``) so retry and polling
  logic is tested without real waiting.

Choices made where FRESHCHAT_API.md is silent (change them here if a real account
disagrees):

* ``X-RateLimit-Reset`` is Unix seconds; values above 10^12 are taken as milliseconds.
  ``Retry-After`` may be seconds or an HTTP date.
* Connection errors (DNS included) are retried like 5xx: a DNS blip must not fail a sync.
  An interactive credential check that wants a fast answer passes ``max_retries=0``.
* URLs that cannot be built or sent at all (bad domain text) raise ``Unreachable`` at once.
* API calls never follow redirects: a 3xx there means a wrong host.
* A download refused with 401/403/404/410 by a host other than the API is reported as
  ``NotFound`` ("link expired"), not as a key problem, since our key was never sent there.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests

from webapp.freshchat.errors import (
    BadRequest,
    FreshchatError,
    KeyRejected,
    LinkExpired,
    MalformedResponse,
    NotAdmin,
    NotFound,
    PlanWithoutApi,
    RateLimited,
    ServerError,
    Timeout,
    Unreachable,
    looks_like_plan_restriction,
)
from webapp.freshchat.retry_after import retry_after_seconds
from webapp.freshchat.streaming import DownloadTooSlow, iter_body

logger = logging.getLogger("webapp.freshchat.client")  # the name operators already filter on

_DETAIL_LIMIT = 200


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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _loggable(url: str) -> str:
    # Download links are usually signed in their query string; paths are enough to debug.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class Transport:
    """HTTP to one account's API. Knows nothing of Flask or the database; safe per thread."""

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
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def wrap_waits(
        self, wrap: Callable[[Callable[[float], None]], Callable[[float], None]]
    ) -> None:
        """Route every wait (job polls, retry pauses) through ``wrap(sleep)``: the sync
        renews its lease there and stops on shutdown without waiting the pause out."""
        self._sleep = wrap(self._sleep)

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _absolute(self, href: str) -> str:
        href = href.strip()
        if urlsplit(href).scheme:
            return href
        return self._origin + ("" if href.startswith("/") else "/") + href

    @property
    def rate_limit_seen(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers of the latest answer that had any."""
        return dict(self._rate_limit_seen)

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


def _rate_limit_message(retry_after: float | None) -> str:
    if retry_after is None:
        return "Freshchat is limiting requests for this account (429). Try again in a few minutes."
    seconds = max(1, round(retry_after))
    when = f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
    return f"Freshchat is limiting requests for this account (429). Try again in about {when}."
