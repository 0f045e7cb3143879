"""Queues, contacts per interval, explanation and export: pages, partials and the API."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import pytest
import responses

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, Browserless, csrf_token_from, make_test_app
from tests.html import one, parse, text
from tests.web.test_integrations_web import ACCOUNT, CONFIG_URL
from webapp import integrations
from webapp.changes import ChatChange
from webapp.chats import apply_changes, refresh_groups
from webapp.counting import REASON_GROUP, REASON_SPAM
from webapp.database import open_database
from webapp.export_checks import latest_end
from webapp.extensions import db
from webapp.models import Admin, Integration
from webapp.security import hash_password
from webapp.timeutil import iso_z, utcnow

GROUPS = [
    {"id": "g-support", "name": "Customer Support"},
    {"id": "g-billing", "name": "Billing"},
    {"id": "g-sales", "name": "Sales"},  # listed by Freshchat, no contact yet
]
MONDAY = datetime(2026, 11, 16, 8, 5)  # 09:05 in Berlin (CET), interval 08:00Z
BUSY = datetime(2026, 11, 18, 10, 1)  # 25 chats: more than one page of explanation
# The "Partial" integration's imported history starts here: Wed 11:00 in Berlin (CET).
IMPORT_START = datetime(2026, 11, 18, 10, 0)


def chat(cid: str, created: datetime, group: str | None, *, spam: bool = False) -> list:
    later = created + timedelta(hours=1)
    return [
        ChatChange(cid, at=created, created_time=created, status="new", group_id=group),
        ChatChange(cid, at=later, resolved_time=later, status="resolved", spam=spam),
    ]


def seed(
    name: str = "Acme", tz: str = "Europe/Berlin", counted_from: datetime | None = None
) -> int:
    """One integration with a known set of contacts (see the constants above).

    With ``counted_from`` (the start of the imported history, as the first sync sets it)
    the chats that arrived earlier are stored but not counted.
    """
    with db.connection_context():
        integration = Integration.create(
            name=name,
            name_key=name.lower(),
            domain=f"{name.lower()}.freshchat.com",
            api_key_encrypted="x",
            api_key_last4="abcd",
            display_timezone=tz,
            counted_from=counted_from,
        )
        refresh_groups(integration.id, GROUPS)
        changes = []
        for n in range(3):
            changes += chat(f"sup-{n}", MONDAY + timedelta(minutes=n), "g-support")
        changes += chat("bill-0", MONDAY, "g-billing")
        changes += chat("spam-0", MONDAY, "g-support", spam=True)
        changes += chat("tue-0", datetime(2026, 11, 17, 12, 20), "g-support")
        changes += chat("tue-1", datetime(2026, 11, 17, 12, 31), "g-billing")
        for n in range(25):
            changes += chat(f"busy-{n:02d}", BUSY + timedelta(seconds=n), "g-support")
        # Daylight-saving days in Berlin, 01:30 UTC on both (03:30 CEST / 02:30 CET).
        changes += chat("dst-spring", datetime(2026, 3, 29, 1, 30), "g-support")
        changes += chat("dst-fall", datetime(2026, 10, 25, 1, 30), "g-support")
        apply_changes(integration.id, changes)
        return integration.id


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One seeded app and one signed-in client for the read-only tests of this module.

    Signing in costs two Argon2 computations; the pages and the API only read, so they
    share one database instead of paying that for every test.
    """
    tmp = tmp_path_factory.mktemp("stats")
    application = make_test_app(tmp)
    integration_id = seed()
    partial_id = seed("Partial", counted_from=IMPORT_START)
    with db.connection_context():
        Admin.create(username=ADMIN_USER, password_hash=hash_password(ADMIN_PASSWORD))
    client = application.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    yield application.config["DATABASE_URL"], Browserless(client), integration_id, partial_id
    db.initialize(None)


@pytest.fixture
def reader(shared):
    """The shared signed-in client, with the shared database bound again (other tests of
    this module open their own)."""
    url, helper, _integration_id, _partial_id = shared
    open_database(url)
    return helper


@pytest.fixture
def acme(shared, reader) -> int:
    return shared[2]


@pytest.fixture
def partial(shared, reader) -> int:
    """Acme's chats, imported from ``IMPORT_START`` on (the chats before are not counted)."""
    return shared[3]


def body(response) -> str:
    return response.get_data(as_text=True)


def panel_of(html: str) -> str:
    """The stats panel element, from a page or a partial."""
    start = html.index('<div id="stats-panel"')
    end = html.index("</form>\n</div>", start) + len("</form>\n</div>")
    return html[start:end]


def table_counts(html: str) -> dict[str, str]:
    """interval_start (UTC) → the count cell's text, from the interval table."""
    rows = re.findall(
        r'<tr data-interval="([^"]+)"><td>[^<]*</td><td class="num">(?:<a [^>]*>)?(\d+)', html
    )
    return dict(rows)


def queue_counts(html: str) -> dict[str, int]:
    rows = re.findall(
        r'<tr data-queue="([^"]+)"><td><a [^>]*>[^<]*</a>[^/]*?</td><td class="num">(\d+)</td>',
        html,
    )
    return {name: int(count) for name, count in rows}


def attr(html: str, name: str) -> str:
    match = re.search(rf'id="stats-panel"[^>]*?{name}="([^"]*)"', html, re.S)
    assert match, name
    return match.group(1)


# --------------------------------------------------------------------------- the page


def test_integration_page_lists_queues_with_undefined_apart(reader, acme):
    html = body(reader.get(f"/integrations/{acme}?date=2026-11-16"))
    assert queue_counts(html) == {
        "Billing": 2,
        "Customer Support": 29,
        "Sales": 0,  # a group Freshchat lists, without contacts yet
        "Undefined_Queue": 1,
    }
    undefined = html[html.index('id="stats-undefined"') :]
    undefined = undefined[: undefined.index("</p>")]
    assert "Undefined_Queue" in undefined
    assert "spam" in undefined and "deleted" in undefined and "without a group" in undefined
    # Named queues are listed before (and outside) the Undefined_Queue block.
    assert html.index('data-queue="Sales"') < html.index('id="stats-undefined"')
    assert "Week 47 of 2026" in html and "Times in Europe/Berlin" in html


def test_full_page_and_htmx_partial_render_the_same_state(reader, acme):
    query = "span=day&date=2026-11-16&queue=Customer+Support"
    page = reader.get(f"/integrations/{acme}/stats?{query}")
    partial = reader.get(f"/integrations/{acme}/stats?{query}", htmx=True)
    assert page.status_code == partial.status_code == 200
    assert "<html" in body(page) and "<html" not in body(partial)
    assert panel_of(body(page)) == panel_of(body(partial))
    assert "HX-Request" in partial.headers.get("Vary", "")
    assert partial.headers["HX-Push-Url"] == f"/integrations/{acme}/stats?{query}"


def test_week_links_use_htmx_and_push_a_bookmarkable_url(reader, acme):
    html = body(reader.get(f"/integrations/{acme}/stats?span=week&date=2026-11-18"))
    # A week is named by its Monday, whatever day was asked for.
    assert attr(html, "data-date") == "2026-11-16"
    previous = re.search(r'<a class="button secondary"([^>]*)>← Previous week</a>', html).group(1)
    assert f'hx-get="/integrations/{acme}/stats?span=week&amp;date=2026-11-09"' in previous
    assert f'hx-push-url="/integrations/{acme}/stats?span=week&amp;date=2026-11-09"' in previous
    assert 'hx-target="#stats-panel"' in previous
    # The pushed URL, reloaded as a full page, shows that week.
    again = body(reader.get(f"/integrations/{acme}/stats?span=week&date=2026-11-09"))
    assert attr(again, "data-date") == "2026-11-09"


def test_links_on_the_integration_page_push_the_integration_page(reader, acme):
    detail = f"/integrations/{acme}"
    html = body(reader.get(f"{detail}?span=week&date=2026-11-16"))
    assert f'hx-push-url="{detail}?span=week&amp;date=2026-11-09"' in html
    assert f'hx-get="/integrations/{acme}/stats?span=week&amp;date=2026-11-09"' in html
    # The partial fetched from there keeps pushing the integration page's URL.
    partial = reader.get(
        f"/integrations/{acme}/stats?span=day&date=2026-11-17",
        htmx=True,
        headers={"HX-Current-URL": f"http://localhost{detail}?span=week&date=2026-11-16"},
    )
    assert partial.headers["HX-Push-Url"] == f"{detail}?span=day&date=2026-11-17"
    assert f'hx-push-url="{detail}?span=day&amp;date=2026-11-16"' in body(partial)
    # A history-restore request gets the whole page, not a fragment.
    restore = reader.get(
        f"/integrations/{acme}/stats?span=day&date=2026-11-17",
        htmx=True,
        headers={"HX-History-Restore-Request": "true"},
    )
    assert "<html" in body(restore)


def test_panel_refreshes_itself_after_a_sync_without_pushing_history(reader, acme):
    html = body(reader.get(f"/integrations/{acme}/stats?span=day&date=2026-11-16"))
    assert re.search(r'id="stats-panel"[^>]*hx-trigger="sync-changed from:body"', html)
    refresh = reader.get(
        f"/integrations/{acme}/stats?span=day&date=2026-11-16",
        htmx=True,
        headers={"HX-Trigger": "stats-panel"},
    )
    assert refresh.status_code == 200 and "HX-Push-Url" not in refresh.headers


def test_day_table_counts_per_queue_and_all_queues(reader, acme):
    url = f"/integrations/{acme}/stats?span=day&date=2026-11-16"
    everything = table_counts(body(reader.get(url)))
    assert len(everything) == 96
    assert everything["2026-11-16T08:00:00Z"] == "5"  # 3 support + 1 billing + 1 spam
    assert everything["2026-11-16T07:45:00Z"] == "0"
    support = table_counts(body(reader.get(url + "&queue=Customer%20Support")))
    assert support["2026-11-16T08:00:00Z"] == "3"
    undefined = table_counts(body(reader.get(url + "&queue=Undefined_Queue")))
    assert undefined["2026-11-16T08:00:00Z"] == "1"
    # The first row is local midnight (23:00 UTC the day before).
    assert next(iter(everything)) == "2026-11-15T23:00:00Z"


def test_chart_is_inline_svg_with_one_slot_per_interval(reader, acme):
    html = body(reader.get(f"/integrations/{acme}/stats?span=week&date=2026-11-16"))
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'data-bars="672"' in svg
    assert "<script" not in html.split("</head>")[1]  # no chart library on the page
    assert "cdn" not in html.lower()
    # Bars with contacts link to their explanation.
    assert 'hx-target="#stats-explain"' in svg
    assert "interval=2026-11-16T08%3A00%3A00Z" in svg
    assert svg.count("<rect") == 4  # intervals with contacts this week


@pytest.mark.parametrize(
    ("day", "intervals", "first_label"),
    [("2026-03-29", 92, "00:00 CET"), ("2026-10-25", 100, "00:00 CEST"), ("2026-11-16", 96, None)],
)
def test_daylight_saving_days_in_berlin(reader, acme, day, intervals, first_label):
    html = body(reader.get(f"/integrations/{acme}/stats?span=day&date={day}"))
    assert attr(html, "data-intervals") == str(intervals)
    assert len(table_counts(html)) == intervals
    assert f'data-bars="{intervals}"' in html
    assert f"{intervals} intervals of 15 minutes" in html
    if first_label:
        assert first_label in html


def test_dst_contacts_land_in_the_right_local_interval(reader, acme):
    spring = body(reader.get(f"/integrations/{acme}/stats?span=day&date=2026-03-29"))
    assert table_counts(spring)["2026-03-29T01:30:00Z"] == "1"
    assert re.search(r'data-interval="2026-03-29T01:30:00Z"><td>03:30 CEST', spring)
    fall = body(reader.get(f"/integrations/{acme}/stats?span=day&date=2026-10-25"))
    # 01:30 UTC is the second 02:30 of that night (CET).
    assert re.search(r'data-interval="2026-10-25T01:30:00Z"><td>02:30 CET<', fall)
    assert re.search(r'data-interval="2026-10-25T00:30:00Z"><td>02:30 CEST<', fall)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date=garbage", "is not a date"),
        ("day=garbage", "is not a date: use the form YYYY-MM-DD for “day”"),
        ("date=2026-02-30", "is not a date"),
        ("date=1800-01-01", "must be between"),
        ("span=month", "must be “day” or “week”"),
        ("queue=Nope", "no queue named “Nope”"),
        ("queue=customer+support", "spelled exactly as in Freshchat"),
    ],
)
def test_bad_query_strings_get_a_clear_message(reader, acme, query, message):
    response = reader.get(f"/integrations/{acme}/stats?{query}")
    assert response.status_code == 400
    html = body(response)
    assert message in html
    assert 'role="alert"' in html and 'id="stats-panel"' in html  # still a working panel
    partial = reader.get(f"/integrations/{acme}/stats?{query}", htmx=True)
    assert partial.status_code == 400 and message in body(partial)
    # The integration page shows the same message instead of failing.
    detail = reader.get(f"/integrations/{acme}?{query}")
    assert detail.status_code == 200 and message in body(detail)


def test_future_and_empty_ranges_say_so(reader, acme):
    future = (utcnow() + timedelta(days=30)).date().isoformat()
    html = body(reader.get(f"/integrations/{acme}/stats?span=week&date={future}"))
    assert "is in the future" in html
    assert re.search(r'aria-disabled="true">Next week →', html)
    empty = body(reader.get(f"/integrations/{acme}/stats?span=week&date=2025-01-06"))
    assert "No contacts in any queue this week." in empty
    assert "No contacts in this range" in empty  # in the chart itself
    # Next is a link while the next week has begun.
    assert re.search(r'<a class="button secondary"[^>]*>Next week →</a>', empty)


def test_day_is_accepted_for_date(reader, acme):
    html = body(reader.get(f"/integrations/{acme}/stats?span=day&day=2026-11-17"))
    assert attr(html, "data-date") == "2026-11-17"
    assert f'hx-push-url="/integrations/{acme}/stats?span=day&amp;date=2026-11-18"' in html


def test_default_view_is_this_week_in_the_display_zone(reader, acme):
    html = body(reader.get(f"/integrations/{acme}/stats"))
    assert attr(html, "data-span") == "week"
    monday = datetime.fromisoformat(attr(html, "data-date"))
    assert monday.weekday() == 0 and 0 <= (utcnow() - monday).days <= 7


def test_stats_pages_need_login(client, app):
    acme = seed()
    with db.connection_context():
        Admin.create(username="someone", password_hash="x")
    for path in (
        f"/integrations/{acme}/stats",
        f"/integrations/{acme}/stats/explain?interval=2026-11-16T08:00:00Z",
        f"/integrations/{acme}/stats/export?from=2026-11-16&to=2026-11-16",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_integration_is_404(reader, acme):
    assert reader.get("/integrations/999/stats").status_code == 404
    assert reader.get("/integrations/999/stats/export?from=x").status_code == 404


def test_counts_of_one_are_singular(reader, acme):
    html = body(reader.get(f"/integrations/{acme}/stats?span=day&date=2026-11-17&queue=Billing"))
    assert "Billing: 1 contact</h3>" in html
    assert "Tuesday 2026-11-17 · 1 contact</th>" in html
    assert "2026-11-17 13:30 CET: 1 contact" in html  # the bar's tooltip
    explained = body(
        reader.get(f"/integrations/{acme}/stats/explain?interval=2026-11-17T12:30:00Z")
    )
    assert "1 contact in all queues" in explained
    for page in (html, explained):
        assert not re.search(r"\b1 (contacts|intervals|chats)\b", page)


# --------------------------------------------------------------------------- not measured


def absent_rows(html: str) -> dict[str, str]:
    """interval_start (UTC) → why it has no count (not-imported, not-yet), from the table."""
    return dict(re.findall(r'<tr data-interval="([^"]+)" class="absent absent-([a-z-]+)">', html))


def chart_of(html: str) -> str:
    return html[html.index("<svg") : html.index("</svg>")]


def test_intervals_before_the_imported_history_are_not_shown_as_zero(reader, partial):
    html = body(reader.get(f"/integrations/{partial}/stats?span=week&date=2026-11-16"))
    counts, absent = table_counts(html), absent_rows(html)
    # Mon 00:00 CET to Wed 11:00 CET (10:00Z) was never imported: 59 hours of "—".
    assert set(absent.values()) == {"not-imported"} and len(absent) == 59 * 4
    assert max(absent) == "2026-11-18T09:45:00Z" and "2026-11-18T09:45:00Z" not in counts
    assert counts["2026-11-18T10:00:00Z"] == "25" and counts["2026-11-18T10:15:00Z"] == "0"
    assert len(counts) + len(absent) == 672
    assert (
        "History imported from Wed 2026-11-18 11:00 CET; earlier intervals were not imported"
        in html
    )
    assert "No contacts in any queue" not in html
    # Days before the import say "—" rather than a total of 0; the partly imported day counts.
    assert "Monday 2026-11-16 · —" in html and "Wednesday 2026-11-18 · 25 contacts" in html
    assert "Thursday 2026-11-19 · 0 contacts" in html
    # The chart draws a hatched band where nothing was imported, and no bar in it.
    svg = chart_of(html)
    band = re.search(r'<rect class="band band-not-imported"[^>]*>', svg).group(0)
    assert 'data-first="0"' in band and f'data-count="{59 * 4}"' in band
    assert 'fill="url(#stats-chart-' in band
    assert 'data-absent="236"' in svg and svg.count('class="bar-rect"') == 1
    assert "Hatched, “—” in the table: before the imported history" in html
    # The export says so too: a file lists contacts only, so a gap would look like zeros.
    assert "before the start of the imported history (Wed 2026-11-18 11:00 CET)" in html
    # Queue totals are what was counted (the chats of Monday and Tuesday are not).
    assert queue_counts(html) == {
        "Billing": 0,
        "Customer Support": 25,
        "Sales": 0,
        "Undefined_Queue": 0,
    }


def test_a_week_wholly_before_the_import_has_no_counts_at_all(reader, partial):
    response = reader.get(f"/integrations/{partial}/stats?span=week&date=2026-11-09")
    html = body(response)
    assert response.status_code == 200
    assert table_counts(html) == {} and len(absent_rows(html)) == 672
    assert "History imported from Wed 2026-11-18 11:00 CET" in html
    assert "so this week has no counts" in html
    assert "No contacts in any queue" not in html and "No contacts in this range" not in html
    # No total can be read as a measured zero either.
    assert queue_counts(html) == {}
    assert re.search(r'<tr data-queue="Billing">.*?<td class="num absent">—</td>', html)
    assert "All queues: —" in html
    assert chart_of(html).count('class="band band-not-imported"') == 1
    assert ">Not imported</text>" in chart_of(html)
    # Going further back stays possible: the planner may want to look.
    assert re.search(r'<a class="button secondary"[^>]*>← Previous week</a>', html)


def test_day_view_marks_the_hours_before_the_import(reader, partial):
    html = body(reader.get(f"/integrations/{partial}?span=day&date=2026-11-18"))
    absent = absent_rows(html)
    assert len(absent) == 11 * 4  # 00:00 to 11:00 CET
    assert re.search(
        r'data-interval="2026-11-17T23:00:00Z" class="absent absent-not-imported"><td>00:00 CET'
        r'</td><td class="num" title="Before the imported history[^"]*">—</td>',
        html,
    )


def test_without_an_import_start_past_intervals_are_real_zeros(reader, acme):
    """Before the first sync nothing says where history starts: zeros stay zeros."""
    html = body(reader.get(f"/integrations/{acme}/stats?span=week&date=2025-01-06"))
    assert absent_rows(html) == {} and len(table_counts(html)) == 672
    assert "History imported" not in html and 'class="band' not in html


def test_intervals_later_than_now_are_not_zeros(reader, acme):
    before = utcnow()
    today = before.date().isoformat()
    html = body(reader.get(f"/integrations/{acme}/stats?span=day&date={today}"))
    after = utcnow()
    counts, absent = table_counts(html), absent_rows(html)
    for iso in counts:
        assert datetime.fromisoformat(iso[:-1]) <= after, iso
    for iso, kind in absent.items():
        assert kind == "not-yet" and datetime.fromisoformat(iso[:-1]) > before, iso
    assert len(counts) + len(absent) == int(attr(html, "data-intervals"))
    if absent:  # the rest of today, when today is not over in Berlin
        assert "band band-not-yet" in chart_of(html)
        assert "Shaded, “—” in the table: later than now." in html
    tomorrow = (before + timedelta(days=2)).date().isoformat()
    future = body(reader.get(f"/integrations/{acme}/stats?span=day&date={tomorrow}"))
    assert set(absent_rows(future).values()) == {"not-yet"} and table_counts(future) == {}
    assert "is in the future" in future and "No contacts in this range" not in future
    assert queue_counts(future) == {} and "All queues: —" in future
    assert chart_of(future).count('class="bar-rect"') == 0


# --------------------------------------------------------------------------- explain


def explained_ids(html: str) -> list[str]:
    return re.findall(r"<td><code>([^<]+)</code></td>", html)


def test_explain_lists_the_chats_behind_a_count(reader, acme):
    url = f"/integrations/{acme}/stats/explain?interval=2026-11-16T08:00:00Z"
    html = body(reader.get(url))
    assert explained_ids(html) == ["bill-0", "spam-0", "sup-0", "sup-1", "sup-2"]
    assert "5 contacts in all queues" in html
    assert REASON_SPAM in html and REASON_GROUP in html
    assert "Mon 2026-11-16 09:00 CET" in html  # the interval, in the display zone
    assert "Mon 2026-11-16 09:05 CET" in html  # created, in the display zone
    # The spam chat's group was Customer Support, but it counts in Undefined_Queue.
    spam_row = re.search(r"<code>spam-0</code>.*?</tr>", html, re.S).group(0)
    assert "Customer Support" in spam_row and "Undefined_Queue" in spam_row
    one_queue = body(reader.get(url + "&queue=Customer%20Support"))
    assert explained_ids(one_queue) == ["sup-0", "sup-1", "sup-2"]
    assert "3 contacts in Customer Support" in one_queue


def test_explain_agrees_with_the_table(reader, acme):
    html = body(reader.get(f"/integrations/{acme}/stats?span=day&date=2026-11-17"))
    links = re.findall(r'<a href="(/integrations/\d+/stats/explain\?[^"]+)" hx-get', html)
    counts = [c for c in table_counts(html).values() if c != "0"]
    assert len(links) == len(counts) == 2  # 12:15Z (support) and 12:30Z (billing)
    for link, count in zip(links, counts, strict=True):
        explained = body(reader.get(link.replace("&amp;", "&")))
        assert f"{count} contact" in explained
        assert len(explained_ids(explained)) == int(count)


def test_explain_is_paged(reader, acme):
    base = f"/integrations/{acme}/stats/explain?interval=2026-11-18T10:00:00Z"
    first = reader.get(base, htmx=True)
    html = body(first)
    assert "<html" not in html and 'id="stats-explain"' in html
    assert len(explained_ids(html)) == 20
    assert "Chats 1\N{EN DASH}20 of 25" in html
    assert "Next chats" in html and "Previous chats" not in html
    second = body(reader.get(base + "&page=2", htmx=True))
    assert explained_ids(second) == [f"busy-{n:02d}" for n in range(20, 25)]
    assert "Chats 21\N{EN DASH}25 of 25" in second and "Previous chats" in second
    assert set(explained_ids(html)).isdisjoint(explained_ids(second))
    # A page past the end shows the last page rather than nothing.
    assert explained_ids(body(reader.get(base + "&page=9"))) == explained_ids(second)


def test_explain_full_page_and_empty_interval(reader, acme):
    page = body(reader.get(f"/integrations/{acme}/stats/explain?interval=2026-11-16T03:00:00Z"))
    assert "<html" in page and "0 contacts" in page and "No chat is counted" in page
    assert "Back to the contacts of that day" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "“interval” is missing"),
        ("interval=garbage", "is not a valid “interval”"),
        ("interval=2026-11-16T08:07:00Z", "is not the start of a 15-minute interval"),
        ("interval=2026-11-16T08:00:00Z&queue=Nope", "no queue named “Nope”"),
        ("interval=2026-11-16T08:00:00Z&page=abc", "whole number"),
        ("interval=2026-11-16T08:00:00Z&page=0", "whole number"),
    ],
)
def test_explain_bad_input(reader, acme, query, message):
    response = reader.get(f"/integrations/{acme}/stats/explain?{query}", htmx=True)
    assert response.status_code == 400
    assert message in body(response)


def test_an_opened_list_of_chats_is_kept_in_the_url(reader, acme):
    detail = f"/integrations/{acme}"
    html = body(reader.get(f"{detail}?span=day&date=2026-11-16"))
    # The count in the table and the bar push the hosting page's URL with the interval.
    pushed = f"{detail}?span=day&amp;date=2026-11-16&amp;interval=2026-11-16T08%3A00%3A00Z"
    assert re.search(
        rf'<a href="[^"]+" hx-get="[^"]+" [^>]*hx-push-url="{re.escape(pushed)}">5<', html
    )
    assert f'hx-push-url="{pushed}"' in chart_of(html)
    # Reloading that URL renders the list inside the panel, with a Close control.
    response = reader.get(f"{detail}?span=day&date=2026-11-16&interval=2026-11-16T08:00:00Z")
    html = body(response)
    assert response.status_code == 200
    inline = html[html.index('<div id="stats-explain"') : html.index('id="stats-table"')]
    assert explained_ids(inline) == ["bill-0", "spam-0", "sup-0", "sup-1", "sup-2"]
    close = re.search(r'<a class="button secondary explain-close"([^>]*)>', inline).group(1)
    assert f'href="{detail}?span=day&amp;date=2026-11-16"' in close
    assert f'hx-push-url="{detail}?span=day&amp;date=2026-11-16"' in close
    assert f'hx-get="/integrations/{acme}/stats/explain/closed"' in close
    # Moving to another day or queue closes the list: no link carries the interval on.
    nav = re.findall(r'<a [^>]*hx-target="#stats-panel"[^>]*>', html)
    assert len(nav) >= 9 and not [link for link in nav if "interval=" in link]
    # The panel refreshed after a sync keeps the list open.
    assert re.search(r'id="stats-panel"[^>]*hx-get="[^"]*interval=2026-11-16T08(:|%3A)00', html)


def test_an_opened_list_in_one_queue_only(reader, acme):
    html = body(
        reader.get(
            f"/integrations/{acme}/stats?span=day&date=2026-11-16&queue=Customer+Support"
            "&interval=2026-11-16T08:00:00Z"
        )
    )
    assert "3 contacts in Customer Support" in html
    assert explained_ids(html) == ["sup-0", "sup-1", "sup-2"]


def test_a_bad_interval_in_the_page_url_is_explained(reader, acme):
    response = reader.get(f"/integrations/{acme}/stats?span=day&date=2026-11-16&interval=08:07")
    assert response.status_code == 400
    html = body(response)
    assert "is not a valid “interval”" in html and "No chats are listed." in html
    assert 'id="stats-panel"' in html and explained_ids(html) == []


def test_close_returns_to_the_page_the_list_was_opened_on(reader, acme):
    detail = f"/integrations/{acme}"
    url = f"/integrations/{acme}/stats/explain?interval=2026-11-16T08:00:00Z"
    current = f"http://localhost{detail}?span=day&date=2026-11-16&interval=2026-11-16T07%3A00%3A00Z"
    html = body(reader.get(url, htmx=True, headers={"HX-Current-URL": current}))
    close = re.search(r'<a class="button secondary explain-close"([^>]*)>', html).group(1)
    assert f'href="{detail}?span=day&amp;date=2026-11-16"' in close
    # A URL that is not one of this integration's pages is not trusted as a way back.
    foreign = body(
        reader.get(url, htmx=True, headers={"HX-Current-URL": "http://evil.example/x?y=1"})
    )
    close = re.search(r'<a class="button secondary explain-close"([^>]*)>', foreign).group(1)
    assert f'href="/integrations/{acme}/stats?span=day&amp;date=2026-11-16"' in close
    # What Close swaps in: the empty place of the list.
    closed = reader.get(f"/integrations/{acme}/stats/explain/closed", htmx=True)
    assert closed.status_code == 200
    assert body(closed).strip() == (
        '<div id="stats-explain" class="stats-explain" aria-live="polite"></div>'
    )
    # The explanation's own page has a way back, and nothing to close.
    assert "explain-close" not in body(reader.get(url))


# --------------------------------------------------------------------------- page export


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response))))


def test_page_export_csv_for_local_days_and_queues(reader, acme):
    response = reader.get(
        f"/integrations/{acme}/stats/export?from=2026-11-16&to=2026-11-17"
        "&queue=Customer+Support&queue=Billing&format=csv"
    )
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert (
        (response.headers["Content-Disposition"])
        == 'attachment; filename="acme-contacts-2026-11-16-to-2026-11-17.csv"'
    )
    assert csv_rows(response) == [
        ["queue", "interval_start", "contacts"],
        ["Billing", "2026-11-16T08:00:00Z", "1"],
        ["Customer Support", "2026-11-16T08:00:00Z", "3"],
        ["Customer Support", "2026-11-17T12:15:00Z", "1"],
        ["Billing", "2026-11-17T12:30:00Z", "1"],
    ]


def test_page_export_days_follow_the_display_zone(reader, acme):
    # 2026-10-25 in Berlin is 25 hours: 2026-10-24T22:00Z to 2026-10-25T23:00Z.
    rows = csv_rows(reader.get(f"/integrations/{acme}/stats/export?from=2026-10-25&to=2026-10-25"))
    assert rows[1:] == [["Customer Support", "2026-10-25T01:30:00Z", "1"]]


def test_page_export_json(reader, acme):
    response = reader.get(
        f"/integrations/{acme}/stats/export?from=2026-11-16&to=2026-11-16&format=json"
        "&queue=Undefined_Queue"
    )
    assert response.mimetype == "application/json"
    assert json.loads(body(response)) == [
        {"queue": "Undefined_Queue", "interval_start": "2026-11-16T08:00:00Z", "contacts": 1}
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-11-17&to=2026-11-16", "is after the last day"),
        ("from=garbage&to=2026-11-16", "is not a date"),
        ("from=2026-11-16", "Choose both"),
        ("from=2024-01-01&to=2026-11-16", "The range is too long"),
        ("from=2099-01-01&to=2099-01-02", "starts in the future"),
        ("from=2026-11-16&to=2026-11-16&queue=Nope", "Unknown queue: Nope"),
        ("from=2026-11-16&to=2026-11-16&format=xml", "“format” must be csv, json or wfm"),
    ],
)
def test_page_export_refusals(reader, acme, query, message):
    response = reader.get(f"/integrations/{acme}/stats/export?{query}")
    assert response.status_code == 400
    html = body(response)
    assert message in error_slot(html) and "Nothing was exported." in error_slot(html)
    assert (
        f"Nothing was exported: {message}" in html or message in html[: html.index("stats-panel")]
    )


def error_slot(html: str) -> str:
    start = html.index('<div id="export-error"')
    return html[start : html.index("</div>", html.index(">", start) + 1) + len("</div>")]


def test_export_form_is_checked_by_htmx_next_to_the_form(reader, acme):
    html = body(reader.get(f"/integrations/{acme}?span=day&date=2026-11-17&queue=Billing"))
    start = html.index('<form class="stats-export"')
    form = html[start : html.index("</form>", start)]
    assert f'hx-get="/integrations/{acme}/stats/export"' in form
    assert 'hx-target="#export-error" hx-select="#export-error"' in form
    check = f'hx-get="/integrations/{acme}/stats/export/check" hx-trigger="change delay:300ms"'
    assert check in form
    # The panel's state rides along, for the page shown without JavaScript.
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert hidden == {"span": "day", "date": "2026-11-17", "panel_queue": "Billing"}

    refused = reader.get(
        f"/integrations/{acme}/stats/export?from=2024-01-01&to=2026-11-16&format=csv"
        "&span=day&date=2026-11-17&panel_queue=Billing",
        htmx=True,
    )
    assert refused.status_code == 200 and "HX-Redirect" not in refused.headers
    partial = body(refused)
    assert "<html" not in partial and 'id="stats-panel"' not in partial  # the chart stays
    assert "The range is too long (1051 days)" in error_slot(partial)
    assert "Nothing was exported." in error_slot(partial)
    assert 'value="2024-01-01"' in partial  # what was typed is shown again

    accepted = reader.get(
        f"/integrations/{acme}/stats/export?from=2026-11-16&to=2026-11-17&format=csv"
        "&queue=Billing&span=day&date=2026-11-17&panel_queue=Billing",
        htmx=True,
    )
    assert accepted.status_code == 204
    download = accepted.headers["HX-Redirect"]
    assert download == (
        f"/integrations/{acme}/stats/export?from=2026-11-16&to=2026-11-17&queue=Billing&format=csv"
    )
    file = reader.get(download)
    assert file.headers["Content-Disposition"].startswith("attachment;")
    assert csv_rows(file)[1:] == [
        ["Billing", "2026-11-16T08:00:00Z", "1"],
        ["Billing", "2026-11-17T12:30:00Z", "1"],
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-11-17&to=2026-11-16", "is after the last day"),
        ("from=&to=2026-11-16", "Choose both"),
        ("from=2026-11-16&to=2026-11-17", None),
    ],
)
def test_export_check_as_the_admin_edits(reader, acme, query, message):
    response = reader.get(f"/integrations/{acme}/stats/export/check?{query}", htmx=True)
    assert response.status_code == 200
    slot = error_slot(body(response))
    if message:
        assert message in slot and 'data-state="error"' in slot
    else:  # a corrected form clears the earlier message
        assert 'data-state="ok"' in slot and 'role="alert"' not in slot


def test_refused_export_without_javascript_keeps_the_page_and_says_so_on_top(reader, acme):
    response = reader.get(
        f"/integrations/{acme}/stats/export?from=2024-01-01&to=2026-11-16"
        "&span=day&date=2026-11-17&panel_queue=Billing"
    )
    assert response.status_code == 400
    html = body(response)
    top = html.index('id="export-error-top"')
    assert top < html.index('id="stats-panel"')
    assert "Nothing was exported: The range is too long" in html[top : top + 300]
    # The chart is where it was, not on the week of the first day asked for.
    assert attr(html, "data-span") == "day" and attr(html, "data-date") == "2026-11-17"
    assert attr(html, "data-queue") == "Billing"
    assert 'value="2024-01-01"' in html and "The range is too long" in error_slot(html)


# --------------------------------------------------------------------------- API


API = "/api/v1/integrations/{id}/intervals"


def api(client, integration_id: int, query: str = "", key: str | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get(
        API.format(id=integration_id) + ("?" + query if query else ""), headers=headers
    )


def issue_key(integration_id: int) -> str:
    with db.connection_context():
        return integrations.issue_app_key(Integration.get_by_id(integration_id)).plaintext


def test_api_with_session_json_and_csv(reader, acme):
    client = reader.client
    response = api(client, acme, "from=2026-11-16&to=2026-11-17")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/json"
    assert json.loads(body(response)) == [
        {"queue": "Billing", "interval_start": "2026-11-16T08:00:00Z", "contacts": 1},
        {"queue": "Customer Support", "interval_start": "2026-11-16T08:00:00Z", "contacts": 3},
        {"queue": "Undefined_Queue", "interval_start": "2026-11-16T08:00:00Z", "contacts": 1},
    ]
    as_csv = api(client, acme, "from=2026-11-16T08:00:00Z&to=2026-11-16T08:15:00Z&format=csv")
    assert as_csv.mimetype == "text/csv"
    assert csv_rows(as_csv)[0] == ["queue", "interval_start", "contacts"]
    assert len(csv_rows(as_csv)) == 4


def test_api_queue_is_repeatable(reader, acme):
    client = reader.client
    one = json.loads(body(api(client, acme, "from=2026-11-16&to=2026-11-18&queue=Billing")))
    assert {row["queue"] for row in one} == {"Billing"} and len(one) == 2
    two = json.loads(
        body(api(client, acme, "from=2026-11-16&to=2026-11-18&queue=Billing&queue=Undefined_Queue"))
    )
    assert {row["queue"] for row in two} == {"Billing", "Undefined_Queue"}
    # A known queue with no contacts is an empty answer, not an error.
    assert json.loads(body(api(client, acme, "from=2026-11-16&to=2026-11-18&queue=Sales"))) == []


def test_api_with_the_integrations_key(client, app):
    acme = seed()
    other = seed("Other")
    key = issue_key(acme)
    ok = api(client, acme, "from=2026-11-16&to=2026-11-17", key=key)
    assert ok.status_code == 200 and len(json.loads(body(ok))) == 3
    # The key opens its own integration only.
    refused = api(client, other, "from=2026-11-16&to=2026-11-17", key=key)
    assert refused.status_code == 401
    assert "another integration" in refused.get_json()["error"]
    # A regenerated key revokes the old one.
    issue_key(acme)
    revoked = api(client, acme, "from=2026-11-16&to=2026-11-17", key=key)
    assert revoked.status_code == 401 and "revoked" in revoked.get_json()["error"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-key", "Bearer cvh_000000000000.secret"],
)
def test_api_refuses_without_valid_credentials(client, app, header):
    acme = seed()
    headers = {"Authorization": header} if header else {}
    response = client.get(API.format(id=acme) + "?from=2026-11-16&to=2026-11-17", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert response.get_json()["error"].startswith("Authentication")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # An unknown integration is not revealed to an anonymous caller.
    assert client.get(API.format(id=999), headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "“from” and “to” required"),
        ("from=2026-11-16", "“to” required"),
        ("from=2026-11-17&to=2026-11-16", "is after “to”"),
        ("from=2026-11-16&to=2026-11-16", "The range is empty"),
        ("from=2099-01-01&to=2099-01-02", "starts in the future"),
        ("from=2020-01-01&to=2026-01-01", "The range is too long"),
        ("from=2026-11-16&to=2026-11-17&queue=Nope", "Unknown queue: Nope. Known queues:"),
        ("from=yesterday&to=2026-11-17", "is not a valid “from”"),
        ("from=2026-11-16&to=2026-11-17&format=xml", "“format” must be csv, json or wfm"),
        ("from=0001-01-01T00:00:00%2B14:00&to=2026-11-17", "“from” must be between"),
    ],
)
def test_api_bad_parameters_are_400_with_a_reason(reader, acme, query, message):
    response = api(reader.client, acme, query)
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert message in response.get_json()["error"]


def test_api_unknown_integration_is_404_json(reader, acme):
    response = api(reader.client, 999, "from=2026-11-16&to=2026-11-17")
    assert response.status_code == 404 and "999" in response.get_json()["error"]


def test_api_unknown_queue_lists_the_known_ones(reader, acme):
    error = api(reader.client, acme, "from=2026-11-16&to=2026-11-17&queue=x").get_json()
    assert "Billing, Customer Support, Sales, Undefined_Queue" in error["error"]


# --------------------------------------------------------------------------- display zone


def test_display_time_zone_is_saved_edited_and_used(admin_client):
    form = {
        "name": "Zoned",
        "domain": "acme.freshchat.com",
        "api_key": "eyJhbGciOiJSUzI1NiJ9.good-admin-key-1234",
        "sync_every_minutes": "15",
        "backfill_days": "30",
        "display_timezone": "Europe/Berlin",
        "submission_id": "zone-1",
    }
    with responses.RequestsMock() as fake:
        fake.get(CONFIG_URL, json=ACCOUNT)
        created = admin_client.post("/integrations/new/freshchat", form)
    assert created.status_code == 303, body(created)
    with db.connection_context():
        integration = Integration.get(Integration.name == "Zoned")
    assert integration.display_timezone == "Europe/Berlin"
    edit_page = body(admin_client.get(f"/integrations/{integration.id}/edit"))
    assert re.search(
        r'<option selected value="Europe/Berlin">|<option value="Europe/Berlin" selected', edit_page
    )
    html = body(admin_client.get(f"/integrations/{integration.id}?span=day&date=2026-11-16"))
    assert "Times in Europe/Berlin" in html and "00:00 CET" in html

    with responses.RequestsMock() as fake:
        fake.get(CONFIG_URL, json=ACCOUNT)
        edited = admin_client.post(
            f"/integrations/{integration.id}/edit",
            {**form, "api_key": "", "display_timezone": "America/New_York"},
        )
    assert edited.status_code == 303, body(edited)
    with db.connection_context():
        assert Integration.get_by_id(integration.id).display_timezone == "America/New_York"
    html = body(admin_client.get(f"/integrations/{integration.id}?span=day&date=2026-11-16"))
    assert "Times in America/New_York" in html and "00:00 EST" in html
    assert "times shown in America/New_York" in html
    # An unknown zone is refused by the form and nothing changes.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        fake.get(CONFIG_URL, json=ACCOUNT)
        refused = admin_client.post(
            f"/integrations/{integration.id}/edit",
            {**form, "api_key": "", "display_timezone": "Mars/Olympus_Mons"},
        )
    assert refused.status_code == 422
    with db.connection_context():
        assert Integration.get_by_id(integration.id).display_timezone == "America/New_York"


# --------------------------------------------------------------------------- export words


def test_page_export_before_the_imported_history_is_refused_with_its_first_day(reader, partial):
    for htmx in (False, True):
        response = reader.get(
            f"/integrations/{partial}/stats/export?from=2026-11-16&to=2026-11-17", htmx=htmx
        )
        message = text(one(parse(response), "#export-error"))
        assert "imported from Wed 2026-11-18 11:00 CET" in message
        assert "Choose days from 2026-11-18" in message and "Nothing was exported." in message
    # A range that reaches into the history is exported (its earlier part was not counted).
    accepted = reader.get(f"/integrations/{partial}/stats/export?from=2026-11-16&to=2026-11-18")
    assert accepted.status_code == 200 and accepted.mimetype == "text/csv"


def test_page_export_refusals_speak_in_local_days_not_utc_instants(reader, acme):
    future = (utcnow() + timedelta(days=30)).date().isoformat()
    response = reader.get(f"/integrations/{acme}/stats/export?from={future}&to={future}")
    message = text(one(parse(response), "#export-error"))
    assert f"{future} is after today" in message and "Europe/Berlin" in message
    assert not re.search(r"\d{2}:\d{2}:\d{2}|\.\d{3}Z", message), message


def test_api_refuses_a_future_to_and_accepts_the_current_interval(reader, acme):
    now = utcnow()
    yesterday = (now - timedelta(days=1)).date().isoformat()
    tomorrow = (now + timedelta(days=2)).date().isoformat()
    refused = api(reader.client, acme, f"from={yesterday}&to={tomorrow}")
    assert refused.status_code == 400
    assert "is in the future" in refused.get_json()["error"]
    latest = latest_end(utcnow())
    accepted = api(reader.client, acme, f"from={yesterday}&to={iso_z(latest)}")
    assert accepted.status_code == 200, accepted.get_json()
    beyond = api(reader.client, acme, f"from={yesterday}&to={iso_z(latest + timedelta(hours=1))}")
    assert beyond.status_code == 400


def test_api_future_message_has_no_milliseconds(reader, acme):
    error = api(reader.client, acme, "from=2099-01-01&to=2099-01-02").get_json()["error"]
    assert "starts in the future" in error and not re.search(r"\.\d{3}Z", error), error
