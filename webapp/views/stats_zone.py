"""Change an integration's display zone from its statistics, without opening Edit.

Planners switch between their own zone and a colleague's while reading the numbers; the
Edit form also asks for credentials and re-tests them, which is the wrong place for that.
``GET`` shows the small form (a page of its own, or the form alone for htmx), ``POST``
saves the zone and returns to the statistics the admin came from, as they were.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext

from webapp.models import Integration
from webapp.timezones import canonical_zones, grouped_choices
from webapp.views.integrations import get_integration

bp = Blueprint("stats_zone", __name__)


def _back(integration: Integration, target: str | None) -> str:
    """Where to return: the integration's own page or statistics (any query), never
    another address, so the ``next`` field cannot send the admin elsewhere."""
    pages = {
        url_for("integrations.detail", integration_id=integration.id),
        url_for("stats.page", integration_id=integration.id),
    }
    parts = urlsplit(target or "")
    if not parts.scheme and not parts.netloc and parts.path in pages:
        return parts.path + ("?" + parts.query if parts.query else "")
    return url_for("stats.page", integration_id=integration.id)


def _render(integration: Integration, back: str, chosen: str, error: str | None, status: int):  # type: ignore[no-untyped-def]
    context = {
        "integration": integration,
        "zone_groups": grouped_choices(integration.display_timezone),
        "chosen_zone": chosen,
        "back": back,
        "zone_error": error,
    }
    htmx = request.htmx
    partial = bool(htmx) and not htmx.boosted and not htmx.history_restore_request
    template = "stats/_zone_form.html" if partial else "stats/zone.html"
    return render_template(template, **context), status


@bp.get("/integrations/<int:integration_id>/stats/zone")
def form(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id)
    back = _back(integration, request.args.get("next"))
    return _render(integration, back, integration.display_timezone, None, 200)


@bp.post("/integrations/<int:integration_id>/stats/zone")
def change(integration_id: int):  # type: ignore[no-untyped-def]
    integration = get_integration(integration_id)
    back = _back(integration, request.form.get("next"))
    chosen = (request.form.get("zone") or "").strip()
    if chosen != integration.display_timezone and chosen not in canonical_zones():
        error = gettext(
            "“%(zone)s” is not a time zone this server offers; the zone was not changed.",
            zone=chosen[:60] or gettext("nothing"),
        )
        return _render(integration, back, integration.display_timezone, error, 400)
    Integration.update(display_timezone=chosen).where(Integration.id == integration.id).execute()
    return redirect(back, 303)
