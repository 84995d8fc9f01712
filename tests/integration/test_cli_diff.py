"""`claimledger diff` prints how an estimate moved, event by event, from the local store."""

from __future__ import annotations

from uuid import UUID

import pytest

from api.demo import load_demo
from projections.reads.queries import ClaimFilters

from .conftest import ACTOR, RunCli, StoreAt

pytestmark = pytest.mark.integration

KILLED = "dprk-in-russia/killed"


@pytest.fixture
def retracted(store_at: StoreAt) -> tuple[str, int]:
    """The §7 seed, then south-korea's killed claim retracted: its id and position."""
    store = store_at.open()
    try:
        assert load_demo(store.ledger) is not None
        store.runner.catch_up()
        (claim,) = store.queries.claims(
            ClaimFilters(metric=KILLED, origin="south-korea"), None, 10
        ).items
        saved = store.ledger.retract_claim(UUID(claim["id"]), "withdrawn by Seoul", None, ACTOR)
        store.runner.catch_up()
        return str(claim["id"]), saved.position
    finally:
        store.close()


def test_diff_prints_the_retraction_with_its_effect_and_reason(
    retracted: tuple[str, int], run_cli: RunCli
) -> None:
    claim, at = retracted
    done = run_cli("diff", KILLED, "--from", f"@{at - 1}", "--to", f"@{at}")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"from position {at - 1}" in out and f"to   position {at}" in out
    assert "low 300  best 300  high 1000" in out
    assert "low 1000  best 1000  high 1000" in out
    (row,) = [line for line in out.splitlines() if "Claim.Retracted" in line]
    assert claim in row or claim[:8] in row
    assert "+700" in row and "claim retracted" in row and "withdrawn by Seoul" in row
    # The seed's relations tie killed; 1000 killed still fit under 4000 casualties.
    assert "check " not in out


def test_diff_pages_and_all_prints_every_change(
    retracted: tuple[str, int], run_cli: RunCli
) -> None:
    first = run_cli("diff", KILLED, "--from", "@0", "--limit", "1")
    assert first.returncode == 0, first.stderr
    assert "more events follow (--all prints them)" in first.stdout
    every = run_cli("diff", KILLED, "--from", "@0", "--limit", "1", "--all")
    assert every.returncode == 0, every.stderr
    assert "more events follow" not in every.stdout
    assert every.stdout.count("claim recorded") == 2
    assert "claim retracted" in every.stdout


def test_diff_refuses_bad_ends_in_one_line(retracted: tuple[str, int], run_cli: RunCli) -> None:
    done = run_cli("diff", KILLED, "--from", "last tuesday")
    assert done.returncode == 2
    assert done.stderr.startswith("claimledger: from 'last tuesday'")
    past = run_cli("diff", KILLED, "--from", "@0", "--to", "@999999")
    assert past.returncode == 1
    assert "past the log" in past.stderr
