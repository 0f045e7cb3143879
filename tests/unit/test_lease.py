"""The sync lease: one UPDATE decides which process may sync an integration."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from webapp import sync
from webapp.models import Integration, SyncRun
from webapp.sync import LEASE_TIME, SyncBusy, acquire_lease, release_lease, renew_lease
from webapp.timeutil import utcnow

NOW = datetime(2026, 3, 2, 10, 0, 0)


@pytest.fixture
def integration_id(database) -> int:
    return Integration.create(
        name="Main",
        name_key="main",
        domain="acme.freshchat.com",
        api_key_encrypted="not-used",
        api_key_last4="1234",
    ).id


def lease_of(integration_id: int) -> tuple[str | None, datetime | None]:
    row = Integration.get_by_id(integration_id)
    return row.lease_owner, row.lease_until


def test_only_one_owner_wins_until_the_lease_expires(integration_id):
    assert acquire_lease(integration_id, "worker-a", now=NOW)
    assert lease_of(integration_id) == ("worker-a", NOW + LEASE_TIME)
    # Another process, and the same owner again, are both refused while it is held.
    assert not acquire_lease(integration_id, "worker-b", now=NOW + timedelta(minutes=1))
    assert not acquire_lease(integration_id, "worker-a", now=NOW + LEASE_TIME)
    assert lease_of(integration_id)[0] == "worker-a"
    # A crashed holder never releases: once expired, someone else may take over.
    later = NOW + LEASE_TIME + timedelta(milliseconds=1)
    assert acquire_lease(integration_id, "worker-b", now=later)
    assert lease_of(integration_id) == ("worker-b", later + LEASE_TIME)


def test_release_by_owner_frees_it_and_a_stranger_cannot_release(integration_id):
    assert acquire_lease(integration_id, "worker-a", now=NOW)
    release_lease(integration_id, "worker-b")
    assert lease_of(integration_id)[0] == "worker-a"
    assert not acquire_lease(integration_id, "worker-b", now=NOW)
    release_lease(integration_id, "worker-a")
    assert lease_of(integration_id) == (None, None)
    assert acquire_lease(integration_id, "worker-b", now=NOW)


def test_expired_owner_cannot_release_the_new_owners_lease(integration_id):
    assert acquire_lease(integration_id, "slow", now=NOW)
    assert acquire_lease(integration_id, "fresh", now=NOW + LEASE_TIME * 2)
    release_lease(integration_id, "slow")  # the slow run finally ends
    assert lease_of(integration_id)[0] == "fresh"


def test_renewal_extends_only_the_owners_lease(integration_id, monkeypatch):
    assert acquire_lease(integration_id, "worker-a", now=NOW)
    monkeypatch.setattr(sync, "utcnow", lambda: NOW + timedelta(minutes=15))
    renew_lease(integration_id, "worker-a")
    renewed_until = NOW + timedelta(minutes=15) + LEASE_TIME
    assert lease_of(integration_id) == ("worker-a", renewed_until)
    # Past the original expiry the renewed lease still holds.
    assert not acquire_lease(
        integration_id, "worker-b", now=NOW + LEASE_TIME + timedelta(minutes=5)
    )
    renew_lease(integration_id, "worker-b")  # not the owner: no effect
    assert lease_of(integration_id) == ("worker-a", renewed_until)


def test_deleted_integrations_cannot_be_leased(integration_id):
    Integration.update(deleted_at=NOW).where(Integration.id == integration_id).execute()
    assert not acquire_lease(integration_id, "worker-a", now=NOW)
    assert not acquire_lease(10_000, "worker-a", now=NOW)  # unknown id


def test_run_sync_raises_sync_busy_and_touches_nothing_while_leased(integration_id):
    assert acquire_lease(integration_id, "other-process", now=utcnow())

    def no_client(_integration):
        raise AssertionError("a busy sync must not talk to Freshchat")

    with pytest.raises(SyncBusy):
        sync.run_sync(integration_id, no_client)
    assert SyncRun.select().count() == 0
    assert lease_of(integration_id)[0] == "other-process"  # not released by the loser


def test_run_sync_releases_its_lease_even_when_the_sync_fails(integration_id):
    def broken_client(_integration):
        raise RuntimeError("boom")

    outcome = sync.run_sync(integration_id, broken_client, now=utcnow())
    assert not outcome.ok and "Internal error" in outcome.message
    assert lease_of(integration_id) == (None, None)
    assert acquire_lease(integration_id, "next", now=utcnow())
