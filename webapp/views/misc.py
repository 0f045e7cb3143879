"""Health check, the htmx script, and error pages."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, request, send_file
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, NotFound

from webapp.extensions import db

bp = Blueprint("misc", __name__)

HTMX_FILE = Path("node_modules/htmx.org/dist/htmx.min.js")

MESSAGES = {
    400: _l("The request could not be understood."),
    404: _l(
        "There is nothing here. If you followed a link to an integration, it may have been deleted."
    ),
    405: _l("That action is not available at this address."),
    410: _l("This integration was deleted; its kept statistics are read-only."),
    413: _l("The request is too large."),
    500: _l("Something went wrong on our side; nothing was saved. Try again."),
}


@bp.get("/healthz", endpoint="health")
def health():  # type: ignore[no-untyped-def]
    """Readiness for scripts and the demo launcher: answers only when the database does."""
    db.execute_sql("SELECT 1")
    return jsonify(status="ok", demo=bool(current_app.config["DEMO_MODE"]))


@bp.get("/assets/htmx.min.js", endpoint="htmx_script")
def htmx_script():  # type: ignore[no-untyped-def]
    """htmx comes from the pinned npm package installed at setup, never from a CDN."""
    path = Path(current_app.static_folder or "static") / HTMX_FILE
    if not path.exists():
        raise NotFound("htmx is not installed: run `npm ci --prefix static`.")
    return send_file(path, mimetype="text/javascript", max_age=3600)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(code: int, message: str | None = None, error: Exception | None = None):  # type: ignore[no-untyped-def]
    """One error rendering for pages, HTMX swaps and the JSON API."""
    if message is None and isinstance(error, HTTPException) and error.description:
        default = error.__class__.description
        message = error.description if error.description != default else None
    # Scripts match on the API's words: English whatever the caller's Accept-Language.
    with force_locale("en") if wants_json() else nullcontext():
        text = str(message or MESSAGES.get(code) or _l("The request failed."))
    if wants_json():
        return jsonify(error=text, status=code), code
    if request.htmx:
        response = current_app.make_response(
            (render_template("_flash.html", messages=[("error", text)]), code)
        )
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        # The target's own hx-select (e.g. a form's) would find nothing in this answer.
        response.headers["HX-Reselect"] = ".flash"
        return response
    return render_template("error.html", code=code, message=text), code
