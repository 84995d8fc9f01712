"""Helpers for the end-to-end tests: a real `claimledger serve` process and small builders."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from tests.builders import a_claim

CLAIMLEDGER = Path(sys.executable).parent / "claimledger"
STARTUP_TIMEOUT = 30.0
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class LedgerServer:
    """A running `claimledger serve --demo`, reachable at `base_url`."""

    base_url: str
    admin_key: str
    directory: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def client(self, key: str | None = None, *, admin: bool = True) -> httpx.Client:
        """An HTTP client with `key` (by default the admin key; none if admin=False)."""
        secret = key if key is not None else (self.admin_key if admin else None)
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)

    def log(self) -> str:
        return (self.directory / "server.log").read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_environment(directory: Path, admin_key: str, **settings: str) -> dict[str, str]:
    """The process environment, with only the `CLAIMLEDGER_*` settings these tests choose."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env["CLAIMLEDGER_DATABASE_URL"] = f"sqlite:///{directory / 'ledger.db'}"
    env["CLAIMLEDGER_ADMIN_KEY"] = admin_key
    for name, value in settings.items():
        env[f"CLAIMLEDGER_{name.upper()}"] = value
    return env


@contextmanager
def running_server(directory: Path, **settings: str) -> Iterator[LedgerServer]:
    """Start `claimledger serve --demo` on a free port; stop it on exit."""
    admin_key = secrets.token_urlsafe(24)
    port = free_port()
    command = [str(CLAIMLEDGER), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)]
    with (directory / "server.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=directory,
            env=server_environment(directory, admin_key, **settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LedgerServer(f"http://127.0.0.1:{port}", admin_key, directory, process)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until_healthy(server: LedgerServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"claimledger serve exited early:\n{server.log()}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"claimledger serve did not answer /healthz:\n{server.log()}")


# Builders


def unique(prefix: str) -> str:
    """A fresh id, so tests sharing one server never see each other's data."""
    return f"{prefix}-{uuid4().hex[:10]}"


def etag(response: httpx.Response) -> str:
    return response.headers["ETag"]


def position(response: httpx.Response) -> int:
    return int(response.headers["X-Ledger-Position"])


def is_problem(response: httpx.Response, status: int) -> bool:
    """An RFC 9457 answer with this status."""
    body = response.json()
    return (
        response.status_code == status
        and response.headers["content-type"].startswith(PROBLEM_JSON)
        and body["status"] == status
        and {"type", "title", "detail"} <= body.keys()
    )


def error_fields(response: httpx.Response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


class Desk:
    """A newsroom data desk: registers its own sources and metrics and records claims."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def source(self, prefix: str = "source", **fields: Any) -> str:
        slug = unique(prefix)
        body = {"id": slug, "name": slug.title(), "kind": "outlet", **fields}
        response = self.client.post("/v1/sources", json=body)
        assert response.status_code == 201, response.text
        return slug

    def metric(self, prefix: str = "metric", unit: str = "people") -> str:
        slug = unique(f"e2e/{prefix}")
        body = {"id": slug, "name": slug, "unit": unit}
        response = self.client.post("/v1/metrics", json=body)
        assert response.status_code == 201, response.text
        return slug

    def record(
        self, metric: str, reported_by: str, value: Any = 100, **fields: Any
    ) -> httpx.Response:
        response = self.client.post(
            "/v1/claims", json=a_claim(metric, reported_by, value, **fields)
        )
        assert response.status_code == 201, response.text
        return response

    def claim(self, metric: str, reported_by: str, value: Any = 100, **fields: Any) -> str:
        claim_id: str = self.record(metric, reported_by, value, **fields).json()["id"]
        return claim_id

    def estimate(self, metric: str, **params: Any) -> dict[str, Any]:
        """The estimate once the views have caught up with everything written so far."""
        response = self.client.get(
            f"/v1/metrics/{metric}/estimate",
            params=params,
            headers={"X-Min-Position": str(self.ledger_position())},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def ledger_position(self) -> int:
        """The last position in the event store (from /readyz)."""
        value: int = self.client.get("/readyz").json()["position"]
        return value

    def caught_up(self) -> dict[str, str]:
        """Headers for a read that must see every write so far."""
        return {"X-Min-Position": str(self.ledger_position())}


def explanation_by_claim(estimate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["claim"]: line for line in estimate["explanation"]}
