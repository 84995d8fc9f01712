"""Reads of the Merkle log kept in `merkle_nodes`: roots and RFC 9162 proofs in O(log n)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from projections.ledger_views import BaseLedgerViews
from projections.merkle import EMPTY_ROOT, NodeStoreTree, consistency_path, inclusion_path


class OutOfRange(ValueError):
    """A tree size, leaf index or pair of sizes the log cannot answer for."""


@dataclass(frozen=True)
class Inclusion:
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    audit_path: list[bytes]


class MerkleLog:
    def __init__(self, views: BaseLedgerViews) -> None:
        self.views = views

    @contextmanager
    def _tree(self) -> Iterator[tuple[int, NodeStoreTree]]:
        with self.views.sql_transaction() as c:

            def stored(level: int, start: int) -> bytes:
                row = c.execute(
                    "SELECT hash FROM merkle_nodes WHERE level=? AND start=?", (level, start)
                ).fetchone()
                if row is None:
                    raise OutOfRange(f"no node at level {level}, start {start}")
                return bytes(row[0])

            size = c.execute(
                "SELECT COALESCE(MAX(start) + 1, 0) FROM merkle_nodes WHERE level=0"
            ).fetchone()[0]
            yield int(size), NodeStoreTree(stored)

    def size(self) -> int:
        with self._tree() as (size, _):
            return size

    def root(self, tree_size: int | None = None) -> tuple[int, bytes]:
        """(size, root hash) at `tree_size`, default the whole log."""
        with self._tree() as (size, tree):
            wanted = size if tree_size is None else tree_size
            if not 0 <= wanted <= size:
                raise OutOfRange(f"tree_size must be between 0 and {size}")
            return wanted, tree.hash(0, wanted) if wanted else EMPTY_ROOT

    def inclusion(self, leaf_index: int, tree_size: int) -> Inclusion:
        with self._tree() as (size, tree):
            if not 0 < tree_size <= size:
                raise OutOfRange(f"tree_size must be between 1 and {size}")
            if not 0 <= leaf_index < tree_size:
                raise OutOfRange("leaf_index must be below tree_size")
            leaf = tree.hash(leaf_index, leaf_index + 1)
            return Inclusion(
                leaf_index, tree_size, leaf, inclusion_path(tree, leaf_index, tree_size)
            )

    def consistency(self, first: int, second: int) -> list[bytes]:
        with self._tree() as (size, tree):
            if not 0 <= first <= second <= size:
                raise OutOfRange(f"need 0 <= first <= second <= {size}")
            return consistency_path(tree, first, second)
