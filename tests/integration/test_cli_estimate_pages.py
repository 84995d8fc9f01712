"""`claimledger estimate` prints its explanation a page at a time."""

from __future__ import annotations

import pytest

from api.demo import load_demo
from projections.reads.queries import ClaimFilters

from .conftest import RunCli, StoreAt

pytestmark = pytest.mark.integration

KILLED = "dprk-in-russia/killed"


@pytest.fixture
def killed_claims(store_at: StoreAt) -> list[str]:
    """The §7 seed, loaded; the ids of the killed metric's claims."""
    store = store_at.open()
    try:
        assert load_demo(store.ledger) is not None
        store.runner.catch_up()
        page = store.queries.claims(ClaimFilters(metric=KILLED), None, 100)
        return [claim["id"] for claim in page.items]
    finally:
        store.close()


def test_estimate_prints_the_first_lines_and_says_how_many_more(
    killed_claims: list[str], run_cli: RunCli
) -> None:
    done = run_cli("estimate", KILLED, "--lines", "1")
    assert done.returncode == 0, done.stderr
    assert sum(claim in done.stdout for claim in killed_claims) == 1
    assert f"… and {len(killed_claims) - 1} more lines (--all prints them)" in done.stdout


def test_estimate_with_all_prints_every_page(killed_claims: list[str], run_cli: RunCli) -> None:
    done = run_cli("estimate", KILLED, "--lines", "1", "--all")
    assert done.returncode == 0, done.stderr
    assert all(claim in done.stdout for claim in killed_claims)
    assert "more lines" not in done.stdout
    assert "best 300" in done.stdout


def test_estimate_says_an_open_top_and_each_claim_as_said(
    killed_claims: list[str], run_cli: RunCli
) -> None:
    deployed = run_cli("estimate", "dprk-in-russia/deployed")
    assert deployed.returncode == 0, deployed.stderr
    assert "high 10000 (open above)" in deployed.stdout
    assert "more than 10000" in deployed.stdout  # each line's value as said
    assert "moscow-times" in deployed.stdout  # the reporter beside the origin
    killed = run_cli("estimate", KILLED)
    assert "(open" not in killed.stdout
    assert "2025-01-15" in killed.stdout and "approximately 1000" in killed.stdout


def test_estimate_prints_the_derived_figures_and_checks(
    killed_claims: list[str], run_cli: RunCli
) -> None:
    done = run_cli("estimate", "dprk-in-russia/deployed", "--lines", "1")
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())  # however rich wraps it
    assert (
        "derived through dprk-in-russia/casualty-rate-share: low 11111 best 11111 high 11112 "
        "consistent" in said
    )
    assert "check dprk-in-russia/casualty-rate-share (share): consistent" in said
