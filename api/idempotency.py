"""`Idempotency-Key` for POST creates: replay the first 2xx answer, refuse reuse."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID, uuid5

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import Principal
from api.services import Services
from projections.reads.idempotency import Remembered

REPLAYED_HEADERS = ("content-type", "location", "etag", "x-ledger-position")
# The namespace of streams created under an Idempotency-Key (a fixed, random UUID).
IDEMPOTENT_STREAMS = UUID("6f1d0c8e-4b7a-5e42-9a53-2c1e0b7d8f41")


def derived_stream_id(principal: str, route: str, key: str, index: int = 0) -> UUID:
    """The id of the `index`-th stream a request creates under an `Idempotency-Key`: the
    same principal, route and key always name the same streams, so a retry after a crash
    meets the event store's own uniqueness instead of writing a second time."""
    return uuid5(IDEMPOTENT_STREAMS, "\n".join((principal, route, key, str(index))))


def body_hash(body: BaseModel | Sequence[BaseModel] | bytes) -> str:
    if isinstance(body, bytes):
        data = body
    elif isinstance(body, BaseModel):
        data = body.model_dump_json().encode()
    else:
        data = b"\n".join(item.model_dump_json().encode() for item in body)
    return hashlib.sha256(data).hexdigest()


def remembered(response: Response) -> Remembered:
    """What is kept of an answer to replay it: status, the headers a replay repeats, body."""
    headers = {
        name: value for name, value in response.headers.items() if name.lower() in REPLAYED_HEADERS
    }
    return Remembered(response.status_code, headers, bytes(response.body))


def idempotent(
    services: Services,
    principal: Principal,
    route: str,
    key: str | None,
    digest: str,
    action: Callable[[], Response],
    remember: Callable[[Response], Remembered] = remembered,
) -> Response:
    """Run `action` once per (principal, route, key); replay its 2xx answer afterwards.
    `remember` says what of the answer is stored and replayed (a route whose answer holds
    a secret stores it without)."""
    if key is None:
        return action()
    store = services.store.idempotency
    stored = store.begin(principal.id, route, key, digest)
    if stored is not None:
        headers = {**stored.headers, "Idempotent-Replayed": "true"}
        return Response(stored.body, status_code=stored.status, headers=headers)
    try:
        response = action()
    except BaseException:
        store.abandon(principal.id, route, key)
        raise
    if 200 <= response.status_code < 300:
        store.complete(principal.id, route, key, remember(response))
    else:
        store.abandon(principal.id, route, key)
    return response


async def idempotent_async(
    services: Services,
    principal: Principal,
    route: str,
    key: str,
    digest: str,
    action: Callable[[], Awaitable[Response]],
) -> Response:
    """`idempotent` for an action that awaits its commit in the event loop; the keys'
    store is read and written in the threadpool."""
    store = services.store.idempotency
    remembered = await run_in_threadpool(store.begin, principal.id, route, key, digest)
    if remembered is not None:
        headers = {**remembered.headers, "Idempotent-Replayed": "true"}
        return Response(remembered.body, status_code=remembered.status, headers=headers)
    try:
        response = await action()
    except BaseException:
        # Cancelled, this await may be refused: the row then waits for its owner to end
        # (or to age), and what was written stays safe under the key's derived ids.
        await run_in_threadpool(store.abandon, principal.id, route, key)
        raise
    if 200 <= response.status_code < 300:
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() in REPLAYED_HEADERS
        }
        answer = Remembered(response.status_code, headers, bytes(response.body))
        await run_in_threadpool(store.complete, principal.id, route, key, answer)
    else:
        await run_in_threadpool(store.abandon, principal.id, route, key)
    return response
