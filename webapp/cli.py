"""``flask --app wsgi …`` commands for on-prem scripting, the server and the demo."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp import integrations as service
from webapp.cli_common import fail, find
from webapp.cli_integrations import integrations_cli
from webapp.extensions import db
from webapp.models import Admin, Integration
from webapp.names import name_problem
from webapp.security import hash_password
from webapp.sessions import end_all_sessions
from webapp.timeutil import parse_timestamp

# The plain commands below use ``with_appcontext`` so they also work through
# ``app.test_cli_runner()``, which does not go through FlaskGroup.


@click.command("create-admin")
@with_appcontext
@click.option("--username", prompt=True)
@click.option("--password", help="Prompted (hidden, twice) when omitted.")
def create_admin_command(username: str, password: str | None) -> None:
    """Create an administrator, or reset the password of an existing one."""
    username = username.strip()
    if not username or len(username) > 80:
        fail("the username must be 1 to 80 characters.")
    if problem := name_problem(username, "The username"):
        fail(problem)
    if password is None:
        password = click.prompt("Password", hide_input=True)
        if click.prompt("Repeat password", hide_input=True) != password:
            fail("the passwords differ.")
    if len(password) < 10:
        fail("the password must have at least 10 characters.")
    with db.connection_context():
        admin = Admin.get_or_none(Admin.username == username)
        if admin is None:
            Admin.create(username=username, password_hash=hash_password(password))
            click.echo(f"Created administrator “{username}”.")
        else:
            admin.password_hash = hash_password(password)
            admin.save()
            end_all_sessions(admin.id)  # whoever knew the old password is signed out
            click.echo(f"Reset the password of “{username}”; its sessions were ended.")


@click.command("sync")
@with_appcontext
@click.argument("name", required=False)
@click.option(
    "--since",
    help="Re-import from this date or ISO time (UTC): re-reads every chat of the range "
    "and recomputes its intervals, e.g. after an export problem. Needs NAME.",
)
def sync_command(name: str | None, since: str | None) -> None:
    """Sync one integration (or all active ones) in the foreground, with progress.

    SIGTERM or Ctrl-C stops the running sync at its next safe point: the run is marked
    interrupted, the lease released, and the command exits non-zero.
    """
    from webapp import pause, sync_guard, sync_jobs
    from webapp.reimport import SinceError, parse_since
    from webapp.timeutil import now_from

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    since_at = None
    if since is not None:
        if not name:
            fail("--since re-imports one integration: give its NAME.")
        try:
            since_at = parse_since(since, now_from(app.config))
        except SinceError as exc:
            fail(str(exc))
    with db.connection_context(), sync_guard.stop_on_signals():
        if name:
            integration = find(name)
            if not pause.may_sync(integration):
                fail(f"“{integration.name}”: {pause.SYNC_REFUSED}")
            targets = [integration]
        else:
            targets = list(service.live().where(pause.running()))
        if not targets:
            click.echo("No active integration to sync.")
            return
        failures: list[str] = []
        for integration in targets:
            if sync_guard.STOP.is_set():
                failures.append(f"{integration.name}: not synced, the command was stopped.")
                continue
            click.echo(f"Syncing {integration.name}…")

            shown = [0]

            def step(run, shown=shown) -> None:  # type: ignore[no-untyped-def]
                # One line per finished step: readable on a terminal and in a cron log.
                if run.progress_done > shown[0]:
                    shown[0] = run.progress_done
                    click.echo(f"  [{run.progress_done}/{run.progress_total}] {run.progress_text}")

            outcome = sync_jobs.sync_for_app(
                app,
                integration.id,
                trigger="reimport" if since_at else "cli",
                on_step=step,
                since=since_at,
            )
            if outcome is None:
                failures.append(f"{integration.name}: another sync of it is running; skipped.")
            elif outcome.ok:
                click.echo(f"  ok: {outcome.message}")
            else:
                failures.append(f"{integration.name}: {outcome.message}")
        if failures:
            fail(" | ".join(failures))


@click.command("diagnose")
@with_appcontext
@click.argument("name")
@click.option(
    "--out", type=click.Path(dir_okay=False, writable=True), help="Also write the JSON here."
)
def diagnose_command(name: str, out: str | None) -> None:
    """Check data access: one short Extract job per event over the last 24 hours, read in
    memory, nothing stored; prints what each event's export holds and how it is read."""
    from webapp import diagnose
    from webapp.clients import client_factory_for
    from webapp.timeutil import now_from

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.connection_context():
        integration = find(name)
    client = client_factory_for(app.config, app.extensions["secret_box"])(integration)
    now = now_from(app.config)
    diagnosis = diagnose.Diagnosis(integration.name, integration.domain, now - diagnose.WINDOW, now)
    shown = [0]

    def step(current: diagnose.Diagnosis) -> None:
        if current.done > shown[0]:
            shown[0] = current.done
            click.echo(f"  [{current.done}/{current.total}] {current.progress}")

    click.echo(f"Checking data access of {integration.name} ({integration.domain})…")
    diagnose.run_diagnosis(
        client,
        diagnosis,
        poll_interval=float(app.config.get("EXTRACT_POLL_SECONDS", 5.0)),
        on_progress=step,
    )
    for line in diagnose.text_report(diagnosis):
        click.echo(line)
    if out:
        with open(out, "w", encoding="utf-8") as file:
            json.dump(diagnosis.as_json(), file, indent=1, ensure_ascii=False)
        click.echo(f"Diagnostic written to {out} (conversation ids hashed, no names or messages).")
    if any(report.outcome != "ok" for report in diagnosis.events) or diagnosis.groups_error:
        sys.exit(1)


def _parse_cli_time(value: str, option: str) -> datetime:
    try:
        parsed = parse_timestamp(value)
    except ValueError:
        parsed = None
    if parsed is None:
        fail(f"{option} must be an ISO 8601 time such as 2026-11-02T00:00:00Z.")
    return parsed


@click.command("stats")
@with_appcontext
@click.argument("name")
@click.option("--from", "start", required=True, help="ISO 8601, inclusive")
@click.option("--to", "end", required=True, help="ISO 8601, exclusive")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "wfm"]), default="csv")
@click.option("--queue", "queues", multiple=True, help="Only these queues (repeatable).")
@click.option(
    "--series",
    type=click.Choice(["sparse", "complete"]),
    help="complete: every interval, zeros written, unmeasured ones marked (wfm: always).",
)
@click.option("--minutes", type=click.Choice(["15", "30", "60"]), default="15")
@click.option(
    "--zone", "basis", type=click.Choice(["utc", "local"]), default="utc", help="Time basis."
)
@click.option("--shape", type=click.Choice(["long", "wide"]), default="long")
def stats_command(  # type: ignore[no-untyped-def]
    name: str, start: str, end: str, fmt: str, queues: tuple[str, ...], **layout
) -> None:
    """Print contacts per queue per interval in [from, to)."""
    from webapp import stats
    from webapp.display_time import zone
    from webapp.export_formats import export_chunks
    from webapp.series import check_range, parse_options
    from webapp.timeutil import now_from

    start_at, end_at = _parse_cli_time(start, "--from"), _parse_cli_time(end, "--to")
    with db.connection_context():
        integration = Integration.get_or_none(Integration.name_key == service.name_key(name))
        if integration is None:
            integration = (
                Integration.select().where(Integration.name == service.clean_name(name)).first()
            )
        if integration is None:
            fail(f"no integration named “{name}”.")
        tz = zone(integration.display_timezone)
        values = {"format": fmt, "zone": layout["basis"], **layout}
        try:
            options = parse_options(
                {key: value for key, value in values.items() if value}, default_format="csv"
            )
            query = stats.RangeQuery.build(integration, start_at, end_at, list(queues) or None)
            check_range(query, options, tz)
        except stats.QueryError as exc:
            fail(str(exc))
        if options.historical and fmt == "json":
            # Kept as it always was (indented), for scripts that read it.
            rows = stats.export_rows(query)
            sys.stdout.write(json.dumps(list(stats.json_objects(rows)), indent=1) + "\n")
            return
        chunks = export_chunks(
            query,
            options,
            catalog=stats.queue_catalog(integration),
            tz=tz,
            now=now_from(current_app.config),
        )
        for chunk in chunks:
            sys.stdout.write(chunk)


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve_command(host: str, port: int, threads: int) -> None:
    """Serve the app with waitress and run the sync scheduler in this process."""
    from webapp.serving import serve

    serve(current_app._get_current_object(), host, port, threads)  # type: ignore[attr-defined]


@click.command("demo")
@with_appcontext
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback by default; pass 0.0.0.0 only if others must reach the demo.",
)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--chats-per-day", default=300, show_default=True, type=int)
@click.option(
    "--dialect",
    type=click.Choice(["classic", "real"]),
    default="classic",
    show_default=True,
    help="How the simulated Freshchat writes its exports (see README).",
)
def demo_command(host: str, port: int, seed: int, chats_per_day: int, dialect: str) -> None:
    """Start a demo: simulated Freshchat, a demo admin and a synced integration."""
    from webapp.demo import run_demo

    run_demo(
        current_app._get_current_object(),
        host=host,
        port=port,
        seed=seed,  # type: ignore[attr-defined]
        chats_per_day=chats_per_day,
        dialect=dialect,
    )


def register_cli(app: Flask, make_app: Callable[..., Flask]) -> None:
    """Add the commands; ``make_app`` (``webapp.create_app``) is kept for ``flask demo``,
    which builds an app of its own."""
    from webapp.cli_db import db_cli

    app.extensions["make_app"] = make_app

    app.cli.add_command(db_cli)
    app.cli.add_command(integrations_cli)
    for command in (
        create_admin_command,
        sync_command,
        stats_command,
        serve_command,
        demo_command,
        diagnose_command,
    ):
        app.cli.add_command(command)
