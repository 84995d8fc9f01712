"""The ApiKey aggregate: a principal's credential; only the secret's SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition
from domain.values import Role

SECRET_PREFIX = "cl_"


def new_secret() -> str:
    """A fresh random key secret, shown to its holder once."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(Aggregate):
    """A named key with one role; revoked keys stay in the log."""

    @event("Issued")
    def __init__(self, name: str, role: str, key_hash: str, actor: str, reason: str | None) -> None:
        self.name = name
        self.role = Role(role).value
        self.key_hash = key_hash
        self.revoked = False

    def revoke(self, actor: str, reason: str | None) -> None:
        """Withdraw the key; it stops authenticating at once."""
        if self.revoked:
            raise InvalidTransition("the key is already revoked")
        self._revoked(actor=actor, reason=reason)

    @event("Revoked")
    def _revoked(self, actor: str, reason: str | None) -> None:
        self.revoked = True
