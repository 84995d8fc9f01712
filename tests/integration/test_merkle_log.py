"""The Merkle log served from stored subtrees (two queries per answer) gives the same
roots and proofs as the in-memory RFC 9162 tree over the same leaves, for every size."""

from __future__ import annotations

import pytest

from projections.log.merkle import EMPTY_ROOT, InMemoryTree, consistency_path, inclusion_path
from projections.reads.audit_log import MerkleLog, OutOfRange
from projections.store import Store

from .conftest import claim, define_metrics, register_sources

pytestmark = pytest.mark.integration


@pytest.fixture
def log_of_37(store: Store) -> tuple[MerkleLog, InMemoryTree]:
    register_sources(store, "a", "b")
    define_metrics(store, "m/x")
    for n in range(34):
        store.ledger.record_claim(claim("m/x", n + 1, "a", "b"), "test")
    store.runner.catch_up()
    with store.views.sql_transaction() as c:
        leaves = c.execute("SELECT leaf_hash FROM event_index ORDER BY leaf_index").fetchall()
    tree = InMemoryTree()
    for (leaf,) in leaves:
        tree.append(bytes.fromhex(leaf))
    assert len(tree) == 37
    return MerkleLog(store.views), tree


def test_roots_and_proofs_equal_the_in_memory_tree_at_every_size(
    log_of_37: tuple[MerkleLog, InMemoryTree],
) -> None:
    log, tree = log_of_37

    assert log.size() == 37
    assert log.root(0) == (0, EMPTY_ROOT)
    for size in range(1, 38):
        assert log.root(size) == (size, tree.hash(0, size))
        for leaf in range(size):
            proof = log.inclusion(leaf, size)
            assert proof.leaf_hash == tree.hash(leaf, leaf + 1)
            assert proof.audit_path == inclusion_path(tree, leaf, size)
        for first in range(size + 1):
            assert log.consistency(first, size) == consistency_path(tree, first, size)


@pytest.mark.parametrize(
    "ask",
    [
        lambda log: log.root(38),
        lambda log: log.inclusion(37, 37),
        lambda log: log.inclusion(0, 38),
        lambda log: log.consistency(5, 38),
        lambda log: log.consistency(6, 5),
    ],
    ids=[
        "root past the end",
        "leaf past the size",
        "size past the end",
        "second past",
        "first > second",
    ],
)
def test_questions_beyond_the_log_are_out_of_range(
    log_of_37: tuple[MerkleLog, InMemoryTree], ask: object
) -> None:
    log, _ = log_of_37

    with pytest.raises(OutOfRange):
        ask(log)  # type: ignore[operator]
