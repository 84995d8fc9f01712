"""Feeds ledger events to the views: catch-up in batches, then a live subscription.

One runner per view. If another runner (another process) applies a batch first, the
tracking record refuses ours; we then resume from the stored position, so nothing is
ever applied twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Notification, Subscription

from projections.events.stored_events import applied_from_stored
from projections.runner.prepared_feed import PreparedFeed
from projections.runner.subscription import next_batch
from projections.storage.collector import collector_paused
from projections.storage.ledger_views import BaseLedgerViews
from projections.tuning import Tuning

log = logging.getLogger(__name__)


class BatchedRunner:
    """Keeps the views up to date with the ledger, in this process."""

    def __init__(
        self,
        ledger: Application[Any],
        views: BaseLedgerViews,
        tuning: Tuning | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.ledger = ledger
        self.views = views
        self.tuning = tuning or views.tuning
        self.batch_size = batch_size or self.tuning.batch_size
        self.prepare_from = self.tuning.prepare_from  # events behind from which a process prepares
        self.error: BaseException | None = None
        self._applied = threading.Condition()
        self._position = views.position()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._active = False
        self._subscription: Subscription[Any] | None = None
        self._summaries_rewritten = False

    @property
    def position(self) -> int:
        return self._position

    def catch_up(self, on_progress: Callable[[int], None] | None = None) -> int:
        """Apply everything stored now, batch by batch; returns the position reached.

        Far behind a SQLite event store, a forked process prepares the batches
        (`projections.runner.prepared_feed`); whatever it leaves is applied here. First,
        once per runner, summaries stored before open ends are rewritten (decision 0018)."""
        if not self._summaries_rewritten:
            self._summaries_rewritten = True
            try:
                self.views.rewrite_older_summaries()
            except Exception:  # e.g. read-only views: reads answer from the claims meanwhile
                log.exception("could not rewrite summaries stored before open ends")
        self._catch_up_prepared(on_progress)
        while True:
            notifications = self.ledger.recorder.select_notifications(
                start=self._position, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return self._position
            try:
                self._apply(notifications)
            except IntegrityError:
                # Another runner (another process) applied these first: resume after it.
                if not self._resume_from_tracked():
                    raise
                continue
            if on_progress is not None:
                on_progress(len(notifications))

    def start(self) -> None:
        """Follow the ledger in a background thread until `stop()`."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._follow, name="projections", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._subscription is not None:
            self._subscription.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def running(self) -> bool:
        """Started: following the ledger, or waiting as a standby to take over."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def active(self) -> bool:
        """Following the ledger now (not a standby waiting for the runner lock)."""
        return self.running and self._active

    def wait(self, position: int, timeout: float) -> bool:
        """Block until the views reflect `position`; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._applied:
            while self._position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._applied.wait(min(remaining, 0.05))
                # Another process (a `claimledger worker`) may be the one applying.
                if self._position < position and not self.active:
                    self._position = max(self._position, self.views.position())
        return True

    def _follow(self) -> None:
        """Wait to be the views' one active runner (PostgreSQL: an advisory lock), then
        follow the ledger until stopped; a lost lock connection is retried."""
        while not self._stopping.is_set():
            try:
                with self.views.runner_lock(self._stopping) as acquired:
                    if not acquired:
                        return
                    log.info("active runner of the views from position %d", self._position)
                    self._active = True
                    try:
                        self._follow_while_active()
                    finally:
                        self._active = False
                return
            except Exception as error:  # the lock's connection failed: try again
                log.exception("projection runner lock failed; retrying in 1 s")
                self.error = error
                self._stopping.wait(1.0)

    def _follow_while_active(self) -> None:
        self._resume_from_tracked()  # a standby taking over: start after the last runner
        while not self._stopping.is_set():
            try:
                self.catch_up()
                self._subscribe_and_apply()
            except IntegrityError as error:
                if not self._resume_from_tracked():
                    log.exception("the views refused events no other runner applied")
                    self.error = error
                    self._stopping.wait(1.0)
            except StopIteration:
                return
            except Exception as error:  # keep serving reads; /readyz reports the lag
                log.exception("projection runner failed; retrying in 1 s")
                self.error = error
                self._stopping.wait(1.0)

    def _subscribe_and_apply(self) -> None:
        # SQLite: a polling subscription; PostgreSQL: the library's LISTEN/NOTIFY one.
        # Positions may have gaps there (a rolled-back insert still takes its id).
        subscription = self.ledger.recorder.subscribe(gt=self._position)
        self._subscription = subscription
        try:
            with subscription:  # on exit: stopped, and its threads joined
                while not self._stopping.is_set():
                    batch = next_batch(subscription, timeout=0.5)
                    if not batch and self._behind():
                        return  # it missed a notification: catch up and subscribe again
                    fresh = [n for n in batch if n.id > self._position]
                    for start in range(0, len(fresh), self.batch_size):
                        self._apply(fresh[start : start + self.batch_size])
                    self.error = None
        finally:
            self._subscription = None

    def _behind(self) -> bool:
        """Events are stored that a quiet subscription has not brought. The library's
        LISTEN/NOTIFY subscription (eventsourcing 9.5.6) reads what is stored while its
        listening thread starts: an event committed in between is not notified, and the
        subscription waits for the next one."""
        return (self.ledger.recorder.max_notification_id() or 0) > self._position

    def _resume_from_tracked(self) -> bool:
        """After the views refused a batch: skip to the position another runner reached.

        False when the tracked position has not moved past ours, so no other runner
        explains the refusal.
        """
        tracked = self.views.position()
        if tracked <= self._position:
            return False
        log.info("another runner applied up to %d first; resuming after it", tracked)
        with self._applied:
            self._position = tracked
            self._applied.notify_all()
        return True

    def _catch_up_prepared(self, on_progress: Callable[[int], None] | None) -> None:
        until = self.ledger.recorder.max_notification_id() or 0
        if until - self._position < self.prepare_from:
            return
        feed = PreparedFeed.start(self.ledger, self.views, self._position, until, self.tuning)
        if feed is None:
            return
        with feed, collector_paused(self.tuning.young_limit) as collector:
            chunks = iter(feed)
            while True:
                try:
                    applied = self.views.apply_prepared(chunks, self.batch_size)
                except IntegrityError:
                    # Another runner (another process) applied some first: resume after it.
                    if not self._resume_from_tracked():
                        raise
                    return
                if applied is None:
                    return
                collector.between_batches()
                self._advance(applied[0])
                if on_progress is not None:
                    on_progress(applied[1])

    def _advance(self, position: int) -> None:
        with self._applied:
            self._position = position
            self._applied.notify_all()

    def _apply(self, notifications: Sequence[Notification]) -> None:
        mapper = self.ledger.mapper
        with collector_paused(self.tuning.young_limit) as collector:
            records = [applied_from_stored(n, mapper) for n in notifications]
            position = self.views.apply_records(records)
            collector.between_batches()
        self._advance(position)
