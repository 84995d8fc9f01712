"""The `claimledger` command line, run as a subprocess against real stores (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.demo import METRICS, PREFIX, RELATIONS, SOURCES, load_demo
from domain.keys import hash_secret, key_id_of
from projections.reads.queries import ClaimFilters

from .conftest import ACTOR, CliResult, RunCli, StoreAt

pytestmark = pytest.mark.integration

KILLED = "dprk-in-russia/killed"
SERVER_FIELDS = ("id", "recorded_at", "recorded_by")


def assert_one_line_error(done: CliResult) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("claimledger: ")
    return lines[0]


@pytest.fixture
def demo_store(store_at: StoreAt) -> StoreAt:
    """The §7 seed, loaded and closed again."""
    store = store_at.open()
    try:
        assert load_demo(store.ledger) is not None
    finally:
        store.close()
    return store_at


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# Keys


def test_keys_are_created_listed_and_revoked_from_the_command_line(
    store_at: StoreAt, run_cli: RunCli
) -> None:
    created = run_cli("keys", "create", "--name", "ci robot", "--role", "editor")
    assert created.returncode == 0, created.stderr
    key_id = re.search(r"^id: (\S+)$", created.stdout, re.M)
    secret = re.search(r"^secret \(shown once\): (clk_\S+)$", created.stdout, re.M)
    assert key_id and secret, created.stdout
    assert key_id_of(secret[1]) == UUID(key_id[1])

    listed = run_cli("keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert key_id[1] in listed.stdout
    assert "ci robot" in listed.stdout
    assert "editor" in listed.stdout
    assert secret[1] not in listed.stdout

    revoked = run_cli("keys", "revoke", key_id[1])
    assert revoked.returncode == 0, revoked.stderr
    assert f"revoked {key_id[1]}" in revoked.stdout

    store = store_at.open()
    try:
        store.runner.catch_up()
        found = store.queries.key_by_hash(hash_secret(secret[1]))
        assert found is not None
        assert (found["id"], found["role"]) == (key_id[1], "editor")
        assert found["revoked_at"] is not None
    finally:
        store.close()

    again = run_cli("keys", "revoke", key_id[1])
    assert "already revoked" in assert_one_line_error(again)


# Estimates


def test_estimate_prints_the_best_figure_of_the_demo(demo_store: StoreAt, run_cli: RunCli) -> None:
    done = run_cli("estimate", KILLED)
    assert done.returncode == 0, done.stderr
    assert "best 300" in done.stdout
    assert "low 300" in done.stdout
    assert "high 1000" in done.stdout
    assert "evidence contested" in done.stdout


def test_estimate_known_at_answers_as_the_ledger_stood_before_a_retraction(
    demo_store: StoreAt, run_cli: RunCli
) -> None:
    store = demo_store.open()
    try:
        store.runner.catch_up()
        claims = store.queries.claims(ClaimFilters(metric=KILLED, origin="south-korea"), None, 5)
        (south_korea,) = claims.items
        before = store.queries.claim(south_korea["id"])["recorded_at"]
        store.ledger.retract_claim(UUID(south_korea["id"]), "withdrawn", None, ACTOR)
    finally:
        store.close()

    now = run_cli("estimate", KILLED)
    assert now.returncode == 0, now.stderr
    assert "best 1000" in now.stdout

    then = run_cli("estimate", KILLED, "--known-at", before)
    assert then.returncode == 0, then.stderr
    assert "best 300" in then.stdout
    assert f"as known at {before}" in then.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("keys", "create", "--name", "x", "--role", "boss"), "--role"),
        (("estimate", KILLED, "--known-at", "nonsense"), "nonsense"),
        (("estimate", KILLED, "--valid-at", "nonsense"), "nonsense"),
        (("estimate", KILLED, "--known-at", "20250101"), "20250101"),
        (("estimate", KILLED, "--known-at", "2025-W01-1"), "2025-W01-1"),
        (("estimate", KILLED, "--valid-at", "20250101"), "20250101"),
        (("estimate", KILLED, "--method", "coin-toss"), "coin-toss"),
        (("estimate", KILLED, "--known-at", "2001-01-01"), "was not defined"),
        (("estimate", "no/such-metric"), "does not exist"),
        (("keys", "revoke", "not-a-uuid"), "not-a-uuid"),
        (("keys", "revoke", "3fa85f64-5717-4562-b3fc-2c963f66afa6"), "does not exist"),
        (("import", "no-such-file.jsonl"), "no such file"),
        (("no-such-command",), "no-such-command"),
    ],
)
def test_a_bad_argument_gives_one_line_on_stderr_and_a_non_zero_exit(
    demo_store: StoreAt, run_cli: RunCli, args: tuple[str, ...], says: str
) -> None:
    assert says in assert_one_line_error(run_cli(*args))


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////etc/passwd/x.db",
        "postgresql://user:pass@127.0.0.1:1/claimledger",
        "mysql://user@host/db",
    ],
)
def test_an_unreachable_store_gives_one_line_on_stderr_and_a_non_zero_exit(
    run_cli: RunCli, cli_env: dict[str, str], url: str
) -> None:
    env = {**cli_env, "CLAIMLEDGER_DATABASE_URL": url}
    assert_one_line_error(run_cli("keys", "list", env=env))


def test_a_file_that_is_not_a_database_gives_one_line_on_stderr_and_a_non_zero_exit(
    tmp_path: Path, run_cli: RunCli, cli_env: dict[str, str]
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not an SQLite database, just some text " * 10)
    env = {**cli_env, "CLAIMLEDGER_DATABASE_URL": f"sqlite:///{garbage}"}
    assert "not a database" in assert_one_line_error(run_cli("keys", "list", env=env))


# Import and export


IMPORTED = [
    {
        "metric": KILLED,
        "value": 450,
        "qualifier": "approximately",
        "as_of": "2025-02-01",
        "reported_by": "nyt",
        "attributed_to": ["us-defense-official"],
        "published_at": "2025-02-02",
        "url": "https://example.org/report",
        "quote": "about 450",
    },
    {
        "metric": "dprk-in-russia/wounded",
        "value": 1500,
        "qualifier": "range",
        "value_high": 1800,
        "as_of": "2025-02-01",
        "reported_by": "nyt",
    },
    {
        "metric": "dprk-in-russia/casualty-rate",
        "value": 36.5,
        "as_of": "2025-02-01",
        "reported_by": "nyt",
        "note": "share of «deployed»",
    },
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n\n" for row in rows))
    return path


def test_imported_claims_come_back_out_of_export_with_their_fields(
    demo_store: StoreAt, tmp_path: Path, run_cli: RunCli
) -> None:
    imported = run_cli("import", str(write_jsonl(tmp_path / "claims.jsonl", IMPORTED)))
    assert imported.returncode == 0, imported.stderr
    assert "imported 3 claims" in imported.stdout

    exported = run_cli("export")
    assert exported.returncode == 0, exported.stderr
    claims = jsonl(exported.stdout)
    assert len(claims) == 13
    mine = [c for c in claims if c["reported_by"] == "nyt"]
    assert len(mine) == 3
    for row, claim in zip(IMPORTED, mine, strict=True):
        for name, value in row.items():
            assert claim[name] == value, name
        assert claim["status"] == "active"
        assert claim["credibility"] == 6
        assert claim["recorded_by"] == "cli"
        assert claim["version"] == 1
    assert mine[0]["origin"] == "us-defense-official"
    assert mine[1]["value_high"] == 1800
    assert mine[2]["qualifier"] == "exact"


def test_export_events_lists_every_event_in_position_order(
    demo_store: StoreAt, tmp_path: Path, run_cli: RunCli
) -> None:
    run_cli("import", str(write_jsonl(tmp_path / "claims.jsonl", IMPORTED)))
    events = jsonl(run_cli("export", "--events").stdout)
    claims = jsonl(run_cli("export").stdout)

    seeded = len(SOURCES) + len(METRICS) + len(RELATIONS)
    assert [e["position"] for e in events] == list(range(1, seeded + 14))
    assert {e["type"] for e in events} == {
        "Source.Registered",
        "Metric.Defined",
        "Claim.Recorded",
        "Relation.Defined",
    }
    recorded = [e for e in events if e["type"] == "Claim.Recorded"]
    assert [e["stream"] for e in recorded] == [c["id"] for c in claims]
    assert all(e["version"] == 1 for e in recorded)
    last = recorded[-1]
    assert last["actor"] == "cli"
    assert last["data"]["value"] == "36.5"  # decimals are strings in event data
    assert last["data"]["note"] == "share of «deployed»"
    assert set(last) == {"position", "stream", "version", "type", "recorded_at", "actor", "data"}


def test_exported_claims_import_into_another_store_and_export_the_same(
    demo_store: StoreAt, tmp_path: Path, run_cli: RunCli, cli_env: dict[str, str]
) -> None:
    run_cli("import", str(write_jsonl(tmp_path / "claims.jsonl", IMPORTED)))
    first = jsonl(run_cli("export").stdout)

    other_at = demo_store.sibling()
    other = other_at.open()
    try:
        for slug, name, kind in SOURCES:
            other.ledger.register_source(slug, name, kind, None, None, ACTOR)
        for slug, name, unit in METRICS:
            other.ledger.define_metric(PREFIX + slug, name, unit, None, ACTOR)
    finally:
        other.close()
    derived = ("origin", "status", "credibility", "version", *SERVER_FIELDS)
    requests = [{k: v for k, v in c.items() if k not in derived} for c in first]
    env = {**cli_env, "CLAIMLEDGER_DATABASE_URL": other_at.url}
    done = run_cli("import", str(write_jsonl(tmp_path / "again.jsonl", requests)), env=env)
    assert done.returncode == 0, done.stderr
    second = jsonl(run_cli("export", env=env).stdout)

    def comparable(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.items() if k not in SERVER_FIELDS} for c in claims]

    assert comparable(second) == comparable(first)


def test_an_invalid_line_imports_nothing_and_names_the_line(
    demo_store: StoreAt, tmp_path: Path, run_cli: RunCli
) -> None:
    bad = [*IMPORTED[:2], {**IMPORTED[0], "value": -1}]
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in bad))
    message = assert_one_line_error(run_cli("import", str(path)))
    assert f"{path}:3: value" in message
    assert "nothing imported" in message
    assert len(jsonl(run_cli("export").stdout)) == 10


def test_an_import_that_breaks_a_ledger_rule_imports_nothing(
    demo_store: StoreAt, tmp_path: Path, run_cli: RunCli
) -> None:
    bad = [*IMPORTED[:2], {**IMPORTED[0], "reported_by": "nobody-known"}]
    message = assert_one_line_error(run_cli("import", str(write_jsonl(tmp_path / "b.jsonl", bad))))
    assert "nobody-known" in message
    assert len(jsonl(run_cli("export").stdout)) == 10
