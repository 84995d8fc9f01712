"""Keys and roles: 401 without a valid key, 403 below the role, keys issued and revoked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.support import LedgerServer, a_claim, is_problem, position, unique

pytestmark = pytest.mark.e2e

Issue = Callable[[str], dict[str, Any]]


@pytest.fixture(scope="module")
def issue(admin: httpx.Client) -> Issue:
    """Issue a key with a role; the answer with its secret and the issuing position."""

    def issue_key(role: str) -> dict[str, Any]:
        response = admin.post("/v1/keys", json={"name": unique(role), "role": role})
        assert response.status_code == 201, response.text
        return {**response.json(), "position": position(response)}

    return issue_key


@pytest.fixture
def as_role(server: LedgerServer, issue: Issue) -> Iterator[Callable[[str], httpx.Client]]:
    """A client holding a fresh key of the role, that waits until the key is known."""
    clients: list[httpx.Client] = []

    def client_for(role: str) -> httpx.Client:
        key = issue(role)
        client = server.client(key["secret"])
        client.headers["X-Min-Position"] = str(key["position"])
        clients.append(client)
        return client

    yield client_for
    for client in clients:
        client.close()


def is_unauthorized(response: httpx.Response) -> bool:
    return is_problem(response, 401) and response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/sources"),
        ("GET", "/v1/metrics/dprk-in-russia/killed/estimate"),
        ("GET", "/v1/audit/snapshot"),
        ("POST", "/v1/claims"),
        ("POST", "/v1/keys"),
    ],
)
def test_a_request_without_a_key_is_401(anonymous: httpx.Client, method: str, path: str) -> None:
    assert is_unauthorized(anonymous.request(method, path, json={}))


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-key", "Bearer", "Basic YWRtaW46YWRtaW4=", "not-a-key"]
)
def test_a_request_with_a_bad_key_is_401(server: LedgerServer, authorization: str) -> None:
    response = httpx.get(server.base_url + "/v1/sources", headers={"Authorization": authorization})
    assert is_unauthorized(response)


def test_health_needs_no_key(anonymous: httpx.Client) -> None:
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 200


def test_a_reader_may_read(as_role: Callable[[str], httpx.Client]) -> None:
    reader = as_role("reader")
    assert reader.get("/v1/metrics/dprk-in-russia/killed/estimate").status_code == 200


def test_a_reader_may_not_record_a_claim(as_role: Callable[[str], httpx.Client]) -> None:
    reader = as_role("reader")
    response = reader.post("/v1/claims", json=a_claim("dprk-in-russia/killed", "nyt"))
    assert is_problem(response, 403)


def test_a_contributor_may_record_a_claim_but_not_retract_it(
    as_role: Callable[[str], httpx.Client],
) -> None:
    contributor = as_role("contributor")
    recorded = contributor.post("/v1/claims", json=a_claim("dprk-in-russia/captured", "nyt", 1))
    assert recorded.status_code == 201, recorded.text
    response = contributor.post(
        f"/v1/claims/{recorded.json()['id']}/retraction",
        json={"reason": "mine"},
        headers={"If-Match": '"1"'},
    )
    assert is_problem(response, 403)


def test_an_editor_may_retract_but_not_issue_keys(
    as_role: Callable[[str], httpx.Client], admin: httpx.Client
) -> None:
    recorded = admin.post("/v1/claims", json=a_claim("dprk-in-russia/captured", "nyt", 1))
    editor = as_role("editor")
    response = editor.post(
        f"/v1/claims/{recorded.json()['id']}/retraction",
        json={"reason": "withdrawn"},
        headers={"If-Match": '"1"', "X-Min-Position": str(position(recorded))},
    )
    assert response.status_code == 200, response.text
    assert is_problem(editor.post("/v1/keys", json={"name": "x", "role": "admin"}), 403)


def test_an_issued_key_shows_its_secret_once_and_works_at_once(
    server: LedgerServer, admin: httpx.Client
) -> None:
    name = unique("newsroom")
    response = admin.post("/v1/keys", json={"name": name, "role": "contributor"})
    assert response.status_code == 201
    key = response.json()
    assert set(key) == {"id", "name", "role", "secret", "created_at"}
    assert (key["name"], key["role"]) == (name, "contributor")
    assert len(key["secret"]) >= 20
    assert response.headers["Location"] == f"/v1/keys/{key['id']}"
    with server.client(key["secret"]) as holder:
        read = holder.get("/v1/sources", headers={"X-Min-Position": str(position(response))})
    assert read.status_code == 200


def test_an_unknown_role_is_422(admin: httpx.Client) -> None:
    assert is_problem(admin.post("/v1/keys", json={"name": "x", "role": "owner"}), 422)


def test_a_revoked_key_is_401_at_once(
    server: LedgerServer, admin: httpx.Client, issue: Issue
) -> None:
    key = issue("editor")
    revoked = admin.delete(f"/v1/keys/{key['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {
        "id": key["id"],
        "name": key["name"],
        "role": "editor",
        "revoked": True,
    }
    with server.client(key["secret"]) as holder:
        response = holder.get("/v1/sources", headers={"X-Min-Position": str(position(revoked))})
    assert is_unauthorized(response)


def test_revoking_twice_is_409(admin: httpx.Client, issue: Issue) -> None:
    key = issue("reader")
    assert admin.delete(f"/v1/keys/{key['id']}").status_code == 200
    assert is_problem(admin.delete(f"/v1/keys/{key['id']}"), 409)


@pytest.mark.parametrize("key_id", ["not-a-key", "00000000-0000-4000-8000-000000000000"])
def test_revoking_an_unknown_key_is_404(admin: httpx.Client, key_id: str) -> None:
    assert is_problem(admin.delete(f"/v1/keys/{key_id}"), 404)


def test_only_an_admin_may_revoke(as_role: Callable[[str], httpx.Client], issue: Issue) -> None:
    key = issue("reader")
    assert is_problem(as_role("editor").delete(f"/v1/keys/{key['id']}"), 403)
