"""The PostgreSQL figures: HTTP writes with 1 and 4 API processes, projection
catch-up, and how both change with the size of the store.

Needs a PostgreSQL server whose user may create databases, named by
CLAIMLEDGER_BENCH_POSTGRES_URL (`postgresql://user:pass@127.0.0.1:port/db`); every run
gets a fresh database of its own, dropped afterwards (as tests/conftest.py does).

- HTTP (`python -m bench --only postgres`): per run and per target, a fresh store and a
  fresh `claimledger serve` on 127.0.0.1, driven by bench/http_load.py's closed-loop
  clients: `GET /healthz` at 32 clients (the baseline, same server, same run), then
  `POST /v1/claims` at 32. The targets: SQLite (`--workers 1`, projections in the API
  process, as `make run` deploys it: the cross-store baseline), and PostgreSQL with
  `--workers 1` and `--workers 4`, `CLAIMLEDGER_PROJECTIONS=worker` and one
  `claimledger worker` process (docs/deployment.md). CPU is measured per group of
  processes from /proc: the API processes (the uvicorn parent and its workers), the
  projection worker, the PostgreSQL server (the backends of the run's database and the
  server's background processes), the client (this process), and everything else.
- Catch-up: N claims recorded through `Ledger.record_claims` (500 per transaction) into
  one database, which then serves as the template of a fresh database per run; each run
  reads and decodes every event (the baseline, after an untimed warm-up read), then
  times `runner.catch_up()` into the empty views. The same workload on SQLite files, in
  the same invocation, is the cross-store baseline.
- Scale (`python -m bench.pg_bench scale --claims 100000,1000000`): one store per size;
  recording and catch-up rates, the bytes of every table and its indexes
  (`pg_total_relation_size`) per event, then a server with 4 API processes and a worker
  on that store: POSTs, the estimate of a metric, inclusion and consistency proofs, each
  beside /healthz; then `claimledger verify` as a subprocess. For docs/scaling.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import httpx

from bench.audit_bench import measured_run, proof_arguments, run_measured
from bench.http_bench import define_bench_metrics, issue_contributor_key
from bench.http_load import Phase, Send, get, post_json, run_phase
from bench.machine import describe, git_revision, load_average
from bench.projection_bench import read_and_decode
from bench.report import Row, row
from bench.server import Server, claimledger_command, cpu_seconds, machine_busy_seconds
from bench.stats import median
from bench.workloads import ACTOR, SOURCES, claim_body, claim_fields, prepare
from domain.ledger import Ledger
from projections.store import Store, open_postgres_store, open_sqlite_store

URL_VARIABLE = "CLAIMLEDGER_BENCH_POSTGRES_URL"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
Say = Callable[[str], None]
CLAIMS_PER_METRIC = 50  # N claims over N / 50 metrics, at every size
RECORD_BATCH = 500  # claims per record_claims transaction
CLIENTS = 32
STOP_TIMEOUT = 15.0


def postgres_url() -> str | None:
    return os.environ.get(URL_VARIABLE, "").strip() or None


def skipped_reason() -> str:
    return f"PostgreSQL part skipped: {URL_VARIABLE} is not set (a server whose user may CREATEDB)"


# ---------------------------------------------------------------------------
# Fresh databases


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def execute(admin_url: str, statement: str, retries: int = 10) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE), retried while the
    server says another session is in the way (a pool closing, autovacuum)."""
    import psycopg

    for attempt in range(retries):
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(statement)  # type: ignore[arg-type,unused-ignore]
            return
        except psycopg.errors.ObjectInUse:
            if attempt == retries - 1:
                raise
            time.sleep(0.3 * (attempt + 1))


def create_database(admin_url: str, template: str | None = None) -> str:
    name = f"cl_bench_{uuid4().hex[:16]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    execute(admin_url, f'CREATE DATABASE "{name}"{copy}')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    with contextlib.suppress(Exception):  # a failure to clean up never fails the benchmark
        execute(admin_url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(admin_url: str, template: str | None = None) -> Iterator[str]:
    url = create_database(admin_url, template)
    try:
        yield url
    finally:
        drop_database(admin_url, url)


def store_env(url: str) -> dict[str, str]:
    from api.settings import Settings

    return Settings(database_url=url).postgres_env


def open_pg(url: str) -> Store:
    return open_postgres_store(store_env(url), database_name(url))


def server_settings(admin_url: str) -> list[dict[str, str]]:
    import psycopg

    names = (
        "server_version",
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_sync_method",
        "shared_buffers",
        "work_mem",
        "max_wal_size",
        "checkpoint_timeout",
        "effective_cache_size",
        "max_connections",
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s) "
            "ORDER BY name",
            (list(names),),
        ).fetchall()
    return [{"name": n, "setting": s} for n, s in rows]


# ---------------------------------------------------------------------------
# CPU of groups of processes


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def process_tree(root: int) -> list[int]:
    kids = children_map()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += kids.get(pid, [])
    return found


def postgres_pids(url: str) -> list[int]:
    """The backends of the run's database and the server's background processes (this
    benchmark's own sessions excluded). The server must be on this machine."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() "
            "OR datname IS NULL) AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def cpu_of(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


Groups = dict[str, Callable[[], list[int]]]


def measured_phase(
    base_url: str,
    headers: dict[str, str],
    phase: Phase,
    seconds: float,
    warmup: float,
    groups: Groups,
) -> dict[str, Any]:
    """One phase (warm-up untimed, in its own connections first), with the CPU of each
    group of processes over the timed part: cores, and ms per successful request."""
    if warmup > 0:
        run_phase(base_url, headers, phase, warmup, 0.0)
    pids = {name: find() for name, find in groups.items()}
    before = {name: cpu_of(p) for name, p in pids.items()}
    machine_before = machine_busy_seconds()
    client_before = time.process_time()
    begun = time.perf_counter()
    result, errors = run_phase(base_url, headers, phase, seconds, 0.0)
    wall = time.perf_counter() - begun
    if errors:
        raise RuntimeError(f"{phase.name}: {result.errors} failed requests: {errors}")
    cores = {}
    for name, p in pids.items():
        after = cpu_of(p)
        cores[name] = sum(max(0.0, after[pid] - before[name][pid]) for pid in p) / wall
    cores["client"] = (time.process_time() - client_before) / wall
    machine = (machine_busy_seconds() - machine_before) / wall
    cores["other"] = max(0.0, machine - sum(cores.values()))
    figures = result.as_dict()
    for key in ("client_cpu", "server_cpu", "other_cpu"):
        figures.pop(key, None)
    served = result.rate * wall
    figures["cores"] = cores
    figures["cpu_ms_per_request"] = {
        name: 1000 * share * wall / served if served else float("nan")
        for name, share in cores.items()
    }
    figures["processes"] = {name: len(p) for name, p in pids.items()}
    return figures


# ---------------------------------------------------------------------------
# Servers


@dataclass
class Target:
    """What one HTTP run serves: a store kind and a number of API processes."""

    name: str
    kind: str  # sqlite | postgres
    workers: int


TARGETS = (
    Target("sqlite-w1", "sqlite", 1),
    Target("postgres-w1", "postgres", 1),
    Target("postgres-w4", "postgres", 4),
)


@contextlib.contextmanager
def projection_worker(workdir: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`claimledger worker` beside the API processes; stopped (SIGTERM) afterwards."""
    log = (workdir / "worker.log").open("wb")
    process = subprocess.Popen(
        [*claimledger_command(), "worker"], env=env, cwd=workdir, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        log.close()


@contextlib.contextmanager
def serving(
    workdir: Path, url: str | None, workers: int, demo: bool = True
) -> Iterator[tuple[Server, Groups]]:
    """A server on `url` (PostgreSQL: with a projection worker process) or, without a
    URL, on a fresh SQLite file with the projections in the API process."""
    if url is None:
        with Server(workdir, demo=demo) as server:
            yield server, {"api": lambda: process_tree(server.pid)}
        return
    key = str(workdir / "signing-key.pem")
    extra = {"CLAIMLEDGER_PROJECTIONS": "worker", "CLAIMLEDGER_SIGNING_KEY": key}
    with Server(workdir, demo=demo, database_url=url, workers=workers, extra_env=extra) as server:
        env = dict(os.environ)
        env.update(
            CLAIMLEDGER_DATABASE_URL=url,
            CLAIMLEDGER_ADMIN_KEY=server.admin_key,
            **extra,
        )
        with projection_worker(workdir, env) as worker:
            groups: Groups = {
                "api": lambda: process_tree(server.pid),
                "worker": lambda: process_tree(worker.pid),
                "postgres": lambda: postgres_pids(url),
            }
            yield server, groups


def http_run(
    target: Target,
    admin_url: str | None,
    workdir: Path,
    seconds: float,
    warmup: float,
    say: Say,
    label: str,
) -> dict[str, Any]:
    """One run on one target: a fresh store, /healthz then POST /v1/claims at 32 clients."""
    database = create_database(admin_url) if target.kind == "postgres" and admin_url else None
    try:
        with serving(workdir, database, target.workers) as (server, groups):
            admin = {"Authorization": f"Bearer {server.admin_key}"}
            define_bench_metrics(server, admin)
            headers = {"Authorization": f"Bearer {issue_contributor_key(server, admin)}"}
            server.wait_caught_up()
            run: dict[str, Any] = {
                "target": target.name,
                "workers": target.workers,
                "server_start_s": server.started_in,
                "phases": {},
            }
            phases = [
                Phase(f"healthz@{CLIENTS}", get("/healthz"), CLIENTS),
                Phase(f"post_claim@{CLIENTS}", post_json("/v1/claims", claim_body), CLIENTS, 201),
            ]
            for phase in phases:
                figures = measured_phase(server.base_url, headers, phase, seconds, warmup, groups)
                run["phases"][phase.name] = figures
                say(progress_line(label, target.name, figures))
            drained, lag = server.wait_caught_up(timeout=300)
            run["post_projection_lag_events"] = lag
            run["post_projection_drain_s"] = drained
    finally:
        if database and admin_url:
            drop_database(admin_url, database)
    return run


def progress_line(label: str, target: str, f: dict[str, Any]) -> str:
    cores = " ".join(f"{k} {v:.2f}" for k, v in f["cores"].items())
    return (
        f"  {label} {target:<12} {f['name']:<14} {f['rate']:7.0f} req/s  "
        f"p50 {f['p50_ms']:6.1f} ms  p99 {f['p99_ms']:6.1f} ms  cores: {cores}"
    )


def run_http_postgres(
    admin_url: str, runs: int, seconds: float, warmup: float, say: Say
) -> list[dict[str, Any]]:
    """`runs` runs; each drives every target once (in a fixed order), fresh stores."""
    results = []
    with tempfile.TemporaryDirectory(prefix="claimledger-bench-pg-") as tmp:
        for r in range(runs):
            run = {}
            for target in TARGETS:
                workdir = Path(tmp) / f"run-{r}-{target.name}"
                label = f"pg http run {r + 1}/{runs}"
                run[target.name] = http_run(target, admin_url, workdir, seconds, warmup, say, label)
            results.append(run)
    return results


# ---------------------------------------------------------------------------
# Catch-up


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
    read_and_decode(store.ledger)
    begun = time.perf_counter()
    decoded = read_and_decode(store.ledger)
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
    url = create_database(admin_url)
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
            with fresh_database(admin_url, database_name(template)) as url:
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


# ---------------------------------------------------------------------------
# The `postgres` part of `python -m bench`


def run_postgres(runs: int, seconds: float, warmup: float, claims: int, say: Say) -> dict[str, Any]:
    admin_url = postgres_url()
    if admin_url is None:
        raise RuntimeError(skipped_reason())
    settings = server_settings(admin_url)
    say("  postgres server: " + ", ".join(f"{s['name']}={s['setting']}" for s in settings))
    http = run_http_postgres(admin_url, runs, seconds, warmup, say)
    catch_up = run_catch_up_postgres(admin_url, claims, runs, say)
    return {"server_settings": settings, "http_runs": http, "catch_up": catch_up}


def target_phase(target: str, name: str, key: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run[target]["phases"][name][key])


def target_cpu(target: str, name: str, group: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run[target]["phases"][name]["cpu_ms_per_request"][group])


def server_cpu_ms(target: str, name: str) -> Callable[[dict[str, Any]], float]:
    """Every server-side process's CPU per request: API, worker and PostgreSQL."""

    def pick(run: dict[str, Any]) -> float:
        per = run[target]["phases"][name]["cpu_ms_per_request"]
        return float(sum(v for k, v in per.items() if k not in ("client", "other")))

    return pick


def postgres_rows(result: dict[str, Any]) -> list[Row]:
    http = result["http_runs"]
    post, health = f"post_claim@{CLIENTS}", f"healthz@{CLIENTS}"
    labels = {
        "sqlite-w1": "SQLite, 1 API process",
        "postgres-w1": "PostgreSQL, 1 API process + worker",
        "postgres-w4": "PostgreSQL, 4 API processes + worker",
    }
    rows = []
    for target in ("postgres-w1", "postgres-w4", "sqlite-w1"):
        label = f"POST /v1/claims, {CLIENTS} clients, {labels[target]}"
        base = f"GET /healthz, {CLIENTS} clients, same server"
        rows.append(
            row(
                label,
                "req/s",
                http,
                target_phase(target, post, "rate"),
                base,
                target_phase(target, health, "rate"),
            )
        )
        for stat in ("p50_ms", "p99_ms"):
            rows.append(
                row(
                    f"{label}, {stat[:3]}",
                    "ms",
                    http,
                    target_phase(target, post, stat),
                    f"{base}, {stat[:3]}",
                    target_phase(target, health, stat),
                )
            )
        rows.append(
            row(
                f"{label}, server CPU per request (all server processes)",
                "ms",
                http,
                server_cpu_ms(target, post),
                f"{base}, server CPU",
                server_cpu_ms(target, health),
            )
        )
    for target in ("postgres-w1", "postgres-w4"):
        rows.append(
            row(
                f"POST /v1/claims, {CLIENTS} clients, {labels[target]}",
                "req/s",
                http,
                target_phase(target, post, "rate"),
                "the same on SQLite, 1 API process, same run",
                target_phase("sqlite-w1", post, "rate"),
            )
        )
    rows.append(
        row(
            f"POST /v1/claims, {CLIENTS} clients, PostgreSQL, 4 API processes",
            "req/s",
            http,
            target_phase("postgres-w4", post, "rate"),
            "the same with 1 API process, same run",
            target_phase("postgres-w1", post, "rate"),
        )
    )
    catch_up = result["catch_up"]
    n = f"{catch_up['claims']:,} claims over {catch_up['metrics']:,} metrics"

    def rate(run: dict[str, Any]) -> float:
        return float(run["catch_up_rate"])

    def decode(run: dict[str, Any]) -> float:
        return float(run["decode_rate"])

    paired = [
        {**p, "sqlite": s}
        for p, s in zip(catch_up["postgres_runs"], catch_up["sqlite_runs"], strict=False)
    ]
    rows += [
        row(
            f"catch-up on PostgreSQL, {n}",
            "events/s",
            catch_up["postgres_runs"],
            rate,
            "read + decode the same events from PostgreSQL",
            decode,
        ),
        row(
            f"catch-up on PostgreSQL, {n}",
            "events/s",
            paired,
            rate,
            "the same catch-up on SQLite, same invocation",
            lambda run: float(run["sqlite"]["catch_up_rate"]),
        ),
        row(
            f"catch-up on SQLite, {n}",
            "events/s",
            catch_up["sqlite_runs"],
            rate,
            "read + decode the same events from SQLite",
            decode,
        ),
    ]
    return rows


def postgres_context(result: dict[str, Any]) -> list[str]:
    settings = ", ".join(f"{s['name']}={s['setting']}" for s in result["server_settings"])
    lines = [f"PostgreSQL server: {settings}."]
    lines.append("CPU during each PostgreSQL-part HTTP phase (medians, cores; 1.00 = one core):")
    http = result["http_runs"]
    for target in http[0]:
        for name, phase in http[0][target]["phases"].items():
            groups = phase["cores"].keys()
            shares = ", ".join(
                f"{g} {median([run[target]['phases'][name]['cores'][g] for run in http]):.2f}"
                for g in groups
            )
            lines.append(f"  {target:<12} {name:<14} {shares}")
    for target in http[0]:
        lags = [run[target]["post_projection_lag_events"] for run in http]
        drains = [run[target]["post_projection_drain_s"] for run in http]
        lines.append(
            f"  {target}: projection lag when the POSTs stopped: median {median(lags):.0f} "
            f"events (max {max(lags)}), caught up {median(drains):.2f} s later (median)"
        )
    c = result["catch_up"]
    lines.append(
        f"Recording {c['claims']:,} claims ({RECORD_BATCH} per transaction): PostgreSQL "
        f"{c['record_rate']:,.0f} claims/s, SQLite {c['sqlite_record_rate']:,.0f} claims/s "
        "(one sample each)."
    )
    return lines


# ---------------------------------------------------------------------------
# Scale: how things change with the size of the store (docs/scaling.md)


def table_sizes(url: str) -> list[dict[str, Any]]:
    """Every table of the store: rows (estimated after ANALYZE), heap, indexes, total."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        rows = conn.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_relation_size(c.oid), "
            "pg_indexes_size(c.oid), pg_total_relation_size(c.oid) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 5 DESC"
        ).fetchall()
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    tables = [
        {"table": t, "rows": r, "heap_bytes": h, "index_bytes": i, "total_bytes": total}
        for t, r, h, i, total in rows
    ]
    tables.append({"table": "(database)", "total_bytes": database[0] if database else 0})
    return tables


def get_each(path_of: Callable[[int], str]) -> Send:
    async def send(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get(path_of(n))

    return send


def scale_http(
    url: str, size: int, claims: int, workdir: Path, seconds: float, warmup: float, say: Say
) -> dict[str, Any]:
    """Reads, proofs and POSTs against 4 API processes and a worker on the big store."""
    leaves, pairs = proof_arguments(size, 1 << 14, seed=7)
    mask = len(leaves) - 1
    metric = "bench/m000000"
    phases = []
    for clients in (CLIENTS, 4):
        phases += [
            Phase(f"healthz@{clients}", get("/healthz"), clients),
            Phase(f"estimate@{clients}", get(f"/v1/metrics/{metric}/estimate"), clients),
            Phase(
                f"inclusion@{clients}",
                get_each(
                    lambda n: (
                        f"/v1/audit/proofs/inclusion?leaf_index={leaves[n & mask]}&tree_size={size}"
                    )
                ),
                clients,
            ),
            Phase(
                f"consistency@{clients}",
                get_each(
                    lambda n: "/v1/audit/proofs/consistency?first={}&second={}".format(
                        *pairs[n & mask]
                    )
                ),
                clients,
            ),
        ]
    metrics = metrics_for(claims)

    def body(n: int) -> dict[str, Any]:
        """A valid claim on the store's own metrics and sources (no demo data here)."""
        return {
            "metric": f"bench/m{n % metrics:06d}",
            "value": 100 + n % 1000,
            "qualifier": "approximately",
            "as_of": "2025-01-20",
            "reported_by": f"source-{n % SOURCES:02d}",
            "attributed_to": [f"source-{(n + 1) % SOURCES:02d}"],
            "published_at": "2025-01-22",
        }

    phases.append(Phase(f"post_claim@{CLIENTS}", post_json("/v1/claims", body), CLIENTS, 201))
    result: dict[str, Any] = {"phases": {}}
    with serving(workdir, url, 4, demo=False) as (server, groups):
        admin = {"Authorization": f"Bearer {server.admin_key}"}
        headers = {"Authorization": f"Bearer {issue_contributor_key(server, admin)}"}
        server.wait_caught_up(timeout=600)
        result["server_start_s"] = server.started_in
        with httpx.Client(base_url=server.base_url, headers=headers, trust_env=False) as c:
            answer = c.get(f"/v1/metrics/{metric}/estimate")
            answer.raise_for_status()
            result["estimate_included"] = answer.json().get("included")
        for phase in phases:
            figures = measured_phase(server.base_url, headers, phase, seconds, warmup, groups)
            result["phases"][phase.name] = figures
            say(progress_line(f"scale {size:,}", "postgres-w4", figures))
        drained, lag = server.wait_caught_up(timeout=600)
        result["post_projection_lag_events"] = lag
        result["post_projection_drain_s"] = drained
    return result


def verify_subprocess(url: str, workdir: Path, say: Say) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(CLAIMLEDGER_DATABASE_URL=url, CLAIMLEDGER_ADMIN_KEY="unused-by-verify")
    workdir.mkdir(parents=True, exist_ok=True)
    done, wall, usage, peak_mib = run_measured([*claimledger_command(), "verify"], env, workdir)
    if done.returncode != 0:
        raise RuntimeError(f"claimledger verify exited {done.returncode}: {done.stderr[-500:]}")
    events = (
        int(done.stdout.split("verified ", 1)[1].split()[0]) if "verified " in done.stdout else 0
    )
    run = measured_run(events, wall, usage, peak_mib)
    run["stdout"] = done.stdout[-300:]
    say(
        f"  claimledger verify: {wall:.1f} s ({run['rate']:,.0f} events/s), "
        f"CPU {run['cpu_s']:.1f} s, peak RSS {run['max_rss_mib']:,.0f} MiB"
    )
    return run


def scale_one(
    admin_url: str,
    claims: int,
    catch_up_runs: int,
    seconds: float,
    warmup: float,
    verify: bool,
    workdir: Path,
    say: Say,
    result: dict[str, Any],
    save: Callable[[], None],
) -> None:
    """One size, into `result` (saved after each step): record, catch up (`catch_up_runs`
    times, fresh views each), sizes, HTTP, verify. The first catch-up stays in place for
    the HTTP phases and verify."""
    template, recorded = recorded_template(admin_url, claims, say)
    result.update(recorded)
    result.update(
        metrics=metrics_for(claims),
        record_rate=claims / recorded["record_s"],
        events_only_sizes=table_sizes(template),
        catch_up_runs=[],
    )
    save()
    try:
        for r in range(catch_up_runs):
            with fresh_database(admin_url, database_name(template)) as url:
                store = open_pg(url)
                try:
                    label = f"scale {claims:,} catch-up {r + 1}/{catch_up_runs}"
                    result["catch_up_runs"].append(timed_catch_up(store, say, label))
                finally:
                    store.close()
                save()
                if r > 0:
                    continue
                result["sizes"] = table_sizes(url)
                save()
                for t in result["sizes"]:
                    say(
                        f"    {t['table']:<22} {t['total_bytes'] / 2**20:9,.1f} MiB "
                        f"({t['total_bytes'] / recorded['events']:7.1f} bytes/event)"
                    )
                if seconds > 0:
                    result["http"] = scale_http(
                        url,
                        recorded["events"],
                        claims,
                        workdir / f"http-{claims}",
                        seconds,
                        warmup,
                        say,
                    )
                    save()
                if verify:
                    result["verify_cli"] = verify_subprocess(url, workdir / f"verify-{claims}", say)
                    save()
    finally:
        drop_database(admin_url, template)


def run_scale(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_bench scale")
    parser.add_argument("--claims", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--catch-up-runs", type=int, default=1)
    parser.add_argument("--http-seconds", type=float, default=10.0, help="0: no HTTP phases")
    parser.add_argument("--http-warmup", type=float, default=1.0)
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args(argv)
    admin_url = postgres_url()
    if admin_url is None:
        print(skipped_reason(), file=sys.stderr)
        return 2

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = datetime.now(UTC)
    machine = describe(ROOT)
    document: dict[str, Any] = {
        "kind": "pg-scale",
        "started_at": started.isoformat(),
        "args": vars(args),
        "machine": machine,
        "server_settings": server_settings(admin_url),
        "sizes": [],
    }
    path = RESULTS / f"{started:%Y%m%dT%H%M%SZ}-pg-scale.json"
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="claimledger-bench-pg-scale-") as tmp:
        for claims in (int(c) for c in args.claims.split(",")):
            begun = time.perf_counter()
            one: dict[str, Any] = {"claims": claims}
            document["sizes"].append(one)

            def save() -> None:
                path.write_text(json.dumps(document, indent=2) + "\n")

            scale_one(
                admin_url,
                claims,
                args.catch_up_runs,
                args.http_seconds,
                args.http_warmup,
                not args.no_verify,
                Path(tmp),
                say,
                one,
                save,
            )
            one["elapsed_s"] = time.perf_counter() - begun
            one["load_average_after"] = load_average()
            document["machine"]["git_at_end"] = git_revision(ROOT)
            save()
            say(f"  wrote {path.relative_to(ROOT)}")
    return 0


# ---------------------------------------------------------------------------
# Profile: where the POST path spends its time on PostgreSQL


def collapsed_summary(path: Path, top: int = 15) -> dict[str, Any]:
    """py-spy's raw (collapsed) stacks: the functions holding the most samples, inclusive
    (anywhere on the stack) and by themselves (the innermost frame)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1]
            if " (" in f
            else f
            for f in stack.split(";")
        ]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n

    def ranked(counts: dict[str, int]) -> list[tuple[str, float]]:
        best = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [(name, n / total) for name, n in best] if total else []

    return {"samples": total, "inclusive": ranked(inclusive), "own": ranked(own)}


def top_statements(admin_url: str, url: str, top: int = 12) -> list[dict[str, Any]]:
    """The statements of the run's database only (the view is cluster-wide)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT calls, total_exec_time, mean_exec_time, rows, left(query, 160) "
            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
            "WHERE datname = %s) ORDER BY total_exec_time DESC LIMIT %s",
            (database_name(url), top),
        ).fetchall()
    return [
        {"calls": c, "total_ms": t, "mean_ms": m, "rows": r, "query": q} for c, t, m, r, q in rows
    ]


def bare_commits(url: str, count: int = 300) -> float:
    """One-row INSERT + COMMIT per transaction in plain psycopg: the commit (WAL flush)
    floor of this server and disk, for the POST path's transactions."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commits (n BIGINT, body BYTEA)")
        body = b"x" * 600
        begun = time.perf_counter()
        for n in range(count):
            conn.execute("INSERT INTO bench_commits VALUES (%s, %s)", (n, body))
        return count / (time.perf_counter() - begun)


def run_profile(argv: list[str]) -> int:
    """POSTs at 32 clients against `serve --workers N` + a worker, with py-spy on the
    API processes and the worker, and pg_stat_statements when the server has it."""
    parser = argparse.ArgumentParser(prog="python -m bench.pg_bench profile")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    admin_url = postgres_url()
    if admin_url is None:
        print(skipped_reason(), file=sys.stderr)
        return 2

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    py_spy = Path(sys.executable).with_name("py-spy")
    started = datetime.now(UTC)
    out = RESULTS / f"{started:%Y%m%dT%H%M%SZ}-pg-profile-w{args.workers}"
    out.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"kind": "pg-profile", "args": vars(args), "profiles": {}}
    with (
        tempfile.TemporaryDirectory(prefix="claimledger-bench-pg-prof-") as tmp,
        fresh_database(admin_url) as url,
        serving(Path(tmp), url, args.workers) as (server, groups),
    ):
        admin = {"Authorization": f"Bearer {server.admin_key}"}
        define_bench_metrics(server, admin)
        headers = {"Authorization": f"Bearer {issue_contributor_key(server, admin)}"}
        server.wait_caught_up()
        phase = Phase(f"post_claim@{CLIENTS}", post_json("/v1/claims", claim_body), CLIENTS, 201)
        run_phase(server.base_url, headers, phase, 2.0, 0.0)  # warm up
        with contextlib.suppress(Exception):
            execute(admin_url, "SELECT pg_stat_statements_reset()")
        api = [p for p in groups["api"]() if p != server.pid] or [server.pid]
        targets = {f"api-{pid}": pid for pid in api} | {"worker": groups["worker"]()[0]}
        spies = {
            name: subprocess.Popen(
                [
                    str(py_spy),
                    "record",
                    "-f",
                    "raw",
                    "-r",
                    "50",
                    "--nonblocking",
                    "-d",
                    str(int(args.seconds)),
                    "-p",
                    str(pid),
                    "-o",
                    str(out / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in targets.items()
        }
        figures = measured_phase(server.base_url, headers, phase, args.seconds, 0.0, groups)
        for spy in spies.values():
            spy.wait(timeout=60)
        say(progress_line("profile", f"postgres-w{args.workers}", figures))
        document["phase"] = figures
        with contextlib.suppress(Exception):
            document["statements"] = top_statements(admin_url, url)
        document["bare_commits"] = bare_commits(url)
        say(f"  bare one-row commits on the same server: {document['bare_commits']:,.0f}/s")
    for name in targets:
        raw = out / f"{name}.txt"
        if raw.exists():
            document["profiles"][name] = collapsed_summary(raw)
    (out / "summary.json").write_text(json.dumps(document, indent=2) + "\n")
    say(f"  wrote {out.relative_to(ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["scale"]:
        return run_scale(argv[1:])
    if argv[:1] == ["profile"]:
        return run_profile(argv[1:])
    print(
        "usage: python -m bench.pg_bench scale [--claims N,M ...] | profile [--workers N]  "
        "(or python -m bench --only postgres)",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
