"""Times and numbers written for the request's language, by Babel (never by hand).

English keeps the ISO-like dates the pages always showed (``2026-11-16 09:15 CET``: read
the same way by every planner, sorted as text); other languages get their own locale's
patterns from Babel (``16/11/2026 09:15 CET`` in French). The zone's abbreviation stays:
it tells apart the repeated hour of a fall-back night. The language is passed to Babel
explicitly, so tests and the CLI, outside any request, get English whatever the machine's
locale.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask_babel import gettext

from webapp.display_time import to_local, zone
from webapp.i18n import current_language
from webapp.refusals import Refusal

# Babel patterns where English keeps its ISO form; None: the locale's own "short" format.
MOMENT = {"en": "yyyy-MM-dd HH:mm"}


def moment(value: datetime | None, tz: str | None = None) -> str:
    """A stored (naive UTC) time in ``tz`` (UTC when none), with the zone's abbreviation."""
    if value is None:
        return gettext("never")
    local = to_local(value, zone(tz))
    language = current_language()
    text = format_datetime(local, MOMENT.get(language, "short"), locale=language)
    return f"{text} {local.tzname() or local.tzinfo}"


def number(value: int | float, pattern: str | None = None) -> str:
    """``12,345`` in English, ``12 345`` in French; ``pattern`` (Babel's, e.g. ``0.0``)
    fixes the decimals: ``30.0`` and ``30,0``."""
    return format_decimal(value, format=pattern, locale=current_language())


def localized(error: Exception) -> str:
    """A refusal's sentence in the request's language (see ``webapp.refusals``)."""
    if isinstance(error, Refusal):
        return gettext(error.template, **error.values)
    return str(error)
