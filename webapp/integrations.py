"""Integration lifecycle: create, edit, pause, delete, and the companion-app key.

Views and the CLI both go through here so that the rules (unique names, encrypted keys,
revocation on delete) hold whichever door the admin uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from peewee import IntegrityError

from webapp import chats
from webapp.database import model_from_row, prepared_sql
from webapp.extensions import db
from webapp.models import ApiKey, Chat, DataCheck, Integration
from webapp.names import name_problem
from webapp.security import NewApiKey, SecretBox, generate_api_key
from webapp.timeutil import utcnow

NAME_MAX = 80
SYNC_CHOICES = (15, 30, 60)
BACKFILL_MAX_DAYS = 365


class IntegrationError(ValueError):
    """A refusal with a message meant for the admin."""


def name_key(name: str) -> str:
    """Names are unique ignoring case and surrounding spaces."""
    return " ".join(name.split()).casefold()


def clean_name(name: str) -> str:
    return " ".join((name or "").split())


def name_taken(name: str, *, exclude_id: int | None = None) -> bool:
    query = Integration.select().where(Integration.name_key == name_key(name))
    if exclude_id is not None:
        query = query.where(Integration.id != exclude_id)
    return query.exists()


@dataclass
class IntegrationInput:
    """Validated values from the form or the CLI."""

    name: str
    domain: str
    api_key: str | None  # None on edit means "keep the stored key"
    sync_every_minutes: int = 15
    backfill_days: int = 30
    display_timezone: str = "UTC"


def live() -> Integration:
    """Query of integrations that are not deleted."""
    return Integration.select().where(Integration.deleted_at.is_null())


def _check_name(name: str) -> None:
    problem = name_problem(clean_name(name))
    if problem:
        raise IntegrationError(problem)


def create(values: IntegrationInput, box: SecretBox) -> Integration:
    if not values.api_key:
        raise IntegrationError(gettext("An API key is required."))
    _check_name(values.name)
    try:
        with db.atomic():
            return Integration.create(
                name=clean_name(values.name),
                name_key=name_key(values.name),
                domain=values.domain,
                api_key_encrypted=box.encrypt(values.api_key),
                api_key_last4=values.api_key[-4:],
                sync_every_minutes=values.sync_every_minutes,
                backfill_days=values.backfill_days,
                display_timezone=values.display_timezone,
            )
    except IntegrityError as exc:
        raise IntegrationError(_name_exists(clean_name(values.name))) from exc


def update(integration: Integration, values: IntegrationInput, box: SecretBox) -> Integration:
    """Apply an edit; a blank key keeps the stored one. Changing the account restarts sync."""
    _check_name(values.name)
    account_changed = values.domain != integration.domain
    integration.name = clean_name(values.name)
    integration.name_key = name_key(values.name)
    integration.domain = values.domain
    if values.api_key:
        integration.api_key_encrypted = box.encrypt(values.api_key)
        integration.api_key_last4 = values.api_key[-4:]
    integration.sync_every_minutes = values.sync_every_minutes
    integration.backfill_days = values.backfill_days
    integration.display_timezone = values.display_timezone
    integration.updated_at = utcnow()
    if account_changed:
        # Another account's history must be imported from scratch.
        integration.watermark = None
        integration.counted_from = None
    try:
        with db.atomic():
            integration.save()
    except IntegrityError as exc:
        raise IntegrationError(_name_exists(integration.name)) from exc
    return integration


def _name_exists(name: str) -> str:
    return gettext("An integration named “%(name)s” already exists.", name=name)


def connected_to(domain: str, *, exclude_id: int | None = None) -> Integration | None:
    """The live integration already importing this Freshchat host, if any."""
    query = live().where(Integration.domain == domain)
    if exclude_id is not None:
        query = query.where(Integration.id != exclude_id)
    return query.first()


def has_imported_data(integration: Integration) -> bool:
    """Whether any chat of this integration is stored (what an account change would mix)."""
    return Chat.select().where(Chat.integration == integration).exists()


def set_paused(integration: Integration, paused: bool) -> None:
    integration.paused = paused
    integration.updated_at = utcnow()
    integration.save(only=[Integration.paused, Integration.updated_at])


def delete(integration: Integration, *, remove_data: bool) -> None:
    """Stop syncing and revoke keys; keep statistics unless asked to remove them."""
    with db.atomic():
        ApiKey.update(revoked_at=utcnow()).where(
            (ApiKey.integration == integration) & ApiKey.revoked_at.is_null()
        ).execute()
        if remove_data:
            chats.delete_chat_data(integration.id)
            integration.delete_instance(recursive=True)
            return
        now = utcnow()
        integration.deleted_at = now
        integration.paused = True
        integration.next_sync_at = None
        # Free the name for reuse while keeping the row (and its statistics).
        integration.name_key = f"{integration.name_key}#deleted-{integration.id}"
        integration.save()
        # Its data access check goes too (a hard delete cascades); a running one then stops.
        DataCheck.delete().where(DataCheck.integration == integration).execute()


def issue_app_key(integration: Integration) -> NewApiKey:
    """Generate the companion-app key, revoking any previous one in the same transaction."""
    new_key = generate_api_key()
    with db.atomic():
        ApiKey.update(revoked_at=utcnow()).where(
            (ApiKey.integration == integration) & ApiKey.revoked_at.is_null()
        ).execute()
        ApiKey.create(integration=integration, prefix=new_key.prefix, key_hash=new_key.key_hash)
    return new_key


def current_app_key(integration: Integration) -> ApiKey | None:
    return (
        ApiKey.select()
        .where((ApiKey.integration == integration) & ApiKey.revoked_at.is_null())
        .order_by(ApiKey.created_at.desc())
        .first()
    )


def decrypted_api_key(integration: Integration, box: SecretBox) -> str:
    """The Freshchat key, decrypted only at the moment a request needs it."""
    return box.decrypt(integration.api_key_encrypted)


@dataclass(frozen=True)
class KeyCheck:
    """Outcome of checking a presented companion-app key."""

    api_key: ApiKey | None
    reason: str | None  # None when accepted

    @property
    def integration(self) -> Integration | None:
        return self.api_key.integration if self.api_key is not None else None


_KEY_FIELDS = tuple(ApiKey._meta.sorted_fields)
_KEY_INTEGRATION_FIELDS = tuple(Integration._meta.sorted_fields)


def _key_by_prefix(prefix: str) -> ApiKey | None:
    """The key with this prefix and its integration, in one prepared query.

    Every pushed request starts here, so it is one join with cached text rather than a
    built query plus a lazy load of ``.integration``.
    """
    sql = prepared_sql(
        "check_app_key",
        lambda: (
            ApiKey.select(*_KEY_FIELDS, *_KEY_INTEGRATION_FIELDS)
            .join(Integration)
            .where(ApiKey.prefix == "")
        ),
    )
    row = db.execute_sql(sql, (ApiKey.prefix.db_value(prefix),)).fetchone()
    if row is None:
        return None
    split = len(_KEY_FIELDS)
    key = model_from_row(ApiKey, _KEY_FIELDS, row[:split])
    key.__rel__["integration"] = model_from_row(Integration, _KEY_INTEGRATION_FIELDS, row[split:])
    return key


def check_app_key(authorization_header: str | None) -> KeyCheck:
    """Resolve ``Authorization: Bearer <key>``; look up by prefix, compare in constant time.

    A refused key still returns the ApiKey row when its prefix is known (revoked or wrong
    secret), so the refusal can be counted against the right integration.
    """
    from webapp.security import api_key_matches, split_api_key

    header = (authorization_header or "").strip()
    scheme, _, presented = header.partition(" ")
    if not header:
        return KeyCheck(None, "missing Authorization header")
    if scheme.lower() != "bearer" or not presented.strip():
        return KeyCheck(None, "malformed Authorization header (expected: Bearer <key>)")
    parts = split_api_key(presented)
    if parts is None:
        return KeyCheck(None, "malformed API key")
    prefix, secret = parts
    row = _key_by_prefix(prefix)
    if row is None:
        return KeyCheck(None, "unknown API key")
    if not api_key_matches(secret, row.key_hash):
        return KeyCheck(row, "wrong API key")
    if row.revoked_at is not None:
        return KeyCheck(row, "revoked API key")
    if row.integration.is_deleted:
        return KeyCheck(row, "integration deleted")
    return KeyCheck(row, None)
