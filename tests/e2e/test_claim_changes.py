"""Corrections, retractions, reinstatements and assessments: If-Match and state rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.support import Desk, error_fields, etag, explanation_by_claim, is_problem, position

pytestmark = pytest.mark.e2e

UNKNOWN = "00000000-0000-4000-8000-000000000000"

# route, a valid body
CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("corrections", {"changes": {"value": 150}, "reason": "typo in the figure"}),
    ("retraction", {"reason": "the outlet withdrew it"}),
    ("assessments", {"credibility": 2, "note": "matches satellite imagery"}),
]


@pytest.fixture(scope="module")
def metric(desk: Desk) -> str:
    return desk.metric("changes")


@pytest.fixture(scope="module")
def reporter(desk: Desk) -> str:
    return desk.source("reporter")


@pytest.fixture
def claim(desk: Desk, metric: str, reporter: str) -> str:
    return desk.claim(metric, reporter, 100)


@pytest.mark.parametrize(("route", "body"), CHANGES)
def test_a_change_without_if_match_is_428_and_changes_nothing(
    desk: Desk, claim: str, route: str, body: dict[str, Any]
) -> None:
    response = desk.client.post(f"/v1/claims/{claim}/{route}", json=body)
    assert is_problem(response, 428)
    assert etag(desk.client.get(f"/v1/claims/{claim}", headers=desk.caught_up())) == '"1"'


@pytest.mark.parametrize(("route", "body"), CHANGES)
def test_a_change_with_a_stale_etag_is_412_and_tells_the_current_one(
    desk: Desk, claim: str, route: str, body: dict[str, Any]
) -> None:
    desk.client.post(
        f"/v1/claims/{claim}/assessments", json={"credibility": 3}, headers={"If-Match": '"1"'}
    ).raise_for_status()
    response = desk.client.post(
        f"/v1/claims/{claim}/{route}", json=body, headers={"If-Match": '"1"'}
    )
    assert is_problem(response, 412)
    assert etag(response) == '"2"'


@pytest.mark.parametrize(("route", "body"), CHANGES)
def test_a_change_with_an_etag_we_never_issue_is_412(
    desk: Desk, claim: str, route: str, body: dict[str, Any]
) -> None:
    response = desk.client.post(
        f"/v1/claims/{claim}/{route}", json=body, headers={"If-Match": "yesterday"}
    )
    assert is_problem(response, 412)


@pytest.mark.parametrize(("route", "body"), CHANGES)
def test_a_change_with_the_current_etag_answers_200_with_the_next_etag_and_position(
    desk: Desk, claim: str, route: str, body: dict[str, Any]
) -> None:
    response = desk.client.post(
        f"/v1/claims/{claim}/{route}", json=body, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    assert etag(response) == '"2"'
    assert response.json()["version"] == 2
    assert position(response) > 0


@pytest.mark.parametrize(("route", "body"), CHANGES)
def test_a_change_to_an_unknown_claim_is_404(desk: Desk, route: str, body: dict[str, Any]) -> None:
    response = desk.client.post(
        f"/v1/claims/{UNKNOWN}/{route}", json=body, headers={"If-Match": '"1"'}
    )
    assert is_problem(response, 404)


def test_if_match_star_is_accepted_and_a_weak_etag_never_matches(desk: Desk, claim: str) -> None:
    star = desk.client.post(
        f"/v1/claims/{claim}/assessments", json={"credibility": 4}, headers={"If-Match": "*"}
    )
    assert (star.status_code, etag(star)) == (200, '"2"')
    weak = desk.client.post(
        f"/v1/claims/{claim}/assessments", json={"credibility": 3}, headers={"If-Match": 'W/"2"'}
    )
    assert is_problem(weak, 412)  # RFC 9110: a weak tag never matches for If-Match
    current = desk.client.get(f"/v1/claims/{claim}", headers=desk.caught_up())
    assert current.json()["credibility"] == 4


class TestCorrection:
    def test_a_correction_changes_only_the_fields_given(self, desk: Desk, claim: str) -> None:
        response = desk.client.post(
            f"/v1/claims/{claim}/corrections",
            json={"changes": {"value": 90, "note": "page 2"}, "reason": "misread"},
            headers={"If-Match": '"1"'},
        )
        corrected = response.json()
        assert (corrected["value"], corrected["note"], corrected["as_of"]) == (
            90,
            "page 2",
            "2025-01-15",
        )

    def test_a_correction_moves_the_estimate(self, desk: Desk, reporter: str) -> None:
        metric = desk.metric("corrected")
        claim = desk.claim(metric, reporter, 100)
        desk.client.post(
            f"/v1/claims/{claim}/corrections",
            json={"changes": {"value": 1000}, "reason": "a zero was dropped"},
            headers={"If-Match": '"1"'},
        ).raise_for_status()
        assert desk.estimate(metric)["best"] == 1000

    def test_a_correction_that_changes_nothing_is_409(self, desk: Desk, claim: str) -> None:
        response = desk.client.post(
            f"/v1/claims/{claim}/corrections",
            json={"changes": {"value": 100}, "reason": "same"},
            headers={"If-Match": '"1"'},
        )
        assert is_problem(response, 409)

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"value": -5}, "changes.value"),
            ({"value_high": 500}, "changes.value_high"),
            ({"as_of": "2999-01-01"}, "changes.as_of"),
            ({"reported_by": "no-such-source"}, "changes.reported_by"),
            ({"metric": "e2e/elsewhere"}, "changes.metric"),
            ({"value": None}, "changes.value"),
        ],
    )
    def test_a_correction_breaking_the_rules_is_422(
        self, desk: Desk, claim: str, changes: dict[str, Any], field: str
    ) -> None:
        response = desk.client.post(
            f"/v1/claims/{claim}/corrections",
            json={"changes": changes, "reason": "x"},
            headers={"If-Match": '"1"'},
        )
        assert is_problem(response, 422)
        assert field in error_fields(response)

    def test_a_correction_needs_a_reason(self, desk: Desk, claim: str) -> None:
        response = desk.client.post(
            f"/v1/claims/{claim}/corrections",
            json={"changes": {"value": 1}},
            headers={"If-Match": '"1"'},
        )
        assert is_problem(response, 422)
        assert "reason" in error_fields(response)


class TestRetractionAndReinstatement:
    def retract(self, desk: Desk, claim: str, version: int) -> Any:
        return desk.client.post(
            f"/v1/claims/{claim}/retraction",
            json={"reason": "withdrawn"},
            headers={"If-Match": f'"{version}"'},
        )

    def test_retracting_twice_is_409(self, desk: Desk, claim: str) -> None:
        assert self.retract(desk, claim, 1).status_code == 200
        again = self.retract(desk, claim, 2)
        assert is_problem(again, 409)

    def test_reinstating_an_active_claim_is_409(self, desk: Desk, claim: str) -> None:
        response = desk.client.post(
            f"/v1/claims/{claim}/reinstatement", json={"reason": "?"}, headers={"If-Match": '"1"'}
        )
        assert is_problem(response, 409)

    def test_a_reinstated_claim_counts_again(self, desk: Desk, reporter: str) -> None:
        metric = desk.metric("reinstated")
        claim = desk.claim(metric, reporter, 100)
        desk.claim(metric, desk.source(), 300)
        assert self.retract(desk, claim, 1).json()["status"] == "retracted"
        assert desk.estimate(metric)["best"] == 300

        response = desk.client.post(
            f"/v1/claims/{claim}/reinstatement",
            json={"reason": "the outlet stood by it"},
            headers={"If-Match": '"2"'},
        )
        assert response.status_code == 200, response.text
        assert (response.json()["status"], etag(response)) == ("active", '"3"')
        assert desk.estimate(metric)["best"] == 100

    def test_a_retraction_needs_a_reason(self, desk: Desk, claim: str) -> None:
        response = desk.client.post(
            f"/v1/claims/{claim}/retraction", json={"reason": ""}, headers={"If-Match": '"1"'}
        )
        assert is_problem(response, 422)


class TestAssessment:
    def test_an_assessment_sets_the_credibility(self, desk: Desk, claim: str) -> None:
        response = desk.client.post(
            f"/v1/claims/{claim}/assessments", json={"credibility": 2}, headers={"If-Match": '"1"'}
        )
        assert response.json()["credibility"] == 2

    @pytest.mark.parametrize("credibility", [0, 7, "high"])
    def test_a_credibility_outside_1_to_6_is_422(
        self, desk: Desk, claim: str, credibility: object
    ) -> None:
        response = desk.client.post(
            f"/v1/claims/{claim}/assessments",
            json={"credibility": credibility},
            headers={"If-Match": '"1"'},
        )
        assert is_problem(response, 422)

    def test_an_improbable_claim_is_excluded_from_the_estimate(
        self, desk: Desk, reporter: str
    ) -> None:
        metric = desk.metric("improbable")
        claim = desk.claim(metric, reporter, 99_999)
        desk.claim(metric, desk.source(), 50)
        desk.client.post(
            f"/v1/claims/{claim}/assessments", json={"credibility": 5}, headers={"If-Match": '"1"'}
        ).raise_for_status()
        estimate = desk.estimate(metric, explain="true")
        assert (estimate["best"], estimate["high"], estimate["included"]) == (50, 50, 1)
        assert explanation_by_claim(estimate)[claim]["status"] == "excluded"

    def test_a_confirmed_claim_makes_the_evidence_confirmed(
        self, desk: Desk, reporter: str
    ) -> None:
        metric = desk.metric("confirmed")
        claim = desk.claim(metric, reporter, 12)
        desk.client.post(
            f"/v1/claims/{claim}/assessments", json={"credibility": 1}, headers={"If-Match": '"1"'}
        ).raise_for_status()
        estimate = desk.estimate(metric, explain="true")
        assert estimate["evidence"] == "confirmed"
        assert explanation_by_claim(estimate)[claim]["weight"] == 0.5  # F 0.5 x confirmed 1.0
