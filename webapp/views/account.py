"""Account: the menu the seed's path starts from (Account, then Integrations)."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from webapp.integrations import live

bp = Blueprint("account", __name__)


@bp.get("/account")
def index():  # type: ignore[no-untyped-def]
    return render_template("account/index.html", admin=g.admin, live_count=live().count())
