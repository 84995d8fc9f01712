"""RFC 9162 §2.1 Merkle tree: hashes, inclusion proofs and consistency proofs (DESIGN §6).

Notation follows the RFC. ``D[start:end]`` is the list of leaf hashes with positions
``start <= i < end`` (0-based, end exclusive) and ``MTH(D[start:end])`` its tree hash:

- a single entry is its own hash (we are given *leaf hashes*, ``SHA-256(0x00 || data)``);
- otherwise, with ``k`` the largest power of two smaller than the list's length,
  ``MTH(D) = SHA-256(0x01 || MTH(D[start:start+k]) || MTH(D[start+k:end]))``;
- the hash of the empty tree is ``SHA-256("")``.

Everything here is written against one operation, ``SubtreeHashes.hash(start, end)``,
the tree hash of ``D[start:end]``. Every range the RFC algorithms ask for is either an
*aligned complete subtree* (``end - start`` a power of two and ``start`` a multiple of
it) or splits, by the rule above, into at most one aligned complete subtree per level.
So a store that keeps the hash of every aligned complete subtree, a row per
``(level, start)``, answers a root, an inclusion proof or a consistency proof with
O(log n) reads and O(log n) hashing; ``hash_from_nodes`` does that split, and
``aligned_nodes_to_store`` says which rows to write when a leaf is appended.
``InMemoryTree`` is the same scheme kept in lists.

The verifiers are the RFC's §2.1.3.2 and §2.1.4.2 algorithms step by step. They
return ``False`` on any malformed input (bad sizes, hashes that are not 32 bytes)
rather than raising, so a caller can feed them whatever a client sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol

HASH_SIZE = 32
"""Length in bytes of every hash here (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the tree with no leaves, the SHA-256 of the empty string."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the hash of one leaf's data."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``): the RFC's ``k``."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves has no split")
    return 1 << ((n - 1).bit_length() - 1)


def is_aligned(start: int, end: int) -> bool:
    """Whether ``D[start:end]`` is a complete subtree: a power-of-two size, ``start`` a multiple."""
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


class SubtreeHashes(Protocol):
    """Anything that can give the tree hash of a range of leaves."""

    def hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]), for ``0 <= start < end <= size``."""
        ...


# ---------------------------------------------------------------------------
# Aligned complete subtrees: what a store keeps.

NodeGetter = Callable[[int, int], bytes]
"""``get(level, start)``: the stored hash of the aligned complete subtree of
``2**level`` leaves that begins at leaf ``start`` (a multiple of ``2**level``).
Level 0 holds the leaf hashes themselves."""


class StoredNode(NamedTuple):
    """The hash of the aligned complete subtree ``D[start : start + 2**level]``."""

    level: int
    start: int
    hash: bytes


def aligned_nodes_to_store(leaf_index: int, leaf_hash: bytes, get: NodeGetter) -> list[StoredNode]:
    """The aligned complete subtrees that appending leaf ``leaf_index`` completes.

    Leaf ``i`` completes the subtree of ``2**level`` leaves ending at it for every
    ``level`` with ``(i + 1) % 2**level == 0``: level 0 is the leaf itself, and each
    higher one is ``node_hash(left sibling, the node just made one level down)``,
    the left sibling being the already-stored subtree of ``2**(level - 1)`` leaves
    starting at ``i + 1 - 2**level``. So an append writes ``1 + (trailing zero bits of
    i + 1)`` rows (2 on average) and reads one fewer. ``get`` must see every node of
    leaves ``0 .. i - 1``, including those of earlier leaves in the same batch.

    Returns the nodes bottom-up, level 0 first.
    """
    if leaf_index < 0:
        raise ValueError("leaf_index must be >= 0")
    nodes = [StoredNode(0, leaf_index, leaf_hash)]
    level, current, end = 1, leaf_hash, leaf_index + 1
    while end % (1 << level) == 0:
        start = end - (1 << level)
        current = node_hash(get(level - 1, start), current)
        nodes.append(StoredNode(level, start, current))
        level += 1
    return nodes


def hash_from_nodes(start: int, end: int, get: NodeGetter) -> bytes:
    """MTH(D[start:end]) from stored aligned complete subtrees.

    An aligned complete range is one read; any other range is split as the RFC
    does, at the largest power of two smaller than its length. For the ranges the
    RFC algorithms use (which begin at a multiple of a power of two no smaller than
    their length) the left part is always one read and only the right edge recurses,
    so this makes at most one read per level. Any other range is still hashed
    correctly, with more reads.
    """
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    if is_aligned(start, end):
        return get((end - start).bit_length() - 1, start)
    k = split_point(end - start)
    return node_hash(hash_from_nodes(start, start + k, get), hash_from_nodes(start + k, end, get))


class NodeStoreTree:
    """``SubtreeHashes`` over any store of aligned complete subtrees (see ``NodeGetter``)."""

    def __init__(self, get: NodeGetter) -> None:
        self._get = get

    def hash(self, start: int, end: int) -> bytes:
        return hash_from_nodes(start, end, self._get)


class InMemoryTree:
    """An append-only tree in memory that keeps every aligned complete subtree's hash.

    ``levels[h][j]`` is the hash of leaves ``[j * 2**h, (j + 1) * 2**h)``; it is
    filled by ``aligned_nodes_to_store`` exactly as a database table would be, so this
    class doubles as the reference for how a store should behave.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    def __len__(self) -> int:
        return len(self._levels[0])

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def node(self, level: int, start: int) -> bytes:
        """The stored hash of the aligned complete subtree at ``(level, start)``."""
        if level < 0 or start % (1 << level) != 0:
            raise KeyError((level, start))
        try:
            return self._levels[level][start >> level]
        except IndexError:
            raise KeyError((level, start)) from None

    def append(self, leaf_hash: bytes) -> list[StoredNode]:
        """Add one leaf hash; returns the nodes it completed (what a store would insert)."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf_hash)}")
        nodes = aligned_nodes_to_store(self.size, leaf_hash, self.node)
        for level, start, h in nodes:
            if level == len(self._levels):
                self._levels.append([])
            assert len(self._levels[level]) == start >> level
            self._levels[level].append(h)
        return nodes

    def hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for ``0 <= start < end <= size``."""
        if not 0 <= start < end <= self.size:
            raise ValueError(f"range [{start}, {end}) is not within a tree of {self.size}")
        return hash_from_nodes(start, end, self.node)

    def root(self, tree_size: int | None = None) -> bytes:
        """MTH of the first ``tree_size`` leaves (all of them by default)."""
        size = self.size if tree_size is None else tree_size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree_size {size} is not within 0..{self.size}")
        return tree_root(self, size)

    def inclusion_proof(self, leaf_index: int, tree_size: int | None = None) -> list[bytes]:
        """PATH(leaf_index, D[0:tree_size]), the whole tree by default."""
        size = self.size if tree_size is None else tree_size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree_size {size} is not within 0..{self.size}")
        return inclusion_path(self, leaf_index, size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[0:second]), ``second`` being the whole tree by default."""
        size = self.size if second is None else second
        if not 0 <= size <= self.size:
            raise ValueError(f"second {size} is not within 0..{self.size}")
        return consistency_path(self, first, size)


# ---------------------------------------------------------------------------
# The RFC algorithms against any SubtreeHashes.


def tree_root(tree: SubtreeHashes, tree_size: int) -> bytes:
    """MTH(D[0:tree_size])."""
    if tree_size < 0:
        raise ValueError("tree_size must be >= 0")
    return EMPTY_ROOT if tree_size == 0 else tree.hash(0, tree_size)


def inclusion_path(tree: SubtreeHashes, leaf_index: int, tree_size: int) -> list[bytes]:
    """PATH(m, D[0:n]) of RFC 9162 §2.1.3.1, for ``0 <= m < n``; leaf-side first.

    PATH(0, {d0}) = {}. Otherwise, with k the split of n: for m < k,
    PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]); for m >= k,
    PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k]).
    """
    if not 0 <= leaf_index < tree_size:
        raise ValueError(f"leaf_index {leaf_index} is not within a tree of {tree_size}")

    def path(m: int, start: int, end: int) -> list[bytes]:
        if end - start == 1:
            return []
        k = split_point(end - start)
        if m < k:
            return [*path(m, start, start + k), tree.hash(start + k, end)]
        return [*path(m - k, start + k, end), tree.hash(start, start + k)]

    return path(leaf_index, 0, tree_size)


def consistency_path(tree: SubtreeHashes, first: int, second: int) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1, for ``0 <= m <= n``.

    PROOF(m, D[n]) = SUBPROOF(m, D[n], true), with SUBPROOF(m, D[m], true) = {},
    SUBPROOF(m, D[m], false) = {MTH(D[m])}, and for m < n, k the split of n:
    m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]);
    m > k:  SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
    The proof is empty when m == n, and (as every tree extends the empty one) when m == 0.
    """
    if not 0 <= first <= second:
        raise ValueError(f"need 0 <= first <= second, got {first} and {second}")
    if first == 0:
        return []

    def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        if m == end - start:
            return [] if whole else [tree.hash(start, end)]
        k = split_point(end - start)
        if m <= k:
            return [*subproof(m, start, start + k, whole), tree.hash(start + k, end)]
        return [*subproof(m - k, start + k, end, False), tree.hash(start, start + k)]

    return subproof(first, 0, second, True)


def _tree_of(leaves: Sequence[bytes] | SubtreeHashes) -> SubtreeHashes:
    if isinstance(leaves, Sequence):
        return InMemoryTree(leaves)
    return leaves


def _size_of(leaves: Sequence[bytes] | SubtreeHashes, tree_size: int | None) -> int:
    if tree_size is not None:
        if isinstance(leaves, Sequence) and not 0 <= tree_size <= len(leaves):
            raise ValueError(f"tree_size {tree_size} is not within 0..{len(leaves)}")
        return tree_size
    if isinstance(leaves, Sequence):
        return len(leaves)
    raise TypeError("tree_size is required when leaves is a SubtreeHashes")


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes; ``EMPTY_ROOT`` for the empty list."""
    return tree_root(InMemoryTree(leaf_hashes), len(leaf_hashes))


def inclusion_proof(
    leaf_index: int, leaves: Sequence[bytes] | SubtreeHashes, tree_size: int | None = None
) -> list[bytes]:
    """PATH(leaf_index, D[0:tree_size]) over leaf hashes or a ``SubtreeHashes``.

    ``tree_size`` defaults to ``len(leaves)`` for a list and is required otherwise.
    """
    return inclusion_path(_tree_of(leaves), leaf_index, _size_of(leaves, tree_size))


def consistency_proof(
    first: int, second: int, leaves: Sequence[bytes] | SubtreeHashes
) -> list[bytes]:
    """PROOF(first, D[0:second]) over leaf hashes or a ``SubtreeHashes``."""
    return consistency_path(_tree_of(leaves), first, _size_of(leaves, second))


# ---------------------------------------------------------------------------
# Verification: RFC 9162 §2.1.3.2 and §2.1.4.2.


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def _shift_until_odd_or_zero(fn: int, sn: int) -> tuple[int, int]:
    # "right-shift both fn and sn equally until either LSB(fn) is set or fn is 0"
    while fn & 1 == 0 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def root_from_inclusion_proof(
    leaf_index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes | None:
    """The root that ``proof`` leads to from ``leaf_hash``, or ``None`` if it cannot be one.

    Steps 1 to 4 of RFC 9162 §2.1.3.2, plus its check that ``sn`` ends at 0.
    """
    if not 0 <= leaf_index < tree_size or not _well_formed(leaf_hash, *proof):
        return None
    fn, sn = leaf_index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if fn & 1 == 0:
                fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf ``leaf_hash`` at ``leaf_index`` in the tree
    of ``tree_size`` leaves with root ``root`` (RFC 9162 §2.1.3.2)."""
    if not _well_formed(root):
        return False
    computed = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash, proof)
    return computed is not None and computed == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows that the tree of ``second`` leaves with root
    ``second_root`` extends the tree of ``first`` leaves with root ``first_root``
    (RFC 9162 §2.1.4.2).

    Beyond the RFC's ``0 < first < second``: equal sizes need an empty proof and
    equal roots; ``first == 0`` needs an empty proof and ``first_root == EMPTY_ROOT``.
    """
    if not 0 <= first <= second or not _well_formed(first_root, second_root, *proof):
        return False
    if first == 0:
        return not proof and first_root == EMPTY_ROOT and (second > 0 or second_root == EMPTY_ROOT)
    if first == second:
        return not proof and first_root == second_root
    # 1. An empty proof fails.
    if not proof:
        return False
    # 2. If first is an exact power of 2, prepend first_hash.
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3-4. fn = first - 1, sn = second - 1; shift both while LSB(fn) is set.
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # 5. fr and sr start at the first value of the path.
    fr = sr = path[0]
    # 6. Fold in the rest.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn & 1 == 0:
                fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    # 7. Both roots must match and sn must have reached 0.
    return fr == first_root and sr == second_root and sn == 0
