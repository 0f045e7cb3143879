"""The header's language switch: the signed-in admin's choice, kept on their row."""

from __future__ import annotations

from flask import Blueprint, g, redirect, request
from flask.typing import ResponseReturnValue

from webapp.i18n import LanguageError, check_language
from webapp.models import Admin
from webapp.views.auth import safe_next
from webapp.views.misc import render_error

bp = Blueprint("language", __name__)


@bp.post("/language")
def choose() -> ResponseReturnValue:
    """Store the choice (CSRF is checked globally) and go back to the page it was made on."""
    try:
        language = check_language(request.form.get("language"))
    except LanguageError as exc:
        return render_error(400, str(exc))
    Admin.update(language=language).where(Admin.id == g.admin.id).execute()
    g.admin.language = language
    return redirect(safe_next(request.form.get("next")), code=303)
