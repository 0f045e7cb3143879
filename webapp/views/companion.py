"""The integration page's real-time set-up: companion-app download, Freshchat webhooks.

Sections get their figures from ``integration_page.realtime_section``, as the whole page
does.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _

from webapp import companion_package, webhook_intake
from webapp.formatting import localized
from webapp.freshchat import webhooks
from webapp.integration_page import realtime_section
from webapp.models import Integration
from webapp.views.api import EVENTS_PATH, events_url

bp = Blueprint("companion", __name__)

API_PREFIX = "/api/v1"


def server_url() -> str:
    """This server's public base URL, as the companion app and Freshchat must call it."""
    url = events_url()
    suffix = API_PREFIX + EVENTS_PATH
    return url[: -len(suffix)] if url.endswith(suffix) else url


def _integration(integration_id: int) -> Integration:
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        abort(404)
    if integration.is_deleted:
        abort(410)
    return integration


@bp.get("/integrations/<int:integration_id>/companion-app.zip")
def download(integration_id: int):  # type: ignore[no-untyped-def]
    """The app to upload in Freshworks, with this server's URL pre-filled."""
    _integration(integration_id)
    try:
        data = companion_package.build_zip(server_url=server_url())
    except companion_package.PackageUnavailable as exc:
        abort(404, str(exc))
    response = make_response(data)
    response.headers["Content-Type"] = "application/zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{companion_package.ZIP_NAME}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _render_section(integration: Integration, *, key_text: str = "", error: str | None = None):  # type: ignore[no-untyped-def]
    return render_template(
        "integrations/_webhooks_section.html",
        integration=integration,
        rt=realtime_section(integration, server_url=server_url()),
        key_text=key_text,
        key_error=error,
    )


@bp.post("/integrations/<int:integration_id>/webhooks/validate")
def validate_key(integration_id: int):  # type: ignore[no-untyped-def]
    """Inline check of the pasted public key: only the field comes back."""
    integration = _integration(integration_id)
    text = request.form.get("public_key", "")
    error = None
    if text.strip():
        try:
            webhooks.load_public_key(text)
        except webhooks.WebhookKeyError as exc:
            error = localized(exc)
    return render_template(
        "integrations/_webhook_key_field.html",
        integration=integration,
        key_text=text,
        key_error=error,
        key_ok=bool(text.strip()) and error is None,
    )


@bp.post("/integrations/<int:integration_id>/webhooks")
def save_key(integration_id: int):  # type: ignore[no-untyped-def]
    integration = _integration(integration_id)
    text = request.form.get("public_key", "")
    try:
        webhook_intake.configure(integration, text)
    except webhooks.WebhookKeyError as exc:
        if request.htmx:
            return _render_section(integration, key_text=text, error=localized(exc)), 422
        flash(_("Freshchat webhooks: %(problem)s", problem=localized(exc)), "error")
        return redirect(url_for("integrations.detail", integration_id=integration.id), 303)
    if request.htmx:
        return _render_section(integration)
    flash(_("Freshchat's public key is saved; copy the webhook URL into Freshchat."), "success")
    return redirect(
        url_for("integrations.detail", integration_id=integration.id) + "#webhooks", 303
    )


@bp.post("/integrations/<int:integration_id>/webhooks/remove")
def remove_key(integration_id: int):  # type: ignore[no-untyped-def]
    integration = _integration(integration_id)
    webhook_intake.remove(integration)
    if request.htmx:
        return _render_section(integration)
    flash(_("Freshchat webhooks turned off: deliveries to the old URL are refused."), "success")
    return redirect(url_for("integrations.detail", integration_id=integration.id), 303)


@bp.record_once
def _register_template_global(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals["companion_zip_name"] = companion_package.ZIP_NAME
