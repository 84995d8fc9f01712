"""`claimledger import` is resumable: a line's claim id derives from the file's digest and
its line number, so importing a file again records each claim once (both stores)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.claim_files import ClaimLine, Imported, import_batch, read_claim_lines
from api.demo import load_demo
from projections.reads.queries import ClaimFilters
from projections.store import Store

from .conftest import RunCli, StoreAt

pytestmark = pytest.mark.integration

REPORTER = "nyt"


@pytest.fixture
def demo_store(store_at: StoreAt) -> StoreAt:
    store = store_at.open()
    try:
        assert load_demo(store.ledger) is not None
    finally:
        store.close()
    return store_at


def claims_file(path: Path, count: int) -> Path:
    rows: list[dict[str, Any]] = [
        {
            "metric": "dprk-in-russia/killed",
            "value": 100 + n,
            "as_of": "2025-02-01",
            "reported_by": REPORTER,
        }
        for n in range(count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def listed_ids(store: Store) -> list[str]:
    store.runner.catch_up()
    ids: list[str] = []
    cursor = None
    while True:
        page = store.queries.claims(ClaimFilters(reported_by=REPORTER), cursor, 1000)
        ids += [item["id"] for item in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def test_a_file_imported_twice_records_each_claim_once(
    demo_store: StoreAt, tmp_path: Path, run_cli: RunCli
) -> None:
    path = claims_file(tmp_path / "claims.jsonl", 25)
    # given a file imported once
    first = run_cli("import", str(path), "--batch-size", "10")
    assert first.returncode == 0, first.stderr
    # when it is imported again
    second = run_cli("import", str(path), "--batch-size", "7")
    # then nothing is recorded twice
    assert second.returncode == 0, second.stderr
    ids = listed_ids(demo_store.open())
    assert len(ids) == 25
    assert sorted(ids) == sorted(str(c.id) for c in read_claim_lines(path))
    # and the summaries say what was new and what was there
    assert "imported 25 claims: 25 new, 0 already there" in first.stdout
    assert "imported 25 claims: 0 new, 25 already there" in second.stdout


def test_a_batch_partly_recorded_before_records_only_the_rest(
    demo_store: StoreAt, tmp_path: Path
) -> None:
    lines = read_claim_lines(claims_file(tmp_path / "claims.jsonl", 6))
    store = demo_store.open()
    # given the first batch of an earlier run (whole: batches are all or nothing)
    import_batch(store.ledger, lines[:2], "cli", Imported())
    # when a batch that holds it and more is imported
    counts = Imported()
    import_batch(store.ledger, lines, "cli", counts)
    # then the rest is recorded, and what was there is counted, not recorded again
    assert (counts.new, counts.there) == (4, 2)
    assert sorted(listed_ids(store)) == sorted(str(c.id) for c in lines)


def test_line_ids_follow_the_file_not_the_run(tmp_path: Path) -> None:
    path = claims_file(tmp_path / "a.jsonl", 3)
    again = read_claim_lines(path)
    assert [c.id for c in read_claim_lines(path)] == [c.id for c in again]
    assert len({c.id for c in again}) == 3
    # one byte more, another file: other ids
    path.write_text(path.read_text() + "\n")
    changed: list[ClaimLine] = read_claim_lines(path)
    assert not {c.id for c in changed} & {c.id for c in again}
