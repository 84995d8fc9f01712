"""What every PostgreSQL benchmark shares: the server's URL and settings, stores on it,
servers (the API processes and a projection worker) and the CPU of each group of
processes while a phase runs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.http_load import Phase, run_phase
from bench.server import Server, claimledger_command, cpu_seconds, machine_busy_seconds
from projections.store import Store, open_postgres_store
from tests.postgres_databases import database_name

URL_VARIABLE = "CLAIMLEDGER_BENCH_POSTGRES_URL"
ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "results"
DATABASE_PREFIX = "cl_bench"
Say = Callable[[str], None]
CLIENTS = 32
STOP_TIMEOUT = 15.0


def postgres_url() -> str | None:
    return os.environ.get(URL_VARIABLE, "").strip() or None


def skipped_reason() -> str:
    return f"PostgreSQL part skipped: {URL_VARIABLE} is not set (a server whose user may CREATEDB)"


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


def target_line(label: str, target: str, f: dict[str, Any]) -> str:
    cores = " ".join(f"{k} {v:.2f}" for k, v in f["cores"].items())
    return (
        f"  {label} {target:<12} {f['name']:<14} {f['rate']:7.0f} req/s  "
        f"p50 {f['p50_ms']:6.1f} ms  p99 {f['p99_ms']:6.1f} ms  cores: {cores}"
    )
