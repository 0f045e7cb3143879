"""Pushed companion-app events: store first, apply through the same funnel as the pull."""

from __future__ import annotations

from typing import Any


def apply_pending(app: Any) -> int:
    return 0
