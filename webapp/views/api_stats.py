"""Interval export API (session or the integration's API key).

``GET /api/v1/integrations/<id>/intervals?from=&to=&queue=&format=`` answers with the
same rows as the page export, streamed. Blueprints named ``api*`` skip the login check, so
this one authenticates every request itself: a signed-in administrator, or the companion-app
key of *this* integration (a key opens one integration's data, never another's).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, session

from webapp import stats
from webapp.display_time import DateInputError, zone
from webapp.export_checks import api_end_refusal
from webapp.integrations import check_app_key
from webapp.models import Admin, Integration
from webapp.series import check_range, parse_options, range_end
from webapp.stats_page import export_response
from webapp.timeutil import now_from

bp = Blueprint("api_stats", __name__, url_prefix="/api/v1")


def _refusal(status: int, message: str):  # type: ignore[no-untyped-def]
    response = jsonify(error=message, status=status)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="intervals"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in() -> bool:
    admin_id = session.get("admin_id")
    return bool(admin_id) and Admin.get_or_none(Admin.id == admin_id) is not None


def _key_refusal(integration_id: int) -> str | None:
    """Why the presented key does not open this integration, or None when it does."""
    header = request.headers.get("Authorization")
    if not header:
        return (
            "Authentication required: sign in, or send this integration's API key as "
            "“Authorization: Bearer <key>”."
        )
    check = check_app_key(header)
    if check.reason is not None:
        return f"Authentication failed: {check.reason}."
    if check.api_key is None or check.api_key.integration_id != integration_id:
        return "Authentication failed: this API key belongs to another integration."
    return None


@bp.get("/integrations/<int:integration_id>/intervals")
def intervals(integration_id: int):  # type: ignore[no-untyped-def]
    if not _signed_in():
        refusal = _key_refusal(integration_id)
        if refusal is not None:
            return _refusal(401, refusal)
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        return _refusal(404, f"There is no integration {integration_id}.")
    try:
        options = parse_options(request.args, default_format="json")
        tz = zone(integration.display_timezone)
        start = range_end(request.args.get("from"), "from", options, tz)
        end = range_end(request.args.get("to"), "to", options, tz)
        missing = [name for name, value in (("from", start), ("to", end)) if value is None]
        if missing or start is None or end is None:
            raise stats.QueryError(
                f"“{'” and “'.join(missing)}” required: ISO 8601 dates or times in UTC, "
                "“from” included and “to” excluded, e.g. from=2026-11-16&to=2026-11-23."
            )
        now = now_from(current_app.config)
        queues = [name for name in request.args.getlist("queue") if name.strip()]
        query = stats.RangeQuery.build(integration, start, end, queues or None, now=now)
        too_late = api_end_refusal(end, now)
        if too_late is not None:
            raise stats.QueryError(too_late)
        check_range(query, options, tz)
    except (DateInputError, stats.QueryError) as exc:
        return _refusal(400, str(exc))
    return export_response(query, options)
