"""Property-based contract test: schemathesis drives every documented operation.

The schema is loaded from the running server. Each operation gets generated requests
that fit the schema and requests that break it; every answer must be documented (status,
content type and body schema) and none may be a 5xx, except the documented 503 of a read
that waited for an `X-Min-Position` the views never reached.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.support import LedgerServer, running_server

pytestmark = pytest.mark.e2e

# A live Server-Sent Events feed never ends: there is no single answer to validate.
ENDLESS = {"GET /v1/audit/events/stream"}
# For existing resources: no read-your-writes wait, and changes on whatever the version is.
GO_AHEAD = {"X-Min-Position": "0", "If-Match": "*"}
REPORT_LIMIT = 3000

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
)


def not_a_server_error_but_a_wait_may_time_out(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """No 5xx, but a read may give up waiting for `X-Min-Position` (503 + Retry-After)."""
    asked_to_wait = any(name.lower() == "x-min-position" for name in case.headers or {})
    if response.status_code == 503 and asked_to_wait and "retry-after" in response.headers:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [
    not_a_server_error_but_a_wait_may_time_out,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerServer]:
    """A server of its own: the generated requests write all sorts of data."""
    # A short read-your-writes wait, so a generated X-Min-Position costs 0.05 s, not 5 s.
    with running_server(
        tmp_path_factory.mktemp("contract-ledger"), min_position_timeout="0.05"
    ) as running:
        yield running


def known_ids(server: LedgerServer) -> dict[str, str]:
    """Ids that exist in the seed, so answers of existing resources get checked too."""
    with server.client() as admin:
        claim = admin.get("/v1/claims", params={"limit": 1}).json()["items"][0]["id"]
        key = admin.post("/v1/keys", json={"name": "contract", "role": "reader"}).json()["id"]
    return {
        "source_id": "south-korea",
        "metric_id": "dprk-in-russia/killed",
        "claim_id": claim,
        "key_id": key,
        "relation_id": "dprk-in-russia/killed-at-most-casualties",
    }


def exercise(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    server: LedgerServer,
    path_parameters: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    auth = {"Authorization": f"Bearer {server.admin_key}"}
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=path_parameters, headers=headers
    )

    @EXAMPLES
    @given(case=strategy)
    def answers_as_documented(case: schemathesis.Case) -> None:
        response = case.call(base_url=server.base_url, headers=auth, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=auth)

    answers_as_documented()


def test_every_operation_answers_as_documented_and_never_with_a_5xx(
    contract_server: LedgerServer,
) -> None:
    schema = schemathesis.openapi.from_url(contract_server.base_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.label not in ENDLESS]
    assert len(operations) >= 28
    known = known_ids(contract_server)
    failures: dict[str, str] = {}
    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        runs = [(mode, None, None, f"{mode.value} data") for mode in GenerationMode]
        if names:
            existing = {name: known[name] for name in names}
            runs.append((GenerationMode.POSITIVE, existing, GO_AHEAD, "an existing resource"))
        for mode, path_parameters, headers, what in runs:
            try:
                exercise(operation, mode, contract_server, path_parameters, headers)
            except Unsatisfiable:  # nothing to break in an operation without input
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as error:  # FailureGroup is a base group
                failures[f"{operation.label} ({what})"] = str(error)[:REPORT_LIMIT]
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
