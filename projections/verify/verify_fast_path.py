"""`verify`'s fast path on SQLite (decision 0008): the log half and the views half of
`projections.verify.append_only_check`, side by side, each in one snapshot of the stored views.

`check_in_write_order` answers the log's size and root when every stored view equals its
rebuild, and None when it cannot show that; `verification.verify_store` then runs the
full rebuild, which names the first divergence.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Application

from projections.storage.collector import collector_paused
from projections.storage.schema import VIEW_TABLES
from projections.storage.sqlite_files import sqlite_file_of_events
from projections.tuning import Tuning
from projections.verify.append_only_check import (
    IN_WRITE_ORDER,
    VIEWS_TABLES,
    ComparedRows,
    ComparedViews,
    StoredInOrder,
    feed_records,
    nothing_beyond,
)
from projections.verify.claims_check import ClaimsInVersions
from projections.verify.log_half import log_half
from projections.verify.replay import (
    Progress,
    Verified,
    apply_batch,
    beside_a_snapshot,
)
from projections.verify.view_comparison import column_names, first_difference_attached

# Views the views half checks without rebuilding them (`claims_check`).
NOT_REBUILT = frozenset({"claims"})

log = logging.getLogger(__name__)


class LogHalfFailed(Exception):
    """The second process did not answer (it could not start, or it crashed)."""


def check_in_write_order(
    app: Application[Any],
    stored_file: str,
    on_progress: Progress | None = None,
    parallel: bool | None = None,
    tuning: Tuning | None = None,
) -> Verified | None:
    """`verify`'s fast path (`projections.verify.append_only_check`): the size and root of
    the log when every stored view equals its rebuild, None when this cannot show it.

    The log half runs in a second process (`parallel`; by default from `tuning.parallel_from`
    events on, when the events are a file), beside the views half here."""
    tuning = tuning or Tuning()
    with beside_a_snapshot(stored_file, ComparedViews, tuning) as (rebuilt, db, until):
        assert isinstance(rebuilt, ComparedViews)
        events_file = sqlite_file_of_events(app)
        if parallel is None:
            parallel = until >= tuning.parallel_from
        if not parallel or events_file is None:
            views_equal = views_half(rebuilt, db, until, on_progress)
            logged = log_half(app, db, until, tuning) if views_equal else None
        else:
            with log_half_in_a_process(events_file, stored_file, until) as logged_there:
                views_equal = views_half(rebuilt, db, until, on_progress)
                try:
                    logged = logged_there() if views_equal else None
                except LogHalfFailed as failure:  # checked here instead, later
                    log.warning("%s; checking the log in this process instead", failure)
                    logged = log_half(app, db, until, tuning)
        if not views_equal or logged is None:
            return None
        return Verified(*logged)


def views_half(
    rebuilt: ComparedViews, db: sqlite3.Connection, until: int, on_progress: Progress | None
) -> bool:
    """The stored feed replayed through the projection's handlers: claim versions and
    claims equal the stored ones in write order (`claims_check`), every other view (but
    the log's) equal by key."""
    tuning = rebuilt.tuning
    rows = ComparedRows(StoredInOrder(db, VIEWS_TABLES, tuning.compared_at_a_time))
    claims = ClaimsInVersions(rows, db, tuning.claims_fetch)
    rebuilt.compare_with(rows, claims)
    try:
        with collector_paused(tuning.young_limit) as collector:
            for batch in feed_records(db, until, tuning.batch_size):
                if apply_batch(rebuilt, batch) is not None:
                    return False
                collector.between_batches()
                if on_progress is not None:
                    on_progress(len(batch))
    except Exception:  # a stored feed row that does not decode: the log half's to name
        return False
    if not rows.stored.all_seen() or not nothing_beyond(db, until):
        return False
    if not claims.all_equal():
        return False
    return not any(
        first_difference_attached(db, table, column_names(rebuilt, table))
        for table in VIEW_TABLES
        if table not in IN_WRITE_ORDER and table not in NOT_REBUILT
    )


@contextmanager
def log_half_in_a_process(
    events_file: str, stored_file: str, until: int
) -> Iterator[Callable[[], tuple[int, str] | None]]:
    """`log_half` started in a new Python process (`projections.verify.log_half_process`: this
    one has threads, and its main module may not be importable twice); yields how to wait
    for its answer. A process still running (the views half failed) is stopped."""
    with tempfile.TemporaryFile() as errors:  # not a pipe: nobody reads it until the end
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "projections.verify.log_half_process",
                events_file,
                stored_file,
                str(until),
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
        )

        def answer() -> tuple[int, str] | None:
            out, _ = process.communicate()
            if process.returncode != 0:
                errors.seek(0)
                said = errors.read().decode(errors="replace").strip().splitlines()
                raise LogHalfFailed(
                    f"verify's second process exited with status {process.returncode}: "
                    + (said[-1] if said else "no message")
                )
            logged = json.loads(out)
            return (int(logged[0]), str(logged[1])) if logged is not None else None

        try:
            yield answer
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
