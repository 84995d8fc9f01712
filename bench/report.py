"""One table of figures: each a median over runs, its baseline's median, and the median
of the per-run ratios (figure / baseline, both from the same run)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.stats import median, spread

Run = dict[str, Any]
Pick = Callable[[Run], float]


@dataclass(frozen=True)
class Row:
    figure: str
    unit: str
    median: float
    low: float
    high: float
    baseline: str
    baseline_median: float
    ratio: float  # median over runs of figure / baseline

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def row(
    figure: str, unit: str, runs: list[Run], pick: Pick, baseline: str, pick_baseline: Pick
) -> Row:
    values = [pick(run) for run in runs]
    bases = [pick_baseline(run) for run in runs]
    low, high = spread(values)
    return Row(
        figure=figure,
        unit=unit,
        median=median(values),
        low=low,
        high=high,
        baseline=baseline,
        baseline_median=median(bases),
        ratio=median([v / b for v, b in zip(values, bases, strict=True) if b]),
    )


def phase(name: str, key: str) -> Pick:
    return lambda run: float(run["phases"][name][key])


def cpu_per_request(name: str) -> Pick:
    """Server CPU time per successful request: less sensitive than rates to a busy machine."""
    return lambda run: 1000 * run["phases"][name]["server_cpu"] / run["phases"][name]["rate"]


def http_rows(runs: list[Run]) -> list[Row]:
    """POST /v1/claims with group commit beside /healthz on the same server and beside
    the direct write path (the naive baseline) in the same run; the direct path beside
    its own server's /healthz."""
    post, direct = "post_claim@32", "post_direct@32"
    label, direct_label = "POST /v1/claims, 32 clients", "POST /v1/claims, direct path, 32 clients"
    health, direct_health = "GET /healthz, 32 clients", "GET /healthz, 32 clients (that server)"
    rows = [
        row(label, "req/s", runs, phase(post, "rate"), health, phase("healthz@32", "rate")),
        row(
            label,
            "req/s",
            runs,
            phase(post, "rate"),
            "the same POSTs, direct path (naive baseline)",
            phase(direct, "rate"),
        ),
    ]
    for key, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
        rows.append(
            row(
                f"{label}, {name}",
                "ms",
                runs,
                phase(post, key),
                f"{health}, {name}",
                phase("healthz@32", key),
            )
        )
    rows.append(
        row(
            f"{label}, server CPU per request",
            "ms",
            runs,
            cpu_per_request(post),
            f"{health}, server CPU",
            cpu_per_request("healthz@32"),
        )
    )
    rows.append(
        row(
            direct_label,
            "req/s",
            runs,
            phase(direct, "rate"),
            direct_health,
            phase("direct_healthz@32", "rate"),
        )
    )
    for key, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
        rows.append(
            row(
                f"{direct_label}, {name}",
                "ms",
                runs,
                phase(direct, key),
                f"{direct_health}, {name}",
                phase("direct_healthz@32", key),
            )
        )
    rows.append(
        row(
            f"{direct_label}, server CPU per request",
            "ms",
            runs,
            cpu_per_request(direct),
            f"{direct_health}, server CPU",
            cpu_per_request("direct_healthz@32"),
        )
    )
    return rows


def ingest_rows(ingest: dict[str, Any]) -> list[Row]:
    """Batch ingest against raw sqlite3 inserts of the same stored rows, same run."""
    runs = ingest["runs"]
    raw = "raw sqlite3 executemany of the same rows, 1 transaction"
    n = f"{ingest['claims']:,} claims"
    return [
        row(
            f"record_claims in-process, {n}",
            "claims/s",
            runs,
            key("record_rate"),
            raw,
            key("raw_rate"),
        ),
        row(
            f"POST /v1/claims/batch, {ingest['http_clients']} clients, projecting",
            "claims/s",
            runs,
            nested("http", "claims_rate"),
            raw,
            key("raw_rate"),
        ),
        row(
            f"POST /v1/claims/batch, {ingest['http_clients']} clients, projections=worker",
            "claims/s",
            runs,
            nested("http_worker", "claims_rate"),
            raw,
            key("raw_rate"),
        ),
        row(
            f"POST /v1/claims/batch, {ingest['http_clients']} clients, projecting, p99",
            "ms",
            runs,
            nested("http", "p99_ms"),
            "the same, projections=worker, p99",
            nested("http_worker", "p99_ms"),
        ),
        row(
            f"claimledger import, {n} (wall, whole command)",
            "claims/s",
            runs,
            nested("import", "rate"),
            raw,
            key("raw_rate"),
        ),
        *ingest_floor_rows(runs, raw),
    ]


def ingest_floor_rows(runs: list[Run], raw: str) -> list[Row]:
    """One claim's cost through the library, step by step (each timed on its own), against
    raw sqlite3's cost of a row, and the ceiling their sum implies, same runs."""
    if not runs or "floor" not in runs[0]:
        return []
    raw_us = "raw sqlite3 executemany, per row"

    def pick_raw_us(run: Run) -> float:
        return 1e6 / float(run["raw_rate"])

    def ceiling_rate(*steps: str) -> Pick:
        return lambda run: 1e6 / sum(float(run["floor"][s]) for s in steps)

    steps = ("domain_us", "mapper_us", "recorder_us")
    return [
        *(
            row(label, "µs/claim", runs, nested("floor", step), raw_us, pick_raw_us)
            for label, step in (
                ("floor 1: new_claim + collect_events (domain, no storage)", "domain_us"),
                ("floor 2: ledger.mapper.to_stored_event (no storage)", "mapper_us"),
                ("floor 3: ledger.recorder.insert_events, pre-encoded, 1 txn", "recorder_us"),
                ("floor 1+2+3 (no checks, no writer thread)", "sum_us"),
                ("(request validation: model_validate + to_fields)", "validation_us"),
            )
        ),
        row(
            "ceiling implied by floor 1+2+3 (1e6 / sum)",
            "claims/s",
            runs,
            ceiling_rate(*steps),
            raw,
            key("raw_rate"),
        ),
        row(
            "ceiling with request validation too (HTTP, import)",
            "claims/s",
            runs,
            ceiling_rate(*steps, "validation_us"),
            raw,
            key("raw_rate"),
        ),
    ]


def read_rows(reads: dict[str, Any]) -> list[Row]:
    """The estimate over 100,000 claims in 1,000 metrics, beside /healthz, same server; a
    metric with relations beside one without."""
    runs = reads["runs"]
    n = f"{reads['claims']:,} claims"
    rows = []
    for subject, label, base in (
        ("estimate@32", f"GET estimate ({n}), 32 clients", "healthz@32"),
        ("estimate@4", f"GET estimate ({n}), 4 clients", "healthz@4"),
        ("known_at@32", f"GET estimate ?known_at= ({n}), 32 clients", "healthz@32"),
        ("known_at@4", f"GET estimate ?known_at= ({n}), 4 clients", "healthz@4"),
        (
            "known_at_distinct@4",
            "GET estimate, a new known_at each request, 4 clients",
            "healthz@4",
        ),
        ("related@4", "GET estimate, a metric with 3 relations, 4 clients", "unrelated@4"),
    ):
        clients = base.split("@")[1]
        base_label = f"GET /healthz, {clients} clients"
        if base == "unrelated@4":  # the same store's metric with no relation, same claims
            base_label = "GET estimate, a metric with none, 4 clients"
        rows.append(
            row(label, "req/s", runs, phase(subject, "rate"), base_label, phase(base, "rate"))
        )
        for stat, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
            rows.append(
                row(
                    f"{label}, {name}",
                    "ms",
                    runs,
                    phase(subject, stat),
                    f"{base_label}, {name}",
                    phase(base, stat),
                )
            )
        rows.append(
            row(
                f"{label}, server CPU per request",
                "ms",
                runs,
                cpu_per_request(subject),
                f"{base_label}, server CPU",
                cpu_per_request(base),
            )
        )
    for subject, label, base, base_label in (
        ("known_at@32", "known_at, 32 clients", "estimate@32", "estimate now, 32 clients"),
        ("known_at@4", "known_at, 4 clients", "estimate@4", "estimate now, 4 clients"),
    ):
        rows.append(
            row(label, "req/s", runs, phase(subject, "rate"), base_label, phase(base, "rate"))
        )
        rows.append(
            row(
                f"{label}, p99",
                "ms",
                runs,
                phase(subject, "p99_ms"),
                f"{base_label}, p99",
                phase(base, "p99_ms"),
            )
        )
    return rows


def projection_rows(projection: dict[str, Any]) -> list[Row]:
    spread_ = projection["spread"]
    hot = projection["hot"]
    sparse = projection["sparse"]
    writes = projection["writes"]

    def catch_up(run: Run) -> float:
        return float(run["catch_up_rate"])

    def decode(run: Run) -> float:
        return float(run["decode_rate"])

    def single(run: Run) -> float:
        return float(run["single_rate"])

    return [
        row(
            f"catch-up, {spread_['claims']:,} claims over {spread_['metrics']:,} metrics",
            "events/s",
            spread_["runs"],
            catch_up,
            "read + decode the same events",
            decode,
        ),
        row(
            f"catch-up, {sparse['claims']:,} claims over {sparse['metrics']:,} metrics",
            "events/s",
            sparse["runs"],
            catch_up,
            "read + decode the same events",
            decode,
        ),
        row(
            f"catch-up, {hot['claims']:,} claims on one metric",
            "events/s",
            hot["runs"],
            catch_up,
            "read + decode the same events",
            decode,
        ),
        row(
            "in-process record_claim, 1 per transaction",
            "claims/s",
            writes["runs"],
            single,
            "bare SQLite commits, WAL, same disk",
            lambda run: float(run["bare_commit_rate"]),
        ),
        row(
            "in-process record_claims, 500 per transaction",
            "claims/s",
            writes["runs"],
            lambda run: float(run["batched_rate"]),
            "record_claim, 1 per transaction",
            single,
        ),
    ]


def number(value: float) -> str:
    if math.isnan(value):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    header = ("figure", "unit", "median", "runs min–max", "baseline (same runs)", "median", "ratio")
    lines = [
        (
            r.figure,
            r.unit,
            number(r.median),
            f"{number(r.low)}–{number(r.high)}",
            r.baseline,
            number(r.baseline_median),
            f"{r.ratio:.3f}"
            if r.ratio < 0.1
            else f"{r.ratio:.2f}"
            if r.ratio < 10
            else f"{r.ratio:.1f}",
        )
        for r in rows
    ]
    widths = [max(len(str(cells[i])) for cells in [header, *lines]) for i in range(len(header))]
    right = {2, 3, 5, 6}

    def render(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(header), rule, *(render(cells) for cells in lines)])


def key(name: str) -> Pick:
    return lambda run: float(run[name])


def nested(*names: str) -> Pick:
    def pick(run: Run) -> float:
        value: Any = run
        for name in names:
            value = value[name]
        return float(value)

    return pick


def paired(runs: list[Run], baselines: list[Run]) -> list[Run]:
    """Runs of one kind, each given the baseline run of the same index as `base`."""
    return [{**run, "base": base} for run, base in zip(runs, baselines, strict=False)]


def audit_rows(audit: dict[str, Any]) -> list[Row]:
    leaves = audit["leaf_hashing"]
    verify = audit["verify"]
    n_leaves = leaves[0]["events"]
    events = verify[0]["events"]
    decode = "read + decode the same events"
    rows = [
        row(
            f"leaf hash (canonical bytes + SHA-256), {n_leaves:,} events",
            "events/s",
            leaves,
            key("leaf_rate"),
            "plain json.dumps of the same envelopes",
            key("json_dumps_rate"),
        ),
        row(
            f"leaf hash (canonical bytes + SHA-256), {n_leaves:,} events",
            "events/s",
            leaves,
            key("leaf_rate"),
            "hashlib.sha256 alone, same bytes",
            key("sha256_rate"),
        ),
        row(
            f"InMemoryTree.append + root, {n_leaves:,} leaves",
            "leaves/s",
            leaves,
            key("tree_append_rate"),
            "hashlib.sha256 alone, same bytes",
            key("sha256_rate"),
        ),
    ]
    for name, label in (
        ("fast_rate", "verify: fast path (append-only views compared in write order)"),
        ("verify_log_rate", "verify_log (the leaf check alone)"),
        ("rebuild_rate", "verify, full rebuild: every view into a private file"),
        ("compare_rate", "verify, full rebuild: compare_views (stored vs rebuilt)"),
        ("total_rate", "verify, full rebuild: rebuild + compare, in-process"),
    ):
        rows.append(
            row(
                f"{label}, {events:,} events",
                "events/s",
                verify,
                key(name),
                decode,
                key("decode_rate"),
            )
        )
    cli = paired(audit["verify_cli"], verify)
    rows.append(
        row(
            f"claimledger verify (subprocess), {events:,} events",
            "events/s",
            cli,
            key("rate"),
            decode + " (in-process runs)",
            nested("base", "decode_rate"),
        )
    )
    in_process = audit["proofs_in_process"]
    size = in_process[0]["tree_size"]
    for kind, label in (
        ("inclusion", "MerkleLog.inclusion"),
        ("consistency", "MerkleLog.consistency"),
        ("root", "MerkleLog.root"),
    ):
        for stat in ("p50_ms", "p99_ms"):
            rows.append(
                row(
                    f"{label}, in-process, tree of {size:,}, {stat[:3]}",
                    "ms",
                    in_process,
                    nested(kind, stat),
                    f"MerkleLog.size (same transaction, no tree), {stat[:3]}",
                    nested("size", stat),
                )
            )
    http = audit["proofs_http"]
    for subject, label in (
        ("inclusion", "GET /v1/audit/proofs/inclusion"),
        ("consistency", "GET /v1/audit/proofs/consistency"),
        ("tree-head", "GET /v1/audit/tree-head"),
    ):
        for clients in audit["config"]["http_clients"]:
            name, base = f"{subject}@{clients}", f"healthz@{clients}"
            base_label = f"GET /healthz, {clients} client" + ("s" if clients > 1 else "")
            full = f"{label}, tree of {size:,}, {clients} client" + ("s" if clients > 1 else "")
            rows.append(
                row(full, "req/s", http, phase(name, "rate"), base_label, phase(base, "rate"))
            )
            for stat in ("p50_ms", "p99_ms"):
                rows.append(
                    row(
                        f"{full}, {stat[:3]}",
                        "ms",
                        http,
                        phase(name, stat),
                        f"{base_label}, {stat[:3]}",
                        phase(base, stat),
                    )
                )
            rows.append(
                row(
                    f"{full}, server CPU per request",
                    "ms",
                    http,
                    cpu_per_request(name),
                    f"{base_label}, server CPU",
                    cpu_per_request(base),
                )
            )
    return rows
