"""The Merkle tests' shared vectors and references: the published RFC 9162 test vectors,
a naive recursive reference, and the alterations a verifier must reject."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

from projections.log.merkle import (
    InMemoryTree,
    leaf_hash,
    node_hash,
    split_point,
)


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
