"""Idempotency-Key on POST creates: a retry replays the first answer and writes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import Desk, a_claim, is_problem, unique

pytestmark = pytest.mark.e2e


def same_answer(first: httpx.Response, again: httpx.Response) -> bool:
    return (
        first.status_code == again.status_code
        and first.content == again.content
        and all(
            first.headers.get(name) == again.headers.get(name)
            for name in ("Location", "ETag", "X-Ledger-Position", "Content-Type")
        )
    )


def test_a_retried_claim_gets_the_first_answer_and_is_recorded_once(desk: Desk) -> None:
    metric, reporter = desk.metric("idempotent"), desk.source()
    body = a_claim(metric, reporter, 42)
    key = unique("retry")
    first = desk.client.post("/v1/claims", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    written = desk.ledger_position()
    again = desk.client.post("/v1/claims", json=body, headers={"Idempotency-Key": key})
    assert same_answer(first, again)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert desk.ledger_position() == written
    listed = desk.client.get("/v1/claims", params={"metric": metric}, headers=desk.caught_up())
    assert [c["id"] for c in listed.json()["items"]].count(first.json()["id"]) == 1


# A key issuance replays without its secret: tests/e2e/test_key_issuance.py.
@pytest.mark.parametrize("kind", ["source", "metric", "batch"])
def test_every_create_replays_its_first_answer(desk: Desk, kind: str) -> None:
    metric, reporter = desk.metric("idempotent"), desk.source()
    path, body = {
        "source": ("/v1/sources", {"id": unique("src"), "name": "S", "kind": "ngo"}),
        "metric": ("/v1/metrics", {"id": unique("e2e/m"), "name": "M", "unit": "people"}),
        "batch": ("/v1/claims/batch", [a_claim(metric, reporter, 1), a_claim(metric, reporter, 2)]),
    }[kind]
    key = unique("retry")
    first = desk.client.post(path, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    written = desk.ledger_position()
    again = desk.client.post(path, json=body, headers={"Idempotency-Key": key})
    assert same_answer(first, again)
    assert desk.ledger_position() == written


def test_the_same_key_with_another_body_is_422_and_writes_nothing(desk: Desk) -> None:
    metric, reporter = desk.metric("idempotent"), desk.source()
    key = unique("retry")
    first = desk.client.post(
        "/v1/claims", json=a_claim(metric, reporter, 1), headers={"Idempotency-Key": key}
    )
    assert first.status_code == 201
    written = desk.ledger_position()
    other = desk.client.post(
        "/v1/claims", json=a_claim(metric, reporter, 2), headers={"Idempotency-Key": key}
    )
    assert is_problem(other, 422)
    assert desk.ledger_position() == written


def test_a_failed_first_attempt_is_not_remembered(desk: Desk) -> None:
    metric = desk.metric("idempotent")
    key = unique("retry")
    body = a_claim(metric, unique("not-yet-registered"), 5)
    assert is_problem(
        desk.client.post("/v1/claims", json=body, headers={"Idempotency-Key": key}), 422
    )
    desk.client.post(
        "/v1/sources", json={"id": body["reported_by"], "name": "Now", "kind": "outlet"}
    ).raise_for_status()
    retried = desk.client.post("/v1/claims", json=body, headers={"Idempotency-Key": key})
    assert retried.status_code == 201, retried.text


def test_keys_are_scoped_to_the_route(desk: Desk) -> None:
    key = unique("retry")
    source = desk.client.post(
        "/v1/sources",
        json={"id": unique("src"), "name": "S", "kind": "ngo"},
        headers={"Idempotency-Key": key},
    )
    metric = desk.client.post(
        "/v1/metrics",
        json={"id": unique("e2e/m"), "name": "M", "unit": "people"},
        headers={"Idempotency-Key": key},
    )
    assert (source.status_code, metric.status_code) == (201, 201)
