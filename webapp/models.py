"""Peewee models. Datetimes are naive UTC (see ``webapp.timeutil``)."""

from __future__ import annotations

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    CharField,
    CompositeKey,
    DateTimeField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    NodeList,
    TextField,
)

from webapp.extensions import db
from webapp.timeutil import utcnow


class NeverReusedIdField(AutoField):
    """A primary key whose values are never handed out twice, even after a row is removed.

    API scripts address integrations by id: a reused id would silently reach another
    account. SQLite needs ``AUTOINCREMENT`` for that, PostgreSQL an identity column; the
    words come from each engine's field types (``webapp.engines``).
    """

    field_type = "NEVER_REUSED_ID"

    def ddl(self, ctx):  # type: ignore[no-untyped-def]
        suffix = (ctx.state.field_types or {}).get("NEVER_REUSED_ID_SUFFIX")
        node = super().ddl(ctx)
        return NodeList((node, SQL(suffix))) if suffix else node


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Admin(BaseModel):
    id = AutoField()
    username = CharField(max_length=80, unique=True)
    password_hash = CharField(max_length=255)
    created_at = DateTimeField(default=utcnow)
    # Incremented on sign-out and password change: ends every earlier session (sessions.py).
    session_version = IntegerField(default=0)
    # The language chosen in the header's switch (webapp.i18n); none: the browser's.
    language = CharField(max_length=8, null=True)


class Integration(BaseModel):
    """One connected Freshchat account. Soft-deleted rows keep their kept statistics."""

    id = NeverReusedIdField()
    name = CharField(max_length=80)
    # Lower-cased, trimmed name; rewritten on delete so the name becomes free again.
    name_key = CharField(max_length=120, unique=True)
    kind = CharField(max_length=40, default="freshchat")
    domain = CharField(max_length=255)
    api_key_encrypted = TextField()
    api_key_last4 = CharField(max_length=4)
    sync_every_minutes = IntegerField(default=15)
    backfill_days = IntegerField(default=30)
    display_timezone = CharField(max_length=64, default="UTC")
    paused = BooleanField(default=False)
    deleted_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    # Sync bookkeeping
    watermark = DateTimeField(null=True)
    # Start of the imported history: set by the first sync, reset with the watermark.
    counted_from = DateTimeField(null=True)
    last_sync_started_at = DateTimeField(null=True)
    last_sync_finished_at = DateTimeField(null=True)
    last_sync_outcome = CharField(max_length=20, null=True)  # ok | error | interrupted
    last_error = TextField(null=True)
    next_sync_at = DateTimeField(null=True)
    # Freshchat's account_id, learnt from the first accepted pushed event (see push_account)
    push_account_id = CharField(max_length=64, null=True)
    # Last complete group listing stored, and last time the push path asked for one
    # (at most once a minute, across processes: see push_groups).
    groups_listed_at = DateTimeField(null=True)
    groups_asked_at = DateTimeField(null=True)
    lease_owner = CharField(max_length=64, null=True)
    lease_until = DateTimeField(null=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ApiKey(BaseModel):
    """Inbound key for the companion app: stored as a hash, looked up by prefix."""

    id = AutoField()
    integration = ForeignKeyField(Integration, backref="api_keys", on_delete="CASCADE")
    prefix = CharField(max_length=32, unique=True)
    key_hash = CharField(max_length=128)
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)


class Group(BaseModel):
    """A Freshchat group as last listed; queues are keyed by ``group_id``."""

    id = AutoField()
    integration = ForeignKeyField(Integration, backref="groups", on_delete="CASCADE")
    group_id = CharField(max_length=64)
    name = CharField(max_length=255)
    deleted = BooleanField(default=False)
    seen_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("integration", "group_id"), True),)


class Chat(BaseModel):
    """One Freshchat conversation's merged state plus the contact it currently makes."""

    id = AutoField()
    integration = ForeignKeyField(Integration, backref="chats", on_delete="CASCADE")
    conversation_id = CharField(max_length=64)
    created_time = DateTimeField(null=True)
    first_seen_time = DateTimeField(null=True)
    first_resolved_time = DateTimeField(null=True)
    last_resolved_time = DateTimeField(null=True)
    status = CharField(max_length=40, null=True)
    status_time = DateTimeField(null=True)
    group_history = TextField(default="[]")  # JSON [[iso, group_id|null], ...]
    spam = BooleanField(default=False)
    deleted = BooleanField(default=False)
    last_change_time = DateTimeField(null=True)
    # Cached answer of counting.contact_for; NULL while the chat does not count.
    queue_key = CharField(max_length=64, null=True)
    interval_start = DateTimeField(null=True)
    count_reason = CharField(max_length=80, null=True)

    class Meta:
        indexes = (
            (("integration", "conversation_id"), True),
            (("integration", "interval_start", "queue_key"), False),
        )


class IntervalStat(BaseModel):
    """Derived: contacts per queue per 15-minute interval. Recomputed, never incremented."""

    id = AutoField()
    integration = ForeignKeyField(Integration, backref="interval_stats", on_delete="CASCADE")
    queue_key = CharField(max_length=64)
    interval_start = DateTimeField()
    contacts = IntegerField()

    class Meta:
        indexes = (
            (("integration", "interval_start", "queue_key"), True),
            (("integration", "queue_key", "interval_start"), False),
        )


class SyncRun(BaseModel):
    """History of pull syncs, also the source of the live progress panel."""

    id = AutoField()
    integration = ForeignKeyField(Integration, backref="sync_runs", on_delete="CASCADE")
    # schedule | first | manual | cli | demo | reimport
    trigger = CharField(max_length=20, default="schedule")
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    outcome = CharField(max_length=20, default="running")  # running | ok | error | interrupted
    window_from = DateTimeField(null=True)
    window_to = DateTimeField(null=True)
    progress_done = IntegerField(default=0)
    progress_total = IntegerField(default=0)
    progress_text = CharField(max_length=255, default="")
    api_calls = IntegerField(default=0)
    chats_seen = IntegerField(default=0)
    contacts_changed = IntegerField(default=0)
    error = TextField(null=True)
    # What the run saw that the admin may need later: on a first import or a re-import,
    # each event's header as received and how its columns were understood.
    details = TextField(null=True)


class InboundEvent(BaseModel):
    """A pushed event, stored before it is applied; deduplicated by ``dedup_key``."""

    id = AutoField()
    integration = ForeignKeyField(Integration, backref="events", on_delete="CASCADE")
    dedup_key = CharField(max_length=64)
    event_name = CharField(max_length=64)
    received_at = DateTimeField(default=utcnow)
    body = TextField()
    applied_at = DateTimeField(null=True)
    error = TextField(null=True)
    # False only on events stored before bodies were trimmed to what counting reads;
    # ``push_upgrade.trim_stored_events`` trims those once (new rows are written True).
    trimmed = BooleanField(default=False)
    waiting_for = CharField(max_length=32, null=True)  # why a pending event waits, if known

    class Meta:
        indexes = (
            (("integration", "dedup_key"), True),
            (("applied_at",), False),
        )


class RefusedRequest(BaseModel):
    """Refused push requests, kept so the admin can see what the companion app got wrong.

    One row per (integration, status, reason, hour): ``count`` of them, the last ``at``.
    """

    id = AutoField()
    integration = ForeignKeyField(
        Integration, backref="refused_requests", null=True, on_delete="CASCADE"
    )
    at = DateTimeField(default=utcnow)
    status_code = IntegerField()
    reason = CharField(max_length=255)
    count = IntegerField(default=1)
    hour = DateTimeField(null=True)  # start of the hour this row aggregates


class WebhookEndpoint(BaseModel):
    """Freshchat's native webhooks for one integration: the URL token and Freshchat's key.

    The token only makes the URL unguessable; what authenticates a delivery is the
    signature checked with ``public_key_pem`` (public, so stored as it is).
    """

    id = AutoField()
    integration = ForeignKeyField(
        Integration, backref="webhook_endpoints", unique=True, on_delete="CASCADE"
    )
    token = CharField(max_length=64, unique=True)
    public_key_pem = TextField()
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class RateLimit(BaseModel):
    """One limited key (a push key, a client address) of one limit: shared by every process.

    ``tat`` is the key's "theoretical arrival time" (GCRA, see ``webapp.rate_limit``), in
    Unix seconds: one number per key, so a check is one statement whatever the limit.
    """

    scope = CharField(max_length=20)  # which limit: push, push-auth, sign-in
    subject = CharField(max_length=255)  # what it limits: a key prefix, an address
    tat = DoubleField()

    class Meta:
        primary_key = CompositeKey("scope", "subject")


class DataCheck(BaseModel):
    """An integration's latest Check data access, shared by every process (one row each).

    The check runs in a thread of the process that started it; any process shows it from
    here. ``body`` is the check as its support-safe JSON (``Diagnosis.as_json``, without
    the integration's name): header names, counts, reasons, hashed ids; no cell value.
    ``beat_at`` (Unix seconds, the database's clock) is the worker's last sign of life: a
    running check whose worker went silent is shown as interrupted (``webapp.data_checks``).
    """

    integration = ForeignKeyField(
        Integration, primary_key=True, backref="data_checks", on_delete="CASCADE"
    )
    token = CharField(max_length=32)  # this run's: a superseded worker's writes touch nothing
    state = CharField(max_length=20)  # running | done | failed
    beat_at = DoubleField()
    body = TextField()


ALL_MODELS = [
    Admin,
    Integration,
    ApiKey,
    Group,
    Chat,
    IntervalStat,
    SyncRun,
    InboundEvent,
    RefusedRequest,
    WebhookEndpoint,
    RateLimit,
    DataCheck,
]
