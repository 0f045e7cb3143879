"""Several processes starting at the same moment upgrade one database exactly once.

Real processes (three opening the database as ``serve`` does at start, one running
``flask --app wsgi db upgrade``) are started, import everything, say they are ready, and
wait on their standard input; the test then releases them all at once (one line each), so
their upgrades overlap. Against a brand-new database and against an old one (the schema
fixture on SQLite; today's tables without any migration history on PostgreSQL), every
process must succeed, exactly one must report the work, each migration must be recorded
once, and every row of the old database must still be there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from tests.e2e.processes import ROOT
from tests.engines import database_url
from tests.old_schema import old_database, raw_database
from tests.unit.test_schema_migrations import _columns, _rows
from webapp import schema

OPENERS = 3  # processes opening the database as a starting server does
DEADLINE = 60.0  # seconds any process may take; a few are needed
UP_TO_DATE = "schema already up to date"

# Each child imports what it needs, says "ready", waits for the go line, then upgrades.
CHILD = """
import json, sys
from flask.cli import main
from webapp.database import open_database
import webapp.views.api, webapp.views.auth  # the app's heavier imports, done before the go
print("ready", flush=True)
sys.stdin.readline()
if sys.argv[1] == "open":
    print("RESULT " + json.dumps(open_database(sys.argv[2]).schema_changes), flush=True)
else:
    sys.argv = ["flask", "--app", "wsgi", "db", "upgrade"]
    main()
"""


def _upgrade_at_once(url: str, folder: Path) -> list[list[str]]:
    """Start the processes, release them together; what each reports it changed."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(folder / "instance"),
        "SECRET_KEY": "test-secret",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PYTHONUNBUFFERED": "1",
    }
    kinds = ["open"] * OPENERS + ["cli"]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, kind, url],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for kind in kinds
    ]
    try:
        for child in children:  # wait until every one has imported everything
            assert child.stdout is not None
            before = [line for line in iter(child.stdout.readline, "ready\n")]
            assert "" not in before, "".join(before)  # it ended before being ready
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=DEADLINE)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    for child, output in zip(children, outputs, strict=True):
        assert child.returncode == 0, output
    reports = []
    for kind, output in zip(kinds, outputs, strict=True):
        lines = output.splitlines()
        if kind == "open":
            (result,) = [line for line in lines if line.startswith("RESULT ")]
            reports.append(json.loads(result[len("RESULT ") :]))
        else:  # the command's changes come first, then one status line per migration
            status = [line for line in lines if line.startswith(("applied  ", "PENDING  "))]
            assert status and all(line.startswith("applied  ") for line in status), output
            changes = lines[: lines.index(status[0])]
            reports.append([] if changes == [UP_TO_DATE] else changes)
    return reports


def _recorded_migrations(url: str) -> list[str]:
    raw = raw_database(url)
    with raw.connection_context():
        names = [row[0] for row in raw.execute_sql(f'SELECT "name" FROM "{schema.HISTORY_TABLE}"')]
    raw.close()
    return sorted(names)


def _every_migration() -> list[str]:
    return sorted(path.stem for path in schema.MIGRATIONS.glob("[0-9]*.py"))


def test_processes_starting_together_on_a_new_database_create_it_once(tmp_path):
    url = database_url(tmp_path, "new.db")
    reports = _upgrade_at_once(url, tmp_path)
    assert sorted(reports, key=len) == [[]] * OPENERS + [["created every table"]], reports
    assert _recorded_migrations(url) == _every_migration()


def test_processes_starting_together_on_an_old_database_upgrade_it_once(tmp_path):
    url = old_database(tmp_path)
    raw = raw_database(url)
    old_columns = _columns(raw)
    before = _rows(raw, old_columns)
    raw.close()
    assert any(before.values())  # there are rows to lose

    reports = _upgrade_at_once(url, tmp_path)
    workers = [report for report in reports if report]
    assert len(workers) == 1, reports
    assert [line.split(":")[0] for line in workers[0] if line.startswith("migration ")] == [
        f"migration {name}" for name in _every_migration()
    ]
    assert _recorded_migrations(url) == _every_migration()
    raw = raw_database(url)
    assert _rows(raw, old_columns) == before
    raw.close()
