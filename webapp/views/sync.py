"""The sync panel (self-polling while a run is active), Sync now, and sync history."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from webapp import scheduler
from webapp.models import SyncRun
from webapp.status import active_run, describe
from webapp.views.integrations import get_integration

bp = Blueprint("sync", __name__)

HISTORY_LIMIT = 20


def _panel(integration, message: str | None = None, finished: bool = False):  # type: ignore[no-untyped-def]
    status = describe(integration)
    history = list(
        SyncRun.select()
        .where(SyncRun.integration == integration)
        .order_by(SyncRun.id.desc())
        .limit(HISTORY_LIMIT)
    )
    response = current_app.make_response(
        render_template(
            "sync/_panel.html",
            integration=integration,
            status=status,
            history=history,
            message=message,
        )
    )
    if finished:
        # The run that this panel was polling has ended: let other regions refresh.
        response.headers["HX-Trigger"] = "sync-changed"
    return response


@bp.get("/integrations/<int:integration_id>/sync")
def panel(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id, allow_deleted=True)
    was_polling = request.args.get("polling") == "1"
    finished = was_polling and active_run(integration) is None
    return _panel(integration, finished=finished)


@bp.post("/integrations/<int:integration_id>/sync")
def sync_now(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id)
    if active_run(integration) is not None:
        message = "A sync is already running; its progress is shown below."
    else:
        scheduler.run_soon(current_app._get_current_object(), integration.id, "manual")  # type: ignore[attr-defined]
        message = "Sync started."
    integration = get_integration(integration_id)
    if request.htmx:
        return _panel(integration, message, finished=active_run(integration) is None)
    flash(message, "info")
    return redirect(url_for("integrations.detail", integration_id=integration.id), 303)
