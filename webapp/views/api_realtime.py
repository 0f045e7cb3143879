"""Machine endpoints of the real-time paths, beside the events endpoint (``views.api``).

``GET /api/v1/freshchat/ping``
    The companion app's install screen checks URL and key here: 200
    ``{"integration": name}`` for a valid companion-app key, 401 otherwise (429 past
    ``PUSH_AUTH_FAILURES_PER_MINUTE`` failed keys from one address, shared with the events
    endpoint). It changes nothing and is not counted as a refused push.

``POST /api/v1/freshchat/webhooks/<token>``
    Freshchat's native webhooks (``webapp.webhook_intake``). 404 for an unknown token,
    413 for a body over ``PUSH_MAX_BODY_BYTES``, 401 for a missing or wrong signature
    (checked over the raw bytes first), 400 for a body that is not a webhook; 200 once
    stored. No session, no CSRF: the signature is the authentication.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp import webhook_intake
from webapp.freshchat.webhooks import SIGNATURE_HEADER
from webapp.integrations import check_app_key
from webapp.views import api as events_api

bp = Blueprint("api_realtime", __name__, url_prefix="/api/v1")


def _json(status: int, body: dict, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def, type-arg]
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.get("/freshchat/ping")
def ping():  # type: ignore[no-untyped-def]
    check = check_app_key(request.headers.get("Authorization"))
    if check.reason is not None or check.integration is None:
        # One key space with the events endpoint, so one limit on guessing it.
        failures = events_api.failed_keys_limit(current_app)
        address = request.remote_addr or "unknown"
        wait = failures.wait_seconds(address)
        if wait:
            return _json(
                429, {"error": "too many failed keys from this address"}, {"Retry-After": str(wait)}
            )
        failures.record(address)
        reason = check.reason or "unknown API key"
        return _json(
            401,
            {"error": f"{reason}: generate a companion-app key on the integration page"},
            {"WWW-Authenticate": 'Bearer realm="freshchat-events"'},
        )
    return _json(200, {"integration": check.integration.name, "ok": True})


@bp.post("/freshchat/webhooks/<token>")
def webhook(token: str):  # type: ignore[no-untyped-def]
    endpoint = webhook_intake.find(token)
    if endpoint is None:
        return _json(404, {"error": "unknown webhook URL: copy it again from the integration page"})
    integration_id = endpoint.integration.id
    max_bytes = int(current_app.config["PUSH_MAX_BODY_BYTES"])
    too_large = f"the body is larger than {max_bytes} bytes"
    if request.content_length is not None and request.content_length > max_bytes:
        webhook_intake.record_refusal(integration_id, 413, too_large)
        return _json(413, {"error": too_large})
    try:
        raw = request.stream.read(max_bytes + 1)
    except RequestEntityTooLarge:
        raw = b"x" * (max_bytes + 1)
    if len(raw) > max_bytes:
        webhook_intake.record_refusal(integration_id, 413, too_large)
        return _json(413, {"error": too_large})
    delivery = webhook_intake.receive(endpoint, raw, request.headers.get(SIGNATURE_HEADER))
    return _json(delivery.status, delivery.body)
