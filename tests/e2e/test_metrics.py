"""Metrics: define, list with current estimates, read one, estimate and timeline."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import (
    Desk,
    error_fields,
    etag,
    explanation_by_claim,
    is_problem,
    position,
    unique,
)

pytestmark = pytest.mark.e2e


def test_defining_a_metric_answers_201_with_an_empty_estimate(admin: httpx.Client) -> None:
    slug = unique("ukraine/displaced")
    body = {"id": slug, "name": "People displaced", "unit": "people", "description": "UNHCR sense"}
    response = admin.post("/v1/metrics", json=body)
    assert response.status_code == 201, response.text
    metric = response.json()
    assert (metric["id"], metric["unit"], metric["description"], metric["version"]) == (
        slug,
        "people",
        "UNHCR sense",
        1,
    )
    estimate = metric["estimate"]
    assert (estimate["best"], estimate["included"], estimate["evidence"]) == (None, 0, "none")
    assert etag(response) == '"1"'
    assert response.headers["Location"] == f"/v1/metrics/{slug}"
    assert position(response) > 0


def test_defining_the_same_id_twice_is_409(desk: Desk) -> None:
    slug = desk.metric()
    again = desk.client.post("/v1/metrics", json={"id": slug, "name": "again", "unit": "people"})
    assert is_problem(again, 409)


@pytest.mark.parametrize(
    ("field", "value"), [("id", "Killed!"), ("id", "/leading-slash"), ("unit", ""), ("name", "")]
)
def test_a_metric_breaking_the_contract_is_422(admin: httpx.Client, field: str, value: str) -> None:
    body = {"id": unique("e2e/bad"), "name": "bad", "unit": "people", field: value}
    response = admin.post("/v1/metrics", json=body)
    assert is_problem(response, 422)
    assert field in error_fields(response)


def test_reading_a_metric_gives_its_current_estimate_and_etag(desk: Desk) -> None:
    metric = desk.metric()
    reporter = desk.source()
    desk.claim(metric, reporter, 40)
    desk.claim(metric, desk.source(), 60)
    response = desk.client.get(f"/v1/metrics/{metric}", headers=desk.caught_up())
    assert response.status_code == 200
    assert etag(response) == '"1"'
    estimate = response.json()["estimate"]
    assert (estimate["low"], estimate["best"], estimate["high"]) == (40, 40, 60)
    assert (estimate["included"], estimate["evidence"]) == (2, "fair")


def test_an_unknown_metric_is_404_everywhere(admin: httpx.Client) -> None:
    slug = unique("e2e/nothing")
    for path in ("", "/estimate", "/timeline"):
        assert is_problem(admin.get(f"/v1/metrics/{slug}{path}"), 404), path


def test_the_list_shows_each_metric_with_its_current_estimate(desk: Desk) -> None:
    metric = desk.metric()
    desk.claim(metric, desk.source(), 7)
    headers = desk.caught_up()
    found = {}
    cursor = None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = desk.client.get("/v1/metrics", params=params, headers=headers).json()
        found.update({m["id"]: m for m in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert found[metric]["estimate"]["best"] == 7
    assert found["dprk-in-russia/killed"]["unit"] == "people"
    assert list(found) == sorted(found)


def test_a_source_revising_its_own_figure_supersedes_the_old_one(desk: Desk) -> None:
    metric = desk.metric()
    ministry = desk.source("ministry", kind="government")
    old = desk.claim(metric, ministry, 100, as_of="2025-01-10")
    new = desk.claim(metric, ministry, 150, as_of="2025-01-20")
    estimate = desk.estimate(metric, explain="true")
    assert (estimate["best"], estimate["considered"], estimate["included"]) == (150, 2, 1)
    lines = explanation_by_claim(estimate)
    assert (lines[old]["status"], lines[new]["status"]) == ("superseded", "included")


def test_relays_of_one_origin_count_once(desk: Desk) -> None:
    metric = desk.metric()
    ministry = desk.source("ministry", kind="government")
    first = desk.claim(metric, desk.source("relay"), 500, attributed_to=[ministry])
    second = desk.claim(metric, desk.source("relay"), 500, attributed_to=[ministry])
    estimate = desk.estimate(metric, explain="true")
    assert (estimate["independent_origins"], estimate["evidence"]) == (1, "weak")
    assert sorted(explanation_by_claim(estimate)[c]["status"] for c in (first, second)) == [
        "included",
        "superseded",
    ]


def test_a_range_counts_by_its_midpoint_and_ends(desk: Desk) -> None:
    metric = desk.metric()
    desk.claim(metric, desk.source(), 1000, qualifier="range", value_high=1500)
    estimate = desk.estimate(metric)
    assert (estimate["low"], estimate["best"], estimate["high"]) == (1000, 1250, 1500)


def test_the_timeline_of_a_new_metric_follows_each_change(desk: Desk) -> None:
    metric = desk.metric()
    first = desk.record(metric, desk.source(), 10)
    second = desk.record(metric, desk.source(), 30)
    response = desk.client.get(f"/v1/metrics/{metric}/timeline", headers=desk.caught_up())
    assert response.status_code == 200
    points = response.json()["points"]
    by_position = {p["position"]: p for p in points}
    assert (by_position[position(first)]["best"], by_position[position(first)]["included"]) == (
        10,
        1,
    )
    assert (by_position[position(second)]["high"], by_position[position(second)]["included"]) == (
        30,
        2,
    )
    assert all(p["recorded_at"].endswith("Z") for p in points)
