"""Machine endpoints: authenticated by key, never by session cookie.

``POST /api/v1/freshchat/events`` receives what the companion app forwards. Checks run
cheapest first, and every refusal is a JSON body with an ``error`` sentence, counted
against the integration whose key was presented (when it was one of ours):

====  ==================================================================================
401   missing, malformed, unknown, wrong or revoked key; deleted integration (past
      ``PUSH_AUTH_FAILURES_PER_MINUTE`` such failures from one address: 429, not counted)
429   more than ``PUSH_RATE_LIMIT_PER_MINUTE`` requests a minute with this key, counted
      across every server process (``Retry-After`` says when the next one will pass)
415   ``Content-Type`` is not JSON (``application/json`` or ``*/*+json``)
413   body over ``PUSH_MAX_BODY_BYTES``, or more than ``PUSH_MAX_EVENTS_PER_REQUEST``
      events in one array
400   not UTF-8 / not JSON / nested deeper than 32 levels / not an event or array of
      events / an envelope with bad fields (``errors`` lists each one with its index and
      field path) / events of another Freshchat account (``push_account``); nothing stored
====  ==================================================================================

On success: ``202 Accepted`` with ``{"received", "stored", "duplicates", "applied",
"pending", "ignored"}`` once the new events are committed (see ``webapp.push``); an
envelope whose event name the app does not read is acknowledged as ``ignored``, never
stored (a new Freshchat event kind must not make the companion app retry a batch).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Request, Response, current_app, jsonify, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSession, SessionInterface, SessionMixin
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from webapp import pause, push, push_account, push_body, push_refusals
from webapp.integrations import check_app_key
from webapp.rate_limit import SCOPE_PUSH, SCOPE_PUSH_AUTH, SharedLimit

bp = Blueprint("api", __name__, url_prefix="/api/v1")

EVENTS_PATH = "/freshchat/events"  # under bp.url_prefix


def _limiter(
    app: Flask, scope: str = SCOPE_PUSH, setting: str = "PUSH_RATE_LIMIT_PER_MINUTE"
) -> SharedLimit:
    """The limit ``scope`` as the app's setting says now; its counts are in the database,
    shared by every process."""
    return SharedLimit(scope, int(app.config[setting]))


def failed_keys_limit(app: Flask) -> SharedLimit:
    """Failed keys per client address: past the limit, refused without any write."""
    return _limiter(app, SCOPE_PUSH_AUTH, "PUSH_AUTH_FAILURES_PER_MINUTE")


def _refuse(
    status: int,
    message: str,
    integration_id: int | None,
    *,
    body: dict[str, Any] | None = None,
    reason: str | None = None,
    headers: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    push_refusals.record_refusal(integration_id, status, reason or message)
    response = jsonify(body or {"error": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _is_json_type() -> bool:
    mimetype = request.mimetype or ""
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


@bp.post(EVENTS_PATH)
def events_endpoint():  # type: ignore[no-untyped-def]
    config = current_app.config
    check = check_app_key(request.headers.get("Authorization"))
    integration = check.integration
    integration_id = integration.id if integration is not None else None
    if check.reason is not None:
        address = request.remote_addr or "unknown"
        failures = failed_keys_limit(current_app)
        wait = failures.wait_seconds(address)
        if wait:
            # A flood of bad keys: one read of the limit, nothing else read or written.
            response = jsonify({"error": "too many failed keys from this address"})
            response.status_code = 429
            response.headers["Retry-After"] = str(wait)
            response.headers["Cache-Control"] = "no-store"
            return response
        failures.record(address)
        reason = check.reason
        if integration is not None and integration.is_deleted:
            reason = "integration deleted"  # deleting revokes the key; say the real cause
        return _refuse(
            401,
            reason,
            integration_id,
            headers={"WWW-Authenticate": 'Bearer realm="freshchat-events"'},
        )
    assert check.api_key is not None and integration is not None

    limiter = _limiter(current_app)
    subject = check.api_key.prefix

    def over_limit(retry_after: int):  # type: ignore[no-untyped-def]
        limit = int(config["PUSH_RATE_LIMIT_PER_MINUTE"])
        message = f"rate limit exceeded: at most {limit} requests per minute per key"
        return _refuse(
            429,
            message,
            integration_id,
            body={"error": message, "retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )

    def refuse(status: int, message: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        # A refused request counts against the limit too, and past it the answer is 429,
        # as if the limit had been checked first (a request that will be stored is
        # counted inside its own write transaction instead: one commit, not two).
        retry_after = limiter.check(subject)
        if retry_after is not None:
            return over_limit(retry_after)
        return _refuse(status, message, integration_id, **kwargs)

    if not _is_json_type():
        got = request.mimetype or "no Content-Type"
        return refuse(415, f"expected Content-Type application/json, got {got}")

    max_bytes = int(config["PUSH_MAX_BODY_BYTES"])
    too_large = f"the body is larger than {max_bytes} bytes"
    if request.content_length is not None and request.content_length > max_bytes:
        return refuse(413, too_large)
    try:
        raw = request.stream.read(max_bytes + 1)
    except RequestEntityTooLarge:
        return refuse(413, too_large)
    if len(raw) > max_bytes:
        return refuse(413, too_large)

    try:
        batch = push_body.read_batch(raw, max_events=int(config["PUSH_MAX_EVENTS_PER_REQUEST"]))
        push_account.check_account(integration, batch.events)
    except push_body.BatchRefused as refused:
        return refuse(
            refused.status, refused.message, body=refused.as_json(), reason=refused.reason()
        )

    def admit() -> int | None:
        retry_after = limiter.check(subject)
        if retry_after is None:
            push_account.pin_account(integration, batch.events)
        return retry_after

    # Counted against the limit, stored and applied in one transaction (applying in a
    # savepoint that may fail alone): the answer is sent only once the events are committed.
    stored = push.store(
        integration.id,
        batch.events,
        check.api_key,
        apply=pause.applies_pushed(integration),
        admit=admit,
    )
    if stored.retry_after is not None:
        return over_limit(stored.retry_after)
    body: dict[str, Any] = {
        "received": batch.received,
        "stored": len(stored.new),
        "duplicates": stored.duplicates,
        "applied": stored.applied,
        "pending": stored.pending,
        "ignored": batch.ignored,
    }
    if not pause.applies_pushed(integration):
        body["note"] = pause.PUSH_NOTE
    response = jsonify(body)
    response.status_code = 202
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- page helpers


def events_url() -> str:
    """The exact URL the companion app must call: PUBLIC_BASE_URL when set, else ours."""
    path = url_for("api.events_endpoint")
    script_root = request.script_root or ""
    if script_root and path.startswith(script_root):
        path = path[len(script_root) :]
    base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root
    return base.rstrip("/") + path


class _UnsavedSession(SecureCookieSession):
    """An empty session that is never read from nor written to a cookie."""


class _NoSessionForEvents(SessionInterface):
    """The app's session interface, except for ``POST`` to the events endpoint.

    That endpoint authenticates by key only: it must never read the admin's cookie (nor
    pay for checking its signature on every pushed event) and never send ``Set-Cookie``.
    It gets an empty throwaway session instead of a null one, so that an error page
    rendered for it (which asks for a CSRF token) still works. Other methods on that path
    and the other ``/api`` routes (the stats API accepts a signed-in admin) keep the
    normal session.
    """

    def __init__(self, inner: SessionInterface, path: str) -> None:
        self.inner = inner
        self.path = path
        self.null_session_class = inner.null_session_class
        self.pickle_based = inner.pickle_based

    def make_null_session(self, app: Flask) -> Any:
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return isinstance(obj, _UnsavedSession) or self.inner.is_null_session(obj)

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.method == "POST" and request.path == self.path:
            return _UnsavedSession()
        return self.inner.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, _UnsavedSession):
            self.inner.save_session(app, session, response)


@bp.record_once
def _register_template_global(state: BlueprintSetupState) -> None:
    # A URL, formatted from the request and settings (no query): the install steps quote it.
    state.app.jinja_env.globals["events_url"] = lambda _integration=None: events_url()


@bp.record_once
def _no_session_for_events(state: BlueprintSetupState) -> None:
    prefix = (state.url_prefix or "").rstrip("/")
    state.app.session_interface = _NoSessionForEvents(
        state.app.session_interface, prefix + EVENTS_PATH
    )


def _json_routing_error() -> Response | None:
    """A JSON 404/405 for an unknown path or a wrong method under ``/api/``.

    Runs before the sign-in gate: a machine client must get a status it can act on, never
    a redirect to the HTML sign-in page (which is what an unmatched route got, since it has
    no endpoint to call public).
    """
    error = request.routing_exception
    if not isinstance(error, HTTPException) or not request.path.startswith("/api/"):
        return None
    code = error.code or 404
    if isinstance(error, MethodNotAllowed):
        allowed = sorted(error.valid_methods or [])
        response = jsonify({"error": f"method {request.method} not allowed", "allowed": allowed})
        response.headers["Allow"] = ", ".join(allowed)
    else:
        response = jsonify({"error": "no such API endpoint"})
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.record_once
def _json_errors_under_api(state: BlueprintSetupState) -> None:
    # First among the app's before-request hooks, ahead of the sign-in gate.
    state.app.before_request_funcs.setdefault(None, []).insert(0, _json_routing_error)
