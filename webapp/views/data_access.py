"""The integration page's data section: Check data access (with progress), its JSON
download, and Re-import a range. Thin: parse, call ``data_checks``/``reimport``, render."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp import data_checks, pause, scheduler
from webapp.clients import client_factory_for
from webapp.formatting import moment
from webapp.models import Integration
from webapp.reimport import SinceError, parse_since
from webapp.status import lease_held
from webapp.timeutil import now_from
from webapp.views.integrations import get_integration

bp = Blueprint("data_access", __name__)


def _panel(integration: Integration, message: str | None = None):  # type: ignore[no-untyped-def]
    response = current_app.make_response(
        render_template(
            "integrations/_diagnosis.html",
            integration=integration,
            diagnosis=data_checks.latest(integration),
            message=message,
        )
    )
    response.headers["Vary"] = "HX-Request"
    return response


def _back(integration: Integration):  # type: ignore[no-untyped-def]
    return redirect(
        url_for("integrations.detail", integration_id=integration.id, _anchor="data"), 303
    )


@bp.get("/integrations/<int:integration_id>/diagnose")
def panel(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id, allow_deleted=True)
    if not request.htmx:
        return _back(integration)
    return _panel(integration)


@bp.post("/integrations/<int:integration_id>/diagnose")
def check(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    client = client_factory_for(app.config, app.extensions["secret_box"])(integration)
    started = data_checks.begin(integration, now_from(current_app.config))
    message = None
    if started is None:
        message = _("A check is already running; its progress is shown below.")
    else:
        data_checks.run(
            started,
            client,
            inline=bool(app.config.get("SYNC_NOW_INLINE")),
            poll_interval=float(app.config.get("EXTRACT_POLL_SECONDS", 5.0)),
        )
    if request.htmx:
        return _panel(integration, message)
    if message:
        flash(message, "info")
    return _back(integration)


@bp.get("/integrations/<int:integration_id>/diagnostic.json")
def download(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id, allow_deleted=True)
    diagnosis = data_checks.latest(integration)
    if diagnosis is None or diagnosis.state in (data_checks.RUNNING, data_checks.INTERRUPTED):
        abort(
            404,
            _("No finished data access check to download; run Check data access first."),
        )
    response = current_app.response_class(
        json.dumps(diagnosis.as_json(), indent=1, ensure_ascii=False),
        mimetype="application/json",
    )
    stamp = diagnosis.window_to.strftime("%Y%m%d-%H%M")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="freshchat-diagnostic-{integration.id}-{stamp}.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/integrations/<int:integration_id>/reimport")
def reimport(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id)
    try:
        since = parse_since(request.form.get("since"), now_from(current_app.config))
    except SinceError as exc:
        flash(str(exc), "error")
        return _back(integration)
    if not pause.may_sync(integration):
        flash(str(pause.REIMPORT_REFUSED), "info")
    elif lease_held(integration):
        flash(_("A sync is running; re-import once it has finished."), "info")
    else:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        scheduler.run_soon(app, integration.id, "reimport", since)
        flash(
            _(
                "Re-import from %(since)s started: every chat since then is read again and "
                "its intervals recomputed. Progress shows under Sync.",
                since=moment(since),
            ),
            "info",
        )
    return _back(integration)
