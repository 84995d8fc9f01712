"""Group commit: one writer thread saves what concurrent commands hand it, together.

SQLite (and the library's PostgreSQL recorder, which locks the events table) has one
writer at a time, so many threads each committing their own transaction mostly wait
for the lock and for the disk. Here each command hands its new events to the writer
and waits; the writer takes everything queued, orders it by time, and saves it in one
transaction. Each command stays atomic: when a gathered save fails (a version conflict
or a duplicate id), the writer saves the commands one by one, so only the conflicting
one fails. A command is answered only after its transaction committed, so a crash
loses no acknowledged write.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError, Recording

SaveEvents = Callable[..., list[Recording[Any]]]
MAX_GATHERED = 500


@dataclass
class _Submission:
    events: list[Any]
    done: Future[int] = field(default_factory=Future)

    @property
    def made_at(self) -> Any:
        return self.events[0].timestamp


class GroupCommitter:
    """Saves submissions of events in as few transactions as the load allows."""

    def __init__(self, save: SaveEvents, max_gathered: int = MAX_GATHERED) -> None:
        self._save = save
        self._max = max_gathered
        self._queue: queue.SimpleQueue[_Submission | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, events: Sequence[Any]) -> int:
        """Save these events atomically; returns the position of the last one.

        Raises the library's IntegrityError when they conflict with stored events.
        """
        if self._closed:
            raise RuntimeError("the ledger is closed")
        submission = _Submission(list(events))
        self._queue.put(submission)
        return submission.done.result()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            gathered = [first]
            stop = False
            while len(gathered) < self._max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                gathered.append(more)
            self._commit(gathered)
            if stop:
                return

    def _commit(self, gathered: list[_Submission]) -> None:
        # Made-earlier first, so within a transaction positions follow recorded_at.
        gathered.sort(key=lambda s: s.made_at)
        if len(gathered) > 1:
            try:
                recordings = self._save(*[e for s in gathered for e in s.events])
            except IntegrityError:
                pass  # someone in the group conflicts: find out who, one by one
            except BaseException as error:
                for submission in gathered:
                    submission.done.set_exception(error)
                return
            else:
                self._answer(gathered, recordings)
                return
        for submission in gathered:
            try:
                recordings = self._save(*submission.events)
            except BaseException as error:
                submission.done.set_exception(error)
            else:
                submission.done.set_result(recordings[-1].notification.id)

    @staticmethod
    def _answer(gathered: list[_Submission], recordings: list[Recording[Any]]) -> None:
        index = 0
        for submission in gathered:
            index += len(submission.events)
            submission.done.set_result(recordings[index - 1].notification.id)
