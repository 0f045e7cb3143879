"""Application factory."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.routing import IntegerConverter, Map

from webapp import i18n
from webapp.config import DEFAULTS, from_environment, instance_secret, new_secret_key
from webapp.database import open_database
from webapp.extensions import csrf, db, htmx
from webapp.push_upgrade import trim_stored_events
from webapp.security import SecretBox, new_encryption_key

ROOT = Path(__file__).resolve().parent.parent

# Scripts and styles only from this server's own files: no inline script, no inline style,
# no eval (htmx is told not to need it in base.html), nothing framed, forms post here only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# Endpoints reachable without logging in.
PUBLIC_ENDPOINTS = {"auth.login", "auth.setup", "misc.health", "static", "misc.htmx_script"}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then environment, then ``config`` (tests and the demo)."""
    # INSTANCE_PATH (secrets, SQLite file, demo database) may come from the environment too.
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(DEFAULTS)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # The cookie is sent only when the session changes: a slow request that changed
        # nothing (an inline field check racing Save) must not answer with its older copy
        # of the session and wipe the flash Save just set. The 12 hours count from sign-in.
        SESSION_REFRESH_EACH_REQUEST=False,
        # Per-session CSRF tokens: a page left open and polling must not go stale.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
    )
    app.config.update(from_environment())
    if config:
        app.config.update(config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(app.instance_path, "secret_key", new_secret_key)
    if not app.config["ENCRYPTION_KEY"]:
        app.config["ENCRYPTION_KEY"] = instance_secret(
            app.instance_path, "encryption_key", new_encryption_key
        )
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'app.db'}"
    app.extensions["secret_box"] = SecretBox(app.config["ENCRYPTION_KEY"])

    open_database(app.config["DATABASE_URL"])
    trim_stored_events()
    _trust_proxies(app)
    csrf.init_app(app)
    htmx.init_app(app)
    i18n.init_app(app)
    _register_database_hooks(app)
    app.url_map.converters["int"] = DatabaseIdConverter
    _register_blueprints(app)
    _register_access_control(app)
    _register_error_handlers(app)
    _register_template_helpers(app)

    from webapp.cli import register_cli

    register_cli(app, create_app)
    logging.getLogger("webapp").setLevel(logging.INFO)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, the client's address and scheme come
    from their ``X-Forwarded-For``/``-Proto`` headers (werkzeug's ProxyFix): the sign-in
    and failed-key limits count per real client, not per proxy. Without a proxy the
    headers are ignored, so a client cannot pick its own address."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` limited to what SQLite can store: a larger id is a 404, not a 500."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def _register_database_hooks(app: Flask) -> None:
    @app.before_request
    def _connect() -> None:
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        if not db.is_closed():
            db.close()


def _register_blueprints(app: Flask) -> None:
    import webapp.views.api_realtime as api_realtime  # webhooks, install-screen ping
    import webapp.views.companion as companion  # companion-app download, webhook set-up
    from webapp.views import (
        account,
        api,
        api_stats,
        auth,
        data_access,
        integrations,
        language,
        misc,
        stats,
        stats_compare,
        stats_zone,
        sync,
    )

    app.register_blueprint(misc.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(language.bp)
    app.register_blueprint(integrations.bp)
    app.register_blueprint(sync.bp)
    app.register_blueprint(data_access.bp)
    app.register_blueprint(stats.bp)
    app.register_blueprint(stats_zone.bp)
    app.register_blueprint(stats_compare.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_stats.bp)
    app.register_blueprint(api_realtime.bp)
    app.register_blueprint(companion.bp)
    csrf.exempt(api.events_endpoint)
    csrf.exempt(api_realtime.webhook)


def _register_access_control(app: Flask) -> None:
    from webapp.models import Admin
    from webapp.sessions import signed_in_admin

    @app.before_request
    def _require_login():  # type: ignore[no-untyped-def]
        endpoint = request.endpoint or ""
        # Machine endpoints (blueprints named api*) authenticate themselves by key.
        if endpoint in PUBLIC_ENDPOINTS or endpoint.split(".")[0].startswith("api"):
            return None
        if not Admin.select().exists():
            return redirect(url_for("auth.setup"))
        admin = signed_in_admin()
        if admin is None:
            session.clear()
            if request.htmx:
                response = app.response_class("", status=200)
                response.headers["HX-Redirect"] = url_for("auth.login")
                return response
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        g.admin = admin
        return None

    @app.after_request
    def _headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.vary.add("HX-Request")
        return response


def _register_error_handlers(app: Flask) -> None:
    from webapp.views.misc import render_error

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        from webapp.views.expired import form_expired

        return form_expired()

    for code in (400, 404, 405, 410, 413, 500):
        app.register_error_handler(code, lambda e, c=code: render_error(c, None, e))


def _register_template_helpers(app: Flask) -> None:
    from webapp import templating

    templating.register(app)

    from webapp import private_pages

    private_pages.register(app)
