"""Batch ingest figures: claims per second through the ledger, over
HTTP (`POST /v1/claims/batch`) and through `claimledger import`, against raw `sqlite3`
inserts of the same stored rows in one transaction, measured in the same run.

- The baseline: the claims are built and encoded once, untimed, by the ledger's own
  code (`new_claim`, then the library's mapper: the very bytes `save()` would write).
  The timed part inserts those rows with `executemany` into a new SQLite file beside
  the others (same disk), in a table created by the library's own statement for
  `stored_events`, in WAL mode with `synchronous=FULL` (as the event store commits),
  in one transaction, and commits.
- In-process: `Ledger.record_claims` on a new store, 1,000 claims a call (what the
  batch route and the import do after parsing), projections not running.
- HTTP: `claimledger serve` on a new store (a copy of one holding the demo seed and the
  benchmark's metrics, prepared once in this process, as for every server here), 2
  keep-alive clients each posting JSON arrays of 1,000 claims, closed loop, for the
  phase's time; claims/s counts the claims of 201 answers. The server projects them as
  they come (its runner in the same process), as it does in production; a second server
  with `CLAIMLEDGER_PROJECTIONS=worker` shows the ingest alone.
- The floor: one claim's cost through the library, step by step, each timed on its own
  over all the claims in the same run as the baseline: building the `Claim` aggregates
  and their events (`new_claim`, `collect_events`), the library's mapper encoding them
  (`to_stored_event`), the ledger's recorder inserting those stored events in one
  transaction on a new store (`recorder.insert_events`, the call the group committer's
  save ends in), and, apart, the request validation the HTTP route and the import add.
  Their sum (no checks, no writer thread) bounds what `record_claims` can reach.
- `claimledger import FILE` as a subprocess on a new store of the same shape: wall time
  for the whole command (start-up, parsing and validating every line, recording batch
  by batch), with `CLAIMLEDGER_PROJECTIONS=worker` so that it leaves the projection to
  a worker (the projection's own figures are elsewhere).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from api.requests import RecordClaimRequest
from bench.http_bench import Stopping, copy_store, issue_contributor_key, prepared_store
from bench.http_load import Phase, post_json, run_phase
from bench.server import Server, claimledger_command
from bench.workloads import ACTOR, claim_body, posted_claim_fields
from domain.claim_commands import new_claim
from domain.claims import ClaimFields
from domain.ledger import Ledger
from projections.store import open_sqlite_store

Say = Callable[[str], None]
BATCH = 1_000  # claims per POST /v1/claims/batch, per record_claims call, per import batch
HTTP_CLIENTS = 2


def batch_body(n: int) -> list[dict[str, Any]]:
    """The n-th batch: claims n*BATCH ... (n+1)*BATCH-1, as a JSON array's items."""
    return [claim_body(n * BATCH + i) for i in range(BATCH)]


def stored_rows(ledger: Ledger, fields: list[ClaimFields]) -> list[tuple[str, int, str, bytes]]:
    """The rows `save()` would write for these claims: the library's own encoding."""
    rows = []
    for f in fields:
        for event in new_claim(f, ACTOR).collect_events():
            stored = ledger.mapper.to_stored_event(event)
            rows.append(
                (
                    stored.originator_id.hex,  # type: ignore[union-attr]
                    stored.originator_version,
                    stored.topic,
                    stored.state,
                )
            )
    return rows


def raw_insert_rate(directory: Path, create: str, rows: list[tuple[str, int, str, bytes]]) -> float:
    """Rows per second: executemany into a new WAL file, synchronous=FULL, one commit."""
    path = directory / f"raw-{time.monotonic_ns()}.db"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(create)
        begun = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", rows)
        db.execute("COMMIT")
        elapsed = time.perf_counter() - begun
    finally:
        db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return len(rows) / elapsed


def ceiling(step_us: Sequence[float], raw_rate: float) -> float:
    """The best ratio to raw inserts that claims costing these steps can reach: raw
    µs a row over the steps' sum (a claim is one stored row)."""
    return 1e6 / raw_rate / sum(step_us)


def floor_steps(directory: Path, fields: list[ClaimFields], bodies: list[Any]) -> dict[str, float]:
    """One claim's cost through the library (µs a claim), each step timed on its own over
    all the claims; the first three are what any save of these claims does."""
    count = len(fields)
    begun = time.perf_counter()
    events = [e for f in fields for e in new_claim(f, ACTOR).collect_events()]
    domain = time.perf_counter() - begun
    store = open_sqlite_store(str(directory / "floor.db"))
    try:
        begun = time.perf_counter()
        stored = [store.ledger.mapper.to_stored_event(e) for e in events]
        mapper = time.perf_counter() - begun
        begun = time.perf_counter()
        store.ledger.recorder.insert_events(stored)
        recorder = time.perf_counter() - begun
    finally:
        store.close()
    begun = time.perf_counter()
    for body in bodies:
        RecordClaimRequest.model_validate(body).to_fields()
    validation = time.perf_counter() - begun
    return {
        "domain_us": domain * 1e6 / count,
        "mapper_us": mapper * 1e6 / count,
        "recorder_us": recorder * 1e6 / count,
        "validation_us": validation * 1e6 / count,
    }


def record_rate(prepared: Path, directory: Path, fields: list[ClaimFields]) -> float:
    """Claims per second through `Ledger.record_claims`, BATCH a call, on a new store."""
    store = open_sqlite_store(str(copy_store(prepared, directory)))
    try:
        begun = time.perf_counter()
        for start in range(0, len(fields), BATCH):
            store.ledger.record_claims(fields[start : start + BATCH], ACTOR)
        return len(fields) / (time.perf_counter() - begun)
    finally:
        store.close()


def import_rate(prepared: Path, directory: Path, count: int) -> dict[str, float]:
    """`claimledger import` of `count` claims on a new prepared store: wall time."""
    database = copy_store(prepared, directory)
    lines = directory / "claims.jsonl"
    lines.write_text("".join(json.dumps(claim_body(n)) + "\n" for n in range(count)))
    env = dict(os.environ)
    env.update(
        CLAIMLEDGER_DATABASE_URL=f"sqlite:///{database}",
        CLAIMLEDGER_PROJECTIONS="worker",
    )
    command = [*claimledger_command(), "import", str(lines), "--batch-size", str(BATCH)]
    begun = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - begun
    if done.returncode != 0 or f"imported {count} claims" not in done.stdout:
        raise RuntimeError(f"claimledger import failed: {done.stdout[-500:]} {done.stderr[-1500:]}")
    return {"wall_s": wall, "rate": count / wall}


def http_rate(
    prepared: Path,
    directory: Path,
    seconds: float,
    warmup: float,
    projections: str,
    stopping: Stopping,
) -> dict[str, Any]:
    extra = {"CLAIMLEDGER_PROJECTIONS": projections}
    database = copy_store(prepared, directory)
    server = Server(directory, database=database, demo=False, extra_env=extra)
    with stopping.serving(server):
        admin = {"Authorization": f"Bearer {server.admin_key}"}
        if projections == "api":
            headers = {"Authorization": f"Bearer {issue_contributor_key(server, admin)}"}
            server.wait_caught_up()
        else:  # no runner here: an issued key would never reach the views
            headers = admin
        stopping.wait()  # the previous server is gone before anything is timed
        phase = Phase(
            f"batch@{HTTP_CLIENTS}", post_json("/v1/claims/batch", batch_body), HTTP_CLIENTS, 201
        )
        result, errors = run_phase(server.base_url, headers, phase, seconds, warmup, server.pid)
        if errors:
            raise RuntimeError(f"POST /v1/claims/batch: {result.errors} failed: {errors}")
        lag = drained = 0.0
        if projections == "api":
            drained, lag_events = server.wait_caught_up(timeout=600)
            lag = float(lag_events)
    figures = result.as_dict()
    figures["claims_rate"] = result.rate * BATCH
    figures["projection_lag_events"] = lag
    figures["projection_drain_s"] = drained
    return figures


def library_create_statement(directory: Path) -> str:
    """The library's own CREATE TABLE for `stored_events` (an application recorder's)."""
    store = open_sqlite_store(str(directory / "shape.db"))
    try:
        statements: list[str] = store.ledger.recorder.create_table_statements  # type: ignore[attr-defined]
    finally:
        store.close()
    (create,) = [s for s in statements if "stored_events" in s]
    return create


def run_ingest(claims: int, runs: int, seconds: float, warmup: float, say: Say) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    tmp_dir = tempfile.TemporaryDirectory(prefix="claimledger-ingest-")
    with tmp_dir as tmp, Stopping() as stopping:  # servers stopped before the files go
        root = Path(tmp)
        create = library_create_statement(root)
        prepared = prepared_store(root / "prepared")
        fields = posted_claim_fields(claims)
        scratch = Ledger()  # the mapper only: the bytes are the same on any store
        rows = stored_rows(scratch, fields)
        scratch.close()
        mean_bytes = sum(len(r[3]) for r in rows) / len(rows)
        bodies = [claim_body(n) for n in range(claims)]
        for r in range(runs):
            run: dict[str, Any] = {"claims": claims}
            run["raw_rate"] = raw_insert_rate(root, create, rows)
            floor = run["floor"] = floor_steps(root / f"floor-{r}", fields, bodies)
            steps = [floor["domain_us"], floor["mapper_us"], floor["recorder_us"]]
            floor["sum_us"] = sum(steps)
            floor["ceiling"] = ceiling(steps, run["raw_rate"])
            run["record_rate"] = record_rate(prepared, root / f"record-{r}", fields)
            run["import"] = import_rate(prepared, root / f"import-{r}", claims)
            run["http"] = http_rate(prepared, root / f"http-{r}", seconds, warmup, "api", stopping)
            run["http_worker"] = http_rate(
                prepared, root / f"http-worker-{r}", seconds, warmup, "worker", stopping
            )
            stopping.wait()
            run["raw_rate_after"] = raw_insert_rate(root, create, rows)
            results.append(run)
            say(
                f"  ingest run {r + 1}/{runs}: raw sqlite3 {run['raw_rate']:,.0f}/"
                f"{run['raw_rate_after']:,.0f} rows/s, record_claims {run['record_rate']:,.0f}/s, "
                f"import {run['import']['rate']:,.0f}/s, POST batch "
                f"{run['http']['claims_rate']:,.0f}/s (projecting; "
                f"server {run['http']['server_cpu']:.0%}), "
                f"{run['http_worker']['claims_rate']:,.0f}/s (not projecting); floor "
                f"{floor['domain_us']:.1f}+{floor['mapper_us']:.1f}+{floor['recorder_us']:.1f}"
                f" = {floor['sum_us']:.1f} µs a claim (raw {1e6 / run['raw_rate']:.1f} µs a row:"
                f" ceiling {floor['ceiling']:.2f} of raw)"
            )
    return {
        "claims": claims,
        "batch": BATCH,
        "http_clients": HTTP_CLIENTS,
        "mean_state_bytes": mean_bytes,
        "create_statement": create,
        "runs": results,
    }


if __name__ == "__main__":  # a quick look: python -m bench.ingest_bench [claims]
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(json.dumps(run_ingest(count, 1, 3.0, 0.5, print), indent=1)[:3000])
