"""Serving with waitress plus the in-process scheduler (the one place it is started)."""

from __future__ import annotations

import logging

from flask import Flask

log = logging.getLogger(__name__)


def serve(app: Flask, host: str, port: int, threads: int = 8, wsgi_app=None) -> None:  # type: ignore[no-untyped-def]
    """Start the scheduler, then block serving HTTP until interrupted.

    With several server processes each starts a scheduler: they agree through the
    database (the lease, and the next sync due one period after the last start), so an
    integration still syncs once per period (README, "Several processes").
    """
    import waitress

    from webapp import scheduler, sync_jobs
    from webapp.extensions import db
    from webapp.sync_guard import stop_on_signals

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One line per job run every minute drowns what matters; keep warnings and errors.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    with app.app_context(), db.connection_context():
        sync_jobs.apply_waiting_for_app(app)  # events stored before a crash are applied first
    # SIGTERM (or Ctrl-C): running syncs stop at their next safe point, and leaving the
    # HTTP loop (waitress ends it on SystemExit) lets the scheduler wait for them below.
    with stop_on_signals(then=_leave_http_loop):
        scheduler.start(app)
        try:
            waitress.serve(
                wsgi_app or app,
                host=host,
                port=port,
                threads=threads,
                ident="chat-volume-hub",
                # waitress drops X-Forwarded-* unless told to keep them; with trusted
                # proxies the app's ProxyFix reads them (webapp._trust_proxies).
                clear_untrusted_proxy_headers=int(app.config["TRUSTED_PROXIES"]) == 0,
            )
        finally:
            scheduler.shutdown(wait=True)
            log.info("stopped")


def _leave_http_loop() -> None:
    raise SystemExit(0)
