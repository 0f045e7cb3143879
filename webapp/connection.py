"""The one cheap call that proves a Freshchat domain and key work, before saving them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from webapp.clients import ClientSettings
from webapp.freshchat.client import FreshchatError, NotFound

log = logging.getLogger(__name__)

# Freshchat answers 403 "Auth failure" to a valid key sent to the wrong host or data
# centre too (FRESHCHAT_API.md), so a 403 verdict always says so.
WRONG_HOST_HINT = (
    " A wrong host or region also answers 403 “Auth failure”: accounts in the EU, India "
    "or Australia and accounts inside the Freshworks suite use other API hosts. Try the "
    "API URL shown in Freshchat under Admin > API Tokens, or the regional host "
    "(api.eu.freshchat.com, api.in.freshchat.com, api.au.freshchat.com); for a suite "
    "account, yourcompany.myfreshworks.com."
)


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
            f"No Freshchat account answers at {domain} (404): check the domain.",
            "unknown_domain",
        )
    except FreshchatError as exc:
        hint = WRONG_HOST_HINT if exc.status == 403 else ""
        return ConnectionResult(False, str(exc) + hint, exc.kind)
    except Exception:
        # Whatever Freshchat sent, an admin waiting on "Test connection" or "Save" gets a
        # verdict, never a 500; the stack goes to the log for us to fix the client.
        log.exception("credential check of %s: unexpected failure", domain)
        return ConnectionResult(
            False,
            f"{domain} answered in a way this app does not understand; nothing was saved. "
            "Check the domain, then try again in a few minutes.",
            "malformed_response",
        )
    plan = account.get("plan_type") or account.get("bundle_type")
    plan = plan if isinstance(plan, str) else None
    detail = f" (plan: {plan[:40]})" if plan else ""
    return ConnectionResult(True, f"Connected to {domain}{detail}.", "ok", account)
