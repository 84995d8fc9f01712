"""The HTTP write figures: single-claim POSTs with group commit and on the direct write
path (the naive baseline), each beside /healthz on the same server.

Each run starts two fresh servers one after the other (a new store with the demo seed
each): the default one (group commit) and one with `CLAIMLEDGER_WRITE_PATH=direct` (one
`save()` per request in a worker thread). Each server answers /healthz at 32 and 4
clients, then POST /v1/claims at 32 clients (the POST last: it is the only phase that
changes state). So every ratio is within one run, and the group/direct ratio is between
two servers of the same code minutes apart. The read figures, on a store of 100,000
claims, are bench/read_bench.py.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.http_load import Phase, PhaseResult, get, post_json, run_phase
from bench.server import Server

BENCH_METRICS = 256  # POSTed claims are spread over these, so no one metric grows hot
MANY = 32
WRITE_PATHS = ("group", "direct")

PHASES: dict[str, list[tuple[str, Callable[[], Phase]]]] = {
    "group": [
        ("healthz@32", lambda: Phase("healthz@32", get("/healthz"), MANY)),
        (
            "post_claim@32",
            lambda: Phase("post_claim@32", post_json("/v1/claims", claim), MANY, 201),
        ),
    ],
    "direct": [
        ("direct_healthz@32", lambda: Phase("direct_healthz@32", get("/healthz"), MANY)),
        (
            "post_direct@32",
            lambda: Phase("post_direct@32", post_json("/v1/claims", claim), MANY, 201),
        ),
    ],
}


def claim(n: int) -> dict[str, Any]:
    """The n-th POSTed claim: a valid claim from the demo's sources on a bench metric."""
    return {
        "metric": f"bench/m{n % BENCH_METRICS:03d}",
        "value": 100 + n % 1000,
        "qualifier": "approximately",
        "as_of": "2025-01-20",
        "reported_by": "moscow-times",
        "attributed_to": ["bbc-russian"],
        "published_at": "2025-01-22",
    }


def define_bench_metrics(server: Server, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        for m in range(BENCH_METRICS):
            body = {"id": f"bench/m{m:03d}", "name": f"Bench metric {m}", "unit": "people"}
            answer = client.post("/v1/metrics", json=body)
            if answer.status_code != 201:
                raise RuntimeError(f"defining {body['id']}: {answer.status_code} {answer.text}")


def issue_contributor_key(server: Server, headers: dict[str, str]) -> str:
    """A contributor key, as a real client would hold: each request then looks it up."""
    with httpx.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        answer = client.post("/v1/keys", json={"name": "bench", "role": "contributor"})
        if answer.status_code != 201:
            raise RuntimeError(f"issuing a key: {answer.status_code} {answer.text}")
        secret: str = answer.json()["secret"]
        return secret


def run_http(
    runs: int, seconds: float, warmup: float, say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """`runs` independent runs; each a dict of phase name -> figures, plus context."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="claimledger-bench-") as tmp:
        for r in range(runs):
            run: dict[str, Any] = {"phases": {}}
            for write_path in WRITE_PATHS:
                extra = {"CLAIMLEDGER_WRITE_PATH": write_path}
                with Server(Path(tmp) / f"run-{r}-{write_path}", extra_env=extra) as server:
                    admin = {"Authorization": f"Bearer {server.admin_key}"}
                    define_bench_metrics(server, admin)
                    headers = {"Authorization": f"Bearer {issue_contributor_key(server, admin)}"}
                    server.wait_caught_up()
                    if write_path == "group":
                        run["server_start_s"] = server.started_in
                    for name, make in PHASES[write_path]:
                        result, errors = run_phase(
                            server.base_url, headers, make(), seconds, warmup, server.pid
                        )
                        if errors:
                            raise RuntimeError(f"{name}: {result.errors} failed requests: {errors}")
                        run["phases"][name] = result.as_dict()
                        say(progress_line(r, runs, result))
                    drained, lag = server.wait_caught_up()
                    prefix = "" if write_path == "group" else "direct_"
                    run[f"{prefix}post_projection_lag_events"] = lag
                    run[f"{prefix}post_projection_drain_s"] = drained
            results.append(run)
    return results


def progress_line(r: int, runs: int, result: PhaseResult) -> str:
    return (
        f"  http run {r + 1}/{runs} {result.name:<14} {result.rate:8.0f} req/s  "
        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
        f"cpu: client {result.client_cpu:4.0%} server {result.server_cpu:4.0%} "
        f"others {result.other_cpu:4.0%}"
    )
