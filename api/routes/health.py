"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.responses import HealthPublic
from api.write_readiness import WriteReadiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
async def healthz() -> HealthPublic:
    """The process is alive."""
    return HealthPublic(status="ok")


@router.get("/readyz", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    """The store answers and takes writes, no event disagrees with its log, and the
    projections are no further behind than CLAIMLEDGER_READY_MAX_LAG (503: why not)."""
    store = services.store
    try:
        position = store.ledger.max_position()
        projected = store.views.position()
        alarm = store.alarm.reason()
    except Exception:
        body = HealthPublic(status="store unreachable")
        return JSONResponse(body.model_dump(), status_code=503)
    lag = max(0, position - projected)
    refusal = write_refusal(request)
    ready = lag <= services.settings.ready_max_lag and store.runner.error is None
    status = "ready" if ready else "lagging"
    if refusal is not None:
        ready, status = False, f"store refuses writes: {refusal}"
    if alarm is not None:  # writes are refused until an admin clears it
        ready, status = False, f"writes refused: the store's events disagree with its log: {alarm}"
    body = HealthPublic(status=status, position=position, projected=projected, lag=lag)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def write_refusal(request: Request) -> str | None:
    """Why the store would refuse a write now (cached briefly), or None."""
    readiness: WriteReadiness | None = getattr(request.app.state, "write_readiness", None)
    return readiness.refusal() if readiness is not None else None
