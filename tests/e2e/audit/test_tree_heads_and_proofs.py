"""§6 through HTTP: the public key, signed tree heads and the inclusion and consistency
proofs, all readable without a key.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey,
)

from projections.log.merkle import verify_consistency, verify_inclusion
from tests.e2e.audit.client import (
    head,
    head_signature_ok,
    parse_time,
    root_of,
    whole_feed,
)
from tests.e2e.support import PROBLEM_JSON

pytestmark = pytest.mark.e2e


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
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] and problem["detail"]
