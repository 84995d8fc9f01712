"""The ledger application: the only way to write. One method per use case.

Each method loads what it needs, asks one aggregate to change, and saves; it returns the
saved aggregate and the position of the last event written (for `X-Ledger-Position`).
Commands run concurrently; their saves go through one writer thread that gathers them
into shared transactions (`projections.storage.group_commit`, handed in by the store as a
`domain.commits.Committer`): the store has one writer anyway, and threads contending for
its lock are far slower than a queue in the process. A ledger made without a committer
saves each command directly. Conflicts are caught by the library's optimistic
concurrency (a stale version fails to save). The claims commands are `ClaimCommands`'s,
the relations' `RelationCommands`'s.

`set_write_path("direct")` turns the writer off: each command then calls the library's
`save()` in its own thread, one transaction each. That is the naive baseline the
benchmark measures group commit against (`CLAIMLEDGER_WRITE_PATH=direct`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    project_aggregate,
)
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoding
from eventsourcing.utils import Environment, EnvType

from domain.claim_commands import ClaimCommands
from domain.commits import Committer, CommitterFactory
from domain.errors import (
    AlreadyExists,
    ApiKeyNotFound,
    MetricNotFound,
    NotFound,
    SourceNotFound,
    StoreDisagreesWithLog,
    VersionMismatch,
)
from domain.keys import ApiKey, hash_secret, new_secret
from domain.metrics import Metric, metric_stream
from domain.relation_commands import RelationCommands
from domain.relations import Terms
from domain.saved import Saved, TAggregate, check_version
from domain.sealed_log import SealedLog
from domain.sources import Source, source_stream
from domain.values import Reliability, Role

WritePath = Literal["group", "direct"]
WRITE_PATHS: tuple[WritePath, ...] = ("group", "direct")
# The reason of a rating given with a source's registration, in the same transaction.
INITIAL_RATING = "initial rating"


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str
    position: int


def utc_today() -> date:
    return datetime.now(UTC).date()


class Ledger(ClaimCommands, RelationCommands, Application[UUID]):
    """Commands over sources, metrics, claims, relations and API keys."""

    name = "ledger"

    def __init__(
        self,
        env: EnvType | None = None,
        today: Callable[[], date] = utc_today,
        committer: CommitterFactory | None = None,
    ):
        self.today = today
        self._make_committer = committer
        self._known_units: dict[str, str] = {}
        self._known_sources: set[str] = set()
        self._relations: dict[UUID, tuple[str, Terms] | None] = {}
        self._relations_read_to = 0
        # Checks each aggregate loaded for a command against the log (set by the store).
        self.sealed_log: SealedLog | None = None
        super().__init__(env)
        self._committer: Committer | None = (
            None if committer is None else committer(self._record_events)
        )

    @property
    def write_path(self) -> WritePath:
        return "group" if self._committer is not None else "direct"

    def set_write_path(self, path: WritePath) -> None:
        """`group` (the default): one writer thread gathers concurrent saves into shared
        transactions. `direct`: each command saves in its own thread, one transaction
        each (the naive baseline). `group` needs the ledger made with a committer."""
        if path not in WRITE_PATHS:
            raise ValueError(f"unknown write path {path!r}; choose group or direct")
        if path == "group" and self._make_committer is None:
            raise ValueError("the group write path needs a ledger made with a committer")
        if path == self.write_path:
            return
        if path == "direct":
            committer, self._committer = self._committer, None
            if committer is not None:
                committer.close()
        elif self._make_committer is not None:
            self._committer = self._make_committer(self._record_events)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the given environment: settings are read once, at the edge, not here."""
        return Environment(name, dict(env or {}))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # Sources

    def register_source(
        self,
        slug: str,
        name: str,
        kind: str,
        url: str | None,
        reliability: Reliability | None,
        actor: str,
    ) -> Saved[Source]:
        """Register a source; with a reliability, it is rated in the same transaction."""
        source = Source(slug=slug, name=name, kind=kind, url=url, actor=actor, reason=None)
        if reliability is not None and reliability is not Reliability.F:
            source.rate(reliability, actor=actor, reason=INITIAL_RATING)
        return Saved(source, self._save_new(source, "source", slug))

    def update_source(
        self, slug: str, fields: dict[str, Any], expected_version: int | None, actor: str
    ) -> Saved[Source]:
        """Change a source's name, kind or url."""
        source = self.get_source(slug)
        check_version(source, expected_version)
        source.update(fields, actor=actor, reason=None)
        return Saved(source, self._save(source))

    def rate_source(
        self,
        slug: str,
        reliability: Reliability,
        reason: str | None,
        expected_version: int | None,
        actor: str,
    ) -> Saved[Source]:
        """Grade a source's reliability."""
        source = self.get_source(slug)
        check_version(source, expected_version)
        source.rate(reliability, actor=actor, reason=reason)
        return Saved(source, self._save(source))

    def get_source(self, slug: str, version: int | None = None) -> Source:
        return self._get(Source, source_stream(slug), SourceNotFound(slug), version)

    # Metrics

    def define_metric(
        self, slug: str, name: str, unit: str, description: str | None, actor: str
    ) -> Saved[Metric]:
        """Define a metric to be estimated."""
        metric = Metric(
            slug=slug, name=name, unit=unit, description=description, actor=actor, reason=None
        )
        return Saved(metric, self._save_new(metric, "metric", slug))

    def created_by(self, stream: UUID) -> str | None:
        """Who created the stream: the actor of its first event (None if there is none)."""
        for first in self.repository.event_store.get(stream, lte=1):
            return str(first.actor)  # type: ignore[attr-defined]
        return None

    def get_metric(self, slug: str) -> Metric:
        return self._get(Metric, metric_stream(slug), MetricNotFound(slug), None)

    # API keys

    def issue_key(self, name: str, role: Role, actor: str, key_id: UUID | None = None) -> IssuedKey:
        """Issue a key (with the given stream id, or a random one); its secret, which
        names the id, is returned here and never stored. An id already taken is
        AlreadyExists."""
        key_id = key_id or uuid4()
        secret = new_secret(key_id)
        key = ApiKey(
            id=key_id,
            name=name,
            role=role.value,
            key_hash=hash_secret(secret),
            actor=actor,
            reason=None,
        )
        return IssuedKey(key, secret, self._save_new(key, "key", str(key_id)))

    def get_key(self, key_id: UUID) -> ApiKey:
        """A key as the event store holds it now."""
        return self._get(ApiKey, key_id, ApiKeyNotFound(str(key_id)), None)

    def revoke_key(self, key_id: UUID, reason: str | None, actor: str) -> Saved[ApiKey]:
        """Revoke a key."""
        key = self._get(ApiKey, key_id, ApiKeyNotFound(str(key_id)), None)
        key.revoke(actor=actor, reason=reason)
        return Saved(key, self._save(key))

    # Plumbing

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def _get(
        self,
        kind: type[TAggregate],
        stream: UUID,
        missing: NotFound,
        version: int | None,
    ) -> TAggregate:
        sealed = self.sealed_log
        try:
            if sealed is None:
                aggregate: Aggregate = self.repository.get(stream, version=version)
            else:
                aggregate = self.repository.get(
                    stream, version=version, projector_func=checked_against(sealed)
                )
        except AggregateNotFoundError:
            raise missing from None
        if not isinstance(aggregate, kind):
            raise missing
        return aggregate

    def close(self) -> None:
        if self._committer is not None:
            self._committer.close()
        super().close()

    def _record_events(self, *events: Any) -> list[Recording[UUID]]:
        """`Application.save` for events already collected (what the group committer
        saves): the library's steps, without asking of each event whether it is an event
        or an aggregate through `isinstance` on the library's runtime protocols, a large
        share of a big save (decision 0003)."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        processing_event.events.extend(events)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)
        return recordings

    def _commit(self, *aggregates: Aggregate) -> int:
        """Hand the aggregates' new events to the group committer (or, on the direct path,
        save them here); return the position of the last one once committed."""
        self._refuse_if_alarmed()
        events = [e for a in aggregates for e in a.collect_events()]
        committer = self._committer
        if committer is None:
            return int(self.save(*events)[-1].notification.id)
        return committer.submit(events)

    def _refuse_if_alarmed(self) -> None:
        sealed = self.sealed_log
        reason = sealed.refusal() if sealed is not None else None
        if reason is not None:
            raise StoreDisagreesWithLog(reason)

    def _save(self, *aggregates: Aggregate) -> int:
        try:
            return self._commit(*aggregates)
        except IntegrityError:
            # Another process wrote to one of these streams since we loaded it.
            aggregate = aggregates[0]
            current: Aggregate = self.repository.get(aggregate.id)
            raise VersionMismatch(aggregate.version - 1, current.version) from None

    def _save_new(self, aggregate: Aggregate, kind: str, slug: str) -> int:
        try:
            return self._commit(aggregate)
        except IntegrityError:
            raise AlreadyExists(kind, slug) from None


def checked_against(sealed: SealedLog) -> Any:
    """The library's projector, with the loaded events first checked against the log."""

    def project(aggregate: Aggregate | None, events: Any) -> Aggregate | None:
        loaded: list[DomainEventProtocol[Any]] = list(events)
        if loaded:
            sealed.check_loaded(loaded[0].originator_id, loaded)
        return project_aggregate(aggregate, loaded)

    return project
