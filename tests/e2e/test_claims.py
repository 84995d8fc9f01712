"""Claims: record one or a batch, validation, filtered lists, versions and history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.support import (
    Desk,
    LedgerServer,
    a_claim,
    error_fields,
    etag,
    is_problem,
    position,
    unique,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def metric(desk: Desk) -> str:
    return desk.metric("claims")


@pytest.fixture(scope="module")
def reporter(desk: Desk) -> str:
    return desk.source("reporter")


def count_claims(desk: Desk, metric: str) -> int:
    page = desk.client.get(
        "/v1/claims", params={"metric": metric, "limit": 1000}, headers=desk.caught_up()
    ).json()
    return len(page["items"])


class TestRecording:
    def test_recording_a_claim_answers_201_with_location_position_and_etag_1(
        self, admin: httpx.Client, metric: str, reporter: str
    ) -> None:
        body = a_claim(
            metric,
            reporter,
            "36.5",
            as_of="2025-01-15",
            period_start="2024-10-01",
            published_at="2025-01-22",
            url="https://example.org/report",
            quote="about a third",
            note="typed from the print edition",
        )
        response = admin.post("/v1/claims", json=body)
        assert response.status_code == 201, response.text
        claim = response.json()
        assert response.headers["Location"] == f"/v1/claims/{claim['id']}"
        assert etag(response) == '"1"'
        assert position(response) > 0
        assert claim["value"] == 36.5
        assert (claim["qualifier"], claim["status"], claim["credibility"]) == ("exact", "active", 6)
        assert (claim["origin"], claim["attributed_to"], claim["version"]) == (reporter, [], 1)
        assert (claim["period_start"], claim["published_at"]) == ("2024-10-01", "2025-01-22")
        assert claim["recorded_by"] == "admin"
        assert claim["recorded_at"].endswith("Z")

    def test_the_location_of_a_recorded_claim_reads_it_back(
        self, desk: Desk, metric: str, reporter: str
    ) -> None:
        recorded = desk.record(metric, reporter, 12)
        read = desk.client.get(
            recorded.headers["Location"], headers={"X-Min-Position": str(position(recorded))}
        )
        assert read.status_code == 200
        assert read.json() == recorded.json()
        assert etag(read) == '"1"'

    def test_the_origin_is_the_last_source_in_the_attribution_chain(
        self, desk: Desk, metric: str, reporter: str
    ) -> None:
        relay, origin = desk.source("relay"), desk.source("origin")
        claim = desk.record(metric, reporter, attributed_to=[relay, origin]).json()
        assert claim["origin"] == origin

    def test_an_unknown_claim_is_404(self, admin: httpx.Client) -> None:
        assert is_problem(admin.get("/v1/claims/00000000-0000-4000-8000-000000000000"), 404)
        assert is_problem(admin.get("/v1/claims/not-a-uuid"), 404)


class TestValidation:
    TOMORROW = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"value": -1}, "value"),
            ({"value_high": 200}, "value_high"),
            ({"qualifier": "range", "value_high": 50}, "value_high"),
            ({"as_of": TOMORROW}, "as_of"),
            ({"metric": "e2e/no-such-metric"}, "metric"),
            ({"reported_by": "no-such-source"}, "reported_by"),
            ({"attributed_to": ["no-such-source"]}, "attributed_to"),
            ({"quote": "x" * 10_001}, "quote"),
            ({"note": "x" * 10_001}, "note"),
            ({"url": "https://example.org/" + "x" * 2_000}, "url"),
            ({"reported_by": "Moscow Times"}, "reported_by"),
            ({"reported_by": "x" * 201}, "reported_by"),
            ({"qualifier": "roughly"}, "qualifier"),
            ({"extra": "field"}, "extra"),
        ],
    )
    def test_a_claim_breaking_the_rules_is_422_naming_the_field(
        self, desk: Desk, metric: str, reporter: str, changes: dict[str, object], field: str
    ) -> None:
        before = desk.ledger_position()
        response = desk.client.post("/v1/claims", json={**a_claim(metric, reporter), **changes})
        assert is_problem(response, 422), response.text
        assert any(f == field or f.startswith(field + ".") for f in error_fields(response))
        assert desk.ledger_position() == before

    def test_a_percent_above_100_is_422(self, admin: httpx.Client) -> None:
        body = a_claim("dprk-in-russia/casualty-rate", "moscow-times", 100.5)
        response = admin.post("/v1/claims", json=body)
        assert is_problem(response, 422)
        assert error_fields(response) == {"value"}

    def test_a_percent_of_exactly_100_is_fine(self, desk: Desk, reporter: str) -> None:
        percent = desk.metric("share", unit="percent")
        assert desk.record(percent, reporter, 100).json()["value"] == 100

    def test_a_claim_missing_required_fields_lists_each_of_them(self, admin: httpx.Client) -> None:
        response = admin.post("/v1/claims", json={"value": 1})
        assert is_problem(response, 422)
        assert {"metric", "as_of", "reported_by"} <= error_fields(response)


class TestBatch:
    def test_a_json_array_of_claims_is_recorded_at_once(self, desk: Desk, reporter: str) -> None:
        metric = desk.metric("batch")
        claims = [
            a_claim(metric, reporter, v, as_of=f"2025-01-{d:02}") for d, v in ((1, 5), (2, 6))
        ]
        response = desk.client.post("/v1/claims/batch", json=claims)
        assert response.status_code == 201, response.text
        answer = response.json()
        assert len(answer["ids"]) == 2
        assert answer["position"] == position(response)
        listed = desk.client.get(
            "/v1/claims",
            params={"metric": metric},
            headers={"X-Min-Position": str(answer["position"])},
        ).json()["items"]
        assert [c["id"] for c in listed] == answer["ids"]
        assert [c["value"] for c in listed] == [5, 6]

    def test_ndjson_lines_are_recorded_at_once(self, desk: Desk, reporter: str) -> None:
        metric = desk.metric("ndjson")
        lines = "\n".join(json.dumps(a_claim(metric, reporter, v)) for v in (1, 2, 3)) + "\n"
        response = desk.client.post(
            "/v1/claims/batch", content=lines, headers={"Content-Type": "application/x-ndjson"}
        )
        assert response.status_code == 201, response.text
        assert len(response.json()["ids"]) == 3
        assert count_claims(desk, metric) == 3

    def test_one_bad_claim_rejects_the_whole_batch_and_writes_nothing(
        self, desk: Desk, reporter: str
    ) -> None:
        metric = desk.metric("all-or-nothing")
        desk.claim(metric, reporter, 1)
        before = (count_claims(desk, metric), desk.ledger_position())
        claims = [a_claim(metric, reporter, 2), a_claim(metric, "no-such-source", 3)]
        response = desk.client.post("/v1/claims/batch", json=claims)
        assert is_problem(response, 422)
        assert (count_claims(desk, metric), desk.ledger_position()) == before

    def test_one_malformed_claim_rejects_the_whole_batch_naming_its_index(
        self, desk: Desk, reporter: str
    ) -> None:
        metric = desk.metric("all-or-nothing")
        before = desk.ledger_position()
        claims = [a_claim(metric, reporter, 2), a_claim(metric, reporter, -3)]
        response = desk.client.post("/v1/claims/batch", json=claims)
        assert is_problem(response, 422)
        assert "1.value" in error_fields(response)
        assert count_claims(desk, metric) == 0
        assert desk.ledger_position() == before

    @pytest.mark.parametrize("body", [b"[]", b"", b"{}"])
    def test_an_empty_batch_or_an_object_is_422(self, admin: httpx.Client, body: bytes) -> None:
        response = admin.post(
            "/v1/claims/batch", content=body, headers={"Content-Type": "application/json"}
        )
        assert is_problem(response, 422)

    def test_a_batch_that_is_not_json_is_400(self, admin: httpx.Client) -> None:
        response = admin.post(
            "/v1/claims/batch",
            content=b'{"metric": \n nope',
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert is_problem(response, 400)


@pytest.fixture(scope="module")
def world(desk: Desk) -> dict[str, str]:
    """Four claims on two metrics, two reporters and one ministry; one withdrawn."""
    metric, other_metric = desk.metric("listing"), desk.metric("listing")
    outlet, other_outlet = desk.source("outlet"), desk.source("outlet")
    ministry = desk.source("ministry", kind="government")
    ids = {
        "relayed": desk.claim(metric, outlet, 1, attributed_to=[ministry]),
        "direct": desk.claim(metric, outlet, 2),
        "elsewhere": desk.claim(other_metric, other_outlet, 3, attributed_to=[ministry]),
        "withdrawn": desk.claim(metric, other_outlet, 4),
    }
    desk.client.post(
        f"/v1/claims/{ids['withdrawn']}/retraction",
        json={"reason": "withdrawn"},
        headers={"If-Match": '"1"'},
    ).raise_for_status()
    return {
        **ids,
        "metric": metric,
        "other_metric": other_metric,
        "outlet": outlet,
        "ministry": ministry,
    }


class TestListing:
    def listed(self, desk: Desk, **params: str) -> list[str]:
        response = desk.client.get("/v1/claims", params=params, headers=desk.caught_up())
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] is None
        return [c["id"] for c in response.json()["items"]]

    def test_claims_are_filtered_by_metric_in_recorded_order(
        self, desk: Desk, world: dict[str, str]
    ) -> None:
        assert self.listed(desk, metric=world["metric"]) == [
            world["relayed"],
            world["direct"],
            world["withdrawn"],
        ]

    def test_claims_are_filtered_by_origin_across_metrics(
        self, desk: Desk, world: dict[str, str]
    ) -> None:
        assert self.listed(desk, origin=world["ministry"]) == [world["relayed"], world["elsewhere"]]

    def test_claims_are_filtered_by_reporter(self, desk: Desk, world: dict[str, str]) -> None:
        assert self.listed(desk, reported_by=world["outlet"]) == [world["relayed"], world["direct"]]

    def test_claims_are_filtered_by_status(self, desk: Desk, world: dict[str, str]) -> None:
        assert self.listed(desk, metric=world["metric"], status="retracted") == [world["withdrawn"]]
        assert self.listed(desk, metric=world["metric"], status="active") == [
            world["relayed"],
            world["direct"],
        ]

    def test_filters_combine(self, desk: Desk, world: dict[str, str]) -> None:
        assert self.listed(desk, metric=world["other_metric"], origin=world["ministry"]) == [
            world["elsewhere"]
        ]

    def test_a_cursor_walks_the_filtered_list_page_by_page(
        self, desk: Desk, world: dict[str, str]
    ) -> None:
        headers = desk.caught_up()
        first = desk.client.get(
            "/v1/claims", params={"metric": world["metric"], "limit": 2}, headers=headers
        ).json()
        assert [c["id"] for c in first["items"]] == [world["relayed"], world["direct"]]
        assert first["next_cursor"] is not None
        second = desk.client.get(
            "/v1/claims",
            params={"metric": world["metric"], "limit": 2, "cursor": first["next_cursor"]},
            headers=headers,
        ).json()
        assert [c["id"] for c in second["items"]] == [world["withdrawn"]]
        assert second["next_cursor"] is None

    @pytest.mark.parametrize(
        "cursor",
        ["%%%", "eyJhIjoxfQ", "WzFd", "Im5vIg", "dHJ1ZQ", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ"],
    )
    def test_a_cursor_the_server_did_not_issue_is_422(
        self, admin: httpx.Client, cursor: str
    ) -> None:
        assert is_problem(admin.get("/v1/claims", params={"cursor": cursor}), 422)

    def test_an_unknown_status_is_422(self, admin: httpx.Client) -> None:
        assert is_problem(admin.get("/v1/claims", params={"status": "deleted"}), 422)


class TestVersionsAndHistory:
    def test_a_claim_reads_as_of_an_earlier_version(
        self, desk: Desk, metric: str, reporter: str
    ) -> None:
        claim = desk.claim(metric, reporter, 100)
        corrected = desk.client.post(
            f"/v1/claims/{claim}/corrections",
            json={"changes": {"value": 120}, "reason": "typo"},
            headers={"If-Match": '"1"'},
        )
        assert corrected.status_code == 200, corrected.text
        headers = {"X-Min-Position": str(position(corrected))}
        old = desk.client.get(f"/v1/claims/{claim}", params={"version": 1}, headers=headers)
        new = desk.client.get(f"/v1/claims/{claim}", headers=headers)
        assert (old.json()["value"], old.json()["version"], etag(old)) == (100, 1, '"1"')
        assert (new.json()["value"], new.json()["version"], etag(new)) == (120, 2, '"2"')
        assert is_problem(
            desk.client.get(f"/v1/claims/{claim}", params={"version": 3}, headers=headers), 404
        )
        assert is_problem(desk.client.get(f"/v1/claims/{claim}", params={"version": 0}), 422)

    def test_the_history_names_each_actor_and_keeps_decimals_as_strings(
        self, server: LedgerServer, desk: Desk, metric: str, reporter: str
    ) -> None:
        issued = desk.client.post(
            "/v1/keys", json={"name": unique("intern"), "role": "contributor"}
        )
        assert issued.status_code == 201
        key = issued.json()
        with server.client(key["secret"]) as intern:
            recorded = intern.post(
                "/v1/claims",
                json=a_claim(metric, reporter, "1000", qualifier="range", value_high="1500.50"),
                headers={"X-Min-Position": str(position(issued))},
            )
        assert recorded.status_code == 201, recorded.text
        claim = recorded.json()
        assert claim["recorded_by"] == f"key:{key['id']}"
        corrected = desk.client.post(
            f"/v1/claims/{claim['id']}/corrections",
            json={"changes": {"value_high": 1600.25}, "reason": "misread"},
            headers={"If-Match": etag(recorded)},
        )
        assert corrected.status_code == 200, corrected.text

        response = desk.client.get(
            f"/v1/claims/{claim['id']}/history",
            headers={"X-Min-Position": str(position(corrected))},
        )
        assert response.status_code == 200
        events = response.json()["events"]
        assert [(e["type"], e["actor"], e["version"]) for e in events] == [
            ("Claim.Recorded", f"key:{key['id']}", 1),
            ("Claim.Corrected", "admin", 2),
        ]
        assert (events[0]["data"]["value"], events[0]["data"]["value_high"]) == ("1000", "1500.5")
        assert events[1]["data"]["changes"] == {"value_high": "1600.25"}
        assert events[1]["data"]["reason"] == "misread"
        assert [e["position"] for e in events] == [position(recorded), position(corrected)]
        assert all(e["recorded_at"].endswith("Z") for e in events)

    def test_the_history_of_an_unknown_claim_is_404(self, admin: httpx.Client) -> None:
        response = admin.get("/v1/claims/00000000-0000-4000-8000-000000000000/history")
        assert is_problem(response, 404)
