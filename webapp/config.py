"""Settings: defaults, then the environment, then the caller's overrides (tests, demo)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

# Every setting the README lists, with its safe default.
DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,  # generated once into the instance folder when unset
    "ENCRYPTION_KEY": None,  # Fernet key(s), comma separated; generated when unset
    "DATABASE_URL": None,  # default: SQLite file in the instance folder
    "FRESHCHAT_API_URL": "https://{domain}/v2",
    "FRESHCHAT_ALLOWED_HOSTS": ".freshchat.com,.myfreshworks.com",
    "FRESHCHAT_TIMEOUT_SECONDS": 20.0,
    "SYNC_OVERLAP_MINUTES": 60,
    "EXTRACT_POLL_SECONDS": 5.0,  # pause between polls of a pending Extract job
    "FRESHCHAT_MAX_WAIT_SECONDS": 300.0,  # longest Retry-After honoured before giving up
    "FRESHCHAT_DOWNLOAD_DEADLINE_SECONDS": 900.0,  # whole report file, however it trickles
    "PUSH_MAX_BODY_BYTES": 1_048_576,
    "PUSH_MAX_EVENTS_PER_REQUEST": 500,
    "PUSH_RATE_LIMIT_PER_MINUTE": 600,
    "PUSH_AUTH_FAILURES_PER_MINUTE": 30,
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-For is believed
    "PUBLIC_BASE_URL": None,  # what the companion app must call; default: request host
    "SESSION_COOKIE_SECURE": False,  # set true when the app is served over HTTPS
    "DEMO_MODE": False,  # only `flask demo` sets it; no environment variable can
}

_BOOL_TRUE = {"1", "true", "yes", "on"}


def _coerce(default: Any, raw: str) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in _BOOL_TRUE
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read the settings that are present in the environment, typed like their defaults."""
    environ = dict(os.environ if environ is None else environ)
    settings: dict[str, Any] = {}
    for name, default in DEFAULTS.items():
        if name == "DEMO_MODE" or name not in environ:
            continue
        settings[name] = _coerce(default, environ[name])
    return settings


def instance_secret(instance_path: str, filename: str, make: Any) -> str:
    """A secret generated on first start and kept (mode 0600) in the instance folder.

    Restarting must not log everyone out or make stored API keys undecryptable, so the
    generated value is persisted rather than regenerated per process.
    """
    path = Path(instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def new_secret_key() -> str:
    return secrets.token_urlsafe(48)
