"""Catch-up on PostgreSQL: N claims recorded once into a template database, then per run
a fresh copy of it, read and decoded (the baseline) and projected into empty views; the
same workload on SQLite files is the cross-store baseline."""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.postgres.common import DATABASE_PREFIX, Say, open_pg
from bench.projection_bench import PAGE
from bench.workloads import ACTOR, claim_fields, prepare, read_and_decode
from domain.ledger import Ledger
from projections.store import Store, open_sqlite_store
from tests.postgres_databases import create_database, database_name, drop_database, fresh_database

CLAIMS_PER_METRIC = 50  # N claims over N / 50 metrics, at every size
RECORD_BATCH = 500  # claims per record_claims transaction


def metrics_for(claims: int) -> int:
    return max(1, claims // CLAIMS_PER_METRIC)


def record(ledger: Ledger, claims: int, say: Say) -> float:
    """Prepare and record `claims` claims, RECORD_BATCH per transaction: seconds taken."""
    metrics = metrics_for(claims)
    begun = last = time.perf_counter()
    prepare(ledger, metrics, digits=6)
    for start in range(0, claims, RECORD_BATCH):
        chunk = range(start, min(start + RECORD_BATCH, claims))
        ledger.record_claims([claim_fields(n, metrics, digits=6) for n in chunk], ACTOR)
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            say(
                f"  recorded {chunk.stop:,}/{claims:,} claims "
                f"({chunk.stop / (last - begun):,.0f}/s)"
            )
    return time.perf_counter() - begun


def timed_catch_up(store: Store, say: Say, label: str) -> dict[str, Any]:
    """Warm read (untimed), timed read + decode, then timed catch-up into empty views."""
    events = store.ledger.max_position()
    read_and_decode(store.ledger, PAGE)
    begun = time.perf_counter()
    decoded = read_and_decode(store.ledger, PAGE)
    decode_s = time.perf_counter() - begun
    begun = last = time.perf_counter()
    done = 0

    def progress(n: int) -> None:
        nonlocal done, last
        done += n
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            say(f"  {label}: projected {done:,}/{events:,} ({done / (last - begun):,.0f}/s)")

    reached = store.runner.catch_up(progress)
    catch_up_s = time.perf_counter() - begun
    if decoded != events or reached != events:
        raise RuntimeError(f"read {decoded} and projected to {reached} of {events} events")
    run = {
        "events": events,
        "decode_s": decode_s,
        "decode_rate": events / decode_s,
        "catch_up_s": catch_up_s,
        "catch_up_rate": events / catch_up_s,
        # this process's peak RSS so far: an upper bound on what the runner held
        "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    say(
        f"  {label}: catch-up {run['catch_up_rate']:8,.0f} events/s ({catch_up_s:.1f} s), "
        f"read+decode {run['decode_rate']:8,.0f} events/s"
    )
    return run


def recorded_template(admin_url: str, claims: int, say: Say) -> tuple[str, dict[str, Any]]:
    """A database holding the recorded events (empty views): the template of each run."""
    url = create_database(admin_url, DATABASE_PREFIX)
    store = open_pg(url)
    try:
        record_s = record(store.ledger, claims, say)
        events = store.ledger.max_position()
    finally:
        store.close()
    say(f"  postgres: recorded {claims:,} claims ({events:,} events) in {record_s:.1f} s")
    return url, {"claims": claims, "events": events, "record_s": record_s}


def run_catch_up_postgres(admin_url: str, claims: int, runs: int, say: Say) -> dict[str, Any]:
    """Catch-up on PostgreSQL (a fresh copy of the recorded database per run), then the
    same workload on SQLite files."""
    template, recorded = recorded_template(admin_url, claims, say)
    pg_runs = []
    try:
        for r in range(runs):
            with fresh_database(admin_url, DATABASE_PREFIX, database_name(template)) as url:
                store = open_pg(url)
                try:
                    pg_runs.append(timed_catch_up(store, say, f"postgres catch-up {r + 1}/{runs}"))
                finally:
                    store.close()
    finally:
        drop_database(admin_url, template)
    sqlite_runs = []
    with tempfile.TemporaryDirectory(prefix="claimledger-bench-pg-") as tmp:
        events_path = Path(tmp) / "ledger.db"
        store = open_sqlite_store(str(events_path), str(Path(tmp) / "unused.views.db"))
        try:
            sqlite_record_s = record(store.ledger, claims, say)
        finally:
            store.close()
        for r in range(runs):
            store = open_sqlite_store(str(events_path), str(Path(tmp) / f"run-{r}.views.db"))
            try:
                sqlite_runs.append(timed_catch_up(store, say, f"sqlite catch-up {r + 1}/{runs}"))
            finally:
                store.close()
    return {
        **recorded,
        "metrics": metrics_for(claims),
        "record_rate": claims / recorded["record_s"],
        "sqlite_record_s": sqlite_record_s,
        "sqlite_record_rate": claims / sqlite_record_s,
        "postgres_runs": pg_runs,
        "sqlite_runs": sqlite_runs,
    }
