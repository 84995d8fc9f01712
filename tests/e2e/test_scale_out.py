"""PostgreSQL scale-out: `serve --workers 2` API processes that leave the projections to a
separate `claimledger worker`, with read-your-writes across processes (X-Min-Position)."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.support import (
    CLAIMLEDGER,
    LedgerServer,
    free_port,
    position,
    server_environment,
    unique,
    wait_until_healthy,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class Scaled:
    api: LedgerServer
    worker: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def scaled(
    session_postgres_databases: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scaled]:
    """Two API processes and one projection worker on one PostgreSQL database."""
    directory = tmp_path_factory.mktemp("scaled-ledger")
    admin_key = secrets.token_urlsafe(24)
    env = server_environment(
        directory,
        admin_key,
        database_url=session_postgres_databases(),
        projections="worker",
        min_position_timeout="1",
    )
    port = free_port()
    with (directory / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [str(CLAIMLEDGER), "worker"], cwd=directory, env=env, stdout=log, stderr=log
        )
    command = [str(CLAIMLEDGER), "serve", "--demo", "--workers", "2", "--port", str(port)]
    with (directory / "server.log").open("wb") as log:
        api = subprocess.Popen(
            command, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = LedgerServer(f"http://127.0.0.1:{port}", admin_key, directory, api)
    try:
        wait_until_healthy(server)
        yield Scaled(server, worker)
    finally:
        stop(api)
        stop(worker)


def test_two_api_processes_serve_the_same_ledger(scaled: Scaled) -> None:
    def started() -> int:
        return scaled.api.log().count("Application startup complete")

    deadline = time.monotonic() + 15
    while started() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started() == 2, scaled.api.log()


def test_a_write_through_one_process_is_read_through_any_with_min_position(
    scaled: Scaled,
) -> None:
    for _ in range(20):
        slug = unique("scaled")
        with scaled.api.client() as writer:  # a new connection: either API process
            created = writer.post("/v1/sources", json={"id": slug, "name": slug, "kind": "ngo"})
        assert created.status_code == 201, created.text
        with scaled.api.client() as reader:
            read = reader.get(
                f"/v1/sources/{slug}", headers={"X-Min-Position": str(position(created))}
            )
        assert read.status_code == 200, read.text
        assert read.json()["id"] == slug


def test_the_seed_was_projected_before_the_api_answered(scaled: Scaled) -> None:
    with scaled.api.client() as client:
        estimate = client.get("/v1/metrics/dprk-in-russia/killed/estimate")
    assert estimate.status_code == 200, estimate.text
    assert estimate.json()["best"] == 300


def test_without_the_worker_the_api_processes_project_nothing(scaled: Scaled) -> None:
    """Last in this module: it stops the worker."""
    stop(scaled.worker)
    with scaled.api.client() as client:
        created = client.post(
            "/v1/sources", json={"id": unique("late"), "name": "L", "kind": "ngo"}
        )
        assert created.status_code == 201, created.text
        waited = client.get("/v1/sources", headers={"X-Min-Position": str(position(created))})
    assert waited.status_code == 503, waited.text
    assert waited.headers["Retry-After"] == "1"
