"""The integration form when requests collide or the session ends: nothing vanishes,
nothing stale stays, nothing is dropped in silence."""

from __future__ import annotations

import re
from contextlib import suppress

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, expect

from tests.browser import helpers
from tests.browser.conftest import SIM_DOMAIN

# Records every XMLHttpRequest's end (load, error or abort) *after* htmx handled it:
# ``loadend`` fires after the ``load`` handler in which htmx swaps.
TRACK_XHR = """
window.__xhrEnded = [];
window.__xhrOpen = 0;
const open = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function (method, url) {
  window.__xhrOpen += 1;
  this.addEventListener("loadend", () => {
    window.__xhrOpen -= 1;
    window.__xhrEnded.push(method + " " + url);
  });
  return open.apply(this, arguments);
};
"""
# Every response refreshes the session cookie: wait for quiet before clearing it.
QUIET = "() => window.__xhrOpen === 0"  # a function: CSP forbids eval

REFUSED_KEYS = ("demo-agent-key", "demo-basic-plan-key")


def _release(held: list[Route]) -> None:
    """Let held requests go on; one the page aborted meanwhile (the fix) cannot."""
    for route in held:
        with suppress(PlaywrightError):
            route.continue_()
    held.clear()


def _open_form(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    helpers.admin(live_server)
    page.add_init_script(TRACK_XHR)
    helpers.sign_in(page, "/integrations/new/freshchat")
    expect(page.get_by_role("heading", name="Configure your Freshchat integration")).to_be_visible()
    page.get_by_label("Name").fill("Support chats")
    page.get_by_label(re.compile("domain", re.I)).fill(SIM_DOMAIN)


def test_key_field_survives_blur_check_colliding_with_a_refused_save(
    page: Page, live_server
) -> None:
    """Leaving the key field by clicking Save sends the field's check and the submit at once.

    The cause of the vanishing field: the check's answer, when it came after the submit's,
    was swapped into the old (already replaced) field wrapper, and ``hx-preserve`` moved
    the live input into that detached wrapper. Half the rounds hold the check's answer until
    the submit's has been swapped (the losing order); the others let the two race.
    """
    _open_form(page, live_server)
    held: list[Route] = []

    for round_number in range(8):
        hold = round_number % 2 == 0
        page.unroute("**/integrations/validate")
        if hold:
            page.route("**/integrations/validate", lambda route: held.append(route))
        page.evaluate("window.__xhrEnded = []")
        key = REFUSED_KEYS[round_number % 2]
        key_input = page.locator("#api_key")
        key_input.fill(key)
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/integrations/new/freshchat")
        ):
            page.get_by_role("button", name="Save integration").click()
        expect(page.locator("#form-errors")).to_contain_text("Nothing was saved")
        _release(held)
        # Wait until the field check ended one way or the other (answered or aborted).
        page.wait_for_function("() => window.__xhrEnded.some(u => u.includes('/validate'))")
        assert page.locator("#api_key").count() == 1, f"round {round_number}: the field vanished"
        expect(page.locator("#api_key")).to_be_visible()
        expect(page.locator("#api_key")).to_have_value(key)


def test_save_after_the_session_expired_signs_in_and_comes_back(page: Page, live_server) -> None:
    _open_form(page, live_server)
    page.locator("#api_key").fill("demo-admin-key")
    page.wait_for_function(QUIET)
    page.context.clear_cookies()  # the session ended while the form was open

    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#session-ended")).to_contain_text("Your session has ended")
    expect(page.locator("#session-ended")).to_contain_text("nothing was saved")
    page.get_by_label("Username").fill(helpers.USERNAME)
    page.get_by_label("Password").fill(helpers.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/integrations/new/freshchat$"))
    expect(page.get_by_role("heading", name="Configure your Freshchat integration")).to_be_visible()
    with live_server.app.app_context():
        from webapp.models import Integration

        assert Integration.select().count() == 0


def test_form_expired_while_signed_in_is_shown_not_dropped(page: Page, live_server) -> None:
    """A refused CSRF token with a live session: the message reaches #flash even though the
    form's swap selects only #integration-form."""
    _open_form(page, live_server)
    page.locator("#api_key").fill("demo-admin-key")
    page.locator("#integration-form input[name=csrf_token]").evaluate("e => e.value = 'stale'")
    page.locator("body").evaluate(
        """b => b.setAttribute('hx-headers', '{"X-CSRFToken": "stale"}')"""
    )
    page.get_by_role("button", name="Save integration").click()
    expect(page.locator("#flash")).to_contain_text("This form has expired")
    expect(page.locator("#api_key")).to_have_value("demo-admin-key")


def test_connection_verdict_goes_when_domain_or_key_change(page: Page, live_server) -> None:
    _open_form(page, live_server)
    result = page.locator("#connection-result")
    key = page.locator("#api_key")
    test_button = page.get_by_role("button", name="Test connection")

    key.fill("demo-admin-key")
    test_button.click()
    expect(result).to_contain_text("Connected")
    key.press("End")
    key.press("x")  # the key the verdict was about is gone
    expect(result).to_be_empty()

    key.fill("demo-admin-key")
    test_button.click()
    expect(result).to_contain_text("Connected")
    page.get_by_label(re.compile("domain", re.I)).fill("other.freshchat.com")
    expect(result).to_be_empty()

    # A test still running when the key changes: its late verdict is not shown.
    held: list[Route] = []
    page.route("**/integrations/test-connection", lambda route: held.append(route))
    page.evaluate("window.__xhrEnded = []")
    key.fill("demo-agent-key")
    test_button.click()
    page.wait_for_function("() => document.querySelector('#connection-spinner.htmx-request')")
    key.fill("demo-admin-key")
    _release(held)
    page.wait_for_function("() => window.__xhrEnded.some(u => u.includes('/test-connection'))")
    expect(result).to_be_empty()
