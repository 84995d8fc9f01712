"""`known_at` takes RFC 3339 date-times and bare dates only, on every route that reads it."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import is_problem

pytestmark = pytest.mark.e2e

ROUTES = ["/v1/metrics/dprk-in-russia/killed/estimate", "/v1/audit/snapshot"]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("known_at", ["20250101", "2025-W01-1", "1" * 10_000, "2025-001"])
def test_a_known_at_that_is_not_rfc_3339_is_422(
    admin: httpx.Client, path: str, known_at: str
) -> None:
    response = admin.get(path, params={"known_at": known_at})
    assert is_problem(response, 422), response.text
    assert [e["field"] for e in response.json()["errors"]] == ["known_at"]


@pytest.mark.parametrize("path", ROUTES)
def test_an_offset_whose_plus_became_a_space_gets_a_422_saying_so(
    admin: httpx.Client, path: str
) -> None:
    response = admin.get(f"{path}?known_at=2025-01-01T00:00:00+01:00")  # '+' unencoded
    assert is_problem(response, 422)
    assert "'+'" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize(
    "known_at",
    [
        "2099-01-22",
        "2099-01-22T12:00:00Z",
        "2099-01-22T12:00:00.5+01:00",
        "2099-01-22t12:00:00.123456789z",
    ],
)
def test_rfc_3339_times_and_bare_dates_are_taken(
    admin: httpx.Client, path: str, known_at: str
) -> None:
    assert admin.get(path, params={"known_at": known_at}).status_code == 200


@pytest.mark.parametrize(
    "valid_at", ["20250101", "2025-W01-1", "1735689600", "2025-01-01T00:00:00", "2025-02-30"]
)
def test_a_valid_at_that_is_not_a_bare_date_is_422(admin: httpx.Client, valid_at: str) -> None:
    response = admin.get(ROUTES[0], params={"valid_at": valid_at})
    assert is_problem(response, 422), response.text
    assert [e["field"] for e in response.json()["errors"]] == ["valid_at"]
