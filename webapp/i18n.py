"""Which language a request is answered in, and the compiled catalogues Flask-Babel reads.

The admin's own choice (stored on their row, so it survives signing out and in) wins; a
visitor who is not signed in, or an admin who never chose, gets the best match of the
browser's ``Accept-Language``; English otherwise. Catalogues are kept in the repository as
``.po`` text only: the binary ``.mo`` files are compiled at start into the instance folder
(always writable, never the checkout), so ``pip install`` and ``flask serve`` need no extra
step and a stale ``.mo`` can never outlive its ``.po``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_locale, gettext

SOURCE = Path(__file__).with_name("translations")
DEFAULT_LANGUAGE = "en"
# Each language by its own name: someone who cannot read the page can still find theirs.
LANGUAGES = {"en": "English", "fr": "Français"}


class LanguageError(ValueError):
    """A language value this app does not speak, with a message for people."""


def check_language(value: str | None) -> str:
    """``value`` when it is one of ours; refuses anything else clearly."""
    if value in LANGUAGES:
        return value
    shown = (value or "")[:20]
    raise LanguageError(
        gettext(
            "“%(value)s” is not a language of this app: choose one of %(choices)s.",
            value=shown,
            choices=", ".join(LANGUAGES),
        )
    )


def select_language() -> str:
    """The admin's saved choice, else the browser's best match, else English."""
    if not has_request_context():
        return DEFAULT_LANGUAGE  # the CLI and background syncs speak English
    admin = g.get("admin")
    saved = getattr(admin, "language", None)
    if saved in LANGUAGES:
        return saved
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def compile_catalogues(source: Path, target: Path) -> list[str]:
    """Compile every ``.po`` under ``source`` whose ``.mo`` under ``target`` is missing or
    older; returns the languages compiled. Each file is written beside and renamed into
    place, so two processes starting together never read half a catalogue."""
    compiled: list[str] = []
    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        relative = po_path.relative_to(source).with_suffix(".mo")
        mo_path = target / relative
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as stream:
            catalogue = read_po(stream, locale=relative.parts[0])
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=mo_path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                write_mo(stream, catalogue)
            os.replace(temporary, mo_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        compiled.append(relative.parts[0])
    return compiled


def init_app(app: Flask) -> None:
    target = Path(app.instance_path) / "translations"
    compile_catalogues(SOURCE, target)
    Babel(
        app,
        default_locale=DEFAULT_LANGUAGE,
        default_translation_directories=str(target),
        locale_selector=select_language,
    )
    app.jinja_env.globals["languages"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language


def current_language() -> str:
    """The request's language code, for ``<html lang>`` and the switch."""
    return str(get_locale() or DEFAULT_LANGUAGE)
