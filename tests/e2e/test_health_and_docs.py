"""Liveness, readiness and the published OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import Desk

pytestmark = pytest.mark.e2e

METHODS = {"get", "post", "put", "patch", "delete"}

# §5 routes built so far (the audit feed, stream, tree head, public key and proofs are not).
CONTRACT = {
    ("post", "/v1/sources"),
    ("get", "/v1/sources"),
    ("get", "/v1/sources/{source_id}"),
    ("post", "/v1/sources/{source_id}/ratings"),
    ("post", "/v1/metrics"),
    ("get", "/v1/metrics"),
    ("get", "/v1/metrics/{metric_id}"),
    ("get", "/v1/metrics/{metric_id}/estimate"),
    ("get", "/v1/metrics/{metric_id}/timeline"),
    ("post", "/v1/claims"),
    ("post", "/v1/claims/batch"),
    ("get", "/v1/claims"),
    ("get", "/v1/claims/{claim_id}"),
    ("get", "/v1/claims/{claim_id}/history"),
    ("post", "/v1/claims/{claim_id}/corrections"),
    ("post", "/v1/claims/{claim_id}/retraction"),
    ("post", "/v1/claims/{claim_id}/reinstatement"),
    ("post", "/v1/claims/{claim_id}/assessments"),
    ("get", "/v1/audit/snapshot"),
    ("post", "/v1/keys"),
    ("delete", "/v1/keys/{key_id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}


@pytest.fixture(scope="module")
def openapi(anonymous: httpx.Client) -> dict:
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_healthz_is_200(anonymous: httpx.Client) -> None:
    response = anonymous.get("/healthz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


def test_readyz_is_200_with_no_lag_once_the_views_caught_up(desk: Desk) -> None:
    desk.client.get("/v1/sources", params={"limit": 1}, headers=desk.caught_up())
    response = desk.client.get("/readyz")
    assert response.status_code == 200
    ready = response.json()
    assert ready["status"] == "ready"
    assert ready["lag"] == 0
    assert ready["projected"] == ready["position"] > 0


def test_the_openapi_document_lists_every_built_route_of_the_contract(openapi: dict) -> None:
    published = {
        (method, path)
        for path, operations in openapi["paths"].items()
        for method in operations
        if method in METHODS
    }
    assert CONTRACT - published == set()


def test_every_route_has_a_summary_or_description(openapi: dict) -> None:
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
        and not (operation.get("summary", "").strip() or operation.get("description", "").strip())
    ]
    assert undocumented == []


def test_the_docs_page_is_served(anonymous: httpx.Client) -> None:
    response = anonymous.get("/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text


def test_the_openapi_document_names_the_headers_of_writes_and_aggregate_reads(
    openapi: dict,
) -> None:
    paths = openapi["paths"]
    created = paths["/v1/claims"]["post"]["responses"]["201"]["headers"]
    assert {"Location", "ETag", "X-Ledger-Position"} <= set(created)
    retracted = paths["/v1/claims/{claim_id}/retraction"]["post"]["responses"]["200"]["headers"]
    assert {"ETag", "X-Ledger-Position"} <= set(retracted)
    batch = paths["/v1/claims/batch"]["post"]["responses"]["201"]["headers"]
    assert set(batch) == {"X-Ledger-Position"}
    for path in ("/v1/sources/{source_id}", "/v1/metrics/{metric_id}", "/v1/claims/{claim_id}"):
        assert "ETag" in paths[path]["get"]["responses"]["200"]["headers"]


def test_the_openapi_document_describes_open_ends_and_the_claim_as_said(openapi: dict) -> None:
    schemas = openapi["components"]["schemas"]
    estimate = schemas["EstimatePublic"]
    assert {"low_open", "high_open"} <= set(estimate["required"])
    assert "not a ceiling" in estimate["properties"]["high_open"]["description"]
    line = schemas["ExplanationLinePublic"]
    said = {"value", "qualifier", "value_high", "as_of", "reported_by", "retraction_reason"}
    assert said <= set(line["required"])
    assert all(line["properties"][name].get("description") for name in said)
