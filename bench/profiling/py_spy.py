"""py-spy's raw output (`--format raw`: one `frame;frame;… count` line per stack) summed
up for the profiling scripts: the share of samples under each function, inclusive and
self, and under each part the caller names."""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def short(frame: str) -> str:
    """`name (path:line)` as `name (file)`, with the path cut to the repository or library."""
    match = FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for marker in ("/site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['name']} ({path})"


@dataclass
class Samples:
    total: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)
    own: Counter[str] = field(default_factory=Counter)
    parts: Counter[str] = field(default_factory=Counter)


def tally(lines: Iterable[str], parts_of: Callable[[list[str]], Iterable[str]]) -> Samples:
    """Sum the stacks; `parts_of` names the parts a stack (its short frames) counts in."""
    samples = Samples()
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        samples.total += count
        frames = [short(f) for f in stack.split(";")]
        for name in set(frames):
            samples.inclusive[name] += count
        samples.own[frames[-1]] += count
        for part in parts_of(frames):
            samples.parts[part] += count
    return samples


def print_samples(samples: Samples, heading: str, top: int, order: list[str] | None) -> None:
    """The parts (in `order`, else most sampled first), then the top functions."""
    total = max(samples.total, 1)
    print(f"\n{samples.total:,} samples")
    print(f"\n{heading}:")
    parts = order if order is not None else [name for name, _ in samples.parts.most_common()]
    for name in parts:
        print(f"  {100 * samples.parts[name] / total:5.1f} %  {name}")
    for kind, counter in (("inclusive", samples.inclusive), ("self", samples.own)):
        print(f"\nMost samples, {kind} (top {top}):")
        for name, count in counter.most_common(top):
            print(f"  {100 * count / total:5.1f} %  {name}")
