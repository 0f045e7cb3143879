"""POST /api/v1/freshchat/events: refusals, storing, applying, lookups, and the page."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest
import responses

from tests.conftest import make_test_app
from tests.engines import everything_stored
from webapp import chats, push, push_lookups, push_summary
from webapp import integrations as service
from webapp.counting import UNDEFINED_QUEUE_KEY
from webapp.extensions import db
from webapp.freshchat.envelope_shape import trim
from webapp.freshchat.reports import parse_extract
from webapp.models import (
    ApiKey,
    Chat,
    Group,
    InboundEvent,
    Integration,
    IntervalStat,
    RefusedRequest,
)
from webapp.sync_jobs import apply_waiting_for_app
from webapp.timeutil import utcnow

URL = "/api/v1/freshchat/events"
CONVERSATION_URL = "https://acme.freshchat.com/v2/conversations/{}"
T0 = 1_793_610_000_000  # 2026-11-02T09:00:00Z in epoch ms
CREATED = "2026-11-02T09:03:12.345Z"
INTERVAL = datetime(2026, 11, 2, 9, 0)
MINUTE = 60_000


# --------------------------------------------------------------------------- helpers


def make_integration(app, name="Support chats", domain="acme.freshchat.com", groups=("g1",)):
    """An integration with a companion-app key and live groups; returns (id, key)."""
    with db.connection_context():
        integration = service.create(
            service.IntegrationInput(name, domain, "freshchat-admin-key"),
            app.extensions["secret_box"],
        )
        chats.refresh_groups(integration.id, [{"id": g, "name": f"Queue {g}"} for g in groups])
        key = service.issue_app_key(integration).plaintext
    return integration.id, key


@pytest.fixture
def integ(app):
    return make_integration(app)


def created(cid="c1", group="g1", ts=T0, **extra):
    conversation = {"conversation_id": cid, "status": "new", "created_time": CREATED}
    if group is not None:
        conversation["assigned_group_id"] = group
    data = {"conversation": conversation, **extra}
    if group is not None:
        data["associations"] = {"group": {"id": group, "name": f"Queue {group}"}}
    return {
        "account_id": "1",
        "domain": "acme.freshchat.com",
        "event": "onConversationCreate",
        "region": "US",
        "timestamp": ts,
        "version": "2.0",
        "data": data,
    }


def resolved(cid="c1", group="g1", ts=T0 + 10 * MINUTE):
    conversation = {"conversation_id": cid, "status": "resolved"}
    if group is not None:
        conversation["assigned_group_id"] = group
    return {
        "account_id": "1",
        "domain": "acme.freshchat.com",
        "event": "onConversationUpdate",
        "region": "US",
        "timestamp": ts,
        "version": "2.0",
        "data": {
            "conversation": conversation,
            "changes": {"model_changes": {"status": ["new", "resolved"]}},
        },
    }


def post(client, key, body, *, content_type="application/json", raw=None, headers=None):
    all_headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    all_headers.update(headers or {})
    data = raw if raw is not None else json.dumps(body)
    return client.post(URL, data=data, content_type=content_type, headers=all_headers)


def stats(integration_id):
    with db.connection_context():
        return {
            (row.queue_key, row.interval_start): row.contacts
            for row in IntervalStat.select().where(IntervalStat.integration == integration_id)
        }


def refusals(integration_id=None):
    with db.connection_context():
        query = RefusedRequest.select().order_by(RefusedRequest.id)
        if integration_id is not None:
            query = query.where(RefusedRequest.integration == integration_id)
        # One row aggregates equal refusals of an hour: expanded here, one per request.
        return [(r.status_code, r.reason, r.integration_id) for r in query for _ in range(r.count)]


def count(model, *conditions):
    with db.connection_context():
        query = model.select()
        for condition in conditions:
            query = query.where(condition)
        return query.count()


# --------------------------------------------------------------------------- success


def test_batch_is_stored_applied_and_answered_202(client, integ):
    integration_id, key = integ
    response = post(client, key, [created(), resolved()])
    assert response.status_code == 202
    assert response.json == {
        "received": 2,
        "stored": 2,
        "duplicates": 0,
        "applied": 2,
        "pending": 0,
        "ignored": 0,
    }
    assert stats(integration_id) == {("g1", INTERVAL): 1}
    with db.connection_context():
        events = list(InboundEvent.select().order_by(InboundEvent.id))
        assert [e.event_name for e in events] == ["onConversationCreate", "onConversationUpdate"]
        assert all(e.applied_at is not None and e.error is None for e in events)
        assert json.loads(events[0].body) == created()
        assert ApiKey.get(ApiKey.integration == integration_id).last_used_at is not None


def test_single_envelope_object_is_accepted(client, integ):
    integration_id, key = integ
    response = post(client, key, created())
    assert response.status_code == 202
    assert response.json["stored"] == 1
    assert count(Chat, Chat.integration == integration_id) == 1
    assert stats(integration_id) == {}  # open chats do not count


def test_json_suffix_content_type_is_accepted(client, integ):
    _id, key = integ
    assert post(client, key, created(), content_type="application/vnd.x+json").status_code == 202


def test_duplicates_are_recognised_and_change_nothing(client, integ):
    integration_id, key = integ
    assert post(client, key, [created(), resolved()]).json["stored"] == 2
    before = stats(integration_id)
    again = post(client, key, [resolved(), created()])
    assert again.status_code == 202
    assert again.json["stored"] == 0 and again.json["duplicates"] == 2
    assert stats(integration_id) == before == {("g1", INTERVAL): 1}
    inside = post(client, key, [resolved("c2"), resolved("c2")])
    assert inside.json["stored"] == 1 and inside.json["duplicates"] == 1
    assert count(InboundEvent) == 3
    assert stats(integration_id) == {("g1", INTERVAL): 2}


def test_same_event_for_another_integration_is_not_a_duplicate(app, client, integ):
    first_id, first_key = integ
    second_id, second_key = make_integration(app, name="Other")
    assert post(client, first_key, created()).json["stored"] == 1
    assert post(client, second_key, created()).json["stored"] == 1
    assert count(Chat, Chat.integration == first_id) == 1
    assert count(Chat, Chat.integration == second_id) == 1


def test_out_of_order_gives_the_same_result_as_in_order(app, client):
    """Shuffled and one-by-one delivery of a history equals in-order delivery."""
    rng = random.Random(5)
    history = []
    for n in range(30):
        cid = f"chat-{n}"
        group = rng.choice(["g1", "g2", None])
        start = T0 + n * 7 * MINUTE
        envelope = created(cid, group, ts=start)
        envelope["data"]["conversation"]["created_time"] = start
        history.append(envelope)
        if group and rng.random() < 0.4:  # transfer before resolution
            other = "g2" if group == "g1" else "g1"
            moved = resolved(cid, other, ts=start + 3 * MINUTE)
            moved["data"]["conversation"]["status"] = "assigned"
            moved["data"]["changes"] = {"model_changes": {"assigned_group_id": [group, other]}}
            history.append(moved)
            group = other
        if rng.random() < 0.8:
            history.append(resolved(cid, group, ts=start + 20 * MINUTE))
    in_order_id, in_order_key = make_integration(app, name="In order", groups=("g1", "g2"))
    client = app.test_client()
    assert post(client, in_order_key, history).status_code == 202
    mixed = history[:]
    rng.shuffle(mixed)
    for name, order in (("Shuffled", mixed), ("Reversed", history[::-1])):
        other_id, other_key = make_integration(app, name=name, groups=("g1", "g2"))
        pending = 0
        for envelope in order:
            response = post(client, other_key, envelope)
            assert response.status_code == 202
            pending += response.json["pending"]
        if name == "Reversed":
            # Group-less resolutions seen before their creation wait for a lookup; by now
            # the creation has told the group ("none"), so no Freshchat call is needed.
            assert pending > 0
        with responses.RequestsMock(), app.app_context(), db.connection_context():
            assert apply_waiting_for_app(app) == pending
        assert stats(in_order_id) and stats(in_order_id) == stats(other_id)
        assert contacts(in_order_id) == contacts(other_id)


def contacts(integration_id):
    with db.connection_context():
        return {
            (c.conversation_id, c.queue_key, c.interval_start)
            for c in Chat.select().where(Chat.integration == integration_id)
        }


def test_unknown_event_is_acknowledged_as_ignored_and_not_stored(client, integ):
    integration_id, key = integ
    envelope = {"event": "onAgentActivityCreate", "timestamp": T0, "data": {"agent": {"id": 1}}}
    response = post(client, key, [envelope, {"event": "bogus"}, created()])
    assert response.status_code == 202
    assert response.json == {
        "received": 3,
        "stored": 1,
        "duplicates": 0,
        "applied": 1,
        "pending": 0,
        "ignored": 2,
    }
    with db.connection_context():
        assert [e.event_name for e in InboundEvent.select()] == ["onConversationCreate"]
    assert refusals(integration_id) == []


def test_message_event_places_the_chat_in_time(client, integ):
    integration_id, key = integ
    message = {
        "event": "onMessageCreate",
        "timestamp": T0 + 2 * MINUTE,
        "data": {"message": {"conversation_id": "c1", "created_time": CREATED}},
    }
    assert post(client, key, [message, resolved()]).status_code == 202
    assert stats(integration_id) == {("g1", INTERVAL): 1}


def test_known_group_is_renamed_only_by_a_newer_event(client, app, integ):
    _integration_id, key = integ
    future = int((utcnow() + timedelta(hours=1) - datetime(1970, 1, 1)).total_seconds() * 1000)
    old = created("c-old", ts=T0)
    old["data"]["associations"]["group"]["name"] = "Old name"
    new = created("c-new", ts=future)
    new["data"]["associations"]["group"]["name"] = "Customer Support"
    unknown = created("c-x", group="g-unknown", ts=future)
    assert post(client, key, [new, old, unknown]).status_code == 202
    with db.connection_context():
        assert Group.get(Group.group_id == "g1").name == "Customer Support"
        # Which groups exist is decided by the pull's complete listing, never by an event.
        assert not Group.select().where(Group.group_id == "g-unknown").exists()
    assert post(client, key, created("c-old2", ts=T0 + 1)).status_code == 202
    with db.connection_context():
        assert Group.get(Group.group_id == "g1").name == "Customer Support"


# --------------------------------------------------------------------------- 401


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Authorization header"),
        ("Basic dXNlcjpwYXNz", "malformed Authorization header (expected: Bearer <key>)"),
        ("Bearer not-a-key", "malformed API key"),
        ("Bearer fch_000000000000.secret", "unknown API key"),
    ],
)
def test_401_without_a_usable_key(client, integ, header, reason):
    headers = {"Authorization": header} if header else {}
    response = client.post(URL, json=created(), headers=headers)
    assert response.status_code == 401
    assert response.json == {"error": reason}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert refusals() == [(401, reason, None)]
    assert count(InboundEvent) == 0


def test_401_wrong_secret_is_counted_against_the_integration(client, integ):
    integration_id, key = integ
    prefix = key.split(".", 1)[0]
    response = post(client, f"{prefix}.wrong-secret", created())
    assert response.status_code == 401 and response.json["error"] == "wrong API key"
    assert refusals(integration_id) == [(401, "wrong API key", integration_id)]
    assert count(InboundEvent) == 0


def test_key_regenerated_mid_stream(client, integ):
    integration_id, old_key = integ
    assert post(client, old_key, created("c1")).status_code == 202
    with db.connection_context():
        new_key = service.issue_app_key(Integration.get_by_id(integration_id)).plaintext
    refused = post(client, old_key, resolved("c1"))
    assert refused.status_code == 401 and refused.json["error"] == "revoked API key"
    assert post(client, old_key, created("c2")).status_code == 401  # from then on
    assert post(client, new_key, resolved("c1")).status_code == 202
    assert stats(integration_id) == {("g1", INTERVAL): 1}
    assert refusals(integration_id) == [(401, "revoked API key", integration_id)] * 2


def test_deleted_integration_is_refused_as_deleted(client, integ):
    integration_id, key = integ
    with db.connection_context():
        service.delete(Integration.get_by_id(integration_id), remove_data=False)
    response = post(client, key, created())
    assert response.status_code == 401
    assert response.json["error"] == "integration deleted"
    assert refusals(integration_id) == [(401, "integration deleted", integration_id)]
    assert count(InboundEvent) == 0


# --------------------------------------------------------------------------- 415 / 413 / 400


def test_415_when_not_json(client, integ):
    integration_id, key = integ
    response = post(client, key, None, raw="event=x", content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json["error"]
    response = client.post(URL, data=b"{}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 415
    assert [r[0] for r in refusals(integration_id)] == [415, 415]
    assert count(InboundEvent) == 0


def test_413_when_the_body_is_over_the_limit(app, client, integ):
    integration_id, key = integ
    app.config["PUSH_MAX_BODY_BYTES"] = 2_000
    big = created()
    big["data"]["padding"] = "x" * 2_000
    response = post(client, key, big)
    assert response.status_code == 413
    assert response.json == {"error": "the body is larger than 2000 bytes"}
    assert post(client, key, created()).status_code == 202  # under the limit: fine
    assert refusals(integration_id) == [(413, "the body is larger than 2000 bytes", integration_id)]


def test_413_when_the_batch_has_too_many_events(app, client, integ):
    _integration_id, key = integ
    app.config["PUSH_MAX_EVENTS_PER_REQUEST"] = 3
    response = post(client, key, [created(f"c{n}") for n in range(4)])
    assert response.status_code == 413
    assert "at most 3" in response.json["error"]
    assert count(InboundEvent) == 0
    assert post(client, key, [created(f"c{n}") for n in range(3)]).status_code == 202


@pytest.mark.parametrize(
    ("raw", "field"),
    [(b"{not json", "body"), (b"\xff\xfe", "body"), (b"42", "body"), (b"[]", "body")],
)
def test_400_for_a_body_that_is_not_events(client, integ, raw, field):
    integration_id, key = integ
    response = post(client, key, None, raw=raw)
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == field
    assert refusals(integration_id)[0][0] == 400


def test_batch_with_one_bad_event_is_refused_whole(client, integ):
    integration_id, key = integ
    bad = resolved("c2")
    del bad["data"]["conversation"]["conversation_id"]
    bad["timestamp"] = "yesterday"
    worse = created("c3")
    worse["data"]["changes"] = {"model_changes": {"status": "resolved"}}
    response = post(client, key, [created(), bad, resolved(), worse])
    assert response.status_code == 400
    assert sorted((e["index"], e["field"]) for e in response.json["errors"]) == [
        (1, "data.conversation.conversation_id"),
        (1, "timestamp"),
        (3, "data.changes.model_changes.status"),
    ]
    assert all(e["message"] for e in response.json["errors"])
    # Nothing half-applied: not even the good envelopes of the batch.
    assert count(InboundEvent) == 0 and count(Chat) == 0
    [(status, reason, _id)] = refusals(integration_id)
    assert status == 400 and reason.startswith("bad fields: [1]")


# --------------------------------------------------------------------------- 429


def test_429_when_a_key_sends_too_fast(app, client, integ):
    integration_id, key = integ
    _other_id, other_key = make_integration(app, name="Other")
    app.config["PUSH_RATE_LIMIT_PER_MINUTE"] = 3
    for n in range(3):
        assert post(client, key, created(f"c{n}")).status_code == 202
    response = post(client, key, created("c9"))
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.json["retry_after"] == int(response.headers["Retry-After"])
    assert "3 requests per minute" in response.json["error"]
    assert count(InboundEvent, InboundEvent.integration == integration_id) == 3
    assert post(client, other_key, created("c9")).status_code == 202  # per key
    assert [r[0] for r in refusals(integration_id)] == [429]


# --------------------------------------------------------------------------- paused, crash


def test_paused_integration_stores_and_applies_on_resume(app, client, integ):
    integration_id, key = integ
    with db.connection_context():
        service.set_paused(Integration.get_by_id(integration_id), True)
    response = post(client, key, [created(), resolved()])
    assert response.status_code == 202
    assert response.json["stored"] == 2 and response.json["applied"] == 0
    assert "paused" in response.json["note"]
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 0  # still paused: statistics stay frozen
    assert stats(integration_id) == {}
    with db.connection_context():
        service.set_paused(Integration.get_by_id(integration_id), False)
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 2
    assert stats(integration_id) == {("g1", INTERVAL): 1}


def test_crash_between_storing_and_applying_loses_nothing(app, client, integ, monkeypatch):
    integration_id, key = integ

    def crash(*_args, **_kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(push, "apply_stored", crash)
    response = post(client, key, [created(), resolved()])
    assert response.status_code == 202 and response.json["stored"] == 2
    assert count(InboundEvent, InboundEvent.applied_at.is_null()) == 2
    assert stats(integration_id) == {}
    monkeypatch.undo()
    with app.app_context(), db.connection_context():  # what serving does at start
        assert apply_waiting_for_app(app) == 2
    assert stats(integration_id) == {("g1", INTERVAL): 1}
    assert count(InboundEvent, InboundEvent.applied_at.is_null()) == 0


def test_apply_failure_inside_the_funnel_rolls_back_the_marks(app, integ, monkeypatch):
    integration_id, key = integ
    client = app.test_client()
    monkeypatch.setattr(push.chats, "apply_changes", lambda *a, **k: 1 / 0)
    assert post(client, key, [created(), resolved()]).status_code == 202
    assert count(InboundEvent, InboundEvent.applied_at.is_null()) == 2
    monkeypatch.undo()
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 2
    assert stats(integration_id) == {("g1", INTERVAL): 1}


# --------------------------------------------------------------------------- group lookups


@pytest.fixture
def freshchat():
    with responses.RequestsMock() as rsps:
        yield rsps


def test_groupless_resolution_is_looked_up(app, client, integ, freshchat):
    integration_id, key = integ
    response = post(client, key, resolved("c7", group=None))
    assert response.json == {
        "received": 1,
        "stored": 1,
        "duplicates": 0,
        "applied": 0,
        "pending": 1,
        "ignored": 0,
    }
    freshchat.get(
        CONVERSATION_URL.format("c7"),
        json={
            "conversation_id": "c7",
            "status": "resolved",
            "assigned_group_id": "g1",
            "created_time": CREATED,
            "updated_time": "2026-11-02T09:30:00.000Z",
        },
    )
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 1
    assert freshchat.calls[0].request.headers["Authorization"] == "Bearer freshchat-admin-key"
    # No created time in the event: the first time seen (the resolution) places it.
    with db.connection_context():
        chat = Chat.get(Chat.conversation_id == "c7")
        assert chat.queue_key == "g1"
    assert stats(integration_id) == {("g1", datetime(2026, 11, 2, 9, 0)): 1}


def test_no_lookup_when_the_stored_chat_knows_its_group(client, integ):
    integration_id, key = integ
    assert post(client, key, created("c8", group=None)).json["applied"] == 1
    # A group-less creation is a group fact ("none"); no Freshchat call is needed.
    response = post(client, key, resolved("c8", group=None))
    assert response.json["applied"] == 1 and response.json["pending"] == 0
    assert stats(integration_id) == {(UNDEFINED_QUEUE_KEY, INTERVAL): 1}


def test_lookup_404_means_deleted(app, client, integ, freshchat):
    integration_id, key = integ
    # Seen alive first (a message places it in time and says nothing of its group)...
    message = {
        "event": "onMessageCreate",
        "timestamp": T0 + MINUTE,
        "data": {"message": {"conversation_id": "gone", "created_time": CREATED}},
    }
    assert post(client, key, message).json["applied"] == 1
    # ...then resolved without a group, and deleted before the lookup.
    assert post(client, key, resolved("gone", group=None)).json["pending"] == 1
    freshchat.get(
        CONVERSATION_URL.format("gone"),
        status=404,
        json={"code": 404, "status": "CONVERSATION_NOT_FOUND", "message": "not found"},
    )
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 1
    with db.connection_context():
        chat = Chat.get(Chat.conversation_id == "gone")
        assert chat.deleted and chat.queue_key == UNDEFINED_QUEUE_KEY
        assert chat.count_reason.startswith("deleted")
    assert list(stats(integration_id)) == [(UNDEFINED_QUEUE_KEY, INTERVAL)]


def test_lookup_404_for_a_never_seen_id_is_not_a_deleted_chat(app, client, integ, freshchat):
    integration_id, key = integ
    post(client, key, resolved("never-had-it", group=None))
    freshchat.get(CONVERSATION_URL.format("never-had-it"), status=404, json={"code": 404})
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 1
        event = InboundEvent.get()
        assert event.applied_at is not None
        assert "never seen here" in event.error
        summary = push_summary.summary(Integration.get_by_id(integration_id))
        assert summary.failed == 1 and "never-had-it" in summary.last_error
    assert count(Chat) == 0 and stats(integration_id) == {}


def test_failed_lookup_waits_then_applies_without_group(app, client, integ, freshchat):
    integration_id, key = integ
    post(client, key, [resolved("a", group=None), resolved("b", group=None)])
    freshchat.get(CONVERSATION_URL.format("a"), status=401, json={"code": 401})
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 0
    assert len(freshchat.calls) == 1  # the first failure stops lookups for the run
    with db.connection_context():
        errors = [e.error for e in InboundEvent.select()]
        assert all(e and "group lookup failed" in e for e in errors)
        summary = push_summary.summary(Integration.get_by_id(integration_id))
        assert summary.pending == 2 and summary.failed == 2
        assert "Freshchat rejected the API key" in summary.last_error
    later = utcnow() + push_lookups.LOOKUP_GIVE_UP + timedelta(minutes=1)
    freshchat.get(CONVERSATION_URL.format("a"), status=401, json={"code": 401})
    with app.app_context(), db.connection_context():
        assert push.apply_pending_for(integration_id, lambda i: _client(app, i), now=later) == 2
        events = list(InboundEvent.select())
        assert all(e.applied_at and e.error.startswith("applied without its group") for e in events)
    assert stats(integration_id) == {(UNDEFINED_QUEUE_KEY, INTERVAL): 2}


def _client(app, integration):
    from webapp.clients import client_factory_for

    return client_factory_for(app.config, app.extensions["secret_box"])(integration)


# --------------------------------------------------------------------------- the page


def test_integration_page_shows_the_push_path(app, admin_client, integ):
    integration_id, key = integ
    client = admin_client.client
    post(client, key, [created(), resolved()])
    post(client, "fch_000000000000.nope", created())  # not ours: not on this page
    post(client, key.split(".")[0] + ".wrong", created())
    post(client, key, None, raw="x", content_type="text/plain")
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert 'id="push"' in page
    assert 'value="http://localhost/api/v1/freshchat/events"' in page
    assert f"Authorization: Bearer {key.split('.')[0]}." in page
    assert key.split(".", 1)[1] not in page  # the secret is never shown again
    assert 'id="push-today">2<' in page
    assert "wrong API key" in page and "unknown API key" not in page
    assert "415" in page and "expected Content-Type application/json" in page
    assert 'id="push-refused-total">2<' in page
    assert 'id="push-last">never<' not in page
    app.config["PUBLIC_BASE_URL"] = "https://hub.example.com/"
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert 'value="https://hub.example.com/api/v1/freshchat/events"' in page


def test_page_before_any_event(app, admin_client):
    with db.connection_context():
        integration = service.create(
            service.IntegrationInput("Fresh", "acme.freshchat.com", "freshchat-admin-key"),
            app.extensions["secret_box"],
        )
    integration_id = integration.id
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert 'id="push-last">never<' in page
    assert "None in the last 7 days" in page
    assert "500 events and 1 MiB per request, 600 requests per minute per key" in page
    assert "generate it below" in page  # no key yet


def test_events_today_counts_from_local_midnight():
    # 23:30 UTC on Nov 1 is already Nov 2 in Berlin (UTC+1): today began at 23:00 UTC.
    assert push_summary._local_midnight(datetime(2026, 11, 1, 23, 30), "Europe/Berlin") == datetime(
        2026, 11, 1, 23, 0
    )
    assert push_summary._local_midnight(datetime(2026, 11, 1, 23, 30), "UTC") == datetime(
        2026, 11, 1
    )


def test_prune_keeps_pending_events(app, client, integ):
    _integration_id, key = integ
    post(client, key, [created(), resolved("c2", group=None)])
    later = utcnow() + push.EVENT_RETENTION + timedelta(days=1)
    with db.connection_context():
        push.prune(later)
        remaining = list(InboundEvent.select())
        assert [e.applied_at for e in remaining] == [None]  # the pending lookup stays


# --------------------------------------------------------------------------- review fixes

LONE_SURROGATE_BODY = (
    b'{"event":"onConversationCreate","timestamp":1790000000000,"data":{"conversation":'
    b'{"conversation_id":"\\ud800x","created_time":"2026-11-02T09:03:12.345Z"}}}'
)


def test_400_for_a_lone_surrogate_in_an_event(client, integ):
    integration_id, key = integ
    response = post(client, key, None, raw=LONE_SURROGATE_BODY)
    assert response.status_code == 400
    [error] = response.json["errors"]
    assert (error["index"], error["field"]) == (0, "data.conversation.conversation_id")
    assert "surrogate" in error["message"]
    assert count(InboundEvent) == 0 and count(Chat) == 0
    [(status, reason, _id)] = refusals(integration_id)
    assert status == 400
    assert reason.startswith("bad fields: [0] data.conversation.conversation_id: not valid")


def test_a_lone_surrogate_anywhere_refuses_the_whole_batch(client, integ):
    integration_id, key = integ
    bad_name = created()
    bad_name["data"]["associations"]["group"]["name"] = "x"
    bad_name = json.dumps(bad_name).replace('"name": "x"', '"name": "\\udfff"').encode()
    # Fields that are dropped before storing do not matter: this one is never kept.
    dropped = created("c9")
    dropped["data"]["actor"] = {"first_name": "x"}
    dropped = json.dumps(dropped).replace('"first_name": "x"', '"\\udfff": "x"').encode()
    raw = b"[" + json.dumps(created()).encode() + b"," + LONE_SURROGATE_BODY
    raw += b"," + bad_name + b"," + dropped + b"]"
    response = post(client, key, None, raw=raw)
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json["errors"]] == [
        (1, "data.conversation.conversation_id"),
        (2, "data.associations.group.name"),
    ]
    assert count(InboundEvent) == 0 and count(Chat) == 0
    assert [r[0] for r in refusals(integration_id)] == [400]
    # A surrogate pair is ordinary text (an emoji) and is accepted.
    emoji = LONE_SURROGATE_BODY.replace(b"\\ud800x", b"\\ud83d\\ude00")
    assert post(client, key, None, raw=emoji).status_code == 202
    assert count(InboundEvent) == 1


def _pulled_created(integration_id):
    """What the pull's Created row says: c1 arrived in group g1."""
    csv = f"conversation_id,created_time,group_id\nc1,{CREATED},g1\n".encode()
    with db.connection_context():
        chats.apply_changes(integration_id, parse_extract(csv, "Conversation-Created").changes)


def _pushed_resolution(client, key):
    """Freshchat resolves c1 in g2 at 09:30:00; the event is stamped a second later."""
    envelope = resolved("c1", "g2", ts=T0 + 30 * MINUTE + 1000)
    envelope["data"]["conversation"]["resolved_time"] = "2026-11-02T09:30:00.000Z"
    response = post(client, key, envelope)
    assert response.status_code == 202 and response.json["applied"] == 1


@pytest.mark.parametrize("push_first", [True, False])
def test_the_group_at_a_pushed_resolution_wins_over_an_older_pull(app, client, push_first):
    integration_id, key = make_integration(app, groups=("g1", "g2"))
    if push_first:
        _pushed_resolution(client, key)
        _pulled_created(integration_id)
    else:
        _pulled_created(integration_id)
        _pushed_resolution(client, key)
    assert stats(integration_id) == {("g2", INTERVAL): 1}
    assert contacts(integration_id) == {("c1", "g2", INTERVAL)}


# --------------------------------------------------------------------------- kept data


def _everything_written(app, tmp_path):
    """Every byte of the database (main file, WAL, shared memory) after a checkpoint-free
    run: what a backup or a stolen disk would hold."""
    return everything_stored(tmp_path)


def test_iparams_and_message_texts_are_never_stored_or_logged(app, client, integ, tmp_path, caplog):
    integration_id, key = integ
    caplog.set_level("DEBUG")
    text = "Please refund order 5531 to Dana Whitfield"
    message = {
        "account_id": "1",
        "domain": "acme.freshchat.com",
        "event": "onMessageCreate",
        "timestamp": T0 + MINUTE,
        "iparams": {"hub_key": key, "hub_url": "https://hub.example.test"},
        "currentHost": {"endpoint_urls": {"freshchat": "https://acme.freshchat.com"}},
        "data": {
            "actor": {"first_name": "Dana", "email": "dana.whitfield@example.test"},
            "message": {
                "conversation_id": "c1",
                "created_time": CREATED,
                "messages": [{"message_parts": [{"text": {"content": text}}]}],
            },
        },
    }
    envelopes = [message, {**created(), "iparams": {"hub_key": key}}, resolved()]
    response = post(client, key, envelopes)
    assert response.status_code == 202 and response.json["stored"] == 3
    assert stats(integration_id) == {("g1", INTERVAL): 1}
    # A refused batch is logged and counted: nothing of it is kept either.
    bad = {**created("c2"), "iparams": {"hub_key": key}, "timestamp": "soon"}
    bad["data"]["actor"] = {"email": "dana.whitfield@example.test", "text": text}
    assert post(client, key, bad).status_code == 400
    written = _everything_written(app, tmp_path)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (key, text, "dana.whitfield", "Dana", "hub.example.test", "endpoint_urls"):
        assert secret.encode() not in written, secret
        assert secret not in logged, secret
    with db.connection_context():
        bodies = [json.loads(e.body) for e in InboundEvent.select()]
    assert all("iparams" not in body and "currentHost" not in body for body in bodies)


def test_deep_nesting_is_refused_with_400_and_counted(client, integ):
    integration_id, key = integ
    # 900 levels decode, but storing and hashing them recursed: a 500 under a server's
    # deeper stack. Far less than that is refused now, and counted.
    raw = json.dumps(created())[:-1] + ', "x": ' + "[" * 900 + "]" * 900 + "}"
    response = post(client, key, None, raw=raw)
    assert response.status_code == 400
    assert "deeper than 32 levels" in response.json["error"]
    assert count(InboundEvent) == 0
    [(status, reason, _id)] = refusals(integration_id)
    assert status == 400 and reason.startswith("nested too deep")
    shallow = json.dumps(created())[:-1] + ', "x": ' + "[" * 20 + "]" * 20 + "}"
    assert post(client, key, None, raw=shallow).status_code == 202


def test_events_stored_before_trimming_are_trimmed_once_at_start(app, integ, tmp_path):
    integration_id, key = integ
    old = created()
    old["iparams"] = {"hub_key": key}
    old["data"]["actor"] = {"email": "dana.whitfield@example.test"}
    with db.connection_context():
        # As an earlier version stored it: the whole envelope, not flagged trimmed.
        InboundEvent.create(
            integration=integration_id,
            dedup_key="old-key",
            event_name="onConversationCreate",
            body=json.dumps(old),
            trimmed=False,
        )
    db.initialize(None)
    make_test_app(tmp_path, FRESHCHAT_API_URL="https://{domain}/v2")
    with db.connection_context():
        event = InboundEvent.get()
        assert event.trimmed and event.dedup_key == "old-key"
        assert json.loads(event.body) == trim(old)
    written = _everything_written(app, tmp_path)
    for secret in (key, "dana.whitfield"):
        assert secret.encode() not in written, secret
    with db.connection_context():
        InboundEvent.update(body="changed").execute()
    db.initialize(None)
    make_test_app(tmp_path, FRESHCHAT_API_URL="https://{domain}/v2")
    with db.connection_context():
        assert InboundEvent.get().body == "changed"  # once: trimmed rows are left alone


# --------------------------------------------------------------------------- /api/ errors


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_wrong_method_under_api_is_a_json_405(client, method):
    response = getattr(client, method)(URL)
    assert response.status_code == 405
    assert response.is_json and "not allowed" in response.json["error"]
    assert "POST" in response.headers["Allow"]
    assert "Location" not in response.headers


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v2/freshchat/events", "/api/"])
def test_unknown_path_under_api_is_a_json_404(client, path):
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 404 and response.is_json
        assert response.json == {"error": "no such API endpoint"}


def test_pages_outside_api_still_ask_to_sign_in(app, client):
    with db.connection_context():
        from webapp.models import Admin

        Admin.create(username="a", password_hash="x")
    response = client.get("/no-such-page")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --------------------------------------------------------------------------- floods


def test_unknown_keys_are_limited_by_address_before_any_write(app, client, integ):
    _integration_id, key = integ
    app.config["PUSH_AUTH_FAILURES_PER_MINUTE"] = 5
    bad = {"Authorization": "Bearer fch_000000000000.secret"}
    answers = [client.post(URL, json=created(), headers=bad).status_code for _ in range(40)]
    assert answers == [401] * 5 + [429] * 35
    with db.connection_context():
        rows = list(RefusedRequest.select())
    # Five refusals were counted, in one row; the 35 after them wrote nothing at all.
    assert [(r.status_code, r.reason, r.integration_id, r.count) for r in rows] == [
        (401, "unknown API key", None, 5)
    ]
    flooded = client.post(URL, json=created(), headers=bad)
    assert flooded.json == {"error": "too many failed keys from this address"}
    assert int(flooded.headers["Retry-After"]) >= 1
    # Another address is not held up, and a good key from the flooded one still passes.
    other = client.post(URL, json=created(), headers=bad, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 401
    assert post(client, key, created()).status_code == 202


def test_equal_refusals_share_one_row_per_hour(client, integ):
    integration_id, key = integ
    for _ in range(30):
        assert post(client, key, None, raw=b"{nope").status_code == 400
    with db.connection_context():
        assert RefusedRequest.select().count() == 1
        assert RefusedRequest.get().count == 30
    assert len(refusals(integration_id)) == 30


# --------------------------------------------------------------------------- other accounts


def test_events_of_another_account_are_refused_and_counted(client, integ):
    integration_id, key = integ
    stranger = created("c5")
    stranger["domain"] = "https://rival.freshchat.com"
    response = post(client, key, [created(), stranger])
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json["errors"]] == [(1, "domain")]
    assert count(InboundEvent) == 0 and stats(integration_id) == {}
    # The account id is pinned by the first accepted event, then held to.
    same_host_forms = created("c1")
    same_host_forms["domain"] = "HTTPS://Acme.MyFreshworks.com/"
    assert post(client, key, same_host_forms).status_code == 202
    other_id = resolved("c1")
    other_id["account_id"] = "999"
    refused = post(client, key, other_id)
    assert refused.status_code == 400
    assert [(e["index"], e["field"]) for e in refused.json["errors"]] == [(0, "account_id")]
    assert post(client, key, resolved("c1")).status_code == 202
    assert stats(integration_id) == {("g1", INTERVAL): 1}
    assert [r[:2] for r in refusals(integration_id)] == [
        (400, "another account: [1] domain: rival.freshchat.com is not this integration's account"),
        (400, "another account: [0] account_id: another Freshchat account than earlier events"),
    ]


def test_a_first_batch_naming_two_accounts_pins_nothing(client, app, integ):
    integration_id, key = integ
    second = created("c2")
    second["account_id"] = "2"
    response = post(client, key, [created(), second])
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json["errors"]] == [(1, "account_id")]
    with db.connection_context():
        assert Integration.get_by_id(integration_id).push_account_id is None


# --------------------------------------------------------------------------- unlisted groups

GROUPS_URL = "https://acme.freshchat.com/v2/groups?page=1&items_per_page=50"


def _listing(*ids):
    return {"groups": [{"id": g, "name": f"Queue {g}"} for g in ids], "links": {}}


def _apply_pending_at(app, integration_id, now):
    from webapp.clients import client_factory_for

    factory = client_factory_for(app.config, app.extensions["secret_box"])
    with app.app_context(), db.connection_context():
        return push.apply_pending_for(integration_id, factory, now=now)


def test_a_group_not_yet_listed_waits_for_the_listing(app, admin_client, integ, freshchat):
    integration_id, key = integ
    # The resolution says nothing of the group: it waits with the creation that does.
    response = post(admin_client.client, key, [created("c1", "g9"), resolved("c1", None)])
    assert response.json["applied"] == 0 and response.json["pending"] == 2
    assert stats(integration_id) == {}  # not in Undefined_Queue: g9 is just not listed yet
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "2 waiting for group names" in page
    freshchat.get(GROUPS_URL, json=_listing("g1", "g9"))
    with app.app_context(), db.connection_context():
        assert apply_waiting_for_app(app) == 2
    assert stats(integration_id) == {("g9", INTERVAL): 1}
    page = admin_client.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "waiting for group names" not in page


def test_only_a_complete_listing_without_the_group_sends_it_to_undefined(app, integ, freshchat):
    integration_id, key = integ
    client = app.test_client()
    assert post(client, key, [created("c1", "g9"), resolved("c1", "g9")]).json["pending"] == 2
    now = utcnow()
    # A listing that fails is no proof: the events keep waiting.
    freshchat.get(GROUPS_URL, status=401, json={"code": 401, "message": "Unauthorized"})
    assert _apply_pending_at(app, integration_id, now) == 0
    assert stats(integration_id) == {}
    with db.connection_context():
        assert all("group listing failed" in e.error for e in InboundEvent.select())
    # A complete listing, a minute later, without g9: now it is a deleted group.
    freshchat.get(GROUPS_URL, json=_listing("g1"))
    assert _apply_pending_at(app, integration_id, now + timedelta(minutes=1)) == 2
    assert stats(integration_id) == {(UNDEFINED_QUEUE_KEY, INTERVAL): 1}
    with db.connection_context():
        chat = Chat.get(Chat.conversation_id == "c1")
        assert chat.count_reason == "its group no longer exists in Freshchat"


def test_the_listing_is_fetched_at_most_once_a_minute(app, integ, freshchat):
    integration_id, key = integ
    client = app.test_client()
    assert post(client, key, created("c1", "g9")).json["pending"] == 1
    now = utcnow()
    listing = freshchat.get(GROUPS_URL, json=_listing("g1"))
    assert _apply_pending_at(app, integration_id, now) == 1  # listed without g9: through
    assert listing.call_count == 1
    assert post(client, key, created("c2", "g8")).json["pending"] == 1
    # Another run (another command, another process) within the minute does not ask again.
    assert _apply_pending_at(app, integration_id, now + timedelta(seconds=59)) == 0
    assert listing.call_count == 1
    with db.connection_context():
        assert InboundEvent.get(InboundEvent.applied_at.is_null()).waiting_for == "group names"
    assert _apply_pending_at(app, integration_id, now + timedelta(seconds=60)) == 1
    assert listing.call_count == 2


def test_a_sync_listing_after_the_event_also_decides(app, integ):
    integration_id, key = integ
    client = app.test_client()
    assert post(client, key, [created("c1", "g9"), resolved("c1", "g9")]).json["pending"] == 2
    with db.connection_context():
        chats.refresh_groups(integration_id, [{"id": "g1"}, {"id": "g9", "name": "New"}])
    with app.app_context(), db.connection_context():
        assert push.apply_pending_for(integration_id, None) == 2  # no Freshchat call needed
    assert stats(integration_id) == {("g9", INTERVAL): 1}


def test_another_source_stores_through_the_same_function(app, integ, monkeypatch):
    """A second source (native webhooks) stores through push.store and reads its own
    pending bodies back through the reader it registered."""
    from webapp.changes import ChatChange
    from webapp.push_body import IncomingEvent

    integration_id, _key = integ
    monkeypatch.setattr(push, "_READERS", {})

    def read(body):
        at = datetime.fromisoformat(body["at"])
        return [ChatChange(body["id"], at, created_time=at, resolved_time=at, group_id="g1")]

    push.register_reader("webhook:", read)
    body = {"id": "w1", "at": "2026-11-02T09:01:00"}
    event = IncomingEvent(body, "w1-key", "webhook:resolution", json.dumps(body), tuple(read(body)))
    with db.connection_context():
        stored = push.store(integration_id, [event], apply=False)
    assert len(stored.new) == 1 and stored.applied == 0
    with app.app_context(), db.connection_context():
        assert push.apply_pending_for(integration_id, None) == 1
    assert stats(integration_id) == {("g1", INTERVAL): 1}


def test_the_fdk_shaped_fixtures_through_the_endpoint(app, client):
    from pathlib import Path

    folder = Path(__file__).parent.parent / "fixtures" / "events"
    billing = "4f3e2d1c-group-billing"
    integration_id, key = make_integration(app, groups=(billing,))

    def send(name):
        envelope = json.loads((folder / name).read_text())
        envelope["iparams"]["api_key"] = key  # as an installed app would hold it
        return post(client, key, envelope)

    assert send("on_conversation_create.json").json["applied"] == 1
    assert send("on_message_create.json").json["applied"] == 1
    assert send("on_conversation_update_resolve.json").json["applied"] == 1
    assert stats(integration_id) == {(billing, INTERVAL): 1}
    assert send("on_conversation_update_reopen_custom.json").json["applied"] == 1
    with db.connection_context():
        chat = Chat.get(Chat.conversation_id.endswith("0001"))
        assert chat.status == "waiting on customer" and chat.interval_start == INTERVAL
        assert Chat.get(Chat.conversation_id.endswith("0003")).created_time is not None
        assert not any(key in e.body or "Dana" in e.body for e in InboundEvent.select())
