"""§5/§6 through HTTP: the audit feed, its live stream, signed tree heads and proofs, and
`claimledger verify --url` against the real server and against servers that lie.

Everything a client checks here is recomputed from the wire with hashlib, json and
`cryptography` alone; only the RFC 9162 proof verifiers come from projections.log.merkle.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from projections.log.merkle import verify_consistency, verify_inclusion

pytestmark = pytest.mark.e2e

CLAIMLEDGER = Path(sys.executable).with_name("claimledger")
PROBLEM = "application/problem+json"
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


# ---------------------------------------------------------------------------
# The server


@dataclass
class Server:
    base_url: str
    admin_key: str
    directory: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def client(self, key: str | None = None, *, anonymous: bool = False) -> httpx.Client:
        secret = None if anonymous else (key or self.admin_key)
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=20.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env.update({f"CLAIMLEDGER_{k.upper()}": v for k, v in settings.items()})
    env["COLUMNS"] = "80"
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`claimledger serve --demo` of this module alone, on its own SQLite file."""
    directory = tmp_path_factory.mktemp("audit-log-server")
    admin_key = secrets.token_urlsafe(24)
    port = free_port()
    env = clean_environment(
        database_url=f"sqlite:///{directory / 'ledger.db'}", admin_key=admin_key
    )
    with (directory / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [str(CLAIMLEDGER), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = Server(f"http://127.0.0.1:{port}", admin_key, directory, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (directory / "server.log").read_text()
            try:
                if httpx.get(f"{running.base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def anonymous(server: Server) -> Iterator[httpx.Client]:
    with server.client(anonymous=True) as client:
        yield client


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


# ---------------------------------------------------------------------------
# The feed


def test_the_feed_pages_with_after_and_limit_until_next_after_is_null(
    admin: httpx.Client,
) -> None:
    everything = whole_feed(admin)
    pages: list[list[Event]] = []
    after: int | None = 0
    while after is not None:
        page = admin.get("/v1/audit/events", params={"after": after, "limit": 7}).json()
        pages.append(page["events"])
        if page["next_after"] is not None:
            assert page["next_after"] == page["events"][-1]["position"]
            assert len(page["events"]) == 7
        after = page["next_after"]

    assert [e for p in pages for e in p] == everything
    assert 1 <= len(pages[-1]) <= 7
    positions = [e["position"] for e in everything]
    assert positions == sorted(set(positions)) and positions[0] == 1
    assert [e["leaf_index"] for e in everything] == list(range(len(everything)))


def test_the_feed_after_the_last_position_is_empty_with_next_after_null(
    admin: httpx.Client,
) -> None:
    last = whole_feed(admin)[-1]["position"]

    page = admin.get("/v1/audit/events", params={"after": last}).json()
    exactly_full = admin.get("/v1/audit/events", params={"after": last - 3, "limit": 3}).json()

    assert page == {"events": [], "next_after": None}
    assert len(exactly_full["events"]) == 3 and exactly_full["next_after"] is None


def test_a_client_recomputes_every_leaf_hash_and_the_signed_root_from_the_feed_alone(
    admin: httpx.Client, anonymous: httpx.Client
) -> None:
    events = whole_feed(admin)
    signed = head(anonymous)
    public_key = anonymous.get("/v1/audit/public-key").json()

    for event in events:
        assert set(event) == {
            "position",
            "leaf_index",
            "stream",
            "version",
            "type",
            "recorded_at",
            "actor",
            "data",
            "leaf_hash",
        }
        assert leaf_of(event) == event["leaf_hash"], event["position"]
    assert signed["tree_size"] == len(events)
    assert signed["root_hash"] == root_of(events)
    assert head_signature_ok(public_key, signed)


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def test_decimal_values_in_event_data_are_plain_strings_and_other_numbers_integers(
    admin: httpx.Client,
) -> None:
    claim = admin.get("/v1/claims", params={"metric": "dprk-in-russia/casualty-rate"}).json()
    claim_id = claim["items"][0]["id"]
    etag = admin.get(f"/v1/claims/{claim_id}").headers["ETag"]
    corrected = admin.post(
        f"/v1/claims/{claim_id}/corrections",
        json={
            "changes": {"value": 36.5, "qualifier": "range", "value_high": 40},
            "reason": "more precise",
        },
        headers={"If-Match": etag},
    )
    assert corrected.status_code == 200, corrected.text

    events = whole_feed(admin, min_position=int(corrected.headers["X-Ledger-Position"]))

    recorded = [e for e in events if e["type"] == "Claim.Recorded"]
    assert {e["data"]["value"] for e in recorded} >= {"1000", "36", "10000", "2"}
    for event in recorded:
        assert re.fullmatch(r"-?\d+(\.\d+)?", event["data"]["value"])
    [correction] = [e for e in events if e["type"] == "Claim.Corrected" and e["stream"] == claim_id]
    assert correction["data"]["changes"] == {
        "value": "36.5",
        "qualifier": "range",
        "value_high": "40",
    }
    assert leaf_of(correction) == correction["leaf_hash"]
    for event in events:
        for value in walk(event["data"]):
            assert not isinstance(value, float), event


def test_non_ascii_text_in_event_data_hashes_the_same_for_a_client(admin: httpx.Client) -> None:
    slug = f"ukrinform-{secrets.token_hex(3)}"
    name = 'Укрінформ — «новини» 🇺🇦 \u2028 "quoted" \\ back\tslash'
    response = admin.post("/v1/sources", json={"id": slug, "name": name, "kind": "outlet"})
    assert response.status_code == 201, response.text

    events = whole_feed(admin, min_position=int(response.headers["X-Ledger-Position"]))

    [event] = [e for e in events if e["type"] == "Source.Registered" and e["data"]["slug"] == slug]
    assert event["data"]["name"] == name
    assert leaf_of(event) == event["leaf_hash"]
    ascii_escaped = json.dumps(
        {k: event[k] for k in ("stream", "version", "type", "recorded_at", "actor", "data")},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    assert hashlib.sha256(b"\x00" + ascii_escaped).hexdigest() != event["leaf_hash"]


def test_an_issued_key_appears_in_the_feed_with_its_hash_and_never_its_secret(
    admin: httpx.Client,
) -> None:
    response = admin.post("/v1/keys", json={"name": "feed-auditor", "role": "reader"})
    assert response.status_code == 201, response.text
    issued = response.json()

    events = whole_feed(admin, min_position=int(response.headers["X-Ledger-Position"]))

    [event] = [e for e in events if e["stream"] == issued["id"]]
    assert event["type"] == "ApiKey.Issued"
    assert event["data"]["name"] == "feed-auditor"
    assert event["data"]["role"] == "reader"
    assert event["data"]["key_hash"] == hashlib.sha256(issued["secret"].encode()).hexdigest()
    assert issued["secret"] not in json.dumps(events)
    assert leaf_of(event) == event["leaf_hash"]


def test_the_feed_needs_a_reader_key(server: Server, anonymous: httpx.Client) -> None:
    with server.client("not-a-key") as stranger:
        bad_key = stranger.get("/v1/audit/events")
    with server.client() as admin:
        reader = admin.post("/v1/keys", json={"name": "feed-reader", "role": "reader"}).json()
    with server.client(reader["secret"]) as client:
        as_reader = client.get("/v1/audit/events", params={"limit": 1})

    without = anonymous.get("/v1/audit/events")

    assert without.status_code == 401
    assert without.headers["content-type"].startswith(PROBLEM)
    assert bad_key.status_code == 401
    assert as_reader.status_code == 200 and len(as_reader.json()["events"]) == 1


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 1001}, {"after": -1}, {"after": "x"}, {"limit": "many"}]
)
def test_bad_feed_parameters_are_a_422_problem(admin: httpx.Client, params: dict[str, Any]) -> None:
    response = admin.get("/v1/audit/events", params=params)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)


# ---------------------------------------------------------------------------
# The live stream


def sse(response: httpx.Response) -> Iterator[dict[str, str]]:
    """Server-Sent Events, one dict of fields per event (comments and retry-only skipped)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data" and "data" in fields:
                value = fields["data"] + "\n" + value
            fields[name] = value


def take(events: Iterator[dict[str, str]], count: int) -> list[dict[str, str]]:
    return [next(events) for _ in range(count)]


def stream_client(server: Server) -> httpx.Client:
    client = server.client()
    client.timeout = httpx.Timeout(20.0, read=10.0)
    return client


def test_the_stream_resumes_after_last_event_id_without_gaps_or_repeats_and_shows_writes_live(
    server: Server, admin: httpx.Client
) -> None:
    feed = whole_feed(admin)
    first = 10
    with stream_client(server) as client:
        with client.stream("GET", "/v1/audit/events/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            opening = take(sse(response), first)
        # disconnected; reconnect as a browser would, with the last id seen
        resume = {"Last-Event-ID": opening[-1]["id"]}
        with client.stream("GET", "/v1/audit/events/stream", headers=resume) as response:
            events = sse(response)
            rest = take(events, len(feed) - first)
            slug, position = new_source(admin)
            [live] = take(events, 1)

    seen = opening + rest
    assert [int(e["id"]) for e in seen] == [e["position"] for e in feed]
    assert [json.loads(e["data"]) for e in seen] == feed
    assert [e["event"] for e in seen] == [e["type"] for e in feed]
    assert int(live["id"]) == position
    body = json.loads(live["data"])
    assert (body["type"], body["data"]["slug"]) == ("Source.Registered", slug)
    assert leaf_of(body) == body["leaf_hash"]


def test_the_stream_starts_after_the_larger_of_after_and_last_event_id(
    server: Server, admin: httpx.Client
) -> None:
    feed = whole_feed(admin)
    with stream_client(server) as client:
        with client.stream("GET", "/v1/audit/events/stream", params={"after": 5}) as response:
            [from_after] = take(sse(response), 1)
        with client.stream(
            "GET",
            "/v1/audit/events/stream",
            params={"after": 5},
            headers={"Last-Event-ID": "8"},
        ) as response:
            [from_header] = take(sse(response), 1)
        with client.stream(
            "GET",
            "/v1/audit/events/stream",
            params={"after": 12},
            headers={"Last-Event-ID": "3"},
        ) as response:
            [from_larger_after] = take(sse(response), 1)

    assert int(from_after["id"]) == feed[5]["position"]
    assert int(from_header["id"]) == feed[8]["position"]
    assert int(from_larger_after["id"]) == feed[12]["position"]


@pytest.mark.parametrize(
    "last_event_id",
    [b"\xb2", b"1\xb9", b"-3", b"3.5", b"abc", b""],
    ids=["superscript two", "one superscript one", "negative", "decimal", "letters", "empty"],
)
def test_a_last_event_id_that_is_not_a_position_is_ignored(
    server: Server, admin: httpx.Client, last_event_id: bytes
) -> None:
    feed = whole_feed(admin)
    with (
        stream_client(server) as client,
        client.stream(
            "GET",
            "/v1/audit/events/stream",
            params={"after": 2},
            headers={b"Last-Event-ID": last_event_id},
        ) as response,
    ):
        assert response.status_code == 200
        [first] = take(sse(response), 1)

    assert int(first["id"]) == feed[2]["position"]


def test_text_with_unicode_line_separators_reaches_a_stream_client_intact(
    server: Server, admin: httpx.Client
) -> None:
    slug = f"separators-{secrets.token_hex(3)}"
    name = "first\u2028second\u2029third\x85fourth"
    response = admin.post("/v1/sources", json={"id": slug, "name": name, "kind": "outlet"})
    assert response.status_code == 201, response.text
    position = int(response.headers["X-Ledger-Position"])
    [fed] = whole_feed(admin, min_position=position)[-1:]

    with (
        stream_client(server) as client,
        client.stream("GET", "/v1/audit/events/stream", params={"after": position - 1}) as stream,
    ):
        [streamed] = take(sse(stream), 1)

    body = json.loads(streamed["data"])
    assert body == fed
    assert body["data"]["name"] == name
    assert leaf_of(body) == fed["leaf_hash"]


def test_the_stream_needs_a_reader_key(anonymous: httpx.Client) -> None:
    response = anonymous.get("/v1/audit/events/stream")

    assert response.status_code == 401


def test_the_server_keeps_serving_after_streams_are_dropped(
    server: Server, admin: httpx.Client
) -> None:
    for _ in range(5):
        with (
            stream_client(server) as client,
            client.stream("GET", "/v1/audit/events/stream") as response,
        ):
            take(sse(response), 2)

    assert admin.get("/healthz").status_code == 200
    assert admin.get("/v1/audit/events", params={"limit": 1}).status_code == 200


# ---------------------------------------------------------------------------
# Public key, signed tree heads and proofs: no key needed


def test_the_public_key_is_raw_ed25519_with_its_key_id(anonymous: httpx.Client) -> None:
    response = anonymous.get("/v1/audit/public-key")

    assert response.status_code == 200
    body = response.json()
    raw = base64.b64decode(body["public_key"], validate=True)
    assert body["algorithm"] == "Ed25519"
    assert len(raw) == 32
    assert body["key_id"] == hashlib.sha256(raw).hexdigest()[:16]
    Ed25519PublicKey.from_public_bytes(raw)


def test_the_tree_head_is_signed_over_the_canonical_json_of_size_root_and_time(
    anonymous: httpx.Client,
) -> None:
    public_key = anonymous.get("/v1/audit/public-key").json()

    signed = head(anonymous)

    assert set(signed) == {"tree_size", "root_hash", "timestamp", "signature", "key_id"}
    assert signed["key_id"] == public_key["key_id"]
    assert re.fullmatch(r"[0-9a-f]{64}", signed["root_hash"])
    assert head_signature_ok(public_key, signed)
    for forged in (
        {**signed, "tree_size": signed["tree_size"] - 1},
        {**signed, "root_hash": "0" * 64},
        {**signed, "timestamp": "2000-01-01T00:00:00.000000Z"},
    ):
        assert not head_signature_ok(public_key, forged)


def test_a_head_for_an_earlier_size_has_the_root_of_that_prefix_and_is_signed_now(
    admin: httpx.Client, anonymous: httpx.Client
) -> None:
    events = whole_feed(admin)
    public_key = anonymous.get("/v1/audit/public-key").json()
    before = datetime.now(UTC)

    for size in (0, 1, 2, 3, 7, 8, 9, 16, len(events) - 1, len(events)):
        earlier = head(anonymous, size)
        assert earlier["tree_size"] == size
        assert earlier["root_hash"] == root_of(events, size), size
        assert head_signature_ok(public_key, earlier)
        assert parse_time(earlier["timestamp"]) >= before.replace(microsecond=0)
    assert head(anonymous, 0)["root_hash"] == hashlib.sha256(b"").hexdigest()


def test_head_timestamps_strictly_increase_over_successive_calls(
    anonymous: httpx.Client,
) -> None:
    stamps = [head(anonymous, size)["timestamp"] for size in [None, 3] * 15]

    times = [parse_time(t) for t in stamps]
    assert all(a < b for a, b in itertools.pairwise(times)), stamps


def test_inclusion_proofs_verify_for_many_leaves_and_sizes(
    admin: httpx.Client, anonymous: httpx.Client
) -> None:
    events = whole_feed(admin)
    n = len(events)
    checked = 0
    for size in sorted({1, 2, 5, 8, 13, 16, n - 1, n}):
        root = bytes.fromhex(head(anonymous, size)["root_hash"])
        for index in sorted({0, 1, size // 2, size - 2, size - 1} & set(range(size))):
            response = anonymous.get(
                "/v1/audit/proofs/inclusion", params={"leaf_index": index, "tree_size": size}
            )
            assert response.status_code == 200, response.text
            proof = response.json()
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            assert (proof["leaf_index"], proof["tree_size"]) == (index, size)
            assert proof["leaf_hash"] == events[index]["leaf_hash"]
            assert verify_inclusion(index, size, bytes.fromhex(proof["leaf_hash"]), path, root)
            if size > 1:
                assert (
                    not verify_inclusion(
                        index, size, bytes.fromhex(events[index - 1]["leaf_hash"]), path, root
                    )
                    or events[index - 1]["leaf_hash"] == proof["leaf_hash"]
                )
            checked += 1
    assert checked > 25


def test_consistency_proofs_verify_between_many_pairs_of_sizes(
    admin: httpx.Client, anonymous: httpx.Client
) -> None:
    n = len(whole_feed(admin))
    roots = {size: bytes.fromhex(head(anonymous, size)["root_hash"]) for size in range(n + 1)}
    pairs = [(0, n), (1, n), (1, 2), (3, 5), (4, 8), (5, 8), (7, 13), (8, 16), (3, n - 1)]
    pairs += [(n, n), (n - 1, n), (16, n), (17, n)]

    for first, second in pairs:
        response = anonymous.get(
            "/v1/audit/proofs/consistency", params={"first": first, "second": second}
        )
        assert response.status_code == 200, response.text
        proof = response.json()
        path = [bytes.fromhex(h) for h in proof["consistency_path"]]
        assert (proof["first"], proof["second"]) == (first, second)
        assert verify_consistency(first, second, roots[first], roots[second], path), (first, second)
        if 0 < first < second:
            assert not verify_consistency(first, second, roots[first - 1], roots[second], path)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/audit/proofs/inclusion", {"leaf_index": "SIZE", "tree_size": "SIZE"}),
        ("/v1/audit/proofs/inclusion", {"leaf_index": 5, "tree_size": 5}),
        ("/v1/audit/proofs/inclusion", {"leaf_index": 0, "tree_size": "SIZE+1"}),
        ("/v1/audit/proofs/inclusion", {"leaf_index": 0, "tree_size": 0}),
        ("/v1/audit/proofs/inclusion", {"leaf_index": -1, "tree_size": 3}),
        ("/v1/audit/proofs/inclusion", {"tree_size": 3}),
        ("/v1/audit/proofs/inclusion", {"leaf_index": "x", "tree_size": 3}),
        ("/v1/audit/proofs/consistency", {"first": 5, "second": 4}),
        ("/v1/audit/proofs/consistency", {"first": 1, "second": "SIZE+1"}),
        ("/v1/audit/proofs/consistency", {"first": -1, "second": 3}),
        ("/v1/audit/proofs/consistency", {"first": 1}),
        ("/v1/audit/tree-head", {"tree_size": "SIZE+1"}),
        ("/v1/audit/tree-head", {"tree_size": -1}),
        ("/v1/audit/tree-head", {"tree_size": 10**30}),
    ],
    ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()),
)
def test_bad_proof_and_head_parameters_are_a_422_problem(
    anonymous: httpx.Client, path: str, params: dict[str, Any]
) -> None:
    size = head(anonymous)["tree_size"]
    values = {k: {"SIZE": size, "SIZE+1": size + 1}.get(v, v) for k, v in params.items()}

    response = anonymous.get(path, params=values)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] and problem["detail"]


# ---------------------------------------------------------------------------
# `claimledger verify --url`


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


def test_verify_url_passes_twice_the_second_time_extending_the_earlier_head(
    server: Server, admin: httpx.Client, tmp_path: Path
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
    server: Server, tmp_path: Path
) -> None:
    state = tmp_path / "[/bold]:warning:" / "state.json"

    run = verify_url(server.base_url, server.admin_key, state)

    assert run.returncode == 0, run.stderr
    assert f"state in {state}" in run.stdout
    assert state.is_file()


def remembered(server: Server, tmp_path: Path) -> Path:
    state = tmp_path / "state.json"
    run = verify_url(server.base_url, server.admin_key, state)
    assert run.returncode == 0, run.stderr
    return state


def edit_state(state: Path, **changes: Any) -> None:
    saved = json.loads(state.read_text())
    saved.update(changes)
    state.write_text(json.dumps(saved))


def test_verify_url_refuses_a_log_whose_history_differs_from_the_remembered_root(
    server: Server, tmp_path: Path
) -> None:
    state = remembered(server, tmp_path)
    saved = json.loads(state.read_text())
    flipped = ("0" if saved["root_hash"][0] != "0" else "1") + saved["root_hash"][1:]
    edit_state(state, root_hash=flipped)

    line = verify_url(server.base_url, server.admin_key, state).failure_line()

    assert "history rewritten" in line
    assert json.loads(state.read_text())["root_hash"] == flipped, "a failure saves nothing"


def test_verify_url_refuses_a_log_shorter_than_the_remembered_one(
    server: Server, tmp_path: Path
) -> None:
    state = remembered(server, tmp_path)
    size = json.loads(state.read_text())["tree_size"]
    edit_state(state, tree_size=size + 5)

    line = verify_url(server.base_url, server.admin_key, state).failure_line()

    assert f"the log shrank from {size + 5} to {size} leaves" in line


def test_verify_url_refuses_a_server_signing_with_another_key_than_last_time(
    server: Server, tmp_path: Path
) -> None:
    state = remembered(server, tmp_path)
    other = Ed25519PrivateKey.generate().public_key()
    raw = other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    edit_state(state, public_key=base64.b64encode(raw).decode())

    line = verify_url(server.base_url, server.admin_key, state).failure_line()

    assert "another key" in line


def test_verify_url_with_an_unreadable_state_file_fails_in_one_line(
    server: Server, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")

    line = verify_url(server.base_url, server.admin_key, state).failure_line()

    assert "state file" in line


# ---------------------------------------------------------------------------
# Servers that lie: a proxy in front of the real one, rewriting what it serves


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
def lying_server(server: Server) -> Iterator[Callable[..., LyingServer]]:
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
    server: Server, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    honest = lying_server()
    resigning = lying_server(key=Ed25519PrivateKey.generate())

    plain = verify_url(honest.url, server.admin_key, tmp_path / "plain.json")
    resigned = verify_url(resigning.url, server.admin_key, tmp_path / "resigned.json")

    assert plain.returncode == 0, plain.stderr
    assert resigned.returncode == 0, resigned.stderr


def test_verify_url_refuses_an_event_whose_data_does_not_hash_to_its_leaf(
    server: Server, admin: httpx.Client, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    claim = first_claim(whole_feed(admin))
    liar = lying_server(alter=change_value(claim["position"]))

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert f"{describe(claim)}: the event's fields do not hash to its leaf_hash" in line
    assert not (tmp_path / "state.json").exists()


def test_verify_url_refuses_a_head_whose_root_was_changed_after_signing(
    server: Server, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    def rewrite(path: str, params: dict[str, str], body: Any) -> Any:
        if path == "/v1/audit/tree-head":
            body["root_hash"] = "ab" * 32
        return body

    liar = lying_server(rewrite=rewrite)

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert "bad signature" in line


def test_verify_url_refuses_a_signed_head_whose_root_is_not_the_root_of_the_feed(
    server: Server, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    liar = lying_server(key=Ed25519PrivateKey.generate(), root_of_head=lambda root: root[::-1])

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert re.search(r"the signed root of size \d+ is not the root of the served events", line)


def test_verify_url_refuses_a_rewritten_event_even_with_its_leaf_and_head_recomputed(
    server: Server, admin: httpx.Client, lying_server: Callable[..., LyingServer], tmp_path: Path
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
    server: Server, admin: httpx.Client, lying_server: Callable[..., LyingServer], tmp_path: Path
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
    server: Server, admin: httpx.Client, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    events = whole_feed(admin)
    hidden, next_one = events[4], events[5]
    liar = lying_server(skip={hidden["position"]})

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert f"{describe(next_one)}: expected leaf index {hidden['leaf_index']}" in line


def test_verify_url_refuses_a_feed_missing_its_newest_event(
    server: Server, admin: httpx.Client, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    events = whole_feed(admin)
    liar = lying_server(skip={events[-1]["position"]})

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert f"the feed has {len(events) - 1} events, the head claims {len(events)}" in line


def test_verify_url_refuses_a_served_estimate_the_events_do_not_imply(
    server: Server, lying_server: Callable[..., LyingServer], tmp_path: Path
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


def test_verify_url_refuses_a_forged_inclusion_proof(
    server: Server, lying_server: Callable[..., LyingServer], tmp_path: Path
) -> None:
    def rewrite(path: str, params: dict[str, str], body: Any) -> Any:
        if path == "/v1/audit/proofs/inclusion":
            body["audit_path"] = list(reversed(body["audit_path"]))
        return body

    liar = lying_server(rewrite=rewrite)

    line = verify_url(liar.url, server.admin_key, tmp_path / "state.json").failure_line()

    assert re.search(r"the inclusion proof of leaf \d+ does not verify", line)


def test_verify_url_refuses_a_forged_consistency_proof(
    server: Server, admin: httpx.Client, lying_server: Callable[..., LyingServer], tmp_path: Path
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
