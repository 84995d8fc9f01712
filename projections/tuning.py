"""The projections' knobs in one place: batch, chunk, cache and page sizes, and waits.

A `Tuning` is handed to the store when it is opened (`open_sqlite_store`,
`open_postgres_store`) and to the rebuild and verify entry points, and passed down to
whoever needs a knob; tests open stores with a small one. None of these changes what is
stored or answered, only how fast and in how much memory. The measurements behind the
defaults are in docs/benchmarks.md and the decision records.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    # Events a catch-up or a replay applies in one transaction: fewer commits, more memory.
    batch_size: int = 20_000
    # How long the live subscription waits for new events before looking again.
    poll_interval: float = 0.1
    # Events behind from which a forked process prepares the catch-up: below it, forking
    # and handing over cost more than they save.
    prepare_from: int = 2_000
    # Events a hand-over from the preparing process carries: applying starts soon, the
    # pipe costs little per event.
    chunk: int = 250
    # The first hand-over is smaller: the runner waits for it.
    first_chunk: int = 50
    # The pipe's size, so the preparing process runs ahead of the runner.
    pipe_bytes: int = 1 << 20
    # How long the runner waits for a silent preparing process (a forked process can
    # inherit a locked mutex and hang) before catching up alone.
    stall_seconds: float = 10.0
    # The page cache of the SQLite connection that catches up far behind: the random-key
    # indexes then stay in memory.
    catch_up_cache_kib: int = 128 * 1024
    # How often a standby runner tries to become the active one.
    standby_poll_seconds: float = 0.2
    # The estimates kept in memory, least recently used going first, by weight: a metric
    # weighs 1 + `IncrementalEstimate.weight`, so one with many origins counts for more
    # (a count of metrics thrashed on replays cycling through many one-origin metrics).
    max_cached_weight: int = 400_000
    # Claims whose current state stays in memory for corrections and status changes,
    # least recently written going first; an older one is read back from `claims`.
    max_cached_claim_states: int = 50_000
    # Young objects beyond which a batch boundary runs the paused cycle collector.
    young_limit: int = 1_000_000
    # Results of a stored-value conversion remembered (dates and amounts recur).
    memo_size: int = 1 << 16
    # Events from which verify checks the log in a second process, beside the views:
    # below, starting the process costs more than it saves.
    parallel_from: int = 50_000
    # Stored rows of an append-only view fetched and compared at a time: a whole batch's
    # worth falls out of the CPU's caches before the comparison.
    compared_at_a_time: int = 1000
    # Notifications read at a time when a replay reads the ledger.
    replay_page: int = 1000
    # Stored claims read at a time when verify compares the claims.
    claims_fetch: int = 2000
    # Rows of the sealed log and of the signed heads read at a time (keyset pages: no
    # round trip per event).
    keyset_page: int = 5000
    # Signed sizes whose roots a process remembers; past it the memory is dropped and each
    # size is compared with its stored row again the next time it is signed.
    remembered_sizes: int = 100_000
    # How long a process trusts the write alarm it last read: another process may raise
    # or clear it.
    alarm_read_every_seconds: float = 1.0
