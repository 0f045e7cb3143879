"""Reading a response body with an overall deadline, however slowly it arrives.

``requests``' read timeout bounds each wait for the *next* bytes, not the whole body: a
server that sends one byte every few seconds never trips it, and ``iter_content`` even
waits for a whole chunk to fill. Here each read returns whatever one socket read brought
(``read1``), so the deadline is checked at least once per read timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

CHUNK_BYTES = 1 << 16


class DownloadTooSlow(Exception):
    """The body was still arriving when the deadline passed."""


def iter_body(
    response: requests.Response,
    *,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[bytes]:
    """The decoded body in pieces; raises ``DownloadTooSlow`` once ``clock()`` passes
    ``deadline``, and the ``requests`` exceptions ``iter_content`` would raise otherwise."""
    raw = response.raw
    while True:
        if clock() > deadline:
            response.close()
            raise DownloadTooSlow()
        try:
            chunk = raw.read1(CHUNK_BYTES, decode_content=True)
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except ReadTimeoutError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
        except SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        if not chunk:
            return
        yield chunk
