"""Admin sessions that can be ended from the server, though the cookie is signed, not stored.

Flask keeps the session in a signed cookie, so a copy taken before sign-out stays valid
until it expires (12 hours). Each admin row carries a ``session_version`` copied into the
session at sign-in; signing out or changing the password increments it, which ends every
earlier session of that admin at its next request, on any browser. Other admins' sessions
are untouched.
"""

from __future__ import annotations

from flask import session

from webapp.models import Admin

SESSION_KEY = "admin_id"
VERSION_KEY = "session_version"


def start_session(admin: Admin) -> None:
    """A fresh session for ``admin`` (cleared first: no fixation of an earlier one)."""
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = admin.id
    session[VERSION_KEY] = admin.session_version


def signed_in_admin() -> Admin | None:
    """The admin this request's session belongs to, if that session was not ended."""
    admin_id = session.get(SESSION_KEY)
    if not admin_id:
        return None
    admin = Admin.get_or_none(Admin.id == admin_id)
    if admin is None or session.get(VERSION_KEY) != admin.session_version:
        return None
    return admin


def end_all_sessions(admin_id: int) -> None:
    """End every session ``admin_id`` has now (sign-out, password change)."""
    Admin.update(session_version=Admin.session_version + 1).where(Admin.id == admin_id).execute()
