"""A started runner follows the ledger live, including writes made by other ledgers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from projections.runner import batched_runner as runner_module
from projections.store import Store
from tests.support.views import dump_views

from .conftest import ACTOR, StoreAt, claim

pytestmark = pytest.mark.integration


@pytest.fixture
def following(small_world: Store) -> Store:
    small_world.runner.start()
    assert small_world.runner.running
    return small_world


def test_a_write_is_visible_once_the_runner_has_waited_for_its_position(
    following: Store,
) -> None:
    saved = following.ledger.record_claim(claim("war/killed", 42, "outlet-a"), ACTOR)
    assert following.runner.wait(saved.position, timeout=5)
    assert following.views.position() >= saved.position
    assert following.queries.claim(str(saved.aggregate.id))["value"] == "42"
    assert following.queries.metric("war/killed")["estimate"]["best"] == "42"


def test_a_write_a_subscription_missed_is_still_followed(
    small_world: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when a LISTEN starts just after a commit: the subscription never brings it."""
    monkeypatch.setattr(runner_module, "next_batch", lambda subscription, timeout: [])
    small_world.runner.start()
    saved = small_world.ledger.record_claim(claim("war/killed", 43, "outlet-a"), ACTOR)
    assert small_world.runner.wait(saved.position, timeout=5)
    assert small_world.queries.claim(str(saved.aggregate.id))["value"] == "43"


def test_many_writes_in_a_row_are_all_followed(following: Store) -> None:
    last = 0
    for n in range(30):
        last = following.ledger.record_claim(claim("war/wounded", n, "outlet-b"), ACTOR).position
    assert following.runner.wait(last, timeout=10)
    assert dump_views(following.views)["event_index"][-1][0] == last
    assert following.runner.error is None


def test_a_write_from_another_ledger_on_the_same_store_is_picked_up(
    following: Store, store_at: StoreAt
) -> None:
    other = store_at.ledger()
    try:
        saved = other.register_source("elsewhere", "Elsewhere", "outlet", None, None, ACTOR)
    finally:
        other.close()
    assert following.runner.wait(saved.position, timeout=5)
    assert following.queries.source("elsewhere")["name"] == "Elsewhere"


def test_a_write_from_another_process_is_picked_up(following: Store, store_at: StoreAt) -> None:
    script = textwrap.dedent(
        """
        import json
        import sys
        from domain.ledger import Ledger
        from projections.storage.group_commit import GroupCommitter

        ledger = Ledger(env=json.loads(sys.argv[1]), committer=GroupCommitter)
        saved = ledger.define_metric("war/captured", "Captured", "people", None, "child")
        print(saved.position)
        ledger.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(store_at.ledger_env())],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    position = int(done.stdout.strip())
    assert following.runner.wait(position, timeout=5)
    assert following.queries.metric("war/captured")["unit"] == "people"


def test_waiting_for_a_position_never_written_times_out(following: Store) -> None:
    assert not following.runner.wait(following.ledger.max_position() + 5, timeout=0.3)


def test_a_reader_whose_runner_is_not_running_sees_positions_applied_by_another(
    following: Store, store_at: StoreAt
) -> None:
    reader = store_at.open()  # another API process, not projecting
    try:
        assert not reader.runner.running
        saved = following.ledger.record_claim(claim("war/killed", 7, "outlet-a"), ACTOR)
        assert reader.runner.wait(saved.position, timeout=5)
        assert reader.queries.claim(str(saved.aggregate.id))["value"] == "7"
    finally:
        reader.close()


def test_a_stopped_runner_applies_nothing_until_it_catches_up(following: Store) -> None:
    following.runner.stop()
    assert not following.runner.running
    before = following.views.position()
    saved = following.ledger.record_claim(claim("war/killed", 8, "outlet-a"), ACTOR)
    time.sleep(0.3)  # three poll intervals
    assert following.views.position() == before
    assert following.runner.catch_up() == saved.position
