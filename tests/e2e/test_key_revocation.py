"""Keys take effect when the answer is sent (§5): an issued key works on its very first
request, a revoked key is refused by the very next one, in every process, and an open
event stream of a revoked key ends before its next event. The key is checked before any
X-Min-Position wait."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import STORES
from tests.e2e.conftest import store_settings
from tests.e2e.support import LedgerServer, is_problem, position, running_server, unique

pytestmark = pytest.mark.e2e

TRIALS = 20


def issue(admin: httpx.Client, role: str) -> dict[str, Any]:
    response = admin.post("/v1/keys", json={"name": unique(role), "role": role})
    assert response.status_code == 201, response.text
    return {**response.json(), "position": position(response)}


def a_source() -> dict[str, str]:
    slug = unique("revocation")
    return {"id": slug, "name": slug, "kind": "ngo"}


def is_unauthorized(response: httpx.Response) -> bool:
    return is_problem(response, 401) and response.headers["WWW-Authenticate"] == "Bearer"


def test_a_key_works_on_its_very_first_request_after_issuance(
    server: LedgerServer, admin: httpx.Client
) -> None:
    for _ in range(TRIALS):
        key = issue(admin, "contributor")
        with server.client(key["secret"]) as holder:
            written = holder.post("/v1/sources", json=a_source())  # no X-Min-Position
        assert written.status_code == 201, written.text


def test_a_revoked_key_is_refused_by_the_very_next_request(
    server: LedgerServer, admin: httpx.Client
) -> None:
    for _ in range(TRIALS):
        key = issue(admin, "contributor")
        with server.client(key["secret"]) as holder:
            assert holder.post("/v1/sources", json=a_source()).status_code == 201
            assert admin.delete(f"/v1/keys/{key['id']}").status_code == 200
            written = holder.post("/v1/sources", json=(source := a_source()))
        assert is_unauthorized(written), written.text
        read = admin.get(f"/v1/sources/{source['id']}", headers=caught_up(admin))
        assert read.status_code == 404, "the revoked key wrote"


def test_a_secret_with_another_keys_id_is_refused(
    server: LedgerServer, admin: httpx.Client
) -> None:
    key, other = issue(admin, "reader"), issue(admin, "reader")
    forged = "clk_" + other["id"].replace("-", "") + key["secret"][36:]
    with server.client(forged) as holder:
        assert is_unauthorized(holder.get("/v1/sources"))


def caught_up(client: httpx.Client) -> dict[str, str]:
    return {"X-Min-Position": str(client.get("/readyz").json()["position"])}


def test_an_open_event_stream_of_a_revoked_key_ends_before_its_next_event(
    server: LedgerServer, admin: httpx.Client
) -> None:
    key = issue(admin, "reader")
    after = admin.get("/readyz").json()["position"]
    received: list[str] = []
    with (
        server.client(key["secret"]) as holder,
        holder.stream("GET", "/v1/audit/events/stream", params={"after": after}) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        assert admin.delete(f"/v1/keys/{key['id']}").status_code == 200
        assert admin.post("/v1/sources", json=a_source()).status_code == 201
        # Ends (the iteration stops) instead of sending the revocation or the new source.
        for line in lines:
            if line.startswith("id:"):
                received.append(line)
                break
    assert received == []


def test_an_open_event_stream_of_a_valid_key_goes_on(
    server: LedgerServer, admin: httpx.Client
) -> None:
    key = issue(admin, "reader")
    after = admin.get("/readyz").json()["position"]
    with (
        server.client(key["secret"]) as holder,
        holder.stream("GET", "/v1/audit/events/stream", params={"after": after}) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        written = admin.post("/v1/sources", json=a_source())
        first = next(line for line in lines if line.startswith("id:"))
    assert first == f"id: {position(written)}"


# The key before X-Min-Position


FAR_AHEAD = str(10**15)


def test_a_keyless_request_past_the_log_is_401_without_waiting(anonymous: httpx.Client) -> None:
    response = anonymous.get("/v1/claims", headers={"X-Min-Position": FAR_AHEAD})
    assert is_unauthorized(response), response.text  # not a 503 after waiting


def test_a_bad_key_past_the_log_is_401_without_waiting(server: LedgerServer) -> None:
    with server.client("clk_" + "0" * 32 + "_not-a-key") as forged:
        response = forged.get("/v1/claims", headers={"X-Min-Position": FAR_AHEAD})
    assert is_unauthorized(response), response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/claims"), ("GET", "/v1/sources"), ("POST", "/v1/sources")],
)
def test_a_position_past_the_end_of_the_log_is_422_at_once(
    admin: httpx.Client, method: str, path: str
) -> None:
    last = admin.get("/readyz").json()["position"]
    ahead = last + 1000
    response = admin.request(method, path, json=a_source(), headers={"X-Min-Position": str(ahead)})
    assert is_problem(response, 422), response.text
    assert str(ahead) in response.json()["detail"]
    assert "last position" in response.json()["detail"]


def test_a_position_the_log_holds_is_waited_for_and_answered(admin: httpx.Client) -> None:
    written = admin.post("/v1/sources", json=(source := a_source()))
    read = admin.get(
        f"/v1/sources/{source['id']}", headers={"X-Min-Position": str(position(written))}
    )
    assert read.status_code == 200, read.text


# Views that never move: keys must still take effect at once


@pytest.fixture(scope="module", params=STORES)
def unprojected(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LedgerServer]:
    """A server that leaves the projections to a `claimledger worker` that never runs:
    its views stay where the seed left them, as far behind as a view can lag."""
    directory = tmp_path_factory.mktemp("unprojected")
    settings = store_settings(request, directory)
    with running_server(
        directory, projections="worker", min_position_timeout="1", **settings
    ) as server:
        yield server


def test_keys_take_effect_at_once_while_the_views_lag(unprojected: LedgerServer) -> None:
    with unprojected.client() as admin:
        for _ in range(TRIALS // 4):
            key = issue(admin, "contributor")
            with unprojected.client(key["secret"]) as holder:
                first = holder.post("/v1/sources", json=a_source())
                assert first.status_code == 201, first.text
                assert admin.delete(f"/v1/keys/{key['id']}").status_code == 200
                assert is_unauthorized(holder.post("/v1/sources", json=a_source()))


def test_a_position_the_views_never_reach_is_503_with_retry_after(
    unprojected: LedgerServer,
) -> None:
    with unprojected.client() as admin:
        written = admin.post("/v1/sources", json=a_source())
        waited = admin.get("/v1/sources", headers={"X-Min-Position": str(position(written))})
    assert is_problem(waited, 503), waited.text
    assert int(waited.headers["Retry-After"]) >= 1


# Several API processes on one PostgreSQL database


@pytest.fixture(scope="module")
def two_processes(
    session_postgres_databases: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LedgerServer, LedgerServer]]:
    """Two separate `serve` processes on one database, each with its own port; the first
    runs the projections, the second leaves them to it."""
    url = session_postgres_databases()
    first_dir: Path = tmp_path_factory.mktemp("first-process")
    second_dir: Path = tmp_path_factory.mktemp("second-process")
    with (
        running_server(first_dir, database_url=url) as first,
        running_server(second_dir, database_url=url, projections="worker") as second,
    ):
        yield first, second


@pytest.mark.postgres
def test_a_key_revoked_through_one_process_is_refused_by_another_at_once(
    two_processes: tuple[LedgerServer, LedgerServer],
) -> None:
    for one, other in (two_processes, reversed(two_processes)):
        with one.client() as admin:
            for _ in range(TRIALS // 2):
                key = issue(admin, "contributor")
                with other.client(key["secret"]) as holder:
                    first = holder.post("/v1/sources", json=a_source())
                    assert first.status_code == 201, first.text  # issued through one
                    assert admin.delete(f"/v1/keys/{key['id']}").status_code == 200
                    refused = holder.post("/v1/sources", json=a_source())
                assert is_unauthorized(refused), refused.text
