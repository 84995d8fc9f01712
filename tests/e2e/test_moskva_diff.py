"""The second story's diff (examples/moskva): between the ministry's two statements,
the missing go from none to 27, and the crew's sum from not evaluable to inconsistent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from examples.moskva.load import load
from tests.e2e.support import LedgerServer

pytestmark = pytest.mark.e2e

SUM = "moskva/crew-accounted-for"


@pytest.fixture(scope="module")
def client(pristine_server: LedgerServer) -> Iterator[httpx.Client]:
    with pristine_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def moments(client: httpx.Client) -> list[str]:
    return load(client)


def diff(client: httpx.Client, metric: str, moments: list[str]) -> dict[str, Any]:
    first, second = moments
    answer = client.get(f"/v1/metrics/{metric}/diff", params={"from": first, "to": second})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_diff_of_the_missing_names_the_ministrys_27(
    client: httpx.Client, moments: list[str]
) -> None:
    body = diff(client, "moskva/missing", moments)
    assert body["estimate"] == {
        "from": {"best": 0, "low": 0, "high": 0, "low_open": False, "high_open": False},
        "to": {"best": 27, "low": 27, "high": 27, "low_open": False, "high_open": False},
    }
    (change,) = body["changes"]
    assert (change["type"], change["reason"]) == ("Claim.Recorded", "claim recorded")
    assert change["effect"] == {"best": 27, "low": 27, "high": 27}
    assert body["checks"] == {
        "changed": [
            {
                "relation": SUM,
                "kind": "sum",
                "from": "not_evaluable",
                "to": "inconsistent",
                "message": body["checks"]["changed"][0]["message"],
            }
        ]
    }


def test_the_crews_reported_figure_did_not_move_but_its_check_did(
    client: httpx.Client, moments: list[str]
) -> None:
    body = diff(client, "moskva/crew", moments)
    assert body["changes"] == []
    changed = {c["relation"]: (c["from"], c["to"]) for c in body["checks"]["changed"]}
    assert changed == {SUM: ("not_evaluable", "inconsistent")}
