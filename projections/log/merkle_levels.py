"""The Merkle log's aligned complete subtrees (`projections.log.merkle`) made a batch of leaves
at a time, level by level, for `verify`'s log half.

The writer appends one leaf at a time (`merkle.aligned_nodes_to_store`: the nodes that
leaf completes, reading their left siblings back). A check of a whole log can make each
level at once instead: the nodes of level `l + 1` are the hashes of consecutive pairs of
level `l`, the `j`-th starting at leaf `j * 2**(l + 1)`. So a batch's new nodes come out
already level by level, in start order, which is how the stored log is compared, and
with one call per node hash rather than a walk per leaf. A unit test holds the nodes and
roots equal to `merkle.InMemoryTree`'s for every size and every split into batches.
"""

from __future__ import annotations

from collections.abc import Sequence

from projections.log.merkle import NodeStoreTree, node_hash, tree_root

# A stored node: level, start (its first leaf), hash.
Node = tuple[int, int, bytes]


class MerkleLevels:
    """An append-only Merkle log that keeps only its compact range: the last node of each
    level,
    and a node still waiting for its right sibling."""

    def __init__(self) -> None:
        self.made: list[int] = []  # nodes made so far, per level
        self.last: list[bytes] = []  # the last node made, per level
        self.waiting: list[bytes | None] = []  # a left child without its sibling, per level

    @property
    def size(self) -> int:
        """How many leaves the log has."""
        return self.made[0] if self.made else 0

    def append(self, leaves: Sequence[bytes]) -> list[list[Node]]:
        """Append leaf hashes; returns the nodes they complete, level by level (the
        leaves themselves first), each level in start order."""
        completed: list[list[Node]] = []
        level, hashes = 0, list(leaves)
        while hashes:
            if level == len(self.made):
                self.made.append(0)
                self.last.append(b"")
                self.waiting.append(None)
            first = self.made[level]
            completed.append([(level, (first + i) << level, h) for i, h in enumerate(hashes)])
            self.made[level] += len(hashes)
            self.last[level] = hashes[-1]
            hashes = self.parents(level, hashes)
            level += 1
        return completed

    def parents(self, level: int, hashes: list[bytes]) -> list[bytes]:
        """The nodes one level up that `hashes` (new nodes of `level`) complete."""
        waiting = self.waiting[level]
        if waiting is not None:
            hashes.insert(0, waiting)
        self.waiting[level] = hashes.pop() if len(hashes) % 2 else None
        pairs = zip(hashes[::2], hashes[1::2], strict=True)
        return [node_hash(left, right) for left, right in pairs]

    def root(self) -> bytes:
        """The root of the log: from the last node of each level, exactly the subtrees
        a root reads (`merkle.hash_from_nodes`)."""

        def node(level: int, start: int) -> bytes:
            if level >= len(self.made) or start != (self.made[level] - 1) << level:
                raise LookupError(f"node ({level}, {start}) is not in the log's compact range")
            return self.last[level]

        return tree_root(NodeStoreTree(node), self.size)
