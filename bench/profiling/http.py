"""Profile a running `claimledger serve` under HTTP load with py-spy (`--pid`).

    python -m bench.profiling.http post            # POST /v1/claims at 32 clients
    python -m bench.profiling.http post --write-path direct
    python -m bench.profiling.http batch           # POST /v1/claims/batch, 1,000 a request
    python -m bench.profiling.http estimate --store DIR   # a store built by bench.read_bench

The server is started as the benchmark starts it (bench.server), the load is the
benchmark's closed-loop generator, and py-spy samples the server process for the length
of the timed phase. `--gil` (the default) keeps only samples of the thread holding the
GIL: in one CPU-bound Python process that is where the time goes. Prints the functions
with the most samples, inclusive and self, cut to this repository and the libraries.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.http_bench import define_bench_metrics, issue_contributor_key
from bench.http_load import Phase, get, post_json, run_phase
from bench.profiling.py_spy import print_samples, py_spy, tally
from bench.server import Server
from bench.workloads import BENCH_METRICS, claim_body

GROUPS = (
    # (label, any frame whose name contains one of these marks the sample)
    (
        "commit wait / writer thread",
        (
            "_commit (projections/storage/group_commit.py)",
            "_run (projections/storage/group_commit.py)",
        ),
    ),
    ("ledger.save (library + SQLite)", ("save (eventsourcing/application.py)",)),
    ("aggregate load (repository.get)", ("get (eventsourcing/application.py)",)),
    ("key lookup", ("authenticate (api/deps.py)",)),
    ("request validation (pydantic)", ("request_body_to_args", "_validate_inputs")),
    ("response (model + JSON)", ("json_response (api/presenters.py)", "serialize_response")),
    ("projection runner", ("projections/runner/batched_runner.py",)),
    ("uvicorn / HTTP parsing", ("uvicorn/protocols",)),
    ("threadpool hop (anyio)", ("anyio/",)),
)


def groups_of(frames: list[str]) -> list[str]:
    joined = ";".join(frames)
    return [label for label, marks in GROUPS if any(mark in joined for mark in marks)]


def summarise(raw: Path, top: int) -> None:
    samples = tally(raw.read_text().splitlines(), groups_of)
    order = [label for label, _ in GROUPS]
    print_samples(samples, "By part (a sample may count in several)", top, order)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling.http", description=__doc__)
    parser.add_argument("what", choices=("post", "batch", "estimate", "known_at", "healthz"))
    parser.add_argument("--write-path", choices=("group", "direct"), default="group")
    parser.add_argument("--store", type=Path, help="serve this store (reads), not a new one")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--all-threads", action="store_true", help="not only the GIL holder")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--keep", type=Path, help="also write py-spy's raw output here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="claimledger-profile-") as tmp:
        work = Path(tmp)
        database = None
        if args.store is not None:
            from bench.http_bench import copy_store

            database = copy_store(args.store, work / "store")
        server = Server(
            work / "server",
            database=database,
            demo=database is None,
            extra_env={"CLAIMLEDGER_WRITE_PATH": args.write_path},
        )
        with server:
            admin = {"Authorization": f"Bearer {server.admin_key}"}
            if database is None:
                define_bench_metrics(server, admin)
            headers = {"Authorization": f"Bearer {issue_contributor_key(server, admin)}"}
            server.wait_caught_up()
            if database is not None:
                from bench.audit_store import prelude_events
                from bench.read_bench import CLAIMS, KNOWN_AT, half_recorded_at

                KNOWN_AT["value"] = half_recorded_at(server, headers, CLAIMS + prelude_events())
            phase = make_phase(args.what, args.clients, database is not None)
            raw = work / "profile.txt"
            command = [py_spy(), "record", "--pid", str(server.pid), "--format", "raw"]
            command += ["--rate", str(args.rate), "--duration", str(int(args.seconds) + 1)]
            command += ["-o", str(raw), "--nonblocking"]
            command += [] if args.all_threads else ["--gil"]
            spy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            threading.Event().wait(0.5)  # py-spy attaches
            result, errors = run_phase(
                server.base_url, headers, phase, args.seconds, 1.0, server.pid
            )
            output = spy.communicate(timeout=120)[0].decode(errors="replace")
            print(output.strip()[-500:])
            print(
                f"{result.name}: {result.rate:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms, server CPU {result.server_cpu:.2f} cores "
                f"({1000 * result.server_cpu / max(result.rate, 1e-9):.2f} ms a request), "
                f"{result.errors} errors {errors[:2]}"
            )
            if args.keep:
                args.keep.write_text(raw.read_text())
            summarise(raw, args.top)
    return 0


def make_phase(what: str, clients: int, big_store: bool) -> Phase:
    if what == "post":
        return Phase("post_claim", post_json("/v1/claims", claim_body), clients, 201)
    if what == "batch":
        from bench.ingest_bench import batch_body

        return Phase("post_batch", post_json("/v1/claims/batch", batch_body), clients, 201)
    if what == "healthz":
        return Phase("healthz", get("/healthz"), clients)
    if big_store:
        from bench.read_bench import estimate_send

        return Phase(what, estimate_send(known_at=what == "known_at"), clients)
    path = f"/v1/metrics/bench/m{BENCH_METRICS - 1:03d}/estimate"
    return Phase(what, get(path), clients)


if __name__ == "__main__":
    sys.exit(main())
