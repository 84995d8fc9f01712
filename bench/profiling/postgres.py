"""Where the POST path spends its time on PostgreSQL:
`python -m bench.profiling.postgres [--workers N] [--seconds S]`.

POSTs at 32 clients against `claimledger serve --workers N` and a projection worker, with
py-spy on the API processes and the worker, pg_stat_statements when the server has it,
and bare one-row commits on the same server (the commit floor). Writes a summary and the
raw stacks to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http_bench import define_bench_metrics, issue_contributor_key
from bench.http_load import Phase, post_json, run_phase
from bench.postgres.common import (
    CLIENTS,
    DATABASE_PREFIX,
    RESULTS,
    ROOT,
    measured_phase,
    postgres_url,
    serving,
    skipped_reason,
    target_line,
)
from bench.workloads import claim_body
from tests.postgres_databases import database_name, execute, fresh_database


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


def main(argv: list[str] | None = None) -> int:
    """POSTs at 32 clients against `serve --workers N` + a worker, with py-spy on the
    API processes and the worker, and pg_stat_statements when the server has it."""
    parser = argparse.ArgumentParser(prog="python -m bench.profiling.postgres", description=__doc__)
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
        fresh_database(admin_url, DATABASE_PREFIX) as url,
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
        say(target_line("profile", f"postgres-w{args.workers}", figures))
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


if __name__ == "__main__":
    sys.exit(main())
