"""§6 `claimledger verify --url` against the real server: it passes, extends what it
verified before, and refuses a log that differs from the one it remembers.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from tests.e2e.audit.client import (
    edit_state,
    head,
    new_source,
    remembered,
    verify_url,
)
from tests.e2e.support import LedgerServer

pytestmark = pytest.mark.e2e


def test_verify_url_passes_twice_the_second_time_extending_the_earlier_head(
    server: LedgerServer, admin: httpx.Client, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"

    first = verify_url(server.base_url, server.admin_key, state)
    size = json.loads(state.read_text())["tree_size"]
    new_source(admin)
    second = verify_url(server.base_url, server.admin_key, state)

    assert first.returncode == 0, first.stderr
    assert f"verified {server.base_url}: {size} leaves" in first.stdout
    assert "extends" not in first.stdout
    assert second.returncode == 0, second.stderr
    assert f"{size + 1} leaves" in second.stdout
    assert f"extends the head of size {size} verified before" in second.stdout
    saved = json.loads(state.read_text())
    assert saved["tree_size"] == size + 1
    assert saved["root_hash"] == head(admin)["root_hash"]


def test_verify_url_prints_a_state_path_that_looks_like_console_markup_as_is(
    server: LedgerServer, tmp_path: Path
) -> None:
    state = tmp_path / "[/bold]:warning:" / "state.json"

    run = verify_url(server.base_url, server.admin_key, state)

    assert run.returncode == 0, run.stderr
    assert f"state in {state}" in run.stdout
    assert state.is_file()


def test_verify_url_refuses_a_log_whose_history_differs_from_the_remembered_root(
    server: LedgerServer, tmp_path: Path
) -> None:
    state = remembered(server, tmp_path)
    saved = json.loads(state.read_text())
    flipped = ("0" if saved["root_hash"][0] != "0" else "1") + saved["root_hash"][1:]
    edit_state(state, root_hash=flipped)

    line = verify_url(server.base_url, server.admin_key, state).failure_line()

    assert "history rewritten" in line
    assert json.loads(state.read_text())["root_hash"] == flipped, "a failure saves nothing"


def test_verify_url_refuses_a_log_shorter_than_the_remembered_one(
    server: LedgerServer, tmp_path: Path
) -> None:
    state = remembered(server, tmp_path)
    size = json.loads(state.read_text())["tree_size"]
    edit_state(state, tree_size=size + 5)

    line = verify_url(server.base_url, server.admin_key, state).failure_line()

    assert f"the log shrank from {size + 5} to {size} leaves" in line


def test_verify_url_refuses_a_server_signing_with_another_key_than_last_time(
    server: LedgerServer, tmp_path: Path
) -> None:
    state = remembered(server, tmp_path)
    other = Ed25519PrivateKey.generate().public_key()
    raw = other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    edit_state(state, public_key=base64.b64encode(raw).decode())

    line = verify_url(server.base_url, server.admin_key, state).failure_line()

    assert "another key" in line


def test_verify_url_with_an_unreadable_state_file_fails_in_one_line(
    server: LedgerServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")

    line = verify_url(server.base_url, server.admin_key, state).failure_line()

    assert "state file" in line
