"""Refusals whose words are translated where they are shown, not where they are raised.

Date, range and export-option checks are pure and shared by the pages, the JSON API and
the CLI. They raise a ``Refusal`` holding an English template (marked with ``N_`` so the
catalogue lists it) and its values: ``str()`` is the English sentence the API and the CLI
give, and ``webapp.formatting.localized`` gives the same sentence in a page's language.
"""

from __future__ import annotations


def N_(text: str) -> str:
    """Mark ``text`` for the catalogue without translating it here."""
    return text


class Refusal(ValueError):
    """A refusal for people: an English template with ``%(name)s`` values."""

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = values
        super().__init__(template % values if values else template)
