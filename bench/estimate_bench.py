"""`python -m bench.estimate_bench [EVENTS] [RUNS]`: the incremental estimate's cost per
event, in this process, fed the way `EstimateKeeper.refresh` feeds it: each claim event's
new state (and its previous state, for a change) through `as_known`, then
`IncrementalEstimate.put` and `point`, without SQL or JSON.

Two streams over 1,000 metrics and 50 sources:
- "claims": new claims only, in `bench.workloads`' layout (`claim_fields`), which is
  what its 1,000,000-event replay applies: each metric's claims come from one origin.
- "mixed": each metric's claims from all 50 origins in turn, and every 20 events three
  changes (a correction, a retraction or reinstatement, an assessment), every 1,000 a
  source re-rated (its metrics' estimates re-rated and their points asked for).

Against a floor measured in the same runs: the same loop with an estimate and an
`as_known` that do nothing. Prints medians of the runs, in µs per event.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from bench.workloads import METRICS, SOURCES, claim_fields
from domain.estimates import ClaimAsKnown
from domain.incremental import IncrementalEstimate
from domain.values import Reliability, decimal_text
from projections.writer.claim_state import ClaimState, as_known

# ("new", state, position) | ("change", state, position, previous) | ("rate", origin, grade)
Event = tuple[Any, ...]
AsKnown = Callable[[ClaimState, int], Any]
GRADES = [r for r in Reliability if r is not Reliability.F]


def state_of(n: int, origin: str | None = None) -> ClaimState:
    """The n-th claim of `claim_fields` as the view writer stores it."""
    fields = claim_fields(n)
    high = fields.value_high
    published = fields.published_at
    return {
        "id": f"claim-{n}",
        "metric": fields.metric,
        "value": decimal_text(fields.value),
        "qualifier": fields.qualifier.value,
        "value_high": None if high is None else decimal_text(high),
        "as_of": fields.as_of.isoformat(),
        "reported_by": fields.reported_by,
        "attributed_to": [origin or fields.origin],
        "published_at": None if published is None else published.isoformat(),
        "status": "active",
        "credibility": 6,
        "origin": origin or fields.origin,
    }


def claims_stream(events: int) -> list[Event]:
    return [("new", state_of(n), n + 1) for n in range(events)]


def mixed_stream(events: int) -> list[Event]:
    out: list[Event] = []
    current: dict[str, tuple[ClaimState, int]] = {}
    n = 0
    for i in range(events):
        if i % 1000 == 999:
            out.append(("rate", f"source-{i % SOURCES:02d}", GRADES[(i // 1000) % len(GRADES)]))
        elif i % 20 in (5, 11, 17) and n > 2000:
            out.append(changed(i, current, f"claim-{(n * 31) % (n - 1000) + 500}"))
        else:
            origin = f"source-{(n + n // METRICS) % SOURCES:02d}"
            state = state_of(n, origin)
            current[state["id"]] = (state, i + 1)
            out.append(("new", state, i + 1))
            n += 1
    return out


def changed(i: int, current: dict[str, tuple[ClaimState, int]], claim: str) -> Event:
    """A correction, retraction (or reinstatement) or assessment of `claim`."""
    previous, position = current[claim]
    state = dict(previous)
    if i % 20 == 5:
        state["value"] = decimal_text(Decimal(previous["value"]) + 1)
        if i % 40 == 5:
            state["as_of"] = date(2025, 1 + i % 12, 1 + i % 27).isoformat()
    elif i % 20 == 11:
        state["status"] = "retracted" if previous["status"] == "active" else "active"
    else:
        state["credibility"] = 1 + (i // 20) % 6
    current[claim] = (state, position)
    return ("change", state, position, previous)


class Nothing:
    """The floor: an estimate that does nothing."""

    def __init__(self, *_: Any) -> None:
        pass

    def put(self, claim: Any, previous: Any = None) -> None:
        pass

    def rate(self, origin: str, reliability: Reliability) -> None:
        pass

    def point(self) -> None:
        return None


def nothing_known(state: ClaimState, position: int) -> None:
    return None


class Views:
    """Each metric's claims by origin, as the claims view holds them with the batch."""

    def __init__(self, known: AsKnown) -> None:
        self.known = known
        self.states: dict[tuple[str, str], dict[str, tuple[ClaimState, int]]] = {}

    def put(self, state: ClaimState, position: int, previous: ClaimState | None) -> None:
        if previous is not None:
            self.states[previous["metric"], previous["origin"]].pop(previous["id"])
        self.states.setdefault((state["metric"], state["origin"]), {})[state["id"]] = (
            state,
            position,
        )

    def candidates(self, metric: str) -> Callable[[str], list[ClaimAsKnown]]:
        def of_origin(origin: str) -> list[ClaimAsKnown]:
            held = self.states.get((metric, origin), {})
            return [self.known(state, position) for state, position in held.values()]

        return of_origin


def replay(events: list[Event], estimate: type[Any], known: AsKnown) -> tuple[float, list[Any]]:
    """Seconds to apply the events, and the timeline points they gave."""
    views = Views(known)
    estimates: dict[str, Any] = {}
    metrics_of: dict[str, set[str]] = {}
    last: dict[str, Any] = {}
    timeline: list[Any] = []
    ratings: dict[str, Reliability] = {}

    def reliability_of(origin: str) -> Reliability:
        return ratings.get(origin, Reliability.F)

    gc.disable()  # as the runner does while a batch is applied
    begun = time.perf_counter()
    for event in events:
        if event[0] == "rate":
            _, origin, grade = event
            ratings[origin] = grade
            touched = metrics_of.get(origin, set())
            for metric in touched:
                estimates[metric].rate(origin, grade)
        else:
            state, position = event[1], event[2]
            previous = event[3] if event[0] == "change" else None
            views.put(state, position, previous)
            metric = state["metric"]
            metrics_of.setdefault(state["origin"], set()).add(metric)
            found = estimates.get(metric)
            if found is None:
                found = estimates[metric] = estimate(views.candidates(metric), reliability_of)
            before = known(previous, position) if previous is not None else None
            found.put(known(state, position), before)
            touched = {metric}
        for metric in touched:
            point = estimates[metric].point()
            if last.get(metric) != point:
                last[metric] = point
                timeline.append((metric, point))
    elapsed = time.perf_counter() - begun
    gc.enable()
    return elapsed, timeline


def as_known_alone(events: list[Event], known: AsKnown) -> float:
    begun = time.perf_counter()
    for event in events:
        if event[0] != "rate":
            known(event[1], event[2])
            if event[0] == "change":
                known(event[3], event[2])
    return time.perf_counter() - begun


def measure(events: list[Event], runs: int) -> Iterator[tuple[str, float]]:
    """(figure, median µs per event) for the floor, as_known alone and the whole."""
    figures: dict[str, list[float]] = {"floor": [], "as_known": [], "as_known+put+point": []}
    for _ in range(runs):
        figures["floor"].append(replay(events, Nothing, nothing_known)[0])
        figures["as_known"].append(as_known_alone(events, as_known))
        figures["as_known+put+point"].append(replay(events, IncrementalEstimate, as_known)[0])
    for name, seconds in figures.items():
        yield name, statistics.median(seconds) / len(events) * 1e6


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    for name, stream in (("claims", claims_stream), ("mixed", mixed_stream)):
        figures = dict(measure(stream(events), runs))
        whole = figures["as_known+put+point"] - figures["floor"]
        print(
            f"{name:7s} {events} events, median of {runs}: as_known+put+point {whole:.2f} "
            f"µs/event above the floor ({figures['floor']:.2f}), as_known alone "
            f"{figures['as_known']:.2f}"
        )


if __name__ == "__main__":
    main()
