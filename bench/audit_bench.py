"""The audit-log figures (DESIGN §6): leaf hashing, `verify` over a large store, and
proofs served from a large log, each against a baseline measured in the same run.

- Leaf hashing: canonical bytes + leaf hash per feed event, against plain `json.dumps`
  of the same envelopes and against `hashlib.sha256` alone over the same bytes.
- Verify: what `claimledger verify` does on a clean SQLite store (its fast path,
  `check_in_write_order`), then the phases of the full rebuild it falls back to (every
  view rebuilt into a private file, then compared), in this process, beside `verify_log`
  (the leaf check alone); and `claimledger verify` as a subprocess (wall, CPU, peak RSS).
  The baseline is merely reading and decoding the same events (`select_notifications` +
  `to_domain_event`).
- Rebuild: `claimledger rebuild` as a subprocess on the same store (it rebuilds the
  views in place, to the same rows): wall time and that process's peak RSS.
- Proofs: `MerkleLog.inclusion` / `.consistency` / `.root` in this process (no HTTP),
  against `MerkleLog.size()` (the same read transaction with no tree work); then
  `claimledger serve` on the same store, driven by the closed-loop load generator at 4
  and 32 keep-alive clients, against `/healthz` on the same server.

The store is bench/audit_store.py's (built once per invocation, or kept with
`--audit-store DIR`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench.audit_store import PAGE, build_store, events_path, feed_records, opened
from bench.http_load import Phase, Send, announce, get_each, run_phases
from bench.server import Server, claimledger_command
from bench.stats import median, percentile
from bench.workloads import read_and_decode
from projections.events.feed_event import Applied
from projections.log.canonical import canonical_bytes
from projections.log.merkle import InMemoryTree, leaf_hash
from projections.reads.audit_log import MerkleLog
from projections.verify.verification import (
    check_in_write_order,
    compare_views,
    private_rebuild,
    verify_log,
)

Say = Callable[[str], None]
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AuditConfig:
    events: int  # events in the verify/proof store (claims = events - the prelude)
    leaf_events: int  # events hashed per leaf-hashing run (at most the store's)
    runs: int  # leaf hashing, in-process verify and in-process proofs
    verify_cli_runs: int  # `claimledger verify` subprocesses
    proof_calls: int  # in-process calls per proof kind per run
    http_runs: int
    http_seconds: float
    http_warmup: float
    http_clients: tuple[int, ...] = (32, 4)  # each proof phase, and /healthz, at each


# ---------------------------------------------------------------------------
# (a) Leaf hashing


def leaf_hash_runs(records: list[Applied], runs: int, say: Say) -> list[dict[str, Any]]:
    """Per run, interleaved: canonical bytes + leaf hash; plain json.dumps; sha256 alone."""
    envelopes = [
        {
            "stream": r.stream,
            "version": r.version,
            "type": r.type,
            "recorded_at": r.recorded_at,
            "actor": r.actor,
            "data": r.data,
        }
        for r in records
    ]
    prefixed = [
        b"\x00" + canonical_bytes(r.stream, r.version, r.type, r.recorded_at, r.actor, r.data)
        for r in records
    ]
    digests = [hashlib.sha256(p).digest() for p in prefixed]
    mean_bytes = sum(len(p) - 1 for p in prefixed) / len(prefixed)
    results = []
    for r in range(runs):
        begun = time.perf_counter()
        for e in records:
            leaf_hash(canonical_bytes(e.stream, e.version, e.type, e.recorded_at, e.actor, e.data))
        leaf_s = time.perf_counter() - begun
        begun = time.perf_counter()
        for envelope in envelopes:
            json.dumps(envelope)
        dumps_s = time.perf_counter() - begun
        begun = time.perf_counter()
        for data in prefixed:
            hashlib.sha256(data).digest()
        sha_s = time.perf_counter() - begun
        begun = time.perf_counter()
        tree = InMemoryTree()
        for digest in digests:
            tree.append(digest)
        tree.root()
        tree_s = time.perf_counter() - begun
        n = len(records)
        run = {
            "events": n,
            "mean_canonical_bytes": mean_bytes,
            "leaf_rate": n / leaf_s,
            "json_dumps_rate": n / dumps_s,
            "sha256_rate": n / sha_s,
            "tree_append_rate": n / tree_s,
        }
        results.append(run)
        say(
            f"  leaf hashing run {r + 1}/{runs}: canonical+leaf {run['leaf_rate']:9,.0f}/s, "
            f"json.dumps {run['json_dumps_rate']:9,.0f}/s, sha256 {run['sha256_rate']:10,.0f}/s, "
            f"tree append {run['tree_append_rate']:9,.0f}/s ({n:,} events, "
            f"{mean_bytes:.0f} bytes each)"
        )
    return results


# ---------------------------------------------------------------------------
# (b) Verify


def verify_in_process(directory: Path, runs: int, say: Say) -> list[dict[str, Any]]:
    """Per run: the read+decode baseline, then verify's fast path (what `claimledger
    verify` runs on a clean SQLite store) and the phases of the full rebuild it falls
    back to when the fast path cannot show the views equal, each timed."""
    results = []
    with opened(directory) as store:
        read_and_decode(store.ledger, PAGE)  # untimed: the first read pays for the page cache
        until = store.views.position()
        for r in range(runs):
            begun = time.perf_counter()
            decoded = read_and_decode(store.ledger, PAGE, until)
            decode_s = time.perf_counter() - begun
            begun = time.perf_counter()
            fast = check_in_write_order(store.ledger, str(store.paths[1]))
            fast_s = time.perf_counter() - begun
            if fast is None:
                raise RuntimeError("verify's fast path did not pass the benchmark's store")
            begun = time.perf_counter()
            checked = verify_log(store.ledger, store.views)
            log_s = time.perf_counter() - begun
            if not hasattr(checked, "root_hash"):
                raise RuntimeError(f"verify_log failed on the benchmark's store: {checked}")
            begun = time.perf_counter()
            with private_rebuild(store.ledger, until) as rebuilt:
                rebuild_s = time.perf_counter() - begun
                if not hasattr(rebuilt, "writer"):
                    raise RuntimeError(f"the rebuild failed on the benchmark's store: {rebuilt}")
                begun = time.perf_counter()
                divergence = compare_views(store.views, rebuilt)  # type: ignore[arg-type]
                compare_s = time.perf_counter() - begun
            if divergence is not None:
                raise RuntimeError(f"compare_views failed on the benchmark's store: {divergence}")
            if decoded != until:
                raise RuntimeError(f"read {decoded} of {until} events")
            total = rebuild_s + compare_s  # the full rebuild `claimledger verify` falls back to
            run = {
                "events": until,
                "decode_s": decode_s,
                "decode_rate": until / decode_s,
                "fast_s": fast_s,
                "fast_rate": until / fast_s,
                "verify_log_s": log_s,
                "verify_log_rate": until / log_s,
                "rebuild_s": rebuild_s,
                "rebuild_rate": until / rebuild_s,
                "compare_s": compare_s,
                "compare_rate": until / compare_s,
                "total_s": total,
                "total_rate": until / total,
            }
            results.append(run)
            say(
                f"  verify in-process run {r + 1}/{runs}: read+decode {decode_s:6.2f} s, "
                f"fast path {fast_s:6.2f} s, verify_log {log_s:6.2f} s, full rebuild "
                f"{rebuild_s:6.2f} s + compare {compare_s:6.2f} s = {total:6.2f} s "
                f"({until:,} events)"
            )
    return results


def verify_cli(directory: Path, runs: int, say: Say) -> list[dict[str, Any]]:
    """`claimledger verify` on the store, as a user runs it: wall time and its CPU time."""
    env = cli_env(directory)
    with opened(directory) as store:
        events = store.views.position()
    results = []
    for r in range(runs):
        done, wall, usage, peak = run_measured([*claimledger_command(), "verify"], env, directory)
        if done.returncode != 0 or f"verified {events} events" not in done.stdout:
            raise RuntimeError(
                f"claimledger verify exited {done.returncode}: {done.stdout} {done.stderr[-500:]}"
            )
        run = measured_run(events, wall, usage, peak)
        results.append(run)
        say(
            f"  claimledger verify run {r + 1}/{runs}: {wall:6.2f} s "
            f"({run['rate']:,.0f} events/s), CPU {run['cpu_s']:6.2f} s "
            f"({run['cores']:.2f} cores), peak RSS {run['max_rss_mib']:,.0f} MiB"
        )
    return results


def cli_env(directory: Path) -> dict[str, str]:
    """The environment of a `claimledger` command on the benchmark's store."""
    env = dict(os.environ)
    env.update(
        CLAIMLEDGER_DATABASE_URL=f"sqlite:///{events_path(directory)}",
        CLAIMLEDGER_ADMIN_KEY="unused-by-the-benchmark",
    )
    return env


def rebuild_cli(directory: Path, say: Say) -> dict[str, Any]:
    """`claimledger rebuild` on the store (to the same rows): wall time and peak RSS."""
    env = cli_env(directory)
    with opened(directory) as store:
        events = store.views.position()
    done, wall, usage, peak = run_measured([*claimledger_command(), "rebuild"], env, directory)
    if done.returncode != 0 or f"up to position {events}" not in done.stdout:
        raise RuntimeError(f"claimledger rebuild exited {done.returncode}: {done.stderr[-500:]}")
    run = measured_run(events, wall, usage, peak)
    say(
        f"  claimledger rebuild: {wall:6.2f} s ({run['rate']:,.0f} events/s), "
        f"peak RSS {run['max_rss_mib']:,.0f} MiB"
    )
    return run


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def run_measured(
    command: list[str], env: dict[str, str], cwd: Path
) -> tuple[Finished, float, resource.struct_rusage, float]:
    """Run a command to its end: its own resource usage (wait4) and its peak RSS in MiB.

    The peak is the child's VmHWM, polled every 50 ms until it exits: wait4's ru_maxrss
    would count the benchmark process's own RSS, which Linux records at the exec of the
    forked child."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        begun = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        peak_kib = 0
        while True:
            peak_kib = max(peak_kib, high_water_kib(process.pid))
            finished, status, usage = os.wait4(process.pid, os.WNOHANG)
            if finished:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - begun
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Finished(process.returncode, out.read(), err.read()), wall, usage, peak_kib / 1024


def high_water_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measured_run(
    events: int, wall: float, usage: resource.struct_rusage, peak_mib: float
) -> dict[str, Any]:
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "events": events,
        "wall_s": wall,
        "rate": events / wall,
        "cpu_s": cpu,
        "cores": cpu / wall,
        "max_rss_mib": peak_mib,
    }


# ---------------------------------------------------------------------------
# (c) Proofs


def proof_arguments(size: int, count: int, seed: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Random leaf indices below `size`, and random pairs 1 <= first < second <= size."""
    rng = random.Random(seed)
    leaves = [rng.randrange(size) for _ in range(count)]
    pairs = []
    for _ in range(count):
        first = rng.randrange(1, size)
        pairs.append((first, rng.randint(first + 1, size)))
    return leaves, pairs


def latencies(call: Callable[[int], object], count: int) -> dict[str, float]:
    times = []
    begun = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - t)
    wall = time.perf_counter() - begun
    times.sort()
    return {
        "calls": count,
        "rate": count / wall,
        "p50_ms": percentile(times, 50) * 1000,
        "p99_ms": percentile(times, 99) * 1000,
        "max_ms": times[-1] * 1000,
    }


def inclusion(log: MerkleLog, leaves: list[int], size: int, i: int) -> object:
    return log.inclusion(leaves[i], size)


def consistency(log: MerkleLog, pairs: list[tuple[int, int]], i: int) -> object:
    return log.consistency(*pairs[i])


def proofs_in_process(directory: Path, runs: int, count: int, say: Say) -> list[dict[str, Any]]:
    """MerkleLog calls with no HTTP; the baseline is `size()`: the same read transaction
    and size query, with no tree work."""
    results = []
    with opened(directory) as store:
        log = MerkleLog(store.views)
        size = log.size()
        for r in range(runs):
            leaves, pairs = proof_arguments(size, count, seed=r)
            log.inclusion(leaves[0], size)  # untimed: the first read opens the connection
            run: dict[str, Any] = {
                "tree_size": size,
                "size": latencies(lambda i: log.size(), count),
                "root": latencies(lambda i: log.root(), count),
                "inclusion": latencies(partial(inclusion, log, leaves, size), count),
                "consistency": latencies(partial(consistency, log, pairs), count),
            }
            path = len(log.inclusion(leaves[0], size).audit_path)
            run["inclusion_path_hashes"] = path
            results.append(run)
            say(
                f"  proofs in-process run {r + 1}/{runs} (tree of {size:,}): "
                + ", ".join(
                    f"{k} p50 {run[k]['p50_ms']:.3f} ms p99 {run[k]['p99_ms']:.3f} ms"
                    for k in ("size", "root", "inclusion", "consistency")
                )
            )
    return results


def proof_phases(size: int, client_counts: tuple[int, ...]) -> list[Callable[[], Phase]]:
    leaves, pairs = proof_arguments(size, 1 << 16, seed=12345)
    mask = len(leaves) - 1

    def inclusion(n: int) -> str:
        return f"/v1/audit/proofs/inclusion?leaf_index={leaves[n & mask]}&tree_size={size}"

    def consistency(n: int) -> str:
        first, second = pairs[n & mask]
        return f"/v1/audit/proofs/consistency?first={first}&second={second}"

    def make(name: str, send: Send, clients: int) -> Callable[[], Phase]:
        return lambda: Phase(f"{name}@{clients}", send, clients)

    phases = []
    for clients in client_counts:
        phases += [
            make("healthz", get_each(lambda n: "/healthz"), clients),
            make("tree-head", get_each(lambda n: "/v1/audit/tree-head"), clients),
            make("inclusion", get_each(inclusion), clients),
            make("consistency", get_each(consistency), clients),
        ]
    return phases


def check_proof_answers(server: Server, size: int) -> None:
    """One answer of each kind, checked, before any timing: a 4xx must not pass as fast."""
    with httpx.Client(base_url=server.base_url, trust_env=False, timeout=30) as client:
        head = client.get("/v1/audit/tree-head")
        head.raise_for_status()
        if head.json()["tree_size"] != size:
            raise RuntimeError(f"the server's tree has {head.json()['tree_size']}, not {size}")
        proof = client.get(f"/v1/audit/proofs/inclusion?leaf_index={size // 3}&tree_size={size}")
        proof.raise_for_status()
        answer = client.get(f"/v1/audit/proofs/consistency?first={size // 3}&second={size}")
        answer.raise_for_status()


def proofs_http(
    directory: Path,
    logs: Path,
    size: int,
    config: AuditConfig,
    say: Say,
) -> list[dict[str, Any]]:
    """Per run: a fresh `claimledger serve` on the store (no demo data), every phase."""
    results: list[dict[str, Any]] = []
    runs = config.http_runs
    for r in range(runs):
        workdir = logs / f"server-{r}"
        with Server(workdir, database=events_path(directory), demo=False) as server:
            server.wait_caught_up()
            check_proof_answers(server, size)
            run: dict[str, Any] = {"server_start_s": server.started_in, "phases": {}}
            run["phases"] = run_phases(
                server.base_url,
                {},
                proof_phases(size, config.http_clients),
                config.http_seconds,
                config.http_warmup,
                server.pid,
                announce(say, f"proofs http run {r + 1}/{runs}", 15),
            )
        results.append(run)
    return results


# ---------------------------------------------------------------------------


def run_audit(config: AuditConfig, store_dir: Path | None, say: Say) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="claimledger-bench-audit-") as tmp:
        directory = store_dir or Path(tmp) / "store"
        store = build_store(directory, config.events, say)
        with opened(directory) as opened_store:
            records = feed_records(opened_store.ledger, min(config.leaf_events, config.events))
        leaves = leaf_hash_runs(records, config.runs, say)
        del records
        verify = verify_in_process(directory, config.runs, say)
        cli = verify_cli(directory, config.verify_cli_runs, say)
        rebuild = rebuild_cli(directory, say)
        in_process = proofs_in_process(directory, config.runs, config.proof_calls, say)
        http = proofs_http(
            directory,
            Path(tmp),
            config.events,
            config,
            say,
        )
    return {
        "config": asdict(config),
        "store": {**store, "directory": str(store_dir) if store_dir else None},
        "leaf_hashing": leaves,
        "verify": verify,
        "verify_cli": cli,
        "rebuild_cli": rebuild,
        "proofs_in_process": in_process,
        "proofs_http": http,
    }


def extrapolate_seconds(runs: list[dict[str, Any]], key: str, events: int) -> float:
    """Linear extrapolation of a per-run duration to `events` (median rate)."""
    return events / median([run["events"] / run[key] for run in runs])
