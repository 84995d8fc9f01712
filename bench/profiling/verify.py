"""Where `claimledger verify` spends its time: `python -m bench.profiling.verify DIR`.

DIR is an audit store kept by `python -m bench --audit-store DIR`. Runs `claimledger
verify` on it under py-spy (a sampling profiler: `pip install py-spy`, not a project
dependency), then prints the share of samples under each of verify's phases and the
functions with the most samples, inclusive and self. Nothing is timed for the figures;
sampling slows the process a little, so read shares, not seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.audit_store import events_path
from bench.profiling.py_spy import Samples, print_samples, py_spy, tally
from bench.server import claimledger_command

# Where verify's samples go, by the first of these functions on the stack. The log half
# runs in a second process from 50,000 events on: `--subprocesses` samples it too.
PHASES = (
    "log_half",
    "views_half",
    "first_difference_attached",
    "apply_stored",
    "compare_views",
    "sign",
    "verify_head",
)


def phase_of(frames: list[str]) -> list[str]:
    names = [f.split(" (", 1)[0] for f in frames]
    return [next((p for p in PHASES if p in names), "start-up and the rest")]


def profile(directory: Path, rate: int) -> Samples:
    env = dict(os.environ)
    env.update(
        CLAIMLEDGER_DATABASE_URL=f"sqlite:///{events_path(directory)}",
        CLAIMLEDGER_ADMIN_KEY="unused-by-verify",
    )
    with tempfile.TemporaryDirectory(prefix="claimledger-profile-") as tmp:
        raw = Path(tmp) / "verify.txt"
        command = [py_spy(), "record", "--format", "raw", "--rate", str(rate), "-o", str(raw)]
        command += ["--subprocesses", "--", *claimledger_command(), "verify"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"py-spy or verify failed ({done.returncode}):\n{done.stderr[-2000:]}")
        print(done.stdout.strip())
        return tally(raw.read_text().splitlines(), phase_of)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling.verify", description=__doc__)
    parser.add_argument("store", type=Path, help="a directory made by --audit-store")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    samples = profile(args.store, args.rate)
    print_samples(samples, "By phase of verify", args.top, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
