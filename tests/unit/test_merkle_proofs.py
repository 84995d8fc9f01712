"""§6 Merkle log: RFC 9162 §2.1 inclusion and consistency proofs: the published vectors,
the subtrees they are made of, every alteration refused, and properties over any tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.log.merkle import (
    HASH_SIZE,
    InMemoryTree,
    consistency_path,
    consistency_proof,
    inclusion_path,
    inclusion_proof,
    leaf_hash,
    root,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from tests.unit.merkle_vectors import (
    BIG_LEAVES,
    BIG_TREE,
    CONSISTENCY_VECTORS,
    EMPTY_TREE_HASH,
    INCLUSION_VECTORS,
    LEAF_HASHES,
    MAX_SIZE,
    ROOTS,
    SOME_HASH,
    consistency_probes,
    data_leaves,
    flip_bit,
    inclusion_probes,
    naive_mth,
    naive_path,
    naive_proof,
)

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------------------
# Inclusion proofs


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_published_vectors(index, size, path):
    assert inclusion_proof(index, LEAF_HASHES, size) == path
    assert InMemoryTree(LEAF_HASHES).inclusion_proof(index, size) == path
    assert inclusion_proof(index, LEAF_HASHES[:size]) == path


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_published_inclusion_proofs_verify(index, size, path):
    lh = LEAF_HASHES[index]
    assert root_from_inclusion_proof(index, size, lh, path) == ROOTS[size - 1]
    assert verify_inclusion(index, size, lh, path, ROOTS[size - 1])


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_published_inclusion_proofs_reject_every_alteration(index, size, path):
    wrongly_accepted = [
        desc
        for desc, (i, n, lh, p, r) in inclusion_probes(
            index, size, LEAF_HASHES[index], path, ROOTS[size - 1]
        )
        if verify_inclusion(i, n, lh, p, r)
    ]
    assert wrongly_accepted == []


def test_inclusion_proofs_round_trip_for_every_size_and_index_up_to_63():
    for size in range(1, MAX_SIZE + 1):
        r = BIG_TREE.root(size)
        for index in range(size):
            proof = BIG_TREE.inclusion_proof(index, size)
            assert proof == naive_path(index, BIG_LEAVES[:size])
            assert verify_inclusion(index, size, BIG_LEAVES[index], proof, r), (index, size)


def test_inclusion_proofs_reject_alterations_for_every_size_and_index_up_to_63():
    for size in range(1, MAX_SIZE + 1):
        r = BIG_TREE.root(size)
        for index in range(size):
            proof = BIG_TREE.inclusion_proof(index, size)
            probes = inclusion_probes(index, size, BIG_LEAVES[index], proof, r)
            wrongly_accepted = [desc for desc, args in probes if verify_inclusion(*args)]
            assert wrongly_accepted == [], (index, size)


def test_an_inclusion_proof_does_not_verify_for_a_leaf_elsewhere_in_the_tree():
    for size in range(2, 17):
        r = BIG_TREE.root(size)
        for index in range(size):
            proof = BIG_TREE.inclusion_proof(index, size)
            for other in range(size):
                if other != index:
                    assert not verify_inclusion(other, size, BIG_LEAVES[index], proof, r)
                    assert not verify_inclusion(index, size, BIG_LEAVES[other], proof, r)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 3)])
def test_inclusion_verification_fails_for_impossible_positions(index, size):
    assert not verify_inclusion(index, size, SOME_HASH, [], EMPTY_TREE_HASH)
    assert not verify_inclusion(index, size, SOME_HASH, [], SOME_HASH)


def test_a_single_leaf_tree_has_an_empty_path_and_its_root_is_the_leaf():
    lh = leaf_hash(b"data")
    assert inclusion_proof(0, [lh]) == []
    assert verify_inclusion(0, 1, lh, [], lh)
    assert not verify_inclusion(0, 1, lh, [], b"")
    assert not verify_inclusion(0, 1, b"", [], lh)
    assert not verify_inclusion(0, 1, b"", [], b"")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (8, 8), (-1, 4), (3, 9)])
def test_an_inclusion_proof_outside_the_tree_is_refused(index, size):
    with pytest.raises(ValueError):
        inclusion_proof(index, LEAF_HASHES, size)


def test_an_inclusion_proof_over_an_accessor_needs_the_tree_size():
    with pytest.raises(TypeError):
        inclusion_proof(0, BIG_TREE)
    assert inclusion_proof(5, BIG_TREE, 40) == BIG_TREE.inclusion_proof(5, 40)


# ---------------------------------------------------------------------------
# Consistency proofs


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_published_vectors(first, second, proof):
    assert consistency_proof(first, second, LEAF_HASHES) == proof
    assert InMemoryTree(LEAF_HASHES[:second]).consistency_proof(first) == proof


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_published_consistency_proofs_verify_and_reject_every_alteration(first, second, proof):
    r1, r2 = ROOTS[first - 1], ROOTS[second - 1]
    assert verify_consistency(first, second, r1, r2, proof)
    wrongly_accepted = [
        desc
        for desc, args in consistency_probes(first, second, r1, r2, proof)
        if verify_consistency(*args)
    ]
    assert wrongly_accepted == []


def test_consistency_proofs_round_trip_for_every_pair_up_to_63():
    roots = [BIG_TREE.root(n) for n in range(MAX_SIZE + 1)]
    for second in range(1, MAX_SIZE + 1):
        for first in range(1, second + 1):
            proof = BIG_TREE.consistency_proof(first, second)
            assert proof == naive_proof(first, BIG_LEAVES[:second])
            assert verify_consistency(first, second, roots[first], roots[second], proof), (
                first,
                second,
            )


def test_consistency_proofs_reject_alterations_for_every_pair_up_to_63():
    roots = [BIG_TREE.root(n) for n in range(MAX_SIZE + 1)]
    for second in range(1, MAX_SIZE + 1):
        for first in range(1, second + 1):
            proof = BIG_TREE.consistency_proof(first, second)
            probes = consistency_probes(first, second, roots[first], roots[second], proof)
            wrongly_accepted = [desc for desc, args in probes if verify_consistency(*args)]
            assert wrongly_accepted == [], (first, second)


def test_a_consistency_proof_does_not_verify_a_rewritten_history():
    # The log of size 10 rewrote leaf 3 after publishing the head of size 6.
    honest = data_leaves(10)
    forked = [*honest[:3], leaf_hash(b"rewritten"), *honest[4:]]
    proof = consistency_proof(6, 10, forked)
    assert verify_consistency(6, 10, root(forked[:6]), root(forked), proof)
    assert not verify_consistency(6, 10, root(honest[:6]), root(forked), proof)


def test_edge_cases_of_consistency_verification():
    r1, r2 = SOME_HASH, ROOTS[0]
    e = EMPTY_TREE_HASH
    # Sizes that are always consistent, given the right roots and an empty proof.
    assert verify_consistency(0, 0, e, e, [])
    assert verify_consistency(0, 1, e, r2, [])
    assert verify_consistency(1, 1, r2, r2, [])
    assert verify_consistency(5, 5, ROOTS[4], ROOTS[4], [])
    # Roots that do not match.
    assert not verify_consistency(1, 1, r1, r2, [])
    assert not verify_consistency(0, 0, e, r2, [])
    assert not verify_consistency(0, 1, r1, r2, [])
    # Roots that match but a proof that is not empty.
    assert not verify_consistency(0, 0, e, e, [e])
    assert not verify_consistency(0, 1, e, r2, [e])
    assert not verify_consistency(1, 1, r2, r2, [e])
    # Time travel to the past.
    assert not verify_consistency(1, 0, r1, r2, [])
    assert not verify_consistency(2, 1, r1, r2, [])
    assert not verify_consistency(-1, 1, r1, r2, [])
    # An empty proof between different sizes.
    assert not verify_consistency(1, 2, ROOTS[0], ROOTS[1], [])
    # Roots that are not hashes.
    assert not verify_consistency(1, 1, b"x", b"x", [])


def test_consistency_from_the_empty_tree_is_an_empty_proof():
    assert consistency_proof(0, 5, LEAF_HASHES) == []
    assert consistency_proof(0, 0, []) == []


@pytest.mark.parametrize(("first", "second"), [(2, 1), (-1, 3), (1, 9)])
def test_a_consistency_proof_between_impossible_sizes_is_refused(first, second):
    with pytest.raises(ValueError):
        consistency_proof(first, second, LEAF_HASHES)


# ---------------------------------------------------------------------------
# Which subtree hashes the proofs are made of (transparency-dev/merkle
# proof/proof_test.go, TestInclusion and TestConsistency, as leaf ranges).


class RecordingTree:
    """A SubtreeHashes that remembers which ranges were asked for."""

    def __init__(self, tree: InMemoryTree) -> None:
        self.tree = tree
        self.asked: list[tuple[int, int]] = []

    def hash(self, start: int, end: int) -> bytes:
        self.asked.append((start, end))
        return self.tree.hash(start, end)


@pytest.mark.parametrize(
    ("index", "size", "ranges"),
    [
        (0, 2, [(1, 2)]),
        (1, 2, [(0, 1)]),
        (1, 3, [(0, 1), (2, 3)]),
        (0, 7, [(1, 2), (2, 4), (4, 7)]),
        (2, 7, [(3, 4), (0, 2), (4, 7)]),
        (4, 7, [(5, 6), (6, 7), (0, 4)]),
        (6, 7, [(4, 6), (0, 4)]),
        (3, 5, [(2, 3), (0, 2), (4, 5)]),
        (4, 6, [(5, 6), (0, 4)]),
        (10, 15, [(11, 12), (8, 10), (12, 15), (0, 8)]),
    ],
)
def test_inclusion_paths_are_made_of_the_expected_subtrees(index, size, ranges):
    recording = RecordingTree(BIG_TREE)
    proof = inclusion_path(recording, index, size)
    assert sorted(recording.asked) == sorted(ranges)
    assert proof == [BIG_TREE.hash(s, e) for s, e in ranges]


@pytest.mark.parametrize(
    ("first", "second", "ranges"),
    [
        (1, 2, [(1, 2)]),
        (1, 4, [(1, 2), (2, 4)]),
        (1, 6, [(1, 2), (2, 4), (4, 6)]),
        (2, 3, [(2, 3)]),
        (2, 8, [(2, 4), (4, 8)]),
        (3, 7, [(2, 3), (3, 4), (0, 2), (4, 7)]),
        (4, 7, [(4, 7)]),
        (5, 7, [(4, 5), (5, 6), (6, 7), (0, 4)]),
        (6, 7, [(4, 6), (6, 7), (0, 4)]),
        (7, 8, [(6, 7), (7, 8), (4, 6), (0, 4)]),
        (2, 4, [(2, 4)]),
        (3, 5, [(2, 3), (3, 4), (0, 2), (4, 5)]),
        (4, 6, [(4, 6)]),
        (10, 15, [(8, 10), (10, 12), (12, 15), (0, 8)]),
    ],
)
def test_consistency_proofs_are_made_of_the_expected_subtrees(first, second, ranges):
    recording = RecordingTree(BIG_TREE)
    proof = consistency_path(recording, first, second)
    assert proof == [BIG_TREE.hash(s, e) for s, e in ranges]


# ---------------------------------------------------------------------------
# Properties


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=300), st.data())
def test_any_tree_proves_any_leaf_and_any_earlier_head(leaf_data, data):
    leaves = [leaf_hash(d) for d in leaf_data]
    tree = InMemoryTree(leaves)
    n = len(leaves)
    assert tree.root() == naive_mth(leaves)

    index = data.draw(st.integers(0, n - 1))
    size = data.draw(st.integers(index + 1, n))
    proof = tree.inclusion_proof(index, size)
    assert verify_inclusion(index, size, leaves[index], proof, tree.root(size))
    assert len(proof) <= (size - 1).bit_length()

    first = data.draw(st.integers(1, n))
    second = data.draw(st.integers(first, n))
    proof = tree.consistency_proof(first, second)
    assert verify_consistency(first, second, tree.root(first), tree.root(second), proof)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 200).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, HASH_SIZE * 8 - 1))
    ),
    st.integers(0, 63),
)
def test_flipping_any_bit_of_an_inclusion_proof_breaks_it(case, which):
    n, index, bit = case
    leaves = data_leaves(n)
    tree = InMemoryTree(leaves)
    proof = tree.inclusion_proof(index)
    j = which % len(proof)
    altered = [*proof]
    altered[j] = flip_bit(altered[j], bit)
    assert not verify_inclusion(index, n, leaves[index], altered, tree.root())
