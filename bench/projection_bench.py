"""The projection figures: catch-up of empty views in events/s, against merely reading
and decoding the same events, on a store recorded through the ledger directly.

Three workloads: N claims at 50 per metric ("spread"), and M claims at 10 per metric
("sparse") against the same M claims all on one metric ("hot"), which shows whether a
metric's size still costs per event.

Also the write path in the same process, without HTTP: claims recorded one per
transaction (what each POST does) against bare SQLite commits on the same filesystem
(the fsync floor), and 500 claims per transaction (what a batch does).
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.workloads import ACTOR, bare_claim_fields, prepare, read_and_decode
from domain.ledger import Ledger
from projections.store import open_sqlite_store

SOURCES = 20
CLAIMS_PER_METRIC = 50  # the spread workload: N claims over N / 50 metrics
SPARSE_CLAIMS_PER_METRIC = 10  # against the same number of claims on one hot metric
PAGE = 500  # the baseline's read page and record_claims' batch; the runner reads in its own


def record(ledger: Ledger, claims: int, metrics: int, batch: int) -> float:
    """Record `claims` claims, `batch` per transaction; returns the seconds taken."""
    begun = time.perf_counter()
    if batch == 1:
        for n in range(claims):
            ledger.record_claim(bare_claim_fields(n, metrics, SOURCES), ACTOR)
    else:
        for start in range(0, claims, batch):
            chunk = range(start, min(start + batch, claims))
            ledger.record_claims([bare_claim_fields(n, metrics, SOURCES) for n in chunk], ACTOR)
    return time.perf_counter() - begun


def bare_commits(path: Path, count: int) -> float:
    """Seconds for `count` one-row transactions in plain sqlite3, WAL as the store uses it."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE rows (n INTEGER PRIMARY KEY, body BLOB)")
        body = b"x" * 600  # about one Claim.Recorded event
        begun = time.perf_counter()
        for n in range(count):
            connection.execute("BEGIN")
            connection.execute("INSERT INTO rows VALUES (?, ?)", (n, body))
            connection.execute("COMMIT")
        return time.perf_counter() - begun
    finally:
        connection.close()


def catch_up_runs(
    events_path: Path, runs: int, label: str, say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Per run: the baseline, then `runner.catch_up()` into a new, empty views file."""
    results = []
    warm = open_sqlite_store(str(events_path), str(events_path.with_name("warm.views.db")))
    read_and_decode(warm.ledger, PAGE)  # untimed: the first read pays for the page cache
    warm.close()
    for r in range(runs):
        views_path = events_path.with_name(f"{label}-{r}.views.db")
        store = open_sqlite_store(str(events_path), str(views_path))
        try:
            events = store.ledger.max_position()
            begun = time.perf_counter()
            decoded = read_and_decode(store.ledger, PAGE)
            decode_s = time.perf_counter() - begun
            begun = time.perf_counter()
            reached = store.runner.catch_up()
            catch_up_s = time.perf_counter() - begun
        finally:
            store.close()
        if decoded != events or reached != events:
            raise RuntimeError(f"read {decoded} and projected to {reached} of {events} events")
        run = {
            "events": events,
            "catch_up_s": catch_up_s,
            "catch_up_rate": events / catch_up_s,
            "decode_s": decode_s,
            "decode_rate": events / decode_s,
        }
        results.append(run)
        say(
            f"  projection {label} run {r + 1}/{runs}: catch-up {run['catch_up_rate']:8.0f} "
            f"events/s ({catch_up_s:.2f} s), read+decode {run['decode_rate']:8.0f} events/s"
        )
    return results


def sparse_and_hot(
    root: Path, claims: int, runs: int, say: Callable[[str], None]
) -> dict[str, Any]:
    """The same number of claims at 10 per metric, then all on one metric."""
    metrics = max(1, claims // SPARSE_CLAIMS_PER_METRIC)
    results: dict[str, Any] = {}
    for label, over in (("sparse", metrics), ("hot", 1)):
        path = root / f"{label}.db"
        store = open_sqlite_store(str(path), str(root / f"unused-{label}.views.db"))
        prepare(store.ledger, over, sources=SOURCES, rated=False)
        record(store.ledger, claims, over, PAGE)
        store.close()
        say(f"  recorded {claims} claims over {over} metric(s)")
        results[label] = {
            "claims": claims,
            "metrics": over,
            "runs": catch_up_runs(path, runs, label, say),
        }
    return results


def run_projection(
    claims: int, hot_claims: int, write_claims: int, runs: int, say: Callable[[str], None]
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="claimledger-bench-") as tmp:
        root = Path(tmp)
        metrics = max(1, claims // CLAIMS_PER_METRIC)

        spread_path = root / "spread.db"
        store = open_sqlite_store(str(spread_path), str(root / "unused-spread.views.db"))
        prepare(store.ledger, metrics, sources=SOURCES, rated=False)
        recorded_s = record(store.ledger, claims, metrics, PAGE)
        store.close()
        say(f"  recorded {claims} claims over {metrics} metrics in {recorded_s:.2f} s")
        spread = catch_up_runs(spread_path, runs, "spread", say)

        per_metric = sparse_and_hot(root, hot_claims, runs, say)

        writes = []
        for r in range(runs):
            bare_s = bare_commits(root / f"bare-{r}.db", write_claims)
            store = open_sqlite_store(str(root / f"writes-{r}.db"))
            try:
                prepare(store.ledger, 1, sources=SOURCES, rated=False)
                single_s = record(store.ledger, write_claims, 1, 1)
                batched_s = record(store.ledger, write_claims, 1, PAGE)
            finally:
                store.close()
            writes.append(
                {
                    "claims": write_claims,
                    "bare_commit_rate": write_claims / bare_s,
                    "single_rate": write_claims / single_s,
                    "batched_rate": write_claims / batched_s,
                }
            )
            say(
                f"  in-process writes run {r + 1}/{runs}: bare commits "
                f"{writes[-1]['bare_commit_rate']:6.0f}/s, one claim per transaction "
                f"{writes[-1]['single_rate']:6.0f}/s, {PAGE} per transaction "
                f"{writes[-1]['batched_rate']:6.0f}/s"
            )
    return {
        "spread": {
            "claims": claims,
            "metrics": metrics,
            "record_batched_s": recorded_s,
            "runs": spread,
        },
        **per_metric,
        "writes": {"runs": writes},
    }
