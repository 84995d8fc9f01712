"""Readiness: /readyz tolerates an ordinary lag and is 503 only beyond the allowed one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import STORES
from tests.e2e.conftest import store_settings
from tests.e2e.support import Desk, LedgerServer, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(params=STORES)
def unprojected(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerServer]:
    """A server whose views never move: projections are left to a worker that never runs."""
    settings = store_settings(request, tmp_path)
    with running_server(tmp_path, projections="worker", **settings) as running:
        yield running


def record_three(server: LedgerServer) -> Desk:
    with server.client() as client:
        desk = Desk(client)
        source = desk.source()
        for value in (1, 2, 3):
            desk.record("dprk-in-russia/killed", source, value)
    return desk


def test_readyz_is_200_while_the_views_lag_a_few_events_by_default(
    unprojected: LedgerServer,
) -> None:
    record_three(unprojected)
    with unprojected.client() as client:
        response = client.get("/readyz")
    ready = response.json()
    assert ready["lag"] >= 4  # the source and three claims, none projected
    assert (response.status_code, ready["status"]) == (200, "ready")


def test_readyz_is_503_once_the_lag_passes_the_allowed_one(tmp_path: Path) -> None:
    with running_server(tmp_path, projections="worker", ready_max_lag="2") as server:
        record_three(server)
        with server.client() as client:
            response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "lagging"
