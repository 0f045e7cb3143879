"""Names made only of control or direction characters are refused (issue 13, item 15),
at every door: the form (and its inline check), the CLI, and the first-run setup."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token_from
from tests.web.test_integrations_web import form_data
from webapp.extensions import db
from webapp.models import Admin, Integration
from webapp.names import name_problem

INVISIBLE = [
    "\u202e\u2066",  # right-to-left override, left-to-right isolate
    "\u200f\u200e\u200b",  # direction marks and a zero-width space
    "\ufeff",  # byte order mark
    "\x00\x1b",  # control characters
    "\u2028",  # line separator
]


@pytest.mark.parametrize("name", INVISIBLE)
def test_invisible_names_are_refused(name):
    assert name_problem(name)


@pytest.mark.parametrize(
    "name", ["Acme", "دعم العملاء\u200f", "\u202b\u05e9\u05d9\u05e8\u05d5\u05ea\u202c", "Support 2"]
)
def test_visible_names_pass_even_with_direction_marks(name):
    assert name_problem(name) is None


def test_a_name_with_an_escape_sequence_is_refused():
    assert "control characters" in name_problem("\x1b[31mAcme")


@pytest.mark.parametrize("name", INVISIBLE[:3])
def test_the_form_and_its_inline_check_refuse_them(admin_client, name):
    inline = admin_client.post(
        "/integrations/validate", form_data(name=name), htmx=True, trigger_name="name"
    )
    assert "visible characters" in inline.get_data(as_text=True)
    saved = admin_client.post("/integrations/new/freshchat", form_data(name=name))
    assert saved.status_code != 303
    assert "visible characters" in saved.get_data(as_text=True)
    with db.connection_context():
        assert not Integration.select().exists()


def test_the_cli_refuses_them(app):
    runner = app.test_cli_runner()
    for name in INVISIBLE[:3]:
        args = ["integrations", "add", "--name", name, "--domain", "acme.freshchat.com"]
        result = runner.invoke(args=[*args, "--api-key", "k-1234", "--no-check"])
        assert result.exit_code != 0 and "visible characters" in result.stderr
        made = runner.invoke(args=["create-admin", "--username", name, "--password", "x" * 12])
        assert made.exit_code != 0 and "visible characters" in made.stderr
    with db.connection_context():
        assert not Integration.select().exists() and not Admin.select().exists()


def test_setup_refuses_an_invisible_username(client):
    token = csrf_token_from(client.get("/setup").get_data(as_text=True))
    response = client.post(
        "/setup",
        data={
            "username": "\u202e\u200b",
            "password": "a long password",
            "confirm": "a long password",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    assert "visible characters" in response.get_data(as_text=True)
    with db.connection_context():
        assert not Admin.select().exists()
