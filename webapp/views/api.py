"""Machine endpoints: authenticated by key, never by session cookie."""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.post("/freshchat/events")
def events_endpoint():  # type: ignore[no-untyped-def]
    return jsonify(error="not implemented"), 501
