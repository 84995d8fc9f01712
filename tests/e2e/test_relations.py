"""Relations over HTTP (§9): define, read, list, update and remove, with their ETags,
positions, problems, `known_at` before and after a relation existed, and the seed's three."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.support import Desk, LedgerServer, error_fields, etag, is_problem, position, unique

pytestmark = pytest.mark.e2e

SEED = "dprk-in-russia/"


def relation_id() -> str:
    return unique("e2e/relation")


def define(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/v1/relations", json={"id": relation_id(), **body})


def moment(desk: Desk) -> str:
    """A moment after every write so far and before the next: the last event's time."""
    last = desk.client.get(
        "/v1/audit/events", params={"after": desk.ledger_position() - 1}, headers=desk.caught_up()
    )
    stamp: str = last.json()["events"][-1]["recorded_at"]
    time.sleep(0.002)  # the next write is recorded later
    return stamp


def test_defining_a_relation_answers_201_with_location_etag_position_and_its_fields(
    desk: Desk,
) -> None:
    lesser, greater = desk.metric("killed"), desk.metric("casualties")
    slug = relation_id()
    body = {"id": slug, "kind": "at_most", "lesser": lesser, "greater": greater, "note": "n"}
    response = desk.client.post("/v1/relations", json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert {k: answer[k] for k in ("id", "kind", "lesser", "greater", "note")} == {
        k: body[k] for k in ("id", "kind", "lesser", "greater", "note")
    }
    assert (answer["removed"], answer["version"]) == (False, 1)
    assert answer["position"] == position(response)
    assert "total" not in answer and "share" not in answer  # only its kind's fields
    assert etag(response) == '"1"'
    assert response.headers["Location"] == f"/v1/relations/{slug}"
    read = desk.client.get(f"/v1/relations/{slug}", headers=desk.caught_up())
    assert read.status_code == 200
    assert read.json() == answer
    assert etag(read) == '"1"'


def test_a_sum_and_a_share_keep_their_own_fields(desk: Desk) -> None:
    total, a, b = desk.metric("total"), desk.metric("a"), desk.metric("b")
    rate = desk.metric("rate", unit="percent")
    summed = define(desk.client, kind="sum", total=total, parts=[a, b], exhaustive=True)
    assert summed.status_code == 201, summed.text
    assert {k: summed.json()[k] for k in ("total", "parts", "exhaustive")} == {
        "total": total,
        "parts": [a, b],
        "exhaustive": True,
    }
    shared = define(desk.client, kind="share", share=rate, part=a, whole=total)
    assert shared.status_code == 201, shared.text
    assert "exhaustive" not in shared.json()
    assert shared.json()["whole"] == total


def test_a_taken_id_is_409(desk: Desk) -> None:
    a, b = desk.metric(), desk.metric()
    body = {"id": relation_id(), "kind": "at_most", "lesser": a, "greater": b}
    assert desk.client.post("/v1/relations", json=body).status_code == 201
    again = desk.client.post("/v1/relations", json={**body, "note": "another"})
    assert is_problem(again, 409)


def test_a_cycle_a_unit_mismatch_and_an_unknown_metric_are_422(desk: Desk) -> None:
    a, b, c = desk.metric(), desk.metric(), desk.metric()
    rate = desk.metric("rate", unit="percent")
    assert define(desk.client, kind="at_most", lesser=b, greater=a).status_code == 201
    assert define(desk.client, kind="sum", total=b, parts=[c]).status_code == 201
    cycle = define(desk.client, kind="at_most", lesser=a, greater=c)
    assert is_problem(cycle, 422)
    assert "depend on itself" in cycle.json()["detail"]
    units = define(desk.client, kind="at_most", lesser=rate, greater=c)
    assert is_problem(units, 422) and error_fields(units) == {"greater"}
    not_percent = define(desk.client, kind="share", share=a, part=b, whole=c)
    assert is_problem(not_percent, 422) and "share" in error_fields(not_percent)
    unknown = define(desk.client, kind="at_most", lesser=a, greater="e2e/no-such-metric")
    assert is_problem(unknown, 422) and error_fields(unknown) == {"greater"}
    twice = define(desk.client, kind="sum", total=a, parts=[b, b])
    assert is_problem(twice, 422)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "at_most", "lesser": "e2e/a"},  # a field missing
        {"kind": "ratio", "lesser": "e2e/a", "greater": "e2e/b"},  # no such kind
        {"lesser": "e2e/a", "greater": "e2e/b"},  # no kind
        {"kind": "at_most", "lesser": "e2e/a", "greater": "e2e/b", "total": "e2e/c"},
        {"kind": "sum", "total": "e2e/a", "parts": "e2e/b"},  # parts not a list
        {"kind": "sum", "total": "e2e/a", "parts": []},
        {"kind": "at_most", "lesser": "E2E A", "greater": "e2e/b"},  # not an id
        {"kind": "at_most", "lesser": "e2e/a", "greater": "e2e/b", "formula": "a<=b"},
    ],
)
def test_a_malformed_body_is_422(admin: httpx.Client, body: dict[str, Any]) -> None:
    assert is_problem(admin.post("/v1/relations", json={"id": relation_id(), **body}), 422)


def test_a_body_that_is_not_json_is_400(admin: httpx.Client) -> None:
    response = admin.post(
        "/v1/relations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert is_problem(response, 400)


def test_a_relation_not_defined_is_404(desk: Desk) -> None:
    missing = f"/v1/relations/{relation_id()}"
    assert is_problem(desk.client.get(missing), 404)
    body = {"kind": "at_most", "lesser": "e2e/a", "greater": "e2e/b"}
    assert is_problem(desk.client.put(missing, json=body, headers={"If-Match": '"1"'}), 404)
    assert is_problem(desk.client.delete(missing, headers={"If-Match": '"1"'}), 404)


def test_an_update_needs_if_match_keeps_its_kind_and_passes_the_checks(desk: Desk) -> None:
    a, b, c = desk.metric(), desk.metric(), desk.metric()
    defined = define(desk.client, kind="at_most", lesser=b, greater=a)
    path = f"/v1/relations/{defined.json()['id']}"
    body = {"kind": "at_most", "lesser": c, "greater": a, "note": "c, not b"}
    assert is_problem(desk.client.put(path, json=body), 428)
    assert is_problem(desk.client.put(path, json=body, headers={"If-Match": '"2"'}), 412)
    kind = {"kind": "sum", "total": a, "parts": [c]}
    assert error_fields(desk.client.put(path, json=kind, headers={"If-Match": '"1"'})) == {"kind"}
    updated = desk.client.put(path, json={**body, "reason": "misread"}, headers={"If-Match": '"1"'})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["lesser"], updated.json()["version"]) == (c, 2)
    assert etag(updated) == '"2"' and position(updated) == updated.json()["position"]
    assert define(desk.client, kind="at_most", lesser=a, greater=c).status_code == 422
    assert define(desk.client, kind="at_most", lesser=a, greater=b).status_code == 201
    history = desk.client.get(path, headers=desk.caught_up()).json()
    assert history["note"] == "c, not b"


def test_removing_needs_if_match_and_known_at_still_sees_it_before(desk: Desk) -> None:
    a, b = desk.metric(), desk.metric()
    before = moment(desk)
    defined = define(desk.client, kind="at_most", lesser=b, greater=a)
    slug = defined.json()["id"]
    path = f"/v1/relations/{slug}"
    assert is_problem(desk.client.delete(path), 428)
    assert is_problem(desk.client.delete(path, headers={"If-Match": '"7"'}), 412)
    while_live = moment(desk)
    removed = desk.client.delete(path, params={"reason": "wrong"}, headers={"If-Match": '"1"'})
    assert removed.status_code == 200, removed.text
    assert (removed.json()["removed"], removed.json()["version"]) == (True, 2)
    assert is_problem(desk.client.delete(path, headers={"If-Match": '"2"'}), 409)
    caught_up = desk.caught_up()
    assert desk.client.get(path, headers=caught_up).json()["removed"] is True
    assert is_problem(desk.client.get(path, params={"known_at": before}), 404)
    then = desk.client.get(path, params={"known_at": while_live})
    assert (then.json()["removed"], then.json()["version"]) == (False, 1)
    listed = desk.client.get("/v1/relations", params={"metric": a}, headers=caught_up).json()
    assert listed["items"] == []
    listed_then = desk.client.get("/v1/relations", params={"metric": a, "known_at": while_live})
    assert [r["id"] for r in listed_then.json()["items"]] == [slug]
    before_any = desk.client.get("/v1/relations", params={"metric": a, "known_at": before})
    assert before_any.json()["items"] == []
    # The id stays taken: the relation's events stay in the log.
    again = desk.client.post(
        "/v1/relations", json={"id": slug, "kind": "at_most", "lesser": b, "greater": a}
    )
    assert is_problem(again, 409)


def test_lists_come_in_pages_filtered_by_metric(desk: Desk) -> None:
    hub = desk.metric("hub")
    slugs = sorted(
        define(desk.client, kind="at_most", lesser=desk.metric(), greater=hub).json()["id"]
        for _ in range(3)
    )
    caught_up = desk.caught_up()
    first = desk.client.get("/v1/relations", params={"metric": hub, "limit": 2}, headers=caught_up)
    assert [r["id"] for r in first.json()["items"]] == slugs[:2]
    cursor = first.json()["next_cursor"]
    second = desk.client.get("/v1/relations", params={"metric": hub, "cursor": cursor})
    assert [r["id"] for r in second.json()["items"]] == slugs[2:]
    assert second.json()["next_cursor"] is None
    assert is_problem(desk.client.get("/v1/relations", params={"cursor": "nonsense"}), 422)
    assert is_problem(desk.client.get("/v1/relations", params={"known_at": "yesterday"}), 422)


def test_the_seed_defines_its_three_relations(admin: httpx.Client) -> None:
    listed = admin.get("/v1/relations", params={"metric": SEED + "casualties"}).json()["items"]
    by_kind = {r["kind"]: r for r in listed}
    assert by_kind["sum"]["parts"] == [SEED + "killed", SEED + "wounded", SEED + "captured"]
    assert by_kind["sum"]["exhaustive"] is False
    assert (by_kind["share"]["share"], by_kind["share"]["whole"]) == (
        SEED + "casualty-rate",
        SEED + "deployed",
    )
    assert (by_kind["at_most"]["lesser"], by_kind["at_most"]["greater"]) == (
        SEED + "killed",
        SEED + "casualties",
    )
    assert all(r["id"].startswith(SEED) for r in listed)


def test_an_idempotent_retry_answers_the_first_and_a_reused_key_is_422(desk: Desk) -> None:
    a, b = desk.metric(), desk.metric()
    body = {"id": relation_id(), "kind": "at_most", "lesser": a, "greater": b}
    key = {"Idempotency-Key": unique("relation")}
    first = desk.client.post("/v1/relations", json=body, headers=key)
    again = desk.client.post("/v1/relations", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert position(again) == position(first)
    other = desk.client.post("/v1/relations", json={**body, "note": "other"}, headers=key)
    assert is_problem(other, 422)


def test_a_reader_may_list_relations_but_not_define_them(server: LedgerServer) -> None:
    with server.client() as admin:
        key = admin.post("/v1/keys", json={"name": unique("reader"), "role": "reader"}).json()
        caught_up = {"X-Min-Position": str(admin.get("/readyz").json()["position"])}
    with server.client(key["secret"]) as reader:
        assert reader.get("/v1/relations", headers=caught_up).status_code == 200
        refused = reader.post(
            "/v1/relations",
            json={"id": relation_id(), "kind": "at_most", "lesser": "a", "greater": "b"},
        )
        assert is_problem(refused, 403)
