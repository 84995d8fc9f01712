"""Canonical JSON (§6): the bytes of an event as the feed shows it, which the Merkle log's
leaf hash (`projections.log.merkle.leaf_hash`) is taken over, and the JSON the views store."""

from __future__ import annotations

import json
from typing import Any

import orjson


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
