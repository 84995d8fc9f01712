"""§6 Merkle log: RFC 9162 §2.1 leaf and node hashes and tree roots, against the published
vectors, a naive reference and pymerkle (an independent implementation)."""

from __future__ import annotations

import hashlib

import pymerkle  # a dev dependency: installed by `make test`
import pytest

from projections.log.merkle import (
    EMPTY_ROOT,
    InMemoryTree,
    is_aligned,
    leaf_hash,
    node_hash,
    root,
    split_point,
    tree_root,
)
from tests.unit.merkle_vectors import (
    BIG_LEAVES,
    BIG_TREE,
    EMPTY_TREE_HASH,
    LEAF_HASHES,
    LEAVES,
    MAX_SIZE,
    ROOTS,
    h,
    naive_mth,
)

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------------------
# Hashing


def test_leaf_and_node_hashes_match_the_rfc6962_hasher_vectors():
    assert EMPTY_ROOT == EMPTY_TREE_HASH == hashlib.sha256(b"").digest()
    assert leaf_hash(b"") == h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == h(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456") == h(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_a_leaf_and_an_interior_node_over_the_same_bytes_differ():
    a, b = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) != node_hash(b, a)


@pytest.mark.parametrize(
    ("n", "k"), [(2, 1), (3, 2), (4, 2), (5, 4), (7, 4), (8, 4), (9, 8), (63, 32), (64, 32)]
)
def test_split_point_is_the_largest_power_of_two_below_n(n, k):
    assert split_point(n) == k


@pytest.mark.parametrize("n", [-1, 0, 1])
def test_split_point_needs_two_leaves(n):
    with pytest.raises(ValueError):
        split_point(n)


def test_is_aligned():
    assert is_aligned(0, 1)
    assert is_aligned(4, 8)
    assert is_aligned(8, 16)
    assert not is_aligned(2, 6)
    assert not is_aligned(0, 3)
    assert not is_aligned(3, 3)


# ---------------------------------------------------------------------------
# Roots


def test_the_empty_tree_root_is_the_hash_of_the_empty_string():
    assert root([]) == EMPTY_TREE_HASH
    assert InMemoryTree().root() == EMPTY_TREE_HASH
    assert tree_root(BIG_TREE, 0) == EMPTY_TREE_HASH


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_match_the_published_vectors(n):
    assert root(LEAF_HASHES[:n]) == ROOTS[n - 1]


def test_roots_of_every_earlier_size_from_one_tree_match_the_vectors():
    tree = InMemoryTree()
    for i, lh in enumerate(LEAF_HASHES):
        tree.append(lh)
        assert tree.root() == ROOTS[i]
        assert [tree.root(n) for n in range(1, i + 2)] == ROOTS[: i + 1]
        assert tree.root(0) == EMPTY_TREE_HASH


def test_roots_match_the_naive_definition_up_to_63():
    for n in range(MAX_SIZE + 1):
        assert BIG_TREE.root(n) == naive_mth(BIG_LEAVES[:n]) == root(BIG_LEAVES[:n])


def test_any_range_hashes_like_the_naive_definition():
    for start in range(MAX_SIZE):
        for end in range(start + 1, MAX_SIZE + 1):
            assert BIG_TREE.hash(start, end) == naive_mth(BIG_LEAVES[start:end])


@pytest.mark.parametrize(("start", "end"), [(0, 0), (3, 2), (-1, 2), (0, MAX_SIZE + 1)])
def test_an_empty_or_out_of_bounds_range_is_refused(start, end):
    with pytest.raises(ValueError):
        BIG_TREE.hash(start, end)


def test_a_root_beyond_the_tree_is_refused():
    with pytest.raises(ValueError):
        BIG_TREE.root(MAX_SIZE + 1)


# ---------------------------------------------------------------------------
# Cross-check with pymerkle, an independent implementation.
#
# pymerkle's default hasher (security mode on, i.e. disable_security=False) prefixes
# leaves with 0x00 and nodes with 0x01 exactly as RFC 9162; with disable_security=True
# it drops the prefixes and no longer matches. Its roots of the published vectors equal
# the RFC roots, and its inclusion "path" is the base leaf hash followed by the RFC
# PATH. Its consistency proofs are not in the RFC's format (it descends to a single
# leaf at the boundary, and adds a subset bitmap) so only the roots they attest are
# compared. Its leaf indices count from 1.


def test_pymerkle_roots_match_the_published_vectors():
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    assert tree.get_root() == EMPTY_TREE_HASH
    for d in LEAVES:
        tree.append_entry(d)
    assert [tree.get_root(n) for n in range(1, 9)] == ROOTS

    insecure = pymerkle.InmemoryTree(algorithm="sha256", disable_security=True)
    for d in LEAVES:
        insecure.append_entry(d)
    assert insecure.get_root() != ROOTS[-1]


def test_pymerkle_agrees_on_roots_and_inclusion_paths_up_to_63():
    data = [i.to_bytes(2, "big") for i in range(MAX_SIZE)]
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    for d in data:
        tree.append_entry(d)
    ours = InMemoryTree(leaf_hash(d) for d in data)
    for size in range(1, MAX_SIZE + 1):
        assert tree.get_root(size) == ours.root(size)
        for index in range(size):
            theirs = tree.prove_inclusion(index + 1, size)
            assert theirs.path[0] == ours.hash(index, index + 1)
            assert theirs.path[1:] == ours.inclusion_proof(index, size), (index, size)
