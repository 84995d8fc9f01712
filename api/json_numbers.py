"""Decimals in answers: JSON numbers, never strings (an integral value as an integer)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer


def as_json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


Number = Annotated[
    Decimal, PlainSerializer(as_json_number, return_type=int | float, when_used="json")
]
