"""`python -m bench [--quick]`: run every benchmark, print one table, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.audit_bench import AuditConfig, extrapolate_seconds, run_audit
from bench.http_bench import run_http
from bench.ingest_bench import run_ingest
from bench.machine import describe, filesystem_of, git_revision, load_average
from bench.postgres.common import postgres_url, skipped_reason
from bench.postgres.part import postgres_context, postgres_rows, run_postgres
from bench.projection_bench import run_projection
from bench.read_bench import run_reads
from bench.report import (
    Row,
    audit_rows,
    http_rows,
    ingest_rows,
    projection_rows,
    read_rows,
    table,
)
from bench.stats import median
from bench.workloads import BENCH_METRICS
from projections.tuning import Tuning

PARALLEL_FROM = Tuning().parallel_from

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Config:
    mode: str
    runs: int
    http_seconds: float  # each timed HTTP phase, per run
    http_warmup: float  # untimed, before each phase
    claims: int  # projection catch-up, claims spread over claims / 50 metrics
    hot_claims: int  # projection catch-up, on one metric, and again at 10 per metric
    write_claims: int  # in-process writes, per run and per variant
    audit: AuditConfig
    ingest_claims: int = 10_000  # batch ingest: claims per variant per run
    ingest_seconds: float = 1.5  # POST /v1/claims/batch, per run and per server
    read_seconds: float = 0.7  # each timed read phase (store of 100,000 claims), per run
    read_warmup: float = 0.1


# Quick mode: under 2 minutes on the 2-core machine (about 100 s idle). Every figure
# keeps its runs (3; proof serving 1) and its same-run baseline, in shorter windows.
QUICK = Config(
    "quick",
    runs=3,
    http_seconds=1.5,
    http_warmup=0.2,
    claims=5_000,
    hot_claims=2_000,
    write_claims=500,
    audit=AuditConfig(
        events=10_000,
        leaf_events=10_000,
        runs=3,
        verify_cli_runs=1,
        proof_calls=2_000,
        http_runs=1,
        http_seconds=0.6,
        http_warmup=0.1,
    ),
)
FULL = Config(
    "full",
    runs=5,
    http_seconds=15.0,
    http_warmup=2.0,
    claims=50_000,
    hot_claims=10_000,
    write_claims=2_000,
    audit=AuditConfig(
        events=100_000,
        leaf_events=100_000,
        runs=3,
        verify_cli_runs=3,
        proof_calls=5_000,
        http_runs=3,
        http_seconds=10.0,
        http_warmup=1.0,
        http_clients=(32, 4, 1),
    ),
    ingest_claims=50_000,
    ingest_seconds=10.0,
    read_seconds=10.0,
    read_warmup=1.0,
)
PARTS = (
    "http",
    "ingest",
    "reads",
    "projection",
    "audit",
    "postgres",
)  # postgres: with CLAIMLEDGER_BENCH_POSTGRES_URL
GOAL_EVENTS = 1_000_000  # verify's goal is stated for a store this size (decision 0007)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def http_context(http: list[dict[str, Any]]) -> list[str]:
    def med(name: str, key: str) -> float:
        return median([run["phases"][name][key] for run in http])

    lines = ["CPU during each HTTP phase (medians; 1.00 = one core busy):"]
    for name in http[0]["phases"]:
        lines.append(
            f"  {name:<14} server {med(name, 'server_cpu'):.2f}  "
            f"client {med(name, 'client_cpu'):.2f}  other processes {med(name, 'other_cpu'):.2f}"
        )
    for prefix, path in (("", "group commit"), ("direct_", "direct path")):
        lags = [run[f"{prefix}post_projection_lag_events"] for run in http]
        drains = [run[f"{prefix}post_projection_drain_s"] for run in http]
        lines.append(
            f"Projection lag when the POSTs stopped ({path}): median {median(lags):.0f} "
            f"events (max {max(lags)}), caught up {median(drains) * 1000:.0f} ms later (median)."
        )
    start = median([run["server_start_s"] for run in http])
    lines.append(
        f"POSTs spread over {BENCH_METRICS} metrics; requests carry an issued contributor "
        f"key; server start (on a copy of a store holding the demo seed and those metrics) "
        f"median {start:.2f} s."
    )
    return lines


def ingest_context(ingest: dict[str, Any]) -> list[str]:
    runs = ingest["runs"]

    def med(pick: Any) -> float:
        return median([pick(run) for run in runs])

    return [
        f"Batch ingest: {ingest['claims']:,} claims a run, {ingest['batch']:,} per request / "
        f"record_claims call / import batch, stored events {ingest['mean_state_bytes']:.0f} "
        f"bytes each; raw sqlite3 after the others {med(lambda r: r['raw_rate_after']):,.0f} "
        "rows/s (median).",
        "POST /v1/claims/batch (projecting): server "
        f"{med(lambda r: r['http']['server_cpu']):.2f} cores, client "
        f"{med(lambda r: r['http']['client_cpu']):.2f}, other processes "
        f"{med(lambda r: r['http']['other_cpu']):.2f}; projection lag when the POSTs stopped "
        f"{med(lambda r: r['http']['projection_lag_events']):,.0f} events, caught up "
        f"{med(lambda r: r['http']['projection_drain_s']):.1f} s later. Not projecting: server "
        f"{med(lambda r: r['http_worker']['server_cpu']):.2f} cores.",
    ]


def read_context(reads: dict[str, Any]) -> list[str]:
    runs, store = reads["runs"], reads["store"]
    lines = [
        f"Read store: {store['claims']:,} claims in {store['metrics']:,} metrics "
        f"({store['events']:,} events; "
        + ("reused" if store["reused"] else "built")
        + f" {store['built_at']}); the estimate reads {runs[0]['claims_per_metric_now']} "
        f"claims a metric now, {runs[0]['claims_per_metric_known_at']} as known at "
        f"{runs[0]['known_at']} (half way).",
        "CPU during each read phase (medians; 1.00 = one core busy):",
    ]
    for name in runs[0]["phases"]:

        def med(key: str, name: str = name) -> float:
            return median([run["phases"][name][key] for run in runs])

        lines.append(
            f"  {name:<20} server {med('server_cpu'):.2f}  client {med('client_cpu'):.2f}  "
            f"other processes {med('other_cpu'):.2f}"
        )
    return lines


def projection_context(projection: dict[str, Any]) -> list[str]:
    spread_ = projection["spread"]
    return [
        f"Recording the {spread_['claims']:,} catch-up claims, 500 per transaction, took "
        f"{spread_['record_batched_s']:.2f} s (one sample)."
    ]


def audit_context(audit: dict[str, Any]) -> list[str]:
    store, verify, cli = audit["store"], audit["verify"], audit["verify_cli"]
    events = store["events"]
    decode = median([run["decode_rate"] for run in verify])
    lines = [
        f"Audit store: {events:,} events ({store['claims']:,} claims over {store['metrics']:,} "
        f"metrics, {store['sources']} sources); "
        + ("reused, " if store["reused"] else "")
        + f"built {store['built_at']} at {store['git']['commit']}"
        + (" (dirty)" if store["git"]["dirty"] else "")
        + f": record_claims (1,000 per transaction) {store['record_rate']:,.0f} claims/s "
        f"({store['record_s']:.0f} s), catch-up {store['catch_up_rate']:,.0f} events/s "
        f"({store['catch_up_s']:.0f} s, one sample; {store['catch_up_rate'] / decode:.3f} of "
        f"read + decode); files {store['events_bytes'] / 2**20:,.0f} MiB events, "
        f"{store['views_bytes'] / 2**20:,.0f} MiB views.",
    ]
    phases = {
        "fast path": extrapolate_seconds(verify, "fast_s", GOAL_EVENTS),
        "verify_log": extrapolate_seconds(verify, "verify_log_s", GOAL_EVENTS),
        "full rebuild": extrapolate_seconds(verify, "rebuild_s", GOAL_EVENTS),
        "its compare": extrapolate_seconds(verify, "compare_s", GOAL_EVENTS),
    }
    cli_1m = GOAL_EVENTS / median([run["rate"] for run in cli])
    decode_1m = GOAL_EVENTS / decode
    how = "measured at" if events == GOAL_EVENTS else "extrapolated linearly to"
    lines.append(
        f"Verify {how} {GOAL_EVENTS:,} events (goal: under 20 s): "
        f"claimledger verify {cli_1m:,.0f} s; in-process "
        + ", ".join(f"{k} {v:,.0f} s" for k, v in phases.items())
        + f"; merely reading and decoding {decode_1m:,.1f} s."
        + (
            ""
            if events >= PARALLEL_FROM
            else f" (Below {PARALLEL_FROM:,} events verify checks the log after the views, in one "
            "process, and start-up weighs: only --audit-size 1000000 measures the goal.)"
        )
    )
    lines.append(
        f"claimledger verify used {median([run['cores'] for run in cli]):.2f} cores "
        f"(CPU {median([run['cpu_s'] for run in cli]):.1f} s over "
        f"{median([run['wall_s'] for run in cli]):.1f} s), peak RSS "
        f"{max(run['max_rss_mib'] for run in cli):,.0f} MiB."
    )
    rebuild = audit["rebuild_cli"]
    lines.append(
        f"claimledger rebuild of the same {rebuild['events']:,} events: {rebuild['wall_s']:.1f} s "
        f"({rebuild['rate']:,.0f} events/s), peak RSS {rebuild['max_rss_mib']:,.0f} MiB "
        "(goal at 1,000,000 events: under 500 MB; one sample)."
    )
    proofs = audit["proofs_in_process"]
    lines.append(
        f"Inclusion proofs at tree size {proofs[0]['tree_size']:,} carry "
        f"{proofs[0]['inclusion_path_hashes']} hashes; in-process calls per second "
        "(median): "
        + ", ".join(
            f"{k} {median([run[k]['rate'] for run in proofs]):,.0f}"
            for k in ("size", "root", "inclusion", "consistency")
        )
        + "."
    )
    http = audit["proofs_http"]
    lines.append("CPU during each proof-serving phase (medians; 1.00 = one core busy):")
    for name in http[0]["phases"]:

        def med(key: str, name: str = name) -> float:
            return median([run["phases"][name][key] for run in http])

        lines.append(
            f"  {name:<15} server {med('server_cpu'):.2f}  client {med('client_cpu'):.2f}  "
            f"other processes {med('other_cpu'):.2f}"
        )
    return lines


def parse_parts(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = set(parts) - set(PARTS)
    if unknown or not parts:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(PARTS)}")
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs (< 2 min)")
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON")
    parser.add_argument(
        "--only",
        type=parse_parts,
        default=PARTS,
        metavar="PARTS",
        help=f"comma-separated parts to run, among {','.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--audit-size",
        type=int,
        metavar="N",
        help="events in the audit store (default 10,000 quick, 100,000 full)",
    )
    parser.add_argument(
        "--audit-runs", type=int, metavar="R", help="runs of each audit figure (default 3)"
    )
    parser.add_argument(
        "--read-store",
        type=Path,
        metavar="DIR",
        help="build the reads' 100,000-claim store in DIR and keep it; reuse it if there",
    )
    parser.add_argument(
        "--audit-store",
        type=Path,
        metavar="DIR",
        help="build the audit store in DIR and keep it; reuse it if it is already there",
    )
    args = parser.parse_args(argv)
    if "postgres" in args.only and postgres_url() is None:
        if args.only != PARTS:  # asked for by name
            parser.error(skipped_reason())
        say(skipped_reason())
        args.only = tuple(p for p in args.only if p != "postgres")
    config = QUICK if args.quick else FULL
    audit_config = config.audit
    if args.audit_size is not None:
        audit_config = replace(audit_config, events=args.audit_size)
    if args.audit_runs is not None:
        runs = args.audit_runs
        audit_config = replace(
            audit_config,
            runs=runs,
            verify_cli_runs=runs,
            http_runs=min(runs, audit_config.http_runs),
        )
    config = replace(config, audit=audit_config)
    started_at = datetime.now(UTC)
    begun = time.perf_counter()
    machine = describe(ROOT)
    machine["temp_filesystem"] = filesystem_of(Path(tempfile.gettempdir()))
    say(
        f"claimledger benchmarks ({config.mode}; {', '.join(args.only)}): {config.runs} runs; "
        f"{machine['nproc']} CPUs, {machine['cpu_model']}, Python {machine['python']}, "
        f"load average {machine['load_average_at_start']}"
    )
    rows: list[Row] = []
    context: list[str] = []
    document: dict[str, Any] = {}
    part_seconds: dict[str, float] = {}
    part_begun = time.perf_counter()

    def part_done(part: str) -> None:
        nonlocal part_begun
        now = time.perf_counter()
        part_seconds[part] = now - part_begun
        part_begun = now
        say(f"part {part} took {part_seconds[part]:.1f} s")

    if "http" in args.only:
        http = run_http(config.runs, config.http_seconds, config.http_warmup, say)
        rows += http_rows(http)
        context += http_context(http)
        document["http_runs"] = http
        part_done("http")
    if "ingest" in args.only:
        ingest = run_ingest(
            config.ingest_claims, config.runs, config.ingest_seconds, config.http_warmup, say
        )
        rows += ingest_rows(ingest)
        context += ingest_context(ingest)
        document["ingest"] = ingest
        part_done("ingest")
    if "reads" in args.only:
        reads = run_reads(
            config.runs, config.read_seconds, config.read_warmup, args.read_store, say
        )
        rows += read_rows(reads)
        context += read_context(reads)
        document["reads"] = reads
        part_done("reads")
    if "projection" in args.only:
        projection = run_projection(
            config.claims, config.hot_claims, config.write_claims, config.runs, say
        )
        rows += projection_rows(projection)
        context += projection_context(projection)
        document["projection"] = projection
        part_done("projection")
    if "audit" in args.only:
        audit = run_audit(config.audit, args.audit_store, say)
        rows += audit_rows(audit)
        context += audit_context(audit)
        document["audit"] = audit
        part_done("audit")
    if "postgres" in args.only:
        pg = run_postgres(config.runs, config.http_seconds, config.http_warmup, config.claims, say)
        rows += postgres_rows(pg)
        context += postgres_context(pg)
        document["postgres"] = pg
        part_done("postgres")
    machine["load_average_at_end"] = load_average()
    machine["git_at_end"] = git_revision(ROOT)  # others may commit while this runs
    elapsed = time.perf_counter() - begun

    print()
    print(
        f"claimledger benchmarks, {config.mode} mode, {started_at:%Y-%m-%d %H:%M} UTC: "
        "medians over runs; ratio = median of per-run figure / baseline"
    )
    print(
        f"machine: {machine['nproc']} CPUs ({machine['cpu_model']}), Python {machine['python']}, "
        f"load average {machine['load_average_at_start']} → {machine['load_average_at_end']}"
    )
    git, git_end = machine["git"], machine["git_at_end"]

    def code(g: dict[str, Any]) -> str:
        outside = g["changed_outside_bench"]
        return f"{g['commit']}" + (f" + uncommitted {', '.join(outside)}" if outside else "")

    print(f"code: {code(git)}" + ("" if git == git_end else f", at the end {code(git_end)}"))
    print()
    print(table(rows))
    print()
    for line in context:
        print(line)
    print("Parts took: " + ", ".join(f"{k} {v:.1f} s" for k, v in part_seconds.items()) + ".")
    print(f"Took {elapsed:.0f} s.")

    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        everything = args.only in (PARTS, tuple(p for p in PARTS if p != "postgres"))
        name = config.mode if everything else f"{config.mode}-{'+'.join(args.only)}"
        path = RESULTS / f"{started_at:%Y%m%dT%H%M%SZ}-{name}.json"
        document = {
            "mode": config.mode,
            "parts": list(args.only),
            "started_at": started_at.isoformat(),
            "elapsed_s": elapsed,
            "part_seconds": part_seconds,
            "config": asdict(config),
            "machine": machine,
            "figures": [r.as_dict() for r in rows],
            **document,
        }
        path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
        print(f"Wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
