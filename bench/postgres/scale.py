"""How the PostgreSQL figures change with the size of the store (docs/scaling.md):
`python -m bench.postgres.scale --claims 100000,1000000`.

One store per size: recording and catch-up rates, the bytes of every table and its
indexes (`pg_total_relation_size`) per event, then a server with 4 API processes and a
worker on that store: POSTs, the estimate of a metric, inclusion and consistency proofs,
each beside /healthz; then `claimledger verify` as a subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.audit_bench import measured_run, proof_arguments, run_measured
from bench.http_bench import issue_contributor_key
from bench.http_load import Phase, get, get_each, post_json
from bench.machine import describe, git_revision, load_average
from bench.postgres.catch_up import metrics_for, recorded_template, timed_catch_up
from bench.postgres.common import (
    CLIENTS,
    DATABASE_PREFIX,
    RESULTS,
    ROOT,
    Say,
    measured_phase,
    open_pg,
    postgres_url,
    server_settings,
    serving,
    skipped_reason,
    target_line,
)
from bench.server import claimledger_command
from bench.workloads import SOURCES
from tests.postgres_databases import database_name, drop_database, fresh_database


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
            say(target_line(f"scale {size:,}", "postgres-w4", figures))
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
            with fresh_database(admin_url, DATABASE_PREFIX, database_name(template)) as url:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.postgres.scale", description=__doc__)
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


if __name__ == "__main__":
    sys.exit(main())
