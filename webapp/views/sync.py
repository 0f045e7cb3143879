"""The sync panel (self-polling while a run is active), Sync now, and sync history."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp import pause, scheduler
from webapp.integration_page import sync_section
from webapp.models import Integration, SyncRun
from webapp.status import active_run, lease_held
from webapp.views.integrations import get_integration

bp = Blueprint("sync", __name__)

# After "Sync now" the run starts in the background a moment later; the panel keeps
# polling this long for it to appear before it gives up and shows the state it has.
START_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Waiting:
    """A Sync now that was accepted but whose run has not written its row yet."""

    after: int  # the newest run id when the button was pressed
    until: float  # epoch seconds


def _latest_run_id(integration: Integration) -> int:
    latest = (
        SyncRun.select(SyncRun.id)
        .where(SyncRun.integration == integration)
        .order_by(SyncRun.id.desc())
        .first()
    )
    return latest.id if latest else 0


def _panel(  # type: ignore[no-untyped-def]
    integration: Integration,
    message: str | None = None,
    *,
    changed: bool = False,
    waiting: Waiting | None = None,
):
    """The panel fragment; ``changed`` when it shows a run start or end for the first time.

    Other regions (heading badge, list, statistics) refetch on ``sync-changed``, so it is
    sent only on those two transitions, never on every poll of a run in progress.
    """
    section = sync_section(integration)
    response = current_app.make_response(
        render_template(
            "sync/_panel.html",
            integration=integration,
            status=section.status,
            history=section.history,
            message=message,
            waiting=waiting,
        )
    )
    if changed:
        response.headers["HX-Trigger"] = "sync-changed"
    return response


def _still_waiting(integration: Integration) -> Waiting | None:
    """Keep polling for a run that was asked for but has not started yet."""
    after = request.args.get("after", type=int)
    until = request.args.get("until", type=float)
    if after is None or until is None or time.time() >= until:
        return None
    started = (
        SyncRun.select().where((SyncRun.integration == integration) & (SyncRun.id > after)).exists()
    )
    return None if started else Waiting(after, until)


@bp.get("/integrations/<int:integration_id>/sync")
def panel(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id, allow_deleted=True)
    if not request.htmx:
        # The panel is a fragment; a bookmarked or reloaded URL gets the whole page.
        return redirect(url_for("integrations.detail", integration_id=integration.id))
    was_polling = request.args.get("polling") == "1"
    run = active_run(integration)
    waiting = None if run else _still_waiting(integration)
    # The poll URL names the run the previous response showed (if any): a different
    # running run has just started; no run after polling means the one awaited has ended.
    started = run is not None and request.args.get("run", type=int) != run.id
    finished = was_polling and run is None and waiting is None
    return _panel(integration, changed=started or finished, waiting=waiting)


@bp.post("/integrations/<int:integration_id>/sync")
def sync_now(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id)
    waiting = None
    if not pause.may_sync(integration):
        message = str(pause.SYNC_REFUSED)
    elif lease_held(integration):
        # Read from the lease, which every process respects, not from this scheduler.
        message = _("A sync is already running; its progress is shown below.")
    else:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        before = _latest_run_id(integration)
        scheduler.run_soon(app, integration.id, "manual")
        message = _("Sync started.")
        if not app.config.get("SYNC_NOW_INLINE"):
            waiting = Waiting(before, time.time() + START_WAIT_SECONDS)
    integration = get_integration(integration_id)
    if request.htmx:
        # Running (started, or already running elsewhere) or already over (inline): either
        # way the other regions are out of date. Still waiting: the first poll that sees
        # the run tells them. Paused: nothing happened.
        running = active_run(integration) is not None
        return _panel(
            integration,
            message,
            changed=running or (waiting is None and pause.may_sync(integration)),
            waiting=None if running else waiting,
        )
    flash(message, "info")
    return redirect(url_for("integrations.detail", integration_id=integration.id), 303)
