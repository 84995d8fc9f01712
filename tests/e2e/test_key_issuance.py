"""Issuing keys with an Idempotency-Key: stored answers never hold a secret, and a retry
after the first answer was lost issues nothing twice. SQLite store files are private."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import STORES
from tests.e2e.conftest import store_settings
from tests.e2e.support import LedgerServer, is_problem, position, running_server, unique

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Served:
    server: LedgerServer
    database_url: str

    def idempotency_bodies(self) -> list[str]:
        return [bytes(body).decode() for (body,) in self.sql("SELECT body FROM idempotency")]

    def forget_answers(self) -> None:
        """What a crash between the key's event and the stored answer leaves: no row."""
        self.sql("DELETE FROM idempotency")

    def sql(self, statement: str) -> list[Any]:
        if self.database_url.startswith("sqlite:///"):
            views = self.server.directory / "ledger.views.db"
            with closing(sqlite3.connect(views, isolation_level=None)) as db:
                return db.execute(statement).fetchall()
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module", params=STORES)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("key-issuance")
    settings = store_settings(request, directory)
    with running_server(directory, **settings) as server:
        yield Served(server, settings["database_url"])


@pytest.fixture
def admin(served: Served) -> Iterator[httpx.Client]:
    with served.server.client() as client:
        yield client


def issue(admin: httpx.Client, body: dict[str, str], idempotency_key: str) -> httpx.Response:
    return admin.post("/v1/keys", json=body, headers={"Idempotency-Key": idempotency_key})


def last_position(admin: httpx.Client) -> int:
    value: int = admin.get("/readyz").json()["position"]
    return value


def test_a_replayed_issuance_answers_the_same_key_without_its_secret(
    admin: httpx.Client,
) -> None:
    body, idempotency_key = {"name": unique("desk"), "role": "reader"}, unique("retry")
    first = issue(admin, body, idempotency_key)
    assert first.status_code == 201, first.text
    assert first.json()["secret"]
    written = last_position(admin)
    again = issue(admin, body, idempotency_key)
    assert again.status_code == 201, again.text
    assert again.json() == {**first.json(), "secret": None}
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert last_position(admin) == written


def test_the_idempotency_store_holds_no_secret(served: Served, admin: httpx.Client) -> None:
    first = issue(admin, {"name": unique("desk"), "role": "editor"}, unique("retry"))
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    bodies = served.idempotency_bodies()
    assert any(first.json()["id"] in body for body in bodies)
    assert not [body for body in bodies if secret in body or '"secret":"' in body]


def test_a_retry_after_a_lost_answer_answers_the_key_already_issued(
    served: Served, admin: httpx.Client
) -> None:
    # given: a key issued, and its stored answer gone as if the server died before it
    body, idempotency_key = {"name": unique("desk"), "role": "contributor"}, unique("retry")
    first = issue(admin, body, idempotency_key)
    assert first.status_code == 201, first.text
    served.forget_answers()
    written = last_position(admin)
    # when
    again = issue(admin, body, idempotency_key)
    # then: the same key, no second one, and no secret shown twice
    assert again.status_code == 201, again.text
    assert again.json() == {**first.json(), "secret": None}
    assert position(again) >= position(first)
    assert last_position(admin) == written
    # and the key issued first still works
    with served.server.client(first.json()["secret"]) as holder:
        assert holder.get("/v1/sources").status_code == 200


def test_a_retry_after_a_lost_answer_with_another_body_is_422(
    served: Served, admin: httpx.Client
) -> None:
    body, idempotency_key = {"name": unique("desk"), "role": "reader"}, unique("retry")
    assert issue(admin, body, idempotency_key).status_code == 201
    served.forget_answers()
    written = last_position(admin)
    other = issue(admin, {**body, "role": "admin"}, idempotency_key)
    assert is_problem(other, 422), other.text
    assert last_position(admin) == written


def test_issuances_without_an_idempotency_key_get_new_keys(admin: httpx.Client) -> None:
    body = {"name": unique("desk"), "role": "reader"}
    first, second = admin.post("/v1/keys", json=body), admin.post("/v1/keys", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


def test_the_sqlite_store_files_are_readable_by_their_owner_only(served: Served) -> None:
    if not served.database_url.startswith("sqlite:///"):
        pytest.skip("files of a SQLite store")
    directory: Path = served.server.directory
    files = [
        directory / name
        for stem in ("ledger.db", "ledger.views.db")
        for name in (stem, stem + "-wal", stem + "-shm")
    ]
    assert all(path.exists() for path in files), sorted(p.name for p in directory.iterdir())
    modes = {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in files}
    assert modes == {path.name: "0o600" for path in files}
