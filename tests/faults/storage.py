"""What the storage fault tests share: mounts they make and take down, and every write route."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import Desk, a_claim, is_problem


def mount(*arguments: str) -> None:
    result = subprocess.run(["mount", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here (needs root): {result.stderr.strip()}")


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` at `path`: a disk that really fills up."""
    path.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        unmount(path)


@contextmanager
def read_only_view(source: Path, path: Path) -> Iterator[Path]:
    """`source` seen read-only at `path` (a read-only bind mount)."""
    path.mkdir(parents=True, exist_ok=True)
    mount("--bind", str(source), str(path))
    try:
        mount("-o", "remount,ro,bind", str(path))
        yield path
    finally:
        unmount(path)


def fill(directory: Path) -> Path:
    """Write a file until the disk is full; removing it gives the space back."""
    filler = directory / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def idempotent_claim(desk: Desk, source: str, key: str) -> httpx.Response:
    return desk.client.post(
        "/v1/claims",
        json=a_claim("dprk-in-russia/killed", source, 4243),
        headers={"Idempotency-Key": key},
    )


def write_attempts(
    desk: Desk, source: str, claim: str, key: str = "refused"
) -> dict[str, httpx.Response]:
    """One request on every write route, each of which the store has to take."""
    metric = "dprk-in-russia/killed"
    client = desk.client
    return {
        "claim": client.post("/v1/claims", json=a_claim(metric, source, 4242)),
        "idempotent claim": idempotent_claim(desk, source, key),
        "batch": client.post("/v1/claims/batch", json=[a_claim(metric, source, 4244)]),
        "source": client.post(
            "/v1/sources", json={"id": f"{source}-2", "name": "Two", "kind": "outlet"}
        ),
        "metric": client.post(
            "/v1/metrics", json={"id": f"e2e/{source}", "name": "m", "unit": "people"}
        ),
        "key": client.post("/v1/keys", json={"name": "fault", "role": "reader"}),
        "rating": client.post(
            f"/v1/sources/{source}/ratings", json={"reliability": "B"}, headers={"If-Match": "*"}
        ),
        "retraction": client.post(
            f"/v1/claims/{claim}/retraction", json={"reason": "gone"}, headers={"If-Match": "*"}
        ),
    }


def refused_for_now(response: httpx.Response) -> bool:
    """A 503 problem that says when to try again."""
    return is_problem(response, 503) and int(response.headers["Retry-After"]) > 0


def wait_for_readiness(client: httpx.Client, status: int, timeout: float = 30.0) -> httpx.Response:
    """/readyz once it answers `status` (it caches its probe briefly), or at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/readyz")
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def claim_values(desk: Desk, source: str) -> list[int]:
    """The values of the claims `source` reported, as the views hold them once caught up."""
    response = desk.client.get(
        "/v1/claims", params={"reported_by": source, "limit": 1000}, headers=desk.caught_up()
    )
    assert response.status_code == 200, response.text
    return sorted(item["value"] for item in response.json()["items"])
