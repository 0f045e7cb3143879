"""Applying a pull window raises the young generation's collection threshold, and every
way out of it (including an error, and threads leaving in any order) restores it."""

from __future__ import annotations

import gc
import threading

import pytest

from webapp.gc_quiet import QUIET_THRESHOLD, fewer_collections


@pytest.fixture(autouse=True)
def _known_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_the_threshold_is_raised_inside_and_restored_after_even_on_error():
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == (QUIET_THRESHOLD, 10, 10)
        raise RuntimeError("a batch failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_nested_and_overlapping_blocks_restore_only_when_the_last_one_ends():
    inside, leave = threading.Event(), threading.Event()

    def other_window() -> None:
        with fewer_collections():
            inside.set()
            leave.wait(timeout=10)

    worker = threading.Thread(target=other_window)
    with fewer_collections():
        worker.start()
        assert inside.wait(timeout=10)
        with fewer_collections():
            assert gc.get_threshold()[0] == QUIET_THRESHOLD
    assert gc.get_threshold()[0] == QUIET_THRESHOLD  # the other thread's window goes on
    leave.set()
    worker.join(timeout=10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_threshold_set_by_the_operator_is_kept():
    gc.set_threshold(QUIET_THRESHOLD * 2, 10, 10)
    with fewer_collections():
        assert gc.get_threshold()[0] == QUIET_THRESHOLD * 2
    assert gc.get_threshold()[0] == QUIET_THRESHOLD * 2
