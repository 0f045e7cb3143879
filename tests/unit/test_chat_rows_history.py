"""A chat's group history is stored as the very text ``json.dumps`` gives, built by hand
for speed: one observation (most chats) takes a shorter path than several."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from webapp.chat_row_values import _history_from_json, _history_to_json

AT = datetime(2026, 3, 4, 9, 7, 30, 123000)
LATER = datetime(2026, 3, 4, 10, 0)


@pytest.mark.parametrize(
    "history",
    [
        (),
        ((AT, "g-1"),),
        ((AT, None),),
        ((AT, 'odd "group" \\ é'),),
        ((AT, "g-1"), (LATER, None)),
        ((AT, None), (AT, "g-1"), (LATER, "g-2")),
    ],
)
def test_history_text_is_what_json_dumps_gives_and_reads_back(history):
    text = _history_to_json(history)

    assert text == json.dumps([[when.isoformat(), group_id] for when, group_id in history])
    assert _history_from_json(text) == history
