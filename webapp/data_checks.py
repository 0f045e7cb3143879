"""Check data access shared by every server process: its state lives in the database.

Behind a reverse proxy the page's polling, and the Check button, land on any process, so
a check (its progress, then its result) is one ``DataCheck`` row per integration rather
than a process's memory. The work itself still runs in a thread of the process that
started it, which saves the check to the row after every step.

* One check per integration at a time: starting is a write transaction that refuses
  while the row says running.
* A process can die mid-check (a deploy, a crash, an OOM kill) and its row would say
  running forever. So while a check runs its worker also *beats* (touches ``beat_at``)
  every ``HEARTBEAT_SECONDS``, from a thread of its own, since one Freshchat request or
  job can take minutes; a running row silent for ``STALE_AFTER_SECONDS`` is shown as
  interrupted, and a new check may replace it.
* Each check has its own token: a worker whose check was replaced (its process froze,
  then woke up) or whose integration was deleted writes nothing more and stops.

Times are Unix seconds on the database's clock, the one clock every process shares
(as in ``webapp.rate_limit``); ``clock`` replaces it in tests.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from peewee import SQL, Node, Value

from webapp.database import now_seconds_sql, write_transaction
from webapp.diagnose import WINDOW, Diagnosis, run_diagnosis
from webapp.extensions import db
from webapp.freshchat.client import FreshchatClient
from webapp.models import DataCheck, Integration

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# Six missed beats (thirty polls of the page): long past a busy moment's delay, short
# enough that an admin waiting on a dead check is soon told so.
STALE_AFTER_SECONDS = 6 * HEARTBEAT_SECONDS

RUNNING, FAILED = "running", "failed"
INTERRUPTED = "interrupted"  # shown only: a running row whose worker went silent

Clock = Callable[[], float] | None


class Superseded(Exception):
    """The row is no longer this worker's check (replaced, or its integration deleted)."""


@dataclass
class StartedCheck:
    """A check this process started: what its worker fills and saves under its token."""

    integration_id: int
    token: str
    diagnosis: Diagnosis


def _now(clock: Clock) -> Node:
    return SQL(now_seconds_sql()) if clock is None else Value(clock())


def _row(integration_id: int, clock: Clock) -> DataCheck | None:
    """The integration's row with ``silence``: seconds since its worker's last beat."""
    silence = (_now(clock) - DataCheck.beat_at).alias("silence")
    return (
        DataCheck.select(DataCheck, silence).where(DataCheck.integration == integration_id).first()
    )


def _is_live(row: DataCheck | None) -> bool:
    return row is not None and row.state == RUNNING and row.silence <= STALE_AFTER_SECONDS


def _body(diagnosis: Diagnosis) -> str:
    """What is stored: the support-safe JSON, without the integration's name."""
    body = diagnosis.as_json()
    del body["integration"], body["kind"]
    return json.dumps(body, ensure_ascii=False)


def latest(integration: Integration, *, clock: Clock = None) -> Diagnosis | None:
    """The integration's last check as any process sees it; a running one whose worker
    went silent comes back with state ``interrupted``."""
    row = _row(integration.id, clock)
    if row is None:
        return None
    diagnosis = Diagnosis.from_json(json.loads(row.body), integration=integration.name)
    diagnosis.state = row.state
    if row.state == RUNNING and not _is_live(row):
        diagnosis.state = INTERRUPTED
    return diagnosis


def begin(integration: Integration, now: datetime, *, clock: Clock = None) -> StartedCheck | None:
    """Record a new running check over the 24 hours before ``now``, replacing the last
    one; None while another check of the integration is running (in any process)."""
    with write_transaction(integration_id=integration.id):
        if _is_live(_row(integration.id, clock)):
            return None
        started = StartedCheck(
            integration.id,
            secrets.token_hex(16),
            Diagnosis(integration.name, integration.domain, now - WINDOW, now),
        )
        DataCheck.delete().where(DataCheck.integration == integration.id).execute()
        DataCheck.insert(
            integration=integration.id,
            token=started.token,
            state=RUNNING,
            beat_at=_now(clock),
            body=_body(started.diagnosis),
        ).execute()
    return started


def _this_check(started: StartedCheck):  # type: ignore[no-untyped-def]
    return (DataCheck.integration == started.integration_id) & (DataCheck.token == started.token)


def save(started: StartedCheck, *, clock: Clock = None) -> None:
    """Store the check as it stands now (a beat too); ``Superseded`` if the row is gone
    or belongs to another check."""
    updated = (
        DataCheck.update(
            state=started.diagnosis.state, body=_body(started.diagnosis), beat_at=_now(clock)
        )
        .where(_this_check(started))
        .execute()
    )
    if not updated:
        raise Superseded()


def beat(started: StartedCheck, *, clock: Clock = None) -> bool:
    """This worker is alive; False once the row is no longer this running check."""
    query = DataCheck.update(beat_at=_now(clock)).where(
        _this_check(started) & (DataCheck.state == RUNNING)
    )
    return bool(query.execute())


@contextmanager
def beating(started: StartedCheck, every: float, *, clock: Clock = None) -> Iterator[None]:
    """Beat every ``every`` seconds from a thread of its own while inside."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                with db.connection_context():
                    if not beat(started, clock=clock):
                        return
            except Exception:  # a missed beat is retried; the save path reports errors
                log.warning("data access check %s: beat failed", started.integration_id)

    thread = threading.Thread(target=loop, name=f"check-beat-{started.integration_id}")
    thread.daemon = True
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run(
    started: StartedCheck,
    client: FreshchatClient,
    *,
    inline: bool = False,
    poll_interval: float = 5.0,
    heartbeat: float = HEARTBEAT_SECONDS,
    clock: Clock = None,
) -> None:
    """Run a begun check, in a background thread unless ``inline`` (tests), saving it to
    its row after every step."""
    diagnosis = started.diagnosis

    def work() -> None:
        with db.connection_context(), beating(started, heartbeat, clock=clock):
            try:
                run_diagnosis(
                    client,
                    diagnosis,
                    poll_interval=poll_interval,
                    on_progress=lambda _d: save(started, clock=clock),
                )
            except Superseded:
                log.info("data access check of integration %s replaced", started.integration_id)
            except Exception as exc:  # the page must stop showing progress whatever happens
                log.exception("data access check of integration %s failed", started.integration_id)
                diagnosis.state = FAILED
                diagnosis.progress = (
                    f"Internal error during the check ({exc.__class__.__name__}); "
                    "see the server log."
                )
                try:
                    save(started, clock=clock)
                except Exception:  # the row then goes stale: shown as interrupted
                    log.exception("could not save the failed check %s", started.integration_id)

    if inline:
        work()
    else:
        thread = threading.Thread(target=work, name=f"diagnose-{started.integration_id}")
        thread.daemon = True
        thread.start()
