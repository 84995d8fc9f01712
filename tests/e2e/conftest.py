"""Fixtures: the real server, started as a subprocess on its own store.

`server` and `pristine_server` run their tests twice: on a SQLite file, and on a fresh
PostgreSQL database (when the suite has a server; see tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import STORES
from tests.e2e.support import Desk, LedgerServer, running_server


def store_settings(request: pytest.FixtureRequest, directory: Path) -> dict[str, str]:
    """The server's database setting for the fixture's parameter."""
    if request.param == "postgres":
        new_database = request.getfixturevalue("session_postgres_databases")
        return {"database_url": new_database()}
    return {"database_url": f"sqlite:///{directory / 'ledger.db'}"}


@pytest.fixture(scope="session", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LedgerServer]:
    """One server shared by the modules that write only data they named themselves."""
    directory = tmp_path_factory.mktemp("shared-ledger")
    with running_server(directory, **store_settings(request, directory)) as running:
        yield running


@pytest.fixture(scope="module", params=STORES)
def pristine_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LedgerServer]:
    """A server of its own for one module, holding exactly the §7 seed when it starts."""
    directory = tmp_path_factory.mktemp("pristine-ledger")
    with running_server(directory, **store_settings(request, directory)) as running:
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
