"""The integration page reads its data in its view (``webapp.integration_page``), a fixed
number of queries whatever the data, and its templates and their globals read nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import add_integration
from tests.html import one, parse, text
from tests.queries import recorded_statements
from webapp.extensions import db
from webapp.models import Group, InboundEvent, IntervalStat, RefusedRequest, SyncRun
from webapp.templating import when
from webapp.timeutil import floor_interval, now_from

# Two for the sign-in check, then the page: integration, key, sync history, statistics
# (4, and one index seek per queue with contacts, see ``stats.queue_catalog``), overlap
# (2), push figures (7 once events arrived), real-time figures (5), the data access check
# (1: kept in the database so every server process shows it). Measured with the two
# queues seeded below; a new query on this page must be a decision, made here.
PAGE_QUERIES = 26
QUEUES = 2


def _seed(app, integration_id: int, count: int) -> None:
    """``count`` of what the page lists (runs, events, refusals) over ``QUEUES`` queues."""
    with app.app_context(), db.connection_context():
        now = now_from(app.config)
        start = floor_interval(now) - timedelta(hours=1)
        for number in range(count):
            SyncRun.create(
                integration=integration_id,
                trigger="schedule",
                started_at=now - timedelta(minutes=20 + number),
                finished_at=now - timedelta(minutes=19 + number),
                outcome="ok",
            )
            queue = number % QUEUES
            if number < QUEUES:
                Group.create(
                    integration=integration_id, group_id=f"g{queue}", name=f"Queue {queue}"
                )
            IntervalStat.create(
                integration=integration_id,
                queue_key=f"g{queue}",
                interval_start=start - timedelta(minutes=15 * number),
                contacts=number + 1,
            )
            InboundEvent.create(
                integration=integration_id,
                dedup_key=f"event-{number}",
                event_name="onConversationCreate",
                received_at=now - timedelta(minutes=number),
                body="{}",
            )
            RefusedRequest.create(
                integration=integration_id, status_code=400, reason=f"bad {number}", count=1
            )


def _page_statements(admin_client, integration_id: int, query: str = ""):  # type: ignore[no-untyped-def]
    with recorded_statements() as statements:
        response = admin_client.get(f"/integrations/{integration_id}{query}")
    assert response.status_code == 200
    return statements


def test_the_page_runs_a_fixed_small_number_of_queries_whatever_it_lists(app, admin_client):
    few = add_integration(app, "Few", "few.freshchat.com", "k" * 32)
    many = add_integration(app, "Many", "many.freshchat.com", "k" * 32)
    _seed(app, few, QUEUES)
    _seed(app, many, 12)

    on_few = _page_statements(admin_client, few)
    on_many = _page_statements(admin_client, many)

    assert len(on_many) == len(on_few)
    assert len(on_many) <= PAGE_QUERIES, "\n".join(s.sql[:100] for s in on_many)
    page = parse(admin_client.get(f"/integrations/{many}"))
    # The figures are really shown, from those queries.
    assert len(page.select("table.sync-history tbody tr")) == 10
    assert len(page.select("#stats-queues tr[data-queue]")) == QUEUES
    assert text(one(page, "#push-refused-total")) == "12"


@pytest.mark.parametrize(
    "path",
    [
        "/integrations/{id}",
        "/integrations/{id}?span=day&queue=Queue+0",
        "/integrations/{id}/stats",
        "/integrations",
        "/account",
    ],
)
def test_no_template_reads_the_database(app, admin_client, path):
    """Globals and filters only format: every query runs in the view, before rendering."""
    integration_id = add_integration(app, "Support", "acme.freshchat.com", "k" * 32)
    _seed(app, integration_id, 3)
    with recorded_statements() as statements:
        response = admin_client.get(path.format(id=integration_id))
    assert response.status_code == 200
    assert statements, "the spy saw no query at all"
    assert [s for s in statements if s.template] == []


@pytest.mark.parametrize(
    "path",
    ["/integrations/{id}/sync", "/integrations/{id}/status-badge", "/integrations/{id}/stats"],
)
def test_no_partial_template_reads_the_database(app, admin_client, path):
    integration_id = add_integration(app, "Support", "acme.freshchat.com", "k" * 32)
    _seed(app, integration_id, 3)
    with recorded_statements() as statements:
        response = admin_client.get(path.format(id=integration_id), htmx=True)
    assert response.status_code == 200
    assert [s for s in statements if s.template] == []


def test_a_deleted_integrations_page_reads_no_push_or_realtime_figures(app, admin_client):
    live = add_integration(app, "Live", "live.freshchat.com", "k" * 32)
    gone = add_integration(
        app, "Gone", "gone.freshchat.com", "k" * 32, deleted_at=datetime(2026, 1, 1)
    )
    on_live = _page_statements(admin_client, live)
    on_gone = _page_statements(admin_client, gone)
    assert not [s for s in on_gone if "inbound_event" in s.sql or "refused_request" in s.sql]
    assert len(on_gone) < len(on_live)


def test_an_unknown_zone_shows_utc_and_says_why_instead_of_failing(app, admin_client):
    """A zone removed from the server's tz database (or never there) must not break pages."""
    integration_id = add_integration(
        app,
        "Support",
        "acme.freshchat.com",
        "k" * 32,
        display_timezone="Mars/Olympus_Mons",
        last_sync_finished_at=datetime(2026, 3, 2, 9, 30),
        last_sync_outcome="ok",
    )
    _seed(app, integration_id, 2)

    response = admin_client.get(f"/integrations/{integration_id}")

    assert response.status_code == 200
    page = parse(response)
    head = text(one(page, ".page-head p.muted"))
    assert head.endswith(
        "times shown in UTC (the chosen zone “Mars/Olympus_Mons” is not known on this server)"
    )
    assert "2026-03-02 09:30 UTC" in text(one(page, "#sync-panel"))
    # The sync history's header names the zone its times are in, not the unknown one.
    assert text(one(page, "#sync-panel thead th:first-child")) == "Started (UTC)"
    assert "is not known on this server" in text(one(page, "#stats-panel"))
    assert admin_client.get("/integrations").status_code == 200


def test_a_known_zone_gets_no_note(app, admin_client):
    integration_id = add_integration(
        app, "Support", "acme.freshchat.com", "k" * 32, display_timezone="Europe/Paris"
    )
    page = parse(admin_client.get(f"/integrations/{integration_id}"))
    assert text(one(page, ".page-head p.muted")).endswith("times shown in Europe/Paris")


def test_when_falls_back_to_utc_for_a_zone_it_does_not_know():
    moment = datetime(2026, 1, 15, 10, 0)
    assert when(moment, "Europe/Paris") == "2026-01-15 11:00 CET"
    assert when(moment, "Mars/Olympus_Mons") == "2026-01-15 10:00 UTC"
    assert when(moment, "not a zone/../..") == "2026-01-15 10:00 UTC"
    assert when(moment, None) == "2026-01-15 10:00 UTC"
    assert when(None, "Mars/Olympus_Mons") == "never"


def test_templating_imports_no_view():
    import ast
    import inspect

    from webapp import templating

    tree = ast.parse(inspect.getsource(templating))
    imported = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert imported and not [name for name in imported if name.startswith("webapp.views")]
