"""FreshchatClient against mocked HTTP: errors, retries, paging, Extract jobs, secrecy."""

from __future__ import annotations

import io
import json
import logging
import random
import tempfile
import traceback
from datetime import datetime

import pytest
import requests
import responses

from webapp.freshchat.client import (
    BadRequest,
    ExtractFailed,
    ExtractStatus,
    FreshchatClient,
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

KEY = "sk-test-9f8e7d6c5b4a-SECRET"
BASE = "https://acme.freshchat.com/v2"
CONFIG = BASE + "/accounts/configuration"


class FakeTime:
    """Records every requested wait and advances a fake clock by it."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def fake_time():
    return FakeTime()


def make_client(fake_time: FakeTime, **kwargs) -> FreshchatClient:
    kwargs.setdefault("rng", random.Random(7))
    return FreshchatClient(
        "acme.freshchat.com", KEY, sleep=fake_time.sleep, clock=fake_time.clock, **kwargs
    )


@pytest.fixture
def client(fake_time):
    return make_client(fake_time)


# --------------------------------------------------------------------------- success


def test_configuration_sends_bearer_key_and_accept_json(rsps, client):
    rsps.get(CONFIG, json={"account_id": "1", "plan_type": "pro"})
    assert client.get_configuration() == {"account_id": "1", "plan_type": "pro"}
    sent = rsps.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Accept"] == "application/json"
    assert client.calls == 1


def test_configuration_must_be_an_object(rsps, client):
    rsps.get(CONFIG, json=[1, 2])
    with pytest.raises(MalformedResponse):
        client.get_configuration()


# --------------------------------------------------------------------------- errors


def test_401_is_key_rejected_and_not_retried(rsps, client, fake_time):
    rsps.get(CONFIG, status=401, json={"code": 401, "status": "UNAUTHORIZED"})
    with pytest.raises(KeyRejected) as info:
        client.get_configuration()
    assert info.value.kind == "key_rejected"
    assert info.value.status == 401
    assert "API key" in str(info.value) and "API Tokens" in str(info.value)
    assert client.calls == 1
    assert fake_time.waits == []


def test_403_without_plan_words_means_not_admin(rsps, client):
    rsps.get(CONFIG, status=403, json={"code": 403, "status": "FORBIDDEN", "message": "denied"})
    with pytest.raises(NotAdmin) as info:
        client.get_configuration()
    assert info.value.kind == "not_admin"
    assert "Account Administrator" in str(info.value)
    assert client.calls == 1


def test_403_mentioning_the_plan_means_plan_without_api(rsps, client):
    rsps.get(
        CONFIG,
        status=403,
        json={"code": 403, "status": "FEATURE_NOT_AVAILABLE", "message": "Upgrade your plan"},
    )
    with pytest.raises(PlanWithoutApi) as info:
        client.get_configuration()
    assert info.value.kind == "plan_without_api"
    assert "plan" in str(info.value)
    assert client.calls == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": "FEATURE_NOT_AVAILABLE"}, True),
        ({"message": "API access is not part of your subscription"}, True),
        ({"status": "ACCESS_DENIED", "message": "Only administrators"}, False),
        ({"message": "explanation pending"}, False),
        ("plan", False),
        (None, False),
    ],
)
def test_plan_restriction_heuristic(body, expected):
    assert looks_like_plan_restriction(body) is expected


def test_404_is_not_found_with_freshchat_words(rsps, client):
    url = BASE + "/conversations/abc"
    rsps.get(url, status=404, json={"code": 404, "status": "NOT_FOUND", "message": "gone"})
    with pytest.raises(NotFound) as info:
        client.get_conversation("abc")
    assert info.value.status == 404
    assert '"gone"' in str(info.value)
    assert client.calls == 1


@pytest.mark.parametrize("status", [400, 409, 422])
def test_other_4xx_are_bad_request_and_not_retried(rsps, client, status):
    rsps.get(CONFIG, status=status, json={"message": "bad"})
    with pytest.raises(BadRequest) as info:
        client.get_configuration()
    assert info.value.status == status
    assert client.calls == 1


def test_429_waits_retry_after_then_succeeds(rsps, client, fake_time):
    rsps.get(CONFIG, status=429, headers={"Retry-After": "7"})
    rsps.get(CONFIG, json={"account_id": "1"})
    assert client.get_configuration() == {"account_id": "1"}
    assert fake_time.waits == [7.0]
    assert client.calls == 2


def test_429_uses_rate_limit_reset_when_no_retry_after(rsps, client, fake_time):
    reset = int(fake_time.now) + 12
    rsps.get(CONFIG, status=429, headers={"X-RateLimit-Reset": str(reset)})
    rsps.get(CONFIG, json={})
    client.get_configuration()
    assert fake_time.waits == [pytest.approx(12.0)]


def test_429_beyond_max_wait_raises_at_once(rsps, fake_time):
    client = make_client(fake_time, max_wait=60.0)
    rsps.get(CONFIG, status=429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited) as info:
        client.get_configuration()
    assert info.value.retry_after == 600.0
    assert info.value.kind == "rate_limited"
    assert "10 minutes" in str(info.value)
    assert fake_time.waits == []
    assert client.calls == 1


def test_500_then_200_is_retried_with_jittered_backoff(rsps, client, fake_time):
    rsps.get(CONFIG, status=500)
    rsps.get(CONFIG, json={"ok": True})
    assert client.get_configuration() == {"ok": True}
    assert len(fake_time.waits) == 1
    assert 0.0 <= fake_time.waits[0] <= 1.0
    assert client.calls == 2


def test_persistent_503_gives_up_after_max_retries(rsps, fake_time):
    client = make_client(fake_time, max_retries=3, backoff_base=2.0)
    for _ in range(4):
        rsps.get(CONFIG, status=503)
    with pytest.raises(ServerError) as info:
        client.get_configuration()
    assert info.value.status == 503
    assert client.calls == 4
    assert len(fake_time.waits) == 3
    for attempt, wait in enumerate(fake_time.waits):
        assert 0.0 <= wait <= 2.0 * 2**attempt


def test_backoff_is_reproducible_with_a_seeded_rng(rsps):
    waits = []
    for _ in range(2):
        fake = FakeTime()
        client = make_client(fake, rng=random.Random(42), max_retries=2)
        for _ in range(3):
            rsps.get(CONFIG, status=502)
        with pytest.raises(ServerError):
            client.get_configuration()
        waits.append(fake.waits)
    assert waits[0] == waits[1]


@pytest.mark.parametrize(
    "exc", [requests.exceptions.ConnectTimeout(), requests.exceptions.ReadTimeout()]
)
def test_timeouts_are_retried_then_raised(rsps, fake_time, exc):
    client = make_client(fake_time, max_retries=1)
    rsps.get(CONFIG, body=exc)
    rsps.get(CONFIG, body=exc)
    with pytest.raises(Timeout) as info:
        client.get_configuration()
    assert info.value.kind == "timeout"
    assert client.calls == 2
    assert len(fake_time.waits) == 1


def test_timeout_then_success(rsps, client):
    rsps.get(CONFIG, body=requests.exceptions.ReadTimeout())
    rsps.get(CONFIG, json={"a": 1})
    assert client.get_configuration() == {"a": 1}


def test_connection_error_is_unreachable(rsps, fake_time):
    client = make_client(fake_time, max_retries=0)
    rsps.get(CONFIG, body=requests.exceptions.ConnectionError("Name or service not known"))
    with pytest.raises(Unreachable) as info:
        client.get_configuration()
    assert "unknown domain or Freshchat not reachable" in str(info.value)
    assert "acme.freshchat.com" in str(info.value)
    assert client.calls == 1


def test_tls_error_is_unreachable(rsps, fake_time):
    client = make_client(fake_time, max_retries=0)
    rsps.get(CONFIG, body=requests.exceptions.SSLError("bad certificate"))
    with pytest.raises(Unreachable):
        client.get_configuration()


def test_malformed_json(rsps, client):
    rsps.get(CONFIG, body="{not json", content_type="application/json")
    with pytest.raises(MalformedResponse) as info:
        client.get_configuration()
    assert "JSON" in str(info.value)


def test_html_on_200_means_wrong_host(rsps, client):
    rsps.get(CONFIG, body="<!doctype html><html>Portal</html>", content_type="text/html")
    with pytest.raises(MalformedResponse) as info:
        client.get_configuration()
    assert "web page" in str(info.value)


def test_redirect_is_not_followed(rsps, client):
    rsps.get(CONFIG, status=302, headers={"Location": "https://login.example.net/sso"})
    with pytest.raises(MalformedResponse) as info:
        client.get_configuration()
    assert info.value.status == 302
    assert "login.example.net" in str(info.value)
    assert len(rsps.calls) == 1
    assert client.calls == 1


def test_every_error_is_a_freshchat_error_with_a_kind():
    for cls in (
        Unreachable,
        Timeout,
        KeyRejected,
        NotAdmin,
        PlanWithoutApi,
        NotFound,
        RateLimited,
        ServerError,
        BadRequest,
        MalformedResponse,
        ExtractFailed,
    ):
        error = cls()
        assert isinstance(error, FreshchatError)
        assert error.kind and error.kind != FreshchatError.kind
        assert str(error).endswith(".")
        assert error.status is None and error.retry_after is None


# --------------------------------------------------------------------------- paging


def _groups_page(ids, next_href=None):
    page = {"groups": [{"id": i, "name": f"Group {i}"} for i in ids], "links": {}}
    if next_href:
        page["links"]["next_page"] = {"href": next_href}
    return page


def test_groups_follow_next_page_links(rsps, client):
    rsps.get(
        BASE + "/groups?page=1&items_per_page=50",
        json=_groups_page(["a", "b"], "/v2/groups?page=2&items_per_page=50"),
    )
    rsps.get(
        BASE + "/groups?page=2&items_per_page=50",
        json=_groups_page(["c"], "/v2/groups?page=3&items_per_page=50"),
    )
    rsps.get(BASE + "/groups?page=3&items_per_page=50", json=_groups_page(["d"]))
    assert [g["id"] for g in client.iter_groups()] == ["a", "b", "c", "d"]
    assert client.calls == 3
    assert all(c.request.headers["Authorization"] == f"Bearer {KEY}" for c in rsps.calls)


def test_groups_with_path_prefixed_http_base(rsps, fake_time):
    base = "http://127.0.0.1:5001/sim/acme.freshchat.com/v2"
    client = make_client(fake_time, api_url_template="http://127.0.0.1:5001/sim/{domain}/v2")
    rsps.get(
        base + "/groups?page=1&items_per_page=50",
        json=_groups_page(["a"], "/sim/acme.freshchat.com/v2/groups?page=2&items_per_page=50"),
    )
    rsps.get(
        base + "/groups?page=2&items_per_page=50",
        json=_groups_page(["b"], "/sim/acme.freshchat.com/v2/groups?page=3&items_per_page=50"),
    )
    rsps.get(base + "/groups?page=3&items_per_page=50", json={"groups": [{"id": "c"}]})
    assert [g["id"] for g in client.iter_groups()] == ["a", "b", "c"]


def test_groups_answer_without_groups_key_is_refused(rsps, client):
    # Formerly read as "no groups at all", which deleted every stored group.
    rsps.get(BASE + "/groups?page=1&items_per_page=50", json={"pagination": {}})
    with pytest.raises(MalformedResponse, match="held no list of groups"):
        list(client.iter_groups())


def test_groups_page_loop_is_stopped(rsps, client):
    rsps.get(
        BASE + "/groups?page=1&items_per_page=50",
        json=_groups_page(["a"], "/v2/groups?page=2&items_per_page=50"),
    )
    rsps.get(
        BASE + "/groups?page=2&items_per_page=50",
        json=_groups_page(["b"], "/v2/groups?page=1&items_per_page=50"),
    )
    with pytest.raises(MalformedResponse):
        list(client.iter_groups())


def test_groups_next_page_on_another_host_is_refused(rsps, client):
    rsps.get(
        BASE + "/groups?page=1&items_per_page=50",
        json=_groups_page(["a"], "https://evil.example.com/v2/groups?page=2"),
    )
    with pytest.raises(MalformedResponse):
        list(client.iter_groups())
    assert client.calls == 1


def test_groups_wrong_shape(rsps, client):
    rsps.get(BASE + "/groups?page=1&items_per_page=50", json={"groups": "nope"})
    with pytest.raises(MalformedResponse):
        list(client.iter_groups())


# --------------------------------------------------------------------------- extracts


def test_request_extract_posts_exact_window(rsps, client):
    rsps.post(
        BASE + "/reports/raw",
        json={"id": "job-1", "link": {"rel": "extracts", "href": "/reports/raw/job-1"}},
    )
    job = client.request_extract(
        "Conversation-Resolved", datetime(2026, 11, 1), datetime(2026, 11, 2, 0, 0, 0, 500000)
    )
    assert job == "job-1"
    assert json.loads(rsps.calls[0].request.body) == {
        "start": "2026-11-01T00:00:00.000Z",
        "end": "2026-11-02T00:00:00.500Z",
        "event": "Conversation-Resolved",
        "format": "csv",
    }


def test_request_extract_without_id_is_malformed(rsps, client):
    rsps.post(BASE + "/reports/raw", json={"link": {}})
    with pytest.raises(MalformedResponse):
        client.request_extract("Conversation-Created", datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_request_extract_rejects_empty_window(client):
    with pytest.raises(ValueError):
        client.request_extract("Conversation-Created", datetime(2026, 1, 2), datetime(2026, 1, 2))


def _job(status, links=()):
    return {"id": "job-1", "status": status, "interval": "P1D", "links": list(links)}


FILE_LINK = {
    "link": {"href": "https://files.example-cdn.com/x.zip?sig=abc"},
    "from": "2026-11-01T00:00:00.000Z",
    "to": "2026-11-02T00:00:00.000Z",
    "status": "completed",
}


def test_wait_for_extract_polls_until_completed(rsps, client, fake_time):
    url = BASE + "/reports/raw/job-1"
    rsps.get(url, json=_job("PENDING"))
    rsps.get(url, json=_job("pending"))
    rsps.get(url, json=_job("COMPLETED", [FILE_LINK]))
    status = client.wait_for_extract("job-1", poll_interval=5.0)
    assert isinstance(status, ExtractStatus)
    assert status.status == "COMPLETED"
    assert fake_time.waits == [5.0, 5.0]
    [link] = status.links
    assert link.href == "https://files.example-cdn.com/x.zip?sig=abc"
    assert link.from_ == datetime(2026, 11, 1)
    assert link.to == datetime(2026, 11, 2)
    assert link.status == "COMPLETED"


def test_wait_for_extract_failed(rsps, client):
    rsps.get(BASE + "/reports/raw/job-1", json=_job("FAILED"))
    with pytest.raises(ExtractFailed) as info:
        client.wait_for_extract("job-1")
    assert info.value.kind == "extract_failed"


def test_wait_for_extract_times_out(rsps, client, fake_time):
    for _ in range(3):
        rsps.get(BASE + "/reports/raw/job-1", json=_job("PENDING"))
    with pytest.raises(Timeout):
        client.wait_for_extract("job-1", poll_interval=5.0, timeout=10.0)
    assert fake_time.waits == [5.0, 5.0]


def test_get_extract_wrong_shape(rsps, client):
    rsps.get(BASE + "/reports/raw/job-1", json={"id": "job-1", "status": "COMPLETED", "links": 3})
    with pytest.raises(MalformedResponse):
        client.get_extract("job-1")


def test_download_sends_key_only_to_the_api_host(rsps, client):
    rsps.get("https://files.example-cdn.com/x.zip?sig=abc", body=b"PK-other")
    rsps.get("https://acme.freshchat.com/v2/reports/raw/job-1/file", body=b"PK-same")
    assert client.download("https://files.example-cdn.com/x.zip?sig=abc") == b"PK-other"
    assert client.download("/v2/reports/raw/job-1/file") == b"PK-same"
    assert "Authorization" not in rsps.calls[0].request.headers
    assert rsps.calls[1].request.headers["Authorization"] == f"Bearer {KEY}"
    assert client.calls == 2


def test_download_same_host_but_http_gets_no_key(rsps, client):
    rsps.get("http://acme.freshchat.com/file.zip", body=b"x")
    client.download("http://acme.freshchat.com/file.zip")
    assert "Authorization" not in rsps.calls[0].request.headers


def test_download_follows_redirect_without_key(rsps, client):
    rsps.get(
        BASE + "/reports/raw/job-1/file",
        status=302,
        headers={"Location": "https://bucket.example-cdn.com/f.zip?sig=1"},
    )
    rsps.get("https://bucket.example-cdn.com/f.zip?sig=1", body=b"zipbytes")
    assert client.download(BASE + "/reports/raw/job-1/file") == b"zipbytes"
    assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"
    assert "Authorization" not in rsps.calls[1].request.headers


def test_expired_download_link_is_not_found(rsps, client):
    rsps.get("https://files.example-cdn.com/x.zip", status=403, body="<Error>Expired</Error>")
    with pytest.raises(NotFound) as info:
        client.download("https://files.example-cdn.com/x.zip")
    assert "expired" in str(info.value)


def test_calls_counts_every_request_including_retries_and_downloads(rsps, client):
    rsps.get(CONFIG, status=500)
    rsps.get(CONFIG, json={})
    rsps.get("https://files.example-cdn.com/x.zip", body=b"x")
    client.get_configuration()
    client.download("https://files.example-cdn.com/x.zip")
    assert client.calls == 3


# --------------------------------------------------------------------------- secrecy


def test_key_never_in_repr_errors_or_logs(rsps, fake_time, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(fake_time, max_retries=1)
    rsps.get(CONFIG, status=401, json={"message": f"token {KEY} is invalid"})
    rsps.get(BASE + "/conversations/x", status=404, json={"message": f"no such {KEY}"})
    rsps.get(BASE + "/conversations/y", status=500)
    rsps.get(BASE + "/conversations/y", body=requests.exceptions.ConnectionError(KEY))
    errors = []
    for call in (
        client.get_configuration,
        lambda: client.get_conversation("x"),
        lambda: client.get_conversation("y"),
    ):
        with pytest.raises(FreshchatError) as info:
            call()
        errors.append(info.value)
    assert caplog.records, "the client should log its requests"
    for record in caplog.records:
        assert KEY not in record.getMessage()
    assert KEY not in caplog.text
    for error in errors:
        assert KEY not in str(error)
        assert KEY not in repr(error)
    assert KEY not in repr(client)
    assert KEY not in str(vars(client))


# --------------------------------------------------------------------------- download_to
#
# The sync streams every Extract file into a temporary file with ``download_to``; these
# tests pin what it must keep doing: stream, retry like any other call, keep the key home.

CDN = "https://files.example-cdn.com/extract/x.zip"
SIGNED = CDN + "?X-Amz-Signature=c0ffee42&X-Amz-Expires=300"
BODY = bytes(range(256)) * 1200  # 300 KiB: several 64 KiB chunks


class CutOff(io.RawIOBase):
    """A response body whose connection drops after ``cut`` bytes."""

    def __init__(self, data: bytes, cut: int, reason: str = "Connection reset by peer") -> None:
        self.data = data
        self.cut = cut
        self.reason = reason
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.position >= self.cut:
            raise ConnectionResetError(104, self.reason)
        size = min(len(buffer), self.cut - self.position)
        buffer[:size] = self.data[self.position : self.position + size]
        self.position += size
        return size


def cut_off(data: bytes = BODY, cut: int = 100_000, reason: str = "reset") -> io.BufferedReader:
    return io.BufferedReader(CutOff(data, cut, reason))


class RecordingSink(io.BytesIO):
    """A sink that remembers how the body arrived."""

    def __init__(self, initial: bytes = b"") -> None:
        super().__init__(initial)
        self.writes: list[int] = []

    def write(self, data) -> int:
        self.writes.append(len(data))
        return super().write(data)


def sent_key(call) -> bool:
    return any(KEY in value for value in call.request.headers.values())


def test_download_to_streams_the_body_into_the_sink(rsps, client):
    rsps.get(SIGNED, body=BODY)
    sink = RecordingSink()
    assert client.download_to(SIGNED, sink) is None
    assert sink.getvalue() == BODY
    assert len(sink.writes) >= 2 and max(sink.writes) <= 1 << 16  # chunks, not one blob
    assert rsps.calls[0].request.req_kwargs["stream"] is True
    assert rsps.calls[0].request.headers["Accept"] == "*/*"


def test_download_to_replaces_what_the_sink_held(rsps, client):
    rsps.get(SIGNED, body=b"short")
    with tempfile.TemporaryFile() as sink:
        sink.write(b"an older, much longer file content")
        client.download_to(SIGNED, sink)
        sink.seek(0)
        assert sink.read() == b"short"


def test_download_to_retries_a_body_cut_off_midway_and_keeps_only_the_full_copy(
    rsps, client, fake_time
):
    rsps.get(SIGNED, body=cut_off(cut=100_000))
    rsps.get(SIGNED, body=cut_off(cut=250_000))
    rsps.get(SIGNED, body=BODY)
    sink = RecordingSink()
    client.download_to(SIGNED, sink)
    assert sink.getvalue() == BODY  # no leftovers of the broken attempts
    assert client.calls == 3
    assert len(fake_time.waits) == 2
    for attempt, wait in enumerate(fake_time.waits):
        assert 0.0 <= wait <= client.backoff_base * 2**attempt


def test_download_to_retries_a_body_shorter_than_announced(rsps, client, fake_time):
    rsps.get(
        SIGNED,
        body=BODY[:1000],
        headers={"Content-Length": str(len(BODY))},
        auto_calculate_content_length=False,
    )
    rsps.get(SIGNED, body=BODY)
    sink = io.BytesIO()
    client.download_to(SIGNED, sink)
    assert sink.getvalue() == BODY
    assert client.calls == 2 and len(fake_time.waits) == 1


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 503},
        {"body": requests.exceptions.ConnectionError("connection refused")},
        {"body": requests.exceptions.ReadTimeout()},
    ],
)
def test_download_to_retries_errors_before_the_body(rsps, client, fake_time, failure):
    rsps.get(SIGNED, **failure)
    rsps.get(SIGNED, body=BODY)
    sink = io.BytesIO()
    client.download_to(SIGNED, sink)
    assert sink.getvalue() == BODY
    assert client.calls == 2
    assert len(fake_time.waits) == 1 and 0.0 <= fake_time.waits[0] <= 1.0


def test_download_to_gives_up_after_max_retries_like_any_call(rsps, fake_time):
    client = make_client(fake_time, max_retries=2, backoff_base=2.0)
    rsps.get(SIGNED, status=502)
    rsps.get(SIGNED, body=cut_off())
    rsps.get(SIGNED, status=503)
    with pytest.raises(ServerError) as info:
        client.download_to(SIGNED, io.BytesIO())
    assert info.value.status == 503
    assert client.calls == 3
    assert len(fake_time.waits) == 2
    for attempt, wait in enumerate(fake_time.waits):
        assert 0.0 <= wait <= 2.0 * 2**attempt


def test_download_to_body_cut_off_every_time_is_unreachable(rsps, fake_time):
    client = make_client(fake_time, max_retries=1)
    rsps.get(SIGNED, body=cut_off())
    rsps.get(SIGNED, body=cut_off())
    with pytest.raises(Unreachable) as info:
        client.download_to(SIGNED, io.BytesIO())
    assert "files.example-cdn.com" in str(info.value)
    assert client.calls == 2


def test_download_to_waits_retry_after_on_429(rsps, client, fake_time):
    rsps.get(SIGNED, status=429, headers={"Retry-After": "3"})
    rsps.get(SIGNED, body=BODY)
    sink = io.BytesIO()
    client.download_to(SIGNED, sink)
    assert sink.getvalue() == BODY
    assert fake_time.waits == [3.0]


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        (SIGNED, 403, NotFound),  # expired presigned link: our key was never sent there
        (SIGNED, 410, NotFound),
        (SIGNED, 400, BadRequest),
        (BASE + "/reports/raw/job-1/file", 401, KeyRejected),
        (BASE + "/reports/raw/job-1/file", 404, NotFound),
    ],
)
def test_download_to_does_not_retry_final_answers(rsps, client, fake_time, url, status, error):
    rsps.get(url, status=status, body="<Error>nope</Error>")
    sink = io.BytesIO(b"untouched")
    with pytest.raises(error):
        client.download_to(url, sink)
    assert client.calls == 1 and fake_time.waits == []
    assert sink.getvalue() == b"untouched"  # an error body never lands in the file


def test_download_to_redirect_then_retry_never_sends_the_key_off_host(rsps, client, fake_time):
    api_file = BASE + "/reports/raw/job-1/file"
    rsps.get(api_file, status=302, headers={"Location": SIGNED})
    rsps.get(SIGNED, body=cut_off())
    rsps.get(SIGNED, status=503)
    rsps.get(SIGNED, body=BODY)
    sink = io.BytesIO()
    client.download_to(api_file, sink)
    assert sink.getvalue() == BODY
    assert [call.request.url for call in rsps.calls] == [api_file, SIGNED, SIGNED, SIGNED]
    assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"
    assert [sent_key(call) for call in rsps.calls[1:]] == [False, False, False]
    assert all("Authorization" not in call.request.headers for call in rsps.calls[1:])


def test_download_to_relative_redirect_stays_on_the_api_host(rsps, client):
    rsps.get(BASE + "/reports/raw/job-1/file", status=307, headers={"Location": "/v2/files/1"})
    rsps.get(BASE + "/files/1", body=b"csv")
    assert client.download("/v2/reports/raw/job-1/file") == b"csv"
    assert all(call.request.headers["Authorization"] == f"Bearer {KEY}" for call in rsps.calls)


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.freshchat.com.evil.example/v2/x.zip",
        "https://evil.example/acme.freshchat.com/v2/x.zip",
        "https://acme.freshchat.com@evil.example/v2/x.zip",
        "https://acme.freshchat.com:8443/v2/x.zip",
        "https://other.freshchat.com/v2/x.zip",  # another account on the same service
        "https://api.freshchat.com/v2/x.zip",
        "http://acme.freshchat.com/v2/x.zip",
    ],
)
def test_download_to_keeps_the_key_from_lookalike_hosts(rsps, client, url):
    rsps.get(url, body=b"x")
    client.download_to(url, io.BytesIO())
    [call] = rsps.calls
    assert not sent_key(call)
    assert not call.request.headers.get("Authorization", "").startswith("Bearer")


def test_download_to_redirect_to_a_lookalike_host_gets_no_key(rsps, client):
    evil = "https://acme.freshchat.com.evil.example/f.zip"
    rsps.get(BASE + "/reports/raw/job-1/file", status=302, headers={"Location": evil})
    rsps.get(evil, body=b"x")
    client.download_to(BASE + "/reports/raw/job-1/file", io.BytesIO())
    assert sent_key(rsps.calls[0]) and not sent_key(rsps.calls[1])


def test_download_to_stops_after_three_redirects(rsps, client):
    for hop in range(4):
        rsps.get(f"{CDN}/{hop}", status=302, headers={"Location": f"{CDN}/{hop + 1}"})
    with pytest.raises(MalformedResponse, match="redirected too many times"):
        client.download_to(f"{CDN}/0", io.BytesIO())
    assert client.calls == 4


def test_download_to_refuses_a_link_that_is_not_a_web_url(rsps, client):
    rsps.get(CDN, status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(MalformedResponse, match="not a web URL"):
        client.download_to(CDN, io.BytesIO())
    assert client.calls == 1


def _exception_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def test_download_failures_never_show_the_key_or_the_link_signature(rsps, fake_time, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(fake_time, max_retries=1)
    api_file = BASE + "/reports/raw/job-1/file"
    leaky = f"token {KEY} at {SIGNED}"
    # Freshchat's own words are quoted in errors, scrubbed of the key.
    rsps.get(api_file, status=500, json={"message": f"token {KEY} refused"})
    rsps.get(api_file, status=404, json={"message": f"token {KEY} refused"})
    rsps.get(SIGNED, body=requests.exceptions.ConnectionError(leaky))
    rsps.get(SIGNED, body=cut_off(reason=leaky))
    rsps.get(CDN, status=403, body=leaky)
    errors = []
    for href in (api_file, SIGNED, CDN):
        with pytest.raises(FreshchatError) as info:
            client.download_to(href, io.BytesIO())
        errors.append(info.value)
    assert [type(e) for e in errors] == [NotFound, Unreachable, LinkExpired]
    assert '"token <hidden> refused"' in str(errors[0])
    for error in errors:
        rendered = "".join(traceback.format_exception(error))
        for shown in (str(error), repr(error), rendered, *map(str, _exception_chain(error))):
            assert KEY not in shown
            assert "c0ffee42" not in shown
    assert "files.example-cdn.com" in caplog.text  # the log does say where it went
    assert KEY not in caplog.text
    assert "c0ffee42" not in caplog.text
    assert KEY not in repr(client) and KEY not in str(vars(client))


# --------------------------------------------------------------------------- groups: odd answers
# The sync deletes every stored group missing from this listing, so an answer that only
# looks short must raise instead of passing for a complete (and smaller) listing.

PAGE_1 = BASE + "/groups?page=1&items_per_page=50"
PAGE_2 = BASE + "/groups?page=2&items_per_page=50"


@pytest.mark.parametrize(
    "body",
    [{}, {"groups": None}, {"groups": {"id": "a"}}, {"message": "Service degraded"}],
    ids=["empty-object", "null", "object-not-list", "error-object"],
)
def test_groups_answer_without_a_list_is_malformed(rsps, client, body):
    rsps.get(PAGE_1, json=body)
    with pytest.raises(MalformedResponse) as caught:
        list(client.iter_groups())
    assert caught.value.kind == "malformed_response"
    assert "queues were left as they were" in str(caught.value)


def test_groups_answer_with_a_message_shows_freshchats_words(rsps, client):
    rsps.get(PAGE_1, json={"code": 200, "message": "Service degraded, try later"})
    with pytest.raises(MalformedResponse, match='Freshchat said: "Service degraded, try later"'):
        list(client.iter_groups())


@pytest.mark.parametrize(
    "item",
    ["g-1", None, {"name": "No id"}, {"id": ""}, {"id": "  "}, {"id": None}, {"id": True}],
    ids=["string", "null", "no-id", "empty-id", "blank-id", "null-id", "bool-id"],
)
def test_groups_entry_that_is_not_a_group_with_an_id_is_malformed(rsps, client, item):
    rsps.get(PAGE_1, json={"groups": [{"id": "a", "name": "A"}, item]})
    with pytest.raises(MalformedResponse, match="not a group with an id"):
        list(client.iter_groups())


def test_groups_numeric_ids_are_accepted(rsps, client):
    rsps.get(PAGE_1, json={"groups": [{"id": 17, "name": "Old desk"}]})
    assert [g["id"] for g in client.iter_groups()] == [17]


def test_groups_empty_page_that_links_onwards_is_refused_not_followed(rsps, client):
    rsps.get(PAGE_1, json=_groups_page(["a", "b"], "/v2/groups?page=2&items_per_page=50"))
    rsps.get(PAGE_2, json=_groups_page([], "/v2/groups?page=3&items_per_page=50"))
    listed = []
    with pytest.raises(MalformedResponse, match="empty page of groups"):
        for group in client.iter_groups():
            listed.append(group["id"])
    assert listed == ["a", "b"]
    assert client.calls == 2  # page 3 was never asked for (unfired mocks would fail too)


def test_groups_empty_last_page_ends_the_listing(rsps, client):
    # Some APIs link to one empty page after a full last page; with no next link it ends.
    rsps.get(PAGE_1, json=_groups_page(["a", "b"], "/v2/groups?page=2&items_per_page=50"))
    rsps.get(PAGE_2, json=_groups_page([]))
    assert [g["id"] for g in client.iter_groups()] == ["a", "b"]


def test_groups_account_without_any_group_lists_nothing(rsps, client):
    rsps.get(
        PAGE_1,
        json={"groups": [], "pagination": {"total_items": 0, "total_pages": 0}, "links": {}},
    )
    assert list(client.iter_groups()) == []


@pytest.mark.parametrize("total", [3, "3"])
def test_groups_fewer_than_the_stated_total_is_refused(rsps, client, total):
    page = _groups_page(["a", "b"])
    page["pagination"] = {"total_items": total, "total_pages": 1, "current_page": 1}
    rsps.get(PAGE_1, json=page)
    with pytest.raises(MalformedResponse, match="said it has 3 groups but listed only 2"):
        list(client.iter_groups())


def test_groups_empty_page_contradicting_the_stated_total_is_refused(rsps, client):
    rsps.get(PAGE_1, json={"groups": [], "pagination": {"total_items": 4}, "links": {}})
    with pytest.raises(MalformedResponse, match="said it has 4 groups but listed only 0"):
        list(client.iter_groups())


def test_groups_matching_the_stated_total_pass(rsps, client):
    first = _groups_page(["a", "b"], "/v2/groups?page=2&items_per_page=50")
    first["pagination"] = {"total_items": 3}
    last = _groups_page(["c"])
    last["pagination"] = {"total_items": 3}
    rsps.get(PAGE_1, json=first)
    rsps.get(PAGE_2, json=last)
    assert [g["id"] for g in client.iter_groups()] == ["a", "b", "c"]


def test_groups_missed_because_pages_shifted_are_refused(rsps, client):
    # Page 1 read as a, b (total 4); then "a" is deleted, "c" slides onto page 1 and page 2
    # holds only "d". The last page's own total (3) is met, which would lose "c"; the
    # largest total stated (4) is not: refused.
    first = _groups_page(["a", "b"], "/v2/groups?page=2&items_per_page=50")
    first["pagination"] = {"total_items": 4}
    second = _groups_page(["d"])
    second["pagination"] = {"total_items": 3}
    rsps.get(PAGE_1, json=first)
    rsps.get(PAGE_2, json=second)
    with pytest.raises(MalformedResponse, match="listed only 3"):
        list(client.iter_groups())


def test_groups_repeated_across_pages_are_listed_once(rsps, client):
    first = _groups_page(["a", "b"], "/v2/groups?page=2&items_per_page=50")
    first["pagination"] = {"total_items": 3}
    second = _groups_page(["b", "c"])
    rsps.get(PAGE_1, json=first)
    rsps.get(PAGE_2, json=second)
    assert [g["id"] for g in client.iter_groups()] == ["a", "b", "c"]
