"""`claimledger import` killed (SIGKILL) part-way through a large file, then run again:
every line's claim is recorded exactly once, the summary counts what was new and what
was there, and `claimledger verify` passes. On both stores."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from api.claim_files import read_claim_lines
from api.demo import load_demo
from api.services import open_store
from api.settings import Settings
from tests.conftest import STORES
from tests.e2e.conftest import store_settings
from tests.e2e.support import CLAIMLEDGER, server_environment
from tests.faults.test_server_kill import run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

LINES = 30_000
BATCH = 500
REPORTER = "moscow-times"
FIRST_VALUE = 20_000  # above the seed's figures for the metric


def a_large_file(path: Path) -> Path:
    with path.open("w") as out:
        for n in range(LINES):
            claim = {
                "metric": "dprk-in-russia/deployed",
                "value": FIRST_VALUE + n,
                "qualifier": "at_least",
                "as_of": "2025-01-20",
                "reported_by": REPORTER,
                "attributed_to": ["ukraine"],
            }
            out.write(json.dumps(claim) + "\n")
    return path


def imported_claims(database_url: str) -> list[str]:
    """The ids of the file's claims recorded in the event store (as often as recorded)."""
    store = open_store(Settings(database_url=database_url))
    ids: list[str] = []
    try:
        after = 0
        while page := store.ledger.recorder.select_notifications(
            start=after, limit=5000, inclusive_of_start=False
        ):
            for notification in page:
                event: Any = store.ledger.mapper.to_domain_event(notification)
                recorded = type(event).__qualname__ == "Claim.Recorded"
                if recorded and event.reported_by == REPORTER and event.value >= FIRST_VALUE:
                    ids.append(str(event.originator_id))
            after = page[-1].id
        return ids
    finally:
        store.close()


@pytest.fixture(params=STORES)
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store holding the §7 seed; its database URL."""
    database_url = store_settings(request, tmp_path)["database_url"]
    store = open_store(Settings(database_url=database_url))
    try:
        assert load_demo(store.ledger) is not None
    finally:
        store.close()
    return database_url


def test_an_import_killed_part_way_records_every_line_once_when_run_again(
    tmp_path: Path, seeded: str
) -> None:
    path = a_large_file(tmp_path / "claims.jsonl")
    store = open_store(Settings(database_url=seeded))
    try:
        seed_end = store.ledger.max_position()
        # given an import of a large file, killed once some batches are in
        env = server_environment(tmp_path, "unused", database_url=seeded)
        importing = subprocess.Popen(
            [str(CLAIMLEDGER), "import", str(path), "--batch-size", str(BATCH)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while store.ledger.max_position() < seed_end + 4 * BATCH:
            assert importing.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import recorded nothing"
            time.sleep(0.01)
        importing.send_signal(signal.SIGKILL)
        assert importing.wait(timeout=10) == -signal.SIGKILL
    finally:
        store.close()
    before = imported_claims(seeded)
    assert 0 < len(before) < LINES
    assert len(before) % BATCH == 0  # whole batches: each is one transaction

    # when it is run again
    again = run_cli(tmp_path, seeded, "import", str(path), "--batch-size", str(BATCH))

    # then it finishes, and its summary counts what was new and what was there
    assert again.returncode == 0, again.stderr
    summary = re.search(r"imported (\d+) claims: (\d+) new, (\d+) already there", again.stdout)
    assert summary, again.stdout
    assert [int(n) for n in summary.groups()] == [LINES, LINES - len(before), len(before)]
    # and every line's claim is there exactly once, under the id its line derives
    after = imported_claims(seeded)
    assert len(after) == LINES
    assert set(after) == {str(line.id) for line in read_claim_lines(path)}
    # and the whole store verifies
    verified = run_cli(tmp_path, seeded, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
