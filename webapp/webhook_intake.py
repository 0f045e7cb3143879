"""Native Freshchat webhooks: set-up per integration, and one delivery into the funnel.

The endpoint (``webapp.views.api_realtime``) is thin; here a delivery is verified over
its raw bytes, translated (``webapp.freshchat.webhooks``) into the envelope the companion
app would have sent, and handed to ``push.store``: the same storing, deduplication,
group lookups and apply as the companion app, hence the same counts as the pull.
Refusals are counted with the push path's, their reason starting with ``REASON_PREFIX``
so the page can tell the paths apart.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from webapp import pause, push, push_refusals
from webapp.extensions import db
from webapp.freshchat import webhooks
from webapp.freshchat.events import envelope_to_changes
from webapp.models import Integration, WebhookEndpoint
from webapp.push_body import IncomingEvent
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)

REASON_PREFIX = "webhook: "  # refusals of this path, among the push path's
PATH_PREFIX = "/api/v1/freshchat/webhooks/"  # + token: see views.api_realtime
TOKEN_BYTES = 32


# Stored webhook events hold the companion-app envelope they were translated into; an
# event left pending is read again the same way.
push.register_reader(webhooks.EVENT_PREFIX, envelope_to_changes)


def webhook_url(base_url: str, token: str) -> str:
    """The full URL to paste in Freshchat, from this server's public base URL."""
    return f"{base_url.rstrip('/')}{PATH_PREFIX}{token}"


def endpoint_for(integration: Integration) -> WebhookEndpoint | None:
    return WebhookEndpoint.get_or_none(WebhookEndpoint.integration == integration.id)


def configure(integration: Integration, public_key_text: str) -> WebhookEndpoint:
    """Store Freshchat's public key (validated); the URL token is made once and kept, so
    changing the key never changes the URL configured in Freshchat."""
    pem = webhooks.normalised_pem(public_key_text)
    with db.atomic():
        endpoint = endpoint_for(integration)
        if endpoint is None:
            for _ in range(3):  # a collision of 256-bit tokens is theoretical; be tidy anyway
                try:
                    with db.atomic():
                        return WebhookEndpoint.create(
                            integration=integration,
                            token=secrets.token_urlsafe(TOKEN_BYTES),
                            public_key_pem=pem,
                        )
                except IntegrityError:
                    continue
            raise RuntimeError("could not create a unique webhook token")
        endpoint.public_key_pem = pem
        endpoint.updated_at = utcnow()
        endpoint.save()
        return endpoint


def remove(integration: Integration) -> None:
    WebhookEndpoint.delete().where(WebhookEndpoint.integration == integration.id).execute()


def find(token: str) -> WebhookEndpoint | None:
    """The endpoint of a live integration for this URL token, else None."""
    if not token or len(token) > 64:
        return None
    endpoint = (
        WebhookEndpoint.select(WebhookEndpoint, Integration)
        .join(Integration)
        .where(WebhookEndpoint.token == token)
        .first()
    )
    if endpoint is None or endpoint.integration.is_deleted:
        return None
    return endpoint


def record_refusal(integration_id: int | None, status: int, reason: str) -> None:
    """Counted with the push path's refusals, told apart by ``REASON_PREFIX``."""
    push_refusals.record_refusal(integration_id, status, f"{REASON_PREFIX}{reason}")


@dataclass(frozen=True, slots=True)
class Delivery:
    """The answer to one delivery: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


def _refused(integration_id: int, status: int, reason: str) -> Delivery:
    record_refusal(integration_id, status, reason)
    return Delivery(status, {"error": reason})


def receive(endpoint: WebhookEndpoint, raw_body: bytes, signature: str | None) -> Delivery:
    """Verify, translate, store and apply one webhook delivery.

    The signature is checked over ``raw_body`` exactly as received, before any decoding:
    re-encoding parsed JSON would change non-ASCII text and break it.
    """
    integration = endpoint.integration
    try:
        key = webhooks.load_public_key(endpoint.public_key_pem)
        webhooks.verify_signature(key, raw_body, signature)
    except webhooks.SignatureRefused as exc:
        return _refused(integration.id, 401, str(exc))
    try:
        translated = webhooks.translate(webhooks.decode(raw_body))
        if translated.envelope is None:
            return Delivery(200, {"stored": 0, "duplicates": 0, "ignored": translated.action})
        changes = tuple(envelope_to_changes(translated.envelope))
    except (webhooks.PayloadRefused, ValueError) as exc:
        return _refused(integration.id, 400, f"bad webhook: {exc}")
    event = IncomingEvent(
        envelope=translated.envelope,
        dedup_key=translated.dedup_key,
        event_name=translated.event_name,
        body=json.dumps(translated.envelope, separators=(",", ":"), ensure_ascii=False),
        changes=changes,
    )
    stored = push.store(integration.id, [event], None, apply=pause.applies_pushed(integration))
    return Delivery(
        200,
        {
            "stored": len(stored.new),
            "duplicates": stored.duplicates,
            "applied": stored.applied,
            "pending": stored.pending,
        },
    )
