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

import asyncio
import contextlib
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError, Recording

from domain.commits import SaveEvents

MAX_GATHERED = 500


@dataclass
class _Submission:
    events: list[Any]
    done: Future[int] = field(default_factory=Future)

    @property
    def made_at(self) -> Any:
        return self.events[0].timestamp


@dataclass
class _Handover:
    """Submissions queued together, and what to call once all of them are answered."""

    submissions: list[_Submission]
    answered: Callable[[list[Future[int]]], None] | None = None


class GroupCommitter:
    """Saves submissions of events in as few transactions as the load allows."""

    def __init__(self, save: SaveEvents, max_gathered: int = MAX_GATHERED) -> None:
        self._save = save
        self._max = max_gathered
        self._queue: queue.SimpleQueue[_Handover | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._closed = False
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopGatherer] = (
            weakref.WeakKeyDictionary()
        )
        self._thread.start()

    def submit(self, events: Sequence[Any]) -> int:
        """Save these events atomically; returns the position of the last one.

        Raises the library's IntegrityError when they conflict with stored events.
        """
        return self.submit_all([events])[0].result()

    def submit_all(
        self,
        event_lists: Sequence[Sequence[Any]],
        answered: Callable[[list[Future[int]]], None] | None = None,
    ) -> list[Future[int]]:
        """Queue several submissions at once, each saved atomically; each future holds the
        position of its last event once committed, or its error (IntegrityError on a
        conflict). `answered` is called with those futures, in the writer's thread, once
        all of them are answered."""
        if self._closed:
            raise RuntimeError("the ledger is closed")
        submissions = [_Submission(list(events)) for events in event_lists]
        self._queue.put(_Handover(submissions, answered))
        return [s.done for s in submissions]

    async def submit_async(self, events: Sequence[Any]) -> int:
        """`submit` for an event loop: awaits the commit instead of holding a thread.

        The submissions made during one turn of the loop are handed to the writer
        together, and the loop is woken once when they are all answered: two signals
        between threads per turn instead of two per command.
        """
        loop = asyncio.get_running_loop()
        gatherer = self._loops.get(loop)
        if gatherer is None:
            gatherer = self._loops[loop] = _LoopGatherer(self, loop)
        return await gatherer.submit(list(events))

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
            handovers = [first]
            gathered = list(first.submissions)
            stop = False
            while len(gathered) < self._max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                handovers.append(more)
                gathered += more.submissions
            self._commit(gathered)
            for handover in handovers:
                if handover.answered is not None:
                    handover.answered([s.done for s in handover.submissions])
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


class _LoopGatherer:
    """One event loop's submissions, handed over once per turn of the loop."""

    def __init__(self, committer: GroupCommitter, loop: asyncio.AbstractEventLoop) -> None:
        self._committer = committer
        self._loop = loop
        self._pending: list[tuple[list[Any], asyncio.Future[int]]] = []

    async def submit(self, events: list[Any]) -> int:
        waiter: asyncio.Future[int] = self._loop.create_future()
        if not self._pending:
            self._loop.call_soon(self._hand_over)
        self._pending.append((events, waiter))
        return await waiter

    def _hand_over(self) -> None:
        pending, self._pending = self._pending, []

        def answered(done: list[Future[int]]) -> None:  # in the writer's thread
            # A closed loop raises RuntimeError: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._answer, pending, done)

        try:
            self._committer.submit_all([events for events, _ in pending], answered)
        except BaseException as error:
            for _, waiter in pending:
                if not waiter.done():
                    waiter.set_exception(error)

    @staticmethod
    def _answer(
        pending: list[tuple[list[Any], asyncio.Future[int]]], done: list[Future[int]]
    ) -> None:
        for (_, waiter), future in zip(pending, done, strict=True):
            if waiter.done():  # cancelled: the client went away; the commit stands
                continue
            error = future.exception()
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(future.result())
