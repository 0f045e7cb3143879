"""The display time zone: canonical zones grouped by region, the browser's zone marked for
preselection on a new integration, and a change from the statistics without Edit."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.conftest import add_integration
from webapp.extensions import db
from webapp.models import Integration
from webapp.timezones import aliases, canonical_name, canonical_zones


class _Select(HTMLParser):
    """The groups and options of one <select name=...>, and its attributes."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.inside = False
        self.attrs: dict[str, str | None] = {}
        self.groups: dict[str, list[str]] = {}
        self.selected: str | None = None
        self._group = ""

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        values = dict(attrs)
        if tag == "select" and values.get("name") == self.name:
            self.inside, self.attrs = True, values
        elif self.inside and tag == "optgroup":
            self._group = values.get("label") or ""
            self.groups[self._group] = []
        elif self.inside and tag == "option":
            self.groups.setdefault(self._group, []).append(values.get("value") or "")
            if "selected" in values:
                self.selected = values.get("value")

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "select":
            self.inside = False


def select_of(html: str, name: str) -> _Select:
    parser = _Select(name)
    parser.feed(html)
    return parser


def test_canonical_zones_leave_out_deprecated_aliases():
    zones = set(canonical_zones())
    assert {"UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York", "Europe/Oslo"} <= zones
    assert not {"Asia/Calcutta", "US/Eastern", "GB", "Etc/UTC"} & zones
    assert not [zone for zone in zones if zone.startswith(("US/", "Etc/", "SystemV/"))]
    assert canonical_name("Asia/Calcutta") == "Asia/Kolkata"
    assert canonical_name("US/Pacific") == "America/Los_Angeles"
    assert all(target in zones for target in aliases().values())


def test_new_integration_form_groups_zones_and_asks_for_the_browser_zone(admin_client):
    html = admin_client.get("/integrations/new/freshchat").get_data(as_text=True)
    select = select_of(html, "display_timezone")
    assert list(select.groups)[:3] == ["UTC", "Africa", "America"]
    assert "Europe/Paris" in select.groups["Europe"]
    every = [zone for zones in select.groups.values() for zone in zones]
    assert "Asia/Calcutta" not in every and not [z for z in every if z.startswith("US/")]
    assert "data-browser-zone" in select.attrs
    assert "Asia/Calcutta=Asia/Kolkata" in (select.attrs["data-zone-aliases"] or "").split()


def test_an_older_stored_name_stays_selected_when_editing(admin_client, app):
    integration_id = add_integration(
        app, "Old", "old.freshchat.com", "k" * 20, display_timezone="US/Eastern"
    )
    html = admin_client.get(f"/integrations/{integration_id}/edit").get_data(as_text=True)
    select = select_of(html, "display_timezone")
    assert select.selected == "US/Eastern" and select.groups["Current"] == ["US/Eastern"]
    assert "data-browser-zone" not in select.attrs  # not a new integration


@pytest.fixture
def desk(app) -> int:
    return add_integration(app, "Desk", "desk.freshchat.com", "k" * 20)


def test_zone_is_changed_from_the_statistics_without_edit(admin_client, desk):
    back = f"/integrations/{desk}/stats?span=day&date=2026-03-29"
    panel = admin_client.get(back).get_data(as_text=True)
    assert f"/integrations/{desk}/stats/zone?next=" in panel
    partial = admin_client.get(f"/integrations/{desk}/stats/zone?next={back}", htmx=True)
    html = partial.get_data(as_text=True)
    assert "<html" not in html and select_of(html, "zone").selected == "UTC"
    response = admin_client.post(
        f"/integrations/{desk}/stats/zone", {"zone": "Europe/Berlin", "next": back}
    )
    assert response.status_code == 303 and response.headers["Location"] == back
    with db.connection_context():
        assert Integration.get_by_id(desk).display_timezone == "Europe/Berlin"
    day = admin_client.get(back).get_data(as_text=True)
    assert "Times in Europe/Berlin" in day and "92 intervals" in day  # the 23-hour day


@pytest.mark.parametrize("zone", ["Asia/Calcutta", "Mars/Olympus_Mons", ""])
def test_a_zone_not_offered_is_refused_and_nothing_changes(admin_client, desk, zone):
    response = admin_client.post(f"/integrations/{desk}/stats/zone", {"zone": zone})
    assert response.status_code == 400
    assert "is not a time zone this server offers" in response.get_data(as_text=True)
    with db.connection_context():
        assert Integration.get_by_id(desk).display_timezone == "UTC"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/integrations"])
def test_return_address_stays_on_this_integration(admin_client, desk, target):
    response = admin_client.post(
        f"/integrations/{desk}/stats/zone", {"zone": "Europe/Paris", "next": target}
    )
    assert response.headers["Location"] == f"/integrations/{desk}/stats"
