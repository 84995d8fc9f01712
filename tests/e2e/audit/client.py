"""What the audit tests share: what any client can compute from the wire alone (hashlib,
json and `cryptography`, no project code), reading the feed and heads, and running
`claimledger verify --url` as a separate process."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey,
)

from tests.e2e.support import CLAIMLEDGER, LedgerServer

Event = dict[str, Any]


# ---------------------------------------------------------------------------
# What any client can compute from the wire alone


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_of(event: Event) -> str:
    """§6: SHA-256(0x00 ‖ canonical JSON of the six fields the feed shows)."""
    fields = {k: event[k] for k in ("stream", "version", "type", "recorded_at", "actor", "data")}
    return hashlib.sha256(b"\x00" + canonical(fields)).hexdigest()


def tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over leaf hashes, straight from the definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + tree_hash(leaves[:k]) + tree_hash(leaves[k:])).digest()


def root_of(events: list[Event], size: int | None = None) -> str:
    chosen = events if size is None else events[:size]
    return tree_hash([bytes.fromhex(leaf_of(e)) for e in chosen]).hex()


def head_signature_ok(public_key: dict[str, Any], head: dict[str, Any]) -> bool:
    message = canonical({k: head[k] for k in ("tree_size", "root_hash", "timestamp")})
    raw = base64.b64decode(public_key["public_key"])
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(head["signature"]), message)
    except InvalidSignature:
        return False
    return True


def parse_time(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def clean_environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env.update({f"CLAIMLEDGER_{k.upper()}": v for k, v in settings.items()})
    env["COLUMNS"] = "80"
    return env


def whole_feed(client: httpx.Client, limit: int = 1000, min_position: int = 0) -> list[Event]:
    """Every event of the feed, once the views have caught up to `min_position`."""
    events: list[Event] = []
    after: int | None = 0
    wait = {"X-Min-Position": str(min_position)}
    while after is not None:
        params = {"after": after, "limit": limit}
        response = client.get("/v1/audit/events", params=params, headers=wait)
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["events"]
        after = page["next_after"]
    return events


def new_source(client: httpx.Client) -> tuple[str, int]:
    """Register a source; (its id, the position of the write)."""
    slug = f"source-{secrets.token_hex(4)}"
    response = client.post("/v1/sources", json={"id": slug, "name": slug, "kind": "ngo"})
    assert response.status_code == 201, response.text
    position = int(response.headers["X-Ledger-Position"])
    caught_up = client.get(
        "/v1/audit/events", params={"limit": 1}, headers={"X-Min-Position": str(position)}
    )
    assert caught_up.status_code == 200, caught_up.text
    return slug, position


def head(client: httpx.Client, tree_size: int | None = None) -> dict[str, Any]:
    params = {} if tree_size is None else {"tree_size": tree_size}
    response = client.get("/v1/audit/tree-head", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def failure_line(self) -> str:
        assert self.returncode == 1, (self.returncode, self.stdout, self.stderr)
        assert "Traceback" not in self.stderr
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, self.stderr
        return lines[0]


def verify_url(url: str, key: str, state: Path) -> Run:
    done = subprocess.run(
        [str(CLAIMLEDGER), "verify", "--url", url, "--key", key, "--state", str(state)],
        cwd=state.parent if state.parent.is_dir() else None,
        env=clean_environment(database_url=f"sqlite:///{state.parent / 'unused.db'}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def remembered(server: LedgerServer, tmp_path: Path) -> Path:
    state = tmp_path / "state.json"
    run = verify_url(server.base_url, server.admin_key, state)
    assert run.returncode == 0, run.stderr
    return state


def edit_state(state: Path, **changes: Any) -> None:
    saved = json.loads(state.read_text())
    saved.update(changes)
    state.write_text(json.dumps(saved))
