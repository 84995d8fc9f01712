"""X-Min-Position: a read waits until the views reflect a write, or gives up with 503."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.support import Desk, is_problem, position

pytestmark = pytest.mark.e2e


def test_every_write_answers_its_ledger_position(desk: Desk) -> None:
    metric = desk.metric("positions")
    first = desk.record(metric, desk.source(), 1)
    second = desk.record(metric, desk.source(), 2)
    assert position(second) > position(first) > 0


def test_a_read_with_the_position_of_a_write_sees_the_write(desk: Desk) -> None:
    metric, reporter = desk.metric("ryw"), desk.source()
    for value in (10, 20, 30):
        recorded = desk.record(metric, reporter, value, as_of=f"2025-01-{value:02}")
        seen = {"X-Min-Position": recorded.headers["X-Ledger-Position"]}
        estimate = desk.client.get(f"/v1/metrics/{metric}/estimate", headers=seen).json()
        assert estimate["best"] == value
        assert estimate["position"] >= position(recorded)
        claims = desk.client.get("/v1/claims", params={"metric": metric}, headers=seen).json()
        assert claims["items"][-1]["id"] == recorded.json()["id"]


# A position the log holds but the views do not reach in time is 503 with Retry-After:
# tests/e2e/test_key_revocation.py and test_scale_out.py, on servers whose views stand still.
def test_a_position_beyond_the_stored_log_is_422_at_once(admin: httpx.Client) -> None:
    response = admin.get("/v1/sources", headers={"X-Min-Position": str(10**12)})
    assert is_problem(response, 422)


def test_a_position_already_reached_answers_at_once(desk: Desk) -> None:
    started = time.monotonic()
    response = desk.client.get("/v1/sources", params={"limit": 1}, headers=desk.caught_up())
    assert response.status_code == 200
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_a_position_that_is_not_a_natural_number_is_422(admin: httpx.Client, value: str) -> None:
    assert is_problem(admin.get("/v1/sources", headers={"X-Min-Position": value}), 422)
