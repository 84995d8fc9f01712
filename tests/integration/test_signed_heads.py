"""The server's record of every tree head it signs, and the write alarm, on each store:
kept across restarts and rebuilds; a size signed again with another root is refused."""

from __future__ import annotations

import pytest

from domain.errors import StoreDisagreesWithLog
from projections.log.signing import TreeHead
from projections.storage.signed_heads import SignedHeads, SignedRootChanged, record_signed

from .conftest import RunCli, StoreAt, register_sources

pytestmark = pytest.mark.integration


def head(size: int, root: str, at: str = "2026-01-01T00:00:00Z") -> TreeHead:
    return TreeHead(size, root, at, "c2lnbmF0dXJl", "0123456789abcdef")


def test_a_size_signed_twice_is_recorded_once_with_its_first_root_and_outlives_a_rebuild(
    store_at: StoreAt, run_cli: RunCli
) -> None:
    store = store_at.open()
    register_sources(store, "outlet-a")
    store.signed_heads.record(head(1, "aa" * 32, "2026-01-01T00:00:00Z"))
    store.signed_heads.record(head(1, "aa" * 32, "2026-01-02T00:00:00Z"))
    store.signed_heads.record(head(0, "bb" * 32))
    store.close()

    assert run_cli("rebuild").returncode == 1  # the recorded root is not this log's
    reopened = store_at.open()
    assert list(reopened.signed_heads.recorded()) == [
        (0, "bb" * 32, "2026-01-01T00:00:00Z"),
        (1, "aa" * 32, "2026-01-01T00:00:00Z"),
    ]


def test_a_size_signed_again_with_another_root_is_refused_and_raises_the_write_alarm(
    store_at: StoreAt,
) -> None:
    store = store_at.open()
    store.signed_heads.record(head(3, "aa" * 32))

    # another process, which has not signed that size yet
    other = SignedHeads(store.signed_heads.db)
    with pytest.raises(SignedRootChanged):
        other.record(head(3, "cc" * 32))
    with pytest.raises(StoreDisagreesWithLog, match="size 3 now has root"):
        record_signed(store.signed_heads, store.alarm, head(3, "cc" * 32))
    with pytest.raises(StoreDisagreesWithLog):
        register_sources(store, "outlet-a")  # every write is refused meanwhile
    store.close()

    reopened = store_at.open()
    reason = reopened.alarm.reason()
    assert reason is not None and "size 3 now has root" in reason
    assert list(reopened.signed_heads.recorded()) == [(3, "aa" * 32, "2026-01-01T00:00:00Z")]
    assert reopened.alarm.clear() is not None
    register_sources(reopened, "outlet-a")
