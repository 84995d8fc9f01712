"""Where `claimledger verify` spends its time: `python -m bench.profile_verify DIR`.

DIR is an audit store kept by `python -m bench --audit-store DIR`. Runs `claimledger
verify` on it under py-spy (a sampling profiler: `pip install py-spy`, not a project
dependency), then prints the share of samples under each of verify's phases and the
functions with the most samples, inclusive and self. Nothing is timed for the figures;
sampling slows the process a little, so read shares, not seconds.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.audit_bench import events_path
from bench.server import claimledger_command

PHASES = ("apply_stored", "compare_views", "sign", "verify_head")
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


def profile(directory: Path, rate: int) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    env = dict(os.environ)
    env.update(
        CLAIMLEDGER_DATABASE_URL=f"sqlite:///{events_path(directory)}",
        CLAIMLEDGER_ADMIN_KEY="unused-by-verify",
    )
    with tempfile.TemporaryDirectory(prefix="claimledger-profile-") as tmp:
        raw = Path(tmp) / "verify.txt"
        command = [py_spy(), "record", "--format", "raw", "--rate", str(rate), "-o", str(raw)]
        command += ["--", *claimledger_command(), "verify"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"py-spy or verify failed ({done.returncode}):\n{done.stderr[-2000:]}")
        print(done.stdout.strip())
        lines = raw.read_text().splitlines()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [short(f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
        names = [f.split(" (", 1)[0] for f in frames]
        phase = next((p for p in PHASES if p in names), "start-up and the rest")
        phases[phase] += count
    return inclusive, own, phases, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_verify", description=__doc__)
    parser.add_argument("store", type=Path, help="a directory made by --audit-store")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    inclusive, own, phases, total = profile(args.store, args.rate)
    print(f"\n{total:,} samples")
    print("\nBy phase of verify:")
    for name, count in phases.most_common():
        print(f"  {100 * count / total:5.1f} %  {name}")
    print(f"\nMost samples, inclusive (top {args.top}):")
    for name, count in inclusive.most_common(args.top):
        print(f"  {100 * count / total:5.1f} %  {name}")
    print(f"\nMost samples, self (top {args.top}):")
    for name, count in own.most_common(args.top):
        print(f"  {100 * count / total:5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
