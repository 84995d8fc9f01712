"""`python -m bench [--quick]`: run every benchmark, print one table, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http_bench import BENCH_METRICS, run_http
from bench.machine import describe, filesystem_of, load_average
from bench.projection_bench import run_projection
from bench.report import http_rows, projection_rows, table
from bench.stats import median

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Config:
    mode: str
    runs: int
    http_seconds: float  # each timed HTTP phase, per run
    http_warmup: float  # untimed, before each phase
    claims: int  # projection catch-up, claims spread over claims / 50 metrics
    hot_claims: int  # projection catch-up, every claim on one metric
    write_claims: int  # in-process writes, per run and per variant


QUICK = Config(
    "quick",
    runs=3,
    http_seconds=3.0,
    http_warmup=0.5,
    claims=5_000,
    hot_claims=500,
    write_claims=500,
)
FULL = Config(
    "full",
    runs=5,
    http_seconds=15.0,
    http_warmup=2.0,
    claims=50_000,
    hot_claims=1_000,
    write_claims=2_000,
)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def context_lines(http: list[dict[str, Any]], projection: dict[str, Any]) -> list[str]:
    def med(name: str, key: str) -> float:
        return median([run["phases"][name][key] for run in http])

    lines = ["CPU during each HTTP phase (medians; 1.00 = one core busy):"]
    for name in http[0]["phases"]:
        lines.append(
            f"  {name:<14} server {med(name, 'server_cpu'):.2f}  "
            f"client {med(name, 'client_cpu'):.2f}  other processes {med(name, 'other_cpu'):.2f}"
        )
    lags = [run["post_projection_lag_events"] for run in http]
    drains = [run["post_projection_drain_s"] for run in http]
    lines.append(
        f"Projection lag when the POSTs stopped: median {median(lags):.0f} events "
        f"(max {max(lags)}), caught up {median(drains) * 1000:.0f} ms later (median)."
    )
    start = median([run["server_start_s"] for run in http])
    lines.append(
        f"The estimate read {http[0]['estimate_claims']} claims; POSTs spread over "
        f"{BENCH_METRICS} metrics; requests carry an issued contributor key; "
        f"server start (demo seed loaded) median {start:.2f} s."
    )
    spread_ = projection["spread"]
    lines.append(
        f"Recording the {spread_['claims']:,} catch-up claims, 500 per transaction, took "
        f"{spread_['record_batched_s']:.2f} s (one sample)."
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs (< 2 min)")
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    started_at = datetime.now(UTC)
    begun = time.perf_counter()
    machine = describe(ROOT)
    machine["temp_filesystem"] = filesystem_of(Path(tempfile.gettempdir()))
    say(
        f"claimledger benchmarks ({config.mode}): {config.runs} runs; "
        f"{machine['nproc']} CPUs, {machine['cpu_model']}, Python {machine['python']}, "
        f"load average {machine['load_average_at_start']}"
    )
    http = run_http(config.runs, config.http_seconds, config.http_warmup, say)
    projection = run_projection(
        config.claims, config.hot_claims, config.write_claims, config.runs, say
    )
    rows = [*http_rows(http), *projection_rows(projection)]
    machine["load_average_at_end"] = load_average()
    elapsed = time.perf_counter() - begun

    print()
    print(
        f"claimledger benchmarks, {config.mode} mode, {started_at:%Y-%m-%d %H:%M} UTC: "
        f"medians of {config.runs} runs; ratio = median of per-run figure / baseline"
    )
    print(
        f"machine: {machine['nproc']} CPUs ({machine['cpu_model']}), Python {machine['python']}, "
        f"load average {machine['load_average_at_start']} → {machine['load_average_at_end']}"
    )
    print()
    print(table(rows))
    print()
    for line in context_lines(http, projection):
        print(line)
    print(f"Took {elapsed:.0f} s.")

    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{started_at:%Y%m%dT%H%M%SZ}-{config.mode}.json"
        document = {
            "mode": config.mode,
            "started_at": started_at.isoformat(),
            "elapsed_s": elapsed,
            "config": asdict(config),
            "machine": machine,
            "figures": [r.as_dict() for r in rows],
            "http_runs": http,
            "projection": projection,
        }
        path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
        print(f"Wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
