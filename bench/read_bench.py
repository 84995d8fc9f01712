"""Read figures: the estimate over a store of 100,000 claims in 1,000
metrics, at 32 and 4 keep-alive clients, now and `?known_at=`, beside /healthz on the
same server in the same run.

The store is built through the ledger as bench.audit_bench builds its own (50 sources
rated once, 1,000 metrics, claims round-robin over the metrics in `record_claims` calls
of 1,000, projected by a second process as they are recorded), once per invocation or
kept with `--read-store DIR`. Each run
serves a fresh copy of it (`claimledger serve` without the demo), issues a key, and
drives, in this order: /healthz at 32 and 4 clients, the estimate at 32 and 4 (each
request the next metric, so all 1,000 are read), the estimate `?known_at=` the time the
store was half recorded (each metric then held about 50 of its 100 claims), at 32 and 4,
and at 4 with a different moment in every request (nothing the server remembers from
one request helps the next). Then, with three relations defined on the run's copy
(`RELATED` is tied by all three), the estimate of `RELATED` and of `UNRELATED` (tied by
none, the same number of claims) at 4 clients: what the derived figures and checks cost
a plain estimate GET.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench.audit_store import build_store, prelude_events
from bench.http_bench import Stopping, copy_store, issue_contributor_key
from bench.http_load import Phase, Send, announce, get, run_phases
from bench.server import Server
from bench.workloads import METRICS

Say = Callable[[str], None]
CLAIMS = 100_000
MANY, FEW = 32, 4
KNOWN_AT: dict[str, str] = {}  # set per run: the time the store was half recorded
RELATED, UNRELATED = "bench/m00000", "bench/m00010"
# Three relations tying RELATED (§9), none of them UNRELATED; no metric rests on itself.
RELATIONS: list[dict[str, Any]] = [
    {"id": "bench/r-sum", "kind": "sum", "total": RELATED, "parts": ["bench/m00001"]},
    {"id": "bench/r-order", "kind": "at_most", "lesser": "bench/m00003", "greater": RELATED},
    {"id": "bench/r-whole", "kind": "sum", "total": "bench/m00004", "parts": [RELATED]},
]


def estimate_send(known_at: bool = False, distinct: bool = False) -> Send:
    """GET the estimate of the n-th metric (round-robin over all of them); with
    `known_at`, as known when the store was half recorded; `distinct`, that time plus n
    microseconds (so no two requests ask for the same moment)."""

    async def send(client: httpx.AsyncClient, n: int) -> httpx.Response:
        path = f"/v1/metrics/bench/m{n % METRICS:05d}/estimate"
        if known_at:
            moment = KNOWN_AT["value"]
            if distinct:
                then = datetime.fromisoformat(moment) + timedelta(microseconds=n)
                moment = then.isoformat()
            path += "?known_at=" + quote(moment)
        return await client.get(path)

    return send


PHASES: list[tuple[str, Callable[[], Phase]]] = [
    ("healthz@32", lambda: Phase("healthz@32", get("/healthz"), MANY)),
    ("healthz@4", lambda: Phase("healthz@4", get("/healthz"), FEW)),
    ("estimate@32", lambda: Phase("estimate@32", estimate_send(), MANY)),
    ("estimate@4", lambda: Phase("estimate@4", estimate_send(), FEW)),
    ("known_at@32", lambda: Phase("known_at@32", estimate_send(known_at=True), MANY)),
    ("known_at@4", lambda: Phase("known_at@4", estimate_send(known_at=True), FEW)),
    (
        "known_at_distinct@4",
        lambda: Phase("known_at_distinct@4", estimate_send(known_at=True, distinct=True), FEW),
    ),
    ("unrelated@4", lambda: Phase("unrelated@4", get(f"/v1/metrics/{UNRELATED}/estimate"), FEW)),
    ("related@4", lambda: Phase("related@4", get(f"/v1/metrics/{RELATED}/estimate"), FEW)),
]


def define_relations(server: Server, admin: dict[str, str]) -> int:
    """The three relations of `RELATIONS`; how many derived figures RELATED then shows."""
    with httpx.Client(base_url=server.base_url, headers=admin, trust_env=False) as client:
        for body in RELATIONS:
            answer = client.post("/v1/relations", json=body)
            if answer.status_code != 201:
                raise RuntimeError(f"defining a relation: {answer.status_code} {answer.text}")
        server.wait_caught_up()
        shown = client.get(f"/v1/metrics/{RELATED}/estimate").json()
        return len(shown["derived"])


@contextmanager
def store_directory(kept: Path | None) -> Iterator[Path]:
    if kept is not None:
        yield kept
        return
    with tempfile.TemporaryDirectory(prefix="claimledger-read-store-") as tmp:
        yield Path(tmp) / "store"


def half_recorded_at(server: Server, headers: dict[str, str], events: int) -> str:
    """The recorded_at of the event half way through the claims."""
    middle = prelude_events() + (events - prelude_events()) // 2
    with httpx.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        answer = client.get("/v1/audit/events", params={"after": middle - 1, "limit": 1})
        answer.raise_for_status()
        recorded_at: str = answer.json()["events"][0]["recorded_at"]
        return recorded_at


def claims_read(server: Server, headers: dict[str, str], known_at: str | None) -> int:
    params = {"known_at": known_at} if known_at else {}
    with httpx.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        answer = client.get(f"/v1/metrics/bench/m{0:05d}/estimate", params=params)
        answer.raise_for_status()
        return int(answer.json()["considered"])


def run_reads(
    runs: int, seconds: float, warmup: float, kept: Path | None, say: Say
) -> dict[str, Any]:
    events = CLAIMS + prelude_events()
    results: list[dict[str, Any]] = []
    with (
        store_directory(kept) as directory,
        tempfile.TemporaryDirectory() as tmp,
        Stopping() as stopping,  # servers stopped before the files go
    ):
        built = build_store(directory, events, say, project_alongside=True)
        for r in range(runs):
            database = copy_store(directory, Path(tmp) / f"run-{r}")
            server = Server(Path(tmp) / f"run-{r}", database=database, demo=False)
            with stopping.serving(server):
                admin = {"Authorization": f"Bearer {server.admin_key}"}
                headers = {"Authorization": f"Bearer {issue_contributor_key(server, admin)}"}
                server.wait_caught_up()
                KNOWN_AT["value"] = half_recorded_at(server, headers, events)
                derived = define_relations(server, admin)
                run: dict[str, Any] = {
                    "known_at": KNOWN_AT["value"],
                    "claims_per_metric_now": claims_read(server, headers, None),
                    "claims_per_metric_known_at": claims_read(server, headers, KNOWN_AT["value"]),
                    "derived_figures_related": derived,
                    "server_start_s": server.started_in,
                    "phases": {},
                }
                stopping.wait()  # the previous server is gone before anything is timed
                run["phases"] = run_phases(
                    server.base_url,
                    headers,
                    [make for _, make in PHASES],
                    seconds,
                    warmup,
                    server.pid,
                    announce(say, f"read run {r + 1}/{runs}", 12),
                )
            results.append(run)
    store = {k: v for k, v in built.items() if k != "git"}
    return {"store": store, "claims": CLAIMS, "metrics": METRICS, "runs": results}
