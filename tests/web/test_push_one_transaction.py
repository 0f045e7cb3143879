"""A pushed request's rate-limit count, dedup, insert and apply share one write transaction
(bench/README.md, push on both engines): the answers stay what they were when the limit was
checked in a transaction of its own, before anything else."""

from __future__ import annotations

import pytest

from tests.web.test_push import count, created, make_integration, post, refusals, resolved
from webapp import push_insert
from webapp.extensions import db
from webapp.models import InboundEvent, Integration


@pytest.fixture
def integ(app):
    return make_integration(app)


def test_refused_requests_count_against_the_limit_and_past_it_get_429(app, client, integ):
    integration_id, key = integ
    app.config["PUSH_RATE_LIMIT_PER_MINUTE"] = 3
    assert post(client, key, created("c1"), content_type="text/plain").status_code == 415
    assert post(client, key, None, raw="{not json").status_code == 400
    assert post(client, key, created("c2")).status_code == 202  # the third of three
    # Past the limit, a request that would be refused for its body is answered 429 first,
    # as when the limit was the first check; a good one is 429 too and stores nothing.
    bad = post(client, key, created("c3"), content_type="text/plain")
    assert bad.status_code == 429 and int(bad.headers["Retry-After"]) >= 1
    good = post(client, key, created("c4"))
    assert good.status_code == 429 and good.json["retry_after"] >= 1
    assert count(InboundEvent, InboundEvent.integration == integration_id) == 1
    assert [status for status, _reason, _id in refusals(integration_id)] == [415, 400, 429, 429]


def test_a_request_over_the_limit_pins_no_account(app, client, integ):
    integration_id, key = integ
    app.config["PUSH_RATE_LIMIT_PER_MINUTE"] = 1
    first = created("c1")
    del first["account_id"]
    assert post(client, key, first).status_code == 202
    assert post(client, key, created("c2", account_id="777")).status_code == 429
    with db.connection_context():
        assert Integration.get_by_id(integration_id).push_account_id is None
    assert count(InboundEvent, InboundEvent.integration == integration_id) == 1


def test_duplicates_within_and_across_requests_are_stored_once(client, integ):
    integration_id, key = integ
    answer = post(client, key, [created("c1"), created("c1"), resolved("c1")])
    assert answer.status_code == 202
    assert (answer.json["stored"], answer.json["duplicates"]) == (2, 1)
    again = post(client, key, [resolved("c1"), created("c2")])
    assert (again.json["stored"], again.json["duplicates"], again.json["applied"]) == (1, 1, 1)
    assert count(InboundEvent, InboundEvent.integration == integration_id) == 3


def test_a_batch_larger_than_one_insert_statement_is_stored_whole(app, client, integ):
    integration_id, key = integ
    size = push_insert.INSERT_ROWS_MAX * 2 + 7
    events = [created(f"c{n}") for n in range(size)]
    answer = post(client, key, events[:10])
    assert answer.json["stored"] == 10
    answer = post(client, key, events)
    assert answer.status_code == 202
    assert (answer.json["stored"], answer.json["duplicates"]) == (size - 10, 10)
    assert answer.json["applied"] == size - 10
    with db.connection_context():
        stored = InboundEvent.select().where(InboundEvent.integration == integration_id)
        assert stored.count() == size
        assert all(event.applied_at is not None for event in stored)
