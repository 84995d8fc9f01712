"""Errors are RFC 9457 problems with the right status, never a stack trace or a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import PROBLEM_JSON, Desk, a_claim, is_problem

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


@pytest.mark.parametrize("path", ["/v1/sources", "/v1/metrics", "/v1/claims", "/v1/keys"])
def test_malformed_json_is_400_problem_json(admin: httpx.Client, path: str) -> None:
    response = admin.post(
        path, content=b'{"id": "x",', headers={"Content-Type": "application/json"}
    )
    assert is_problem(response, 400)
    assert response.headers["content-type"] == PROBLEM_JSON


def test_a_body_over_1_mib_is_413(admin: httpx.Client) -> None:
    body = a_claim("dprk-in-russia/killed", "nyt", note="x" * MIB)
    assert is_problem(admin.post("/v1/claims", json=body), 413)


def test_a_streamed_body_over_1_mib_without_a_length_is_413(admin: httpx.Client) -> None:
    def chunks():  # no Content-Length: sent chunked
        yield b'{"note": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    response = admin.post(
        "/v1/claims/batch", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert is_problem(response, 413)


def test_a_body_just_under_1_mib_is_read(admin: httpx.Client) -> None:
    body = a_claim("dprk-in-russia/killed", "nyt", note="x" * (MIB - 1000))
    response = admin.post("/v1/claims", json=body)
    assert is_problem(response, 422)  # read and judged: the note is over 10,000 characters


def test_an_unknown_route_is_a_404_problem(admin: httpx.Client) -> None:
    assert is_problem(admin.get("/v1/nothing-here"), 404)
    assert is_problem(admin.get("/v2/sources"), 404)


def test_a_wrong_method_is_a_405_problem(admin: httpx.Client) -> None:
    assert is_problem(admin.put("/v1/sources"), 405)


def test_a_validation_problem_lists_each_error_with_field_and_message(admin: httpx.Client) -> None:
    response = admin.post("/v1/sources", json={"id": "UPPER", "kind": "blog"})
    assert is_problem(response, 422)
    problem = response.json()
    assert problem["type"].startswith("https://")
    assert {e["field"] for e in problem["errors"]} == {"id", "name", "kind"}
    assert all(e["message"] for e in problem["errors"])


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        (
            "GET",
            "/v1/metrics/dprk-in-russia/killed/estimate",
            {"known_at": "0001-01-01T00:00:00+14:00"},
        ),
        (
            "GET",
            "/v1/metrics/dprk-in-russia/killed/estimate",
            {"known_at": "9999-12-31T23:59:59-14:00"},
        ),
        ("GET", "/v1/audit/snapshot", {"known_at": "0001-01-01T00:00:00+01:00"}),
        ("GET", "/v1/metrics/dprk-in-russia/killed/estimate", {"valid_at": "2025-02-30"}),
        ("GET", "/v1/metrics/dprk-in-russia/killed/estimate", {"explain": "maybe"}),
        ("GET", "/v1/claims", {"limit": "ten"}),
        ("GET", "/v1/claims/00000000-0000-4000-8000-000000000000", {"version": "-1"}),
        ("GET", "/v1/claims/00000000-0000-4000-8000-000000000000", {"version": str(10**23)}),
        ("GET", "/v1/audit/events", {"after": str(10**23)}),
        ("GET", "/v1/audit/snapshot", {"known_at": "9999-12-31T23:59:59-14:00"}),
        ("GET", "/v1/metrics/%00", {}),
        ("GET", "/v1/sources/%F0%9F%92%A5", {}),
    ],
)
def test_odd_input_is_a_4xx_problem(
    admin: httpx.Client, method: str, path: str, params: dict[str, str]
) -> None:
    response = admin.request(method, path, params=params)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM_JSON


def test_an_unrepresentable_known_at_is_422(admin: httpx.Client) -> None:
    response = admin.get(
        "/v1/metrics/dprk-in-russia/killed/estimate",
        params={"known_at": "0001-01-01T00:00:00+14:00"},
    )
    assert is_problem(response, 422)


def test_a_known_at_in_an_early_year_is_before_everything(admin: httpx.Client) -> None:
    response = admin.get(
        "/v1/metrics/dprk-in-russia/killed/estimate", params={"known_at": "0999-06-01"}
    )
    assert is_problem(response, 404)
    assert "0999-06-01T00:00:00.000000Z" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'{"metric": "dprk-in-russia/killed", "value": 1e400, "as_of": "2025-01-01"}',
        b'{"metric": "dprk-in-russia/killed", "value": "NaN", "as_of": "2025-01-01"}',
        b'{"metric": null}',
        b"null",
    ],
)
def test_a_strange_claim_body_is_a_4xx_problem(admin: httpx.Client, body: bytes) -> None:
    for path in ("/v1/claims", "/v1/claims/batch"):
        response = admin.post(path, content=body, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.headers["content-type"] == PROBLEM_JSON


def test_a_huge_value_is_422_not_a_crash(desk: Desk) -> None:
    metric = desk.metric("huge")
    body = a_claim(metric, desk.source(), 10**40)
    assert is_problem(desk.client.post("/v1/claims", json=body), 422)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/sources", {"id": "nul-source", "name": "a\u0000b", "kind": "outlet"}),
        ("/v1/metrics", {"id": "nul/metric", "name": "N", "unit": "peo\u0000ple"}),
        (
            "/v1/metrics",
            {"id": "nul/metric", "name": "N", "unit": "people", "description": "\u0000"},
        ),
    ],
)
def test_a_nul_character_in_a_name_unit_or_text_is_refused(
    admin: httpx.Client, path: str, body: dict[str, str]
) -> None:
    # PostgreSQL text cannot hold NUL: both stores refuse it alike, before any event.
    assert is_problem(admin.post(path, json=body), 422)
