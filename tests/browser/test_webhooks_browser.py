"""Receive Freshchat webhooks, in a real browser: paste a key, see it checked, copy the URL."""

from __future__ import annotations

import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Page, expect

from tests.browser.conftest import SIM_DOMAIN
from tests.browser.test_admin_path import _create_admin
from webapp import integrations as service
from webapp.extensions import db


def _paste(page: Page, selector: str, text: str) -> None:
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    field = page.locator(selector)
    field.click()
    field.press("ControlOrMeta+a")
    field.press("ControlOrMeta+v")


def test_paste_a_public_key_then_copy_the_webhook_url(page: Page, live_server, sim_server):
    _create_admin(page)
    with live_server.app.app_context(), db.connection_context():
        integration = service.create(
            service.IntegrationInput("Support chats", SIM_DOMAIN, sim_server.account.admin_key),
            live_server.app.extensions["secret_box"],
        )
    page.goto(f"/integrations/{integration.id}")
    page.evaluate("window.__samePage = true")

    _paste(page, "#webhook-public-key", "this is not a key!")
    expect(page.locator("#webhook-key-error")).to_contain_text("not a public key")
    expect(page.locator("#webhook-public-key")).to_have_attribute("aria-invalid", "true")

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    _paste(page, "#webhook-public-key", pem)
    expect(page.locator("#webhook-key-ok")).to_be_visible()
    expect(page.locator("#webhook-key-error")).to_have_count(0)

    page.get_by_role("button", name="Save and show the webhook URL").click()
    url = page.get_by_label("Webhook URL")
    expect(url).to_have_value(re.compile(r"/api/v1/freshchat/webhooks/[A-Za-z0-9_-]{40,}$"))
    page.locator("#webhooks").get_by_role("button", name="Copy URL").click()
    assert page.evaluate("navigator.clipboard.readText()") == url.input_value()
    assert page.evaluate("window.__samePage === true"), "the page was reloaded"
