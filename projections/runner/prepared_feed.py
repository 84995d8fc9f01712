"""Catching up far behind in two processes (decision 0010).

Much of a catch-up's time goes to reading and decoding the stored events and making each
one's feed row, leaf hash and Merkle nodes: work that needs no view. When
the views are far behind a SQLite event store, the runner forks a preparing process that
does that work (`prepare`, with the projection's own `FeedEvents` and `FeedLog`) and
hands each batch over a pipe, one batch ahead, while this process applies the previous
one: it writes those rows as they come and runs the other handlers, as `apply_records`
would. The views end up exactly as the one-process catch-up leaves them (tests hold the
two equal).

The preparing process is forked, not started afresh, so it costs milliseconds, and it
reads the events file with a connection of its own (never one inherited: SQLite forbids
it) and exits with `os._exit`, as `multiprocessing` ends a forked child, so nothing of
this process's is closed or flushed there. Anything it cannot do (an error, a death) ends
the hand-over; the runner then goes on in one process from where the views are, and
meets any bad event there as it always would.
"""

from __future__ import annotations

import fcntl
import logging
import marshal
import multiprocessing
import signal
from collections.abc import Iterator
from contextlib import suppress
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from eventsourcing.application import Application

from projections.events.event_rows import EventRow, EventRows
from projections.events.feed_events import FeedEvents, as_feed_event
from projections.events.prepared_batch import PreparedBatch
from projections.log.merkle import StoredNode
from projections.storage.collector import collector_paused
from projections.storage.ledger_views import BaseLedgerViews
from projections.tuning import Tuning
from projections.writer.feed_log import FeedLog
from projections.writer.pending_rows import PendingRows

log = logging.getLogger(__name__)


def prepare(events: FeedEvents, feed: FeedLog, rows: list[EventRow], leaf: int) -> PreparedBatch:
    """The rows' events as the projection reads them, their feed rows and the Merkle nodes
    they complete, the first taking leaf index `leaf`."""
    prepared = []
    for index, row in enumerate(rows, leaf):
        e = events.applied(row)
        feed.index_and_seal(None, e, index)
        prepared.append(as_feed_event(e))
    index_rows = feed.pending.take("event_index")
    nodes = [(level, start, hash_) for level, start, hash_ in feed.pending.take("merkle_nodes")]
    return PreparedBatch(leaf, prepared, index_rows, nodes)


def prepare_all(
    receiver: Connection,
    sender: Connection,
    events: FeedEvents,
    after: int,
    until: int,
    leaf: int,
    compact_range: dict[int, StoredNode],
    tuning: Tuning,
) -> None:
    """The preparing process: every event after position `after` up to `until`, in
    chunks of `tuning.chunk`, sent as ("batch", PreparedBatch) messages, then ("end", None), or
    ("error", why) at the first thing it cannot do. Once the runner is gone (killed, or
    done listening), the next send fails and this process ends."""
    receiver.close()  # the runner's end, inherited: else the pipe outlives the runner
    detach_signals()
    feed = FeedLog(PendingRows())
    feed.compact_range.update(compact_range)  # so appending never reads the views
    try:
        with collector_paused(tuning.young_limit) as collector:
            batches = events.rows.batches(until, tuning.chunk, after)
            for rows in first_split(batches, tuning.first_chunk):
                batch = prepare(events, feed, rows, leaf)
                leaf += len(rows)
                sender.send_bytes(marshal.dumps(("batch", tuple(batch))))
                collector.between_batches()
        sender.send_bytes(marshal.dumps(("end", None)))
    except Exception as error:
        with suppress(OSError):  # the runner may have stopped listening
            sender.send_bytes(marshal.dumps(("error", f"{type(error).__name__}: {error}")))
    finally:
        sender.close()


def detach_signals() -> None:
    """The runner's process may have Python signal handlers (a server's, to shut down)
    and a wakeup fd (an event loop's), both inherited here. A signal to this process must
    run neither, nor write to that fd, which the runner's process reads too: termination
    just ends it, and Ctrl-C is the runner's to handle."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)


def widen(pipe: Connection, size: int) -> None:
    """Let the pipe hold a few chunks (Linux: up to `pipe-max-size`, 1 MiB by default),
    so the preparing process runs ahead instead of waiting for each read."""
    with suppress(OSError, AttributeError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, size)


def first_split(batches: Iterator[list[EventRow]], first: int) -> Iterator[list[EventRow]]:
    """The batches, the first cut after `first` rows: the runner waits for it."""
    for number, rows in enumerate(batches):
        if number == 0 and len(rows) > first:
            yield rows[:first]
            yield rows[first:]
        else:
            yield rows


class PreparedFeed:
    """Batches made by a forked preparing process, received in position order."""

    def __init__(self, process: Any, receiver: Connection, stall_seconds: float) -> None:
        self.process = process
        self.receiver = receiver
        self.stall_seconds = stall_seconds
        self.complete = False  # every event was prepared and received

    @classmethod
    def start(
        cls,
        ledger: Application[Any],
        views: BaseLedgerViews,
        after: int,
        until: int,
        tuning: Tuning,
    ) -> PreparedFeed | None:
        """Fork the preparing process for the events after `after` up to `until`; None
        where it cannot run (events not in a SQLite file, no fork on this system)."""
        rows = EventRows.of(ledger)
        if rows is None or "fork" not in multiprocessing.get_all_start_methods():
            return None
        leaf, compact_range = views.log_compact_range()
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        widen(sender, tuning.pipe_bytes)
        process = context.Process(
            target=prepare_all,
            args=(
                receiver,
                sender,
                FeedEvents(rows, ledger.mapper),
                after,
                until,
                leaf,
                compact_range,
                tuning,
            ),
            name="claimledger-prepare",
            daemon=True,
        )
        try:
            process.start()
        except (AssertionError, OSError) as error:  # a daemonic runner, no processes left
            log.warning(
                "cannot start the preparing process (%s); catching up in one process", error
            )
            receiver.close()
            return None
        finally:
            sender.close()  # the child's end: EOF here once the child is gone
        return cls(process, receiver, tuning.stall_seconds)

    def __iter__(self) -> Iterator[PreparedBatch]:
        while True:
            try:
                if not self.receiver.poll(self.stall_seconds):
                    log.warning(
                        "the preparing process sent nothing for %s s; catching up in one process",
                        self.stall_seconds,
                    )
                    return
                kind, content = marshal.loads(self.receiver.recv_bytes())
            except (EOFError, OSError):
                log.warning("the preparing process ended early; catching up in one process")
                return
            if kind == "batch":
                yield PreparedBatch(*content)
            elif kind == "error":
                log.warning("preparing stopped (%s); catching up in one process", content)
                return
            else:
                self.complete = True
                return

    def close(self) -> None:
        self.receiver.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)
        if self.process.is_alive():  # not ended by SIGTERM: it cannot be left behind
            self.process.kill()
            self.process.join()

    def __enter__(self) -> PreparedFeed:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
