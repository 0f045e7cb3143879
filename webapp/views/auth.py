"""First-run setup, login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.database import write_transaction
from webapp.forms import ActionForm, LoginForm, SetupForm
from webapp.models import Admin
from webapp.rate_limit import SCOPE_SIGN_IN, SharedLimit
from webapp.security import dummy_password_hash, hash_password, verify_password
from webapp.sessions import end_all_sessions, start_session

bp = Blueprint("auth", __name__)

# After this many failed sign-ins from one address within the window, sign-in waits.
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_SECONDS = 300.0


def safe_next(target: str | None) -> str:
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
        with write_transaction(table=Admin):
            if Admin.select().exists():  # two browsers racing through setup
                return redirect(url_for("auth.login"))
            admin = Admin.create(
                username=form.username.data, password_hash=hash_password(form.password.data)
            )
        start_session(admin)
        flash(_("Administrator account created."), "success")
        return redirect(url_for("integrations.index"), code=303)
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if not Admin.select().exists():
        return redirect(url_for("auth.setup"))
    form = LoginForm()
    client = request.remote_addr or "unknown"
    if form.validate_on_submit():
        # Counted as a failure *before* the password is checked, in one atomic statement
        # shared by every process, so concurrent tries (to any process) cannot all pass
        # the limit; a success takes the count back.
        wait = _failed_logins().check(client)
        if wait:
            form.password.errors.append(
                ngettext(
                    "Too many failed sign-ins from here. Try again in %(num)d minute.",
                    "Too many failed sign-ins from here. Try again in %(num)d minutes.",
                    wait // 60 + 1,
                )
            )
            return render_template("auth/login.html", form=form), 429
        admin = Admin.get_or_none(Admin.username == form.username.data)
        # One Argon2 verification whether or not the username exists (a dummy hash when
        # not), so the answer time does not reveal which usernames exist.
        stored = admin.password_hash if admin is not None else dummy_password_hash()
        if verify_password(stored, form.password.data) and admin is not None:
            _failed_logins().forget(client)
            start_session(admin)
            return redirect(safe_next(form.next.data), code=303)
        form.password.errors.append(_("Unknown username or wrong password."))
    elif not form.is_submitted():
        form.next.data = request.args.get("next", "")
    return render_template("auth/login.html", form=form)


def _failed_logins() -> SharedLimit:
    """Failed sign-ins per client address, counted in the database (every process)."""
    return SharedLimit(SCOPE_SIGN_IN, LOGIN_MAX_FAILURES, LOGIN_WINDOW_SECONDS)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    ActionForm()  # CSRF is checked globally; the form keeps the template uniform
    admin_id = session.get("admin_id")
    if admin_id:
        end_all_sessions(admin_id)  # a copy of this cookie must not outlive the sign-out
    session.clear()
    flash(_("Signed out."), "info")
    return redirect(url_for("auth.login"), code=303)
