"""What a refused CSRF token says: sign in again when the session ended, else reload.

A form left open past the session's end (or a server restart with a new secret) sends a
token the server cannot check. Dropping that answer leaves Save doing nothing visible, so
a signed-out admin is sent to sign in and brought back to the page; a signed-in one sees
why nothing was saved.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import make_response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from webapp.sessions import signed_in_admin
from webapp.views.misc import render_error

EXPIRED_FORM = _l(
    "This form has expired or was not sent from this site. "
    "Reload the page and try again; nothing was saved."
)


def _page_to_return_to() -> str | None:
    """The same-site page the refused request came from (htmx says it; forms have Referer)."""
    source = (request.htmx.current_url if request.htmx else None) or request.referrer
    if not source:
        return None
    parts = urlsplit(source)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def form_expired() -> ResponseReturnValue:
    """The answer to a CSRFError, for pages, htmx requests and the JSON API alike."""
    if request.path.startswith("/api/") or signed_in_admin() is not None:
        return render_error(400, str(EXPIRED_FORM))
    # Said by the sign-in page from its URL, not flashed: a blur check and the submit can
    # both end here, and the second redirect would find the flash already shown.
    back = _page_to_return_to()
    target = (
        url_for("auth.login", next=back, expired=1) if back else url_for("auth.login", expired=1)
    )
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)
