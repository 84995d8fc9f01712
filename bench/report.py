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
    rows = []
    for subject, label, base in (
        ("post_claim@32", "POST /v1/claims, 32 clients", "healthz@32"),
        ("estimate@32", "GET estimate, 32 clients", "healthz@32"),
        ("estimate@4", "GET estimate, 4 clients", "healthz@4"),
    ):
        base_label = "GET /healthz, " + base.split("@")[1] + " clients"
        rows.append(
            row(label, "req/s", runs, phase(subject, "rate"), base_label, phase(base, "rate"))
        )
        for key, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
            rows.append(
                row(
                    f"{label}, {name}",
                    "ms",
                    runs,
                    phase(subject, key),
                    f"{base_label}, {name}",
                    phase(base, key),
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
    return rows


def projection_rows(projection: dict[str, Any]) -> list[Row]:
    spread_ = projection["spread"]
    hot = projection["hot"]
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
