"""Answers that grow with the log over HTTP: explain, timeline and snapshot come a page at
a time, their limits are enforced, and a big one never stops the server answering others."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import Desk, LedgerServer, a_claim, is_problem, running_server

pytestmark = pytest.mark.e2e


def every_page(
    client: httpx.Client, path: str, items: str, params: dict[str, Any], headers: Any = None
) -> list[dict[str, Any]]:
    """The bodies of every page of a paged answer, following `next_cursor`."""
    bodies = [client.get(path, params=params, headers=headers).json()]
    while bodies[-1]["next_cursor"] is not None:
        assert bodies[-1][items], "a page followed by another is never empty"
        cursor = bodies[-1]["next_cursor"]
        response = client.get(path, params={**params, "cursor": cursor}, headers=headers)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    return bodies


@pytest.fixture(scope="module")
def contested(desk: Desk) -> str:
    """A metric with a dozen claims from five origins, one retracted."""
    metric = desk.metric("contested")
    sources = [desk.source() for _ in range(5)]
    claims = [desk.claim(metric, sources[n % 5], 100 + 10 * n) for n in range(12)]
    response = desk.client.post(
        f"/v1/claims/{claims[4]}/retraction", json={"reason": "no"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    return metric


def test_the_pages_of_an_explanation_hold_every_line_once_with_the_totals_on_each(
    desk: Desk, contested: str
) -> None:
    path = f"/v1/metrics/{contested}/estimate"
    params = {"explain": "true", "limit": 1000}
    whole = desk.client.get(path, params=params, headers=desk.caught_up()).json()
    pages = every_page(
        desk.client, path, "explanation", {"explain": "true", "limit": 5}, desk.caught_up()
    )
    assert len(pages) == 3
    assert [line for p in pages for line in p["explanation"]] == whole["explanation"]
    assert len(whole["explanation"]) == whole["considered"] == 12
    totals = ("low", "best", "high", "considered", "included", "independent_origins", "evidence")
    assert {tuple(p[k] for k in totals) for p in pages} == {tuple(whole[k] for k in totals)}
    statuses = [line["status"] for line in whole["explanation"]]
    assert statuses[:5] == ["included"] * 5 and "retracted" in statuses
    assert whole["next_cursor"] is None


def test_the_pages_of_a_timeline_are_the_whole_timeline(desk: Desk, contested: str) -> None:
    path = f"/v1/metrics/{contested}/timeline"
    whole = desk.client.get(path, headers=desk.caught_up()).json()
    pages = every_page(desk.client, path, "points", {"limit": 3})
    assert [point for p in pages for point in p["points"]] == whole["points"]
    assert len(pages) == -(-len(whole["points"]) // 3) > 1
    assert whole["next_cursor"] is None


def test_the_pages_of_a_snapshot_answer_at_one_moment_and_position(
    desk: Desk, contested: str
) -> None:
    # given the first page of a snapshot as known now
    first = desk.client.get("/v1/audit/snapshot", params={"limit": 2}, headers=desk.caught_up())
    assert first.status_code == 200, first.text
    # when a new claim and a new metric arrive before the next pages are read
    desk.claim(contested, desk.source(), 5)
    desk.metric("snapshot-late")
    pages = [first.json()]
    while (cursor := pages[-1]["next_cursor"]) is not None:
        pages.append(
            desk.client.get("/v1/audit/snapshot", params={"cursor": cursor, "limit": 2}).json()
        )
    # then every page answers as the first did
    assert {(p["known_at"], p["position"]) for p in pages} == {
        (pages[0]["known_at"], pages[0]["position"])
    }
    metrics = [e["metric"] for p in pages for e in p["estimates"]]
    assert metrics == sorted(metrics) and contested in metrics
    assert not any("snapshot-late" in m for m in metrics)
    assert all(len(p["estimates"]) <= 2 for p in pages)


# A cursor of JSON arrays nested deeper than the parser recurses.
NESTED = base64.urlsafe_b64encode(b"[" * 5000).decode()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/metrics/{metric}/estimate", {"explain": "true", "limit": 1001}),
        ("/v1/metrics/{metric}/estimate", {"explain": "true", "limit": 0}),
        ("/v1/metrics/{metric}/estimate", {"explain": "true", "cursor": "bm9uc2Vuc2U"}),
        ("/v1/metrics/{metric}/timeline", {"limit": 1001}),
        ("/v1/metrics/{metric}/timeline", {"cursor": "bm9uc2Vuc2U"}),
        ("/v1/audit/snapshot", {"limit": 1001}),
        ("/v1/audit/snapshot", {"cursor": "bm9uc2Vuc2U"}),
        ("/v1/metrics/{metric}/estimate", {"explain": "true", "cursor": NESTED}),
        ("/v1/claims", {"cursor": NESTED}),
    ],
    ids=[
        "explain-over-max",
        "explain-zero",
        "explain-cursor",
        "timeline-over-max",
        "timeline-cursor",
        "snapshot-over-max",
        "snapshot-cursor",
        "explain-cursor-nested-too-deep",
        "claims-cursor-nested-too-deep",
    ],
)
def test_a_limit_over_the_maximum_or_a_foreign_cursor_is_422(
    desk: Desk, contested: str, path: str, params: dict[str, Any]
) -> None:
    response = desk.client.get(path.format(metric=contested), params=params)
    assert is_problem(response, 422), response.text


BIG_CLAIMS = 40_000
BATCH = 5_000


@pytest.fixture(scope="module")
def big_metric(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LedgerServer, str]]:
    """A server of its own (SQLite) with one metric of many claims from twenty origins."""
    directory: Path = tmp_path_factory.mktemp("big-metric")
    with running_server(directory) as server, server.client() as client:
        desk = Desk(client)
        metric = desk.metric("big")
        sources = [desk.source() for _ in range(20)]
        for start in range(0, BIG_CLAIMS, BATCH):
            batch = [
                a_claim(metric, sources[n % 20], 1000 + n % 997)
                for n in range(start, start + BATCH)
            ]
            response = client.post("/v1/claims/batch", json=batch)
            assert response.status_code == 201, response.text
        while client.get("/v1/claims", headers=desk.caught_up()).status_code != 200:
            pass  # the wait is the server's (X-Min-Position, up to 5 s a try)
        yield server, metric


def test_healthz_answers_while_a_big_explanation_is_computed(
    big_metric: tuple[LedgerServer, str],
) -> None:
    server, metric = big_metric
    answered = threading.Event()  # the big answer's status line and headers arrived
    statuses: list[int] = []

    def ask_for_the_big_explanation() -> None:
        with (
            server.client() as client,
            client.stream(
                "GET",
                f"/v1/metrics/{metric}/estimate",
                params={"explain": "true", "limit": 1000, "known_at": "9999-01-01"},
            ) as response,
        ):
            answered.set()
            statuses.append(response.status_code)
            response.read()

    big = threading.Thread(target=ask_for_the_big_explanation)
    big.start()
    time.sleep(0.2)  # only so that the big request reaches the server first
    with server.client() as client:
        health = client.get("/healthz")
    answered_before_health = answered.is_set()
    big.join(timeout=120)
    assert health.status_code == 200
    assert statuses == [200]
    assert not answered_before_health, "/healthz waited for the explanation"
