"""The stored nodes a Merkle log's appends read back (`compact_range`): after a log of
any size, every left sibling an append needs from before it is in that compact range, so the
catch-up's preparing process appends with no connection to the views."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.log.compact_range import compact_range
from projections.log.merkle import InMemoryTree, aligned_nodes_to_store, leaf_hash

pytestmark = pytest.mark.unit


def leaf(i: int) -> bytes:
    return leaf_hash(hashlib.sha256(str(i).encode()).digest())


@given(st.integers(0, 5000), st.integers(1, 600))
def test_appends_after_a_log_of_any_size_read_only_its_compact_range(size: int, more: int) -> None:
    stored: dict[tuple[int, int], bytes] = {}
    tree = InMemoryTree()
    for i in range(size):
        for node in tree.append(leaf(i)):
            stored[(node.level, node.start)] = node.hash
    nodes = set(compact_range(size))
    assert nodes <= set(stored)

    read: set[tuple[int, int]] = set()

    def get(level: int, start: int) -> bytes:
        if start + (1 << level) <= size:  # made before: what a new process must be given
            read.add((level, start))
        return stored[(level, start)]

    for i in range(size, size + more):
        for node in aligned_nodes_to_store(i, leaf(i), get):
            stored[(node.level, node.start)] = node.hash
    assert read <= nodes


@pytest.mark.parametrize(
    ("size", "nodes"),
    [
        (0, []),
        (1, [(0, 0)]),
        (6, [(2, 0), (1, 4)]),
        (7, [(2, 0), (1, 4), (0, 6)]),
        (8, [(3, 0)]),
    ],
)
def test_the_compact_range_is_the_log_split_into_aligned_complete_subtrees(
    size: int, nodes: list[tuple[int, int]]
) -> None:
    assert compact_range(size) == nodes
