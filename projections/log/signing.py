"""Ed25519 signatures over tree heads (§6), with the key kept in a PEM file."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from domain.event_data import rfc3339
from projections.log.canonical import dumps


class SigningKeyError(Exception):
    """The signing key file cannot be read or is not an Ed25519 private key."""


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    root_hash: str
    timestamp: str
    signature: str
    key_id: str


def head_message(tree_size: int, root_hash: str, timestamp: str) -> bytes:
    """The canonical JSON that a tree head's signature covers."""
    return dumps({"tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp}).encode()


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Read the PEM key at `path`, or create one there with mode 0600."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
        return key
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise SigningKeyError(f"cannot read the signing key {path}: {error}") from error
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return loaded


class TreeHeadSigner:
    """Signs tree heads; timestamps strictly increase within the process."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.public_key = key.public_key()
        self.key_id = key_id_of(self.public_key)
        self._last = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def public_key_base64(self) -> str:
        return base64.b64encode(public_key_bytes(self.public_key)).decode()

    def sign(self, tree_size: int, root_hash: str) -> TreeHead:
        with self._lock:
            now = datetime.now(UTC)
            if now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
        timestamp = rfc3339(now)
        signature = self.key.sign(head_message(tree_size, root_hash, timestamp))
        return TreeHead(
            tree_size, root_hash, timestamp, base64.b64encode(signature).decode(), self.key_id
        )


def verify_head(public_key: bytes, head: TreeHead) -> bool:
    """True when the head's signature is valid for the raw 32-byte public key."""
    from cryptography.exceptions import InvalidSignature

    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            base64.b64decode(head.signature),
            head_message(head.tree_size, head.root_hash, head.timestamp),
        )
    except (InvalidSignature, ValueError):
        return False
    return True
