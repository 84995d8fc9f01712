"""A full disk: every write is a 503 with Retry-After, /readyz says so, nothing is
half-written, and writes work again once space returns.

The store lives on a small tmpfs (mounting one needs root, as in CI; elsewhere these tests
skip). PostgreSQL is not filled here: its data directory belongs to a server these tests
share; its disk-full error (SQLSTATE 53100) maps to the same 503 in one place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.support import Desk, running_server
from tests.faults.storage import (
    claim_values,
    fill,
    idempotent_claim,
    refused_for_now,
    small_disk,
    wait_for_readiness,
    write_attempts,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def test_a_full_disk_refuses_every_write_with_503_and_loses_nothing(tmp_path: Path) -> None:
    with (
        small_disk(tmp_path / "disk", "32m") as disk,
        running_server(tmp_path, database_url=f"sqlite:///{disk / 'ledger.db'}") as server,
        server.client() as client,
    ):
        # given a claim acknowledged before the disk filled up
        desk = Desk(client)
        source = desk.source()
        claim = desk.claim("dprk-in-russia/killed", source, 100)
        filler = fill(disk)

        # when every kind of write is tried on the full disk
        refused = write_attempts(desk, source, claim, key="during-the-fault")

        # then each is a 503 problem with Retry-After, and the server is not ready
        assert {name: r.status_code for name, r in refused.items() if not refused_for_now(r)} == {}
        readiness = client.get("/readyz")
        assert readiness.status_code == 503
        assert "disk full" in readiness.json()["status"]

        # when the space returns, writes work again and nothing refused was half-written
        filler.unlink()
        assert wait_for_readiness(client, 200).status_code == 200
        desk.record("dprk-in-russia/killed", source, 200)
        retried = idempotent_claim(desk, source, "during-the-fault")
        assert retried.status_code == 201, retried.text  # the refused attempt left no trace
        assert claim_values(desk, source) == [100, 200, 4243]
        current = client.get(f"/v1/claims/{claim}", headers=desk.caught_up()).json()
        assert (current["status"], current["version"]) == ("active", 1)
        assert client.get(f"/v1/sources/{source}").json()["reliability"] == "F"


def test_readyz_notices_a_full_disk_before_any_write_fails(tmp_path: Path) -> None:
    with (
        small_disk(tmp_path / "disk", "32m") as disk,
        running_server(tmp_path, database_url=f"sqlite:///{disk / 'ledger.db'}") as server,
        server.client() as client,
    ):
        assert wait_for_readiness(client, 200).status_code == 200
        filler = fill(disk)
        readiness = wait_for_readiness(client, 503)
        assert readiness.status_code == 503
        assert "disk full" in readiness.json()["status"]
        filler.unlink()
        assert wait_for_readiness(client, 200).status_code == 200
