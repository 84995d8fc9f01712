"""Which process is running a request, and whether it still runs, as far as one can tell.

A process is named by the machine's boot, its PID namespace, its PID and the moment it
started (Linux `/proc`): a PID alone may be given to another process after a restart,
but not with the same start time within one boot. Another process can tell that the one
named has ended only from the same boot and PID namespace; from anywhere else (another
host or container, a system without `/proc`) it cannot tell, and says so.
"""

from __future__ import annotations

import os
from functools import cache

PROC = "/proc"
# A process that runs but whose start time cannot be read.
RUNS_UNSEEN = "?"


@cache
def _machine() -> str | None:
    """This boot of this machine, and the PID namespace: where a PID means one process."""
    try:
        with open(f"{PROC}/sys/kernel/random/boot_id") as boot:
            boot_id = boot.read().strip()
        namespace = os.readlink(f"{PROC}/self/ns/pid")
    except OSError:
        return None
    return f"{boot_id}/{namespace}"


def _started(pid: int) -> str | None:
    """When the process `pid` started (clock ticks after boot); None if it does not run
    (a zombie has ended: only its exit status is left)."""
    try:
        with open(f"{PROC}/{pid}/stat") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return None if _no_such_process(pid) else RUNS_UNSEEN
    # The second field (the command name) may hold spaces and parentheses.
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]  # field 22 of stat(5): starttime


def _no_such_process(pid: int) -> bool:
    # /proc may hide other users' processes (hidepid); a signal 0 still tells.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def this_process() -> str | None:
    """This process's name, or None where processes cannot be told apart."""
    machine = _machine()
    if machine is None:
        return None
    pid = os.getpid()
    try:
        started = _started(pid)
    except OSError:
        return None
    if started is None or started == RUNS_UNSEEN:
        return None
    return f"{machine}/{pid}/{started}"


def has_ended(owner: str | None) -> bool:
    """True only when `owner` (from `this_process`) surely no longer runs: it was named
    on this machine's boot and PID namespace, and its PID is free or is another process.
    Whenever that cannot be known, False: the caller waits as it would have anyway."""
    machine = _machine()
    if owner is None or machine is None or not owner.startswith(machine + "/"):
        return False
    pid_text, _, started = owner[len(machine) + 1 :].partition("/")
    if not pid_text.isdigit() or not started:
        return False
    try:
        now = _started(int(pid_text))
    except OSError:  # e.g. hidden by the mount options of /proc: cannot tell
        return False
    return now != started and now != RUNS_UNSEEN
