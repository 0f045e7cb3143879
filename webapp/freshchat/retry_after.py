"""How long Freshchat asks us to wait, read so that no header value can hurt.

``Retry-After`` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3); Freshchat also
sends ``X-RateLimit-Reset`` (Unix time; values above 10^12 are taken as milliseconds).
Anything else a server may send (``inf``, ``1e400``, ``nan``, negatives, hex, words, dates
before now or beyond any calendar) must neither raise (an ``OverflowError`` from
``round(inf)`` once turned **Test connection** into a 500) nor make a sync wait forever:

* values that are not finite, non-negative numbers are ignored (the caller then backs off
  by itself), and so is an unreadable date;
* dates in the past mean "now" (0 seconds);
* everything is capped at ``MAX_RETRY_AFTER_SECONDS``; the client's own ``max_wait``
  decides what it actually honours.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import UTC

MAX_RETRY_AFTER_SECONDS = 86_400.0  # a day: anything longer is a "come back later" anyway
_NUMBER = re.compile(r"-?\d+(\.\d+)?")  # no exponent, no inf, no nan, no hex


def _number(text: str) -> float | None:
    """A plain decimal number (a huge one becomes inf, capped later); None otherwise."""
    return float(text) if _NUMBER.fullmatch(text) else None


def _until(when_seconds: float, now: float) -> float:
    return min(max(0.0, when_seconds - now), MAX_RETRY_AFTER_SECONDS)


def _http_date(text: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return _until(when.timestamp(), now)
    except (TypeError, ValueError, IndexError, OverflowError, OSError, AttributeError):
        return None


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait before retrying, from a 429's headers; None when they don't say."""
    retry_after = (headers.get("Retry-After") or "").strip()
    seconds = _number(retry_after)
    if seconds is not None and seconds >= 0:
        return min(seconds, MAX_RETRY_AFTER_SECONDS)
    if seconds is None and retry_after:
        at = _http_date(retry_after, now)
        if at is not None:
            return at
    reset = _number((headers.get("X-RateLimit-Reset") or "").strip())
    if reset is None:
        return None
    if reset > 1e12:
        reset /= 1000.0
    return _until(reset, now)
