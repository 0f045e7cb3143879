"""The French catalogue is complete and current, and compiles itself at start."""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from webapp.i18n import SOURCE, compile_catalogues

ROOT = Path(__file__).resolve().parents[2]
FRENCH = SOURCE / "fr" / "LC_MESSAGES" / "messages.po"
# The same keywords as the README's extraction command.
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}


def _source_messages() -> set[str]:
    """Every message the code and templates ask for, extracted as ``pybabel extract`` does."""
    with (ROOT / "babel.cfg").open() as stream:
        method_map, options_map = parse_mapping_cfg(stream)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue():  # type: ignore[no-untyped-def]
    with FRENCH.open("rb") as stream:
        return read_po(stream, locale="fr")


def test_every_message_in_code_and_templates_is_in_the_french_catalogue() -> None:
    catalogue = _catalogue()
    listed = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id}
    missing = _source_messages() - listed
    assert not missing, f"not in messages.po (run the README's update command): {missing}"
    stale = listed - _source_messages()
    assert not stale, f"in messages.po but no longer in the sources: {stale}"


def test_every_french_message_is_translated_and_not_fuzzy() -> None:
    untranslated = []
    for message in _catalogue():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            untranslated.append(message.id)
    assert not untranslated, f"French missing or fuzzy for: {untranslated}"


def test_placeholders_are_kept_in_french() -> None:
    """A translation that drops or renames ``%(name)s`` would fail at render time."""
    import re

    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in _catalogue():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(pattern.findall(ids[-1]))
        for string in strings:
            assert set(pattern.findall(string)) <= wanted | set(pattern.findall(ids[0])), message.id
            assert wanted - {"%(num)d"} <= set(pattern.findall(string)), message.id


def test_catalogues_compile_when_missing_or_older_than_their_source(tmp_path) -> None:
    source = tmp_path / "source"
    (source / "fr" / "LC_MESSAGES").mkdir(parents=True)
    po = source / "fr" / "LC_MESSAGES" / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Save"\nmsgstr "Enregistrer"\n', "utf-8")
    target = tmp_path / "compiled"

    assert compile_catalogues(source, target) == ["fr"]
    mo = target / "fr" / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as stream:
        assert read_mo(stream).get("Save").string == "Enregistrer"
    assert compile_catalogues(source, target) == []  # up to date: left alone

    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Save"\nmsgstr "Sauvegarder"\n', "utf-8")
    later = mo.stat().st_mtime + 10
    os.utime(po, (later, later))
    assert compile_catalogues(source, target) == ["fr"]
    with mo.open("rb") as stream:
        assert read_mo(stream).get("Save").string == "Sauvegarder"
    assert [p.name for p in mo.parent.iterdir()] == ["messages.mo"]  # no temporary left


def test_the_repository_catalogue_compiles(tmp_path) -> None:
    assert compile_catalogues(SOURCE, tmp_path) == ["fr"]
