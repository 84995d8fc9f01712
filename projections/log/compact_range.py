"""The compact range of a Merkle log: the aligned complete subtrees its leaves split into,
the only stored nodes an append after them reads."""

from __future__ import annotations


def compact_range(size: int) -> list[tuple[int, int]]:
    """The aligned complete subtrees a log of `size` leaves splits into, largest first:
    one per bit set in `size`. The only stored nodes an append after them reads: the left
    sibling of level `l` that an append completes starts at `size` with its bits below
    `l + 1` cleared, and lies wholly before leaf `size` only when bit `l` of it is set."""
    nodes, start = [], 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            nodes.append((level, start))
            start += 1 << level
    return nodes
