"""§6 Merkle log: the store of aligned complete subtrees a tree is read from, one stored
node per level at most."""

from __future__ import annotations

import pytest

from projections.log.merkle import (
    InMemoryTree,
    NodeStoreTree,
    StoredNode,
    aligned_nodes_to_store,
    consistency_path,
    hash_from_nodes,
    inclusion_path,
    tree_root,
)
from tests.unit.merkle_vectors import (
    BIG_LEAVES,
    data_leaves,
    naive_mth,
)

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------------------
# The store of aligned complete subtrees


def test_appending_a_leaf_stores_the_subtrees_it_completes():
    stored: dict[tuple[int, int], bytes] = {}
    leaves = data_leaves(8)
    written = []
    for i, lh in enumerate(leaves):
        nodes = aligned_nodes_to_store(i, lh, lambda level, start: stored[(level, start)])
        written.append([(n.level, n.start) for n in nodes])
        stored.update({(n.level, n.start): n.hash for n in nodes})
    assert written == [
        [(0, 0)],
        [(0, 1), (1, 0)],
        [(0, 2)],
        [(0, 3), (1, 2), (2, 0)],
        [(0, 4)],
        [(0, 5), (1, 4)],
        [(0, 6)],
        [(0, 7), (1, 6), (2, 4), (3, 0)],
    ]
    assert stored[(3, 0)] == naive_mth(leaves)
    assert stored[(2, 4)] == naive_mth(leaves[4:8])
    assert stored[(1, 2)] == naive_mth(leaves[2:4])


def test_every_stored_node_is_the_hash_of_its_aligned_subtree():
    tree = InMemoryTree()
    for i, lh in enumerate(BIG_LEAVES):
        nodes = tree.append(lh)
        trailing_zero_bits = ((i + 1) & -(i + 1)).bit_length() - 1
        assert len(nodes) == 1 + trailing_zero_bits
        assert nodes[0] == StoredNode(0, i, lh)
        for level, start, digest in nodes:
            assert digest == naive_mth(BIG_LEAVES[start : start + (1 << level)])
            assert tree.node(level, start) == digest


def test_a_missing_or_misaligned_node_is_a_key_error():
    tree = InMemoryTree(data_leaves(5))
    for level, start in [(0, 5), (1, 1), (3, 0), (-1, 0)]:
        with pytest.raises(KeyError):
            tree.node(level, start)


def test_a_leaf_hash_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError):
        InMemoryTree().append(b"short")


def counting_store(n: int) -> tuple[NodeStoreTree, list[tuple[int, int]]]:
    tree = InMemoryTree(data_leaves(n))
    reads: list[tuple[int, int]] = []

    def get(level: int, start: int) -> bytes:
        reads.append((level, start))
        return tree.node(level, start)

    return NodeStoreTree(get), reads


@pytest.mark.parametrize("n", [1, 2, 3, 63, 64, 65, 1000, 4097])
def test_roots_and_proofs_read_at_most_one_stored_node_per_level(n):
    depth = (n - 1).bit_length()
    store, reads = counting_store(n)
    reference = InMemoryTree(data_leaves(n))

    assert tree_root(store, n) == reference.root()
    assert len(reads) <= depth + 1

    for index in {0, n // 3, n // 2, n - 1}:
        reads.clear()
        proof = inclusion_path(store, index, n)
        assert proof == reference.inclusion_proof(index)
        assert len(reads) <= 2 * depth + 1, (index, len(reads))

    for first in {1, n // 3, n // 2, n - 1, n}:
        if first < 1:
            continue
        reads.clear()
        proof = consistency_path(store, first, n)
        assert proof == reference.consistency_proof(first)
        assert len(reads) <= 2 * depth + 2, (first, len(reads))


def test_hash_from_nodes_reads_one_node_for_an_aligned_range():
    tree = InMemoryTree(data_leaves(16))
    reads: list[tuple[int, int]] = []

    def get(level: int, start: int) -> bytes:
        reads.append((level, start))
        return tree.node(level, start)

    assert hash_from_nodes(8, 16, get) == tree.hash(8, 16)
    assert reads == [(3, 8)]
