"""Counts in words, shared by templates (a global) and presenters (chart titles)."""

from __future__ import annotations


def quantity(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 contact``, ``2 contacts``: every count shown with a noun goes through here."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
