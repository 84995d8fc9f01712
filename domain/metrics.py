"""The Metric aggregate: one figure being estimated."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition, ValidationFailed

METRIC_NAMESPACE = uuid5(NAMESPACE_URL, "https://claimledger.example/metrics/")
UPDATABLE_METRIC_FIELDS = ("name", "description")


def metric_stream(slug: str) -> UUID:
    """One slug is always one stream."""
    return uuid5(METRIC_NAMESPACE, slug)


class Metric(Aggregate):
    """A figure such as `dprk-in-russia/killed`, with a unit."""

    @staticmethod
    def create_id(slug: str) -> UUID:
        return metric_stream(slug)

    @event("Defined")
    def __init__(
        self,
        slug: str,
        name: str,
        unit: str,
        description: str | None,
        actor: str,
        reason: str | None,
    ) -> None:
        self.slug = slug
        self.name = name
        self.unit = unit
        self.description = description

    def update(self, fields: dict[str, Any], actor: str, reason: str | None) -> None:
        """Change name or description; the unit is fixed once claims may use it."""
        unknown = sorted(set(fields) - set(UPDATABLE_METRIC_FIELDS))
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
