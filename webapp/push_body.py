"""Reading one push request body: decode, trim, validate and translate every envelope.

One bad envelope refuses the whole batch (``BatchRefused``), so nothing is ever half-stored
and the answer lists every problem by envelope index and field path. Each envelope is
trimmed to what counting reads (``envelope_shape.trim``) before anything else looks at it,
so ``iparams``, message texts and personal data are never hashed, stored or logged.
Unknown event names are counted as ignored and not stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from webapp.changes import ChatChange
from webapp.freshchat.envelope_shape import MAX_DEPTH, deeper_than, is_known, trim
from webapp.freshchat.events import dedup_key, envelope_to_changes, validate_envelope

EVENT_NAME_MAX = 64  # InboundEvent.event_name; the full name stays in the body
REASON_MAX = 255  # RefusedRequest.reason
MAX_PROBLEMS_LISTED = 200


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a batch was refused, named by envelope position and field path."""

    index: int | None
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f"[{self.index}] " if self.index is not None else ""
        return f"{where}{self.field}: {self.message}"


class BatchRefused(Exception):
    """The body cannot be stored; ``status`` is 400 or 413 and nothing was written."""

    def __init__(
        self, status: int, message: str, problems: Sequence[Problem] = (), *, short: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)
        self.short = short or message

    def reason(self) -> str:
        """One line for the refusal log; the response body lists every problem."""
        if not self.problems:
            return self.short[:REASON_MAX]
        text = "; ".join(str(problem) for problem in self.problems[:3])
        if len(self.problems) > 3:
            text += f" (and {len(self.problems) - 3} more)"
        return f"{self.short}: {text}"[:REASON_MAX]

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.problems:
            body["errors"] = [problem.as_json() for problem in self.problems[:MAX_PROBLEMS_LISTED]]
            if len(self.problems) > MAX_PROBLEMS_LISTED:
                body["errors_truncated"] = len(self.problems) - MAX_PROBLEMS_LISTED
        return body


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One validated envelope, translated once and reused for storing and applying."""

    envelope: dict[str, Any]
    dedup_key: str
    event_name: str
    body: str
    changes: tuple[ChatChange, ...]


def _split_problem(text: str) -> tuple[str, str]:
    field_name, sep, message = text.partition(": ")
    return (field_name, message) if sep else ("envelope", text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@dataclass(frozen=True, slots=True)
class Batch:
    """A readable body: its events to store, and how many envelopes were ignored."""

    events: list[IncomingEvent]
    ignored: int = 0

    @property
    def received(self) -> int:
        return len(self.events) + self.ignored


def read_batch(raw: bytes, *, max_events: int) -> Batch:
    """Decode, validate and translate a whole body; raise ``BatchRefused`` on any problem.

    The body is one envelope or a JSON array of them. Validation covers every envelope
    before anything is stored, so the answer lists all problems at once.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchRefused(
            400, "the body is not UTF-8 text", [Problem(None, "body", str(exc))]
        ) from None
    try:
        decoded = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BatchRefused(
            400, "the body is not valid JSON", [Problem(None, "body", str(exc))]
        ) from None
    if deeper_than(decoded):
        raise BatchRefused(
            400,
            f"the body nests objects or arrays deeper than {MAX_DEPTH} levels",
            [Problem(None, "body", f"at most {MAX_DEPTH} levels of nesting")],
            short="nested too deep",
        )
    if isinstance(decoded, dict):
        envelopes: list[Any] = [decoded]
    elif isinstance(decoded, list):
        envelopes = decoded
    else:
        raise BatchRefused(
            400,
            "the body must be one event object or an array of them",
            [Problem(None, "body", f"got a JSON {type(decoded).__name__}")],
        )
    if not envelopes:
        raise BatchRefused(
            400, "the batch is empty", [Problem(None, "body", "an array of at least one event")]
        )
    if len(envelopes) > max_events:
        raise BatchRefused(
            413,
            f"the batch holds {len(envelopes)} events; at most {max_events} are accepted "
            "per request",
        )
    events: list[IncomingEvent] = []
    problems: list[Problem] = []
    ignored = 0
    for index, original in enumerate(envelopes):
        name = original.get("event") if isinstance(original, dict) else None
        if isinstance(name, str) and name.strip() and not is_known(original):
            ignored += 1
            continue
        envelope = trim(original) if isinstance(original, dict) else original
        found: list[str] = []
        try:
            # Translation validates first; the full list of problems is only needed for
            # an answer that refuses, so it is not computed twice for good envelopes.
            changes = tuple(envelope_to_changes(envelope))
        except ValueError as exc:
            found = validate_envelope(envelope) or [f"envelope: {exc}"]
        if found:
            problems.extend(Problem(index, *_split_problem(text)) for text in found)
            continue
        events.append(
            IncomingEvent(
                envelope=envelope,
                dedup_key=dedup_key(envelope),
                event_name=envelope["event"].strip()[:EVENT_NAME_MAX],
                body=json.dumps(envelope, separators=(",", ":"), ensure_ascii=False),
                changes=changes,
            )
        )
    if problems:
        raise BatchRefused(
            400,
            f"{len(problems)} bad field(s); the batch was refused as a whole, nothing was stored",
            problems,
            short="bad fields",
        )
    return Batch(events, ignored)
