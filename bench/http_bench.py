"""The HTTP write figures: single-claim POSTs with group commit and on the direct write
path (the naive baseline), each beside /healthz on the same server.

Each run starts two fresh servers one after the other, each on its own copy of one
store (the demo seed and the benchmark's metrics, recorded and projected once, in this
process): the default one (group commit) and one with `CLAIMLEDGER_WRITE_PATH=direct`
(one `save()` per request in a worker thread). Each server answers /healthz at 32
clients, then POST /v1/claims at 32 clients (the POST last: it is the only phase that
changes state). So every ratio is within one run, and the group/direct ratio is between
two servers of the same code minutes apart. The read figures, on a store of 100,000
claims, are bench/read_bench.py.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from api.demo import load_demo
from bench.http_load import Phase, announce, get, post_json, run_phases
from bench.server import Server
from bench.workloads import ACTOR, BENCH_METRICS, claim_body
from domain.ledger import Ledger
from projections.store import open_sqlite_store

MANY = 32
WRITE_PATHS = ("group", "direct")

PHASES: dict[str, list[tuple[str, Callable[[], Phase]]]] = {
    "group": [
        ("healthz@32", lambda: Phase("healthz@32", get("/healthz"), MANY)),
        (
            "post_claim@32",
            lambda: Phase("post_claim@32", post_json("/v1/claims", claim_body), MANY, 201),
        ),
    ],
    "direct": [
        ("direct_healthz@32", lambda: Phase("direct_healthz@32", get("/healthz"), MANY)),
        (
            "post_direct@32",
            lambda: Phase("post_direct@32", post_json("/v1/claims", claim_body), MANY, 201),
        ),
    ],
}


def prepare_ledger(ledger: Ledger) -> None:
    """The demo seed's sources and metrics, and the benchmark's metrics."""
    load_demo(ledger)
    for m in range(BENCH_METRICS):
        ledger.define_metric(f"bench/m{m:03d}", f"Bench metric {m}", "people", None, ACTOR)


def prepared_store(directory: Path) -> Path:
    """A store as each server starts from (the demo seed and the benchmark's metrics,
    projected), built once in `directory`; each server then serves a copy of it."""
    store = open_sqlite_store(str(directory / "ledger.db"))
    try:
        prepare_ledger(store.ledger)
        store.runner.catch_up()
    finally:
        store.close()
    return directory


def copy_store(source: Path, target: Path) -> Path:
    """A copy of a store's files (events, views) to serve; returns its events file."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.name.startswith("ledger"):
            shutil.copy2(path, target / path.name)
    return target / "ledger.db"


def define_bench_metrics(server: Server, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server.base_url, headers=headers, trust_env=False) as client:
        for m in range(BENCH_METRICS):
            body = {"id": f"bench/m{m:03d}", "name": f"Bench metric {m}", "unit": "people"}
            answer = client.post("/v1/metrics", json=body)
            if answer.status_code != 201:
                raise RuntimeError(f"defining {body['id']}: {answer.status_code} {answer.text}")


class Stopping:
    """Servers stopping in the background while the next one starts. A stop is mostly a
    wait (about 0.35 s here, 0.15 s of it CPU: the projection runner's poll ends, the
    store closes); `wait()` before anything is timed. Leaving the `with` waits too."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    @contextlib.contextmanager
    def serving(self, server: Server) -> Iterator[Server]:
        """`with server:`, except that leaving normally stops it in the background."""
        with contextlib.ExitStack() as stack:
            stack.enter_context(server)
            yield server
            stack.pop_all()  # (on an error, the stack stops it at once)
        thread = threading.Thread(target=server.stop, name="stopping a server")
        thread.start()
        self._threads.append(thread)

    def wait(self) -> None:
        while self._threads:
            self._threads.pop().join()

    def __enter__(self) -> Stopping:
        return self

    def __exit__(self, *_: object) -> None:
        self.wait()


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
    tmp_dir = tempfile.TemporaryDirectory(prefix="claimledger-bench-")
    with tmp_dir as tmp, Stopping() as stopping:  # servers stopped before the files go
        prepared = prepared_store(Path(tmp) / "prepared")
        for r in range(runs):
            run: dict[str, Any] = {"phases": {}}
            for write_path in WRITE_PATHS:
                extra = {"CLAIMLEDGER_WRITE_PATH": write_path}
                workdir = Path(tmp) / f"run-{r}-{write_path}"
                database = copy_store(prepared, workdir)
                server = Server(workdir, database=database, demo=False, extra_env=extra)
                with stopping.serving(server):
                    admin = {"Authorization": f"Bearer {server.admin_key}"}
                    headers = {"Authorization": f"Bearer {issue_contributor_key(server, admin)}"}
                    server.wait_caught_up()
                    if write_path == "group":
                        run["server_start_s"] = server.started_in
                    stopping.wait()  # the previous server is gone before anything is timed
                    run["phases"] |= run_phases(
                        server.base_url,
                        headers,
                        [make for _, make in PHASES[write_path]],
                        seconds,
                        warmup,
                        server.pid,
                        announce(say, f"http run {r + 1}/{runs}"),
                    )
                    drained, lag = server.wait_caught_up()
                    prefix = "" if write_path == "group" else "direct_"
                    run[f"{prefix}post_projection_lag_events"] = lag
                    run[f"{prefix}post_projection_drain_s"] = drained
            results.append(run)
    return results
