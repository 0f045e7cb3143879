"""Check data access: what Freshchat sends this account, read in memory, only a report kept.

Freshchat publishes no Extract header line, so when counts look wrong the admin (and
support) need to see what the account really sends. A diagnosis runs one short Extract
job per event the sync uses, over the last 24 hours, reads the files in memory and
reports per event: the job's outcome and time, files and rows, each header as received
and how each column was understood, how many rows would be applied or skipped and why;
plus the size of the group listing and the rate-limit headers seen. It applies nothing.

The JSON form (``as_json``) is meant to be sent to support: conversation ids appear only
hashed (SHA-256, first 16 hex digits: enough to match one against Freshchat, not to read
it back), and no names, messages or cell values are included: header names, counts and
reasons only.

The page's check runs in the background and is kept, as that JSON form, in the database
(``webapp.data_checks``) so that every server process shows its progress and result.
Nothing the check reads from Freshchat is stored beyond that report.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from webapp.freshchat.client import FreshchatClient, FreshchatError
from webapp.freshchat.extract_columns import HeaderRefused, needed_for
from webapp.freshchat.reports import MalformedReport, check_extract, iter_extract, read_headers
from webapp.pull_window import MAX_FAILING_SHARE
from webapp.timeutil import iso_z, parse_timestamp, utcnow

WINDOW = timedelta(hours=24)
SAMPLE_IDS = 5
EVENTS = ("Conversation-Created", "Conversation-Group-Assigned", "Conversation-Resolved")


def hash_id(conversation_id: str) -> str:
    return hashlib.sha256(conversation_id.encode()).hexdigest()[:16]


@dataclass
class HeaderReport:
    """One CSV header: the names as received and what each was taken for."""

    member: str
    columns: list[dict[str, str]]
    missing: list[str]


@dataclass
class EventReport:
    event: str
    outcome: str = "pending"  # ok | refused | failed
    message: str = ""
    seconds: float = 0.0
    job_status: str = ""
    files: int = 0
    rows: int = 0
    would_apply: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    chats: int = 0
    sample_chat_ids: list[str] = field(default_factory=list)
    headers: list[HeaderReport] = field(default_factory=list)
    has_group: bool = False


@dataclass
class Diagnosis:
    """A whole check; ``state`` is running, done or failed (failed: not even groups read),
    or, as ``webapp.data_checks`` shows one whose worker went silent, interrupted."""

    integration: str
    domain: str
    window_from: datetime
    window_to: datetime
    state: str = "running"
    progress: str = "Starting…"
    done: int = 0
    total: int = 1 + len(EVENTS)
    groups_listed: int | None = None
    groups_error: str = ""
    rate_limit: dict[str, str] = field(default_factory=dict)
    events: list[EventReport] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    finished_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The safe-to-send form (see the module's docstring)."""
        body = asdict(self)
        for key in ("window_from", "window_to", "finished_at"):
            body[key] = iso_z(body[key]) if body[key] else None
        body["kind"] = "chat-volume-hub data access check"
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any], *, integration: str) -> Diagnosis:
        """The check back from ``as_json`` (the name is not kept there, so it is given)."""
        fields = {k: v for k, v in body.items() if k not in ("kind", "integration", "events")}
        for key in ("window_from", "window_to", "finished_at"):
            fields[key] = parse_timestamp(fields.get(key))
        events = [
            EventReport(
                **{k: v for k, v in event.items() if k != "headers"},
                headers=[HeaderReport(**header) for header in event.get("headers", [])],
            )
            for event in body.get("events", [])
        ]
        return cls(integration=integration, events=events, **fields)


def run_diagnosis(
    client: FreshchatClient,
    diagnosis: Diagnosis,
    *,
    poll_interval: float = 5.0,
    on_progress: Callable[[Diagnosis], None] = lambda _d: None,
    clock: Callable[[], float] = time.monotonic,
) -> Diagnosis:
    """Fill ``diagnosis`` step by step (``on_progress`` after each), never raising."""

    def step(text: str, done: bool = False) -> None:
        diagnosis.progress = text
        diagnosis.done += int(done)
        diagnosis.rate_limit = client.rate_limit_seen
        on_progress(diagnosis)

    step("Reading the group listing…")
    try:
        diagnosis.groups_listed = sum(1 for _group in client.iter_groups())
    except FreshchatError as exc:
        diagnosis.groups_error = str(exc)
    step(f"{diagnosis.groups_listed or 0} groups listed", done=True)
    for event in EVENTS:
        report = EventReport(event)
        diagnosis.events.append(report)
        step(f"{event}: waiting for Freshchat's report (jobs can take minutes)…")
        started = clock()
        try:
            _read_event(client, diagnosis, report, poll_interval)
        except (FreshchatError, MalformedReport, HeaderRefused) as exc:
            report.outcome = "refused" if isinstance(exc, HeaderRefused) else "failed"
            report.message = str(exc)
        report.seconds = round(clock() - started, 1)
        step(f"{event}: {report.outcome}", done=True)
    diagnosis.findings = _findings(diagnosis)
    diagnosis.state = "done"
    diagnosis.progress = "Done."
    diagnosis.finished_at = utcnow()
    diagnosis.rate_limit = client.rate_limit_seen
    on_progress(diagnosis)
    return diagnosis


def _read_event(
    client: FreshchatClient, diagnosis: Diagnosis, report: EventReport, poll_interval: float
) -> None:
    job_id = client.request_extract(report.event, diagnosis.window_from, diagnosis.window_to)
    status = client.wait_for_extract(job_id, poll_interval=poll_interval)
    report.job_status = status.status
    report.files = len(status.links)
    chat_ids: set[str] = set()
    for link in status.links:
        blob = client.download(link.href)
        for member, reading in read_headers(io.BytesIO(blob), report.event):
            if reading is None:
                report.headers.append(HeaderReport(member, [], []))
                continue
            report.has_group = report.has_group or reading.has_group
            columns = [{"column": n, "understood_as": m} for n, m in reading.understood()]
            report.headers.append(HeaderReport(member, columns, reading.missing()))
        check = check_extract(io.BytesIO(blob), report.event)
        report.rows += check.rows
        for member_check in check.members:
            for reason, count in member_check.reasons.items():
                report.skipped[reason] = report.skipped.get(reason, 0) + count
        for change in iter_extract(io.BytesIO(blob), report.event, []):
            chat_ids.add(change.conversation_id)
    report.would_apply = report.rows - sum(report.skipped.values())
    report.chats = len(chat_ids)
    report.sample_chat_ids = [hash_id(i) for i in sorted(chat_ids)[:SAMPLE_IDS]]
    report.outcome = "ok"
    if report.rows and report.rows - report.would_apply > report.rows * MAX_FAILING_SHARE:
        report.outcome = "refused"
        report.message = (
            f"{report.rows - report.would_apply} of {report.rows} rows could not be read: "
            "the sync would refuse this export."
        )


def _findings(diagnosis: Diagnosis) -> list[str]:
    """Plain-words conclusions: what the sync would do with what was seen."""
    found = []
    if diagnosis.groups_error:
        found.append(f"The group listing failed: {diagnosis.groups_error}")
    elif diagnosis.groups_listed == 0:
        found.append("Freshchat listed no groups: every contact would be in Undefined_Queue.")
    read = [e for e in diagnosis.events if e.outcome == "ok"]
    rows = sum(e.rows for e in diagnosis.events)
    for report in diagnosis.events:
        if report.outcome != "ok":
            found.append(f"{report.event}: {report.message}")
        elif any(h.missing for h in report.headers):
            needed = ", ".join(needed_for(report.event))
            found.append(f"{report.event}: a header lacks a needed meaning ({needed}).")
    if rows and read and not any(e.has_group for e in diagnosis.events):
        found.append(
            "No export carries a group column: the sync refuses such windows rather than "
            "count every contact in Undefined_Queue."
        )
    if not found:
        found.append(
            "Everything the sync needs was found."
            if rows
            else "No chat activity in the last 24 hours: headers could not all be seen."
        )
    return found


def text_report(diagnosis: Diagnosis) -> list[str]:
    """The check in plain lines, for the terminal."""
    groups = diagnosis.groups_error or f"{diagnosis.groups_listed} listed"
    lines = [f"Groups: {groups}"]
    limits = ", ".join(f"{k}: {v}" for k, v in sorted(diagnosis.rate_limit.items()))
    lines.append(f"Rate limit seen: {limits or 'no rate-limit headers'}")
    for report in diagnosis.events:
        skipped = ", ".join(f"{r} ({n})" for r, n in sorted(report.skipped.items())) or "none"
        lines.append(
            f"{report.event}: {report.outcome}, job {report.job_status or '-'} in "
            f"{report.seconds} s, {report.files} file(s), {report.rows} row(s), "
            f"{report.would_apply} would be applied, skipped: {skipped}"
        )
        if report.message:
            lines.append(f"  {report.message}")
        for header in report.headers:
            understood = ", ".join(f"{c['column']} → {c['understood_as']}" for c in header.columns)
            where = f" ({header.member})" if header.member else ""
            lines.append(f"  header{where}: {understood or 'empty file'}")
    lines.extend(f"Finding: {finding}" for finding in diagnosis.findings)
    return lines
