"""The 1 MiB body limit holds on every JSON-body route and every transfer encoding, while
the body is read: a chunked body past it is 413, never 400, and is not read to its end."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.support import Desk, is_problem

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def chunked(size: int) -> Iterator[bytes]:
    """A JSON-looking body of `size` bytes, sent without a Content-Length."""
    yield b'{"note": "'
    for _ in range(size // 65536):
        yield b"x" * 65536
    yield b'"}'


@pytest.fixture(scope="module")
def routes(desk: Desk) -> list[str]:
    source = desk.source()
    claim = desk.claim("dprk-in-russia/killed", source)
    return [
        "/v1/sources",
        "/v1/metrics",
        "/v1/claims",
        "/v1/claims/batch",
        "/v1/keys",
        f"/v1/sources/{source}/ratings",
        f"/v1/claims/{claim}/corrections",
        f"/v1/claims/{claim}/retraction",
        f"/v1/claims/{claim}/reinstatement",
        f"/v1/claims/{claim}/assessments",
    ]


def test_a_chunked_body_over_1_mib_is_413_on_every_json_route(
    admin: httpx.Client, routes: list[str]
) -> None:
    for path in routes:
        response = admin.post(path, content=chunked(2 * MIB), headers=JSON | {"If-Match": '"1"'})
        assert is_problem(response, 413), f"{path}: {response.status_code} {response.text}"


def test_a_declared_length_over_1_mib_is_413_on_every_json_route(
    admin: httpx.Client, routes: list[str]
) -> None:
    body = b'{"note": "' + b"x" * (MIB + 1) + b'"}'
    for path in routes:
        response = admin.post(path, content=body, headers=JSON | {"If-Match": '"1"'})
        assert is_problem(response, 413), f"{path}: {response.status_code}"


def test_a_50_mib_chunked_claim_is_413(admin: httpx.Client) -> None:
    response = admin.post("/v1/claims", content=chunked(50 * MIB), headers=JSON)
    assert is_problem(response, 413)
