"""The one cheap call that proves a Freshchat domain and key work, before saving them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from webapp.clients import ClientSettings
from webapp.freshchat.client import (
    FreshchatError,
    KeyRejected,
    NotAdmin,
    NotFound,
    PlanWithoutApi,
    Timeout,
    Unreachable,
)

log = logging.getLogger(__name__)

# Freshchat answers 403 "Auth failure" to a valid key sent to the wrong host or data
# centre too (FRESHCHAT_API.md), so a 403 verdict always says so.
WRONG_HOST_HINT = _l(
    "A wrong host or region also answers 403 “Auth failure”: accounts in the EU, India "
    "or Australia and accounts inside the Freshworks suite use other API hosts. Try the "
    "API URL shown in Freshchat under Admin > API Tokens, or the regional host "
    "(api.eu.freshchat.com, api.in.freshchat.com, api.au.freshchat.com); for a suite "
    "account, yourcompany.myfreshworks.com."
)


# The client's own sentences (it knows nothing of Flask), in the admin's language; what
# Freshchat itself said, appended by the client, is kept as received.
VERDICTS = {
    KeyRejected: _l(
        "Freshchat rejected the API key (401). "
        "Copy a current key from Freshchat > Admin > API Tokens."
    ),
    NotAdmin: _l(
        "Freshchat accepted the API key but refused access (403): the key's user needs "
        "the Account Administrator role. Use an API key of an Account Administrator."
    ),
    PlanWithoutApi: _l(
        "Freshchat refused access because this account's plan does not include the API "
        "(403). A Freshchat Pro or Enterprise plan is needed."
    ),
    Unreachable: _l(
        "Freshchat could not be reached: unknown domain or Freshchat not reachable. "
        "Check the domain and this server's internet access."
    ),
    Timeout: _l("Freshchat did not answer in time. Try again in a few minutes."),
}


def verdict(exc: FreshchatError) -> str:
    """``exc``'s message, in the admin's language where it is the client's standard one."""
    text = str(exc)
    translated = VERDICTS.get(type(exc))
    standard = type(exc).default_message
    if translated is not None and text.startswith(standard):
        return str(translated) + text[len(standard) :]
    return text


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str
    kind: str = "ok"
    account: dict | None = None


def check_credentials(domain: str, api_key: str, settings: ClientSettings) -> ConnectionResult:
    """GET /accounts/configuration needs an Account Administrator's key, so it tests
    the domain, the key and the role in one request, without reading any chats."""
    # An admin is waiting: answer now (no retry), say when to retry.
    client = settings.client(domain, api_key, max_retries=0)
    try:
        account = client.get_configuration()
    except NotFound:
        return ConnectionResult(
            False,
            gettext(
                "No Freshchat account answers at %(domain)s (404): check the domain.", domain=domain
            ),
            "unknown_domain",
        )
    except FreshchatError as exc:
        hint = " " + str(WRONG_HOST_HINT) if exc.status == 403 else ""
        return ConnectionResult(False, verdict(exc) + hint, exc.kind)
    except Exception:
        # Whatever Freshchat sent, an admin waiting on "Test connection" or "Save" gets a
        # verdict, never a 500; the stack goes to the log for us to fix the client.
        log.exception("credential check of %s: unexpected failure", domain)
        return ConnectionResult(
            False,
            gettext(
                "%(domain)s answered in a way this app does not understand; nothing was "
                "saved. Check the domain, then try again in a few minutes.",
                domain=domain,
            ),
            "malformed_response",
        )
    plan = account.get("plan_type") or account.get("bundle_type")
    plan = plan if isinstance(plan, str) else None
    if plan:
        message = gettext(
            "Connected to %(domain)s (plan: %(plan)s).", domain=domain, plan=plan[:40]
        )
    else:
        message = gettext("Connected to %(domain)s.", domain=domain)
    return ConnectionResult(True, message, "ok", account)
