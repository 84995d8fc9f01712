"""`python -m projections.verify.log_half_process EVENTS_FILE VIEWS_FILE UNTIL`: the log half of
`verify`'s fast path (`projections.verify.log_half`) in a process of its own, beside the views
half in the process that started it. Prints its answer as JSON: `[leaves, root_hex]`, or
`null` when the stored feed and Merkle log are not shown equal to the events."""

from __future__ import annotations

import json
import sys

from projections.verify.log_half import log_half_of_files


def main(argv: list[str]) -> int:
    events_file, stored_file, until = argv
    print(json.dumps(log_half_of_files(events_file, stored_file, int(until))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
