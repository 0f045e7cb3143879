"""Every way talking to Freshchat can fail, as one ``FreshchatError`` subclass each.

``str()`` is a sentence for the admin and ``kind`` a stable code for the UI and the sync
history, so callers never interpret HTTP status codes or ``requests`` exceptions.

Where FRESHCHAT_API.md is silent: a 403 is "plan without API access" only when the error
body's ``status``/``message`` mentions a plan, feature or subscription
(``looks_like_plan_restriction``); any other 403 is taken as "the key's user is not an
Account Administrator".
"""

from __future__ import annotations

import re


class FreshchatError(Exception):
    """Base of every failure talking to Freshchat; ``str()`` is meant for the admin."""

    kind: str = "freshchat_error"
    default_message = "Freshchat answered in a way this app does not understand."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.status = status
        self.retry_after = retry_after
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, status={self.status!r})"


class Unreachable(FreshchatError):
    kind = "unreachable"
    default_message = (
        "Freshchat could not be reached: unknown domain or Freshchat not reachable. "
        "Check the domain and this server's internet access."
    )


class Timeout(FreshchatError):
    kind = "timeout"
    default_message = "Freshchat did not answer in time. Try again in a few minutes."


class KeyRejected(FreshchatError):
    kind = "key_rejected"
    default_message = (
        "Freshchat rejected the API key (401). "
        "Copy a current key from Freshchat > Admin > API Tokens."
    )


class NotAdmin(FreshchatError):
    kind = "not_admin"
    default_message = (
        "Freshchat accepted the API key but refused access (403): the key's user needs "
        "the Account Administrator role. Use an API key of an Account Administrator."
    )


class PlanWithoutApi(FreshchatError):
    kind = "plan_without_api"
    default_message = (
        "Freshchat refused access because this account's plan does not include the API "
        "(403). A Freshchat Pro or Enterprise plan is needed."
    )


class NotFound(FreshchatError):
    kind = "not_found"
    default_message = "Freshchat says the requested item does not exist (404)."


class LinkExpired(NotFound):
    """A report file's pre-signed link was refused by its host: ask the job for fresh links."""

    kind = "link_expired"


class RateLimited(FreshchatError):
    kind = "rate_limited"
    default_message = "Freshchat is limiting requests for this account (429)."


class ServerError(FreshchatError):
    kind = "server_error"
    default_message = "Freshchat had an internal error. Try again later."


class BadRequest(FreshchatError):
    kind = "bad_request"
    default_message = "Freshchat refused the request as invalid."


class MalformedResponse(FreshchatError):
    kind = "malformed_response"
    default_message = (
        "Freshchat's answer was not the data expected; check that the domain is the "
        "account's Freshchat host (for example example.freshchat.com)."
    )


class ExtractFailed(FreshchatError):
    kind = "extract_failed"
    default_message = "Freshchat could not prepare the requested report. The next sync retries it."


_PLAN_WORDS = frozenset({"plan", "plans", "feature", "features", "subscription", "subscriptions"})


def looks_like_plan_restriction(body: object) -> bool:
    """Whether a 403 body blames the plan rather than the user's role.

    Freshchat documents no distinct code for "your plan has no API", so this is our
    assumption: the error's ``status`` or ``message`` mentions a plan, feature or
    subscription (``FEATURE_NOT_AVAILABLE``, "not available in your plan", ...).
    """
    if not isinstance(body, dict):
        return False
    text = " ".join(str(body.get(key) or "") for key in ("status", "message"))
    return bool(_PLAN_WORDS.intersection(re.split(r"[^a-z]+", text.lower())))
