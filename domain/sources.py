"""The Source aggregate: anyone who speaks, with a reliability grade."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition, ValidationFailed
from domain.values import Reliability

SOURCE_NAMESPACE = uuid5(NAMESPACE_URL, "https://claimledger.example/sources/")
UPDATABLE_SOURCE_FIELDS = ("name", "kind", "url")


def source_stream(slug: str) -> UUID:
    """One slug is always one stream."""
    return uuid5(SOURCE_NAMESPACE, slug)


class Source(Aggregate):
    """An outlet, government, agency, person or anonymous group."""

    @staticmethod
    def create_id(slug: str) -> UUID:
        return source_stream(slug)

    @event("Registered")
    def __init__(
        self, slug: str, name: str, kind: str, url: str | None, actor: str, reason: str | None
    ) -> None:
        self.slug = slug
        self.name = name
        self.kind = kind
        self.url = url
        self.reliability = Reliability.F.value
        self.registered_by = actor

    def update(self, fields: dict[str, Any], actor: str, reason: str | None) -> None:
        """Change name, kind or url; a change that changes nothing is refused."""
        unknown = sorted(set(fields) - set(UPDATABLE_SOURCE_FIELDS))
        if unknown:
            raise ValidationFailed([(f"fields.{name}", "cannot be updated") for name in unknown])
        changed = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if not changed:
            raise InvalidTransition("the update changes nothing")
        self._updated(fields=changed, actor=actor, reason=reason)

    @event("Updated")
    def _updated(self, fields: dict[str, Any], actor: str, reason: str | None) -> None:
        for key, value in fields.items():
            setattr(self, key, value)

    def rate(self, reliability: Reliability, actor: str, reason: str | None) -> None:
        """Grade the source's reliability (Admiralty A–F)."""
        self._rated(reliability=reliability.value, actor=actor, reason=reason)

    @event("Rated")
    def _rated(self, reliability: str, actor: str, reason: str | None) -> None:
        self.reliability = reliability
