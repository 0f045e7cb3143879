"""Signed-in pages stay out of browser caches.

A page can hold a secret shown once (the companion-app key swapped in after load), and
Back after signing out must not show it again from the HTTP or back/forward cache; pages
cost nothing to render again, so every HTML answer is ``no-store`` unless a view chose.
"""

from __future__ import annotations

from flask import Flask, Response


def _no_store(response: Response) -> Response:
    if response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    app.after_request(_no_store)
