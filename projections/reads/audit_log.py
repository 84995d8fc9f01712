"""Reads of the Merkle log kept in `merkle_nodes`: roots and RFC 9162 proofs in O(log n)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from projections.log.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    NodeStoreTree,
    consistency_path,
    inclusion_path,
)
from projections.storage.ledger_views import BaseLedgerViews
from projections.storage.sql import SqlCursor

T = TypeVar("T")


class OutOfRange(ValueError):
    """A tree size, leaf index or pair of sizes the log cannot answer for."""


@dataclass(frozen=True)
class Inclusion:
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    audit_path: list[bytes]


class MerkleLog:
    """Roots and proofs from the stored aligned subtrees. Which subtrees an answer needs
    depends only on the sizes and indexes asked for, never on the hashes, so each answer
    is worked out twice: once to list the nodes it reads, then, after one query fetched
    them all, for real. Two queries per answer (the size, the nodes), not one per level.
    """

    def __init__(
        self,
        views: BaseLedgerViews,
        read_transaction: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        """`read_transaction`: how to read the views (default their own transaction); the
        API passes its queries' own connections."""
        self.views = views
        self.read_transaction = read_transaction or views.sql_transaction

    def _answer(self, compute: Callable[[int, NodeStoreTree], T]) -> T:
        with self.read_transaction() as c:
            size = int(
                c.execute(
                    "SELECT COALESCE(MAX(start) + 1, 0) FROM merkle_nodes WHERE level=0"
                ).fetchone()[0]
            )
            wanted: list[tuple[int, int]] = []

            def listed(level: int, start: int) -> bytes:
                wanted.append((level, start))
                return bytes(HASH_SIZE)

            compute(size, NodeStoreTree(listed))
            found = fetch_nodes(c, wanted)

        def stored(level: int, start: int) -> bytes:
            node = found.get((level, start))
            if node is None:
                raise OutOfRange(f"no node at level {level}, start {start}")
            return node

        return compute(size, NodeStoreTree(stored))

    def size(self) -> int:
        return self._answer(lambda size, _: size)

    def root(self, tree_size: int | None = None) -> tuple[int, bytes]:
        """(size, root hash) at `tree_size`, default the whole log."""

        def compute(size: int, tree: NodeStoreTree) -> tuple[int, bytes]:
            wanted = size if tree_size is None else tree_size
            if not 0 <= wanted <= size:
                raise OutOfRange(f"tree_size must be between 0 and {size}")
            return wanted, tree.hash(0, wanted) if wanted else EMPTY_ROOT

        return self._answer(compute)

    def inclusion(self, leaf_index: int, tree_size: int) -> Inclusion:
        def compute(size: int, tree: NodeStoreTree) -> Inclusion:
            if not 0 < tree_size <= size:
                raise OutOfRange(f"tree_size must be between 1 and {size}")
            if not 0 <= leaf_index < tree_size:
                raise OutOfRange("leaf_index must be below tree_size")
            leaf = tree.hash(leaf_index, leaf_index + 1)
            return Inclusion(
                leaf_index, tree_size, leaf, inclusion_path(tree, leaf_index, tree_size)
            )

        return self._answer(compute)

    def consistency(self, first: int, second: int) -> list[bytes]:
        def compute(size: int, tree: NodeStoreTree) -> list[bytes]:
            if not 0 <= first <= second <= size:
                raise OutOfRange(f"need 0 <= first <= second <= {size}")
            return consistency_path(tree, first, second)

        return self._answer(compute)


def fetch_nodes(c: SqlCursor, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of these (level, start) nodes, in one query."""
    unique = sorted(set(keys))
    if not unique:
        return {}
    where = " OR ".join("(level=? AND start=?)" for _ in unique)
    rows = c.execute(
        f"SELECT level, start, hash FROM merkle_nodes WHERE {where}",
        [value for key in unique for value in key],
    ).fetchall()
    return {(int(level), int(start)): bytes(hash_) for level, start, hash_ in rows}
