"""The time zones an administrator can choose: canonical names grouped by region.

``zoneinfo.available_timezones()`` also lists backward-compatible aliases (``US/Eastern``,
``Asia/Calcutta``, ``GB``); offering both an alias and its zone makes one place appear
twice and invites names the tz project has deprecated. The tz database's own ``zone.tab``
(shipped by the pinned ``tzdata`` package, so every server offers the same list) names
one canonical zone per country and region; those, plus UTC, are the choices. A browser
may still report an alias (Chromium says ``Asia/Calcutta``): ``ALIASES`` maps each alias
to its canonical zone so the form can preselect the right entry.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

UTC_NAME = "UTC"


def _data(name: str) -> str:
    return files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")


@cache
def canonical_zones() -> tuple[str, ...]:
    """UTC first, then every zone of ``zone.tab`` in name order."""
    names = {
        line.split("\t")[2]
        for line in _data("zone.tab").splitlines()
        if line and not line.startswith("#")
    }
    return (UTC_NAME, *sorted(names))


@cache
def aliases() -> dict[str, str]:
    """Alias → canonical zone, from the link lines (``L target alias``) of ``tzdata.zi``."""
    canonical = set(canonical_zones())
    links: dict[str, str] = {}
    for line in _data("tzdata.zi").splitlines():
        if line.startswith("L "):
            _l, target, alias = line.split()[:3]
            links[alias] = target
    found: dict[str, str] = {}
    for alias, target in links.items():
        while target in links and target not in canonical:
            target = links[target]
        if alias not in canonical and target in canonical:
            found[alias] = target
    for name in ("Etc/UTC", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu", "UCT", "Etc/UCT"):
        found.setdefault(name, UTC_NAME)
    return found


def canonical_name(name: str) -> str:
    """The canonical zone for a name (itself when it is one), or the name unchanged."""
    return name if name in canonical_zones() else aliases().get(name, name)


def grouped_choices(current: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """Choices for a select with one group per region (``Europe``, ``America``, …).

    ``current`` is a stored name that is no longer offered (an alias saved before this
    list, or through the CLI): it is kept, under its own group, so editing an integration
    never changes its zone behind the administrator's back.
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    if current and current not in canonical_zones():
        groups["Current"] = [(current, f"{current} (an older name)")]
    groups["UTC"] = [(UTC_NAME, UTC_NAME)]
    for name in canonical_zones()[1:]:
        region, _, place = name.partition("/")
        groups.setdefault(region, []).append((name, place.replace("_", " ")))
    return groups


def alias_attribute() -> str:
    """Aliases for the browser, ``alias=zone`` separated by spaces (an HTML attribute)."""
    return " ".join(f"{alias}={zone}" for alias, zone in sorted(aliases().items()))
