"""First-run setup, login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from webapp.extensions import db
from webapp.forms import ActionForm, LoginForm, SetupForm
from webapp.models import Admin
from webapp.rate_limit import SlidingWindowLimit
from webapp.security import hash_password, verify_password

bp = Blueprint("auth", __name__)

# After this many failed sign-ins from one address within the window, sign-in waits.
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_SECONDS = 300.0


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login page cannot bounce users elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("integrations.index")


@bp.route("/setup", methods=["GET", "POST"])
def setup():  # type: ignore[no-untyped-def]
    if Admin.select().exists():
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if form.validate_on_submit():
        with db.atomic("IMMEDIATE"):
            if Admin.select().exists():  # two browsers racing through setup
                return redirect(url_for("auth.login"))
            admin = Admin.create(
                username=form.username.data, password_hash=hash_password(form.password.data)
            )
        session.clear()
        session["admin_id"] = admin.id
        flash("Administrator account created.", "success")
        return redirect(url_for("integrations.index"), code=303)
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if not Admin.select().exists():
        return redirect(url_for("auth.setup"))
    form = LoginForm()
    client = request.remote_addr or "unknown"
    if form.validate_on_submit():
        wait = _failed_logins().wait_seconds(client)
        if wait:
            form.password.errors.append(
                f"Too many failed sign-ins from here. Try again in {wait // 60 + 1} minute(s)."
            )
            return render_template("auth/login.html", form=form), 429
        admin = Admin.get_or_none(Admin.username == form.username.data)
        if admin is not None and verify_password(admin.password_hash, form.password.data):
            _failed_logins().forget(client)
            session.clear()
            session.permanent = True
            session["admin_id"] = admin.id
            return redirect(_safe_next(form.next.data), code=303)
        _failed_logins().record(client)
        form.password.errors.append("Unknown username or wrong password.")
    elif not form.is_submitted():
        form.next.data = request.args.get("next", "")
    return render_template("auth/login.html", form=form)


def _failed_logins() -> SlidingWindowLimit:
    """Failed sign-ins per client address; one per app (tests build many in one process)."""
    return current_app.extensions.setdefault(
        "failed_logins", SlidingWindowLimit(LOGIN_MAX_FAILURES, LOGIN_WINDOW_SECONDS)
    )


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    ActionForm()  # CSRF is checked globally; the form keeps the template uniform
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
