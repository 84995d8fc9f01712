"""Whether the store takes writes, as `/readyz` reports it: probed at most once per
`PROBE_SECONDS` so readiness stays cheap, and refused for `HOLD_SECONDS` after a write failed
for a storage reason (a probe cannot see every way a disk fills up)."""

from __future__ import annotations

import threading
import time

from projections.store import Store
from projections.store_health import write_refusal

PROBE_SECONDS = 1.0
HOLD_SECONDS = 5.0  # as long as a refused client is told to wait (Retry-After)


class WriteReadiness:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._probed_at = -PROBE_SECONDS
        self._probed: str | None = None
        self._failed_at = -HOLD_SECONDS
        self._failed: str | None = None

    def note_refusal(self, reason: str) -> None:
        """A write just failed because the store refused it."""
        with self._lock:
            self._failed_at, self._failed = time.monotonic(), reason

    def refusal(self) -> str | None:
        """Why writes would fail now, or None."""
        with self._lock:
            now = time.monotonic()
            if self._failed is not None and now - self._failed_at < HOLD_SECONDS:
                return self._failed
            if now - self._probed_at >= PROBE_SECONDS:
                self._probed, self._probed_at = write_refusal(self.store), now
            return self._probed
