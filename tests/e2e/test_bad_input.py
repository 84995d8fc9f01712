"""Hostile input: however deep or strange, it gets a 4xx problem, never a 500."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.e2e.support import Desk, a_claim, is_problem

pytestmark = pytest.mark.e2e

DEEP = 200_000
JSON = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"[" * DEEP, JSON),
        (b'[{"a":' * 50_000, JSON),
        (b'{"a":' * 100_000, NDJSON),
        (b'{"metric": "x"}\n' + b"[" * DEEP + b"\n", NDJSON),
    ],
    ids=["brackets", "nested-objects", "ndjson-line", "ndjson-second-line"],
)
def test_a_batch_nested_beyond_any_claim_is_a_400_problem(
    admin: httpx.Client, body: bytes, headers: dict[str, str]
) -> None:
    response = admin.post("/v1/claims/batch", content=body, headers=headers)
    assert is_problem(response, 400), response.text


@pytest.mark.parametrize("path", ["/v1/claims", "/v1/sources", "/v1/metrics", "/v1/keys"])
def test_a_deeply_nested_body_on_any_json_route_is_a_4xx_problem(
    admin: httpx.Client, path: str
) -> None:
    for body in (b"[" * DEEP, b'{"a":' * 100_000):
        response = admin.post(path, content=body, headers=JSON)
        assert 400 <= response.status_code < 500, response.text
        assert is_problem(response, response.status_code)


@pytest.fixture(scope="module")
def claim(desk: Desk) -> str:
    return desk.claim("dprk-in-russia/killed", desk.source())


@pytest.mark.parametrize(
    "tag", [b"\xb2", b'"\xb2"', b'"\xd9\xa1"', b"\xb9\xb2", b'"' + b"1" * 5000 + b'"']
)
def test_an_if_match_of_non_ascii_digits_or_endless_digits_is_412_on_a_claim(
    desk: Desk, claim: str, tag: bytes
) -> None:
    for route, body in (
        ("retraction", {"reason": "withdrawn"}),
        ("assessments", {"credibility": 2}),
    ):
        response = desk.client.post(
            f"/v1/claims/{claim}/{route}", json=body, headers={"If-Match": tag}
        )
        assert is_problem(response, 412), response.text
    current = desk.client.get(f"/v1/claims/{claim}", headers=desk.caught_up())
    assert current.json()["version"] == 1


@pytest.mark.parametrize("tag", [b"\xb2", b'"\xb2"', b'W/"\xb2"'])
def test_an_if_match_of_non_ascii_digits_is_412_on_a_rating(desk: Desk, tag: bytes) -> None:
    source = desk.source()
    response = desk.client.post(
        f"/v1/sources/{source}/ratings", json={"reliability": "B"}, headers={"If-Match": tag}
    )
    assert is_problem(response, 412), response.text
    current = desk.client.get(f"/v1/sources/{source}", headers=desk.caught_up())
    assert current.json()["reliability"] == "F"


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Min-Position", b"\xb2"), ("X-Min-Position", b"1" * 5000), ("Last-Event-ID", b"\xb2")],
)
def test_a_number_header_of_strange_digits_is_refused_or_ignored_never_a_500(
    admin: httpx.Client, name: str, value: bytes
) -> None:
    response = admin.get("/v1/claims", params={"limit": 1}, headers={name: value})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert is_problem(response, 422)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "\u00b2"},
        {"limit": "1" * 5000},
        {"cursor": base64.urlsafe_b64encode(b"[" * 5000).decode()},
        {"cursor": base64.urlsafe_b64encode(b"1" * 5000).decode()},
    ],
)
def test_a_query_number_or_cursor_of_strange_digits_is_a_422(
    admin: httpx.Client, params: dict[str, str]
) -> None:
    assert is_problem(admin.get("/v1/claims", params=params), 422)


def test_a_valid_claim_is_still_recorded_after_all_that(desk: Desk) -> None:
    response = desk.client.post("/v1/claims", json=a_claim("dprk-in-russia/killed", "nyt"))
    assert response.status_code == 201


def test_an_invalid_10000_claim_batch_lists_100_errors_and_counts_the_rest(
    admin: httpx.Client,
) -> None:
    response = admin.post("/v1/claims/batch", json=[{}] * 10_000)
    assert is_problem(response, 422)
    problem = response.json()
    assert len(problem["errors"]) == 100
    assert problem["errors_omitted"] == 4 * 10_000 - 100  # metric, value, as_of, reported_by
    assert len(response.content) < 20_000
