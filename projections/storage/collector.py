"""Python's cycle collector paused while batches of events are decoded and applied.

A batch makes many small containers, and the collector, triggered by allocations, walks
them again and again, and every long-lived cache with them. A replay makes no cycles
worth the walk: what a batch leaves is freed by reference counting. So the collector
runs only when young objects pile up beyond what the replays' caches hold, which only
cycles would do (decision 0009 has the measurements).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from projections.tuning import Tuning


class Paused:
    def __init__(self, young_limit: int) -> None:
        # Young objects (made since the last collection, net of those freed) beyond which
        # a batch boundary collects them: far above where the replays' caches level off.
        self.young_limit = young_limit

    def between_batches(self) -> None:
        """Collect the young objects if they have piled up beyond the limit."""
        if gc.get_count()[0] > self.young_limit:
            gc.collect(0)


@contextmanager
def collector_paused(young_limit: int = Tuning.young_limit) -> Iterator[Paused]:
    """The cycle collector off (unless another thread has it off already) until the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield Paused(young_limit)
    finally:
        if was_enabled:
            gc.enable()
