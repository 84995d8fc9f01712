"""The `postgres` part of `python -m bench`: HTTP writes per target (SQLite with 1 API
process; PostgreSQL with 1 and 4 API processes and a projection worker), each beside
/healthz on the same server, and catch-up on both stores (bench/postgres/catch_up.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.http_bench import define_bench_metrics, issue_contributor_key
from bench.http_load import Phase, get, post_json
from bench.postgres.catch_up import RECORD_BATCH, run_catch_up_postgres
from bench.postgres.common import (
    CLIENTS,
    DATABASE_PREFIX,
    TARGETS,
    URL_VARIABLE,
    Say,
    Target,
    measured_phase,
    postgres_url,
    server_settings,
    serving,
    skipped_reason,
    target_line,
)
from bench.report import Row, row
from bench.stats import median
from bench.workloads import claim_body
from tests.postgres_databases import create_database, drop_database

__all__ = ["URL_VARIABLE", "postgres_context", "postgres_rows", "run_postgres"]


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
    database = (
        create_database(admin_url, DATABASE_PREFIX)
        if target.kind == "postgres" and admin_url
        else None
    )
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
                say(target_line(label, target.name, figures))
            drained, lag = server.wait_caught_up(timeout=300)
            run["post_projection_lag_events"] = lag
            run["post_projection_drain_s"] = drained
    finally:
        if database and admin_url:
            drop_database(admin_url, database)
    return run


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
