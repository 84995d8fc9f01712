"""The ingest benchmark's floor: the ceiling its steps imply (no clocks here)."""

from __future__ import annotations

import math

import pytest

from bench.ingest_bench import ceiling
from bench.report import ingest_floor_rows

# The benchmarks' own plumbing: no clock, no server, no file.
pytestmark = [pytest.mark.bench, pytest.mark.unit]


def test_steps_costing_as_much_as_a_raw_row_reach_raw() -> None:
    # raw: 250,000 rows/s = 4 µs a row; steps 1 + 2 + 1 = 4 µs a claim
    assert math.isclose(ceiling([1.0, 2.0, 1.0], 250_000), 1.0)


def test_steps_costing_twice_a_raw_row_reach_half() -> None:
    assert math.isclose(ceiling([5.0, 3.0], 250_000), 0.5)


def test_the_ceiling_falls_as_any_step_grows() -> None:
    assert ceiling([4.0, 4.0, 4.0], 220_000) < ceiling([4.0, 4.0, 1.0], 220_000)


def test_the_report_shows_each_step_and_the_ceiling_as_a_ratio_of_raw() -> None:
    floor = {"domain_us": 6.0, "mapper_us": 4.0, "recorder_us": 2.0, "validation_us": 4.0}
    run = {"raw_rate": 250_000.0, "floor": {**floor, "sum_us": 12.0}}
    rows = {r.figure: r for r in ingest_floor_rows([run], "raw")}
    assert math.isclose(rows["floor 1+2+3 (no checks, no writer thread)"].ratio, 3.0)
    ceiling_row = rows["ceiling implied by floor 1+2+3 (1e6 / sum)"]
    assert math.isclose(ceiling_row.ratio, ceiling([6.0, 4.0, 2.0], 250_000))
    assert math.isclose(rows["ceiling with request validation too (HTTP, import)"].ratio, 0.25)
