"""Which language a page speaks: the admin's saved choice, else the browser's, else English."""

from __future__ import annotations

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, csrf_token_from
from tests.html import one, parse, text
from webapp.extensions import db
from webapp.models import Admin

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def _lang(response) -> str:  # type: ignore[no-untyped-def]
    return one(parse(response), "html")["lang"]


def _nav(response) -> str:  # type: ignore[no-untyped-def]
    return text(one(parse(response), "header nav"))


def test_english_without_a_preference_and_for_languages_we_do_not_speak(admin_client):
    plain = admin_client.get("/account")
    assert _lang(plain) == "en" and "Integrations" in _nav(plain)
    german = admin_client.get("/account", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert _lang(german) == "en" and "Integrations" in _nav(german)


def test_browser_language_is_followed_when_the_admin_never_chose(admin_client):
    page = admin_client.get("/account", headers=FRENCH)
    assert _lang(page) == "fr"
    assert "Intégrations" in _nav(page)
    # The best match, not the first tag: French ranked above English wins.
    ranked = admin_client.get("/account", headers={"Accept-Language": "de, fr;q=0.8, en;q=0.3"})
    assert _lang(ranked) == "fr"
    assert _lang(admin_client.get("/login", headers=FRENCH)) == "fr"


def test_switch_is_remembered_across_sign_out_and_in(app, admin_client):
    response = admin_client.post("/language", {"language": "fr", "next": "/account"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    # The choice beats the browser's English.
    english_browser = {"Accept-Language": "en-GB,en;q=0.9"}
    page = admin_client.get("/account", headers=english_browser)
    assert _lang(page) == "fr"
    switch = one(parse(page), "form.language-switch")
    assert one(switch, "button[value=fr]")["aria-pressed"] == "true"
    assert one(switch, "button[value=en]")["aria-pressed"] == "false"
    with app.app_context(), db.connection_context():
        assert Admin.get(Admin.username == ADMIN_USER).language == "fr"

    admin_client.post("/logout", {})
    # Signed out, the sign-in page follows the browser.
    login = admin_client.client.get("/login", headers=english_browser)
    assert _lang(login) == "en"
    admin_client.client.post(
        "/login",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token_from(login.get_data(as_text=True)),
        },
    )
    assert _lang(admin_client.get("/account", headers=english_browser)) == "fr"

    admin_client.refresh_token("/account")
    admin_client.post("/language", {"language": "en", "next": "/account"})
    assert _lang(admin_client.get("/account", headers=FRENCH)) == "en"


def test_an_unknown_language_is_refused_clearly_and_changes_nothing(app, admin_client):
    for value in ("de", "", "fr-FR", "<b>x</b>"):
        response = admin_client.post("/language", {"language": value, "next": "/account"})
        assert response.status_code == 400
        body = text(parse(response))
        assert "is not a language of this app" in body and "en, fr" in body
    with app.app_context(), db.connection_context():
        assert Admin.get(Admin.username == ADMIN_USER).language is None


def test_the_switch_needs_a_csrf_token(app, admin_client):
    response = admin_client.client.post("/language", data={"language": "fr"})
    assert response.status_code == 400
    with app.app_context(), db.connection_context():
        assert Admin.get(Admin.username == ADMIN_USER).language is None


def test_the_switch_only_returns_to_pages_of_this_site(admin_client):
    response = admin_client.post("/language", {"language": "fr", "next": "//evil.example/x"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/integrations")


def test_dates_and_numbers_follow_the_language(app):
    from datetime import datetime

    from webapp.display_time import long_label, zone
    from webapp.formatting import moment, number

    stored = datetime(2026, 3, 29, 0, 45)  # naive UTC: 01:45 CET, before Paris springs forward
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert moment(stored, "Europe/Paris") == "2026-03-29 01:45 CET"
        assert moment(None) == "never"
        assert number(1234567) == "1,234,567"
    with app.test_request_context(headers=FRENCH):
        assert moment(stored, "Europe/Paris") == "29/03/2026 01:45 CET"
        assert moment(None) == "jamais"
        assert number(1234567) == "1\u202f234\u202f567"  # narrow no-break spaces
    assert long_label(stored, zone("Europe/Paris")) == "Sun 2026-03-29 01:45 CET"
    assert long_label(stored, zone("Europe/Paris"), locale="fr") == "dim. 29 mars 2026 01:45 CET"


def test_plurals_follow_french_rules(app, admin_client):
    from tests.conftest import add_integration

    def account_line(headers) -> str:  # type: ignore[no-untyped-def]
        return text(one(parse(admin_client.get("/account", headers=headers)), ".account-menu"))

    assert "(0 intégration active)" in account_line(FRENCH)  # French: 0 is singular
    assert "(0 active integrations)" in account_line({})
    add_integration(app, "Support", "support.freshchat.com", "key-123456789")
    assert "(1 intégration active)" in account_line(FRENCH)
    assert "(1 active integration)" in account_line({})
    add_integration(app, "Sales", "sales.freshchat.com", "key-123456789")
    assert "(2 intégrations actives)" in account_line(FRENCH)


def test_htmx_partials_and_form_errors_speak_the_request_language(admin_client):
    partial = admin_client.get("/integrations", htmx=True, headers=FRENCH)
    assert "<html" not in partial.get_data(as_text=True)
    assert "Aucune intégration pour l’instant" in text(parse(partial))

    admin_client.refresh_token("/integrations/new/freshchat")
    checked = admin_client.post(
        "/integrations/validate",
        {"name": "", "domain": "support.example.com", "api_key": ""},
        htmx=True,
        trigger_name="domain",
        headers=FRENCH,
    )
    message = text(one(parse(checked), "#errors-domain"))
    assert "n’est pas un domaine Freshchat" in message and "« support.example.com »" in message


def test_what_was_typed_stays_escaped_in_translated_messages(app, admin_client):
    from tests.conftest import add_integration

    add_integration(app, "<b>Bold</b>", "bold.freshchat.com", "key-123456789")
    admin_client.refresh_token("/integrations/new/freshchat")
    checked = admin_client.post(
        "/integrations/validate",
        {"name": "<b>Bold</b>", "domain": "", "api_key": ""},
        htmx=True,
        trigger_name="name",
        headers=FRENCH,
    )
    body = checked.get_data(as_text=True)
    assert "&lt;b&gt;Bold&lt;/b&gt;" in body and "<b>Bold</b>" not in body
    assert "existe déjà" in text(one(parse(body), "#errors-name"))


def test_refusals_stay_english_for_scripts_and_speak_french_on_pages(app):
    import pytest

    from webapp.display_time import DateInputError, parse_day
    from webapp.formatting import localized

    with pytest.raises(DateInputError) as refused:
        parse_day("16/11/2026")
    assert str(refused.value).startswith("“16/11/2026” is not a date")  # API, CLI
    with app.test_request_context(headers=FRENCH):
        french = localized(refused.value)
        assert french.startswith("«\u00a016/11/2026\u00a0» n’est pas une date\u00a0:")
    with app.test_request_context():
        assert localized(refused.value) == str(refused.value)


def test_the_json_api_answers_its_errors_in_english_whatever_the_language(app):
    """Scripts match on the API's words; a French Accept-Language must not change them,
    while the same error on a page speaks French."""
    from webapp.views.misc import render_error

    with app.test_request_context("/api/v1/freshchat/events", headers=FRENCH):
        response = app.make_response(render_error(500))
        assert response.status_code == 500
        assert response.get_json()["error"] == (
            "Something went wrong on our side; nothing was saved. Try again."
        )
    with app.test_request_context("/integrations", headers=FRENCH):
        page = app.make_response(render_error(500))
        body = page.get_data(as_text=True)
        assert page.status_code == 500 and "Something went wrong" not in body
