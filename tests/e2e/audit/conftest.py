"""The audit tests' server: each module has one of its own on a SQLite file, since its
tests read and check the whole feed; the e2e `admin` and `anonymous` clients talk to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.support import LedgerServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerServer]:
    with running_server(tmp_path_factory.mktemp("audit-log-server")) as running:
        yield running
