"""A polling subscription for SQLite, which has no LISTEN/NOTIFY; batch reads for both.

`SQLiteApplicationRecorder.subscribe()` raises `NotImplementedError` in eventsourcing
9.5, so `PollingSQLiteApplicationRecorder` (selected with the application's
`APPLICATION_RECORDER_TOPIC`) returns a `PollingSubscription`: the library's
`ListenNotifySubscription`, woken by a short timer (for writes from other processes)
and at once by inserts made through the same recorder (for writes from this one).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    ApplicationRecorder,
    ListenNotifySubscription,
    Notification,
    ShutDown,
    StoredEvent,
    Subscription,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder

from projections.tuning import Tuning


class PollingSubscription(ListenNotifySubscription[ApplicationRecorder]):
    """Yields notifications after `gt`; pulls on a timer and when woken."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
        poll_interval: float = Tuning.poll_interval,
    ) -> None:
        self._poll_interval = poll_interval
        self._stopping = threading.Event()
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._timer_thread = threading.Thread(target=self._tick, daemon=True)
        self._timer_thread.start()

    def wake(self) -> None:
        self._has_been_notified.set()

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def next_batch(self, timeout: float) -> list[Notification]:
        """Every notification available now, or none after `timeout` seconds."""
        return next_batch(self, timeout)

    def _tick(self) -> None:
        while not self._stopping.wait(self._poll_interval):
            self._has_been_notified.set()


def next_batch(subscription: Subscription[Any], timeout: float) -> list[Notification]:
    """Every notification the subscription holds now, or none after `timeout` seconds.

    Works on the library's `ListenNotifySubscription`s (this module's polling one for
    SQLite, `PostgresSubscription` woken by LISTEN/NOTIFY) by draining the queue their
    pull thread fills; any other subscription gives one notification at a time.
    Raises StopIteration once the subscription has been stopped.
    """
    if not isinstance(subscription, ListenNotifySubscription):
        return [next(subscription)]
    s: Any = subscription  # the library's queue and buffer (eventsourcing 9.5)
    batch: list[Notification] = []
    remainder = s._notifications[s._notifications_index :]
    if remainder:
        batch.extend(remainder)
        s._notifications_index = len(s._notifications)
    queue = s._notifications_queue
    try:
        if not batch:
            batch.extend(queue.get(timeout=timeout))
            queue.task_done()
        while not queue.empty():
            batch.extend(queue.get_nowait())
            queue.task_done()
    except ShutDown:
        pass
    except Exception as error:  # queue.Empty: nothing arrived in time
        if type(error).__name__ != "Empty":
            raise
    if s._has_been_stopped:
        if s._thread_error is not None:
            raise s._thread_error
        raise StopIteration
    return batch


class PollingSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, plus subscriptions that poll, and durable commits.

    Events are the only truth, so every connection that writes them commits with
    `PRAGMA synchronous=FULL`: in WAL mode a commit returns only after the WAL has been
    fsynced, so an acknowledged write survives a power cut, not only a crash. The library
    leaves SQLite's compiled-in default (FULL in the Python builds here, but NORMAL in
    some distributions' builds, which may lose the last commits on power loss); this says
    it explicitly. (The views are derived data and set NORMAL on their own file.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.poll_interval = Tuning.poll_interval  # the store sets its own
        self._subscriptions: weakref.WeakSet[PollingSubscription] = weakref.WeakSet()

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        subscription = PollingSubscription(
            self, gt=gt, topics=topics, poll_interval=self.poll_interval
        )
        self._subscriptions.add(subscription)
        return subscription

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The library's steps (SQLiteAggregateRecorder.insert_events, 9.5.6), with the
        # connection made durable first: SQLite refuses `synchronous` inside a transaction.
        with self.datastore.get_connection(commit=True) as connection:
            make_durable(connection)
            with connection.transaction(commit=True) as c:
                ids = self._insert_events(c, stored_events, **kwargs)
        for subscription in list(self._subscriptions):
            subscription.wake()
        return ids


def make_durable(connection: Any) -> None:
    """`synchronous=FULL` on an event store connection, once per connection."""
    if getattr(connection, "claimledger_durable", False):
        return
    with connection.cursor() as c:
        c.execute("PRAGMA synchronous=FULL")
    connection.claimledger_durable = True
