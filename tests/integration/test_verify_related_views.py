"""`verify` covers the kept derived figures and checks (§9) like every view: an edited,
deleted or invented row is named by its view and key, and a clean store has none."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from projections.store import Store
from projections.verify.verification import Divergence, compare_views
from tests.support.views import rebuild_in_memory

from .verification_support import Files, execute

pytestmark = pytest.mark.integration

SUM = "dprk-in-russia/casualties-sum"
DEPLOYED = "dprk-in-russia/deployed"


def compare_with_rebuild(store: Store) -> Divergence | None:
    rebuilt = rebuild_in_memory(store.ledger, store.views.position())
    try:
        return compare_views(store.views, rebuilt)
    finally:
        rebuilt.datastore.close()


def test_the_history_keeps_rows_for_the_seed_relations(opened: Callable[..., Store]) -> None:
    store = opened()
    assert {c.relation for c in store.queries.checks_now()} >= {SUM}
    assert store.queries.current_estimate(DEPLOYED).related.derived != ()
    assert compare_with_rebuild(store) is None


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            # The history leaves the sum not evaluable (its new part, missing, has no claim).
            f"UPDATE relation_checks SET status='consistent' WHERE relation='{SUM}' "
            "AND status = 'not_evaluable'",
            f"view relation_checks, key relation={SUM!r}: status is 'consistent'",
        ),
        (
            f"UPDATE relation_checks SET status='tension' WHERE relation='{SUM}'",
            f"view relation_checks, key relation={SUM!r}: status is 'tension'",
        ),
        (
            f"DELETE FROM related_figures WHERE metric='{DEPLOYED}'",
            f"view related_figures, key metric={DEPLOYED!r}",
        ),
        (
            "INSERT INTO related_figures VALUES ('dprk-in-russia/none', '{}')",
            "view related_figures, key metric='dprk-in-russia/none': "
            "a stored row the events do not imply",
        ),
    ],
    ids=["status made consistent", "status made tension", "row deleted", "row invented"],
)
def test_an_edited_row_is_named_by_its_view_and_key(
    files: Files, opened: Callable[..., Store], sql: str, expected: str
) -> None:
    execute(files.views, sql)  # one row changed, or the test fails here
    divergence = compare_with_rebuild(opened())
    assert divergence is not None
    assert expected in divergence.message
