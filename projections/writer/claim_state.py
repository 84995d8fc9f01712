"""A claim as the views store it (JSON, decimals as strings) and as the estimate methods see it."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from domain.estimates import ClaimAsKnown
from domain.values import ClaimStatus, Qualifier

ClaimState = dict[str, Any]
QUALIFIERS = {q.value: q for q in Qualifier}
STATUSES = {s.value: s for s in ClaimStatus}


def origin_of(state: ClaimState) -> str:
    chain = state["attributed_to"]
    return str(chain[-1]) if chain else str(state["reported_by"])


def as_known(state: ClaimState, recorded_position: int) -> ClaimAsKnown:
    """The claim as the estimate methods see it. Built once or twice per claim event
    applied, so the fields go positionally (keywords cost 0.4 µs more), the enums are
    looked up by value (not through `EnumType.__call__`), and the origin is the one
    the writer stored with the state."""
    high = state.get("value_high")
    published = state.get("published_at")
    try:
        qualifier = QUALIFIERS[state["qualifier"]]
        status = STATUSES[state["status"]]
    except KeyError:  # not one of ours: the enum says why
        qualifier, status = Qualifier(state["qualifier"]), ClaimStatus(state["status"])
    return ClaimAsKnown(
        state["id"],
        state.get("origin") or origin_of(state),
        Decimal(state["value"]),
        qualifier,
        Decimal(high) if high is not None else None,
        date.fromisoformat(state["as_of"]),
        date.fromisoformat(published) if published else None,
        recorded_position,
        status,
        int(state["credibility"]),
    )


def canonical_bytes(
    stream: str, version: int, type_: str, recorded_at: str, actor: str, data: Any
) -> bytes:
    """§6: the event as the feed shows it, as canonical JSON in UTF-8."""
    return canonical_envelope(stream, version, type_, recorded_at, actor, dumps(data))


def canonical_envelope(
    stream: str, version: int, type_: str, recorded_at: str, actor: str, data_json: str
) -> bytes:
    """`canonical_bytes` around data already in canonical JSON, so the writer encodes
    each event's data once for the feed row and the leaf. One orjson call: the keys are
    given in sorted order, as `dumps` would sort them (a unit test holds the two equal),
    and the data goes in as it is. What orjson refuses goes to `reference_envelope`."""
    try:
        return orjson.dumps(
            {
                "actor": actor,
                "data": orjson.Fragment(data_json),
                "recorded_at": recorded_at,
                "stream": stream,
                "type": type_,
                "version": int(version),
            }
        )
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return reference_envelope(stream, version, type_, recorded_at, actor, data_json)


def reference_envelope(
    stream: str, version: int, type_: str, recorded_at: str, actor: str, data_json: str
) -> bytes:
    """`canonical_envelope` field by field, each string written by `dumps`."""
    return (
        f'{{"actor":{dumps(actor)},"data":{data_json},'
        f'"recorded_at":{dumps(recorded_at)},"stream":{dumps(stream)},'
        f'"type":{dumps(type_)},"version":{int(version)}}}'
    ).encode()


def leaf_hash(canonical: bytes) -> str:
    """RFC 9162 leaf hash, lowercase hex: SHA-256(0x00 || bytes)."""
    return leaf_digest(canonical).hex()


def leaf_digest(canonical: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || bytes)."""
    return hashlib.sha256(b"\x00" + canonical).digest()


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, non-ASCII kept (RFC 8785 for these types:
    the views hold no floats; decimals are strings).

    orjson writes exactly what `reference_dumps` writes for such values (a property test
    holds them equal), about 15 times faster; what it refuses (integers beyond 64 bits,
    lone surrogates) goes to the standard library."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return reference_dumps(value)


def reference_dumps(value: Any) -> str:
    """Canonical JSON as the standard library writes it: the definition `dumps` follows."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
