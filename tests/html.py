"""Reading HTML in tests with a parser (Beautiful Soup over the standard library's)."""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag


def parse(response_or_text) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    text = (
        response_or_text
        if isinstance(response_or_text, str)
        else response_or_text.get_data(as_text=True)
    )
    return BeautifulSoup(text, "html.parser")


def one(soup: BeautifulSoup | Tag, selector: str) -> Tag:
    """The single element matching ``selector``; fails the test when there are 0 or more."""
    found = soup.select(selector)
    assert len(found) == 1, f"{selector}: {len(found)} elements"
    return found[0]


def text(element: Tag) -> str:
    return " ".join(element.get_text(" ").split())
