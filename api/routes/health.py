"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.responses import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
async def healthz() -> HealthPublic:
    """The process is alive."""
    return HealthPublic(status="ok")


@router.get("/readyz", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def readyz(services: ServicesDep) -> JSONResponse:
    """The store answers and the projections have caught up (503 while they lag)."""
    store = services.store
    try:
        position = store.ledger.max_position()
        projected = store.views.position()
    except Exception:
        body = HealthPublic(status="store unreachable")
        return JSONResponse(body.model_dump(), status_code=503)
    lag = max(0, position - projected)
    ready = lag <= services.settings.ready_max_lag and store.runner.error is None
    body = HealthPublic(
        status="ready" if ready else "lagging", position=position, projected=projected, lag=lag
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
