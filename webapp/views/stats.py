"""Source queues and interval statistics (filled in by the statistics views)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("stats", __name__)
