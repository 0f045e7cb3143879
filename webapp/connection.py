"""The one cheap call that proves a Freshchat domain and key work, before saving them."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.freshchat.client import FreshchatClient, FreshchatError, NotFound


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str
    kind: str = "ok"
    account: dict | None = None


def check_credentials(
    domain: str, api_key: str, *, api_url_template: str, timeout: float
) -> ConnectionResult:
    """GET /accounts/configuration needs an Account Administrator's key, so it tests
    the domain, the key and the role in one request, without reading any chats."""
    client = FreshchatClient(
        domain,
        api_key,
        api_url_template=api_url_template,
        timeout=(min(5.0, timeout), timeout),
        max_retries=0,  # an admin is waiting: answer now, say when to retry
    )
    try:
        account = client.get_configuration()
    except NotFound:
        return ConnectionResult(
            False,
            f"No Freshchat account answers at {domain} (404): check the domain.",
            "unknown_domain",
        )
    except FreshchatError as exc:
        return ConnectionResult(False, str(exc), exc.kind)
    plan = account.get("plan_type") or account.get("bundle_type")
    detail = f" (plan: {plan})" if plan else ""
    return ConnectionResult(True, f"Connected to {domain}{detail}.", "ok", account)
