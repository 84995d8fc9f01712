"""`position_at`: the last position recorded at or before a time, remembered."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


def tracked_position(c: Any) -> int:
    row = c.execute("SELECT MAX(position) FROM event_index").fetchone()
    return int(row[0] or 0)


class PositionsAt:
    """`position_at`, remembered: the last position recorded at or before a time.

    Over the whole log that is a scan of every event up to the time (the time index
    cannot give a maximum of positions over a range of times), dearer as the log grows.
    The answer for a time depends only on the events, which never change; a later read
    need only look at the events projected since (a range of positions), so it stays
    exact while the log grows. Kept for the last `size` times asked.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._known: OrderedDict[str, tuple[int, int]] = OrderedDict()  # time → (answer, upto)
        self._lock = threading.Lock()

    def position_at(self, c: Any, known_at: str) -> int:
        upto = tracked_position(c)
        with self._lock:
            remembered = self._known.get(known_at)
        if remembered is not None and remembered[1] <= upto:
            answer, seen = remembered
            if seen < upto:
                row = c.execute(
                    "SELECT MAX(position) FROM event_index WHERE position > ? AND recorded_at<=?",
                    (seen, known_at),
                ).fetchone()
                answer = max(answer, int(row[0] or 0))
        else:
            answer = position_at(c, known_at)
        with self._lock:
            self._known[known_at] = (answer, upto)
            self._known.move_to_end(known_at)
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return answer


def position_at(c: Any, known_at: str) -> int:
    row = c.execute(
        "SELECT MAX(position) FROM event_index WHERE recorded_at<=?", (known_at,)
    ).fetchone()
    return int(row[0] or 0)
