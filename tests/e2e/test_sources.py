"""Sources: register, list with claim counts, read with an ETag, rate with If-Match."""

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


def test_registering_a_source_answers_201_with_its_grade_etag_location_and_position(
    admin: httpx.Client,
) -> None:
    slug = unique("yonhap")
    body = {
        "id": slug,
        "name": "Yonhap",
        "kind": "outlet",
        "url": "https://en.yna.co.kr",
        "reliability": "B",
    }
    response = admin.post("/v1/sources", json=body)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "id": slug,
        "name": "Yonhap",
        "kind": "outlet",
        "url": "https://en.yna.co.kr",
        "reliability": "B",
        "version": 2,  # Registered, then Rated in the same transaction
        "claims": 0,
    }
    assert etag(response) == '"2"'
    assert response.headers["Location"] == f"/v1/sources/{slug}"
    assert position(response) > 0


def test_a_source_registered_without_a_grade_cannot_be_judged(desk: Desk) -> None:
    slug = desk.source()
    source = desk.client.get(f"/v1/sources/{slug}", headers=desk.caught_up()).json()
    assert source["reliability"] == "F"


def test_registering_the_same_id_twice_is_409(desk: Desk) -> None:
    slug = desk.source()
    again = desk.client.post("/v1/sources", json={"id": slug, "name": "Again", "kind": "ngo"})
    assert is_problem(again, 409)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "Not A Slug"),
        ("id", "x" * 201),
        ("kind", "blogger"),
        ("reliability", "G"),
        ("url", "u" * 2001),
    ],
)
def test_a_source_breaking_the_contract_is_422(admin: httpx.Client, field: str, value: str) -> None:
    body = {"id": unique("bad"), "name": "Bad", "kind": "outlet", field: value}
    response = admin.post("/v1/sources", json=body)
    assert is_problem(response, 422)
    assert field in error_fields(response)


def test_reading_a_source_gives_its_etag_and_claim_count(desk: Desk) -> None:
    outlet = desk.source("outlet")
    ministry = desk.source("ministry", kind="government")
    metric = desk.metric()
    desk.claim(metric, outlet, attributed_to=[ministry])
    desk.claim(metric, outlet)
    read = desk.client.get(f"/v1/sources/{ministry}", headers=desk.caught_up())
    assert read.status_code == 200
    assert etag(read) == '"1"'
    assert read.json()["claims"] == 1
    assert desk.client.get(f"/v1/sources/{outlet}").json()["claims"] == 2


def test_an_unknown_source_is_404(admin: httpx.Client) -> None:
    assert is_problem(admin.get(f"/v1/sources/{unique('nobody')}"), 404)


def test_the_list_pages_through_every_source_by_id_with_claim_counts(desk: Desk) -> None:
    reporter = desk.source("pager")
    desk.claim(desk.metric(), reporter)
    headers = desk.caught_up()
    everything = desk.client.get("/v1/sources", params={"limit": 1000}, headers=headers).json()
    assert everything["next_cursor"] is None
    expected = [s["id"] for s in everything["items"]]
    assert expected == sorted(expected)
    assert {s["id"]: s["claims"] for s in everything["items"]}[reporter] == 1

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = desk.client.get("/v1/sources", params=params, headers=headers).json()
        assert len(page["items"]) <= 3
        seen += [s["id"] for s in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages >= 3


@pytest.mark.parametrize("limit", [0, 1001])
def test_a_page_size_outside_1_to_1000_is_422(admin: httpx.Client, limit: int) -> None:
    assert is_problem(admin.get("/v1/sources", params={"limit": limit}), 422)


@pytest.mark.parametrize("cursor", ["%%%", "MQ", "eyJhIjoxfQ", "Ilx1ZDgwMCI"])
def test_a_cursor_the_server_did_not_issue_is_422(admin: httpx.Client, cursor: str) -> None:
    assert is_problem(admin.get("/v1/sources", params={"cursor": cursor}), 422)
    assert is_problem(admin.get("/v1/metrics", params={"cursor": cursor}), 422)


class TestRating:
    def test_rating_without_if_match_is_428(self, desk: Desk) -> None:
        slug = desk.source()
        response = desk.client.post(f"/v1/sources/{slug}/ratings", json={"reliability": "A"})
        assert is_problem(response, 428)

    def test_rating_with_a_stale_etag_is_412(self, desk: Desk) -> None:
        slug = desk.source()
        first = desk.client.post(
            f"/v1/sources/{slug}/ratings", json={"reliability": "B"}, headers={"If-Match": '"1"'}
        )
        assert first.status_code == 200
        stale = desk.client.post(
            f"/v1/sources/{slug}/ratings", json={"reliability": "C"}, headers={"If-Match": '"1"'}
        )
        assert is_problem(stale, 412)
        assert etag(stale) == '"2"'

    def test_rating_with_the_current_etag_answers_200_with_the_next_etag(self, desk: Desk) -> None:
        slug = desk.source()
        current = desk.client.get(f"/v1/sources/{slug}", headers=desk.caught_up())
        rated = desk.client.post(
            f"/v1/sources/{slug}/ratings",
            json={"reliability": "A", "reason": "checked over a year"},
            headers={"If-Match": etag(current)},
        )
        assert rated.status_code == 200, rated.text
        assert (rated.json()["reliability"], rated.json()["version"]) == ("A", 2)
        assert etag(rated) == '"2"'
        again = desk.client.get(
            f"/v1/sources/{slug}", headers={"X-Min-Position": str(position(rated))}
        )
        assert (again.json()["reliability"], etag(again)) == ("A", '"2"')

    def test_rating_an_unknown_source_is_404(self, admin: httpx.Client) -> None:
        response = admin.post(
            f"/v1/sources/{unique('nobody')}/ratings",
            json={"reliability": "A"},
            headers={"If-Match": '"1"'},
        )
        assert is_problem(response, 404)

    def test_rating_an_origin_unreliable_excludes_its_claims_from_the_estimate(
        self, desk: Desk
    ) -> None:
        metric = desk.metric()
        outlet = desk.source("outlet")
        honest = desk.source("honest")
        liar = desk.source("liar")
        desk.claim(metric, outlet, 100, attributed_to=[honest])
        lie = desk.claim(metric, outlet, 5000, attributed_to=[liar])
        before = desk.estimate(metric)
        assert (before["low"], before["high"], before["included"]) == (100, 5000, 2)

        rated = desk.client.post(
            f"/v1/sources/{liar}/ratings",
            json={"reliability": "E", "reason": "fabricated figures before"},
            headers={"If-Match": '"1"'},
        )
        assert rated.status_code == 200, rated.text
        after = desk.estimate(metric, explain="true")
        assert (after["low"], after["best"], after["high"], after["included"]) == (100, 100, 100, 1)
        assert explanation_by_claim(after)[lie]["status"] == "excluded"

    def test_rating_an_origin_reliable_raises_its_weight(self, desk: Desk) -> None:
        metric = desk.metric()
        reporter = desk.source()
        claim = desk.claim(metric, reporter)
        assert explanation_by_claim(desk.estimate(metric, explain="true"))[claim]["weight"] == 0.25
        desk.client.post(
            f"/v1/sources/{reporter}/ratings", json={"reliability": "A"}, headers={"If-Match": "*"}
        ).raise_for_status()
        assert explanation_by_claim(desk.estimate(metric, explain="true"))[claim]["weight"] == 0.5
