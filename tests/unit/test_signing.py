"""§6 signed tree heads: the canonical message, Ed25519 signatures, key ids and the key file."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

import projections.log.signing as signing
from projections.log.signing import (
    SigningKeyError,
    TreeHead,
    TreeHeadSigner,
    head_message,
    key_id_of,
    load_or_create_key,
    public_key_bytes,
    verify_head,
)

pytestmark = pytest.mark.unit

ROOT = "ab" * 32
RFC3339_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def raw_public_key(signer: TreeHeadSigner) -> bytes:
    return base64.b64decode(signer.public_key_base64())


def parse(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@pytest.fixture
def signer() -> TreeHeadSigner:
    return TreeHeadSigner(Ed25519PrivateKey.generate())


class FrozenClock:
    """Stands in for `datetime` inside projections.log.signing; `now` returns what it is told."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = self

        class Frozen(datetime):
            @classmethod
            def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
                return clock.moment

        monkeypatch.setattr(signing, "datetime", Frozen)


# The canonical message


def test_the_head_message_is_canonical_json_of_exactly_size_root_and_timestamp() -> None:
    message = head_message(7, ROOT, "2025-01-22T10:00:00.000001Z")

    assert message == (
        b'{"root_hash":"' + ROOT.encode() + b'","timestamp":"2025-01-22T10:00:00.000001Z",'
        b'"tree_size":7}'
    )


def test_the_head_message_equals_what_any_client_builds_with_the_json_module() -> None:
    stamp = "2025-01-22T10:00:00.000000Z"
    fields = {"tree_size": 0, "timestamp": stamp, "root_hash": ROOT}

    expected = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert head_message(0, ROOT, stamp) == expected.encode("utf-8")


def test_the_head_message_has_no_whitespace_and_keeps_the_size_an_integer() -> None:
    message = head_message(123456789, ROOT, "2025-01-22T10:00:00.000000Z")

    assert b" " not in message and b"\n" not in message
    assert json.loads(message)["tree_size"] == 123456789


# Signing and verifying


def test_a_signed_head_verifies_with_the_signers_raw_public_key(signer: TreeHeadSigner) -> None:
    head = signer.sign(25, ROOT)

    assert verify_head(raw_public_key(signer), head)
    assert (head.tree_size, head.root_hash, head.key_id) == (25, ROOT, signer.key_id)


def test_a_signed_head_verifies_with_cryptography_alone_over_the_canonical_json(
    signer: TreeHeadSigner,
) -> None:
    head = signer.sign(3, ROOT)
    message = json.dumps(
        {"tree_size": 3, "root_hash": ROOT, "timestamp": head.timestamp},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()

    Ed25519PublicKey.from_public_bytes(raw_public_key(signer)).verify(
        base64.b64decode(head.signature), message
    )  # raises if invalid


def test_the_head_of_the_empty_log_signs_and_verifies(signer: TreeHeadSigner) -> None:
    empty = hashlib.sha256(b"").hexdigest()

    assert verify_head(raw_public_key(signer), signer.sign(0, empty))


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 26},
        {"tree_size": 24},
        {"root_hash": "ac" + ROOT[2:]},
        {"root_hash": ROOT.upper()},
        {"timestamp": "2099-01-01T00:00:00.000000Z"},
    ],
    ids=["size grown", "size shrunk", "root changed", "root in upper case", "timestamp moved"],
)
def test_a_head_with_a_changed_field_fails_verification(
    signer: TreeHeadSigner, change: dict[str, object]
) -> None:
    head = signer.sign(25, ROOT)

    assert not verify_head(raw_public_key(signer), replace(head, **change))  # type: ignore[arg-type]


def test_a_signature_from_another_key_fails_verification(signer: TreeHeadSigner) -> None:
    other = TreeHeadSigner(Ed25519PrivateKey.generate())

    head = other.sign(25, ROOT)

    assert not verify_head(raw_public_key(signer), head)


def test_a_signature_moved_to_another_head_fails_verification(signer: TreeHeadSigner) -> None:
    first, second = signer.sign(1, ROOT), signer.sign(2, ROOT)

    assert not verify_head(raw_public_key(signer), replace(second, signature=first.signature))


@pytest.mark.parametrize(
    "signature",
    ["", "not base64!", base64.b64encode(b"\x00" * 64).decode(), base64.b64encode(b"x").decode()],
    ids=["empty", "not base64", "zero bytes", "too short"],
)
def test_a_malformed_signature_fails_verification_without_raising(
    signer: TreeHeadSigner, signature: str
) -> None:
    head = replace(signer.sign(1, ROOT), signature=signature)

    assert not verify_head(raw_public_key(signer), head)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_a_public_key_of_the_wrong_length_fails_verification_without_raising(
    signer: TreeHeadSigner, length: int
) -> None:
    head = signer.sign(1, ROOT)

    assert not verify_head(b"\x01" * length, head)


# Key ids


def test_the_key_id_is_the_first_16_hex_digits_of_the_sha256_of_the_raw_public_key(
    signer: TreeHeadSigner,
) -> None:
    raw = raw_public_key(signer)

    assert len(raw) == 32
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert re.fullmatch(r"[0-9a-f]{16}", signer.key_id)
    assert key_id_of(signer.public_key) == signer.key_id
    assert public_key_bytes(signer.public_key) == raw


def test_different_keys_have_different_key_ids() -> None:
    ids = {TreeHeadSigner(Ed25519PrivateKey.generate()).key_id for _ in range(5)}

    assert len(ids) == 5


# Timestamps


def test_a_head_timestamp_is_rfc3339_utc_with_microseconds(signer: TreeHeadSigner) -> None:
    head = signer.sign(1, ROOT)

    assert RFC3339_MICROS.match(head.timestamp)
    assert abs(parse(head.timestamp) - datetime.now(UTC)) < timedelta(minutes=1)


def test_timestamps_strictly_increase_over_many_quick_signatures(signer: TreeHeadSigner) -> None:
    stamps = [signer.sign(1, ROOT).timestamp for _ in range(200)]

    assert all(a < b for a, b in itertools.pairwise(stamps))


def test_timestamps_strictly_increase_even_when_the_clock_does_not_move(
    signer: TreeHeadSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = datetime(2025, 1, 22, 10, 0, 0, tzinfo=UTC)
    FrozenClock(frozen).install(monkeypatch)

    heads = [signer.sign(5, ROOT) for _ in range(3)]

    assert [h.timestamp for h in heads] == [
        "2025-01-22T10:00:00.000000Z",
        "2025-01-22T10:00:00.000001Z",
        "2025-01-22T10:00:00.000002Z",
    ]
    assert all(verify_head(raw_public_key(signer), h) for h in heads)


def test_timestamps_strictly_increase_even_when_the_clock_goes_back(
    signer: TreeHeadSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FrozenClock(datetime(2025, 1, 22, 10, 0, 0, tzinfo=UTC))
    clock.install(monkeypatch)
    first = signer.sign(5, ROOT)

    clock.moment = datetime(2025, 1, 22, 9, 0, 0, tzinfo=UTC)
    second = signer.sign(5, ROOT)
    clock.moment = datetime(2025, 1, 22, 11, 0, 0, tzinfo=UTC)
    third = signer.sign(5, ROOT)

    assert first.timestamp == "2025-01-22T10:00:00.000000Z"
    assert second.timestamp == "2025-01-22T10:00:00.000001Z"
    assert third.timestamp == "2025-01-22T11:00:00.000000Z"


def test_a_clock_in_another_time_zone_still_gives_utc_timestamps(
    signer: TreeHeadSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    kyiv = datetime(2025, 1, 22, 12, 0, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    FrozenClock(kyiv).install(monkeypatch)

    assert signer.sign(1, ROOT).timestamp == "2025-01-22T12:00:00.000000Z"


# The key file


def test_a_missing_key_file_is_created_with_mode_0600_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing-key.pem"

    created = load_or_create_key(path)
    loaded = load_or_create_key(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert key_id_of(created.public_key()) == key_id_of(loaded.public_key())


def test_a_key_file_that_is_not_pem_is_refused_with_a_signing_key_error(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    path.write_bytes(b"not a key")

    with pytest.raises(SigningKeyError, match="cannot read the signing key"):
        load_or_create_key(path)


def test_a_key_file_holding_another_kind_of_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    path.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(SigningKeyError, match="not an Ed25519 private key"):
        load_or_create_key(path)


def test_a_tree_head_is_a_plain_record_of_the_five_fields_the_route_serves() -> None:
    head = TreeHead(1, ROOT, "2025-01-22T10:00:00.000000Z", "c2ln", "0123456789abcdef")

    assert list(head.__dataclass_fields__) == [
        "tree_size",
        "root_hash",
        "timestamp",
        "signature",
        "key_id",
    ]
