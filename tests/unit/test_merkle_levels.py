"""A Merkle log made a batch at a time, level by level (`projections.log.merkle_levels`),
stores the nodes and has the roots of the one appended leaf by leaf (`merkle.InMemoryTree`,
itself held to the RFC's vectors)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.log.merkle import EMPTY_ROOT, InMemoryTree, leaf_hash
from projections.log.merkle_levels import MerkleLevels, Node

pytestmark = pytest.mark.unit

LEAVES = [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(70)]


def by_level(nodes: list[Node]) -> list[Node]:
    """Nodes in the order a check reads the stored log: level by level, by start."""
    return sorted(nodes)


@given(st.lists(st.integers(0, 20), max_size=8))
def test_batches_make_the_nodes_and_roots_of_appending_leaf_by_leaf(sizes: list[int]) -> None:
    one_by_one, levels = InMemoryTree(), MerkleLevels()
    appended: list[Node] = []
    made: list[Node] = []
    start = 0
    for size in sizes:
        batch = LEAVES[start : start + size]
        start += len(batch)
        for leaf in batch:
            appended += [(n.level, n.start, n.hash) for n in one_by_one.append(leaf)]
        new = levels.append(batch)

        assert [node for level in new for node in level] == by_level(
            [n for n in appended if n not in made]
        )
        for level, nodes in enumerate(new):
            assert [(n[0], n[1]) for n in nodes] == sorted((n[0], n[1]) for n in nodes)
            assert all(n[0] == level for n in nodes)
        made += [node for level in new for node in level]
        assert levels.size == one_by_one.size
        assert levels.root() == one_by_one.root()


def test_an_empty_log_has_the_empty_root() -> None:
    levels = MerkleLevels()

    assert levels.append([]) == []
    assert levels.size == 0
    assert levels.root() == EMPTY_ROOT
