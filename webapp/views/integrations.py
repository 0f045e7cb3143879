"""Account > Integrations: list, gallery, configuration form, detail, key, delete."""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from webapp import integration_list, integration_page, scheduler
from webapp import integrations as service
from webapp import pause as pause_rule  # the view function below is named pause
from webapp.clients import ClientSettings
from webapp.connection import check_credentials
from webapp.forms import DeleteForm, IntegrationForm
from webapp.models import Integration
from webapp.stats_page import HOST_DETAIL, load_panel
from webapp.status import describe
from webapp.views.api import events_url
from webapp.views.companion import server_url

bp = Blueprint("integrations", __name__)

# Fields the inline validator may be asked about (HX-Trigger-Name).
INLINE_FIELDS = {"name", "domain", "api_key", "backfill_days"}


MAX_REMEMBERED_SUBMISSIONS = 20


def get_integration(integration_id: int, *, allow_deleted: bool = False) -> Integration:
    """404 for unknown ids; 410 when an action needs a live integration."""
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        abort(404)
    if integration.is_deleted and not allow_deleted:
        abort(410)
    return integration


def box():  # type: ignore[no-untyped-def]
    return current_app.extensions["secret_box"]


def _connection(form: IntegrationForm, integration: Integration | None):  # type: ignore[no-untyped-def]
    api_key = form.api_key.data
    if not api_key and integration is not None:
        api_key = service.decrypted_api_key(integration, box())
    return check_credentials(
        form.normalised_domain or "",
        api_key or "",
        ClientSettings.from_config(current_app.config),
    )


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return redirect(url_for("integrations.index"))


@bp.get("/integrations")
def index():  # type: ignore[no-untyped-def]
    live = list(service.live().order_by(Integration.name_key))
    deleted = list(
        Integration.select()
        .where(Integration.deleted_at.is_null(False))
        .order_by(Integration.deleted_at.desc())
    )
    listing = integration_list.build(live, deleted)
    template = "integrations/_list.html" if request.htmx and not request.htmx.boosted else None
    return render_template(template or "integrations/index.html", listing=listing)


@bp.get("/integrations/gallery")
def gallery():  # type: ignore[no-untyped-def]
    return render_template("integrations/gallery.html")


@bp.get("/integrations/gallery/freshworks")
def gallery_freshworks():  # type: ignore[no-untyped-def]
    return render_template("integrations/gallery_freshworks.html")


def _go(location: str):  # type: ignore[no-untyped-def]
    """Leave the form: a 303, or for the HTMX submit a full-page navigation by HX-Redirect."""
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, 303)


def _save_response(form: IntegrationForm, integration: Integration | None):  # type: ignore[no-untyped-def]
    """Validate, test the credentials, then save; on failure re-render with 422."""
    if form.validate_on_submit():
        result = _connection(form, integration)
        if result.ok:
            try:
                if integration is None:
                    saved = service.create(form.to_input(), box())
                    done = session.setdefault("done_submissions", {})
                    done[form.submission_id.data or ""] = saved.id
                    # Only recent forms can be re-sent; keep the signed cookie small.
                    for stale in list(done)[:-MAX_REMEMBERED_SUBMISSIONS]:
                        del done[stale]
                    session.modified = True
                    flash(
                        _(
                            "Integration “%(name)s” saved. %(result)s",
                            name=saved.name,
                            result=result.message,
                        ),
                        "success",
                    )
                    for warning in form.domain.warnings:
                        flash(warning, "warning")
                else:
                    saved = service.update(integration, form.to_input(), box())
                    flash(_("Changes saved."), "success")
                scheduler.schedule_integration(saved)
                return _go(url_for("integrations.detail", integration_id=saved.id))
            except service.IntegrationError as exc:
                form.name.errors = [*form.name.errors, str(exc)]
        else:
            form.form_errors.append(result.message)
    template = "integrations/form.html"
    return render_template(template, form=form, integration=integration), 422


@bp.route("/integrations/new/freshchat", methods=["GET", "POST"])
def new():  # type: ignore[no-untyped-def]
    form = IntegrationForm()
    if request.method == "POST":
        done = session.get("done_submissions", {})
        previous = done.get(form.submission_id.data or "")
        if previous and Integration.get_or_none(Integration.id == previous):
            # The same form sent twice (double click, reload): show what the first saved.
            flash(_("This form was already saved; here is the integration."), "info")
            return _go(url_for("integrations.detail", integration_id=previous))
        return _save_response(form, None)
    form.submission_id.data = secrets.token_urlsafe(16)
    return render_template("integrations/form.html", form=form, integration=None)


@bp.route("/integrations/<int:integration_id>/edit", methods=["GET", "POST"])
def edit(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id)
    form = IntegrationForm(obj=integration, integration=integration)
    if request.method == "POST":
        return _save_response(form, integration)
    form.api_key.data = ""
    return render_template("integrations/form.html", form=form, integration=integration)


@bp.post("/integrations/validate")
@bp.post("/integrations/<int:integration_id>/validate")
def validate(integration_id: int | None = None):  # type: ignore[no-untyped-def]
    """Inline check of one field: validate the whole bound form, return that field only."""
    integration = get_integration(integration_id) if integration_id else None
    field_name = request.htmx.trigger_name or request.args.get("field", "")
    if field_name not in INLINE_FIELDS:
        abort(400, _("Unknown field."))
    form = IntegrationForm(integration=integration)
    form.validate()
    field = form[field_name]
    if not (field.data or field.errors) and field_name != "api_key":
        field.errors = []  # nothing typed yet: no nagging on an untouched field
    return render_template("macros/_field_response.html", field=field, form=form)


@bp.post("/integrations/test-connection")
@bp.post("/integrations/<int:integration_id>/test-connection")
def test_connection(integration_id: int | None = None):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id) if integration_id else None
    form = IntegrationForm(integration=integration)
    form.validate()
    problems = [*form.domain.errors, *form.api_key.errors]
    if problems:
        return render_template(
            "integrations/_connection_result.html", ok=False, message=" ".join(map(str, problems))
        )
    result = _connection(form, integration)
    return render_template(
        "integrations/_connection_result.html", ok=result.ok, message=result.message
    )


def build_page(integration: Integration) -> integration_page.IntegrationPage:
    """The page's data for this request (URLs, settings, the statistics' query string)."""
    config = current_app.config
    return integration_page.build(
        integration,
        events_url=events_url(),
        server_url=server_url(),
        limits=integration_page.PushLimits(
            max_body_bytes=int(config["PUSH_MAX_BODY_BYTES"]),
            max_events=int(config["PUSH_MAX_EVENTS_PER_REQUEST"]),
            rate_limit=int(config["PUSH_RATE_LIMIT_PER_MINUTE"]),
        ),
        stats=load_panel(integration, request.args, HOST_DETAIL),
    )


@bp.get("/integrations/<int:integration_id>")
def detail(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id, allow_deleted=True)
    page = build_page(integration)
    return render_template(
        "integrations/detail.html", page=page, integration=integration, new_key=None
    )


@bp.get("/integrations/<int:integration_id>/status-badge")
def status_badge(integration_id: int):  # type: ignore[no-untyped-def]
    """The heading's badge, refetched when the sync panel says a run ended."""
    integration = get_integration(integration_id, allow_deleted=True)
    return render_template(
        "integrations/_status_badge.html", integration=integration, status=describe(integration)
    )


@bp.post("/integrations/<int:integration_id>/pause")
def pause(integration_id: int):  # type: ignore[no-untyped-def]
    return _set_paused(integration_id, True)


@bp.post("/integrations/<int:integration_id>/resume")
def resume(integration_id: int):  # type: ignore[no-untyped-def]
    return _set_paused(integration_id, False)


def _set_paused(integration_id: int, paused: bool):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id)
    service.set_paused(integration, paused)
    scheduler.schedule_integration(integration)
    flash(str(pause_rule.PAUSED_DONE if paused else pause_rule.RESUMED_DONE), "success")
    return redirect(url_for("integrations.detail", integration_id=integration.id), 303)


@bp.route("/integrations/<int:integration_id>/delete", methods=["GET", "POST"])
def delete(integration_id: int):  # type: ignore[no-untyped-def]
    # A deleted integration whose statistics were kept can still have them removed here.
    integration = get_integration(integration_id, allow_deleted=True)
    form = DeleteForm()
    if form.validate_on_submit():
        remove_data = bool(form.remove_data.data) or integration.is_deleted
        typed = form.confirm_name.data or ""
        if (remove_data or typed) and service.name_key(typed) != service.name_key(integration.name):
            form.confirm_name.errors = [
                _("Type “%(name)s” to confirm.", name=integration.name)
                if remove_data
                else _("That is not this integration's name: nothing was deleted.")
            ]
        else:
            name = integration.name
            scheduler.unschedule_integration(integration.id)
            service.delete(integration, remove_data=remove_data)
            flash(
                _("Integration “%(name)s” deleted with its statistics.", name=name)
                if remove_data
                else _("Integration “%(name)s” deleted; statistics kept.", name=name),
                "success",
            )
            return redirect(url_for("integrations.index"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("integrations/delete.html", integration=integration, form=form), status


@bp.post("/integrations/<int:integration_id>/app-key")
def app_key(integration_id: int):  # type: ignore[no-untyped-def]
    """Generate (or regenerate) the companion-app key; its plaintext is shown only here."""
    integration = get_integration(integration_id)
    new_key = service.issue_app_key(integration)
    if request.htmx:
        body = render_template(
            "integrations/_app_key.html",
            integration=integration,
            app_key=service.current_app_key(integration),
            new_key=new_key.plaintext,
            rt=integration_page.realtime_section(integration, server_url=server_url()),
        )
    else:
        page = build_page(integration)
        body = render_template(
            "integrations/detail.html",
            page=page,
            integration=integration,
            new_key=new_key.plaintext,
        )
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response
