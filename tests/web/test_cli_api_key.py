"""``integrations add`` takes the Freshchat key without putting it in the process list
(issue 13, item 16): from stdin with ``--api-key -``, or from ``FRESHCHAT_API_KEY``."""

from __future__ import annotations

import pytest

from tests.conftest import make_test_app
from webapp.extensions import db
from webapp.models import Integration

KEY = "stdin-admin-key-5678"


@pytest.fixture
def app(tmp_path):
    application = make_test_app(tmp_path)
    yield application
    db.initialize(None)


def _add(app, *args: str, input: str | None = None, env: dict | None = None):
    runner = app.test_cli_runner()
    base = ["integrations", "add", "--name", "Acme", "--domain", "acme.freshchat.com"]
    return runner.invoke(args=[*base, *args, "--no-check"], input=input, env=env)


def _stored_key(app) -> str | None:
    with db.connection_context():
        row = Integration.get_or_none(Integration.name == "Acme")
        return app.extensions["secret_box"].decrypt(row.api_key_encrypted) if row else None


def test_the_key_can_come_from_stdin(app):
    result = _add(app, "--api-key", "-", input=KEY + "\n")
    assert result.exit_code == 0, result.output
    assert _stored_key(app) == KEY
    assert KEY not in result.output


def test_the_key_can_come_from_the_environment(app):
    result = _add(app, env={"FRESHCHAT_API_KEY": KEY})
    assert result.exit_code == 0, result.output
    assert _stored_key(app) == KEY


def test_the_command_line_wins_over_the_environment(app):
    result = _add(app, "--api-key", KEY, env={"FRESHCHAT_API_KEY": "other-key-0000"})
    assert result.exit_code == 0, result.output
    assert _stored_key(app) == KEY


@pytest.mark.parametrize(("args", "stdin"), [((), ""), (("--api-key", "-"), "\n")])
def test_no_key_at_all_is_refused_with_the_ways_to_give_one(app, args, stdin):
    result = _add(app, *args, input=stdin, env={"FRESHCHAT_API_KEY": ""})
    assert result.exit_code != 0
    assert "FRESHCHAT_API_KEY" in result.stderr and "--api-key -" in result.stderr
    assert _stored_key(app) is None
