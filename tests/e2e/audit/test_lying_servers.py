"""§6 `claimledger verify --url` against servers that lie: a proxy in front of the real
one rewrites what it serves, and every lie is refused in one line.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from tests.e2e.audit.client import (
    Event,
    canonical,
    leaf_of,
    new_source,
    remembered,
    root_of,
    verify_url,
    whole_feed,
)
from tests.e2e.support import LedgerServer

pytestmark = pytest.mark.e2e


Rewrite = Callable[[str, dict[str, str], Any], Any]


@dataclass
class Forgery:
    """What a lying server changes in the real server's answers."""

    upstream: httpx.Client
    key: Ed25519PrivateKey | None = None  # serve this key and sign every head with it
    alter: Callable[[Event], None] | None = None  # edit events of the feed in place
    recompute_leaves: bool = False  # make an altered event's leaf_hash match its fields
    skip: set[int] = field(default_factory=set)  # positions left out of the feed
    root_of_head: Callable[[str], str] = lambda root: root  # the root a (re)signed head claims
    rewrite: Rewrite = lambda path, params, body: body  # a last edit of any answer

    def feed(self) -> list[Event]:
        events = []
        for event in whole_feed(self.upstream):
            if event["position"] in self.skip:
                continue
            forged = copy.deepcopy(event)
            if self.alter is not None:
                self.alter(forged)
                if self.recompute_leaves:
                    forged["leaf_hash"] = leaf_of(forged)
            events.append(forged)
        return events

    def answer(self, path: str, params: dict[str, str], body: Any) -> Any:
        if path == "/v1/audit/events":
            after, limit = int(params.get("after", 0)), int(params.get("limit", 100))
            later = [e for e in self.feed() if e["position"] > after]
            page = later[:limit]
            body = {"events": page, "next_after": page[-1]["position"] if later[limit:] else None}
        elif path == "/v1/audit/public-key" and self.key is not None:
            raw = self.key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            body = {
                "key_id": hashlib.sha256(raw).hexdigest()[:16],
                "algorithm": "Ed25519",
                "public_key": base64.b64encode(raw).decode(),
            }
        elif path == "/v1/audit/tree-head" and self.key is not None:
            size = body["tree_size"]
            root = self.root_of_head(root_of(self.feed(), size))
            body = sign_head(self.key, size, root, body["timestamp"])
        return self.rewrite(path, params, body)


def sign_head(key: Ed25519PrivateKey, size: int, root: str, timestamp: str) -> dict[str, Any]:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    message = canonical({"tree_size": size, "root_hash": root, "timestamp": timestamp})
    return {
        "tree_size": size,
        "root_hash": root,
        "timestamp": timestamp,
        "signature": base64.b64encode(key.sign(message)).decode(),
        "key_id": hashlib.sha256(raw).hexdigest()[:16],
    }


@dataclass
class LyingServer:
    url: str
    forgery: Forgery


@pytest.fixture
def lying_server(server: LedgerServer) -> Iterator[Callable[..., LyingServer]]:
    """Starts proxies on 127.0.0.1 that answer from the real server, rewritten."""
    started: list[tuple[ThreadingHTTPServer, httpx.Client]] = []

    def start(**forgery: Any) -> LyingServer:
        upstream = server.client()
        lie = Forgery(upstream, **forgery)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query))
                answer = upstream.get(self.path)
                body = lie.answer(parts.path, params, answer.json())
                payload = json.dumps(body).encode()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        started.append((httpd, upstream))
        return LyingServer(f"http://127.0.0.1:{httpd.server_address[1]}", lie)

    yield start
    for httpd, upstream in started:
        httpd.shutdown()
        httpd.server_close()
        upstream.close()


def first_claim(events: list[Event]) -> Event:
    return next(e for e in events if e["type"] == "Claim.Recorded")


def change_value(position: int, value: str = "1001") -> Callable[[Event], None]:
    def alter(event: Event) -> None:
        if event["position"] == position:
            event["data"]["value"] = value

    return alter


def describe(event: Event) -> str:
    return (
        f"position {event['position']}, leaf index {event['leaf_index']}, "
        f"stream {event['stream']}, version {event['version']}"
    )


def test_an_honest_proxy_passes_so_the_lies_below_are_what_fails(
    server: LedgerServer, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    honest = lying_server()
    resigning = lying_server(key=Ed25519PrivateKey.generate())

    plain = verify_url(honest.url, server.admin_key, tmp_path / "plain.json")
    resigned = verify_url(resigning.url, server.admin_key, tmp_path / "resigned.json")

    assert plain.returncode == 0, plain.stderr
    assert resigned.returncode == 0, resigned.stderr


def test_verify_url_refuses_an_event_whose_data_does_not_hash_to_its_leaf(
    server: LedgerServer,
    admin: httpx.Client,
    lying_server: Callable[..., LyingServer],
    tmp_path: Path,
) -> None:
    claim = first_claim(whole_feed(admin))
    liar = lying_server(alter=change_value(claim["position"]))

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert f"{describe(claim)}: the event's fields do not hash to its leaf_hash" in line
    assert not (tmp_path / "state.json").exists()


def test_verify_url_refuses_a_head_whose_root_was_changed_after_signing(
    server: LedgerServer, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    def rewrite(path: str, params: dict[str, str], body: Any) -> Any:
        if path == "/v1/audit/tree-head":
            body["root_hash"] = "ab" * 32
        return body

    liar = lying_server(rewrite=rewrite)

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert "bad signature" in line


def test_verify_url_refuses_a_signed_head_whose_root_is_not_the_root_of_the_feed(
    server: LedgerServer, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    liar = lying_server(key=Ed25519PrivateKey.generate(), root_of_head=lambda root: root[::-1])

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert re.search(r"the signed root of size \d+ is not the root of the served events", line)


def test_verify_url_refuses_a_rewritten_event_even_with_its_leaf_and_head_recomputed(
    server: LedgerServer,
    admin: httpx.Client,
    lying_server: Callable[..., LyingServer],
    tmp_path: Path,
) -> None:
    claim = first_claim(whole_feed(admin))
    liar = lying_server(
        key=Ed25519PrivateKey.generate(),
        alter=change_value(claim["position"]),
        recompute_leaves=True,
    )

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert re.search(r"the inclusion proof of leaf \d+ does not verify", line)


def test_verify_url_refuses_a_history_rewrite_by_the_key_holder_it_verified_before(
    server: LedgerServer,
    admin: httpx.Client,
    lying_server: Callable[..., LyingServer],
    tmp_path: Path,
) -> None:
    key = Ed25519PrivateKey.generate()
    state = tmp_path / "state.json"
    honest = verify_url(lying_server(key=key).url, server.admin_key, state)
    assert honest.returncode == 0, honest.stderr
    claim = first_claim(whole_feed(admin))

    liar = lying_server(key=key, alter=change_value(claim["position"]), recompute_leaves=True)

    line = verify_url(liar.url, server.admin_key, state).failure_line()

    assert "history rewritten" in line


def test_verify_url_refuses_a_feed_with_an_event_left_out(
    server: LedgerServer,
    admin: httpx.Client,
    lying_server: Callable[..., LyingServer],
    tmp_path: Path,
) -> None:
    events = whole_feed(admin)
    hidden, next_one = events[4], events[5]
    liar = lying_server(skip={hidden["position"]})

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert f"{describe(next_one)}: expected leaf index {hidden['leaf_index']}" in line


def test_verify_url_refuses_a_feed_missing_its_newest_event(
    server: LedgerServer,
    admin: httpx.Client,
    lying_server: Callable[..., LyingServer],
    tmp_path: Path,
) -> None:
    events = whole_feed(admin)
    liar = lying_server(skip={events[-1]["position"]})

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert f"the feed has {len(events) - 1} events, the head claims {len(events)}" in line


def test_verify_url_refuses_a_served_estimate_the_events_do_not_imply(
    server: LedgerServer, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    def rewrite(path: str, params: dict[str, str], body: Any) -> Any:
        if path == "/v1/metrics":
            for item in body["items"]:
                if item["id"] == "dprk-in-russia/killed":
                    item["estimate"]["best"] = 12345
        return body

    liar = lying_server(rewrite=rewrite)

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert "view metrics, key id='dprk-in-russia/killed': served estimate" in line


def test_verify_url_refuses_a_served_estimate_that_hides_its_open_top(
    server: LedgerServer, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    # "more than 10,000" served as if 10000 were a ceiling
    def rewrite(path: str, params: dict[str, str], body: Any) -> Any:
        if path == "/v1/metrics":
            for item in body["items"]:
                if item["id"] == "dprk-in-russia/deployed":
                    assert item["estimate"]["high_open"] is True
                    item["estimate"]["high_open"] = False
        return body

    liar = lying_server(rewrite=rewrite)

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert "view metrics, key id='dprk-in-russia/deployed': served estimate" in line


def test_verify_url_refuses_a_forged_inclusion_proof(
    server: LedgerServer, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    def rewrite(path: str, params: dict[str, str], body: Any) -> Any:
        if path == "/v1/audit/proofs/inclusion":
            body["audit_path"] = list(reversed(body["audit_path"]))
        return body

    liar = lying_server(rewrite=rewrite)

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert re.search(r"the inclusion proof of leaf \d+ does not verify", line)


def test_verify_url_refuses_a_forged_consistency_proof(
    server: LedgerServer,
    admin: httpx.Client,
    lying_server: Callable[..., LyingServer],
    tmp_path: Path,
) -> None:
    state = remembered(server, tmp_path)
    size = json.loads(state.read_text())["tree_size"]
    new_source(admin)

    def rewrite(path: str, params: dict[str, str], body: Any) -> Any:
        if path == "/v1/audit/proofs/consistency":
            body["consistency_path"] = [*body["consistency_path"], "00" * 32]
        return body

    liar = lying_server(rewrite=rewrite)

    line = verify_url(liar.url, server.admin_key, state).failure_line()

    assert f"the consistency proof from size {size} to {size + 1} does not verify" in line
