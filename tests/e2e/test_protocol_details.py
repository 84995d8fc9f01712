"""HTTP details a client relies on: 405 names what is allowed, If-Match is documented as
required where its absence is 428."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import Desk, is_problem

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/sources", {"GET", "POST"}),
        ("DELETE", "/v1/claims", {"GET", "POST"}),
        ("PATCH", "/v1/claims/batch", {"GET", "POST"}),  # GET: a claim with that id
        ("GET", "/v1/keys", {"POST"}),
        ("POST", "/v1/keys/3fa85f64-5717-4562-b3fc-2c963f66afa6", {"DELETE"}),
        ("DELETE", "/readyz", {"GET"}),
        ("PUT", "/v1/audit/tree-head", {"GET"}),
    ],
)
def test_every_405_carries_allow_with_every_method_the_path_takes(
    admin: httpx.Client, method: str, path: str, allowed: set[str]
) -> None:
    response = admin.request(method, path)
    assert is_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed


def test_if_match_is_documented_as_required_on_every_route_that_answers_428_without_it(
    desk: Desk,
) -> None:
    openapi = desk.client.get("/openapi.json").json()
    with_if_match = [
        (path, operation)
        for path, operations in openapi["paths"].items()
        for operation in operations.values()
        if isinstance(operation, dict)
        and any(p["name"].lower() == "if-match" for p in operation.get("parameters", []))
    ]
    assert len(with_if_match) >= 5  # ratings, corrections, retraction, reinstatement, assessments
    for path, operation in with_if_match:
        parameter = next(p for p in operation["parameters"] if p["name"].lower() == "if-match")
        assert parameter["required"] is True, path
        assert "428" in operation["responses"], path

    claim = desk.claim("dprk-in-russia/killed", desk.source())
    for route in ("retraction", "assessments"):
        response = desk.client.post(f"/v1/claims/{claim}/{route}", json={"reason": "x"})
        assert is_problem(response, 428)
