"""Domain errors. The HTTP layer maps each to one problem type and status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class ValidationFailed(DomainError):
    """Input breaks a rule of §2; `errors` names each field and what is wrong."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))


class NotFound(DomainError):
    """Something named by id does not exist."""

    kind = "resource"

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier
        super().__init__(f"{self.kind} {identifier!r} does not exist")


class SourceNotFound(NotFound):
    kind = "source"


class MetricNotFound(NotFound):
    kind = "metric"


class ClaimNotFound(NotFound):
    kind = "claim"


class ApiKeyNotFound(NotFound):
    kind = "API key"


class AlreadyExists(DomainError):
    """An id that must be unique is taken."""

    def __init__(self, kind: str, identifier: str) -> None:
        self.kind = kind
        self.identifier = identifier
        super().__init__(f"{kind} {identifier!r} already exists")


class VersionMismatch(DomainError):
    """The caller's expected version (If-Match) is not the current one."""

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"expected version {expected}, the current version is {actual}")


class InvalidTransition(DomainError):
    """The command does not apply in the aggregate's current state."""


class StoreDisagreesWithLog(DomainError):
    """The stored events no longer hash to the leaves the log sealed for them (an edit
    behind the ledger's back), or the write alarm that such a finding raised is still up:
    writes are refused until an admin clears it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the store's events disagree with its log: {reason}")


class RelationNotFound(NotFound):
    kind = "relation"
