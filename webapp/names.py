"""What a name typed by an admin (integration name, username) may hold.

A name made only of invisible characters (direction marks such as U+202E, zero-width
characters, other format or control characters, spaces) looks empty on every page yet
passes "required", and an admin cannot tell two such names apart. Control characters (C0,
C1: ESC, NUL, ...) have no place in a name anywhere: they garble terminals when the CLI
lists integrations. Direction marks beside visible text stay allowed (names in Arabic or
Hebrew need them); the page escapes and isolates them where names are shown.
"""

from __future__ import annotations

import unicodedata

from flask_babel import gettext

# Unicode categories that draw nothing: control, format (direction marks, zero-width),
# separators, surrogates, unassigned.
_INVISIBLE = {"Cc", "Cf", "Cs", "Cn", "Zs", "Zl", "Zp"}


def name_problem(name: str, what: str | None = None) -> str | None:
    """A sentence saying what is wrong with ``name``, or None when it is acceptable."""
    what = what or gettext("The name")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return gettext(
            "%(what)s contains control characters; type it again without them.", what=what
        )
    if all(unicodedata.category(ch) in _INVISIBLE for ch in name):
        return gettext(
            "%(what)s must contain visible characters, not only spaces or direction marks.",
            what=what,
        )
    return None
