"""Export options through the page, the API and the CLI (the series themselves are
checked against hand-computed ones in tests/unit/test_series.py)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from html.parser import HTMLParser

import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, Browserless, csrf_token_from, make_test_app
from webapp.chats import refresh_groups
from webapp.extensions import db
from webapp.models import Admin, Integration, IntervalStat
from webapp.security import hash_password

NOW = datetime(2026, 12, 1, 12, 0)
API = "/api/v1/integrations/{id}/intervals"


@pytest.fixture
def setup(tmp_path):
    application = make_test_app(tmp_path, CLOCK=lambda: NOW)
    with db.connection_context():
        integration = Integration.create(
            name="Berlin Desk",
            name_key="berlin desk",
            domain="berlin.freshchat.com",
            api_key_encrypted="x",
            api_key_last4="abcd",
            display_timezone="Europe/Berlin",
        )
        refresh_groups(integration.id, [{"id": "g-s", "name": "Support"}])
        # 01:00Z on 2026-10-25 is the second 02:00 of the fall-back night (CET).
        IntervalStat.create(
            integration=integration,
            queue_key="g-s",
            interval_start=datetime(2026, 10, 25, 1, 0),
            contacts=6,
        )
        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    client = application.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post(
        "/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    yield application, Browserless(client), integration.id
    db.initialize(None)


def test_api_wide_local_hours_on_the_25_hour_day(setup):
    _app, reader, integration_id = setup
    url = API.format(id=integration_id)
    query = (
        "?from=2026-10-25&to=2026-10-26&zone=local&minutes=60&shape=wide&series=complete&format=csv"
    )
    response = reader.client.get(url + query)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["interval_start", "status", "Support", "Undefined_Queue"]
    assert len(rows) == 1 + 25  # dates are local days with zone=local
    assert rows[1] == ["2026-10-25T00:00:00+02:00", "counted", "0", "0"]
    assert rows[3:5] == [
        ["2026-10-25T02:00:00+02:00", "counted", "0", "0"],
        ["2026-10-25T02:00:00+01:00", "counted", "6", "0"],
    ]
    assert reader.client.get(url + query).get_data() == response.get_data()  # byte-identical


def test_api_wfm_and_a_range_that_cuts_an_hour(setup):
    _app, reader, integration_id = setup
    url = API.format(id=integration_id)
    wfm = reader.client.get(url + "?from=2026-10-25&to=2026-10-26&zone=local&minutes=60&format=wfm")
    lines = wfm.get_data(as_text=True).split("\r\n")
    assert lines[0] == "Queue;Date;Time;IncomingCalls;AnsweredCalls;AHT"
    assert "Support;25/10/2026;02:00;6;6;" in lines and len(lines) == 1 + 25 * 2 + 1
    refused = reader.client.get(url + "?from=2026-10-25T00:30:00Z&to=2026-10-26&minutes=60")
    assert refused.status_code == 400
    assert "“from” must fall on an interval boundary" in refused.get_json()["error"]


class _Selects(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag == "select":
            self.names.append(dict(attrs).get("name") or "")


def test_page_export_offers_the_options_and_names_the_file(setup):
    _app, reader, integration_id = setup
    page = reader.get(f"/integrations/{integration_id}/stats?span=day&date=2026-10-25")
    parser = _Selects()
    parser.feed(page.get_data(as_text=True))
    assert {"format", "series", "minutes", "zone", "shape"} <= set(parser.names)
    response = reader.get(
        f"/integrations/{integration_id}/stats/export?from=2026-10-25&to=2026-10-25"
        "&format=wfm&minutes=30&zone=local"
    )
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="berlin-desk-contacts-2026-10-25-to-2026-10-25-wfm-30min-local.csv"'
    )
    assert "Support;25/10/2026;02:00;6;6;\r\n" in response.get_data(as_text=True)
    refused = reader.get(
        f"/integrations/{integration_id}/stats/export?from=2026-10-25&to=2026-10-25"
        "&format=wfm&shape=wide"
    )
    assert refused.status_code == 400
    assert "one row per queue and interval" in refused.get_data(as_text=True)


def test_cli_stats_complete_series(setup):
    application, _reader, _integration_id = setup
    runner = application.test_cli_runner()
    result = runner.invoke(
        args=[
            "stats",
            "Berlin Desk",
            "--from",
            "2026-10-25T01:00:00Z",
            "--to",
            "2026-10-25T02:00:00Z",
            "--series",
            "complete",
            "--minutes",
            "30",
            "--zone",
            "local",
            "--queue",
            "Support",
        ]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        '"queue","interval_start","contacts","status"',
        '"Support","2026-10-25T02:00:00+01:00",6,"counted"',
        '"Support","2026-10-25T02:30:00+01:00",0,"counted"',
    ]
    refused = runner.invoke(
        args=[
            "stats",
            "Berlin Desk",
            "--from",
            "2026-10-25T01:15:00Z",
            "--to",
            "2026-10-25T02:00:00Z",
            "--minutes",
            "60",
        ]
    )
    assert refused.exit_code != 0 and "interval boundary" in refused.output
