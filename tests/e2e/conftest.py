"""Fixtures: the real server, started as a subprocess on its own SQLite file."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.support import Desk, LedgerServer, running_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerServer]:
    """One server shared by the modules that write only data they named themselves."""
    with running_server(tmp_path_factory.mktemp("shared-ledger")) as running:
        yield running


@pytest.fixture(scope="module")
def pristine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerServer]:
    """A server of its own for one module, holding exactly the §7 seed when it starts."""
    with running_server(tmp_path_factory.mktemp("pristine-ledger")) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: LedgerServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def anonymous(server: LedgerServer) -> Iterator[httpx.Client]:
    with server.client(admin=False) as client:
        yield client


@pytest.fixture(scope="module")
def desk(admin: httpx.Client) -> Desk:
    return Desk(admin)
