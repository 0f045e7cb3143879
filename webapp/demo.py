"""Demo mode: the whole product against a simulated Freshchat account, on this machine only.

A newcomer has no Freshchat account and the box may be offline, so ``flask --app wsgi demo``
starts the simulator on a loopback port, builds a separate app over its own database file
(``instance/demo.db``, recreated at each start so the demo never touches real data and
always looks the same), creates a demo administrator with a fresh random password, adds one
Freshchat integration pointed at the simulator, syncs it, and only then starts serving, so
the first page the newcomer opens already has queues and charts.

Demo mode can only be switched on here: ``DEMO_MODE`` is never read from the environment.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from webapp import integrations as service
from webapp.extensions import db
from webapp.freshchat.sim_dialects import CLASSIC
from webapp.freshchat.simulator import FreshchatSimulator, SimAccount, SimServer, serve_in_thread
from webapp.models import Admin
from webapp.security import hash_password
from webapp.sync_jobs import sync_for_app

DEMO_USERNAME = "demo"
DEMO_DOMAIN = "demo.freshchat.com"
# A second simulated account, not connected, for trying the "Add integration" form.
TRIAL_DOMAIN = "trial.freshchat.com"
DEMO_INTEGRATION = "Demo Freshchat"
DEMO_DB_NAME = "demo.db"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class DemoSetup:
    """What a demo start made: the app to serve and what to tell the newcomer."""

    app: Flask
    sim: SimServer
    account: SimAccount
    username: str
    password: str
    integration_id: int
    sync_message: str


def prepare_demo(
    instance_path: str | Path,
    *,
    make_app: Callable[[dict[str, Any]], Flask],
    seed: int = 1,
    chats_per_day: int = 300,
    account_factory: Callable[..., SimAccount] = SimAccount,
    dialect: str = CLASSIC,
) -> DemoSetup:
    """Start the simulator, build the demo app and database, and sync once.

    Separated from serving so tests can check the prepared state without a server.
    ``make_app`` is ``webapp.create_app``, passed in: the package builds the CLI that
    starts the demo, so importing it here would make a loop.
    """
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    database_file = instance / DEMO_DB_NAME
    for stale in (database_file, Path(f"{database_file}-wal"), Path(f"{database_file}-shm")):
        stale.unlink(missing_ok=True)

    # "Live" mode: the account's clock is the real one, so chats keep arriving.
    account = account_factory(DEMO_DOMAIN, seed=seed, chats_per_day=chats_per_day)
    trial = account_factory(TRIAL_DOMAIN, seed=seed + 1, chats_per_day=max(1, chats_per_day // 2))
    sim = serve_in_thread(FreshchatSimulator([account, trial], dialect=dialect))
    app = make_app(
        {
            "INSTANCE_PATH": instance,
            "DATABASE_URL": f"sqlite:///{database_file}",
            "FRESHCHAT_API_URL": sim.api_url_template,
            "DEMO_MODE": True,
            "EXTRACT_POLL_SECONDS": 0.2,
        }
    )
    password = secrets.token_urlsafe(12)
    with app.app_context(), db.connection_context():
        Admin.create(username=DEMO_USERNAME, password_hash=hash_password(password))
        integration = service.create(
            service.IntegrationInput(
                name=DEMO_INTEGRATION,
                domain=DEMO_DOMAIN,
                api_key=account.admin_key,
                sync_every_minutes=15,
                backfill_days=30,
                display_timezone=account.timezone,
            ),
            app.extensions["secret_box"],
        )
        outcome = sync_for_app(app, integration.id, trigger="demo")
    message = outcome.message if outcome is not None else "sync skipped"
    return DemoSetup(app, sim, account, DEMO_USERNAME, password, integration.id, message)


def run_demo(
    base_app: Flask,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    seed: int = 1,
    chats_per_day: int = 300,
    out: Any = None,
    dialect: str = CLASSIC,
) -> None:
    """Prepare the demo, print how to get in, then serve until interrupted."""
    from webapp.serving import serve

    out = out or sys.stdout
    setup = prepare_demo(
        base_app.instance_path,
        make_app=base_app.extensions["make_app"],
        seed=seed,
        chats_per_day=chats_per_day,
        dialect=dialect,
    )
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    lines = [
        "",
        "Demo mode: a simulated Freshchat account, nothing leaves this machine.",
        f"  Open:      http://{shown_host}:{port}/",
        f"  Username:  {setup.username}",
        f"  Password:  {setup.password}",
        f"  First sync: {setup.sync_message}",
        f"  To try the Add integration form: domain {TRIAL_DOMAIN}, API key "
        f"{setup.account.admin_key} ({setup.account.agent_key} shows the not-an-admin error)",
        f"  Simulator: {setup.sim.base_url} ({dialect} export dialect; faults: "
        "POST /sim/_control/faults, see README)",
    ]
    if host not in LOOPBACK_HOSTS:
        lines.append(f"  Warning: listening on {host}: other machines can reach this demo.")
    lines.append("Press Ctrl+C to stop.")
    print("\n".join(lines), file=out, flush=True)
    try:
        serve(setup.app, host, port)
    finally:
        setup.sim.shutdown()
