"""Interval export API (session or the integration's API key)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_stats", __name__, url_prefix="/api/v1")
