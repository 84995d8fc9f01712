"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.openapi import document_problems
from api.problems import BodyLimit, install_problem_handlers
from api.routes import (
    audit,
    checks,
    claims,
    diffs,
    health,
    integrity,
    keys,
    metrics,
    relations,
    sources,
)
from api.services import Services, open_services
from api.settings import Settings
from api.write_readiness import WriteReadiness
from projections.reads.idempotency import IdempotencyStore

log = logging.getLogger(__name__)

DESCRIPTION = """An event-sourced ledger of reported claims about contested figures.

Every claim and every change to it is an immutable event; estimates (low, best, high)
are rebuilt from them, now or as known at any past moment. Authenticate with
`Authorization: Bearer <api key>`.
"""


async def purge_expired_keys(keys: IdempotencyStore, every: float, stop: asyncio.Event) -> None:
    """Forget expired Idempotency-Key answers every so often, in a thread off the request path.

    A purge under way finishes before this returns, so the store is not closed under it.
    """
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            try:
                await asyncio.to_thread(keys.purge)
            except Exception:  # a store that is busy or away now may answer next time
                log.exception("purging expired idempotency keys failed; trying again later")


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    on_started: Callable[[Services], None] | None = None,
) -> FastAPI:
    """Build the app; it opens the store (unless given services) and runs the projections."""
    settings = settings or (services.settings if services else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        active = services or open_services(settings)
        app.state.services = active
        app.state.write_readiness = WriteReadiness(active.store)
        in_process = active.settings.projections == "api"
        if in_process:
            active.store.runner.catch_up()
        if on_started is not None:
            on_started(active)
            if in_process:
                active.store.runner.catch_up()
        if in_process:
            # On PostgreSQL one runner is active at a time; the others wait as standbys.
            active.store.runner.start()
        stop_purging = asyncio.Event()
        purging = asyncio.create_task(
            purge_expired_keys(
                active.store.idempotency, active.settings.idempotency_purge_interval, stop_purging
            )
        )
        try:
            yield
        finally:
            stop_purging.set()
            await purging
            active.store.runner.stop()
            if owned:
                active.store.close()

    app = FastAPI(
        title="claimledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    routers = (sources, diffs, metrics, claims, relations, checks, keys, audit, integrity, health)
    for module in routers:
        app.include_router(module.router)
    document_problems(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
