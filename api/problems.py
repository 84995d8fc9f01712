"""RFC 9457 problem responses: the one table from errors to statuses."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidTransition,
    NotFound,
    StoreDisagreesWithLog,
    ValidationFailed,
    VersionMismatch,
)
from projections.reads.estimate_pages import BadCursor
from projections.reads.idempotency import KeyInFlight, KeyReused
from projections.store_health import StorageRefused, refusal_of

# How long a client waits before retrying a request the store refused; /readyz stays 503
# as long after a refusal.
STORAGE_RETRY_AFTER = "5"

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://claimledger.dev/problems/"
PROBLEM_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """An error the API raises on purpose, already in problem shape."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors


class BodyTooLarge(Exception):
    pass


# A problem lists at most this many errors, and says how many more there were in
# `errors_omitted`: a 10,000-claim batch can break every field of every claim.
MAX_LISTED_ERRORS = 100


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors[:MAX_LISTED_ERRORS]
        if len(errors) > MAX_LISTED_ERRORS:
            body["errors_omitted"] = len(errors) - MAX_LISTED_ERRORS
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_TYPE)


STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Validation failed"),
}


def field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts)


def validation_errors(error: RequestValidationError) -> list[dict[str, str]]:
    return [
        {"field": field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
        for e in error.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to a problem; nothing ever leaves as a traceback."""

    @app.exception_handler(ApiProblem)
    async def api_problem(_: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.slug, exc.title, exc.detail, exc.headers, exc.errors)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(400, "malformed-json", "Malformed JSON", "the body is not valid JSON")
        return problem(
            422,
            "validation",
            "Validation failed",
            "the request breaks the contract",
            errors=validation_errors(exc),
        )

    @app.exception_handler(BodyTooLarge)
    async def too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return problem(413, "payload-too-large", "Payload too large", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = STATUS_SLUGS.get(exc.status_code, ("error", "Error"))
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem(exc.status_code, slug, title, str(exc.detail), headers or None)

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(KeyReused)
    async def key_reused(_: Request, exc: KeyReused) -> JSONResponse:
        detail = "this Idempotency-Key was used with another body"
        return problem(422, "idempotency-key-reused", "Idempotency key reused", detail)

    @app.exception_handler(KeyInFlight)
    async def key_in_flight(_: Request, exc: KeyInFlight) -> JSONResponse:
        detail = "the first request with this Idempotency-Key is still running"
        return problem(409, "idempotency-key-in-flight", "Request in progress", detail)

    @app.exception_handler(BadCursor)
    async def bad_cursor(_: Request, exc: BadCursor) -> JSONResponse:
        errors = [{"field": "cursor", "message": "not a cursor this server issued"}]
        return problem(422, "validation", "Validation failed", "bad cursor", errors=errors)

    @app.exception_handler(StorageRefused)
    @app.exception_handler(PersistenceError)
    @app.exception_handler(sqlite3.Error)
    @app.exception_handler(psycopg.Error)
    @app.exception_handler(OSError)
    async def storage_error(request: Request, exc: Exception) -> JSONResponse:
        """The store refusing writes (disk full, read-only, gone) is 503 with Retry-After;
        any other storage error is a bug, a 500."""
        refused = refusal_of(exc)
        return internal_error(exc) if refused is None else storage_problem(request, refused)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        refused = refusal_of(exc)
        return internal_error(exc) if refused is None else storage_problem(request, refused)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the methods of the
    first route that matched the path, and each method here is a route of its own)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


def internal_error(exc: BaseException) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    detail = "the server failed to answer; nothing was half-written"
    return problem(500, "internal", "Internal error", detail)


def storage_problem(request: Request, refused: StorageRefused) -> JSONResponse:
    """The store cannot take the request now; nothing was written. /readyz hears of it."""
    log.warning("the store refused a request: %s (%s)", refused.reason, refused.__cause__)
    readiness = getattr(request.app.state, "write_readiness", None)
    if readiness is not None:
        readiness.note_refusal(refused.reason)
    return problem(
        503,
        "storage-unavailable",
        "Storage unavailable",
        f"the store cannot take this now ({refused.reason}); nothing was written, retry later",
        headers={"Retry-After": STORAGE_RETRY_AFTER},
    )


def domain_problem(exc: DomainError) -> JSONResponse:
    if isinstance(exc, ValidationFailed):
        errors = [{"field": f, "message": m} for f, m in exc.errors]
        return problem(422, "validation", "Validation failed", str(exc), errors=errors)
    if isinstance(exc, NotFound):
        return problem(404, "not-found", "Not found", str(exc))
    if isinstance(exc, AlreadyExists):
        return problem(409, "already-exists", "Already exists", str(exc))
    if isinstance(exc, VersionMismatch):
        headers = {"ETag": f'"{exc.actual}"'}
        return problem(412, "precondition-failed", "Precondition failed", str(exc), headers)
    if isinstance(exc, InvalidTransition):
        return problem(409, "invalid-transition", "Not allowed in the current state", str(exc))
    if isinstance(exc, StoreDisagreesWithLog):
        title = "The store's events disagree with its log"
        detail = f"{exc}; writes are refused until an admin clears it (docs/integrity.md)"
        headers = {"Retry-After": "60"}
        return problem(503, "store-disagrees-with-log", title, detail, headers)
    return problem(400, "bad-request", "Bad request", str(exc))


class BodyLimit:
    """Refuse request bodies over the limit (413) while they are read, never buffering
    more: at once for a declared Content-Length, and for a chunked body as soon as it
    passes the limit, whatever the route makes of the error (FastAPI reads a failed JSON
    body as 400), since the answer is replaced by the 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def too_large(self) -> JSONResponse:
        detail = f"request bodies are limited to {self.max_bytes} bytes"
        return problem(413, "payload-too-large", "Payload too large", detail)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self.too_large()(scope, receive, send)
                return
        seen = 0
        exceeded = False
        answered = False

        async def limited() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge(f"request bodies are limited to {self.max_bytes} bytes")
            return message

        async def replaced(message: Message) -> None:
            nonlocal answered
            if not exceeded:
                await send(message)
                return
            if not answered:
                answered = True
                await self.too_large()(scope, receive, send)

        try:
            await self.app(scope, limited, replaced)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not answered:
            answered = True
            await self.too_large()(scope, receive, send)
