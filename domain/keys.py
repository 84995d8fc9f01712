"""The ApiKey aggregate: a principal's credential; only the secret's SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition
from domain.values import Role

# A secret is `clk_<the key's stream id, 32 lowercase hex>_<random>`: the id sits at a
# fixed place, so it is found without a lookup (the random part may hold `_` too).
# Secrets issued before carry `cl_` and a random part only.
SECRET_PREFIX = "clk_"
_ID_START = len(SECRET_PREFIX)
_ID_END = _ID_START + 32
_HEX = frozenset("0123456789abcdef")


def new_secret(key_id: UUID) -> str:
    """A fresh random secret for the key `key_id`, shown to its holder once."""
    return f"{SECRET_PREFIX}{key_id.hex}_{secrets.token_urlsafe(32)}"


def key_id_of(secret: str) -> UUID | None:
    """The key id a secret names, or None for a secret in the older form (or none)."""
    if (
        len(secret) <= _ID_END + 1
        or not secret.startswith(SECRET_PREFIX)
        or secret[_ID_END] != "_"
        or not _HEX.issuperset(secret[_ID_START:_ID_END])
    ):
        return None
    return UUID(hex=secret[_ID_START:_ID_END])


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(Aggregate):
    """A named key with one role; revoked keys stay in the log."""

    # `id` is the stream's id (chosen by the ledger, and named in the secret), not event
    # data: the library takes it out before the event is made and hands it back here.
    @event("Issued")
    def __init__(
        self, id: UUID, name: str, role: str, key_hash: str, actor: str, reason: str | None
    ) -> None:
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
