"""The companion app's side of this server: ping, the zip download, the install steps, CLI."""

from __future__ import annotations

import io
import json
import zipfile
from html.parser import HTMLParser

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import add_integration
from webapp import companion_package
from webapp import integrations as service
from webapp.extensions import db
from webapp.models import Integration, RefusedRequest, WebhookEndpoint

PING = "/api/v1/freshchat/ping"


def issue_key(app, integration_id: int) -> str:
    with app.app_context(), db.connection_context():
        return service.issue_app_key(Integration.get_by_id(integration_id)).plaintext


def test_ping_names_the_integration_for_a_valid_key_only(app, client):
    integration_id = add_integration(app, "Support chats", "acme.freshchat.com", "k")
    key = issue_key(app, integration_id)
    ok = client.get(PING, headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200
    assert ok.json == {"integration": "Support chats", "ok": True}
    assert ok.headers["Cache-Control"] == "no-store"
    for header in (None, "Bearer", f"Basic {key}", f"Bearer {key}x", "Bearer fch_abc.def"):
        refused = client.get(PING, headers={"Authorization": header} if header else {})
        assert refused.status_code == 401, header
        assert "companion-app key" in refused.json["error"]
        assert key not in refused.get_data(as_text=True)
    # A regenerated key revokes the old one.
    issue_key(app, integration_id)
    assert client.get(PING, headers={"Authorization": f"Bearer {key}"}).status_code == 401
    with db.connection_context():
        assert RefusedRequest.select().count() == 0, "pings are not counted as refused pushes"


def test_download_is_the_app_at_the_zip_root_with_this_server_filled_in(app, admin_client):
    integration_id = add_integration(app, "Support chats", "acme.freshchat.com", "k")
    app.config["PUBLIC_BASE_URL"] = "https://hub.example.com/"
    response = admin_client.get(f"/integrations/{integration_id}/companion-app.zip")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert companion_package.ZIP_NAME in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {
        "manifest.json",
        "config/iparams.json",
        "config/requests.json",
        "config/assets/iparams.js",
        "server/server.js",
        "server/lib/forward.js",
        "server/lib/envelope.js",
        "server/lib/target.js",
    } <= names
    assert not any(n.startswith(("test/", "testing/", "node_modules/")) for n in names)
    assert "package.json" not in names
    iparams = json.loads(archive.read("config/iparams.json"))
    assert iparams["server_url"]["default_value"] == "https://hub.example.com"
    assert iparams["api_key"]["secure"] is True
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["platform-version"] == "3.0"


def test_the_zip_is_reproducible_and_needs_a_signed_in_admin(app, client):
    assert companion_package.build_zip() == companion_package.build_zip()
    assert companion_package.build_zip(server_url="https://a") != companion_package.build_zip()
    integration_id = add_integration(app, "Support chats", "acme.freshchat.com", "k")
    response = client.get(f"/integrations/{integration_id}/companion-app.zip")
    assert response.status_code in (302, 303)


def test_packaging_script_writes_the_zip(tmp_path, capsys):
    out = tmp_path / "dist" / companion_package.ZIP_NAME
    assert companion_package.main([str(out), "--server-url", "https://hub.example.com"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert zipfile.ZipFile(out).read("manifest.json")


def test_packaging_refuses_a_folder_without_the_app(tmp_path):
    with pytest.raises(companion_package.PackageUnavailable):
        companion_package.build_zip(tmp_path)


class _Section(HTMLParser):
    """Text and ids inside #install-app."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.text: list[str] = []
        self.attrs_by_id: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("id") == "install-app":
            self.depth = 1
        elif self.depth and tag not in ("input", "br"):
            self.depth += 1
        if self.depth and values.get("id"):
            self.attrs_by_id[values["id"]] = values

    def handle_endtag(self, tag):
        if self.depth and tag not in ("input", "br"):
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def test_install_section_offers_the_zip_and_the_steps_with_this_server(app, admin_client):
    integration_id = add_integration(app, "Support chats", "acme.freshchat.com", "k")
    html = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    section = _Section()
    section.feed(html)
    text = " ".join(" ".join(section.text).split())
    link = section.attrs_by_id["companion-download"]
    assert link["href"] == f"/integrations/{integration_id}/companion-app.zip"
    assert companion_package.ZIP_NAME in text
    steps = ("Go to Developer Portal", "New App \u203a Custom App", "Upload Zip file", "Install")
    for step in steps:
        assert step in text, step
    assert "http://localhost" in text  # this server's URL, filled in
    assert "Generate companion-app key" in text
    assert "API key" not in text.replace("companion-app key", "")


def test_cli_webhooks_stores_the_key_and_prints_the_url_last(app, tmp_path):
    integration_id = add_integration(app, "Support chats", "acme.freshchat.com", "k")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "freshchat.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "integrations",
            "webhooks",
            "support CHATS",
            "--public-key",
            str(pem),
            "--base-url",
            "https://hub.example.com",
        ]
    )
    assert result.exit_code == 0, result.output
    with db.connection_context():
        endpoint = WebhookEndpoint.get(WebhookEndpoint.integration == integration_id)
    last = result.output.strip().splitlines()[-1]
    assert last == f"https://hub.example.com/api/v1/freshchat/webhooks/{endpoint.token}"

    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    refused = runner.invoke(
        args=["integrations", "webhooks", "Support chats", "--public-key", str(bad)]
    )
    assert refused.exit_code == 1
    assert "private key" in refused.output
    unknown = runner.invoke(args=["integrations", "webhooks", "Nobody", "--public-key", str(pem)])
    assert unknown.exit_code == 1


def test_ping_shares_the_failed_key_limit_of_the_events_endpoint(app, client):
    app.config["PUSH_AUTH_FAILURES_PER_MINUTE"] = 3
    integration_id = add_integration(app, "Support chats", "acme.freshchat.com", "k")
    key = issue_key(app, integration_id)
    wrong = {"Authorization": f"Bearer {key}x"}
    assert [client.get(PING, headers=wrong).status_code for _ in range(3)] == [401, 401, 401]
    limited = client.get(PING, headers=wrong)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    # The events endpoint counts the same failures.
    events = client.post(
        "/api/v1/freshchat/events", json={}, headers={"Authorization": f"Bearer {key}y"}
    )
    assert events.status_code == 429
