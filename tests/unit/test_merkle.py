"""§6 Merkle log: RFC 9162 §2.1 tree hashes, inclusion and consistency proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

import pymerkle  # a dev dependency: installed by `make test`
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.log.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    InMemoryTree,
    NodeStoreTree,
    StoredNode,
    aligned_nodes_to_store,
    consistency_path,
    consistency_proof,
    hash_from_nodes,
    inclusion_path,
    inclusion_proof,
    is_aligned,
    leaf_hash,
    node_hash,
    root,
    root_from_inclusion_proof,
    split_point,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

pytestmark = pytest.mark.unit


def h(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)


# ---------------------------------------------------------------------------
# Published test vectors.
#
# Leaves, roots, inclusion paths and consistency proofs for the eight-leaf reference
# tree used by Certificate Transparency implementations, from
#   google/certificate-transparency  cpp/merkletree/merkle_tree_test.cc
#     (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs)
#   transparency-dev/merkle  proof/verify_test.go
#     (leaves, roots, inclusionProofs, consistencyProofs; adds the 6 -> 7 proof)
# Those files number leaves from 1; the indices below are converted to 0-based.
# The hasher vectors are from transparency-dev/merkle rfc6962/rfc6962_test.go.

LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
LEAF_HASHES = [leaf_hash(d) for d in LEAVES]

# ROOTS[n - 1] is the root of the tree of the first n leaves.
ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
EMPTY_TREE_HASH = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

# (leaf index, tree size, path)
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (first, second, proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]


# ---------------------------------------------------------------------------
# A deliberately naive reference: the RFC's recursive definitions over lists.


def naive_mth(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(naive_mth(hashes[:k]), naive_mth(hashes[k:]))


def data_leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(2, "big")) for i in range(n)]


MAX_SIZE = 63
BIG_LEAVES = data_leaves(MAX_SIZE)
BIG_TREE = InMemoryTree(BIG_LEAVES)


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


# ---------------------------------------------------------------------------
# Helpers: naive proofs and the alterations a verifier must reject (after the
# probes of google/certificate-transparency's merkle_tree_test.cc and
# transparency-dev/merkle's proof/verify_test.go).


def naive_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*naive_path(m, hashes[:k]), naive_mth(hashes[k:])]
    return [*naive_path(m - k, hashes[k:]), naive_mth(hashes[:k])]


def naive_proof(m: int, hashes: Sequence[bytes], whole: bool = True) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [naive_mth(hashes)]
    k = split_point(n)
    if m <= k:
        return [*naive_proof(m, hashes[:k], whole), naive_mth(hashes[k:])]
    return [*naive_proof(m - k, hashes[k:], False), naive_mth(hashes[:k])]


def flip_bit(digest: bytes, bit: int) -> bytes:
    altered = bytearray(digest)
    altered[bit // 8] ^= 1 << (bit % 8)
    return bytes(altered)


InclusionArgs = tuple[int, int, bytes, list[bytes], bytes]


def inclusion_probes(
    index: int,
    size: int,
    lh: bytes,
    proof: list[bytes],
    r: bytes,
) -> Iterator[tuple[str, InclusionArgs]]:
    yield "index - 1", (index - 1, size, lh, proof, r)
    yield "index + 1", (index + 1, size, lh, proof, r)
    yield "index ^ 2", (index ^ 2, size, lh, proof, r)
    yield "size * 2", (index, size * 2, lh, proof, r)
    yield "size // 2", (index, size // 2, lh, proof, r)
    yield "wrong leaf", (index, size, leaf_hash(b"WrongLeaf"), proof, r)
    yield "short leaf", (index, size, b"WrongLeaf", proof, r)
    yield "empty root", (index, size, lh, proof, EMPTY_TREE_HASH)
    yield "some root", (index, size, lh, proof, SOME_HASH)
    yield "trailing garbage", (index, size, lh, [*proof, b""], r)
    yield "trailing root", (index, size, lh, [*proof, r], r)
    yield "preceding garbage", (index, size, lh, [b"", *proof], r)
    yield "preceding root", (index, size, lh, [r, *proof], r)
    for j in range(len(proof)):
        altered = [*proof]
        altered[j] = flip_bit(altered[j], 3)
        yield f"proof[{j}] bit flipped", (index, size, lh, altered, r)
        replaced = [*proof]
        replaced[j] = EMPTY_TREE_HASH
        yield f"proof[{j}] replaced", (index, size, lh, replaced, r)
    if proof:
        yield "last dropped", (index, size, lh, proof[:-1], r)
        yield "first dropped", (index, size, lh, proof[1:], r)
    if len(proof) > 1:
        yield "inserted", (index, size, lh, [proof[0], SOME_HASH, *proof[1:]], r)


ConsistencyArgs = tuple[int, int, bytes, bytes, list[bytes]]


def consistency_probes(
    first: int, second: int, r1: bytes, r2: bytes, proof: list[bytes]
) -> Iterator[tuple[str, ConsistencyArgs]]:
    if not proof:
        # A trivial proof (first == second) has little to alter.
        yield "different root", (first, second, r1, SOME_HASH, proof)
        yield "added element", (first, second, r1, r2, [r1])
        yield "second + 1", (first, second + 1, r1, r2, proof)
        return
    yield "first - 1", (first - 1, second, r1, r2, proof)
    yield "first + 1", (first + 1, second, r1, r2, proof)
    yield "first ^ 2", (first ^ 2, second, r1, r2, proof)
    yield "second * 2", (first, second * 2, r1, r2, proof)
    yield "second // 2", (first, second // 2, r1, r2, proof)
    yield "wrong first root", (first, second, SOME_HASH, r2, proof)
    yield "wrong second root", (first, second, r1, SOME_HASH, proof)
    yield "short root", (first, second, b"WrongRoot", r2, proof)
    yield "swapped roots", (first, second, r2, r1, proof)
    yield "empty proof", (first, second, r1, r2, [])
    yield "trailing garbage", (first, second, r1, r2, [*proof, b""])
    yield "trailing first root", (first, second, r1, r2, [*proof, r1])
    yield "trailing second root", (first, second, r1, r2, [*proof, r2])
    yield "trailing last element", (first, second, r1, r2, [*proof, proof[-1]])
    yield "preceding garbage", (first, second, r1, r2, [b"", *proof])
    yield "preceding first root", (first, second, r1, r2, [r1, *proof])
    yield "preceding second root", (first, second, r1, r2, [r2, *proof])
    yield "preceding proof[0]", (first, second, r1, r2, [proof[0], *proof])
    yield "last dropped", (first, second, r1, r2, proof[:-1])
    yield "first dropped", (first, second, r1, r2, proof[1:])
    for j in range(len(proof)):
        altered = [*proof]
        altered[j] = flip_bit(altered[j], 4)
        yield f"proof[{j}] bit flipped", (first, second, r1, r2, altered)
        replaced = [*proof]
        replaced[j] = EMPTY_TREE_HASH
        yield f"proof[{j}] replaced", (first, second, r1, r2, replaced)
