"""The cycle collector paused for a replay's batches (`projections.storage.collector`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from projections.storage.collector import collector_paused

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_while_paused_and_on_again_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_inside_another_leaves_the_collector_off_until_the_outer_one_ends() -> None:
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error() -> None:
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_cycles_piled_up_beyond_the_limit_are_collected_between_batches() -> None:
    collected: list[int] = []
    gc.callbacks.append(lambda phase, info: collected.append(info["collected"]))
    try:
        with collector_paused(young_limit=1_000) as paused:
            for _ in range(2_000):
                Cycle()
            assert collected == []  # paused: nothing collected them yet
            paused.between_batches()
    finally:
        gc.callbacks.pop()
    assert sum(collected) >= 2_000


def test_a_batch_boundary_below_the_limit_collects_nothing() -> None:
    collected: list[int] = []
    gc.callbacks.append(lambda phase, info: collected.append(info["collected"]))
    try:
        with collector_paused() as paused:
            Cycle()
            paused.between_batches()
    finally:
        gc.callbacks.pop()
    assert collected == []
