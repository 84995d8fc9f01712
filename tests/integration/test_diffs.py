"""Explained diffs read from the views of both stores: effects add up, pages hold."""

from __future__ import annotations

import contextlib
import random
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from domain.diffs import Effect, Figures, effect, total
from domain.errors import InvalidTransition, MetricNotFound, ValidationFailed
from domain.event_data import rfc3339
from domain.ledger import Ledger
from domain.values import Qualifier, Reliability
from projections.log.merkle import verify_consistency
from projections.reads.audit_log import MerkleLog
from projections.reads.diffs import Change, DiffPage, EndAsked, MetricDiffs
from projections.reads.estimate_pages import BadCursor
from projections.store import Store

from .conftest import ACTOR, claim, register_sources

pytestmark = pytest.mark.integration

KILLED = "war/killed"
NOW = EndAsked()


def diffs_of(store: Store) -> MetricDiffs:
    return MetricDiffs(store.queries, MerkleLog(store.views, store.queries.read_transaction))


def moment() -> str:
    time.sleep(0.002)
    now = rfc3339(datetime.now(UTC))
    time.sleep(0.002)
    return now


def figures(best: int | None, low: int | None, high: int | None) -> Figures:
    def number(value: int | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return Figures(number(best), number(low), number(high))


def moved(best: int, low: int, high: int) -> Effect:
    return Effect(Decimal(best), Decimal(low), Decimal(high))


def every_page(
    diffs: MetricDiffs, start: EndAsked, end: EndAsked | None, limit: int
) -> list[DiffPage]:
    pages = [diffs.page(KILLED, start, end, limit)]
    while (cursor := pages[-1].next_cursor) is not None:
        pages.append(diffs.page(KILLED, None, None, limit, cursor))
    return pages


def story(store: Store) -> dict[str, int]:
    """Claims on war/killed that move it, and events elsewhere that cannot; the position
    of each step."""
    ledger, at = store.ledger, {}
    low = ledger.record_claim(claim(KILLED, 300, "outlet-a", "ministry"), ACTOR)
    at["low"] = low.position
    at["high"] = ledger.record_claim(claim(KILLED, 1000, "outlet-b", "agency"), ACTOR).position
    at["other metric"] = ledger.record_claim(claim("war/wounded", 5, "outlet-a"), ACTOR).position
    at["same again"] = ledger.record_claim(claim(KILLED, 1000, "agency"), ACTOR).position
    at["not an origin"] = ledger.rate_source("outlet-b", Reliability.E, None, None, ACTOR).position
    at["retracted"] = ledger.retract_claim(low.aggregate.id, "withdrawn", None, ACTOR).position
    at["reinstated"] = ledger.reinstate_claim(low.aggregate.id, "back", None, ACTOR).position
    at["assessed"] = ledger.assess_claim(low.aggregate.id, 5, "no basis", None, ACTOR).position
    at["agency E"] = ledger.rate_source("agency", Reliability.E, "fabricates", None, ACTOR).position
    store.runner.catch_up()
    return at


def test_the_effects_name_each_moving_event_and_add_up_to_the_change(small_world: Store) -> None:
    at = story(small_world)
    page = diffs_of(small_world).page(KILLED, EndAsked(position=0), NOW)

    assert page.estimate_from == Figures()
    assert page.estimate_to == Figures()  # the ministry improbable, the agency unreliable
    assert page.next_cursor is None
    assert [(c.position, c.reason, c.event_reason) for c in page.changes] == [
        (at["low"], "claim recorded", None),
        (at["high"], "claim recorded", None),
        (at["retracted"], "claim retracted", "withdrawn"),
        (at["reinstated"], "claim reinstated", "back"),
        (at["assessed"], "claim assessed 5 (improbable)", "no basis"),
        (at["agency E"], "source rated E", "fabricates"),
    ]
    # The relay of the agency's 1000 (superseding nothing new) moved nothing.
    assert page.unchanged_events == 1
    first, second, retracted = page.changes[:3]
    assert (first.effect, first.after) == (moved(300, 300, 300), figures(300, 300, 300))
    assert second.effect == moved(0, 0, 700)
    assert retracted.effect == moved(700, 700, 0)
    assert retracted.claim is not None and retracted.source is None
    assert page.changes[-1].source == "agency" and page.changes[-1].claim is None
    assert page.changes[-1].after == Figures()  # no estimate left: shown as nulls
    assert total(c.effect for c in page.changes) == moved(0, 0, 0)


def test_effects_add_up_between_any_two_positions(small_world: Store) -> None:
    at = story(small_world)
    diffs = diffs_of(small_world)
    positions = sorted(at.values())
    for start in positions:
        for end in (p for p in positions if p >= start):
            page = diffs.page(KILLED, EndAsked(position=start), EndAsked(position=end))
            expected = effect(page.estimate_from, page.estimate_to)
            assert total(c.effect for c in page.changes) == expected, (start, end)
            assert all(start < c.position <= end for c in page.changes)


def test_each_step_equals_the_estimate_read_afresh(small_world: Store) -> None:
    """Events of winners and of other claims, corrections that move a claim to another
    origin or make it older, ratings of new and old origins: the stepped estimate after
    each equals the one read from all the claims at its position."""
    at = story(small_world)
    ledger = small_world.ledger
    outlet = ledger.record_claim(claim(KILLED, 400, "outlet-a"), ACTOR)
    older = ledger.record_claim(claim(KILLED, 450, "outlet-a", as_of=date(2025, 1, 1)), ACTOR)
    relay = ledger.record_claim(claim(KILLED, 800, "outlet-b", "ministry"), ACTOR)
    ledger.rate_source("outlet-a", Reliability.B, None, None, ACTOR)
    ledger.correct_claim(older.aggregate.id, {"as_of": date(2025, 2, 1)}, "date", None, ACTOR)
    ledger.correct_claim(outlet.aggregate.id, {"attributed_to": ["agency"]}, "who", None, ACTOR)
    ledger.rate_source("agency", Reliability.A, "back in favour", None, ACTOR)
    ledger.correct_claim(
        older.aggregate.id, {"as_of": date(2024, 12, 1)}, "date again", None, ACTOR
    )
    ledger.assess_claim(relay.aggregate.id, 1, None, None, ACTOR)
    ledger.retract_claim(relay.aggregate.id, "gone", None, ACTOR)
    register_sources(small_world, "newcomer")
    ledger.record_claim(claim(KILLED, 50, "newcomer", qualifier=Qualifier.AT_LEAST), ACTOR)
    # An origin rated unreliable before its first claim: that claim never counts.
    liar = ledger.register_source("liar", "Liar", "outlet", None, Reliability.E, ACTOR)
    ledger.record_claim(claim(KILLED, 99999, "liar"), ACTOR)
    ledger.rate_source("newcomer", Reliability.D, None, None, ACTOR)
    small_world.runner.catch_up()
    log = MerkleLog(small_world.views, small_world.queries.read_transaction)
    stepped = MetricDiffs(small_world.queries, log)
    afresh = MetricDiffs(small_world.queries, log, stepped=False)

    last = ledger.max_position()
    starts = (0, at["high"], at["agency E"], liar.position)
    for start, end in zip(starts, (last, last - 3, last, last), strict=True):
        one = stepped.page(KILLED, EndAsked(position=start), EndAsked(position=end))
        other = afresh.page(KILLED, EndAsked(position=start), EndAsked(position=end))
        assert one.changes == other.changes
        assert one.unchanged_events == other.unchanged_events
        assert total(c.effect for c in one.changes) == effect(one.estimate_from, one.estimate_to)
    reasons = [c.reason for c in stepped.page(KILLED, EndAsked(position=0), NOW).changes]
    assert "claim corrected" in reasons and "source rated A" in reasons


def test_pages_of_one_event_give_the_same_changes_as_one_page(small_world: Store) -> None:
    story(small_world)
    diffs = diffs_of(small_world)
    whole = diffs.page(KILLED, EndAsked(position=0), NOW)
    pages = every_page(diffs, EndAsked(position=0), None, limit=1)

    assert len(pages) == 7  # one a candidate: six changes and one relay
    changes: list[Change] = [c for p in pages for c in p.changes]
    assert changes == whole.changes
    assert sum(p.unchanged_events for p in pages) == whole.unchanged_events
    # Every page answers between the first page's two ends ("now" as it was then).
    assert {(p.start, p.end) for p in pages} == {(pages[0].start, pages[0].end)}
    assert pages[0].end.root_hash == whole.end.root_hash
    assert all(p.consistency_path == whole.consistency_path for p in pages)


def test_a_cursor_stays_on_its_two_ends_while_the_log_grows(small_world: Store) -> None:
    story(small_world)
    diffs = diffs_of(small_world)
    first = diffs.page(KILLED, EndAsked(position=0), NOW, limit=2)
    small_world.ledger.record_claim(claim(KILLED, 5000, "outlet-a"), ACTOR)
    small_world.runner.catch_up()
    rest = [first]
    while (cursor := rest[-1].next_cursor) is not None:
        rest.append(diffs.page(KILLED, None, None, 2, cursor))

    assert {p.end for p in rest} == {first.end}
    assert all(c.position <= first.end.position for p in rest for c in p.changes)
    assert total(c.effect for p in rest for c in p.changes) == moved(0, 0, 0)
    later = diffs.page(KILLED, EndAsked(position=first.end.position), NOW)
    assert [c.reason for c in later.changes] == ["claim recorded"]


def test_the_ends_carry_the_merkle_log_at_their_positions(small_world: Store) -> None:
    at = story(small_world)
    diffs, log = diffs_of(small_world), MerkleLog(small_world.views)
    page = diffs.page(KILLED, EndAsked(position=at["high"]), EndAsked(position=at["assessed"]))

    with small_world.views.sql_transaction() as c:
        sizes = [
            int(c.execute("SELECT COUNT(*) FROM event_index WHERE position<=?", (p,)).fetchone()[0])
            for p in (at["high"], at["assessed"])
        ]
    assert [page.start.tree_size, page.end.tree_size] == sizes
    assert page.start.root_hash == log.root(sizes[0])[1].hex()
    assert page.end.root_hash == log.root(sizes[1])[1].hex()
    path = [bytes.fromhex(h) for h in page.consistency_path]
    roots = bytes.fromhex(page.start.root_hash), bytes.fromhex(page.end.root_hash)
    assert verify_consistency(sizes[0], sizes[1], *roots, path)


def test_a_time_end_is_the_log_as_recorded_by_then(small_world: Store) -> None:
    store = small_world
    low = store.ledger.record_claim(claim(KILLED, 300, "outlet-a", "ministry"), ACTOR)
    store.ledger.record_claim(claim(KILLED, 1000, "outlet-b", "agency"), ACTOR)
    store.runner.catch_up()
    before = moment()
    retracted = store.ledger.retract_claim(low.aggregate.id, "withdrawn", None, ACTOR)
    store.runner.catch_up()

    page = diffs_of(store).page(KILLED, EndAsked(known_at=before), NOW)
    assert page.start.known_at == before
    assert page.start.position == retracted.position - 1
    assert page.estimate_from == figures(300, 300, 1000)
    assert page.estimate_to == figures(1000, 1000, 1000)
    assert [c.reason for c in page.changes] == ["claim retracted"]
    estimate = store.queries.estimate(KILLED, known_at=before).estimate
    assert page.estimate_from == Figures.of(estimate)


def test_bad_ends_and_cursors_are_refused(small_world: Store) -> None:
    at = story(small_world)
    diffs = diffs_of(small_world)
    last = small_world.ledger.max_position()
    with pytest.raises(ValidationFailed, match="past the log"):
        diffs.page(KILLED, EndAsked(position=0), EndAsked(position=last + 1))
    with pytest.raises(ValidationFailed, match="after to"):
        diffs.page(KILLED, EndAsked(position=at["assessed"]), EndAsked(position=at["low"]))
    with pytest.raises(ValidationFailed, match="required"):
        diffs.page(KILLED, None, NOW)
    with pytest.raises(MetricNotFound):
        diffs.page("war/nothing", EndAsked(position=0), NOW)
    cursor = diffs.page(KILLED, EndAsked(position=0), NOW, limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(BadCursor):
        diffs.page("war/wounded", None, None, 1, cursor)  # another metric's cursor
    with pytest.raises(BadCursor):
        diffs.page(KILLED, EndAsked(position=1), None, 1, cursor)  # another start
    with pytest.raises(BadCursor):
        diffs.page(KILLED, None, None, 1, cursor[:-3] + "xyz")
    assert diffs.page(KILLED, EndAsked(position=0), None, 1, cursor).changes


@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_history_steps_as_it_reads_afresh(small_world: Store, seed: int) -> None:
    """Recordings, corrections (value, date, attribution), retractions, reinstatements,
    assessments and ratings in a seeded random order: every step equals the estimate
    read afresh, and the effects add up."""
    rng = random.Random(seed)
    ledger = small_world.ledger
    sources = ["outlet-a", "outlet-b", "ministry", "agency"]
    claims: list[UUID] = []
    for _ in range(60):
        action = rng.choice(["record", "record", "correct", "retract", "assess", "rate"])
        if action == "record" or not claims:
            fields = claim(
                KILLED,
                rng.choice([100, 300, 1000, 2500]),
                rng.choice(sources),
                *rng.sample(sources, rng.randint(0, 1)),
                qualifier=rng.choice([Qualifier.EXACT, Qualifier.AT_LEAST, Qualifier.AT_MOST]),
                as_of=date(2025, 1, rng.randint(1, 20)),
            )
            claims.append(ledger.record_claim(fields, ACTOR).aggregate.id)
        elif action == "rate":
            grade = rng.choice([Reliability.A, Reliability.C, Reliability.E, Reliability.F])
            ledger.rate_source(rng.choice(sources), grade, None, None, ACTOR)
        else:
            with contextlib.suppress(InvalidTransition):  # a change that changes nothing
                change_claim(ledger, rng, rng.choice(claims), action, sources)
    small_world.runner.catch_up()
    log = MerkleLog(small_world.views, small_world.queries.read_transaction)
    stepped = MetricDiffs(small_world.queries, log)
    afresh = MetricDiffs(small_world.queries, log, stepped=False)
    last = ledger.max_position()
    for start in (0, last // 3, last // 2):
        one = stepped.page(KILLED, EndAsked(position=start), EndAsked(position=last), 1000)
        other = afresh.page(KILLED, EndAsked(position=start), EndAsked(position=last), 1000)
        assert one.changes == other.changes
        assert one.unchanged_events == other.unchanged_events
        assert total(c.effect for c in one.changes) == effect(one.estimate_from, one.estimate_to)


def change_claim(
    ledger: Ledger, rng: random.Random, target: UUID, action: str, sources: list[str]
) -> None:
    state = ledger.get_claim(target)
    if action == "correct":
        changes: dict[str, object] = rng.choice(
            [
                {"value": Decimal(rng.choice([200, 700, 5000]))},
                {"as_of": date(2025, 1, rng.randint(1, 20))},
                {"attributed_to": rng.sample(sources, 1)},
            ]
        )
        ledger.correct_claim(target, changes, "fix", None, ACTOR)
    elif action == "retract":
        if state.status == "retracted":
            ledger.reinstate_claim(target, "back", None, ACTOR)
        else:
            ledger.retract_claim(target, "gone", None, ACTOR)
    else:
        ledger.assess_claim(target, rng.randint(1, 6), None, None, ACTOR)
