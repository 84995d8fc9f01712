"""The canonical JSON of the views and the leaves (§6): the fast encoder writes exactly
what the standard library's definition writes, for every value the views can hold."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.log.canonical import canonical_bytes, canonical_envelope, dumps, reference_dumps

pytestmark = pytest.mark.unit

# Text as stored: any code point but lone surrogates (UTF-8 cannot carry them).
texts = st.text(st.characters(exclude_categories=("Cs",)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_dumps_writes_what_the_standard_library_writes(value: Any) -> None:
    assert dumps(value) == reference_dumps(value)


@given(texts, st.integers(1, 2**40), texts, texts, texts, json_values)
def test_the_envelope_around_encoded_data_is_the_canonical_envelope(
    stream: str, version: int, type_: str, recorded_at: str, actor: str, data: Any
) -> None:
    envelope = {
        "stream": stream,
        "version": version,
        "type": type_,
        "recorded_at": recorded_at,
        "actor": actor,
        "data": data,
    }
    expected = reference_dumps(envelope).encode()

    assert canonical_envelope(stream, version, type_, recorded_at, actor, dumps(data)) == expected
    assert canonical_bytes(stream, version, type_, recorded_at, actor, data) == expected


def test_integers_beyond_64_bits_still_encode() -> None:
    assert dumps({"n": 2**70}) == '{"n":1180591620717411303424}'


def test_control_characters_and_line_separators_are_written_as_the_reference_does() -> None:
    text = 'a\x00\x1f\x7f\n\t\u2028\u2029é"\\'

    assert dumps([text]) == reference_dumps([text])


def test_keys_sort_by_code_point_across_the_planes() -> None:
    value = {"\uffff": 1, "\U00010000": 2, "\ue000": 3, "a": 4, "B": 5, "é": 6}

    assert dumps(value) == reference_dumps(value)


def test_an_envelope_orjson_refuses_is_written_by_the_reference() -> None:
    data = dumps({"a": 1})

    envelope = canonical_envelope("s", 2**70, "T", "r", "a", data)

    expected = {"stream": "s", "version": 2**70, "type": "T", "recorded_at": "r", "actor": "a"}
    assert envelope == reference_dumps({**expected, "data": {"a": 1}}).encode()
