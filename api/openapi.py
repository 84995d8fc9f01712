"""The problem answers of every route, named in `/openapi.json` (RFC 9457 bodies).

FastAPI documents only the success answer and its own 422 shape; this adds, per operation,
each problem status it can give (§5), as `application/problem+json` with the
`ProblemPublic` schema, so clients and contract tests know every answer they may get.
What an operation can answer is read from the operation itself: its parameters
(`X-Min-Position` comes with authentication, `If-Match` with preconditions), its
path parameters, its body and its success status.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.problems import PROBLEM_TYPE
from api.responses import ProblemPublic

PROBLEM_REF = "#/components/schemas/ProblemPublic"
METHODS = ("get", "put", "post", "delete", "patch")

DESCRIPTIONS = {
    400: "Malformed JSON: the body does not parse.",
    401: "No valid API key (`WWW-Authenticate: Bearer`).",
    403: "The key's role is too low for this route.",
    404: "Not found (or, with `known_at`, not yet defined then).",
    409: "Conflict: the id exists, the change does not apply in the current state, "
    "or a request with the same Idempotency-Key is still running.",
    412: "If-Match is not the current ETag (the current one is in `ETag`).",
    413: "The request body is over the size limit (1 MiB).",
    422: "Validation failed: `errors` names each field and what is wrong (at most 100; "
    "`errors_omitted` counts the rest).",
    428: "If-Match is required: send the ETag you last read.",
    503: "The views did not reach `X-Min-Position` in time, or the store refuses writes "
    "(disk full, read-only); nothing was written: retry after `Retry-After`.",
}
HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    412: {"ETag": {"schema": {"type": "string"}, "description": "The current version."}},
    503: {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds."}},
}


def operation_problems(method: str, operation: dict[str, Any]) -> set[int]:
    """The problem statuses an operation can answer with."""
    parameters = {(p.get("in"), p.get("name", "").lower()) for p in operation.get("parameters", [])}
    statuses: set[int] = set()
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if ("header", "x-min-position") in parameters:  # every authenticated route
        statuses |= {401, 503}
        if method != "get":  # every key may read
            statuses.add(403)
    if "requestBody" in operation:
        statuses |= {400, 413}
    if method != "get":  # a write the store may refuse (disk full, read-only)
        statuses.add(503)
    if any(where == "path" for where, _ in parameters):
        statuses.add(404)
    if "201" in operation.get("responses", {}) or method == "delete":
        statuses.add(409)
    if ("header", "if-match") in parameters:
        statuses |= {409, 412, 428}
    return statuses


def problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {PROBLEM_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def header(description: str) -> dict[str, Any]:
    return {"schema": {"type": "string"}, "description": description}


WRITE_HEADERS = {"X-Ledger-Position": header("The position of the last event written.")}
ETAG_HEADER = {"ETag": header("The aggregate's version, quoted: send it back in If-Match.")}
CREATED_HEADERS = {
    "Location": header("Where the new resource is read."),
    "Idempotent-Replayed": header("`true` when this is the answer to an earlier request."),
}
AGGREGATE_READS = ("/v1/sources/{source_id}", "/v1/metrics/{metric_id}", "/v1/claims/{claim_id}")


def success_headers(path: str, method: str, status: str) -> dict[str, Any]:
    """The headers §5 promises on a success answer."""
    headers: dict[str, Any] = {}
    batch = path.endswith("/batch")
    if method in ("post", "delete"):
        headers |= WRITE_HEADERS
        if not batch:
            headers |= ETAG_HEADER
    if status == "201" and not batch:
        headers |= CREATED_HEADERS
    if method == "get" and path in AGGREGATE_READS:
        headers |= ETAG_HEADER
    return headers


def require_if_match(operation: dict[str, Any]) -> None:
    """If-Match is optional to FastAPI (its absence is answered, with 428), but a client
    must send it: document it as required."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
            parameter["required"] = True
            parameter["description"] = (
                'The ETag you last read, e.g. "3" (or *); without it the answer is 428, '
                "with another (or a weak one) 412."
            )


def add_problems(schema: dict[str, Any]) -> None:
    for path, operations in schema.get("paths", {}).items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            require_if_match(operation)
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.startswith("2") and (headers := success_headers(path, method, status)):
                    response.setdefault("headers", {}).update(headers)
            for status in sorted(operation_problems(method, operation)):
                if str(status) not in responses or status == 422:  # 422: ours, not FastAPI's
                    responses[str(status)] = problem_response(status)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemPublic"] = ProblemPublic.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    if "HTTPValidationError" not in str(schema.get("paths")):
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` name each operation's problem answers."""
    build = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = build()
        if not documented or documented[0] is not schema:
            add_problems(schema)
            documented[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
