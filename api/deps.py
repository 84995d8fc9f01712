"""Request dependencies: services, read-your-writes waits, authentication, preconditions.

They are `async def`: FastAPI runs a plain `def` dependency in the threadpool, one hop to a
worker thread and back per dependency per request, which under load cost more than the
work itself (the GIL handing over between the event loop and 40 threads). What blocks
goes through `views_read` or `key_read` (in line on SQLite, in the threadpool on
PostgreSQL) or, for the read-your-writes wait, to the threadpool.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from api.problems import ApiProblem
from api.services import Services
from domain.keys import ApiKey, hash_secret, key_id_of
from domain.values import Role


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return self.id


ANONYMOUS = Principal("anonymous", "anonymous", Role.READER)
BOOTSTRAP_ADMIN = Principal("admin", "bootstrap admin key", Role.ADMIN)


P = ParamSpec("P")
T = TypeVar("T")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def views_read(
    services: Services, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """A read of the views from the event loop. SQLite is a file in this process: an
    indexed read takes microseconds, less than the hop to a worker thread and back, and
    readers never wait for the writer (WAL). PostgreSQL is a network round trip: there the
    read goes to the threadpool."""
    if services.settings.is_postgres:
        return await run_in_threadpool(read, *args, **kwargs)
    return read(*args, **kwargs)


MinPosition = Annotated[
    int | None,
    Header(
        alias="X-Min-Position",
        ge=0,
        description="Wait until the views reach this position (read-your-writes): 503 "
        "with Retry-After if they do not in time, 422 at once if the stored log does not "
        "reach it. The key is checked first.",
    ),
]
Authorization = Annotated[str | None, Header(include_in_schema=False)]


async def wait_for_min_position(services: Services, min_position: int | None) -> None:
    """Read-your-writes: hold the request until the views reflect `X-Min-Position`; a
    position the event store has not reached is 422 at once (waiting could not help)."""
    if not min_position or services.store.runner.position >= min_position:
        return
    last = await run_in_threadpool(services.store.ledger.max_position)
    if min_position > last:
        raise ApiProblem(
            422,
            "position-beyond-log",
            "Position beyond the log",
            f"X-Min-Position {min_position} is beyond the end of the stored log "
            f"(its last position is {last})",
        )
    timeout = services.settings.min_position_timeout
    if not await run_in_threadpool(services.store.runner.wait, min_position, timeout):
        raise ApiProblem(
            503,
            "not-caught-up",
            "Projections are behind",
            f"the views have not reached position {min_position} within {timeout:g} s",
            headers={"Retry-After": "1"},
        )


async def authenticate(services: Services, authorization: str | None) -> Principal | None:
    """The principal behind the bearer key, or None without one. An invalid key is 401."""
    if authorization is None:
        return None
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise unauthorized("use Authorization: Bearer <api key>")
    admin_key = services.settings.admin_key
    if admin_key is not None and hmac.compare_digest(
        secret.encode(), admin_key.get_secret_value().encode()
    ):
        return BOOTSTRAP_ADMIN
    key = await key_of(services, secret)
    if key is None or key.revoked:
        raise unauthorized("the API key is unknown or revoked")
    return Principal(f"{KEY_PRINCIPAL}{key.id}", key.name, Role(key.role))


KEY_PRINCIPAL = "key:"


async def key_of(services: Services, secret: str) -> ApiKey | None:
    """The key this secret belongs to, as the event store holds it now (§5: never a view
    that lags). A secret names its key's id; one in the older form without it is found
    through the `api_keys` view, which only maps its hash to the id (ids never change)."""
    records = services.store.keys
    key_hash = hash_secret(secret)
    key_id = key_id_of(secret) or records.legacy_id(key_hash)
    if key_id is None:
        row = await views_read(services, services.store.queries.key_by_hash, key_hash)
        if row is None:
            return None
        key_id = UUID(row["id"])
        records.remember_legacy_id(key_hash, key_id)
    key = await key_read(services, records.get, key_id)
    if key is None or not hmac.compare_digest(key.key_hash, key_hash):
        return None
    return key


async def key_read(
    services: Services, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """A read of the event store's record of a key: in line where it never waits for a
    connection (`projections.reads.key_records`), in the threadpool otherwise."""
    if services.store.keys.in_line:
        return read(*args, **kwargs)
    return await run_in_threadpool(read, *args, **kwargs)


async def still_authorised(services: Services, principal: Principal) -> bool:
    """Whether the key behind a principal authenticated earlier is still valid now (an
    open event stream asks before it sends more)."""
    if not principal.id.startswith(KEY_PRINCIPAL):
        return True  # the bootstrap admin key and anonymous public reads
    key = await key_read(
        services, services.store.keys.get, UUID(principal.id[len(KEY_PRINCIPAL) :])
    )
    return key is not None and not key.revoked


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"}
    )


def require(role: Role) -> object:
    # One dependency, not a chain (services → wait → key → role): FastAPI's work per
    # dependency is paid on every request (decision 0003).
    async def check(
        request: Request,
        min_position: MinPosition = None,
        authorization: Authorization = None,
    ) -> Principal:
        services: Services = request.app.state.services
        # The key first (§5): a request without a valid one never holds a thread waiting.
        principal = await authenticate(services, authorization)
        if principal is None:
            if not (role is Role.READER and services.settings.public_reads):
                raise unauthorized("this route needs an API key")
            principal = ANONYMOUS
        if not principal.role.allows(role):
            raise ApiProblem(
                403,
                "forbidden",
                "Forbidden",
                f"this route needs the role {role.value}; the key has {principal.role.value}",
            )
        await wait_for_min_position(services, min_position)
        return principal

    return Depends(check)


Reader = Annotated[Principal, require(Role.READER)]
Contributor = Annotated[Principal, require(Role.CONTRIBUTOR)]
Editor = Annotated[Principal, require(Role.EDITOR)]
Admin = Annotated[Principal, require(Role.ADMIN)]


async def expected_version(
    if_match: Annotated[
        str | None, Header(alias="If-Match", description='The ETag you read, e.g. "3".')
    ] = None,
) -> int | None:
    """The version the client last saw; None for `*`. Missing is 428."""
    if if_match is None:
        raise ApiProblem(
            428,
            "precondition-required",
            "Precondition required",
            'send If-Match with the ETag you last read (e.g. If-Match: "3")',
        )
    tag = if_match.strip()
    if tag == "*":
        return None
    # A weak tag never matches for If-Match (RFC 9110 §13.1.1), and only ASCII digits
    # are a version: str.isdigit() also takes "²", which int() refuses, and int() refuses
    # thousands of digits too; a version fits in 64 bits.
    digits = tag[1:-1] if len(tag) > 2 and tag[0] == tag[-1] == '"' else tag
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19):
        raise ApiProblem(
            412,
            "precondition-failed",
            "Precondition failed",
            f"If-Match {if_match!r} is not a strong ETag this server issues",
        )
    return int(digits)


IfMatch = Annotated[int | None, Depends(expected_version)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=255, description="Retry safely with the same key."),
]
