"""Account > Integrations: gallery, form, inline validation, credential check, lifecycle."""

from __future__ import annotations

import logging
import re
from datetime import datetime

import pytest
import requests
import responses

from webapp.extensions import db
from webapp.models import ApiKey, Integration
from webapp.security import api_key_matches, split_api_key

CONFIG_URL = "https://acme.freshchat.com/v2/accounts/configuration"
GOOD_KEY = "eyJhbGciOiJSUzI1NiJ9.good-admin-key-1234"
ACCOUNT = {
    "account_id": "1",
    "app_id": "2",
    "plan_type": "pro",
    "bundle_type": "fc",
    "datacenter": "US",
    "account_domain": "acme",
    "organisation_domain": "acme",
}


@pytest.fixture
def fake_freshchat():
    with responses.RequestsMock() as rsps:
        yield rsps


def form_data(**overrides):
    data = {
        "name": "Support chats",
        "domain": "acme.freshchat.com",
        "api_key": GOOD_KEY,
        "sync_every_minutes": "15",
        "backfill_days": "30",
        "display_timezone": "UTC",
        "submission_id": "sub-1",
    }
    data.update(overrides)
    return data


def create(admin_client, fake_freshchat, **overrides):
    fake_freshchat.get(CONFIG_URL, json=ACCOUNT)
    response = admin_client.post("/integrations/new/freshchat", form_data(**overrides))
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def count_integrations() -> int:
    with db.connection_context():
        return Integration.select().count()


def test_empty_state_gallery_and_requirement(admin_client):
    page = admin_client.get("/integrations").get_data(as_text=True)
    assert "No integration yet" in page and "/integrations/gallery" in page
    assert "Account" in page and "Integrations" in page
    gallery = admin_client.get("/integrations/gallery").get_data(as_text=True)
    assert "Freshworks" in gallery and "Select template" in gallery
    assert "Coming soon" in gallery
    # "Coming soon" vendors are not links.
    assert not re.search(r"<a[^>]*>[^<]*Zendesk", gallery)
    freshworks = admin_client.get("/integrations/gallery/freshworks").get_data(as_text=True)
    assert "Add this integration" in freshworks
    assert "Pro or Enterprise" in freshworks
    form = admin_client.get("/integrations/new/freshchat").get_data(as_text=True)
    assert "Save integration" in form and "Credentials" in form
    assert "Pro or Enterprise" in form


def test_save_encrypts_key_and_never_renders_it(admin_client, fake_freshchat, caplog):
    caplog.set_level(logging.DEBUG)
    response = create(
        admin_client, fake_freshchat, domain="https://ACME.freshchat.com/a/123/inbox/1"
    )
    with db.connection_context():
        integration = Integration.get()
        assert integration.domain == "acme.freshchat.com"
        assert GOOD_KEY not in integration.api_key_encrypted
        assert integration.api_key_last4 == GOOD_KEY[-4:]
    detail = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Support chats" in detail and "…" + GOOD_KEY[-4:] in detail
    assert GOOD_KEY not in detail
    edit = admin_client.get(f"/integrations/{integration.id}/edit").get_data(as_text=True)
    assert GOOD_KEY not in edit
    assert GOOD_KEY not in caplog.text
    listing = admin_client.get("/integrations").get_data(as_text=True)
    assert "Add integration" in listing and "Never synced" in listing


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "Give the integration a name."),
        ({"name": "x" * 81}, "The name must be 1 to 80 characters."),
        ({"domain": ""}, "Enter your Freshchat domain"),
        (
            {"domain": "acme.zendesk.com"},
            "is not a Freshchat domain. Expected a host such as example.freshchat.com",
        ),
        ({"domain": "freshchat.com"}, "lacks your account&#39;s subdomain"),
        ({"api_key": ""}, "Paste the API key of an Account Administrator."),
        ({"api_key": "abcd efgh ijkl mnop qrst"}, "contains spaces or line breaks"),
        ({"api_key": "abcdefgh\nijklmnopqrst"}, "contains spaces or line breaks"),
        ({"backfill_days": "0"}, "Enter a whole number of days from 1 to 365"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_saved(admin_client, overrides, message):
    response = admin_client.post("/integrations/new/freshchat", form_data(**overrides))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_integrations() == 0


def test_key_with_surrounding_whitespace_is_trimmed(admin_client, fake_freshchat):
    create(admin_client, fake_freshchat, api_key=f"  {GOOD_KEY}\n")
    with db.connection_context():
        box = admin_client.client.application.extensions["secret_box"]
        assert box.decrypt(Integration.get().api_key_encrypted) == GOOD_KEY
    request = fake_freshchat.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {GOOD_KEY}"


def test_duplicate_name_in_other_case_is_refused(admin_client, fake_freshchat):
    create(admin_client, fake_freshchat)
    response = admin_client.post(
        "/integrations/new/freshchat", form_data(name="  SUPPORT   chats ", submission_id="s2")
    )
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert count_integrations() == 1


def test_form_posted_twice_saves_once(admin_client, fake_freshchat):
    first = create(admin_client, fake_freshchat)
    second = admin_client.post("/integrations/new/freshchat", form_data())
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert count_integrations() == 1


@pytest.mark.parametrize(
    ("mock", "message"),
    [
        ({"status": 401, "json": {"code": 401, "status": "UNAUTHORIZED"}}, "rejected the API key"),
        (
            {"status": 403, "json": {"code": 403, "status": "ACCESS_DENIED"}},
            "Account Administrator role",
        ),
        (
            {
                "status": 403,
                "json": {
                    "code": 403,
                    "status": "PLAN_NOT_SUPPORTED",
                    "message": "Your plan does not include API access",
                },
            },
            "plan does not include the API",
        ),
        ({"status": 404, "body": "<html>no such account</html>"}, "No Freshchat account answers"),
        (
            {"status": 429, "json": {"code": 429}, "headers": {"Retry-After": "90"}},
            "Try again in about 90 seconds",
        ),
        ({"status": 500, "json": {"code": 500}}, "internal error"),
        (
            {
                "status": 200,
                "body": "<!doctype html><html>portal</html>",
                "content_type": "text/html",
            },
            "web page",
        ),
        ({"status": 200, "body": "{not json"}, "not valid JSON"),
        ({"body": requests.exceptions.ConnectionError("dns")}, "unknown domain"),
        ({"body": requests.exceptions.ReadTimeout("slow")}, "did not answer in time"),
    ],
)
def test_credential_failures_say_what_is_wrong(admin_client, fake_freshchat, mock, message):
    fake_freshchat.get(CONFIG_URL, **mock)
    response = admin_client.post("/integrations/new/freshchat", form_data())
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body, body[body.find("form-errors") :][:600]
    assert "Nothing was saved." in body
    assert GOOD_KEY not in body
    assert count_integrations() == 0


def test_inline_validation_returns_only_the_field(admin_client):
    response = admin_client.post(
        "/integrations/validate",
        form_data(domain="https://acme.zendesk.com/x"),
        htmx=True,
        trigger_name="domain",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.strip().startswith('<div class="field invalid" id="field-domain"')
    assert 'aria-invalid="true"' in body and "is not a Freshchat domain" in body
    assert "<html" not in body and 'id="field-name"' not in body
    ok = admin_client.post(
        "/integrations/validate", form_data(), htmx=True, trigger_name="domain"
    ).get_data(as_text=True)
    assert 'aria-invalid="false"' in ok and 'errors-domain"></ul>' in ok


def test_inline_validation_of_key_keeps_typed_value_out_of_the_page(admin_client):
    body = admin_client.post(
        "/integrations/validate",
        form_data(api_key="has space x" * 3),
        htmx=True,
        trigger_name="api_key",
    ).get_data(as_text=True)
    assert "contains spaces" in body
    assert "has space" not in body  # the typed key is preserved client-side, not echoed
    assert 'hx-preserve="true"' in body


def test_inline_validation_refuses_unknown_field(admin_client):
    response = admin_client.post(
        "/integrations/validate", form_data(), htmx=True, trigger_name="csrf_token"
    )
    assert response.status_code == 400


def test_inline_duplicate_name(admin_client, fake_freshchat):
    create(admin_client, fake_freshchat)
    body = admin_client.post(
        "/integrations/validate", form_data(name="support CHATS"), htmx=True, trigger_name="name"
    ).get_data(as_text=True)
    assert "already exists" in body


def test_htmx_post_with_wrong_csrf_is_refused_visibly(admin_client):
    response = admin_client.client.post(
        "/integrations/validate",
        data=form_data(),
        headers={"HX-Request": "true", "X-CSRFToken": "forged", "HX-Trigger-Name": "name"},
    )
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#flash"
    assert "expired" in response.get_data(as_text=True)


def test_plain_post_without_csrf_saves_nothing(admin_client):
    response = admin_client.client.post("/integrations/new/freshchat", data=form_data())
    assert response.status_code == 400
    assert count_integrations() == 0


def test_test_connection_button(admin_client, fake_freshchat):
    fake_freshchat.get(CONFIG_URL, json=ACCOUNT)
    ok = admin_client.post("/integrations/test-connection", form_data(), htmx=True)
    assert "Connected to acme.freshchat.com (plan: pro)" in ok.get_data(as_text=True)
    bad = admin_client.post(
        "/integrations/test-connection", form_data(domain="nope.example.com"), htmx=True
    )
    assert "not a Freshchat domain" in bad.get_data(as_text=True)


def test_edit_with_blank_key_keeps_the_stored_key(admin_client, fake_freshchat):
    location = create(admin_client, fake_freshchat).headers["Location"]
    integration_id = int(location.rsplit("/", 1)[1])
    fake_freshchat.get(CONFIG_URL, json=ACCOUNT)
    response = admin_client.post(
        f"/integrations/{integration_id}/edit",
        form_data(name="Renamed", api_key="", sync_every_minutes="60"),
    )
    assert response.status_code == 303
    assert fake_freshchat.calls[-1].request.headers["Authorization"] == f"Bearer {GOOD_KEY}"
    with db.connection_context():
        integration = Integration.get_by_id(integration_id)
        assert integration.name == "Renamed" and integration.sync_every_minutes == 60
        box = admin_client.client.application.extensions["secret_box"]
        assert box.decrypt(integration.api_key_encrypted) == GOOD_KEY


def test_domain_change_is_refused_and_never_sends_the_stored_key(admin_client, fake_freshchat):
    location = create(admin_client, fake_freshchat).headers["Location"]
    integration_id = int(location.rsplit("/", 1)[1])
    calls_before = len(fake_freshchat.calls)
    for path, key in (("/edit", ""), ("/test-connection", ""), ("/edit", "eyJother-key-5678")):
        response = admin_client.post(
            f"/integrations/{integration_id}{path}",
            form_data(domain="other.freshchat.com", api_key=key),
            htmx=path != "/edit",
        )
        assert "The domain cannot change" in response.get_data(as_text=True)
    assert len(fake_freshchat.calls) == calls_before  # no key went anywhere
    with db.connection_context():
        assert Integration.get_by_id(integration_id).domain == "acme.freshchat.com"


def test_domain_change_is_refused_once_statistics_were_imported(admin_client, fake_freshchat):
    from webapp.changes import ChatChange
    from webapp.chats import apply_changes

    location = create(admin_client, fake_freshchat).headers["Location"]
    integration_id = int(location.rsplit("/", 1)[1])
    at = datetime(2026, 11, 2, 9, 0)
    with db.connection_context():
        apply_changes(integration_id, [ChatChange("c1", at, created_time=at, resolved_time=at)])
    response = admin_client.post(
        f"/integrations/{integration_id}/edit",
        form_data(domain="other.freshchat.com", api_key="eyJother-account-key-5678"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The domain cannot change" in page
    assert "add a new integration" in page
    with db.connection_context():
        assert Integration.get_by_id(integration_id).domain == "acme.freshchat.com"


def test_pause_and_resume(admin_client, fake_freshchat):
    location = create(admin_client, fake_freshchat).headers["Location"]
    admin_client.refresh_token(location)
    assert admin_client.post(location + "/pause").status_code == 303
    assert "Paused" in admin_client.get(location).get_data(as_text=True)
    assert admin_client.post(location + "/resume").status_code == 303
    with db.connection_context():
        assert Integration.get().paused is False


def test_delete_keeps_statistics_by_default(admin_client, fake_freshchat):
    location = create(admin_client, fake_freshchat).headers["Location"]
    admin_client.refresh_token(location)
    admin_client.post(location + "/app-key")
    response = admin_client.post(location + "/delete", {"remove_data": ""})
    assert response.status_code == 303
    with db.connection_context():
        integration = Integration.get()
        assert integration.deleted_at is not None and integration.paused
        assert ApiKey.select().where(ApiKey.revoked_at.is_null()).count() == 0
    page = admin_client.get(location).get_data(as_text=True)
    assert "was deleted" in page
    assert admin_client.get(location + "/edit").status_code == 410
    listing = admin_client.get("/integrations").get_data(as_text=True)
    assert "Deleted integrations" in listing
    # The name is free again.
    create(admin_client, fake_freshchat, submission_id="again")
    assert count_integrations() == 2


def test_delete_with_data_needs_the_name_and_then_removes_everything(admin_client, fake_freshchat):
    location = create(admin_client, fake_freshchat).headers["Location"]
    admin_client.refresh_token(location)
    refused = admin_client.post(location + "/delete", {"remove_data": "y", "confirm_name": "x"})
    assert refused.status_code == 422 and "Type “Support chats” to confirm" in refused.get_data(
        as_text=True
    )
    assert count_integrations() == 1
    done = admin_client.post(
        location + "/delete", {"remove_data": "y", "confirm_name": "Support chats"}
    )
    assert done.status_code == 303
    assert count_integrations() == 0
    gone = admin_client.get(location)
    assert gone.status_code == 404 and "may have been deleted" in gone.get_data(as_text=True)


def test_app_key_is_shown_once_hashed_and_regeneration_revokes(admin_client, fake_freshchat):
    location = create(admin_client, fake_freshchat).headers["Location"]
    admin_client.refresh_token(location)
    first = admin_client.post(location + "/app-key", htmx=True)
    assert first.headers["Cache-Control"] == "no-store"
    key1 = re.search(r'id="new-api-key" value="([^"]+)"', first.get_data(as_text=True)).group(1)
    prefix1, secret1 = split_api_key(key1)
    with db.connection_context():
        stored = ApiKey.get(ApiKey.prefix == prefix1)
        assert secret1 not in stored.key_hash and api_key_matches(secret1, stored.key_hash)
    later = admin_client.get(location).get_data(as_text=True)
    assert key1 not in later and prefix1 in later and "/api/v1/freshchat/events" in later
    second = admin_client.post(location + "/app-key", htmx=True).get_data(as_text=True)
    key2 = re.search(r'id="new-api-key" value="([^"]+)"', second).group(1)
    assert key2 != key1
    with db.connection_context():
        assert ApiKey.get(ApiKey.prefix == prefix1).revoked_at is not None
        assert ApiKey.select().where(ApiKey.revoked_at.is_null()).count() == 1


def test_unknown_integration_is_404(admin_client):
    assert admin_client.get("/integrations/999").status_code == 404
    assert admin_client.post("/integrations/999/pause").status_code == 404


def test_status_badge_partial_follows_the_integration_state(admin_client, app):
    """The heading's badge is refetched by HTMX when a sync ends (sync-changed)."""
    from webapp import integrations as service
    from webapp.extensions import db

    with app.app_context(), db.connection_context():
        integration = service.create(
            service.IntegrationInput("Badge", "badge.freshchat.com", "a-long-enough-key"),
            app.extensions["secret_box"],
        )
    page = admin_client.client.get(f"/integrations/{integration.id}").get_data(as_text=True)
    assert 'hx-trigger="sync-changed from:body"' in page
    first = admin_client.client.get(f"/integrations/{integration.id}/status-badge")
    assert first.status_code == 200 and "Never synced" in first.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        service.set_paused(integration, True)
    paused = admin_client.client.get(f"/integrations/{integration.id}/status-badge")
    assert "Paused" in paused.get_data(as_text=True)
    assert admin_client.client.get("/integrations/999/status-badge").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/integrations/99999999999999999999999",
        "/integrations/99999999999999999999999/edit",
        "/integrations/99999999999999999999999/status-badge",
        "/api/v1/integrations/99999999999999999999999/intervals",
    ],
)
def test_ids_too_large_for_the_database_are_not_found(admin_client, path):
    assert admin_client.get(path).status_code == 404


def test_the_same_account_cannot_be_connected_twice(admin_client, fake_freshchat):
    create(admin_client, fake_freshchat)
    response = admin_client.post(
        "/integrations/new/freshchat",
        form_data(name="Second", domain="ACME.freshchat.com", submission_id="another-form"),
    )
    assert response.status_code == 422
    assert "already connected as “Support chats”" in response.get_data(as_text=True)
    with db.connection_context():
        assert Integration.select().count() == 1


def test_htmx_save_navigates_by_hx_redirect(admin_client, fake_freshchat):
    admin_client.refresh_token("/integrations/new/freshchat")
    fake_freshchat.get(CONFIG_URL, json=ACCOUNT)
    response = admin_client.post("/integrations/new/freshchat", form_data(), htmx=True)
    assert response.status_code == 204
    assert re.fullmatch(r"/integrations/\d+", response.headers["HX-Redirect"])
    # The same form sent again lands on the same integration, still by HX-Redirect.
    again = admin_client.post("/integrations/new/freshchat", form_data(), htmx=True)
    assert again.headers["HX-Redirect"] == response.headers["HX-Redirect"]


def test_delete_confirmation_name_ignores_case_and_a_wrong_name_deletes_nothing(
    admin_client, fake_freshchat
):
    location = create(admin_client, fake_freshchat).headers["Location"]
    admin_client.refresh_token(location)
    wrong = admin_client.post(location + "/delete", {"confirm_name": "Something else"})
    assert wrong.status_code == 422
    assert "nothing was deleted" in wrong.get_data(as_text=True)
    kept = admin_client.post(location + "/delete", {"confirm_name": "support CHATS"})
    assert kept.status_code == 303
    with db.connection_context():
        assert Integration.get().is_deleted

    # Kept statistics of a deleted integration can be removed later, from its page.
    page = admin_client.get(location).get_data(as_text=True)
    assert "Remove them" in page and "Generate companion-app key" not in page
    assert "Remove the statistics" in admin_client.get(location + "/delete").get_data(as_text=True)
    refused = admin_client.post(location + "/delete", {"confirm_name": ""})
    assert refused.status_code == 422
    assert (
        admin_client.post(location + "/delete", {"confirm_name": "SUPPORT chats"}).status_code
        == 303
    )
    with db.connection_context():
        assert Integration.select().count() == 0


def test_list_shows_times_in_the_integrations_display_zone(admin_client, fake_freshchat):
    create(admin_client, fake_freshchat, display_timezone="Europe/Berlin")
    with db.connection_context():
        Integration.update(last_sync_finished_at=datetime(2026, 1, 15, 8, 0)).execute()
    listing = admin_client.get("/integrations").get_data(as_text=True)
    assert "2026-01-15 09:00 CET" in listing
