"""The audit store: a large SQLite ledger built through the ledger, as a large real one would
be: 50 sources (each rated once), 1,000 metrics, then claims in batches of 1,000
(`Ledger.record_claims`) spread round-robin over the metrics, then `runner.catch_up()`
into its views file (or projected by a second process as they are recorded). It can be
kept and reused between invocations (`--audit-store DIR`, `--read-store DIR`), since a
million events take minutes to build. The audit and read benchmarks run on it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.machine import git_revision
from bench.workloads import ACTOR, METRICS, SOURCES, claim_fields, prepare
from domain.ledger import Ledger
from projections.events.feed_event import Applied
from projections.store import open_sqlite_store

Say = Callable[[str], None]
RECORD_BATCH = 1_000  # claims per record_claims transaction
PAGE = 1_000  # verify's page size; the baseline reads in the same pages
STORE_FORMAT = 1  # bump when the shape of the built store changes
ROOT = Path(__file__).resolve().parent.parent


def prelude_events() -> int:
    """Events before the first claim: sources registered and rated, metrics defined."""
    return 2 * SOURCES + METRICS


def events_path(directory: Path) -> Path:
    return directory / "ledger.db"  # the views go beside it, in ledger.views.db


def project_until(events_file: str, events: int | str) -> None:
    """In a second process while the store is being recorded: project what is stored,
    again and again, until `events` are projected."""
    store = open_sqlite_store(events_file)
    try:
        while store.runner.catch_up() < int(events):
            time.sleep(0.05)
    finally:
        store.close()


def build_store(
    directory: Path, events: int, say: Say, project_alongside: bool = False
) -> dict[str, Any]:
    """Build (or reuse, if `directory` holds one of this size and format) the store.

    With `project_alongside` (a store that is only a fixture), a second process projects
    the claims while this one records them, on the other core: the same views
    (compare_views finds them equal to a rebuild's), in about 7 s instead of 12 at
    100,000 claims; the record and catch-up times it reports are then not figures."""
    marker = directory / "bench-store.json"
    wanted = {"format": STORE_FORMAT, "events": events, "metrics": METRICS, "sources": SOURCES}
    if marker.exists():
        built: dict[str, Any] = json.loads(marker.read_text())
        if all(built.get(k) == v for k, v in wanted.items()):
            say(
                f"  audit store: reusing {directory} ({events:,} events, built {built['built_at']})"
            )
            return {**built, "reused": True}
        raise RuntimeError(f"{directory} holds a different store ({built}); use another directory")
    if events_path(directory).exists():
        raise RuntimeError(f"{events_path(directory)} exists but was not built by the benchmark")
    claims = events - prelude_events()
    if claims < 1:
        raise ValueError(f"the store needs more than {prelude_events()} events")
    directory.mkdir(parents=True, exist_ok=True)
    store = open_sqlite_store(str(events_path(directory)))
    projector: subprocess.Popen[bytes] | None = None
    try:
        begun = time.perf_counter()
        prepare(store.ledger)
        if project_alongside:  # a new interpreter: a fork would share these connections
            code = "import sys; from bench.audit_store import project_until as p; p(*sys.argv[1:])"
            projector = subprocess.Popen(
                [sys.executable, "-c", code, str(events_path(directory)), str(events)], cwd=ROOT
            )
        last_said = begun
        for start in range(0, claims, RECORD_BATCH):
            chunk = range(start, min(start + RECORD_BATCH, claims))
            store.ledger.record_claims([claim_fields(n) for n in chunk], ACTOR)
            if time.perf_counter() - last_said > 30:
                last_said = time.perf_counter()
                rate = chunk.stop / (last_said - begun)
                say(f"  audit store: recorded {chunk.stop:,}/{claims:,} claims ({rate:,.0f}/s)")
        record_s = time.perf_counter() - begun
        recorded = store.ledger.max_position()
        say(f"  audit store: recorded {recorded:,} events in {record_s:.1f} s")
        begun = last_said = time.perf_counter()
        done = 0

        def progress(n: int) -> None:
            nonlocal done, last_said
            done += n
            if time.perf_counter() - last_said > 30:
                last_said = time.perf_counter()
                rate = done / (last_said - begun)
                say(f"  audit store: projected {done:,}/{recorded:,} events ({rate:,.0f}/s)")

        if projector is None:
            reached = store.runner.catch_up(progress)
        else:
            if projector.wait() != 0:
                raise RuntimeError(f"projecting the store exited with {projector.returncode}")
            reached = store.views.position()
        catch_up_s = time.perf_counter() - begun
    finally:
        if projector is not None and projector.poll() is None:
            projector.terminate()
            projector.wait()
        store.close()
    if recorded != events or reached != events:
        raise RuntimeError(f"built {recorded} events and projected {reached}, not {events}")
    if project_alongside:
        say(f"  audit store: projected {events:,} events alongside, {catch_up_s:.1f} s after")
    else:
        say(f"  audit store: projected {events:,} events in {catch_up_s:.1f} s")
    built = {
        **wanted,
        "claims": claims,
        "projected_alongside": project_alongside,
        "record_s": record_s,
        "record_rate": claims / record_s,
        "catch_up_s": catch_up_s,
        "catch_up_rate": events / catch_up_s,
        "events_bytes": events_path(directory).stat().st_size,
        "views_bytes": events_path(directory).with_name("ledger.views.db").stat().st_size,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git": git_revision(ROOT),
    }
    marker.write_text(json.dumps(built, indent=2) + "\n")
    return {**built, "reused": False}


@contextmanager
def opened(directory: Path) -> Iterator[Any]:
    store = open_sqlite_store(str(events_path(directory)))
    try:
        yield store
    finally:
        store.close()


def feed_records(ledger: Ledger, limit: int) -> list[Applied]:
    """The first `limit` events as the audit feed shows them."""
    records: list[Applied] = []
    position = 0
    while len(records) < limit and (
        page := ledger.recorder.select_notifications(
            start=position, limit=min(PAGE, limit - len(records)), inclusive_of_start=False
        )
    ):
        records += [Applied.of(ledger.mapper.to_domain_event(n), n.id) for n in page]
        position = page[-1].id
    return records
