"""Group commit: gathered saves stay atomic per command; conflicts fail alone."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from domain.claims import ClaimFields
from domain.errors import AlreadyExists, VersionMismatch
from domain.ledger import Ledger
from domain.sources import Source
from domain.values import Qualifier
from projections.storage.group_commit import GroupCommitter

pytestmark = pytest.mark.unit


def source(slug: str) -> Source:
    return Source(slug=slug, name=slug, kind="outlet", url=None, actor="t", reason=None)


class GatedSaves:
    """The ledger's own save, held shut until the test has queued what it wants gathered."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls: list[int] = []

    def __call__(self, *events: Any) -> Any:
        self.entered.set()
        self.gate.wait(5)
        self.calls.append(len(events))
        return self.ledger.save(*events)


def submit_in_threads(committer: GroupCommitter, batches: list[list[Any]]) -> list[Any]:
    results: list[Any] = [None] * len(batches)

    def run(i: int) -> None:
        try:
            results[i] = committer.submit(batches[i])
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    return [threads, results]  # the results fill in as the threads finish


def test_queued_commands_are_saved_together_and_each_learns_its_own_position() -> None:
    # given a writer held busy while five more commands queue up
    ledger = Ledger(committer=GroupCommitter)
    saves = GatedSaves(ledger)
    committer = GroupCommitter(saves)
    batches = [source(f"s{i}").collect_events() for i in range(6)]
    threads, results = submit_in_threads(committer, batches[:1])
    assert saves.entered.wait(5)  # the writer is busy saving the first one
    more_threads, more = submit_in_threads(committer, batches[1:])
    # when
    saves.gate.set()
    for thread in threads + more_threads:
        thread.join(5)
    # then the five queued ones shared one transaction
    assert saves.calls == [1, 5]
    positions = results + more
    assert sorted(positions) == [1, 2, 3, 4, 5, 6]
    committer.close()


def test_a_duplicate_in_a_gathered_batch_fails_alone() -> None:
    # given
    ledger = Ledger(committer=GroupCommitter)
    saves = GatedSaves(ledger)
    committer = GroupCommitter(saves)
    threads, first = submit_in_threads(committer, [source("first").collect_events()])
    assert saves.entered.wait(5)
    batches = [source("a").collect_events(), source("a").collect_events()]
    batches.append(source("b").collect_events())
    more_threads, results = submit_in_threads(committer, batches)
    # when
    saves.gate.set()
    for thread in threads + more_threads:
        thread.join(5)
    # then the gathered save failed, the three were retried one by one,
    # exactly one of the two "a" registrations failed, and "b" was saved
    assert saves.calls == [1, 3, 1, 1, 1]
    assert first == [1]
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1
    assert ledger.get_source("a").slug == "a"
    assert ledger.get_source("b").slug == "b"
    committer.close()


def test_concurrent_retractions_of_one_claim_let_exactly_one_through() -> None:
    # given
    ledger = Ledger(committer=GroupCommitter)
    ledger.register_source("sk", "SK", "government", None, None, "t")
    ledger.define_metric("m", "M", "people", None, "t")
    claim = ledger.record_claim(
        ClaimFields("m", Decimal(300), Qualifier.EXACT, "sk", date(2025, 1, 15)), "t"
    ).aggregate

    # when eight editors retract it at once, all having read version 1
    def retract(i: int) -> str:
        try:
            ledger.retract_claim(claim.id, f"reason {i}", 1, f"editor-{i}")
        except VersionMismatch:
            return "412"
        return "ok"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(retract, range(8)))
    # then
    assert outcomes.count("ok") == 1
    assert outcomes.count("412") == 7
    assert ledger.get_claim(claim.id).version == 2


def test_many_concurrent_claims_are_all_saved_with_distinct_positions() -> None:
    ledger = Ledger(committer=GroupCommitter)
    ledger.register_source("sk", "SK", "government", None, None, "t")
    ledger.define_metric("m", "M", "people", None, "t")
    fields = ClaimFields("m", Decimal(1), Qualifier.EXACT, "sk", date(2025, 1, 15))
    with ThreadPoolExecutor(16) as pool:
        saved = list(pool.map(lambda _: ledger.record_claim(fields, "t"), range(200)))
    positions = [s.position for s in saved]
    assert len(set(positions)) == 200
    assert ledger.max_position() == 202
    for s in saved[:20]:
        assert ledger.get_claim(s.aggregate.id).value == Decimal(1)


def test_registering_a_taken_slug_is_refused_after_group_commit() -> None:
    ledger = Ledger(committer=GroupCommitter)
    ledger.register_source("sk", "SK", "government", None, None, "t")
    with pytest.raises(AlreadyExists):
        ledger.register_source("sk", "SK", "government", None, None, "t")


def test_a_closed_ledger_refuses_writes() -> None:
    ledger = Ledger(committer=GroupCommitter)
    ledger.close()
    with pytest.raises(RuntimeError):
        ledger.register_source("sk", "SK", "government", None, None, "t")


def test_the_direct_write_path_saves_each_command_in_its_own_thread_and_transaction() -> None:
    # given the naive baseline's write path
    ledger = Ledger(committer=GroupCommitter)
    ledger.set_write_path("direct")
    ledger.register_source("sk", "SK", "government", None, None, "t")
    ledger.define_metric("m", "M", "people", None, "t")
    fields = ClaimFields("m", Decimal(1), Qualifier.EXACT, "sk", date(2025, 1, 15))
    saving_threads: list[str] = []
    library_save = ledger.save

    def save(*events: Any) -> Any:
        saving_threads.append(threading.current_thread().name)
        return library_save(*events)

    ledger.save = save  # type: ignore[method-assign]
    # when sixteen threads record claims at once
    with ThreadPoolExecutor(16, thread_name_prefix="request") as pool:
        saved = list(pool.map(lambda _: ledger.record_claim(fields, "t"), range(100)))
    # then each was saved alone, by its own thread, and still learns its own position
    assert ledger.write_path == "direct"
    assert len(saving_threads) == 100
    assert all(name.startswith("request") for name in saving_threads)
    assert sorted(s.position for s in saved) == list(range(3, 103))
    with pytest.raises(AlreadyExists):
        ledger.register_source("sk", "SK", "government", None, None, "t")
    ledger.close()


def test_the_write_path_can_be_switched_back_to_group_commit() -> None:
    ledger = Ledger(committer=GroupCommitter)
    ledger.set_write_path("direct")
    ledger.set_write_path("group")
    assert ledger.write_path == "group"
    assert ledger.register_source("sk", "SK", "government", None, None, "t").position == 1
    with pytest.raises(ValueError, match="unknown write path"):
        ledger.set_write_path("sideways")  # type: ignore[arg-type]
    ledger.close()


def test_commands_awaited_from_an_event_loop_are_handed_over_together_and_stay_atomic() -> None:
    # given a writer held busy, and an event loop with five commands, one a duplicate
    ledger = Ledger(committer=GroupCommitter)
    saves = GatedSaves(ledger)
    committer = GroupCommitter(saves)
    threads, _ = submit_in_threads(committer, [source("first").collect_events()])
    assert saves.entered.wait(5)
    batches = [source(slug).collect_events() for slug in ("a", "b", "a", "c", "d")]

    async def submit_all() -> list[Any]:
        tasks = [asyncio.ensure_future(committer.submit_async(b)) for b in batches]
        await asyncio.sleep(0.05)  # they are all handed over in the loop's first turn
        saves.gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    # when
    results = asyncio.run(submit_all())
    for thread in threads:
        thread.join(5)
    # then they were saved in one transaction, tried one by one after the conflict,
    # and only the duplicate failed
    assert saves.calls == [1, 5, 1, 1, 1, 1, 1]
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1
    assert isinstance(failures[0], IntegrityError)
    assert sorted(r for r in results if isinstance(r, int)) == [2, 3, 4, 5]
    committer.close()


def test_a_claim_recorded_from_an_event_loop_is_saved_and_answers_its_position() -> None:
    ledger = Ledger(committer=GroupCommitter)
    ledger.register_source("sk", "SK", "government", None, None, "t")
    ledger.define_metric("m", "M", "people", None, "t")
    fields = ClaimFields("m", Decimal(1), Qualifier.EXACT, "sk", date(2025, 1, 15))

    async def record_many() -> list[Any]:
        first = await ledger.record_claim_async(fields, "t")  # reads the metric: in a thread
        rest = await asyncio.gather(*(ledger.record_claim_async(fields, "t") for _ in range(20)))
        return [first, *rest]

    saved = asyncio.run(record_many())
    assert sorted(s.position for s in saved) == list(range(3, 24))
    assert all(ledger.get_claim(s.aggregate.id).version == 1 for s in saved)
    ledger.close()
